using Modular.Models;
using Modular.Models.Loading;

namespace Modular.Cli;

/// <summary>
/// Model loading shared by the bench commands and <c>serve --load-format dummy</c>: a checkpoint directory, or
/// vLLM-style dummy weights of a named shape so speed can be measured on real shapes without any file. With
/// <c>--quantization</c>, dummy weights are generated directly in that format by the quant plugin's dummy quantizers
/// (gptq/awq: Int4 with groups of 128, fp8: e4m3 per channel); a float checkpoint is quantized at load (fp8).
/// </summary>
internal static class BenchModelLoader
{
    /// <summary>Loads the checkpoint, or builds dummy weights of a named shape, quantized when asked.</summary>
    public static TransformerModel Load(string loadFormat, string? modelDir, string? modelConfig, Hosting.PluginRuntime runtime, int positions,
        out string name, string? quantization = null)
    {
        if (loadFormat == "dummy")
        {
            var spec = modelConfig ?? modelDir ?? throw new ArgumentException("--load-format dummy needs --model-config NAME|config.json");
            var config = ModelShapes.Config(spec);
            Abstractions.IQuantizer? quantizer = null;
            string? method = quantization?.ToLowerInvariant();
            if (method is not null)
                quantizer = runtime.Quantizer(method + "-dummy")
                    ?? throw new ArgumentException($"--quantization {quantization} with --load-format dummy: no loaded plugin makes dummy '{method}' weights (add the quant plugin to plugins.json; it makes gptq, awq, fp8)");
            name = quantization is null ? $"{spec} (dummy weights)" : $"{spec} (dummy {quantization} weights)";
            return DummyWeights.LoadModel(config, name, runtime.Backend, positions, quantizer, method);
        }
        var dir = modelDir ?? CliOptions.DefaultModel();
        name = Path.GetFileName(Path.GetFullPath(dir));
        return CliOptions.LoadModel(dir, runtime, positions, quantization);
    }
}
