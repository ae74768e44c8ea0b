namespace Modular.Plugins.Guided.Json;

/// <summary>A compiled JSON Schema (sub)schema: what a JSON value at this position may be.</summary>
public sealed class SchemaNode
{
    /// <summary>JSON pointer of the schema this node came from (for messages).</summary>
    public required string Path { get; init; }
    /// <summary>When set, the value must match one of these (anyOf/oneOf, type unions with shapes); other fields unused.</summary>
    public SchemaNode[]? AnyOf { get; set; }
    /// <summary>Lexemes that are a whole value (strings, numbers, literals, enum members).</summary>
    public int[] Scalars { get; set; } = [];
    /// <summary>Object shape when objects are allowed.</summary>
    public ObjectShape? Object { get; set; }
    /// <summary>Array shape when arrays are allowed.</summary>
    public ArrayShape? Array { get; set; }
}

/// <summary>What an object's members may be.</summary>
public sealed class ObjectShape
{
    /// <summary>Declared property names (schema order; required names not declared are added).</summary>
    public required string[] Names { get; init; }
    /// <summary>Schema of each declared property.</summary>
    public required SchemaNode[] Values { get; init; }
    /// <summary>Key lexeme of each declared property.</summary>
    public required int[] NameLexemes { get; init; }
    /// <summary>Indexes of required properties.</summary>
    public required int[] Required { get; init; }
    /// <summary>Key lexemes matching patternProperties (not declared names), with their value schemas.</summary>
    public required (int Lexeme, SchemaNode Value)[] Patterns { get; init; }
    /// <summary>Key lexeme for other names (-1 when additionalProperties is false).</summary>
    public int OtherLexeme { get; init; } = -1;
    /// <summary>Schema of other properties.</summary>
    public SchemaNode? OtherValue { get; init; }
    /// <summary>minProperties.</summary>
    public int MinProperties { get; init; }
    /// <summary>maxProperties.</summary>
    public int MaxProperties { get; init; } = int.MaxValue;
    /// <summary>Property dependencies: when Names[Key] is present, all of Needs must be too.</summary>
    public (int Key, int[] Needs)[] Dependencies { get; init; } = [];
    /// <summary>Key lexeme → meaning: declared index ≥ 0, pattern -(j+2), other -1.</summary>
    public required Dictionary<int, int> Meaning { get; init; }
    /// <summary>"Some member must have a name in N and a value in V" requirements (from complements), one bit each.</summary>
    public PropertyWitness[] Witnesses { get; init; } = [];
    /// <summary>
    /// Value schemas of a member that satisfies a set of witnesses: by (meaning, witness bits), the member's own
    /// schema and each witness's value schema together.
    /// </summary>
    public Dictionary<(int Meaning, int Bits), SchemaNode> WitnessValues { get; init; } = new();
    /// <summary>All witness bits.</summary>
    public int AllWitnesses => (1 << Witnesses.Length) - 1;
}

/// <summary>One "some member has a name in N and a value in V" requirement of an object.</summary>
public sealed class PropertyWitness
{
    /// <summary>Per declared name: whether the name is in N.</summary>
    public required bool[] Declared { get; init; }
    /// <summary>Per pattern key: the lexeme of names matching that pattern and in N, or -1.</summary>
    public required int[] PatternLexemes { get; init; }
    /// <summary>Lexeme of other names in N, or -1.</summary>
    public int OtherLexeme { get; init; } = -1;
}

/// <summary>What an array's items may be.</summary>
public sealed class ArrayShape
{
    /// <summary>prefixItems (tuple positions).</summary>
    public required SchemaNode[] Prefix { get; init; }
    /// <summary>Schema of later items, or null when no more are allowed.</summary>
    public SchemaNode? Items { get; init; }
    /// <summary>minItems.</summary>
    public int MinItems { get; init; }
    /// <summary>maxItems.</summary>
    public int MaxItems { get; init; } = int.MaxValue;

    /// <summary>Schema of item <paramref name="index"/>, or null when not allowed.</summary>
    public SchemaNode? Item(int index) => index < Prefix.Length ? Prefix[index] : Items;

    /// <summary>Number of contains schemas: each needs some item that also matches it (one bit each).</summary>
    public int ContainsCount { get; init; }
    /// <summary>
    /// Item schemas of an item that satisfies a set of contains schemas: by (tuple position, or -1 for later items;
    /// contains bits), the item's own schema and those contains schemas together.
    /// </summary>
    public Dictionary<(int Position, int Bits), SchemaNode> Witnesses { get; init; } = new();
    /// <summary>All contains bits.</summary>
    public int AllContains => (1 << ContainsCount) - 1;

    /// <summary>Schema of item <paramref name="index"/> when it satisfies the contains schemas in <paramref name="bits"/>, or null.</summary>
    public SchemaNode? Witness(int index, int bits) =>
        Witnesses.TryGetValue((index < Prefix.Length ? index : -1, bits), out var node) ? node : null;
}
