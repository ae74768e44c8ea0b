using Modular.Plugins.Quant;

namespace Modular.Quant.Tests;

/// <summary>Unsupported configurations are refused with a message naming the method, the field and what is supported.</summary>
public class RefusalTests
{
    [Theory]
    [InlineData("""{"quant_method":"gptq","bits":3,"group_size":128}""", "gptq", "bits", "4, 8")]
    [InlineData("""{"quant_method":"gptq","bits":2,"group_size":128}""", "gptq", "bits", "4, 8")]
    [InlineData("""{"quant_method":"gptq","bits":4,"group_size":128,"checkpoint_format":"gptq_v2"}""", "gptq", "checkpoint_format", "'gptq'")]
    [InlineData("""{"quant_method":"gptq","bits":4,"group_size":128,"checkpoint_format":"marlin"}""", "gptq", "checkpoint_format", "'gptq'")]
    [InlineData("""{"quant_method":"gptq","bits":4,"group_size":0}""", "gptq", "group_size", "-1 or a positive")]
    [InlineData("""{"quant_method":"gptq","group_size":64}""", "gptq", "bits", "4, 8")]
    [InlineData("""{"quant_method":"awq","bits":4,"group_size":128,"version":"gemv"}""", "awq", "version", "'gemm'")]
    [InlineData("""{"quant_method":"awq","bits":4,"group_size":128,"version":"exllama"}""", "awq", "version", "'gemm'")]
    [InlineData("""{"quant_method":"awq","bits":8,"group_size":128,"version":"gemm"}""", "awq", "bits", "4")]
    [InlineData("""{"quant_method":"awq","w_bit":3,"q_group_size":128,"version":"gemm"}""", "awq", "w_bit", "4")]
    [InlineData("""{"quant_method":"awq","bits":4,"group_size":128,"zero_point":false}""", "awq", "zero_point", "true")]
    [InlineData("""{"quant_method":"fp8","fmt":"e5m2"}""", "fp8", "fmt", "'e4m3'")]
    [InlineData("""{"quant_method":"fp8","activation_scheme":"weird"}""", "fp8", "activation_scheme", "'dynamic', 'static'")]
    [InlineData("""{"quant_method":"fp8","weight_block_size":[128]}""", "fp8", "weight_block_size", "[rows, cols]")]
    [InlineData("""{"quant_method":"bitsandbytes","load_in_4bit":true}""", "bitsandbytes", "quant_method", "gptq, awq, fp8")]
    [InlineData("""{"quant_method":"exl2"}""", "exl2", "quant_method", "gptq, awq, fp8")]
    public void RefusesNamingMethodFieldAndSupported(string json, string method, string field, string supported)
    {
        var why = QuantPlugin.Check(TestSupport.Json(json));
        Assert.NotNull(why);
        Assert.Contains(method, why);
        Assert.Contains(field, why);
        Assert.Contains(supported, why);
    }

    [Theory]
    [InlineData("""{"quant_method":"gptq","bits":4,"group_size":64,"desc_act":true,"sym":true,"checkpoint_format":"gptq"}""")]
    [InlineData("""{"quant_method":"gptq","bits":8,"group_size":-1}""")]
    [InlineData("""{"quant_method":"awq","bits":4,"group_size":64,"zero_point":true,"version":"gemm"}""")]
    [InlineData("""{"quant_method":"awq","w_bit":4,"q_group_size":128,"zero_point":true,"version":"GEMM"}""")]
    [InlineData("""{"quant_method":"fp8","activation_scheme":"dynamic"}""")]
    [InlineData("""{"quant_method":"fp8","activation_scheme":"static","weight_block_size":[128,128]}""")]
    public void AcceptsSupportedConfigs(string json) => Assert.Null(QuantPlugin.Check(TestSupport.Json(json)));

    [Fact]
    public void QuantizerRefusesAnotherMethodsConfig()
    {
        var why = new AwqQuantizer().Check(TestSupport.Json("""{"quant_method":"gptq","bits":4,"group_size":64}"""));
        Assert.NotNull(why);
        Assert.Contains("quant_method", why);
    }
}

/// <summary>A refused config stops TransformerModel.Load with the quantizer's message, naming config.json.</summary>
public sealed class LoadRefusalTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "modular-quant-refuse-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public void ThreeBitGptqIsRefusedAtLoad()
    {
        Directory.CreateDirectory(_dir);
        var config = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(Modular.Testing.Fixtures.BundledModel, "config.json")))!.AsObject();
        config["quantization_config"] = new System.Text.Json.Nodes.JsonObject { ["quant_method"] = "gptq", ["bits"] = 3, ["group_size"] = 128 };
        File.WriteAllText(Path.Combine(_dir, "config.json"), config.ToJsonString());
        using var backend = new Modular.Backends.Cpu.CpuBackend(1);
        var e = Assert.Throws<Modular.Models.Loading.ModelFileException>(() => Modular.Models.TransformerModel.Load(_dir, backend, QuantPlugin.Find));
        Assert.Contains("config.json", e.Message);
        Assert.Contains("bits = 3", e.Message);
        Assert.Contains("4, 8", e.Message);
    }
}
