using System.Text.RegularExpressions;
using Modular.Abstractions;

namespace Modular.Plugins.Router.Rules;

/// <summary>A compiled pattern and where it sends matching requests.</summary>
/// <param name="Pattern">Source text, for reasons.</param>
/// <param name="Regex">Compiled with the non-backtracking engine and a match timeout.</param>
/// <param name="Target">Target for matching requests.</param>
internal sealed record KeywordPattern(string Pattern, Regex Regex, string Target);

/// <summary>
/// Keyword / regular-expression routing: the first pattern that matches the request text decides. Patterns use
/// <see cref="RegexOptions.NonBacktracking"/>, so matching is linear in the text and a hostile prompt cannot make a
/// pattern explode; the match timeout bounds it further, and a pattern that times out is skipped, not fatal.
/// </summary>
internal sealed class KeywordRule(IReadOnlyList<string> models, IReadOnlyList<KeywordPattern> patterns) : RouteRule(models)
{
    private readonly KeywordPattern[] _patterns = [.. patterns];

    public override string Kind => "keyword";

    /// <summary>Options every pattern is compiled with.</summary>
    public const RegexOptions Options = RegexOptions.NonBacktracking | RegexOptions.IgnoreCase | RegexOptions.CultureInvariant;

    public override ValueTask<RouteDecision?> TryRouteAsync(RouteContext context, CancellationToken cancellationToken)
    {
        var text = context.Request.Text;
        foreach (var p in _patterns)
        {
            if (!context.IsAvailable(p.Target)) continue;
            try
            {
                if (p.Regex.IsMatch(text))
                    return ValueTask.FromResult<RouteDecision?>(new RouteDecision(p.Target, $"keyword: /{p.Pattern}/"));
            }
            catch (RegexMatchTimeoutException)
            {
                // Too slow on this text: treat as no match so that later patterns and rules still get a say.
            }
        }
        return ValueTask.FromResult<RouteDecision?>(null);
    }
}
