using Modular.Abstractions;

namespace Modular.Plugins.Router.Rules;

/// <summary>
/// One step of the ordered rule list: it either decides (returns a decision) or passes the request on to the next
/// rule (returns null). A rule may be limited to some of the routed model names (<c>"models": ["auto"]</c>).
/// </summary>
internal abstract class RouteRule
{
    private readonly string[] _models;

    protected RouteRule(IReadOnlyList<string> models) => _models = [.. models];

    /// <summary>"intent", "keyword", "complexity" or "load".</summary>
    public abstract string Kind { get; }

    /// <summary>True when the rule is not limited or <paramref name="model"/> is one of its names.</summary>
    public bool AppliesTo(string model)
    {
        if (_models.Length == 0) return true;
        foreach (var m in _models)
            if (string.Equals(m, model, StringComparison.OrdinalIgnoreCase)) return true;
        return false;
    }

    /// <summary>The decision, or null to let the next rule decide.</summary>
    public abstract ValueTask<RouteDecision?> TryRouteAsync(RouteContext context, CancellationToken cancellationToken);
}
