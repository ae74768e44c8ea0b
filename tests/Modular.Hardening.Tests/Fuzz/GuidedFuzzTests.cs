using System.Diagnostics;
using System.Text.Json.Nodes;
using CsCheck;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Modular.Abstractions;
using Modular.Hardening.Tests.Http;
using Modular.Hosting;
using Modular.Testing;
using Modular.Tokenization;

namespace Modular.Hardening.Tests.Fuzz;

/// <summary>
/// The guided-decoding plugin through its contract only (<see cref="IGuidedDecoder"/>, loaded from
/// artifacts/plugins/guided by the plugin host): random regexes, grammars and JSON Schemas either compile or fail
/// with <see cref="GuidedSpecException"/>, within seconds, and compiled matchers fill masks and accept tokens.
/// </summary>
public sealed class GuidedFuzzTests
{
    private static readonly Lazy<(IGuidedDecoder Decoder, ITokenVocabulary Vocab)> s_guided = new(() =>
    {
        var folder = Path.Combine(Path.GetTempPath(), "modular-hardening-guided-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(folder);
        var json = Path.Combine(folder, "plugins.json");
        File.WriteAllText(json, new JsonObject
        {
            ["backend"] = "auto",
            ["plugins"] = new JsonArray(new JsonObject { ["name"] = "guided", ["path"] = TestServer.GuidedPlugin }),
        }.ToJsonString());
        var services = new ServiceCollection();
        PluginHost.Load(json, services, new ConfigurationBuilder().Build());
        var decoder = services.BuildServiceProvider().GetRequiredService<IGuidedDecoder>();
        return (decoder, (ITokenVocabulary)HfTokenizer.FromDirectory(Fixtures.BundledModel));
    });

    private static (IGuidedDecoder Decoder, ITokenVocabulary Vocab) Guided
    {
        get
        {
            Assert.SkipWhen(!File.Exists(TestServer.GuidedPlugin), "guided plugin not built (artifacts/plugins/guided)");
            return s_guided.Value;
        }
    }

    private static readonly string[] RegexParts =
    [
        "a", "b", "[a-z]", "[^a]", "\\d", "\\w", "\\s", ".", "|", "(", ")", "(?:", "*", "+", "?", "{2}", "{1,3}", "{0,}", "{99999}",
        "{2,1}", "[", "]", "\\", "^", "$", "\\p{L}", "\\u00e9", "é", "🙂", "[\\d-z]", "(a|b)*", "x{1000}", "(?=a)", "\\1", "[z-a]",
    ];

    private static readonly string[] GrammarParts =
    [
        "root ::= ", "x ::= ", "\"a\"", "\"b\"", "[a-z]", "x", "root", "(", ")", "|", "*", "+", "?", "{2,3}", "\n", " ", "\"", "::=",
        "[^\"]", "#c\n", "\\", "y",
    ];

    private static readonly string[] SchemaParts =
    [
        "{\"type\":\"object\",\"properties\":{\"a\":", "}}", "{\"type\":\"string\",\"maxLength\":3}", "{\"type\":\"integer\",\"minimum\":-5,\"maximum\":5}",
        "{\"enum\":[1,\"x\",null]}", "{\"const\":true}", "{\"$ref\":\"#\"}", "{\"$ref\":\"#/definitions/nope\"}", "{\"anyOf\":[", "]}",
        "{\"type\":\"array\",\"items\":", "{\"pattern\":\"(a|b)+\"}", "{\"format\":\"date-time\"}", "{\"type\":[\"string\",\"null\"]}", ",",
        "{\"additionalProperties\":false}", "{\"minItems\":99999}", "{\"required\":[\"zz\"]}", "true", "false", "{}", "{\"type\":\"number\"}",
    ];

    private static void Check(GuidedSpec spec)
    {
        var (decoder, vocab) = Guided;
        FuzzBudget.WithinTime(TimeSpan.FromSeconds(10), () =>
        {
            IGrammarMatcher m;
            try { m = decoder.Create(spec, vocab); }
            catch (GuidedSpecException e)
            {
                Assert.False(string.IsNullOrWhiteSpace(e.Message));
                return;
            }
            var mask = new ulong[(vocab.Count + 63) / 64];
            for (int step = 0; step < 8 && !m.IsTerminated; step++)
            {
                m.FillMask(mask);
                int allowed = -1;
                for (int w = 0; w < mask.Length && allowed < 0; w++)
                    if (mask[w] != 0) allowed = w * 64 + System.Numerics.BitOperations.TrailingZeroCount(mask[w]);
                if (allowed < 0 || allowed >= vocab.Count) break;
                Assert.True(m.Accept(allowed), $"token {allowed} was in the mask but not accepted");
            }
        }, () => $"{spec.Kind}: {spec.Text}");
    }

    /// <summary>Random regexes.</summary>
    [Fact]
    public void RandomRegexes_OnlyGuidedSpecException() =>
        FuzzBudget.Run(Gen.OneOf(RegexParts).Array[1, 12], parts => Check(new GuidedSpec(GuidedKind.Regex, string.Concat(parts))), FuzzBudget.Seconds / 3, batch: 8);

    /// <summary>Random GBNF grammars.</summary>
    [Fact]
    public void RandomGrammars_OnlyGuidedSpecException() =>
        FuzzBudget.Run(Gen.OneOf(GrammarParts).Array[1, 14], parts => Check(new GuidedSpec(GuidedKind.Grammar, "root ::= " + string.Concat(parts))), FuzzBudget.Seconds / 3, batch: 8);

    /// <summary>Random JSON Schemas (often not even JSON).</summary>
    [Fact]
    public void RandomSchemas_OnlyGuidedSpecException() =>
        FuzzBudget.Run(Gen.OneOf(SchemaParts).Array[1, 8], parts => Check(new GuidedSpec(GuidedKind.JsonSchema, string.Concat(parts))), FuzzBudget.Seconds / 3, batch: 8);

    /// <summary>Known blow-ups are refused quickly: exponential DFAs, huge repeats, self-referencing schemas.</summary>
    [Theory]
    [InlineData(GuidedKind.Regex, "(a|b)*a(a|b){40}")]
    [InlineData(GuidedKind.Regex, "((a{1000}){1000}){1000}")]
    [InlineData(GuidedKind.Regex, "[\\s\\S]{999999}")]
    [InlineData(GuidedKind.JsonSchema, "{\"$ref\":\"#\"}")]
    [InlineData(GuidedKind.JsonSchema, "{\"type\":\"string\",\"minLength\":2000000000}")]
    [InlineData(GuidedKind.Grammar, "root ::= root \"a\"")]
    [InlineData(GuidedKind.Choice, "[]")]
    [InlineData(GuidedKind.Choice, "not json")]
    public void KnownBlowUps_RefusedOrBounded(GuidedKind kind, string text) => Check(new GuidedSpec(kind, text));

    /// <summary>
    /// Probe (opt-in, MODULAR_CRASH_PROBES=1): a 100,000-deep parenthesised regex, run in a child process because the
    /// plugin's recursive-descent regex parser has no depth guard and a stack overflow kills the process.
    /// </summary>
    [Theory]
    [InlineData("Regex")]
    [InlineData("Grammar")]
    public void DeepNesting_DoesNotKillTheProcess(string kind)
    {
        // Runs the compile in a child process, so a stack overflow shows up as a failed exit code, not a dead test host.
        if (Environment.GetEnvironmentVariable("MODULAR_CRASH_PROBE_CHILD") is { } childKind)
        {
            if (childKind != kind) return;
            var text = kind == "Regex" ? new string('(', 100_000) + "a" + new string(')', 100_000) : "root ::= " + new string('(', 100_000) + "\"a\"" + new string(')', 100_000);
            try { Guided.Decoder.Create(new GuidedSpec(Enum.Parse<GuidedKind>(kind), text), Guided.Vocab); }
            catch (GuidedSpecException) { }
            return;
        }
        var psi = new ProcessStartInfo(Environment.ProcessPath!, ["-method", $"{typeof(GuidedFuzzTests).FullName}.{nameof(DeepNesting_DoesNotKillTheProcess)}"])
        { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.Environment["MODULAR_CRASH_PROBE_CHILD"] = kind;
        using var child = Process.Start(psi)!;
        string output = child.StandardOutput.ReadToEnd() + child.StandardError.ReadToEnd();
        child.WaitForExit();
        Assert.True(child.ExitCode == 0, $"deeply nested {kind} killed the process (exit {child.ExitCode}): {output[^Math.Min(600, output.Length)..]}");
    }
}
