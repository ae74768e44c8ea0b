using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Modular.Plugins.Router.Embedding;
using Modular.Plugins.Router.Load;
using Modular.Plugins.Router.Rules;
using static Modular.Plugins.Router.SettingsFields;

namespace Modular.Plugins.Router;

/// <summary>
/// The router's configuration, read from the plugin's plugins.json <c>settings</c>:
/// <code>
/// "settings": {
///   "aliases": ["auto"],                        // model names that are routed (default ["auto"])
///   "default": "poet",                          // when no rule decides (default: the first target)
///   "targets": [ { "name": "poet", "url": "http://10.0.0.5:8000", "model": "bard-2m", "api_key": "...", "weight": 1 },
///                { "name": "local-model" } ],   // no url: a model served by this process
///   "rules": [                                   // tried in order; the first that decides wins
///     { "type": "keyword", "patterns": [ { "regex": "\\bSQL\\b", "target": "coder" } ], "timeout_ms": 100 },
///     { "type": "intent", "threshold": 0.2, "default": "poet",
///       "intents": [ { "label": "code", "target": "coder", "examples": ["write a python function", ...] } ],
///       "embeddings": { "target": "coder", "model": "e5", "timeout_ms": 2000 },   // optional: else n-grams
///       "ngram": { "dimensions": 4096, "min": 3, "max": 5, "max_chars": 4000 } },
///     { "type": "complexity", "cheap": "poet", "strong": "coder", "threshold": 0.5, "long_chars": 2000, "deep_messages": 8 },
///     { "type": "load", "strategy": "least_outstanding|kv_usage|round_robin|weighted_random", "targets": ["a", "b"],
///       "metrics_interval_ms": 500 }
///   ]
/// }
/// </code>
/// Every rule may carry <c>"models": ["auto"]</c> to apply to some aliases only.
/// </summary>
public sealed class RouterSettings
{
    private RouterSettings(IReadOnlyList<RouteTargetSpec> targets, IReadOnlyList<string> aliases, string defaultTarget)
    {
        Targets = targets;
        Aliases = aliases;
        Default = defaultTarget;
    }

    /// <summary>Configured targets, in file order.</summary>
    public IReadOnlyList<RouteTargetSpec> Targets { get; }
    /// <summary>Model names the router handles.</summary>
    public IReadOnlyList<string> Aliases { get; }
    /// <summary>Target used when no rule decides.</summary>
    public string Default { get; }
    /// <summary>The ordered rules.</summary>
    internal IReadOnlyList<RouteRule> Rules { get; private set; } = [];
    /// <summary>Load figures scraped from the targets.</summary>
    internal TargetLoadMonitor Monitor { get; private set; } = null!;

    /// <summary>Reads and checks the settings.</summary>
    /// <param name="configuration">The plugin's settings object.</param>
    /// <param name="http">Client for target metrics and embeddings; null creates one.</param>
    /// <exception cref="InvalidOperationException">A field is missing or wrong; the message names it.</exception>
    public static RouterSettings Read(IConfiguration configuration, HttpClient? http = null)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        http ??= new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(2) }) { Timeout = Timeout.InfiniteTimeSpan };

        var targets = ReadTargets(configuration);
        var byName = new Dictionary<string, RouteTargetSpec>(StringComparer.OrdinalIgnoreCase);
        foreach (var t in targets) byName[t.Name] = t;

        var aliases = Strings(configuration, "aliases");
        if (aliases.Count == 0) aliases.Add("auto");
        foreach (var a in aliases)
            if (byName.ContainsKey(a)) throw Error(configuration, "aliases", $"'{a}' is also a target name; an alias must differ from every target");

        var defaultTarget = Str(configuration, "default") ?? targets[0].Name;
        Check(configuration, "default", defaultTarget, byName);

        var settings = new RouterSettings(targets, aliases, defaultTarget);
        var interval = TimeSpan.FromMilliseconds(500);
        var rules = new List<RouteRule>();
        var ruleSections = Array(configuration, "rules");
        // One monitor serves every load rule; it scrapes as often as the most eager of them asks.
        foreach (var r in ruleSections)
        {
            var ms = Int(r, "metrics_interval_ms", -1, 50, 600_000);
            if (ms > 0) interval = TimeSpan.FromMilliseconds(Math.Min(interval.TotalMilliseconds, ms));
        }
        settings.Monitor = new TargetLoadMonitor(http, targets, interval, TimeSpan.FromSeconds(2));
        foreach (var r in ruleSections) rules.Add(ReadRule(r, byName, aliases, settings.Monitor, http));
        settings.Rules = rules;
        return settings;
    }

    private static List<RouteTargetSpec> ReadTargets(IConfiguration c)
    {
        var list = new List<RouteTargetSpec>();
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var t in Array(c, "targets"))
        {
            var name = RequiredStr(t, "name");
            if (name.Contains(',')) throw Error(t, "name", $"'{name}' must not contain ','");
            if (!seen.Add(name)) throw Error(t, "name", $"duplicate target name '{name}'");
            Uri? url = null;
            if (Str(t, "url") is { } u)
            {
                if (!Uri.TryCreate(u, UriKind.Absolute, out url) || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
                    throw Error(t, "url", $"'{u}' is not an absolute http(s) URL");
                // A trailing slash makes relative paths ("v1/embeddings") resolve under the base, not beside it.
                if (!url.AbsolutePath.EndsWith('/')) url = new Uri(url + "/");
            }
            list.Add(new RouteTargetSpec(name, url, Str(t, "model"), Str(t, "api_key"), Num(t, "weight", 1, 1e-9, 1e9)));
        }
        if (list.Count == 0) throw Error(c, "targets", "must list at least one target ({ \"name\": ..., \"url\": ... })");
        return list;
    }

    private static RouteRule ReadRule(IConfigurationSection r, Dictionary<string, RouteTargetSpec> targets, List<string> aliases,
        TargetLoadMonitor monitor, HttpClient http)
    {
        var models = Strings(r, "models");
        foreach (var m in models)
            if (!aliases.Contains(m, StringComparer.OrdinalIgnoreCase))
                throw Error(r, "models", $"'{m}' is not one of the aliases ({string.Join(", ", aliases)}); the rule would never run");
        var type = RequiredStr(r, "type");
        return type.ToLowerInvariant() switch
        {
            "intent" => ReadIntent(r, models, targets, http),
            "keyword" or "regex" => ReadKeyword(r, models, targets),
            "complexity" => new ComplexityRule(models,
                Check(r, "cheap", RequiredStr(r, "cheap"), targets), Check(r, "strong", RequiredStr(r, "strong"), targets),
                Num(r, "threshold", 0.5, 0, 1), Int(r, "long_chars", 2000, 1, int.MaxValue), Int(r, "deep_messages", 8, 1, 100_000)),
            "load" => ReadLoad(r, models, targets, monitor),
            _ => throw Error(r, "type", $"unknown rule type '{type}'; expected intent, keyword, complexity or load"),
        };
    }

    private static IntentRule ReadIntent(IConfigurationSection r, List<string> models, Dictionary<string, RouteTargetSpec> targets, HttpClient http)
    {
        var intents = new List<IntentSpec>();
        foreach (var i in Array(r, "intents"))
        {
            var target = Check(i, "target", RequiredStr(i, "target"), targets);
            var examples = Strings(i, "examples");
            if (examples.Count == 0) throw Error(i, "examples", "must hold at least one example utterance");
            intents.Add(new IntentSpec(Str(i, "label") ?? target, target, examples));
        }
        if (intents.Count == 0) throw Error(r, "intents", "must list at least one intent ({ \"target\": ..., \"examples\": [...] })");

        var ng = r.GetSection("ngram");
        int dims = Int(ng, "dimensions", 4096, 64, 1 << 20);
        if ((dims & (dims - 1)) != 0) throw Error(ng, "dimensions", $"must be a power of two, not {dims}");
        int min = Int(ng, "min", 3, 1, 8), max = Int(ng, "max", 5, 1, 8);
        if (max < min) throw Error(ng, "max", $"must be at least min ({min})");
        var ngram = new NgramHashEmbedder(dims, min, max, Int(ng, "max_chars", 4000, 16, 1 << 24));

        RemoteEmbedder? remote = null;
        var emb = r.GetSection("embeddings");
        if (Str(emb, "target") is { } embTarget)
        {
            var spec = targets[Check(emb, "target", embTarget, targets)];
            if (!spec.IsRemote) throw Error(emb, "target", $"'{embTarget}' has no url; embeddings are fetched over HTTP from a remote target");
            remote = new RemoteEmbedder(http, spec, Str(emb, "model"), TimeSpan.FromMilliseconds(Int(emb, "timeout_ms", 2000, 1, 600_000)));
        }
        var fallback = Str(r, "default");
        if (fallback is not null) Check(r, "default", fallback, targets);
        return new IntentRule(models, intents, ngram, remote, Num(r, "threshold", 0.1, -1, 1), fallback);
    }

    private static KeywordRule ReadKeyword(IConfigurationSection r, List<string> models, Dictionary<string, RouteTargetSpec> targets)
    {
        var timeout = TimeSpan.FromMilliseconds(Int(r, "timeout_ms", 100, 1, 60_000));
        var patterns = new List<KeywordPattern>();
        foreach (var p in Array(r, "patterns"))
        {
            var target = Check(p, "target", RequiredStr(p, "target"), targets);
            var source = p["regex"] ?? throw Error(p, "regex", "is required");
            Regex regex;
            try
            {
                regex = new Regex(source, KeywordRule.Options, timeout);
            }
            catch (Exception e) when (e is ArgumentException or NotSupportedException)
            {
                // NonBacktracking refuses backreferences and lookarounds: say so rather than silently backtracking.
                throw Error(p, "regex", $"'{source}' cannot be compiled for the non-backtracking engine: {e.Message}");
            }
            Warm(regex);
            patterns.Add(new KeywordPattern(source, regex, target));
        }
        if (patterns.Count == 0) throw Error(r, "patterns", "must list at least one { \"regex\": ..., \"target\": ... }");
        return new KeywordRule(models, patterns);
    }

    /// <summary>
    /// Runs a new pattern twice on sample text so that the matcher's code is compiled and its first automaton states
    /// are built now: otherwise the first request pays for that and, on a busy machine, can exceed the match timeout.
    /// </summary>
    private static void Warm(Regex regex)
    {
        for (int i = 0; i < 2; i++)
        {
            try
            {
                regex.IsMatch("Warm-up text: SELECT 42 FROM poems; def f(x): return x  // O Romeo!");
            }
            catch (RegexMatchTimeoutException)
            {
                // the second pass (or the first request) gets it done
            }
        }
    }

    private static LoadRule ReadLoad(IConfigurationSection r, List<string> models, Dictionary<string, RouteTargetSpec> targets, TargetLoadMonitor monitor)
    {
        var s = Str(r, "strategy") ?? "least_outstanding";
        var strategy = s.ToLowerInvariant().Replace("-", "_", StringComparison.Ordinal) switch
        {
            "least_outstanding" or "least_requests" => LoadStrategy.LeastOutstanding,
            "kv_usage" or "kv_cache" => LoadStrategy.KvUsage,
            "round_robin" => LoadStrategy.RoundRobin,
            "weighted_random" or "random" => LoadStrategy.WeightedRandom,
            _ => throw Error(r, "strategy", $"unknown strategy '{s}'; expected least_outstanding, kv_usage, round_robin or weighted_random"),
        };
        var names = Strings(r, "targets");
        var list = new List<RouteTargetSpec>();
        if (names.Count == 0) list.AddRange(targets.Values);
        foreach (var n in names) list.Add(targets[Check(r, "targets", n, targets)]);
        return new LoadRule(models, strategy, list, monitor);
    }

    private static string Check(IConfiguration c, string key, string target, Dictionary<string, RouteTargetSpec> targets) =>
        targets.TryGetValue(target, out var spec)
            ? spec.Name
            : throw Error(c, key, $"'{target}' is not a configured target (targets: {string.Join(", ", targets.Keys)})");
}
