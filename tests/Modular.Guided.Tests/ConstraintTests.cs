using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Primitives;
using Modular.Abstractions;
using Modular.Plugins.Guided;

namespace Modular.Guided.Tests;

/// <summary>Constraint kinds, JSON Schema keywords and mask/Accept agreement on a small vocabulary.</summary>
public sealed class ConstraintTests
{
    private readonly TestVocab _vocab = new();
    private readonly GuidedDecoder _decoder = new();

    private bool Schema(string schema, string text) => Drive.Matches(_decoder, new GuidedSpec(GuidedKind.JsonSchema, schema), _vocab, text);

    [Theory]
    [InlineData("{\"name\":\"ab\",\"age\":30}", true)]
    [InlineData("{\"age\":30,\"name\":\"ab\"}", true)]
    [InlineData("{\"name\":\"ab\"}", false)]
    [InlineData("{\"name\":\"ab\",\"age\":30,\"age\":31}", false)]
    [InlineData("{\"name\":\"ab\",\"age\":\"30\"}", false)]
    [InlineData("{\"name\":\"ab\",\"age\":30,\"x\":1}", false)]
    [InlineData("{\"name\":\"abcdef\",\"age\":30}", false)]
    [InlineData("{\"name\":\"a\",\"age\":30}", false)]
    [InlineData("{\"name\":\"ab\",\"age\":151}", false)]
    [InlineData("{\"name\":\"ab\",\"age\":-1}", false)]
    public void ObjectWithRequiredBoundsAndNoExtras(string text, bool expected)
    {
        const string schema = "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\",\"minLength\":2,\"maxLength\":4}," +
            "\"age\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":150}},\"required\":[\"name\",\"age\"],\"additionalProperties\":false}";
        Assert.Equal(expected, Schema(schema, text));
    }

    [Theory]
    [InlineData("{\"tags\":[\"a\",\"b\"]}", true)]
    [InlineData("{\"tags\":[]}", false)]
    [InlineData("{\"tags\":[\"a\",\"b\",\"c\",\"d\"]}", false)]
    [InlineData("{\"tags\":[\"a\",1]}", false)]
    [InlineData("{\"other\":{\"x\":[1,{\"y\":null}]}}", true)]
    public void ArraysAndAdditionalPropertiesDefaultToAnything(string text, bool expected) =>
        Assert.Equal(expected, Schema("{\"properties\":{\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},\"minItems\":1,\"maxItems\":3}}}", text));

    [Theory]
    [InlineData("\"2024-02-29\"", true)]
    [InlineData("\"2024-13-01\"", false)]
    [InlineData("12.5", true)]
    [InlineData("null", true)]
    [InlineData("true", false)]
    public void AnyOfWithFormatsNumbersAndNull(string text, bool expected) =>
        Assert.Equal(expected, Schema("{\"anyOf\":[{\"type\":\"string\",\"format\":\"date\"},{\"type\":[\"number\",\"null\"]}]}", text));

    [Theory]
    [InlineData("{\"value\":1,\"next\":{\"value\":2,\"next\":{\"value\":3}}}", true)]
    [InlineData("{\"value\":1,\"next\":{\"next\":{\"value\":3}}}", false)]
    public void RecursiveRefsWork(string text, bool expected) =>
        Assert.Equal(expected, Schema("{\"$defs\":{\"node\":{\"type\":\"object\",\"properties\":{\"value\":{\"type\":\"integer\"},\"next\":{\"$ref\":\"#/$defs/node\"}},\"required\":[\"value\"]}},\"$ref\":\"#/$defs/node\"}", text));

    [Theory]
    [InlineData("\"red\"", true)]
    [InlineData("\"blue\"", false)]
    [InlineData("{\"a\":1}", true)]
    [InlineData("\"ab-12\"", false)]
    public void EnumConstAndPattern(string text, bool expected) =>
        Assert.Equal(expected, Schema("{\"anyOf\":[{\"enum\":[\"red\",\"green\"]},{\"const\":{\"a\":1}},{\"type\":\"string\",\"pattern\":\"^[a-z]+-[0-9]{3}$\"}]}", text));

    [Fact]
    public void PatternPropertiesAndAllOfMerge()
    {
        const string schema = "{\"allOf\":[{\"type\":\"object\",\"patternProperties\":{\"^x-\":{\"type\":\"integer\"}},\"additionalProperties\":false},{\"required\":[\"x-a\"]}]}";
        Assert.True(Schema(schema, "{\"x-a\":1,\"x-b\":2}"));
        Assert.False(Schema(schema, "{\"x-b\":2}"));
        Assert.False(Schema(schema, "{\"x-a\":\"s\"}"));
        Assert.False(Schema(schema, "{\"x-a\":1,\"y\":2}"));
    }

    [Fact]
    public void JsonObjectAcceptsAnyObjectOnly()
    {
        var spec = new GuidedSpec(GuidedKind.JsonObject, "");
        Assert.True(Drive.Matches(_decoder, spec, _vocab, "{\"a\":[1,2.5e3,{\"b\":null}],\"c\":\"\\n\\u0001\"}"));
        Assert.False(Drive.Matches(_decoder, spec, _vocab, "[1]"));
        Assert.False(Drive.Matches(_decoder, spec, _vocab, "{\"a\":01}"));
    }

    [Fact]
    public void WhitespaceIsBoundedBySetting()
    {
        var loose = new GuidedDecoder(new GuidedOptions { MaxWhitespace = 2 });
        var spec = new GuidedSpec(GuidedKind.JsonObject, "");
        Assert.True(Drive.Matches(loose, spec, _vocab, "{ \"a\":  1}"));
        Assert.False(Drive.Matches(loose, spec, _vocab, "{   \"a\":1}"));
        Assert.False(Drive.Matches(_decoder, spec, _vocab, "{ \"a\":1}"));
    }

    [Fact]
    public void RegexIsLinearOnCatastrophicPatterns()
    {
        var sw = Stopwatch.StartNew();
        var spec = new GuidedSpec(GuidedKind.Regex, "(a+)+$");
        var m = _decoder.Create(spec, _vocab);
        var mask = new ulong[(_vocab.Count + 63) / 64];
        for (int i = 0; i < 20_000; i++) Assert.True(m.Accept(_vocab.Id("aaaa")));
        m.FillMask(mask);
        Assert.True(m.IsComplete);
        Assert.False(m.Accept(_vocab.Id("b")));
        Assert.True(sw.Elapsed.TotalSeconds < 5, $"took {sw.Elapsed}");
        Assert.True(Drive.Matches(_decoder, new GuidedSpec(GuidedKind.Regex, "\\d{3}-[a-c]+|x?y"), _vocab, "123-abca"));
        Assert.False(Drive.Matches(_decoder, new GuidedSpec(GuidedKind.Regex, "\\d{3}-[a-c]+|x?y"), _vocab, "12-a"));
    }

    [Fact]
    public void ChoiceAllowsExactlyTheListedStrings()
    {
        var spec = new GuidedSpec(GuidedKind.Choice, "[\"yes\",\"yesterday\",\"no\"]");
        Assert.True(Drive.Matches(_decoder, spec, _vocab, "yes"));
        Assert.True(Drive.Matches(_decoder, spec, _vocab, "yesterday"));
        Assert.False(Drive.Matches(_decoder, spec, _vocab, "ye"));
        Assert.False(Drive.Matches(_decoder, spec, _vocab, "nope"));
        var e = Assert.Throws<GuidedSpecException>(() => _decoder.Create(new GuidedSpec(GuidedKind.Choice, "[]"), _vocab));
        Assert.Contains("empty", e.Message);
    }

    [Fact]
    public void GbnfGrammar()
    {
        const string g = "root ::= greeting (\" \" name)? \"!\"\n# names\ngreeting ::= \"hi\" | \"hello\"\nname ::= [A-Z] [a-z]*\n";
        var spec = new GuidedSpec(GuidedKind.Grammar, g);
        Assert.True(Drive.Matches(_decoder, spec, _vocab, "hello Bob!"));
        Assert.True(Drive.Matches(_decoder, spec, _vocab, "hi!"));
        Assert.False(Drive.Matches(_decoder, spec, _vocab, "hi bob!"));
        Assert.False(Drive.Matches(_decoder, spec, _vocab, "hello Bob"));
        Assert.Throws<GuidedSpecException>(() => _decoder.Create(new GuidedSpec(GuidedKind.Grammar, "expr ::= \"a\""), _vocab));
        var left = Assert.Throws<GuidedSpecException>(() => _decoder.Create(new GuidedSpec(GuidedKind.Grammar, "root ::= root \"a\" | \"b\""), _vocab));
        Assert.Contains("left-recursive", left.Message);
    }

    [Fact]
    public void MultiByteTokensAreCheckedLikeBytes()
    {
        const string schema = "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"}},\"required\":[\"name\"],\"additionalProperties\":false}";
        var m = _decoder.Create(new GuidedSpec(GuidedKind.JsonSchema, schema), _vocab);
        var mask = new ulong[(_vocab.Count + 63) / 64];
        m.FillMask(mask);
        Assert.True(Bit(mask, _vocab.Id("{\"")));
        Assert.False(Bit(mask, _vocab.Id("true")));
        Assert.False(Bit(mask, _vocab.Eos));
        Assert.True(m.Accept(_vocab.Id("{\"")));
        Assert.True(m.Accept(_vocab.Id("name")));
        m.FillMask(mask);
        Assert.True(Bit(mask, _vocab.Id("\":\"")));
        Assert.True(m.Accept(_vocab.Id("\":\"")));
        Assert.True(m.Accept(_vocab.Id("abc")));
        m.FillMask(mask);
        Assert.True(Bit(mask, _vocab.Id("\"}")));
        Assert.False(Bit(mask, _vocab.Id("\",\""))); // no other key allowed
        Assert.True(m.Accept(_vocab.Id("\"}")));
        Assert.True(m.IsComplete && m.IsTerminated);
        m.FillMask(mask);
        Assert.True(Bit(mask, _vocab.Eos));
    }

    private static bool Bit(ulong[] mask, int id) => (mask[id >> 6] & (1UL << (id & 63))) != 0;

    [Fact]
    public void PluginRegistersTheDecoder()
    {
        var plugin = new GuidedPlugin();
        Assert.Equal("guided", plugin.Name);
        var services = new ServiceCollection();
        plugin.Register(services, new EmptyConfiguration());
        Assert.Contains(services, d => d.ServiceType == typeof(IGuidedDecoder));
    }

    private sealed class EmptyConfiguration : IConfiguration
    {
        public string? this[string key] { get => null; set { } }
        public IEnumerable<IConfigurationSection> GetChildren() => [];
        public IChangeToken GetReloadToken() => throw new NotSupportedException();
        public IConfigurationSection GetSection(string key) => throw new NotSupportedException();
    }
}
