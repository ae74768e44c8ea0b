using System.Text.Json.Nodes;
using Modular.Models.Loading;
using Modular.Testing;

namespace Modular.Models.Tests;

/// <summary>config.json in both conventions; unsupported fields refused by name.</summary>
public class ModelConfigTests
{
    private static ModelConfig LoadWith(Action<JsonObject> edit)
    {
        var cfg = JsonNode.Parse(File.ReadAllText(Path.Combine(Fixtures.BundledModel, "config.json")))!.AsObject();
        edit(cfg);
        var dir = Directory.CreateTempSubdirectory("cfg-").FullName;
        File.WriteAllText(Path.Combine(dir, "config.json"), cfg.ToJsonString());
        try { return ModelConfig.Load(dir); }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void NewAndOldConventionsAgree()
    {
        var modern = LoadWith(_ => { });
        var old = LoadWith(c =>
        {
            c.Remove("rope_parameters"); c["rope_theta"] = 10000.0;
            c.Remove("dtype"); c["torch_dtype"] = "bfloat16";
        });
        Assert.Equal(modern.Rope, old.Rope);
        Assert.Equal(modern.DType, old.DType);
    }

    [Fact]
    public void Llama3ScalingFromOldRopeScaling()
    {
        var c = LoadWith(c =>
        {
            c.Remove("rope_parameters"); c["rope_theta"] = 500000.0;
            c["rope_scaling"] = new JsonObject { ["rope_type"] = "llama3", ["factor"] = 8.0, ["low_freq_factor"] = 1.0, ["high_freq_factor"] = 4.0, ["original_max_position_embeddings"] = 8192 };
        });
        Assert.Equal("llama3", c.Rope.Type);
        Assert.Equal(8192, c.Rope.OriginalMaxPositionEmbeddings);
    }

    [Theory]
    [InlineData("model_type", "gpt_neox", "model_type 'gpt_neox' is not supported")]
    [InlineData("hidden_act", "relu2", "hidden_act 'relu2'")]
    [InlineData("dtype", "float64", "dtype 'float64'")]
    public void UnsupportedValuesNamed(string field, string value, string message)
    {
        var e = Assert.Throws<ModelFileException>(() => LoadWith(c => c[field] = value));
        Assert.Contains(message, e.Message);
        Assert.Contains("config.json", e.Message);
    }

    [Fact]
    public void UnsupportedRopeTypeNamed()
    {
        var e = Assert.Throws<ModelFileException>(() => LoadWith(c => c["rope_parameters"] = new JsonObject { ["rope_type"] = "longrope", ["rope_theta"] = 1e4 }));
        Assert.Contains("rope type 'longrope'", e.Message);
    }

    [Fact]
    public void YarnTableHasMagnitudeFactor()
    {
        var rope = new RopeConfig { Type = "yarn", Factor = 4, Theta = 10000, OriginalMaxPositionEmbeddings = 64 };
        var table = RopeTable.Build(rope, 16, 2, 256);
        // Position 0: cos = attention factor = 0.1 ln 4 + 1.
        Assert.Equal(0.1 * Math.Log(4) + 1, table[0], 5);
        Assert.Equal(0, table[8], 6);
    }
}
