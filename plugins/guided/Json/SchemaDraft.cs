using System.Text.Json;

namespace Modular.Plugins.Guided.Json;

/// <summary>A schema location: the element and its JSON pointer (for $ref memoization and messages).</summary>
public readonly record struct SchemaRef(JsonElement Element, string Path);

/// <summary>JSON types as bits.</summary>
[Flags]
public enum JsonTypes
{
    /// <summary>No type.</summary>
    None = 0,
    /// <summary>null</summary>
    Null = 1,
    /// <summary>true/false</summary>
    Boolean = 2,
    /// <summary>integer</summary>
    Integer = 4,
    /// <summary>number (non-integers; "number" sets both bits)</summary>
    Fraction = 8,
    /// <summary>string</summary>
    String = 16,
    /// <summary>array</summary>
    Array = 32,
    /// <summary>object</summary>
    Object = 64,
    /// <summary>Everything.</summary>
    All = 127,
}

/// <summary>
/// The keywords of several schemas that all apply to one value (a schema, its $ref targets and allOf members),
/// merged into one set of constraints. Disjunctions (anyOf/oneOf) are kept aside and distributed by the compiler.
/// </summary>
public sealed class SchemaDraft
{
    /// <summary>Nothing is valid.</summary>
    public bool False;
    /// <summary>Allowed types.</summary>
    public JsonTypes Types = JsonTypes.All;
    /// <summary>OpenAPI nullable.</summary>
    public bool Nullable;
    /// <summary>enum/const values (intersection), or null.</summary>
    public List<JsonElement>? Enum;
    /// <summary>Where enum/const came from.</summary>
    public string EnumPath = "";
    /// <summary>pattern keywords (search semantics) with their paths.</summary>
    public readonly List<(string Pattern, string Path)> Patterns = new();
    /// <summary>Enforced format names with their paths.</summary>
    public readonly List<(string Format, string Path)> Formats = new();
    /// <summary>minLength.</summary>
    public int MinLength;
    /// <summary>maxLength.</summary>
    public int MaxLength = int.MaxValue;
    /// <summary>Lower bound text and exclusivity.</summary>
    public (decimal Value, string Text, bool Exclusive)? Minimum;
    /// <summary>Upper bound text and exclusivity.</summary>
    public (decimal Value, string Text, bool Exclusive)? Maximum;
    /// <summary>multipleOf and its path.</summary>
    public (decimal Value, string Path)? MultipleOf;
    /// <summary>Divisors the value must not be a multiple of (negated multipleOf), with their paths.</summary>
    public readonly List<(decimal Value, string Path)> NotMultipleOf = new();
    /// <summary>Declared properties in order, each with the schemas that apply.</summary>
    public readonly List<(string Name, List<SchemaRef> Schemas)> Properties = new();
    /// <summary>required names in order.</summary>
    public readonly List<string> Required = new();
    /// <summary>additionalProperties schemas.</summary>
    public readonly List<SchemaRef> Additional = new();
    /// <summary>additionalProperties: false somewhere.</summary>
    public bool AdditionalFalse;
    /// <summary>
    /// Each additionalProperties with the names and patterns of its own schema object (null schema: false): with
    /// allOf members merged, a name another member declares is still "additional" to this one.
    /// </summary>
    public readonly List<(SchemaRef? Schema, HashSet<string> Names, List<string> Patterns, string Path)> AdditionalScopes = new();
    /// <summary>patternProperties.</summary>
    public readonly List<(string Pattern, string Path, SchemaRef Schema)> PatternProperties = new();
    /// <summary>"Some member has a name matching Names and a value matching Value" requirements (from complements).</summary>
    public readonly List<(SchemaRef Names, SchemaRef Value, string Path)> Witnesses = new();
    /// <summary>propertyNames schemas.</summary>
    public readonly List<SchemaRef> PropertyNames = new();
    /// <summary>minProperties.</summary>
    public int MinProperties;
    /// <summary>maxProperties.</summary>
    public int MaxProperties = int.MaxValue;
    /// <summary>Property dependencies (array form).</summary>
    public readonly List<(string Key, string[] Needs)> Dependencies = new();
    /// <summary>Schemas for items past the prefix.</summary>
    public readonly List<SchemaRef> Items = new();
    /// <summary>No items past the prefix.</summary>
    public bool ItemsFalse;
    /// <summary>Tuple positions.</summary>
    public readonly List<List<SchemaRef>> Prefix = new();
    /// <summary>contains schemas (at most one is supported).</summary>
    public readonly List<SchemaRef> Contains = new();
    /// <summary>minItems.</summary>
    public int MinItems;
    /// <summary>maxItems.</summary>
    public int MaxItems = int.MaxValue;
    /// <summary>anyOf/oneOf groups: (group path, alternatives).</summary>
    public readonly List<(string Path, List<SchemaRef> Alternatives)> Disjunctions = new();

    /// <summary>Adds a property schema, merging with an earlier declaration of the same name.</summary>
    public void AddProperty(string name, SchemaRef schema)
    {
        foreach (var (n, list) in Properties)
            if (n == name) { list.Add(schema); return; }
        Properties.Add((name, [schema]));
    }
}
