using Modular.Abstractions;
using Modular.Plugins.Router.Rules;

namespace Modular.Plugins.Router;

/// <summary>
/// The router: requests for one of the aliases (<c>"auto"</c> by default) go through the ordered rules; the first
/// rule that decides names the target, and when none does the configured default answers. Targets named in the
/// <see cref="ExcludeHeader"/> request header (down, or already tried by the caller) are never chosen while another
/// one is left.
/// </summary>
public sealed class RuleRouter : IRouter
{
    /// <summary>
    /// Header (in <see cref="RouteRequest.Headers"/>) with a comma-separated list of targets the caller cannot use now;
    /// a front end fills it with targets whose health check or circuit breaker is failing and those it already tried.
    /// </summary>
    public const string ExcludeHeader = "x-modular-exclude";

    private readonly RouterSettings _settings;

    /// <summary>Creates the router from read settings.</summary>
    public RuleRouter(RouterSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _settings = settings;
    }

    /// <summary>The settings the router runs with.</summary>
    public RouterSettings Settings => _settings;

    /// <inheritdoc />
    public bool Handles(string model)
    {
        foreach (var a in _settings.Aliases)
            if (string.Equals(a, model, StringComparison.OrdinalIgnoreCase)) return true;
        return false;
    }

    /// <inheritdoc />
    public async ValueTask<RouteDecision> RouteAsync(RouteRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var context = new RouteContext(request);
        foreach (var rule in _settings.Rules)
        {
            if (!rule.AppliesTo(request.Model)) continue;
            var decision = await rule.TryRouteAsync(context, cancellationToken).ConfigureAwait(false);
            if (decision is not null) return decision;
        }
        return Fallback(context);
    }

    /// <summary>Waits for one metrics scrape of every remote target (so load rules start from real numbers).</summary>
    public Task RefreshLoadAsync() => _settings.Monitor.RefreshAllAsync();

    private RouteDecision Fallback(RouteContext context)
    {
        if (context.IsAvailable(_settings.Default)) return new RouteDecision(_settings.Default, "default: no rule decided");
        foreach (var t in _settings.Targets)
            if (context.IsAvailable(t.Name)) return new RouteDecision(t.Name, $"fallback: default {_settings.Default} excluded, first available target");
        // Everything is excluded: still answer (the contract says never throw); the caller sees the target is down.
        return new RouteDecision(_settings.Default, "default: every target excluded");
    }
}
