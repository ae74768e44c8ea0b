using System.Globalization;

namespace Modular.Plugins.Router.Load;

/// <summary>Reads sample values out of the Prometheus text exposition format.</summary>
internal static class PrometheusText
{
    /// <summary>
    /// Sum of the samples of metric <paramref name="name"/> over all label sets (a server with several models
    /// reports one series per model), or null when the metric is absent.
    /// </summary>
    public static double? Sum(string text, string name) => Aggregate(text, name, max: false);

    /// <summary>Largest sample of <paramref name="name"/> over all label sets, or null when the metric is absent.</summary>
    public static double? Max(string text, string name) => Aggregate(text, name, max: true);

    private static double? Aggregate(string text, string name, bool max)
    {
        double sum = max ? double.NegativeInfinity : 0;
        bool found = false;
        foreach (var raw in text.AsSpan().EnumerateLines())
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] == '#' || !line.StartsWith(name, StringComparison.Ordinal)) continue;
            var rest = line[name.Length..];
            // The name must end here: "foo" must not match "foo_total".
            if (rest.Length == 0 || (rest[0] != '{' && rest[0] != ' ')) continue;
            if (rest[0] == '{')
            {
                int close = rest.LastIndexOf('}');
                if (close < 0) continue;
                rest = rest[(close + 1)..];
            }
            rest = rest.TrimStart();
            int space = rest.IndexOf(' ');
            var valueText = space < 0 ? rest : rest[..space]; // an optional timestamp may follow
            if (double.TryParse(valueText, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v))
            {
                sum = max ? Math.Max(sum, v) : sum + v;
                found = true;
            }
        }
        return found ? sum : null;
    }
}
