using Modular.Abstractions;

namespace Modular.Plugins.Router.Rules;

/// <summary>
/// Per-request view of the targets: which are configured and which the caller has ruled out (a front end passes the
/// targets it found down or already failed in the <see cref="RuleRouter.ExcludeHeader"/> header).
/// </summary>
internal sealed class RouteContext
{
    private readonly HashSet<string>? _excluded;

    public RouteContext(RouteRequest request)
    {
        Request = request;
        if (request.Headers.TryGetValue(RuleRouter.ExcludeHeader, out var list) && !string.IsNullOrWhiteSpace(list))
        {
            _excluded = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            foreach (var name in list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                _excluded.Add(name);
        }
    }

    public RouteRequest Request { get; }

    /// <summary>True unless the caller excluded <paramref name="target"/>.</summary>
    public bool IsAvailable(string target) => _excluded is null || !_excluded.Contains(target);
}
