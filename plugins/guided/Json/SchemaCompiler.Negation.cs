using System.Globalization;
using System.Text;
using System.Text.Json;
using Modular.Abstractions;

namespace Modular.Plugins.Guided.Json;

/// <summary>
/// Exact complements of schemas, for <c>not</c>, <c>if</c>/<c>then</c>/<c>else</c> and schema-valued
/// <c>dependencies</c>. A complement is written as a small synthetic schema (anyOf of per-keyword complements, each
/// limited to the JSON types the keyword applies to) whose sub-schemas point back into the document with $ref. Keywords
/// whose complement is not expressible here (items, multipleOf, propertyNames, ...) are refused with their path: a negation is
/// never approximated.
/// </summary>
public sealed partial class SchemaCompiler
{
    private const int MaxNegationDepth = 16;
    private static readonly string[] AllTypes = ["null", "boolean", "number", "string", "array", "object"];
    private readonly Dictionary<string, SchemaRef> _synthetic = new();
    private readonly List<JsonDocument> _syntheticDocs = new();

    /// <summary>A synthetic schema, parsed once per (unique) path.</summary>
    private SchemaRef Synthetic(string path, Func<string> json)
    {
        if (_synthetic.TryGetValue(path, out var found)) return found;
        var doc = JsonDocument.Parse(json());
        _syntheticDocs.Add(doc);
        var r = new SchemaRef(doc.RootElement, path);
        _synthetic[path] = r;
        return r;
    }

    /// <summary>A schema whose only value is the array or object <paramref name="v"/>, member by member.</summary>
    private SchemaRef ConstSchema(JsonElement v)
    {
        var text = JsonText.Compact(v);
        return Synthetic("(const " + text + ")", () =>
        {
            if (v.ValueKind == JsonValueKind.Array)
                return "{\"type\":\"array\",\"items\":[" + string.Join(",", v.EnumerateArray().Select(x => "{\"const\":" + x.GetRawText() + "}")) +
                       "],\"additionalItems\":false,\"minItems\":" + v.GetArrayLength().ToString(CultureInfo.InvariantCulture) + "}";
            var names = v.EnumerateObject().Select(p => p.Name).Distinct().ToList();
            return "{\"type\":\"object\",\"additionalProperties\":false,\"required\":[" + string.Join(",", names.Select(n => JsonSerializer.Serialize(n))) +
                   "],\"properties\":{" + string.Join(",", v.EnumerateObject().Select(p => JsonSerializer.Serialize(p.Name) + ":{\"const\":" + p.Value.GetRawText() + "}")) + "}}";
        });
    }

    private static bool IsSynthetic(string path) => path.Contains('(', StringComparison.Ordinal);

    private static string Ref(string path) => "{\"$ref\":" + JsonSerializer.Serialize(path) + "}";

    /// <summary>The complement of the schema at <paramref name="path"/>, as a synthetic schema.</summary>
    private SchemaRef Not(JsonElement e, string path) =>
        Synthetic(path + "(not)", () => Negate(e, path, 0));

    /// <summary>if/then/else as anyOf [if ∧ then, ¬if ∧ else].</summary>
    private SchemaRef IfThenElse(JsonElement owner, string ownerPath)
    {
        return Synthetic(ownerPath + "(if)", () =>
        {
            var cond = owner.GetProperty("if");
            string ifPath = ownerPath + "/if";
            var yes = new List<string> { Ref(ifPath) };
            var no = new List<string> { Negate(cond, ifPath, 0) };
            if (owner.TryGetProperty("then", out _)) yes.Add(Ref(ownerPath + "/then"));
            if (owner.TryGetProperty("else", out _)) no.Add(Ref(ownerPath + "/else"));
            return "{\"anyOf\":[{\"allOf\":[" + string.Join(",", yes) + "]},{\"allOf\":[" + string.Join(",", no) + "]}]}";
        });
    }

    /// <summary>A schema-valued dependency: the property is absent, or present and the schema holds.</summary>
    private List<SchemaRef> Dependency(string name, string depPath)
    {
        var quoted = JsonSerializer.Serialize(name);
        return
        [
            Synthetic(depPath + "(absent)", () => "{\"properties\":{" + quoted + ":false}}"),
            Synthetic(depPath + "(present)", () => "{\"required\":[" + quoted + "],\"allOf\":[" + Ref(depPath) + "]}"),
        ];
    }

    private string Negate(JsonElement e, string path, int depth)
    {
        if (depth > MaxNegationDepth) throw Unnegatable(path, "$ref", "negation nested too deeply (recursive schema)");
        if (IsSynthetic(path)) throw Unnegatable(path, "not", "nested negation of a generated schema");
        if (e.ValueKind == JsonValueKind.True) return "false";
        if (e.ValueKind == JsonValueKind.False) return "true";
        if (e.ValueKind != JsonValueKind.Object) throw new GuidedSpecException($"schema at {path} must be an object or a boolean, not {e.ValueKind}");
        var parts = new List<string>();
        foreach (var (p, kp) in AppliedKeywords(e, path))
        {
            var v = p.Value;
            switch (p.Name)
            {
                case "$ref":
                    var target = Resolve(v, kp);
                    parts.Add(Negate(target.Element, target.Path, depth + 1));
                    break;
                case "not":
                    parts.Add(Ref(kp));
                    break;
                case "allOf":
                {
                    int i = 0;
                    foreach (var m in ArrayOf(v, kp)) parts.Add(Negate(m, $"{kp}/{i++}", depth + 1));
                    break;
                }
                case "anyOf":
                {
                    var all = new List<string>();
                    int i = 0;
                    foreach (var m in ArrayOf(v, kp)) all.Add(Negate(m, $"{kp}/{i++}", depth + 1));
                    parts.Add("{\"allOf\":[" + string.Join(",", all) + "]}");
                    break;
                }
                case "oneOf":
                {
                    // ¬(exactly one) = none of them, or some two of them at once.
                    var branches = ArrayOf(v, kp).ToList();
                    if (branches.Count > 8) throw Unnegatable(path, "oneOf", "the complement of a oneOf with more than 8 branches is not supported");
                    var none = new List<string>();
                    for (int i = 0; i < branches.Count; i++) none.Add(Negate(branches[i], $"{kp}/{i}", depth + 1));
                    var alts = new List<string> { "{\"allOf\":[" + string.Join(",", none) + "]}" };
                    var shapes = new ShapeSummary[branches.Count];
                    for (int i = 0; i < branches.Count; i++) Summarize(new SchemaRef(branches[i], $"{kp}/{i}"), shapes[i] = new ShapeSummary(), 0);
                    for (int i = 0; i < branches.Count; i++)
                        for (int j = i + 1; j < branches.Count; j++)
                            if (!Disjoint(shapes[i], shapes[j], 0)) alts.Add("{\"allOf\":[" + Ref($"{kp}/{i}") + "," + Ref($"{kp}/{j}") + "]}");
                    parts.Add(AnyOf(alts));
                    break;
                }
                case "type":
                    parts.Add(NegateType(TypeNames(v, kp), kp));
                    break;
                case "required":
                {
                    var alts = new List<string>();
                    foreach (var n in ArrayOf(v, kp))
                        alts.Add("{\"type\":\"object\",\"properties\":{" + JsonSerializer.Serialize(StringOf(n, kp)) + ":false}}");
                    parts.Add(AnyOf(alts));
                    break;
                }
                case "properties":
                {
                    var alts = new List<string>();
                    foreach (var prop in ObjectOf(v, kp))
                    {
                        var name = JsonSerializer.Serialize(prop.Name);
                        var neg = Negate(prop.Value, kp + "/" + Escape(prop.Name), depth + 1);
                        if (neg == "false") continue;
                        alts.Add("{\"type\":\"object\",\"required\":[" + name + "],\"properties\":{" + name + ":" + neg + "}}");
                    }
                    parts.Add(AnyOf(alts));
                    break;
                }
                case "const":
                    parts.Add(NegateEnum([v], kp));
                    break;
                case "enum":
                    parts.Add(NegateEnum(ArrayOf(v, kp).ToList(), kp));
                    break;
                case "minimum" or "maximum":
                {
                    bool lower = p.Name == "minimum";
                    bool exclusive = e.TryGetProperty(lower ? "exclusiveMinimum" : "exclusiveMaximum", out var x) && x.ValueKind == JsonValueKind.True;
                    DecimalOf(v, kp);
                    // ¬(x ≥ m) is x < m; ¬(x > m) is x ≤ m.
                    string bound = lower ? (exclusive ? "maximum" : "exclusiveMaximum") : (exclusive ? "minimum" : "exclusiveMinimum");
                    parts.Add(AnyOf(["{\"type\":\"number\",\"" + bound + "\":" + v.GetRawText() + "}"]));
                    break;
                }
                case "exclusiveMinimum" or "exclusiveMaximum":
                    if (v.ValueKind != JsonValueKind.Number) break; // draft-4 flag, handled with minimum/maximum
                    DecimalOf(v, kp);
                    parts.Add(AnyOf(["{\"type\":\"number\",\"" + (p.Name == "exclusiveMinimum" ? "maximum" : "minimum") + "\":" + v.GetRawText() + "}"]));
                    break;
                case "minLength": parts.Add(NegateCount("string", "maxLength", IntOf(v, kp), lower: true)); break;
                case "maxLength": parts.Add(NegateCount("string", "minLength", IntOf(v, kp), lower: false)); break;
                case "minItems": parts.Add(NegateCount("array", "maxItems", IntOf(v, kp), lower: true)); break;
                case "maxItems": parts.Add(NegateCount("array", "minItems", IntOf(v, kp), lower: false)); break;
                case "minProperties": parts.Add(NegateCount("object", "maxProperties", IntOf(v, kp), lower: true)); break;
                case "maxProperties": parts.Add(NegateCount("object", "minProperties", IntOf(v, kp), lower: false)); break;
                case "pattern":
                    // ¬(string ∧ matches p) = other types, or a string that does not match (complemented automaton).
                    parts.Add(AnyOf(["{\"type\":\"string\",\"" + NotPatternKeyword + "\":" + JsonSerializer.Serialize(StringOf(v, kp)) + "}"]));
                    break;
                case "format":
                    if (v.ValueKind == JsonValueKind.String && Formats.Pattern(v.GetString()!) is { } fp)
                        parts.Add(AnyOf(["{\"type\":\"string\",\"" + NotPatternKeyword + "\":" + JsonSerializer.Serialize("^(?:" + fp + ")$") + "}"]));
                    break;
                case "items" when v.ValueKind == JsonValueKind.Array:
                case "prefixItems":
                {
                    // ¬(item i matches S_i for each i) = an array with an item i that fails S_i.
                    var alts = new List<string>();
                    int i = 0;
                    foreach (var m in ArrayOf(v, kp))
                    {
                        var neg = Negate(m, $"{kp}/{i}", depth + 1);
                        if (neg != "false")
                            alts.Add("{\"type\":\"array\",\"minItems\":" + (i + 1).ToString(CultureInfo.InvariantCulture) + ",\"prefixItems\":[" +
                                     string.Concat(Enumerable.Repeat("true,", i)) + neg + "]}");
                        i++;
                    }
                    parts.Add(AnyOf(alts));
                    break;
                }
                case "items":
                {
                    // ¬(every item matches S) = an array that contains an item failing S. Beside prefixItems (or
                    // array-form items) "items" covers only the later items, which contains cannot single out.
                    if (e.TryGetProperty("prefixItems", out _)) throw Unnegatable(path, "items", "the complement of 'items' beside 'prefixItems' is not supported");
                    var neg = Negate(v, kp, depth + 1);
                    if (neg != "false") parts.Add(AnyOf(["{\"type\":\"array\",\"contains\":" + neg + "}"]));
                    break;
                }
                case "additionalItems":
                    // Only applies beside array-form items; true (or an empty schema) constrains nothing.
                    if (!e.TryGetProperty("items", out var itemsForm) || itemsForm.ValueKind != JsonValueKind.Array || Negate(v, kp, depth + 1) == "false") break;
                    throw Unnegatable(path, "additionalItems", "the complement of 'additionalItems' is not supported");
                case "contains":
                {
                    // ¬(some item matches C) = an array whose every item fails C.
                    var neg = Negate(v, kp, depth + 1);
                    parts.Add(AnyOf(["{\"type\":\"array\",\"items\":" + neg + "}"]));
                    break;
                }
                case "dependencies" or "dependentRequired" or "dependentSchemas":
                {
                    // ¬(if k present then D) = an object with k present where D fails.
                    var alts = new List<string>();
                    foreach (var dep in ObjectOf(v, kp))
                    {
                        var key = JsonSerializer.Serialize(dep.Name);
                        string depPath = kp + "/" + Escape(dep.Name);
                        string neg;
                        if (dep.Value.ValueKind == JsonValueKind.Array && p.Name != "dependentSchemas")
                        {
                            var needs = new List<string>();
                            foreach (var n in dep.Value.EnumerateArray())
                                needs.Add("{\"properties\":{" + JsonSerializer.Serialize(StringOf(n, depPath)) + ":false}}");
                            neg = AnyOf(needs);
                        }
                        else if (dep.Value.ValueKind is JsonValueKind.Object or JsonValueKind.True or JsonValueKind.False && p.Name != "dependentRequired")
                            neg = Negate(dep.Value, depPath, depth + 1);
                        else throw new GuidedSpecException($"'{p.Name}' at {depPath} must be {(p.Name == "dependentRequired" ? "an array of names" : "a schema")}");
                        if (neg == "false") continue;
                        alts.Add("{\"type\":\"object\",\"required\":[" + key + "],\"allOf\":[" + neg + "]}");
                    }
                    parts.Add(AnyOf(alts));
                    break;
                }
                case "propertyNames":
                {
                    // ¬(every name matches S) = an object with a member whose name fails S.
                    if (v.ValueKind == JsonValueKind.True) break;
                    parts.Add(AnyOf([SomeProperty("{\"not\":" + Ref(kp) + "}", "true")]));
                    break;
                }
                case "patternProperties":
                {
                    // ¬(members matching p have values in S) = an object with a member matching p whose value fails S.
                    var alts = new List<string>();
                    foreach (var pp in ObjectOf(v, kp))
                    {
                        var neg = Negate(pp.Value, kp + "/" + Escape(pp.Name), depth + 1);
                        if (neg != "false") alts.Add(SomeProperty("{\"pattern\":" + JsonSerializer.Serialize(pp.Name) + "}", neg));
                    }
                    parts.Add(AnyOf(alts));
                    break;
                }
                case "additionalProperties":
                {
                    // ¬(other members have values in S) = an object with a member that is neither declared nor
                    // matched by a pattern (of this same schema) whose value fails S.
                    var neg = Negate(v, kp, depth + 1);
                    if (neg == "false") break;
                    var known = new List<string>();
                    if (e.TryGetProperty("properties", out var props) && props.ValueKind == JsonValueKind.Object)
                        known.Add("{\"enum\":[" + string.Join(",", props.EnumerateObject().Select(x => JsonSerializer.Serialize(x.Name))) + "]}");
                    if (e.TryGetProperty("patternProperties", out var pps) && pps.ValueKind == JsonValueKind.Object)
                        foreach (var pp in pps.EnumerateObject()) known.Add("{\"pattern\":" + JsonSerializer.Serialize(pp.Name) + "}");
                    string names = known.Count == 0 ? "true" : "{\"not\":{\"anyOf\":[" + string.Join(",", known) + "]}}";
                    parts.Add(AnyOf([SomeProperty(names, neg)]));
                    break;
                }
                case "multipleOf":
                    parts.Add(AnyOf(["{\"type\":\"number\",\"" + NotMultipleKeyword + "\":" + v.GetRawText() + "}"]));
                    break;
                case "nullable":
                    if (v.ValueKind == JsonValueKind.True) throw Unnegatable(path, "nullable", "the complement of nullable is not supported");
                    break;
                case "exclusiveMinimumDraft4":
                    break;
                default:
                    if (Annotations.Contains(p.Name)) break;
                    if (Constraining.Contains(p.Name) || Unsupported.Contains(p.Name))
                        throw Unnegatable(path, p.Name, $"the complement of '{p.Name}' is not supported");
                    break; // unknown keywords do not constrain
            }
        }
        // ¬(a ∧ b ∧ ...) = ¬a ∨ ¬b ∨ ...; the empty schema accepts everything, so its complement is false.
        return AnyOf(parts);
    }

    /// <summary>Keywords that constrain a value but have no complement here.</summary>
    private static readonly HashSet<string> Constraining = ["uniqueItems"];

    /// <summary>An object with some member whose name matches <paramref name="names"/> and value matches <paramref name="value"/>.</summary>
    private static string SomeProperty(string names, string value) =>
        "{\"type\":\"object\",\"" + SomePropertyKeyword + "\":{\"names\":" + names + ",\"value\":" + value + "}}";

    private static GuidedSpecException Unnegatable(string path, string keyword, string why) =>
        new($"unsupported keyword 'not' at {path}: {why} ('{keyword}')");

    private static string AnyOf(List<string> alts)
    {
        alts.RemoveAll(a => a == "false");
        if (alts.Count == 0) return "false";
        if (alts.Contains("true")) return "true";
        return alts.Count == 1 ? alts[0] : "{\"anyOf\":[" + string.Join(",", alts) + "]}";
    }

    /// <summary>A schema accepting every JSON type but <paramref name="type"/> (number includes integer).</summary>
    private static string OtherTypes(string type) =>
        "{\"type\":[" + string.Join(",", AllTypes.Where(t => t != type).Select(t => "\"" + t + "\"")) + "]}";

    private static List<string> TypeNames(JsonElement v, string path)
    {
        var names = new List<string>();
        if (v.ValueKind == JsonValueKind.Array) foreach (var x in v.EnumerateArray()) names.Add(StringOf(x, path));
        else names.Add(StringOf(v, path));
        return names;
    }

    private static string NegateType(List<string> names, string path)
    {
        if (names.Contains("any")) return "false";
        bool integerOnly = names.Contains("integer") && !names.Contains("number");
        var rest = AllTypes.Where(t => !names.Contains(t) && !(integerOnly && t == "number")).ToList();
        var alts = new List<string>();
        if (rest.Count > 0) alts.Add("{\"type\":[" + string.Join(",", rest.Select(t => "\"" + t + "\"")) + "]}");
        // Not an integer: a number with a nonzero fraction digit (no integer is one; see NotMultipleKeyword).
        if (integerOnly) alts.Add("{\"type\":\"number\",\"" + NotMultipleKeyword + "\":1}");
        return AnyOf(alts);
    }

    private static string NegateCount(string type, string keyword, int n, bool lower)
    {
        // ¬(len ≥ n) is len ≤ n-1 (impossible for n = 0); ¬(len ≤ n) is len ≥ n+1.
        var alts = new List<string>();
        if (lower && n > 0) alts.Add("{\"type\":\"" + type + "\",\"" + keyword + "\":" + (n - 1).ToString(CultureInfo.InvariantCulture) + "}");
        if (!lower) alts.Add("{\"type\":\"" + type + "\",\"" + keyword + "\":" + ((long)n + 1).ToString(CultureInfo.InvariantCulture) + "}");
        return AnyOf(alts);
    }

    /// <summary>
    /// ¬enum: for strings, booleans and null, other types or a string that differs from every member; each number,
    /// array or object member adds "and differs from it" (see <see cref="NotConst"/>).
    /// </summary>
    private static string NegateEnum(List<JsonElement> values, string path)
    {
        var strings = new List<string>();
        var structured = new List<string>();
        bool hasTrue = false, hasFalse = false, hasNull = false;
        foreach (var v in values)
        {
            switch (v.ValueKind)
            {
                case JsonValueKind.String: strings.Add(v.GetString()!); break;
                case JsonValueKind.True: hasTrue = true; break;
                case JsonValueKind.False: hasFalse = true; break;
                case JsonValueKind.Null: hasNull = true; break;
                default: structured.Add(NotConst(v, path, 0)); break;
            }
        }
        var simple = NegateSimpleEnum(strings, hasTrue, hasFalse, hasNull);
        if (structured.Count == 0) return simple;
        if (simple != "true") structured.Insert(0, simple);
        return structured.Count == 1 ? structured[0] : "{\"allOf\":[" + string.Join(",", structured) + "]}";
    }

    /// <summary>
    /// Every value except <paramref name="v"/>: another type; for a number one below or above it; for an array another
    /// length or an item that differs; for an object another member count, a missing member or a member that differs.
    /// </summary>
    private static string NotConst(JsonElement v, string path, int depth)
    {
        if (depth > MaxNegationDepth) throw Unnegatable(path, "enum", "the complement of a deeply nested enum member is not supported");
        switch (v.ValueKind)
        {
            case JsonValueKind.String or JsonValueKind.True or JsonValueKind.False or JsonValueKind.Null:
                return NegateEnum([v], path);
            case JsonValueKind.Number:
            {
                var x = DecimalOf(v, path);
                // Bounds are exact only within the digits NumberBound keeps.
                if (Math.Abs(x) >= 1e15m) throw Unnegatable(path, "enum", "the complement of a number member beyond 1e15 is not supported");
                var t = x.ToString(CultureInfo.InvariantCulture);
                return AnyOf([OtherTypes("number"), "{\"type\":\"number\",\"exclusiveMaximum\":" + t + "}", "{\"type\":\"number\",\"exclusiveMinimum\":" + t + "}"]);
            }
            case JsonValueKind.Array:
            {
                int n = v.GetArrayLength();
                var alts = new List<string> { OtherTypes("array"), "{\"type\":\"array\",\"minItems\":" + (n + 1).ToString(CultureInfo.InvariantCulture) + "}" };
                if (n > 0) alts.Add("{\"type\":\"array\",\"maxItems\":" + (n - 1).ToString(CultureInfo.InvariantCulture) + "}");
                int i = 0;
                foreach (var item in v.EnumerateArray())
                {
                    alts.Add("{\"type\":\"array\",\"minItems\":" + (i + 1).ToString(CultureInfo.InvariantCulture) + ",\"prefixItems\":[" +
                             string.Concat(Enumerable.Repeat("true,", i)) + NotConst(item, path, depth + 1) + "]}");
                    i++;
                }
                return AnyOf(alts);
            }
            default:
            {
                var members = v.EnumerateObject().GroupBy(p => p.Name).Select(g => g.Last()).ToList();
                var alts = new List<string> { OtherTypes("object"), "{\"type\":\"object\",\"minProperties\":" + (members.Count + 1).ToString(CultureInfo.InvariantCulture) + "}" };
                foreach (var m in members)
                {
                    var name = JsonSerializer.Serialize(m.Name);
                    alts.Add("{\"type\":\"object\",\"properties\":{" + name + ":false}}");
                    alts.Add("{\"type\":\"object\",\"required\":[" + name + "],\"properties\":{" + name + ":" + NotConst(m.Value, path, depth + 1) + "}}");
                }
                return AnyOf(alts);
            }
        }
    }

    private static string NegateSimpleEnum(List<string> strings, bool hasTrue, bool hasFalse, bool hasNull)
    {
        var covered = new List<string>();
        if (strings.Count > 0) covered.Add("string");
        if (hasTrue || hasFalse) covered.Add("boolean");
        if (hasNull) covered.Add("null");
        var alts = new List<string>();
        var rest = AllTypes.Where(t => !covered.Contains(t)).ToList();
        if (rest.Count > 0) alts.Add("{\"type\":[" + string.Join(",", rest.Select(t => "\"" + t + "\"")) + "]}");
        if (strings.Count > 0)
            alts.Add("{\"type\":\"string\",\"allOf\":[" + string.Join(",", strings.Distinct().Select(s => "{\"pattern\":" + JsonSerializer.Serialize(NotEqualPattern(s)) + "}")) + "]}");
        if (hasTrue != hasFalse) alts.Add(hasTrue ? "{\"const\":false}" : "{\"const\":true}");
        return AnyOf(alts);
    }

    /// <summary>
    /// An anchored regex for every string except <paramref name="s"/>: a proper prefix of it, a string that leaves it
    /// at some character, or a longer string that starts with it.
    /// </summary>
    private static string NotEqualPattern(string s)
    {
        var cps = new List<int>();
        for (int i = 0; i < s.Length; i += char.IsSurrogatePair(s, i) ? 2 : 1) cps.Add(char.ConvertToUtf32(s, i));
        var alts = new List<string>();
        var prefix = new StringBuilder();
        for (int i = 0; i < cps.Count; i++)
        {
            alts.Add(prefix.ToString());
            alts.Add(prefix + "[^" + Escaped(cps[i]) + "][\\s\\S]*");
            prefix.Append(Escaped(cps[i]));
        }
        alts.Add(prefix + "[\\s\\S]+");
        return "^(?:" + string.Join("|", alts) + ")$";
    }

    private static string Escaped(int cp)
    {
        var text = char.ConvertFromUtf32(cp);
        var sb = new StringBuilder();
        foreach (var c in text) sb.Append("\\u").Append(((int)c).ToString("X4", CultureInfo.InvariantCulture));
        return sb.ToString();
    }
}
