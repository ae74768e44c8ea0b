using System.Text;
using System.Text.Json.Nodes;
using CsCheck;
using Modular.Testing;
using Modular.Tokenization;

namespace Modular.Hardening.Tests.Fuzz;

/// <summary>
/// tokenizer.json loading on mutations of bard-2m's real tokenizer: a load either works (and the tokenizer then
/// encodes and decodes without throwing) or fails with <see cref="TokenizerLoadException"/> naming the file. No
/// case may allocate hundreds of megabytes (a vocabulary id must not size arrays unchecked).
/// </summary>
public sealed class TokenizerFuzzTests
{
    private static readonly string[] Probes = ["ROMEO: hello there", "  \t\n", "émoji 👩‍👩‍👧 ok", "<s></s><|endoftext|>", ""];

    private static void LoadAndUse(FuzzFiles files, byte[] tokenizerJson)
    {
        files.Write("tokenizer.json", tokenizerJson);
        long before = GC.GetAllocatedBytesForCurrentThread();
        try
        {
            var tok = HfTokenizer.FromDirectory(files.Root);
            foreach (var p in Probes)
            {
                var ids = tok.Encode(p);
                tok.Decode(ids);
            }
        }
        catch (TokenizerLoadException e)
        {
            Assert.Contains(files.Root, e.Message);
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 256L << 20, $"loading a {tokenizerJson.Length}-byte tokenizer.json allocated {allocated} bytes");
    }

    private static FuzzFiles CopyOfBard()
    {
        var files = new FuzzFiles();
        File.Copy(Path.Combine(Fixtures.BundledModel, "tokenizer_config.json"), Path.Combine(files.Root, "tokenizer_config.json"));
        return files;
    }

    /// <summary>Random structural edits: fields set to hostile values (huge ids, wrong types, bad merges, odd pre-tokenizers).</summary>
    [Fact]
    public void StructurallyMutated_OnlyTokenizerLoadException()
    {
        using var files = CopyOfBard();
        var original = JsonNode.Parse(File.ReadAllText(Path.Combine(Fixtures.BundledModel, "tokenizer.json")))!.AsObject();
        var vocabKeys = original["model"]!["vocab"]!.AsObject().Select(p => p.Key).Take(300).ToArray();
        var hostile = Gen.OneOf<JsonNode?>(
            Gen.OneOf(-1, 0, 5, 2047, 2048, int.MaxValue, 1 << 30).Select(i => (JsonNode?)JsonValue.Create(i)),
            Gen.Const<JsonNode?>((JsonNode?)null),
            Gen.OneOf("", "BPE", "WordPiece", "ByteLevel", "Split", "Sequence", "(", "[", "\\", "a b c", "Ġ Ġ").Select(s => (JsonNode?)JsonValue.Create(s)),
            Gen.Const<JsonNode?>(new JsonArray()),
            Gen.Const<JsonNode?>(new JsonObject()),
            Gen.Const<JsonNode?>(JsonValue.Create(1.5)),
            Gen.Const<JsonNode?>(JsonNode.Parse("{\"type\":\"Split\",\"pattern\":{\"Regex\":\"(\"},\"behavior\":\"Isolated\"}")),
            Gen.Const<JsonNode?>(JsonNode.Parse("[\"a\"]")),
            Gen.Const<JsonNode?>(JsonNode.Parse("[{\"id\":999999999,\"content\":\"x\",\"special\":true}]")));
        var target = Gen.OneOf(
            Gen.OneOf(vocabKeys).Select(k => "vocab:" + k),
            Gen.OneOf("model.type", "model.merges", "model.vocab", "model.byte_fallback", "model.unk_token", "model.ignore_merges",
                "pre_tokenizer", "normalizer", "decoder", "added_tokens", "post_processor", "merges0"));
        var gen = Gen.Select(target, hostile).Array[1, 4];
        FuzzBudget.Run(gen, edits =>
        {
            var doc = original.DeepClone().AsObject();
            foreach ((string where, JsonNode? value) in edits) Apply(doc, where, value?.DeepClone());
            LoadAndUse(files, Encoding.UTF8.GetBytes(doc.ToJsonString()));
        }, FuzzBudget.Seconds / 2, batch: 8);
    }

    private static void Apply(JsonObject doc, string where, JsonNode? value)
    {
        var model = doc["model"]!.AsObject();
        if (where.StartsWith("vocab:", StringComparison.Ordinal)) { if (model["vocab"] is JsonObject v) v[where[6..]] = value; }
        else if (where == "merges0") { if (model["merges"] is JsonArray m && m.Count > 0) m[0] = value; }
        else if (where.StartsWith("model.", StringComparison.Ordinal)) model[where[6..]] = value;
        else doc[where] = value;
    }

    /// <summary>Regression: a vocabulary or added-token id of int.MaxValue overflowed (or sized gigabyte arrays); negative added ids indexed out of range.</summary>
    [Theory]
    [InlineData("vocab", 2147483647)]
    [InlineData("vocab", 1 << 30)]
    [InlineData("added", 2147483647)]
    [InlineData("added", -3)]
    public void HostileTokenIds_AreTokenizerLoadExceptions(string where, int id)
    {
        using var files = CopyOfBard();
        var doc = JsonNode.Parse(File.ReadAllText(Path.Combine(Fixtures.BundledModel, "tokenizer.json")))!.AsObject();
        if (where == "vocab") doc["model"]!["vocab"]!.AsObject()["zz-hostile"] = id;
        else doc["added_tokens"]!.AsArray().Add(new JsonObject { ["id"] = id, ["content"] = "<hostile>", ["special"] = true });
        files.Write("tokenizer.json", Encoding.UTF8.GetBytes(doc.ToJsonString()));
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<TokenizerLoadException>(() => HfTokenizer.FromDirectory(files.Root));
        Assert.Contains(files.Root, e.Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 64L << 20);
    }

    /// <summary>Byte-level mutations anywhere in the file (mostly broken JSON, sometimes odd strings and numbers).</summary>
    [Fact]
    public void ByteMutated_OnlyTokenizerLoadException()
    {
        using var files = CopyOfBard();
        var original = File.ReadAllBytes(Path.Combine(Fixtures.BundledModel, "tokenizer.json"));
        FuzzBudget.Run(Gen.Select(Gen.Int, Gen.Int[1, 8]), t =>
            LoadAndUse(files, Mutator.Mutate(original, t.Item1, t.Item2, original.Length)), FuzzBudget.Seconds / 2, batch: 8);
    }
}
