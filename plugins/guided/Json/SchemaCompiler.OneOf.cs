using System.Globalization;
using System.Text.Json;
using Modular.Abstractions;

namespace Modular.Plugins.Guided.Json;

/// <summary>
/// Exact <c>oneOf</c>: branch i becomes <c>Aᵢ ∧ ¬Aⱼ</c> for every other branch j that may overlap it. Most real
/// oneOfs have branches that are provably disjoint (different types, different consts, a required discriminator
/// property with different values, a required name the other branch forbids); those stay plain alternatives. For the
/// rest the complement of the overlapping branch is built exactly (see Negation); when it cannot be, the schema is
/// refused naming <c>oneOf</c> and its path, never treated as anyOf.
/// </summary>
public sealed partial class SchemaCompiler
{
    private const int MaxDisjointDepth = 8;

    /// <summary>The alternatives of the oneOf at <paramref name="path"/> in the schema <paramref name="owner"/>.</summary>
    private List<SchemaRef> OneOf(SchemaRef owner, JsonElement v, string path)
    {
        var branches = new List<SchemaRef>();
        int k = 0;
        foreach (var m in ArrayOf(v, path)) branches.Add(new SchemaRef(m, $"{path}/{k++}"));
        if (branches.Count == 0) throw new GuidedSpecException($"'oneOf' at {path} is empty");
        if (branches.Count == 1) return branches;

        // The owner's other keywords hold for every alternative, so overlap only matters inside them.
        var context = new ShapeSummary();
        Summarize(owner, context, 0);
        var shapes = new ShapeSummary[branches.Count];
        for (int i = 0; i < branches.Count; i++)
        {
            shapes[i] = new ShapeSummary();
            shapes[i].Merge(context);
            Summarize(branches[i], shapes[i], 0);
        }

        var alts = new List<SchemaRef>(branches.Count);
        for (int i = 0; i < branches.Count; i++)
        {
            var negations = new List<string>();
            for (int j = 0; j < branches.Count; j++)
            {
                if (j == i || Disjoint(shapes[i], shapes[j], 0)) continue;
                if (IsSynthetic(branches[i].Path) || IsSynthetic(branches[j].Path))
                    throw new GuidedSpecException($"unsupported keyword 'oneOf' at {path}: branches {i} and {j} may both match");
                try { negations.Add(Negate(branches[j].Element, branches[j].Path, 0)); }
                catch (GuidedSpecException e)
                {
                    throw new GuidedSpecException($"unsupported keyword 'oneOf' at {path}: branches {i} and {j} may both match and exclusivity cannot be enforced ({e.Message})");
                }
            }
            if (negations.Count == 0) { alts.Add(branches[i]); continue; }
            string branchPath = branches[i].Path;
            alts.Add(Synthetic(branchPath + "(oneOf)", () => "{\"allOf\":[" + Ref(branchPath) + "," + string.Join(",", negations) + "]}"));
        }
        return alts;
    }

    /// <summary>
    /// An over-approximation of the values a schema accepts, from the keywords that usually separate oneOf branches.
    /// Keywords not read here only narrow the real set, so disjoint summaries mean disjoint schemas.
    /// </summary>
    private sealed class ShapeSummary
    {
        public bool False;
        public JsonTypes Types = JsonTypes.All;
        /// <summary>Canonical keys of the allowed enum/const values, or null when unrestricted.</summary>
        public HashSet<string>? Enum;
        public readonly HashSet<string> Required = new(StringComparer.Ordinal);
        public readonly Dictionary<string, List<SchemaRef>> Properties = new(StringComparer.Ordinal);
        /// <summary>Property-name sets of schemas with additionalProperties false and no patternProperties.</summary>
        public readonly List<HashSet<string>> Closed = new();

        public void Merge(ShapeSummary o)
        {
            False |= o.False;
            Types &= o.Types;
            if (o.Enum is not null) IntersectEnum(o.Enum);
            Required.UnionWith(o.Required);
            foreach (var (n, list) in o.Properties) Property(n).AddRange(list);
            Closed.AddRange(o.Closed);
        }

        public void IntersectEnum(HashSet<string> values)
        {
            if (Enum is null) Enum = new HashSet<string>(values, StringComparer.Ordinal);
            else Enum.IntersectWith(values);
        }

        public List<SchemaRef> Property(string name)
        {
            if (!Properties.TryGetValue(name, out var list)) Properties[name] = list = new List<SchemaRef>();
            return list;
        }

        /// <summary>Types that can actually occur (enum members narrow the type set).</summary>
        public JsonTypes EffectiveTypes()
        {
            if (False) return JsonTypes.None;
            if (Enum is null) return Types;
            var t = JsonTypes.None;
            foreach (var key in Enum) t |= KeyType(key);
            return t & Types;
        }

        public bool Forbids(string name)
        {
            if (Properties.TryGetValue(name, out var list))
                foreach (var r in list)
                    if (r.Element.ValueKind == JsonValueKind.False) return true;
            foreach (var names in Closed)
                if (!names.Contains(name)) return true;
            return false;
        }
    }

    private void Summarize(SchemaRef r, ShapeSummary s, int depth)
    {
        var e = r.Element;
        if (e.ValueKind == JsonValueKind.False) { s.False = true; return; }
        if (e.ValueKind != JsonValueKind.Object || depth > MaxDisjointDepth) return;
        bool nullable = false;
        foreach (var (p, path) in AppliedKeywords(e, r.Path))
        {
            var v = p.Value;
            switch (p.Name)
            {
                case "$ref":
                    // Malformed references are reported by Collect; here they just give no information.
                    SchemaRef target;
                    try { target = Resolve(v, path); }
                    catch (GuidedSpecException) { break; }
                    Summarize(target, s, depth + 1);
                    break;
                case "allOf" when v.ValueKind == JsonValueKind.Array:
                    int i = 0;
                    foreach (var m in v.EnumerateArray()) Summarize(new SchemaRef(m, $"{path}/{i++}"), s, depth + 1);
                    break;
                case "type":
                    try { s.Types &= TypesOf(v, path); } catch (GuidedSpecException) { }
                    break;
                case "nullable":
                    nullable = v.ValueKind == JsonValueKind.True;
                    break;
                case "const":
                    s.IntersectEnum([ValueKey(v)]);
                    break;
                case "enum" when v.ValueKind == JsonValueKind.Array:
                    var keys = new HashSet<string>(StringComparer.Ordinal);
                    foreach (var x in v.EnumerateArray()) keys.Add(ValueKey(x));
                    s.IntersectEnum(keys);
                    break;
                case "required" when v.ValueKind == JsonValueKind.Array:
                    foreach (var n in v.EnumerateArray())
                        if (n.ValueKind == JsonValueKind.String) s.Required.Add(n.GetString()!);
                    break;
                case "properties" when v.ValueKind == JsonValueKind.Object:
                    foreach (var prop in v.EnumerateObject()) s.Property(prop.Name).Add(new SchemaRef(prop.Value, path + "/" + Escape(prop.Name)));
                    break;
                case "additionalProperties" when v.ValueKind == JsonValueKind.False:
                    if (e.TryGetProperty("patternProperties", out var pp) && pp.ValueKind == JsonValueKind.Object && pp.EnumerateObject().Any()) break;
                    var closed = new HashSet<string>(StringComparer.Ordinal);
                    if (e.TryGetProperty("properties", out var props) && props.ValueKind == JsonValueKind.Object)
                        foreach (var prop in props.EnumerateObject()) closed.Add(prop.Name);
                    s.Closed.Add(closed);
                    break;
            }
        }
        // OpenAPI nullable widens the schema it sits in; widening the merged summary keeps it an over-approximation.
        if (nullable)
        {
            s.Types |= JsonTypes.Null;
            s.Enum?.Add("null");
        }
    }

    /// <summary>True when no value can satisfy both summaries.</summary>
    private bool Disjoint(ShapeSummary a, ShapeSummary b, int depth)
    {
        var types = a.EffectiveTypes() & b.EffectiveTypes();
        if (types == JsonTypes.None) return true;
        if (a.Enum is not null && b.Enum is not null && !Overlaps(a.Enum, b.Enum)) return true;
        // Past enums, only objects are told apart (by their properties); any other shared type may overlap.
        if (types != JsonTypes.Object || depth >= MaxDisjointDepth) return false;
        return SeparatedBy(a, b, depth) || SeparatedBy(b, a, depth);
    }

    /// <summary>A name <paramref name="a"/> requires that <paramref name="b"/> forbids or constrains to other values.</summary>
    private bool SeparatedBy(ShapeSummary a, ShapeSummary b, int depth)
    {
        foreach (var name in a.Required)
        {
            if (b.Forbids(name)) return true;
            if (!a.Properties.TryGetValue(name, out var av) || !b.Properties.TryGetValue(name, out var bv)) continue;
            var sa = new ShapeSummary();
            foreach (var r in av) Summarize(r, sa, depth + 1);
            var sb = new ShapeSummary();
            foreach (var r in bv) Summarize(r, sb, depth + 1);
            if (Disjoint(sa, sb, depth + 1)) return true;
        }
        return false;
    }

    private static bool Overlaps(HashSet<string> a, HashSet<string> b)
    {
        // Arrays share one key and objects another, so structured members always count as overlapping.
        foreach (var x in a)
            if (b.Contains(x)) return true;
        return false;
    }

    /// <summary>
    /// A canonical key for an enum member: numbers by value (1 and 1.0 are equal in JSON Schema), strings and literals
    /// by text; arrays and objects share one key per type so they are never claimed distinct.
    /// </summary>
    private static string ValueKey(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.Null => "null",
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        JsonValueKind.String => "\"" + v.GetString(),
        JsonValueKind.Number => decimal.TryParse(v.GetRawText(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d)
            ? (d == Math.Floor(d) ? "i" : "d") + Canonical(d)
            : "d" + v.GetRawText(),
        JsonValueKind.Array => "sa",
        _ => "so",
    };

    private static string Canonical(decimal d)
    {
        var s = d.ToString(CultureInfo.InvariantCulture);
        return s.Contains('.', StringComparison.Ordinal) ? s.TrimEnd('0').TrimEnd('.') : s;
    }

    private static JsonTypes KeyType(string key) => key[0] switch
    {
        'n' => JsonTypes.Null,
        't' or 'f' => JsonTypes.Boolean,
        'i' => JsonTypes.Integer | JsonTypes.Fraction,
        'd' => JsonTypes.Fraction,
        '"' => JsonTypes.String,
        _ => key == "sa" ? JsonTypes.Array : JsonTypes.Object,
    };
}
