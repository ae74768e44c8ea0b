using System.Globalization;
using System.Text;
using System.Text.Json;
using Modular.Abstractions;
using Modular.Plugins.Guided.Automata;
using Modular.Plugins.Guided.Lexing;

namespace Modular.Plugins.Guided.Json;

public sealed partial class SchemaCompiler
{
    /// <summary>Keywords that only annotate (or are containers handled elsewhere) and are skipped.</summary>
    private static readonly HashSet<string> Annotations =
    [
        "$schema", "$id", "id", "$comment", "$defs", "definitions", "title", "description", "default", "examples",
        "example", "deprecated", "readOnly", "writeOnly", "contentMediaType", "contentEncoding", "contentSchema",
        "$anchor", "discriminator", "xml", "externalDocs", "$vocabulary", "markdownDescription", "errorMessage",
    ];

    /// <summary>Validation keywords this decoder cannot enforce.</summary>
    private static readonly HashSet<string> Unsupported =
    [
        "minContains", "maxContains", "unevaluatedProperties",
        "unevaluatedItems", "$dynamicRef", "$recursiveRef", "$dynamicAnchor", "$recursiveAnchor",
    ];

    private void Collect(SchemaRef r, SchemaDraft d, HashSet<string> active, int depth)
    {
        var e = r.Element;
        if (e.ValueKind == JsonValueKind.True) return;
        if (e.ValueKind == JsonValueKind.False) { d.False = true; return; }
        if (e.ValueKind != JsonValueKind.Object) throw new GuidedSpecException($"schema at {r.Path} must be an object or a boolean, not {e.ValueKind}");
        if (depth > MaxDepth) throw new GuidedSpecException($"$ref/allOf chain deeper than {MaxDepth} at {r.Path}");
        if (!active.Add(r.Path)) throw new GuidedSpecException($"circular $ref/allOf without an intervening value at {r.Path}");
        // Draft-4 exclusiveMinimum/Maximum are booleans that modify minimum/maximum.
        bool exMin = e.TryGetProperty("exclusiveMinimum", out var xm) && xm.ValueKind == JsonValueKind.True;
        bool exMax = e.TryGetProperty("exclusiveMaximum", out var xM) && xM.ValueKind == JsonValueKind.True;
        foreach (var (p, path) in AppliedKeywords(e, r.Path))
        {
            var v = p.Value;
            switch (p.Name)
            {
                case "$ref":
                    Collect(Resolve(v, path), d, active, depth + 1);
                    break;
                case "allOf":
                    int i = 0;
                    foreach (var m in ArrayOf(v, path)) Collect(new SchemaRef(m, $"{path}/{i++}"), d, active, depth + 1);
                    break;
                case "oneOf":
                    d.Disjunctions.Add((path, OneOf(r, v, path)));
                    break;
                case "anyOf":
                    var alts = new List<SchemaRef>();
                    int k = 0;
                    foreach (var m in ArrayOf(v, path)) alts.Add(new SchemaRef(m, $"{path}/{k++}"));
                    if (alts.Count == 0) throw new GuidedSpecException($"'{p.Name}' at {path} is empty");
                    d.Disjunctions.Add((path, alts));
                    break;
                case "not":
                    if (v.ValueKind == JsonValueKind.Object && !v.EnumerateObject().Any() || v.ValueKind == JsonValueKind.True) d.False = true;
                    else if (v.ValueKind != JsonValueKind.False) Collect(Not(v, path), d, active, depth + 1);
                    break;
                case "if":
                    Collect(IfThenElse(e, r.Path), d, active, depth + 1);
                    break;
                case "then" or "else":
                    break; // applied with "if"; alone they have no effect
                case "type":
                    d.Types &= TypesOf(v, path);
                    break;
                case "nullable":
                    d.Nullable |= v.ValueKind == JsonValueKind.True;
                    break;
                case "enum":
                    IntersectEnum(d, ArrayOf(v, path).ToList(), path);
                    break;
                case "const":
                    IntersectEnum(d, [v], path);
                    break;
                case "pattern":
                    d.Patterns.Add((StringOf(v, path), path));
                    break;
                case NotPatternKeyword:
                    d.Patterns.Add((NotPatternMark + StringOf(v, path), path));
                    break;
                case "format":
                    if (v.ValueKind == JsonValueKind.String) d.Formats.Add((v.GetString()!, path));
                    break;
                case "minLength": d.MinLength = Math.Max(d.MinLength, IntOf(v, path)); break;
                case "maxLength": d.MaxLength = Math.Min(d.MaxLength, IntOf(v, path)); break;
                case "minimum": TightenLower(d, v, exMin, path); break;
                case "maximum": TightenUpper(d, v, exMax, path); break;
                case "exclusiveMinimum": if (v.ValueKind == JsonValueKind.Number) TightenLower(d, v, true, path); break;
                case "exclusiveMaximum": if (v.ValueKind == JsonValueKind.Number) TightenUpper(d, v, true, path); break;
                case "multipleOf":
                    var mv = DecimalOf(v, path);
                    if (d.MultipleOf is { } old && old.Value != mv)
                    {
                        // Two integer divisors: a multiple of both is a multiple of their least common multiple.
                        if (old.Value != Math.Floor(old.Value) || mv != Math.Floor(mv) || old.Value <= 0 || mv <= 0 || old.Value > 100_000 || mv > 100_000)
                            throw new GuidedSpecException($"unsupported keyword 'multipleOf' at {path}: two different multipleOf that are not both integers");
                        long a = (long)old.Value, b = (long)mv;
                        long lcm = a / Gcd(a, b) * b;
                        if (lcm > 100_000) throw new GuidedSpecException($"unsupported keyword 'multipleOf' at {path}: the common multiple of {a} and {b} is too large");
                        mv = lcm;
                    }
                    d.MultipleOf = (mv, path);
                    break;
                case NotMultipleKeyword:
                    d.NotMultipleOf.Add((DecimalOf(v, path), path));
                    break;
                case "properties":
                    foreach (var prop in ObjectOf(v, path)) d.AddProperty(prop.Name, new SchemaRef(prop.Value, path + "/" + Escape(prop.Name)));
                    break;
                case "required":
                    foreach (var n in ArrayOf(v, path)) { var s = StringOf(n, path); if (!d.Required.Contains(s)) d.Required.Add(s); }
                    break;
                case "additionalProperties":
                    if (v.ValueKind == JsonValueKind.False) d.AdditionalFalse = true;
                    else d.Additional.Add(new SchemaRef(v, path));
                    if (v.ValueKind != JsonValueKind.True && !(v.ValueKind == JsonValueKind.Object && !v.EnumerateObject().Any()))
                    {
                        var own = e.TryGetProperty("properties", out var op) && op.ValueKind == JsonValueKind.Object
                            ? op.EnumerateObject().Select(x => x.Name).ToHashSet() : new HashSet<string>();
                        var ownPatterns = e.TryGetProperty("patternProperties", out var opp) && opp.ValueKind == JsonValueKind.Object
                            ? opp.EnumerateObject().Select(x => x.Name).ToList() : new List<string>();
                        d.AdditionalScopes.Add((v.ValueKind == JsonValueKind.False ? null : new SchemaRef(v, path), own, ownPatterns, path));
                    }
                    break;
                case "patternProperties":
                    foreach (var pp in ObjectOf(v, path)) d.PatternProperties.Add((pp.Name, path, new SchemaRef(pp.Value, path + "/" + Escape(pp.Name))));
                    break;
                case "propertyNames":
                    d.PropertyNames.Add(new SchemaRef(v, path));
                    break;
                case SomePropertyKeyword:
                    if (v.ValueKind != JsonValueKind.Object || !v.TryGetProperty("names", out var wn) || !v.TryGetProperty("value", out var wv))
                        throw new GuidedSpecException($"{path} must have 'names' and 'value'");
                    d.Witnesses.Add((new SchemaRef(wn, path + "/names"), new SchemaRef(wv, path + "/value"), path));
                    break;
                case "minProperties": d.MinProperties = Math.Max(d.MinProperties, IntOf(v, path)); break;
                case "maxProperties": d.MaxProperties = Math.Min(d.MaxProperties, IntOf(v, path)); break;
                case "dependencies" or "dependentRequired" or "dependentSchemas":
                    foreach (var dep in ObjectOf(v, path))
                    {
                        string depPath = path + "/" + Escape(dep.Name);
                        if (dep.Value.ValueKind == JsonValueKind.Array && p.Name != "dependentSchemas")
                            d.Dependencies.Add((dep.Name, dep.Value.EnumerateArray().Select(x => StringOf(x, path)).ToArray()));
                        else if (dep.Value.ValueKind is JsonValueKind.Object or JsonValueKind.True or JsonValueKind.False && p.Name != "dependentRequired")
                            d.Disjunctions.Add((depPath, Dependency(dep.Name, depPath)));
                        else throw new GuidedSpecException($"'{p.Name}' at {depPath} must be {(p.Name == "dependentRequired" ? "an array of names" : "a schema")}");
                    }
                    break;
                case "items":
                    if (v.ValueKind == JsonValueKind.Array)
                    {
                        AddPrefix(d, v, path);
                        if (e.TryGetProperty("additionalItems", out var ai))
                        {
                            if (ai.ValueKind == JsonValueKind.False) d.ItemsFalse = true;
                            else d.Items.Add(new SchemaRef(ai, r.Path + "/additionalItems"));
                        }
                    }
                    else if (v.ValueKind == JsonValueKind.False) d.ItemsFalse = true;
                    else d.Items.Add(new SchemaRef(v, path));
                    break;
                case "prefixItems": AddPrefix(d, v, path); break;
                case "contains":
                    d.Contains.Add(new SchemaRef(v, path));
                    break;
                case "additionalItems": break; // handled with array-form items
                case "minItems": d.MinItems = Math.Max(d.MinItems, IntOf(v, path)); break;
                case "maxItems": d.MaxItems = Math.Min(d.MaxItems, IntOf(v, path)); break;
                case "uniqueItems":
                    if (v.ValueKind == JsonValueKind.True) throw new GuidedSpecException($"unsupported keyword 'uniqueItems' at {path}");
                    break;
                case "exclusiveMinimumDraft4": break;
                default:
                    if (Unsupported.Contains(p.Name)) throw new GuidedSpecException($"unsupported keyword '{p.Name}' at {path}");
                    // Annotations and unknown keywords do not constrain the value (JSON Schema ignores unknown keywords).
                    break;
            }
        }
        active.Remove(r.Path);
    }

    private static long Gcd(long a, long b) => b == 0 ? a : Gcd(b, a % b);

    private static void AddPrefix(SchemaDraft d, JsonElement v, string path)
    {
        int i = 0;
        foreach (var m in ArrayOf(v, path))
        {
            if (d.Prefix.Count <= i) d.Prefix.Add(new List<SchemaRef>());
            d.Prefix[i].Add(new SchemaRef(m, $"{path}/{i}"));
            i++;
        }
    }

    private static void IntersectEnum(SchemaDraft d, List<JsonElement> values, string path)
    {
        if (d.Enum is null) { d.Enum = values; d.EnumPath = path; return; }
        d.Enum = d.Enum.Where(a => values.Any(b => JsonText.Compact(a) == JsonText.Compact(b))).ToList();
    }

    private static void TightenLower(SchemaDraft d, JsonElement v, bool exclusive, string path)
    {
        var x = DecimalOf(v, path);
        if (d.Minimum is { } m && (m.Value > x || (m.Value == x && m.Exclusive))) return;
        d.Minimum = (x, x.ToString(CultureInfo.InvariantCulture), exclusive);
    }

    private static void TightenUpper(SchemaDraft d, JsonElement v, bool exclusive, string path)
    {
        var x = DecimalOf(v, path);
        if (d.Maximum is { } m && (m.Value < x || (m.Value == x && m.Exclusive))) return;
        d.Maximum = (x, x.ToString(CultureInfo.InvariantCulture), exclusive);
    }

    private static JsonTypes TypesOf(JsonElement v, string path)
    {
        if (v.ValueKind == JsonValueKind.Array)
        {
            var t = JsonTypes.None;
            foreach (var x in v.EnumerateArray()) t |= TypesOf(x, path);
            return t;
        }
        return StringOf(v, path) switch
        {
            "null" => JsonTypes.Null,
            "boolean" => JsonTypes.Boolean,
            "integer" => JsonTypes.Integer,
            "number" => JsonTypes.Integer | JsonTypes.Fraction,
            "string" => JsonTypes.String,
            "array" => JsonTypes.Array,
            "object" => JsonTypes.Object,
            "any" => JsonTypes.All,
            var s => throw new GuidedSpecException($"unknown type '{s}' at {path}"),
        };
    }

    private SchemaRef Resolve(JsonElement v, string path)
    {
        var refText = StringOf(v, path);
        if (!refText.StartsWith('#')) throw new GuidedSpecException($"unsupported keyword '$ref' at {path}: only local references (#/...) are supported, not '{refText}'");
        var pointer = Uri.UnescapeDataString(refText[1..]);
        if (pointer.Length > 0 && pointer[0] != '/') throw new GuidedSpecException($"unsupported keyword '$ref' at {path}: anchor references ('{refText}') are not supported");
        var cur = _root;
        foreach (var raw in pointer.Split('/').Skip(1))
        {
            var part = raw.Replace("~1", "/").Replace("~0", "~");
            if (cur.ValueKind == JsonValueKind.Object && cur.TryGetProperty(part, out var next)) cur = next;
            else if (cur.ValueKind == JsonValueKind.Array && int.TryParse(part, out int idx) && idx >= 0 && idx < cur.GetArrayLength()) cur = cur[idx];
            else throw new GuidedSpecException($"'$ref' at {path}: '{refText}' does not resolve");
        }
        return new SchemaRef(cur, "#" + pointer);
    }

    private ObjectShape? ObjectOf(SchemaDraft d, string path)
    {
        var names = d.Properties.Select(p => p.Name).ToList();
        var schemas = d.Properties.Select(p => new List<SchemaRef>(p.Schemas)).ToList();
        var patterns = d.PatternProperties.Select(pp => (pp.Pattern, pp.Path, pp.Schema, Dfa: PatternDfa(pp.Pattern, pp.Path))).ToList();
        // Names that must be present but are not declared get the schema other names would get.
        foreach (var n in d.Required.Concat(d.Dependencies.SelectMany(x => x.Needs.Append(x.Key))))
        {
            if (names.Contains(n)) continue;
            var bytes = Encoding.UTF8.GetBytes(n);
            var matching = patterns.Where(p => p.Dfa.Matches(bytes)).Select(p => p.Schema).ToList();
            if (matching.Count == 0 && d.AdditionalFalse)
            {
                if (d.Required.Contains(n)) return null; // required but forbidden: no object is valid
                continue;
            }
            names.Add(n);
            schemas.Add(matching.Count > 0 ? matching : d.Additional.Count > 0 ? [.. d.Additional] : []);
        }
        // A declared name that also matches a patternProperties pattern must satisfy both.
        for (int i = 0; i < names.Count; i++)
        {
            var bytes = Encoding.UTF8.GetBytes(names[i]);
            foreach (var p in patterns) if (p.Dfa.Matches(bytes)) schemas[i].Add(p.Schema);
        }
        // additionalProperties holds for the names its own schema object neither declares nor matches: a name that
        // only another allOf member declares is forbidden by this one's false, or must also match its schema.
        foreach (var scope in d.AdditionalScopes)
        {
            for (int k = patterns.Count - 1; k >= 0; k--)
            {
                if (scope.Patterns.Contains(patterns[k].Pattern)) continue;
                // additionalProperties: false with only declared names: a key matching another object's pattern is
                // allowed only when this object declares it, and declared names are members of their own already.
                if (scope.Schema is null && scope.Patterns.Count == 0) { patterns.RemoveAt(k); continue; }
                throw new GuidedSpecException($"unsupported keyword 'additionalProperties' at {scope.Path}: patternProperties at {patterns[k].Path} belong to another schema object");
            }
            for (int i = names.Count - 1; i >= 0; i--)
            {
                var bytes = Encoding.UTF8.GetBytes(names[i]);
                if (scope.Names.Contains(names[i]) || scope.Patterns.Any(p => PatternDfa(p, scope.Path).Matches(bytes))) continue;
                if (scope.Schema is { } extra) { schemas[i].Add(extra); continue; }
                if (d.Required.Contains(names[i])) return null; // required but forbidden: no object is valid
                names.RemoveAt(i);
                schemas.RemoveAt(i);
            }
        }
        var nameLex = new int[names.Count];
        var values = new SchemaNode[names.Count];
        var meaning = new Dictionary<int, int>();
        for (int i = 0; i < names.Count; i++)
        {
            nameLex[i] = _table.Literal(JsonStringDfa.Quote(names[i]));
            values[i] = schemas[i].Count == 0 ? Any : Build(schemas[i], "");
            meaning[nameLex[i]] = i;
        }
        var (nameCheck, nameKey, minLen, maxLen) = PropertyNameConstraint(d, path);

        var patternShapes = new List<(int, SchemaNode)>();
        for (int j = 0; j < patterns.Count; j++)
        {
            var p = patterns[j];
            // Declared names are not cut out of the language: the object frame lets a declared name win instead,
            // which keeps the key automata shared (and their token masks cached) across objects.
            int lex = StringLexeme([(p.Pattern, p.Path)], minLen, maxLen, nameKey, nameCheck);
            if (meaning.ContainsKey(lex)) continue;
            meaning[lex] = -(patternShapes.Count + 2);
            patternShapes.Add((lex, Build([p.Schema], "")));
        }
        int other = -1;
        SchemaNode? otherValue = null;
        if (!d.AdditionalFalse)
        {
            other = StringLexeme([], minLen, maxLen, nameKey, nameCheck);
            otherValue = d.Additional.Count > 0 ? Build([.. d.Additional], "") : Any;
            if (meaning.ContainsKey(other)) other = -1;
            else meaning[other] = -1;
        }
        var (witnesses, witnessValues) = WitnessesOf(d, names, schemas, patterns.Select(p => (p.Pattern, p.Path, p.Schema)).ToList(), patternShapes.Count, other >= 0, minLen, maxLen, nameKey, nameCheck, meaning);
        var deps = d.Dependencies.Select(x => (names.IndexOf(x.Key), x.Needs.Select(n => names.IndexOf(n)).Where(i => i >= 0).ToArray()))
            .Where(x => x.Item1 >= 0).ToArray();
        return new ObjectShape
        {
            Names = names.ToArray(), Values = values, NameLexemes = nameLex,
            Required = d.Required.Select(n => names.IndexOf(n)).Where(i => i >= 0).ToArray(),
            Patterns = patternShapes.ToArray(), OtherLexeme = other, OtherValue = otherValue,
            MinProperties = d.MinProperties, MaxProperties = d.MaxProperties, Dependencies = deps, Meaning = meaning,
            Witnesses = witnesses, WitnessValues = witnessValues,
        };
    }

    /// <summary>Largest number of witnesses one object may carry (each member may satisfy any subset of them).</summary>
    private const int MaxWitnesses = 4;

    /// <summary>
    /// The witnesses of an object: which declared names qualify, lexemes for qualifying pattern and other keys (sub-
    /// languages of those keys, so a witness never lets a key start that no key completes), and a value node for each
    /// (key meaning, set of witnesses) a member can satisfy at once.
    /// </summary>
    private (PropertyWitness[], Dictionary<(int, int), SchemaNode>) WitnessesOf(SchemaDraft d, List<string> names, List<List<SchemaRef>> schemas,
        List<(string Pattern, string Path, SchemaRef Schema)> patterns, int patternShapes, bool hasOther, int minLen, int maxLen, string nameKey,
        Func<ByteDfa>? nameCheck, Dictionary<int, int> meaning)
    {
        var values = new Dictionary<(int, int), SchemaNode>();
        if (d.Witnesses.Count == 0) return ([], values);
        if (d.Witnesses.Count > MaxWitnesses)
            throw new GuidedSpecException($"unsupported keyword 'not' at {d.Witnesses[MaxWitnesses].Path}: more than {MaxWitnesses} required members of one object ('patternProperties')");
        if (patternShapes != patterns.Count)
            throw new GuidedSpecException($"unsupported keyword 'not' at {d.Witnesses[0].Path}: a required member beside duplicate patternProperties ('patternProperties')");
        var result = new PropertyWitness[d.Witnesses.Count];
        for (int j = 0; j < result.Length; j++)
        {
            var (namesRef, _, path) = d.Witnesses[j];
            var dfa = NameDfa(namesRef.Element, namesRef.Path, 0);
            // Lexemes are shared by every schema of the vocabulary: the key names the language itself.
            string key = "w:" + DfaKey(dfa);
            var declared = names.Select(n => dfa.Matches(Encoding.UTF8.GetBytes(n))).ToArray();
            var pl = new int[patterns.Count];
            for (int k = 0; k < patterns.Count; k++)
            {
                var pk = patterns[k];
                pl[k] = StringLexeme([(pk.Pattern, pk.Path)], minLen, maxLen, nameKey + key, () => nameCheck is null ? dfa : DfaOps.Intersect(nameCheck(), dfa));
                if (meaning.ContainsKey(pl[k])) pl[k] = -1;
            }
            int ol = -1;
            if (hasOther)
            {
                ol = StringLexeme([], minLen, maxLen, nameKey + key, () => nameCheck is null ? dfa : DfaOps.Intersect(nameCheck(), dfa));
                if (meaning.ContainsKey(ol)) ol = -1;
            }
            result[j] = new PropertyWitness { Declared = declared, PatternLexemes = pl, OtherLexeme = ol };
        }
        // Value nodes for every (meaning, non-empty witness set) that some key can reach.
        int all = (1 << result.Length) - 1;
        for (int bits = 1; bits <= all; bits++)
        {
            var extra = Enumerable.Range(0, result.Length).Where(j => (bits & (1 << j)) != 0).Select(j => d.Witnesses[j].Value).ToList();
            bool Every(Func<PropertyWitness, bool> f) => Enumerable.Range(0, result.Length).Where(j => (bits & (1 << j)) != 0).All(j => f(result[j]));
            for (int i = 0; i < names.Count; i++)
                if (Every(w => w.Declared[i])) values[(i, bits)] = Build([.. schemas[i], .. extra], "");
            for (int k = 0; k < patterns.Count; k++)
                if (Every(w => w.PatternLexemes[k] >= 0)) values[(-(k + 2), bits)] = Build([patterns[k].Schema, .. extra], "");
            if (hasOther && Every(w => w.OtherLexeme >= 0)) values[(-1, bits)] = Build([.. d.Additional, .. extra], "");
        }
        return (result, values);
    }

    /// <summary>A digest of an automaton's table (equal tables, equal keys).</summary>
    private static string DfaKey(ByteDfa dfa)
    {
        var bytes = new byte[dfa.Next.Length * 4 + dfa.Accept.Length];
        Buffer.BlockCopy(dfa.Next, 0, bytes, 0, dfa.Next.Length * 4);
        for (int i = 0; i < dfa.Accept.Length; i++) bytes[dfa.Next.Length * 4 + i] = dfa.Accept[i] ? (byte)1 : (byte)0;
        return Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData(bytes));
    }

    /// <summary>
    /// The language of property names (decoded content) a schema accepts: names are strings, so only string keywords
    /// matter (pattern, format, const, enum, type), combined with not/allOf/anyOf/$ref by automaton complement,
    /// product and union. Length bounds and conditionals are refused.
    /// </summary>
    private ByteDfa NameDfa(JsonElement s, string path, int depth)
    {
        if (depth > MaxNegationDepth) throw new GuidedSpecException($"unsupported property-name schema at {path}: nested too deeply");
        if (s.ValueKind == JsonValueKind.True) return AnyContent();
        if (s.ValueKind == JsonValueKind.False) return DfaBuilder.Literals([]);
        if (s.ValueKind != JsonValueKind.Object) throw new GuidedSpecException($"schema at {path} must be an object or a boolean, not {s.ValueKind}");
        var c = AnyContent();
        foreach (var (p, kp) in AppliedKeywords(s, path))
        {
            var v = p.Value;
            switch (p.Name)
            {
                case "$ref":
                    var target = Resolve(v, kp);
                    c = DfaOps.Intersect(c, NameDfa(target.Element, target.Path, depth + 1));
                    break;
                case "not":
                    c = DfaOps.Intersect(c, NameDfa(v, kp, depth + 1), negateB: true);
                    break;
                case "allOf":
                {
                    int i = 0;
                    foreach (var m in ArrayOf(v, kp)) c = DfaOps.Intersect(c, NameDfa(m, $"{kp}/{i++}", depth + 1));
                    break;
                }
                case "anyOf":
                {
                    // A ∪ B = ¬(¬A ∩ ¬B): "none" collects the names no member accepts.
                    var none = AnyContent();
                    int i = 0;
                    foreach (var m in ArrayOf(v, kp)) none = DfaOps.Intersect(none, NameDfa(m, $"{kp}/{i++}", depth + 1), negateB: true);
                    c = DfaOps.Intersect(c, none, negateB: true);
                    break;
                }
                case "pattern":
                    c = DfaOps.Intersect(c, PatternDfa(StringOf(v, kp), kp));
                    break;
                case "format":
                    if (v.ValueKind == JsonValueKind.String && Formats.Pattern(v.GetString()!) is { } fp) c = DfaOps.Intersect(c, PatternDfa("^(?:" + fp + ")$", kp));
                    break;
                case "const":
                    c = DfaOps.Intersect(c, DfaBuilder.Literals(v.ValueKind == JsonValueKind.String ? [Encoding.UTF8.GetBytes(v.GetString()!)] : []));
                    break;
                case "enum":
                    c = DfaOps.Intersect(c, DfaBuilder.Literals(ArrayOf(v, kp).Where(x => x.ValueKind == JsonValueKind.String).Select(x => Encoding.UTF8.GetBytes(x.GetString()!))));
                    break;
                case "type":
                    if ((TypesOf(v, kp) & JsonTypes.String) == 0) return DfaBuilder.Literals([]);
                    break;
                case "minLength" or "maxLength" or "oneOf" or "if" or "then" or "else" or "dependentSchemas":
                    throw new GuidedSpecException($"unsupported keyword '{p.Name}' at {kp} in a property-name condition of a complement");
                default:
                    if (Unsupported.Contains(p.Name)) throw new GuidedSpecException($"unsupported keyword '{p.Name}' at {kp}");
                    break; // keywords for other types do not constrain a name (always a string)
            }
        }
        return c;
    }

    /// <summary>propertyNames as a content automaton for undeclared names (pattern, format, enum, lengths).</summary>
    private (Func<ByteDfa>? Check, string Key, int Min, int Max) PropertyNameConstraint(SchemaDraft d, string path)
    {
        if (d.PropertyNames.Count == 0) return (null, "", 0, int.MaxValue);
        var pd = new SchemaDraft();
        foreach (var r in d.PropertyNames) Collect(r, pd, new HashSet<string>(), 0);
        if (pd.Disjunctions.Count > 0) throw new GuidedSpecException($"unsupported keyword 'propertyNames' with anyOf/oneOf at {path}");
        var patterns = pd.Patterns.Concat(pd.Formats.Where(f => Formats.Pattern(f.Format) is not null)
            .Select(f => ("^(?:" + Formats.Pattern(f.Format) + ")$", f.Path))).ToList();
        var enumNames = pd.Enum?.Where(x => x.ValueKind == JsonValueKind.String).Select(x => x.GetString()!).ToList();
        string key = "pn:" + string.Join("\u0001", patterns.Select(p => p.Item1)) + "\u0002" + (enumNames is null ? "" : string.Join("\u0001", enumNames));
        ByteDfa Check()
        {
            var c = AnyContent();
            foreach (var (p, pp) in patterns) c = ApplyPattern(c, p, pp);
            if (enumNames is not null) c = DfaOps.Intersect(c, DfaBuilder.Literals(enumNames.Select(Encoding.UTF8.GetBytes)));
            return c;
        }
        return (Check, key, pd.MinLength, pd.MaxLength >= 100_000 ? int.MaxValue : pd.MaxLength);
    }

    private ArrayShape ArrayOf(SchemaDraft d)
    {
        var prefix = d.Prefix.Select(list => Build(list, "")).ToArray();
        SchemaNode? items = d.ItemsFalse ? null : d.Items.Count > 0 ? Build([.. d.Items], "") : Any;
        int max = d.MaxItems;
        if (items is null) max = Math.Min(max, prefix.Length);
        if (d.Contains.Count == 0) return new ArrayShape { Prefix = prefix, Items = items, MinItems = d.MinItems, MaxItems = max };
        // Each contains needs its own witness item (a bit in the array frame); one item may witness several at once,
        // so every non-empty set of them gets its item schema.
        if (d.Contains.Count > MaxWitnesses)
            throw new GuidedSpecException($"unsupported keyword 'contains' at {d.Contains[MaxWitnesses].Path}: more than {MaxWitnesses} contains on one array");
        var witnesses = new Dictionary<(int, int), SchemaNode>();
        for (int bits = 1; bits < 1 << d.Contains.Count; bits++)
        {
            var extra = Enumerable.Range(0, d.Contains.Count).Where(j => (bits & (1 << j)) != 0).Select(j => d.Contains[j]).ToList();
            for (int i = 0; i < d.Prefix.Count; i++) witnesses[(i, bits)] = Build([.. d.Prefix[i], .. extra], "");
            if (!d.ItemsFalse) witnesses[(-1, bits)] = Build([.. d.Items, .. extra], "");
        }
        return new ArrayShape
        {
            Prefix = prefix, Items = items, MinItems = d.MinItems, MaxItems = max,
            ContainsCount = d.Contains.Count, Witnesses = witnesses,
        };
    }

    private static string Escape(string name) => name.Replace("~", "~0").Replace("/", "~1");

    /// <summary>
    /// The keywords of schema object <paramref name="e"/> that apply, each with its JSON path: before draft 2019-09
    /// a $ref hides its siblings (only it is returned); later drafts apply them all.
    /// </summary>
    private IEnumerable<(JsonProperty Keyword, string Path)> AppliedKeywords(JsonElement e, string path)
    {
        bool refOnly = !_refWithSiblings && e.TryGetProperty("$ref", out _);
        foreach (var p in e.EnumerateObject())
            if (!refOnly || p.Name == "$ref") yield return (p, path + "/" + Escape(p.Name));
    }

    private static IEnumerable<JsonElement> ArrayOf(JsonElement v, string path) =>
        v.ValueKind == JsonValueKind.Array ? v.EnumerateArray() : throw new GuidedSpecException($"{path} must be an array");

    private static IEnumerable<JsonProperty> ObjectOf(JsonElement v, string path) =>
        v.ValueKind == JsonValueKind.Object ? v.EnumerateObject() : throw new GuidedSpecException($"{path} must be an object");

    private static string StringOf(JsonElement v, string path) =>
        v.ValueKind == JsonValueKind.String ? v.GetString()! : throw new GuidedSpecException($"{path} must be a string");

    private static int IntOf(JsonElement v, string path)
    {
        if (v.ValueKind == JsonValueKind.Number && v.TryGetDecimal(out var d) && d >= 0 && d == Math.Floor(d))
            return d > int.MaxValue ? int.MaxValue : (int)d;
        throw new GuidedSpecException($"{path} must be a non-negative integer");
    }

    private static decimal DecimalOf(JsonElement v, string path)
    {
        if (v.ValueKind == JsonValueKind.Number && decimal.TryParse(v.GetRawText(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d)) return d;
        if (v.ValueKind == JsonValueKind.Number) return v.GetDouble() > 0 ? decimal.MaxValue : decimal.MinValue;
        throw new GuidedSpecException($"{path} must be a number");
    }
}
