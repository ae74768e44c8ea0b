using System.Text;
using System.Text.Json.Nodes;
using CsCheck;
using Modular.Models.Loading;
using Modular.Testing;

namespace Modular.Hardening.Tests.Fuzz;

/// <summary>config.json and the sharded-checkpoint index: every hostile value is a <see cref="ModelFileException"/> naming the file.</summary>
public sealed class ModelConfigFuzzTests
{
    private static readonly string[] Keys =
    [
        "model_type", "architectures", "hidden_size", "num_attention_heads", "num_key_value_heads", "head_dim",
        "num_hidden_layers", "vocab_size", "intermediate_size", "hidden_act", "rope_theta", "rope_scaling",
        "rope_parameters", "sliding_window", "layer_types", "use_sliding_window", "max_window_layers", "torch_dtype",
        "dtype", "eos_token_id", "bos_token_id", "rms_norm_eps", "max_position_embeddings", "tie_word_embeddings",
        "quantization_config", "num_local_experts", "num_experts_per_tok", "partial_rotary_factor", "auto_map",
        "attention_bias", "mlp_bias",
    ];

    private static Gen<JsonNode?> Value(int depth)
    {
        var leaf = Gen.OneOf<JsonNode?>(
            Gen.Int.Select(i => (JsonNode?)JsonValue.Create(i)),
            Gen.Int[-4, 64].Select(i => (JsonNode?)JsonValue.Create(i)),
            Gen.Double.Select(d => double.IsFinite(d) ? (JsonNode?)JsonValue.Create(d) : JsonValue.Create(0.5)),
            Gen.Const<JsonNode?>((JsonNode?)null),
            Gen.Bool.Select(b => (JsonNode?)JsonValue.Create(b)),
            Gen.OneOf("llama", "mistral", "qwen2", "qwen3", "gemma", "mixtral", "phi3", "silu", "gelu", "yarn", "llama3",
                "sliding_attention", "LlamaForCausalLM", "bfloat16", "float32", "", "\u0000").Select(s => (JsonNode?)JsonValue.Create(s)));
        if (depth == 0) return leaf;
        var inner = Value(depth - 1);
        return Gen.Frequency(
            (6, (IGen<JsonNode?>)leaf),
            (1, (IGen<JsonNode?>)inner.Array[0, 4].Select(a => (JsonNode?)new JsonArray(a.Select(x => x?.DeepClone()).ToArray()))),
            (1, (IGen<JsonNode?>)Gen.Select(Gen.OneOf(Keys), inner).Array[0, 4].Select(kv =>
            {
                var o = new JsonObject();
                foreach ((string k, JsonNode? v) in kv) o[k] = v?.DeepClone();
                return (JsonNode?)o;
            })));
    }

    /// <summary>The bundled config with random fields replaced by random values.</summary>
    [Fact]
    public void MutatedConfig_OnlyModelFileException()
    {
        var baseText = File.ReadAllText(Path.Combine(Fixtures.BundledModel, "config.json"));
        var gen = Gen.Select(Gen.OneOf(Keys), Value(2)).Array[1, 5];
        FuzzBudget.Run(gen, edits =>
        {
            var obj = JsonNode.Parse(baseText)!.AsObject();
            foreach ((string k, JsonNode? v) in edits) obj[k] = v?.DeepClone();
            Parse(obj.ToJsonString());
        }, FuzzBudget.Seconds / 2);
    }

    /// <summary>Byte-mutated config text (broken JSON, odd numbers).</summary>
    [Fact]
    public void ByteMutatedConfig_OnlyModelFileException()
    {
        var original = File.ReadAllBytes(Path.Combine(Fixtures.BundledModel, "config.json"));
        FuzzBudget.Run(Gen.Select(Gen.Int, Gen.Int[1, 8]), t =>
            Parse(Encoding.UTF8.GetString(Mutator.Mutate(original, t.Item1, t.Item2, original.Length))), FuzzBudget.Seconds / 2);
    }

    private static void Parse(string json)
    {
        try { ModelConfig.Parse(json, "fuzz/config.json"); }
        catch (ModelFileException e) { Assert.StartsWith("fuzz/config.json", e.Message); }
    }

    /// <summary>Regression: a non-string entry in <c>architectures</c> was an InvalidOperationException, not a ModelFileException.</summary>
    [Theory]
    [InlineData("\"architectures\": [1]")]
    [InlineData("\"num_attention_heads\": 0")]
    [InlineData("\"architectures\": [null]")]
    [InlineData("\"sliding_window\": 4, \"layer_types\": [1, 2]")]
    public void NonStringArrayEntries_AreModelFileExceptions(string field)
    {
        var json = $"{{\"model_type\":\"llama\",\"hidden_size\":8,\"num_attention_heads\":2,\"num_hidden_layers\":2,\"vocab_size\":16,\"intermediate_size\":8,{field}}}";
        var e = Assert.Throws<ModelFileException>(() => ModelConfig.Parse(json, "fuzz/config.json"));
        Assert.StartsWith("fuzz/config.json", e.Message);
    }

    /// <summary>Regression: num_hidden_layers of int.MaxValue sized an array before any check (OutOfMemoryException).</summary>
    [Fact]
    public void ImplausibleLayerCount_IsModelFileException()
    {
        var json = "{\"model_type\":\"llama\",\"hidden_size\":8,\"num_attention_heads\":2,\"num_hidden_layers\":2147483647,\"vocab_size\":16,\"intermediate_size\":8}";
        var e = Assert.Throws<ModelFileException>(() => ModelConfig.Parse(json, "fuzz/config.json"));
        Assert.Contains("num_hidden_layers 2147483647 exceeds the limit", e.Message);
    }

    /// <summary>Regression: a sharded index whose weight_map value is not a string failed with InvalidOperationException.</summary>
    [Theory]
    [InlineData("{\"weight_map\":{\"a\":1}}")]
    [InlineData("{\"weight_map\":{\"a\":\"../../etc/passwd\"}}")]
    [InlineData("{\"weight_map\":{\"a\":\"/abs.safetensors\"}}")]
    [InlineData("[]")]
    [InlineData("{\"weight_map\":{\"a\":\"missing.safetensors\"}}")]
    public void HostileShardIndex_IsModelFileException(string index)
    {
        using var files = new FuzzFiles();
        files.WriteText("model.safetensors.index.json", index);
        var e = Assert.Throws<ModelFileException>(() => Checkpoint.Open(files.Root));
        Assert.Contains(files.Root, e.Message);
    }
}
