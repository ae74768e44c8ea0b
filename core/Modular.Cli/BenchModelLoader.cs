using Modular.Models;
using Modular.Models.Loading;

namespace Modular.Cli;

/// <summary>
/// Model loading shared by the bench commands and <c>serve --load-format dummy</c>: a checkpoint directory, or
/// vLLM-style dummy weights of a named shape so speed can be measured on real shapes without any file.
/// </summary>
internal static class BenchModelLoader
{
    /// <summary>Loads the checkpoint, or builds dummy weights of a named shape.</summary>
    public static TransformerModel Load(string loadFormat, string? modelDir, string? modelConfig, Hosting.PluginRuntime runtime, int positions, out string name)
    {
        if (loadFormat == "dummy")
        {
            var spec = modelConfig ?? modelDir ?? throw new ArgumentException("--load-format dummy needs --model-config NAME|config.json");
            var config = ModelShapes.Config(spec);
            name = $"{spec} (dummy weights)";
            return TransformerModel.Load(config, new DummyWeights(config), _ => "dummy weights", name, runtime.Backend, null, null, positions);
        }
        var dir = modelDir ?? CliOptions.DefaultModel();
        name = Path.GetFileName(Path.GetFullPath(dir));
        return CliOptions.LoadModel(dir, runtime, positions);
    }
}
