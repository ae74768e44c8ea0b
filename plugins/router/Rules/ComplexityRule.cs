using System.Globalization;
using System.Text;
using Modular.Abstractions;

namespace Modular.Plugins.Router.Rules;

/// <summary>
/// Cheap-versus-strong routing by how demanding a request looks: a weighted score in [0, 1] from prompt length,
/// conversation depth, code markers and reasoning markers. At or above the threshold the request goes to the strong
/// tier, below it to the cheap tier. The rule always decides (both tiers are configured).
/// </summary>
internal sealed class ComplexityRule : RouteRule
{
    // Weights sum to 1 so the score reads as "fraction of demanding signals present".
    private const double LengthWeight = 0.3, DepthWeight = 0.2, CodeWeight = 0.25, ReasoningWeight = 0.25;

    private static readonly string[] CodeMarkers =
    [
        "```", "def ", "class ", "#include", "function ", "=>", "};", "import ", "select ", "public static",
        "console.", "printf(", "return ", "lambda", "int main", "stack trace", "exception", "compile",
    ];

    private static readonly string[] ReasoningMarkers =
    [
        "step by step", "prove", "proof", "derive", "explain why", "reason", "analy", "compare", "trade-off",
        "tradeoff", "calculate", "solve", "theorem", "optimi", "algorithm", "complexity", "evaluate",
    ];

    private readonly string _cheap, _strong;
    private readonly double _threshold;
    private readonly int _longChars, _deepMessages;

    public ComplexityRule(IReadOnlyList<string> models, string cheap, string strong, double threshold, int longChars, int deepMessages)
        : base(models)
    {
        _cheap = cheap;
        _strong = strong;
        _threshold = threshold;
        _longChars = longChars;
        _deepMessages = deepMessages;
    }

    public override string Kind => "complexity";

    /// <summary>The score and the signals behind it.</summary>
    public (double Score, string Signals) Score(RouteRequest request)
    {
        var text = request.Text;
        double length = Math.Min(1, (double)text.Length / _longChars);
        double depth = _deepMessages <= 1 ? 0 : Math.Min(1, (double)(request.MessageCount - 1) / (_deepMessages - 1));
        bool code = Contains(text, CodeMarkers, out var codeMarker);
        bool reasoning = Contains(text, ReasoningMarkers, out var reasonMarker);
        double score = LengthWeight * length + DepthWeight * depth + (code ? CodeWeight : 0) + (reasoning ? ReasoningWeight : 0);

        var signals = new StringBuilder();
        signals.Append(CultureInfo.InvariantCulture, $"{text.Length} chars, {request.MessageCount} messages");
        if (code) signals.Append(CultureInfo.InvariantCulture, $", code '{codeMarker!.Trim()}'");
        if (reasoning) signals.Append(CultureInfo.InvariantCulture, $", reasoning '{reasonMarker}'");
        return (score, signals.ToString());
    }

    public override ValueTask<RouteDecision?> TryRouteAsync(RouteContext context, CancellationToken cancellationToken)
    {
        var (score, signals) = Score(context.Request);
        bool strong = score >= _threshold;
        var target = strong ? _strong : _cheap;
        // A tier that is down leaves the request to the other tier rather than failing it.
        if (!context.IsAvailable(target)) target = strong ? _cheap : _strong;
        if (!context.IsAvailable(target)) return ValueTask.FromResult<RouteDecision?>(null);
        var s = score.ToString("0.00", CultureInfo.InvariantCulture);
        var t = _threshold.ToString("0.00", CultureInfo.InvariantCulture);
        return ValueTask.FromResult<RouteDecision?>(new RouteDecision(target,
            $"complexity: {s} {(strong ? ">=" : "<")} {t} -> {(strong ? "strong" : "cheap")} ({signals})"));
    }

    private static bool Contains(string text, string[] markers, out string? found)
    {
        foreach (var m in markers)
        {
            if (text.Contains(m, StringComparison.OrdinalIgnoreCase))
            {
                found = m;
                return true;
            }
        }
        found = null;
        return false;
    }
}
