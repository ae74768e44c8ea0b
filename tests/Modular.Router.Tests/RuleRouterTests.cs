using System.Text.Json.Nodes;
using Modular.Plugins.Router;

namespace Modular.Router.Tests;

public sealed class RuleRouterTests
{
    private static RuleRouter IntentRouter(double threshold = 0.05) =>
        RouterFactory.Create(RouterFactory.Settings(new JsonArray(IntentData.IntentRule(threshold))));

    [Fact]
    public void Ngram_intent_routes_the_labelled_prompts_to_their_intended_target()
    {
        var router = IntentRouter();
        int right = 0;
        var misses = new List<string>();
        foreach (var (prompt, target) in IntentData.Labelled)
        {
            var d = RouterFactory.Route(router, RouterFactory.Request(prompt));
            if (d.Target == target) right++;
            else misses.Add($"'{prompt}' -> {d.Target} ({d.Reason})");
        }
        double accuracy = (double)right / IntentData.Labelled.Length;
        TestContext.Current.SendDiagnosticMessage($"n-gram intent accuracy {right}/{IntentData.Labelled.Length} = {accuracy:P1}; misses: {string.Join("; ", misses)}");
        TestContext.Current.TestOutputHelper?.WriteLine($"[router] n-gram intent accuracy (in-process) {right}/{IntentData.Labelled.Length} = {accuracy:P1}");
        Assert.True(accuracy >= 0.9, $"accuracy {accuracy:P1} < 90%; misses: {string.Join("; ", misses)}");
    }

    [Fact]
    public void Intent_reason_names_the_intent_and_score()
    {
        var d = RouterFactory.Route(IntentRouter(), RouterFactory.Request("Implement binary search in Java please"));
        Assert.Equal(IntentData.Coder, d.Target);
        Assert.StartsWith("intent: code-maths (", d.Reason);
    }

    [Fact]
    public void Intent_below_threshold_takes_the_rule_default()
    {
        var d = RouterFactory.Route(IntentRouter(threshold: 0.99), RouterFactory.Request("Implement binary search in Java please"));
        Assert.Equal(IntentData.Bard, d.Target);
        Assert.Contains("below threshold", d.Reason);
    }

    [Fact]
    public void Excluded_targets_are_never_chosen_while_another_is_left()
    {
        var router = IntentRouter();
        var d = RouterFactory.Route(router, RouterFactory.Request("Implement binary search in Java", exclude: "coder"));
        Assert.Equal(IntentData.Bard, d.Target);
        var both = RouterFactory.Route(router, RouterFactory.Request("Implement binary search in Java", exclude: "coder,bard"));
        Assert.Equal(IntentData.Bard, both.Target); // nothing left: the default, said so
        Assert.Contains("excluded", both.Reason);
    }

    [Fact]
    public void Handles_only_aliases()
    {
        var router = RouterFactory.Create(RouterFactory.Settings(new JsonArray(), aliases: new JsonArray("auto", "Smart")));
        Assert.True(router.Handles("auto"));
        Assert.True(router.Handles("smart"));
        Assert.False(router.Handles("bard"));
        Assert.False(router.Handles("gpt-4o"));
    }

    [Fact]
    public void Rules_limited_to_other_aliases_are_skipped()
    {
        var rule = new JsonObject
        {
            // Match timeouts are wall-clock: a generous one keeps a loaded CI machine from turning matches into skips.
            ["type"] = "keyword", ["models"] = new JsonArray("smart"), ["timeout_ms"] = 5000,
            ["patterns"] = new JsonArray(new JsonObject { ["regex"] = "java", ["target"] = "coder" }),
        };
        var router = RouterFactory.Create(RouterFactory.Settings(new JsonArray(rule), aliases: new JsonArray("auto", "smart")));
        Assert.Equal("coder", RouterFactory.Route(router, RouterFactory.Request("java", model: "smart")).Target);
        var d = RouterFactory.Route(router, RouterFactory.Request("java", model: "auto"));
        Assert.Equal("bard", d.Target);
        Assert.StartsWith("default", d.Reason);
    }

    [Fact]
    public void Keyword_rule_matches_case_insensitively_and_falls_through_otherwise()
    {
        var keyword = new JsonObject
        {
            ["type"] = "keyword", ["timeout_ms"] = 5000,
            ["patterns"] = new JsonArray(new JsonObject { ["regex"] = @"\b(sql|select|join)\b", ["target"] = "coder" }),
        };
        var router = RouterFactory.Create(RouterFactory.Settings(new JsonArray(keyword, IntentData.IntentRule())));
        var d = RouterFactory.Route(router, RouterFactory.Request("please SELECT the rows of a poem"));
        Assert.Equal("coder", d.Target);
        Assert.StartsWith("keyword: /", d.Reason);
        Assert.StartsWith("intent:", RouterFactory.Route(router, RouterFactory.Request("selection of sonnets")).Reason);
    }

    [Fact]
    public void Keyword_patterns_the_non_backtracking_engine_cannot_run_are_refused_naming_the_field()
    {
        var keyword = new JsonObject
        {
            ["type"] = "keyword",
            ["patterns"] = new JsonArray(new JsonObject { ["regex"] = @"(a+)\1", ["target"] = "coder" }),
        };
        var e = Assert.Throws<InvalidOperationException>(() => RouterFactory.Create(RouterFactory.Settings(new JsonArray(keyword))));
        Assert.Contains("settings.rules[0].patterns[0].regex", e.Message);
        Assert.Contains("non-backtracking", e.Message);
    }

    [Fact]
    public void Keyword_matching_is_linear_on_hostile_input()
    {
        // (a|aa)*c style patterns backtrack exponentially in a classic engine; here they must answer at once.
        var keyword = new JsonObject
        {
            ["type"] = "keyword", ["timeout_ms"] = 200,
            ["patterns"] = new JsonArray(new JsonObject { ["regex"] = "^(a|aa)*c$", ["target"] = "coder" }),
        };
        var router = RouterFactory.Create(RouterFactory.Settings(new JsonArray(keyword)));
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var d = RouterFactory.Route(router, RouterFactory.Request(new string('a', 50_000) + "!"));
        Assert.Equal("bard", d.Target);
        Assert.True(sw.ElapsedMilliseconds < 2000, $"took {sw.ElapsedMilliseconds} ms");
    }

    [Theory]
    [InlineData("rules", "{\"type\":\"intent\",\"intents\":[{\"target\":\"nobody\",\"examples\":[\"x\"]}]}", "settings.rules[0].intents[0].target", "'nobody' is not a configured target")]
    [InlineData("rules", "{\"type\":\"teleport\"}", "settings.rules[0].type", "unknown rule type 'teleport'")]
    [InlineData("rules", "{\"type\":\"complexity\",\"cheap\":\"bard\",\"strong\":\"coder\",\"threshold\":\"high\"}", "settings.rules[0].threshold", "must be a number")]
    [InlineData("rules", "{\"type\":\"load\",\"strategy\":\"psychic\"}", "settings.rules[0].strategy", "unknown strategy 'psychic'")]
    [InlineData("rules", "{\"type\":\"keyword\",\"models\":[\"gpt\"],\"patterns\":[{\"regex\":\"x\",\"target\":\"bard\"}]}", "settings.rules[0].models", "is not one of the aliases")]
    public void Bad_settings_name_the_field(string _, string ruleJson, string path, string what)
    {
        var settings = RouterFactory.Settings(new JsonArray(JsonNode.Parse(ruleJson)));
        var e = Assert.Throws<InvalidOperationException>(() => RouterFactory.Create(settings));
        Assert.Contains(path, e.Message);
        Assert.Contains(what, e.Message);
    }

    [Fact]
    public void Targets_are_required_and_urls_checked()
    {
        var none = new JsonObject { ["targets"] = new JsonArray() };
        Assert.Contains("settings.targets", Assert.Throws<InvalidOperationException>(() => RouterFactory.Create(none)).Message);
        var badUrl = RouterFactory.Settings(new JsonArray(), bardUrl: "ftp://x");
        Assert.Contains("settings.targets[0].url", Assert.Throws<InvalidOperationException>(() => RouterFactory.Create(badUrl)).Message);
    }

    [Fact]
    public void Complexity_sends_short_plain_prompts_to_the_cheap_tier_and_demanding_ones_to_the_strong()
    {
        var rule = new JsonObject { ["type"] = "complexity", ["cheap"] = "bard", ["strong"] = "coder", ["threshold"] = 0.45, ["long_chars"] = 1000, ["deep_messages"] = 6 };
        var router = RouterFactory.Create(RouterFactory.Settings(new JsonArray(rule)));
        var cheap = RouterFactory.Route(router, RouterFactory.Request("Hello, how are you today?"));
        Assert.Equal("bard", cheap.Target);
        Assert.Contains("cheap", cheap.Reason);

        var code = "```python\ndef f(x):\n    return x * 2\n```\nExplain why this is slow and optimise it step by step. " + new string('.', 600);
        var strong = RouterFactory.Route(router, RouterFactory.Request(code, messages: 5));
        Assert.Equal("coder", strong.Target);
        Assert.Contains("strong", strong.Reason);
        Assert.Contains("code", strong.Reason);
        Assert.Contains("reasoning", strong.Reason);

        // A strong tier that is down leaves the request to the cheap one.
        Assert.Equal("bard", RouterFactory.Route(router, RouterFactory.Request(code, messages: 5, exclude: "coder")).Target);
    }

    [Fact]
    public void Round_robin_alternates_and_skips_excluded_targets()
    {
        var rule = new JsonObject { ["type"] = "load", ["strategy"] = "round_robin" };
        var router = RouterFactory.Create(RouterFactory.Settings(new JsonArray(rule)));
        var seen = new List<string>();
        for (int i = 0; i < 6; i++) seen.Add(RouterFactory.Route(router, RouterFactory.Request("x")).Target);
        Assert.Equal(3, seen.Count(t => t == "bard"));
        Assert.Equal(3, seen.Count(t => t == "coder"));
        for (int i = 1; i < seen.Count; i++) Assert.NotEqual(seen[i - 1], seen[i]);
        for (int i = 0; i < 4; i++) Assert.Equal("coder", RouterFactory.Route(router, RouterFactory.Request("x", exclude: "bard")).Target);
    }

    [Fact]
    public void Weighted_random_follows_the_weights()
    {
        var settings = RouterFactory.Settings(new JsonArray(new JsonObject { ["type"] = "load", ["strategy"] = "weighted_random" }));
        settings["targets"]![0]!["weight"] = 3;
        var router = RouterFactory.Create(settings);
        int bard = 0;
        const int n = 8000;
        for (int i = 0; i < n; i++) if (RouterFactory.Route(router, RouterFactory.Request("x")).Target == "bard") bard++;
        double share = (double)bard / n;
        Assert.InRange(share, 0.72, 0.78); // expected 0.75; 8000 draws put 3 sigma at about 0.015
    }

    [Fact]
    public void Least_outstanding_spreads_a_burst_over_local_targets()
    {
        var router = RouterFactory.Create(RouterFactory.Settings(new JsonArray(new JsonObject { ["type"] = "load" })));
        int bard = 0;
        for (int i = 0; i < 10; i++) if (RouterFactory.Route(router, RouterFactory.Request("x")).Target == "bard") bard++;
        Assert.Equal(5, bard); // with no metrics, each routed request counts as outstanding on its target
    }
}
