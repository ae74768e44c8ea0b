using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Modular.Abstractions;
using Modular.Plugins.Guided.Automata;
using Modular.Plugins.Guided.Json;
using Modular.Plugins.Guided.Parsing;
using Modular.Plugins.Guided.Regex;

namespace Modular.Plugins.Guided;

/// <summary>Settings of the guided decoder.</summary>
public sealed record GuidedOptions
{
    /// <summary>JSON whitespace bytes allowed before each JSON token (0: compact output only).</summary>
    public int MaxWhitespace { get; init; }
    /// <summary>Largest constraint text accepted, in characters.</summary>
    public int MaxSpecLength { get; init; } = 512 * 1024;
    /// <summary>Compiled constraints kept per vocabulary before the cache is cleared.</summary>
    public int CacheCapacity { get; init; } = 4096;
    /// <summary>Wall-clock budget for compiling one constraint, in milliseconds (0: unlimited); past it the constraint is refused.</summary>
    public int CompileBudgetMs { get; init; } = 2000;
}

/// <summary>
/// Compiles guided-decoding constraints (JSON Schema, any JSON object, regex, choice, GBNF grammar) into matchers.
/// Compiled constraints are cached by (kind, text) per vocabulary; vocabulary-level data (token trie, lexer states,
/// cached masks) is built once per vocabulary and shared by every constraint.
/// </summary>
public sealed class GuidedDecoder(GuidedOptions? options = null) : IGuidedDecoder
{
    private readonly GuidedOptions _options = options ?? new GuidedOptions();
    private readonly ConditionalWeakTable<ITokenVocabulary, VocabState> _vocabs = new();

    private sealed class VocabState(VocabContext context)
    {
        public VocabContext Context { get; } = context;
        public ConcurrentDictionary<(GuidedKind, string), CompiledConstraint> Compiled { get; } = new();
    }

    /// <inheritdoc />
    public IGrammarMatcher Create(GuidedSpec spec, ITokenVocabulary vocabulary) => Compile(spec, vocabulary).CreateMatcher();

    /// <summary>Compiles (or fetches from the cache) <paramref name="spec"/> for <paramref name="vocabulary"/>.</summary>
    public CompiledConstraint Compile(GuidedSpec spec, ITokenVocabulary vocabulary)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(vocabulary);
        var state = _vocabs.GetValue(vocabulary, v => new VocabState(new VocabContext(v, _options.MaxWhitespace)));
        var key = (spec.Kind, spec.Text ?? "");
        if (state.Compiled.TryGetValue(key, out var found)) return found;
        var compiled = CompileUncached(spec, state.Context);
        // A constraint whose language is empty (an empty regex, a class like []) would leave the first step with no
        // allowed token: refuse it here, as a bad request, instead of failing mid-generation.
        var probe = compiled.CreateMatcher();
        var mask = new ulong[(vocabulary.Count + 63) / 64];
        probe.FillMask(mask);
        if (!probe.IsComplete && Array.TrueForAll(mask, w => w == 0))
            throw new GuidedSpecException($"{spec.Kind} constraint accepts no output at all (nothing can be generated under it)");
        if (state.Compiled.Count >= _options.CacheCapacity) state.Compiled.Clear();
        state.Compiled[key] = compiled;
        return compiled;
    }

    private CompiledConstraint CompileUncached(GuidedSpec spec, VocabContext context)
    {
        var text = spec.Text ?? "";
        if (text.Length > _options.MaxSpecLength)
            throw new GuidedSpecException($"{spec.Kind} constraint is {text.Length} characters; the limit is {_options.MaxSpecLength}");
        using var budget = CompileBudget.Start(_options.CompileBudgetMs);
        try
        {
            var configs = new List<Frame?>();
            switch (spec.Kind)
            {
                case GuidedKind.JsonSchema:
                {
                    using var doc = ParseJson(text, "JSON Schema");
                    var compiler = new SchemaCompiler(context.Table, doc.RootElement);
                    ValueFrame.Push(compiler.CompileRoot(), null, configs);
                    break;
                }
                case GuidedKind.JsonObject:
                {
                    using var doc = JsonDocument.Parse("{}");
                    var compiler = new SchemaCompiler(context.Table, doc.RootElement);
                    ValueFrame.Push(compiler.AnyObject(), null, configs);
                    break;
                }
                case GuidedKind.Regex:
                {
                    int lex = context.Table.Intern("regex:" + text, () => RegexCompiler.Compile(text, search: false, stateLimit: 5000), whitespace: false);
                    configs.Add(new LexemeFrame([lex], null));
                    break;
                }
                case GuidedKind.Choice:
                    configs.Add(new LexemeFrame(ChoiceLexemes(text, context), null));
                    break;
                case GuidedKind.Grammar:
                    configs.AddRange(Grammar.GbnfCompiler.Compile(text, context.Table));
                    break;
                default:
                    throw new GuidedSpecException($"unknown constraint kind {spec.Kind}");
            }
            var initial = ParseState.Create(configs, context.Lexer);
            if (initial is null || initial.StartUnion < 0)
                throw new GuidedSpecException($"{spec.Kind} constraint accepts no output at all");
            return new CompiledConstraint(context, initial);
        }
        catch (RegexSyntaxException e) { throw new GuidedSpecException($"regex: {e.Message}"); }
        catch (GuidedBuildException e) { throw new GuidedSpecException($"{spec.Kind} constraint is too complex: {e.Message}"); }
    }

    private static JsonDocument ParseJson(string text, string what)
    {
        try
        {
            return JsonDocument.Parse(text, new JsonDocumentOptions { MaxDepth = 256, AllowTrailingCommas = false });
        }
        catch (JsonException e) { throw new GuidedSpecException($"{what} is not valid JSON: {e.Message}"); }
    }

    private static int[] ChoiceLexemes(string text, VocabContext context)
    {
        using var doc = ParseJson(text, "choice list");
        if (doc.RootElement.ValueKind != JsonValueKind.Array) throw new GuidedSpecException("choice constraint must be a JSON array of strings");
        var lexemes = new List<int>();
        int i = 0;
        foreach (var e in doc.RootElement.EnumerateArray())
        {
            if (e.ValueKind != JsonValueKind.String) throw new GuidedSpecException($"choice [{i}] must be a string, not {e.ValueKind}");
            var s = e.GetString()!;
            if (s.Length == 0) throw new GuidedSpecException($"choice [{i}] is empty");
            lexemes.Add(context.Table.Literal(s, whitespace: false));
            i++;
        }
        if (lexemes.Count == 0) throw new GuidedSpecException("choice list is empty: at least one choice is needed");
        return lexemes.Distinct().ToArray();
    }
}
