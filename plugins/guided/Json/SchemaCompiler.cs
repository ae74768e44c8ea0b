using System.Globalization;
using System.Text;
using System.Text.Json;
using Modular.Abstractions;
using Modular.Plugins.Guided.Automata;
using Modular.Plugins.Guided.Lexing;
using Modular.Plugins.Guided.Regex;

namespace Modular.Plugins.Guided.Json;

/// <summary>
/// Compiles a JSON Schema into <see cref="SchemaNode"/>s whose scalars are interned lexemes. $ref targets are
/// compiled once (recursion works through placeholders), allOf members are merged into one draft, anyOf/oneOf are
/// distributed over the rest of the schema (oneOf branches are made exclusive first, see OneOf). Keywords that cannot be enforced raise a
/// <see cref="GuidedSpecException"/> naming the keyword and its path.
/// </summary>
public sealed partial class SchemaCompiler
{
    /// <summary>Largest nesting depth of the schema document.</summary>
    public const int MaxDepth = 64;
    /// <summary>Largest number of compiled nodes.</summary>
    public const int MaxNodes = 20_000;
    /// <summary>Largest number of alternatives one anyOf expansion may produce.</summary>
    public const int MaxAlternatives = 256;

    private readonly LexemeTable _table;
    private readonly JsonElement _root;
    private readonly Dictionary<string, SchemaNode> _nodes = new();
    private SchemaNode? _any;
    private readonly bool _refWithSiblings;

    /// <summary>Creates a compiler for the schema document <paramref name="root"/>.</summary>
    public SchemaCompiler(LexemeTable table, JsonElement root)
    {
        _table = table;
        _root = root;
        var dialect = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("$schema", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString()! : "";
        _refWithSiblings = dialect.Length == 0 || dialect.Contains("2019-09", StringComparison.Ordinal) || dialect.Contains("2020-12", StringComparison.Ordinal);
        CheckDepth(root, 0, "#");
    }

    private static void CheckDepth(JsonElement e, int depth, string path)
    {
        if (depth > MaxDepth) throw new GuidedSpecException($"schema nesting deeper than {MaxDepth} at {path}");
        if (e.ValueKind == JsonValueKind.Object)
            foreach (var p in e.EnumerateObject()) CheckDepth(p.Value, depth + 1, path);
        else if (e.ValueKind == JsonValueKind.Array)
            foreach (var x in e.EnumerateArray()) CheckDepth(x, depth + 1, path);
    }

    /// <summary>Compiles the whole document.</summary>
    public SchemaNode CompileRoot()
    {
        var node = Build([new SchemaRef(_root, "#")], "");
        return node;
    }

    /// <summary>A node accepting any JSON value.</summary>
    public SchemaNode Any
    {
        get
        {
            if (_any is not null) return _any;
            var any = new SchemaNode { Path = "(any)" };
            _any = any;
            any.Scalars = [_table.Null, _table.True, _table.False, NumberLexeme(new NumberSpec(false, null, null, 0, -1)), StringLexeme([], 0, int.MaxValue, "")];
            any.Object = new ObjectShape
            {
                Names = [], Values = [], NameLexemes = [], Required = [], Patterns = [],
                OtherLexeme = StringLexeme([], 0, int.MaxValue, ""), OtherValue = any,
                Meaning = new Dictionary<int, int> { [StringLexeme([], 0, int.MaxValue, "")] = -1 },
            };
            any.Array = new ArrayShape { Prefix = [], Items = any };
            return any;
        }
    }

    /// <summary>Any JSON object (json_object constraint).</summary>
    public SchemaNode AnyObject() => new() { Path = "(object)", Object = Any.Object };

    private SchemaNode Build(List<SchemaRef> refs, string skipGroups)
    {
        var key = string.Join("\u0001", refs.Select(r => r.Path).Order(StringComparer.Ordinal)) + "\u0002" + skipGroups;
        if (_nodes.TryGetValue(key, out var existing)) return existing;
        CompileBudget.Check();
        if (_nodes.Count >= MaxNodes) throw new GuidedSpecException($"schema expands to more than {MaxNodes} sub-schemas (at {refs[0].Path})");
        var node = new SchemaNode { Path = refs[0].Path };
        _nodes[key] = node;

        var draft = new SchemaDraft();
        var active = new HashSet<string>();
        foreach (var r in refs) Collect(r, draft, active, 0);
        var skip = skipGroups.Split('\u0003', StringSplitOptions.RemoveEmptyEntries).ToHashSet();
        var groups = draft.Disjunctions.Where(g => !skip.Contains(g.Path)).ToList();
        if (groups.Count > 0 && !draft.False)
        {
            // Distribute: (base ∧ (a1 ∨ a2) ∧ (b1 ∨ b2)) = ∨ over combinations.
            var combos = new List<List<SchemaRef>> { new() };
            foreach (var (path, alts) in groups)
            {
                var next = new List<List<SchemaRef>>();
                foreach (var c in combos)
                    foreach (var a in alts)
                    {
                        next.Add([.. c, a]);
                        if (next.Count > MaxAlternatives)
                            throw new GuidedSpecException($"anyOf/oneOf at {path} expands to more than {MaxAlternatives} alternatives");
                    }
                combos = next;
            }
            var newSkip = skipGroups + string.Concat(groups.Select(g => g.Path + "\u0003"));
            var alternatives = new List<SchemaNode>();
            foreach (var c in combos) alternatives.Add(Build([.. refs, .. c], newSkip));
            node.AnyOf = alternatives.ToArray();
            return node;
        }
        Fill(node, draft);
        return node;
    }

    private void Fill(SchemaNode node, SchemaDraft d)
    {
        if (d.False) return;
        var types = d.Types;
        if (d.Nullable) types |= JsonTypes.Null;
        if (d.Enum is not null)
        {
            var lexemes = new List<int>();
            var structured = new List<SchemaNode>();
            foreach (var v in d.Enum)
            {
                if ((TypeOf(v) & types) == 0) continue;
                // Arrays and objects are parsed structurally: as one literal lexeme, "[..." would compete with the
                // "[" lexeme of other alternatives and win by longest match, wrongly cutting them off.
                if (v.ValueKind is JsonValueKind.Array or JsonValueKind.Object) structured.Add(Build([ConstSchema(v)], ""));
                else lexemes.Add(_table.Literal(JsonText.Compact(v)));
            }
            if (structured.Count == 0)
            {
                node.Scalars = lexemes.Distinct().ToArray();
                return;
            }
            node.AnyOf = [new SchemaNode { Path = node.Path, Scalars = lexemes.Distinct().ToArray() }, .. structured];
            return;
        }
        var scalars = new List<int>();
        if ((types & JsonTypes.Null) != 0) scalars.Add(_table.Null);
        if ((types & JsonTypes.Boolean) != 0) { scalars.Add(_table.True); scalars.Add(_table.False); }
        if ((types & (JsonTypes.Integer | JsonTypes.Fraction)) != 0 && NumberSpecOf(d, (types & JsonTypes.Fraction) == 0) is { } numbers)
            scalars.Add(NumberLexeme(numbers));
        if ((types & JsonTypes.String) != 0)
        {
            int lex = StringLexemeOf(d);
            if (lex >= 0) scalars.Add(lex);
        }
        node.Scalars = scalars.ToArray();
        if ((types & JsonTypes.Object) != 0) node.Object = ObjectOf(d, node.Path);
        if ((types & JsonTypes.Array) != 0) node.Array = ArrayOf(d);
    }

    private static JsonTypes TypeOf(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.Null => JsonTypes.Null,
        JsonValueKind.True or JsonValueKind.False => JsonTypes.Boolean,
        JsonValueKind.Number => IsIntegral(v) ? JsonTypes.Integer | JsonTypes.Fraction : JsonTypes.Fraction,
        JsonValueKind.String => JsonTypes.String,
        JsonValueKind.Array => JsonTypes.Array,
        _ => JsonTypes.Object,
    };

    private static bool IsIntegral(JsonElement v) =>
        decimal.TryParse(v.GetRawText(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && d == Math.Floor(d);

    private NumberSpec? NumberSpecOf(SchemaDraft d, bool integer)
    {
        int multiple = 0, fraction = -1;
        if (d.MultipleOf is { } m)
        {
            if (m.Value <= 0) throw new GuidedSpecException($"multipleOf must be positive at {m.Path}");
            if (m.Value == Math.Floor(m.Value) && m.Value <= 100_000)
            {
                multiple = (int)m.Value;
                integer = true;
                if (multiple == 1) multiple = 0;
            }
            else
            {
                // 10^-k: at most k fraction digits; other fractional steps are not regular in a useful size.
                var s = m.Value.ToString(CultureInfo.InvariantCulture);
                if (s.StartsWith("0.", StringComparison.Ordinal) && s.TrimEnd('0').EndsWith('1') && s[2..^1].All(c => c == '0'))
                    fraction = s.Length - 2;
                else throw new GuidedSpecException($"unsupported keyword 'multipleOf' ({s}) at {m.Path}: only integers and powers of 1/10 are supported");
            }
        }
        var notMultiple = new List<int>();
        long modulus = Math.Max(multiple, 1);
        foreach (var (value, path) in d.NotMultipleOf)
        {
            if (value <= 0 || value != Math.Floor(value) || value > 100_000)
                throw new GuidedSpecException($"unsupported keyword 'not' at {path}: the complement of 'multipleOf' {value.ToString(CultureInfo.InvariantCulture)} is only supported for integers up to 100000 ('multipleOf')");
            if (fraction >= 0)
                throw new GuidedSpecException($"unsupported keyword 'not' at {path}: a complemented multipleOf beside a fractional multipleOf ('multipleOf')");
            int k = (int)value;
            // Every integer is a multiple of 1 and of any divisor of the required multiple: no integer is left.
            if ((integer || multiple > 0) && (k == 1 || (multiple > 0 && multiple % k == 0))) return null;
            if (notMultiple.Contains(k)) continue;
            notMultiple.Add(k);
            modulus = modulus / Gcd(modulus, k) * k;
            if (modulus > 1_000_000)
                throw new GuidedSpecException($"unsupported keyword 'not' at {path}: complemented multipleOf whose common multiple exceeds 1000000 ('multipleOf')");
        }
        var lo = d.Minimum is { } mi ? NumberBound.Parse(mi.Text, mi.Exclusive) : null;
        var hi = d.Maximum is { } ma ? NumberBound.Parse(ma.Text, ma.Exclusive) : null;
        return new NumberSpec(integer, lo, hi, multiple, fraction, notMultiple.Count > 0 ? [.. notMultiple] : null);
    }

    private int NumberLexeme(NumberSpec spec) => _table.Intern("num:" + spec.Key, () => NumberDfa.Build(spec));

    private int StringLexemeOf(SchemaDraft d)
    {
        var patterns = new List<(string, string)>(d.Patterns);
        foreach (var (f, path) in d.Formats)
            if (Formats.Pattern(f) is { } p) patterns.Add(("^(?:" + p + ")$", path));
        int max = d.MaxLength >= 100_000 ? int.MaxValue : d.MaxLength;
        if (d.MinLength > max) return -1;
        return StringLexeme(patterns, d.MinLength, max, "");
    }

    /// <summary>A string lexeme whose content matches every pattern (search semantics) and the extra constraint.</summary>
    private int StringLexeme(List<(string Pattern, string Path)> patterns, int min, int max, string extraKey, Func<ByteDfa>? extra = null)
    {
        var key = "str:" + string.Join("\u0001", patterns.Select(p => p.Pattern)) + "\u0002" + extraKey;
        return _table.Intern(key, () =>
        {
            var content = AnyContent();
            foreach (var (p, path) in patterns) content = ApplyPattern(content, p, path);
            if (extra is not null) content = DfaOps.Intersect(content, extra());
            return JsonStringDfa.Build(content);
        }, min, max);
    }

    /// <summary>
    /// Synthetic keyword (only produced by negation; the parentheses keep it out of any real vocabulary): the string
    /// must not match the pattern (search semantics).
    /// </summary>
    private const string NotPatternKeyword = "(notPattern)";
    /// <summary>
    /// Synthetic keyword (only produced by negation): {"names": S, "value": V}, some member's name matches S and its
    /// value matches V.
    /// </summary>
    private const string SomePropertyKeyword = "(someProperty)";
    /// <summary>Synthetic keyword (only produced by negation): the number must not be a multiple of the value.</summary>
    private const string NotMultipleKeyword = "(notMultipleOf)";
    /// <summary>Prefix marking a complemented entry in <see cref="SchemaDraft.Patterns"/>.</summary>
    private const char NotPatternMark = '\u0000';

    /// <summary>Narrows string content by a pattern, or by its complement when the entry is marked.</summary>
    private ByteDfa ApplyPattern(ByteDfa content, string pattern, string path) =>
        pattern.Length > 0 && pattern[0] == NotPatternMark
            ? DfaOps.Intersect(content, PatternDfa(pattern[1..], path), negateB: true)
            : DfaOps.Intersect(content, PatternDfa(pattern, path));

    private ByteDfa AnyContent() => _table.Content("any", () => RegexCompiler.Compile(@"[\s\S]*", search: false));

    private ByteDfa PatternDfa(string pattern, string path) => _table.Content("re:" + pattern, () =>
    {
        try { return RegexCompiler.Compile(pattern, search: true); }
        catch (RegexSyntaxException e) { throw new GuidedSpecException($"unsupported 'pattern' at {path}: {e.Message}"); }
        catch (GuidedBuildException e) { throw new GuidedSpecException($"'pattern' at {path} is too complex: {e.Message}"); }
    });
}
