using System.CommandLine;
using Modular.Abstractions;
using Modular.Hosting;
using Modular.Models;
using Spectre.Console;

namespace Modular.Cli;

/// <summary>Options shared by the commands, and the model/backend loading every command does the same way.</summary>
internal static class CliOptions
{
    public static Option<string?> Plugins() => new("--plugins") { Description = "plugins.json to load (default: $MODULAR_PLUGINS, ./plugins.json, or the repository's)" };
    public static Option<string?> Backend() => new("--backend") { Description = "backend plugin name, or auto (default: plugins.json's choice)" };
    public static Option<string?> Model() => new("--model") { Description = "Hugging Face checkpoint directory (default: the bundled bard-2m)" };
    public static Option<string?> Quantization() => new("--quantization") { Description = "quantize a float checkpoint at load (fp8), as vLLM's --quantization" };
    /// <summary>vLLM's <c>--kv-cache-dtype</c>: auto (the backend's activation dtype) or fp8 (e4m3, scale 1.0); bad spellings fail at parse time.</summary>
    public static Option<string> KvCacheDType()
    {
        var option = new Option<string>("--kv-cache-dtype")
        {
            Description = "KV cache element type: auto (the backend's activation dtype) or fp8 / fp8_e4m3 (e4m3, scale 1.0; cpu and cuda backends)",
            DefaultValueFactory = _ => KvCacheDTypes.Auto,
        };
        option.Validators.Add(result =>
        {
            var value = result.GetValueOrDefault<string>();
            if (!KvCacheDTypes.IsKnown(value)) result.AddError("--kv-cache-dtype: " + KvCacheDTypes.Unknown(value));
        });
        return option;
    }

    public static Option<int> Threads() => new("--threads") { Description = "CPU backend threads (0 = all cores)", DefaultValueFactory = _ => 0 };

    /// <summary>The bundled default model: models/bard-2m in a folder above the program.</summary>
    public static string DefaultModel()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var p = Path.Combine(dir.FullName, "models", "bard-2m");
            if (File.Exists(Path.Combine(p, "config.json"))) return p;
        }
        throw new InvalidOperationException("the bundled model models/bard-2m was not found above " + AppContext.BaseDirectory + "; pass --model");
    }

    public static PluginRuntime OpenRuntime(string? plugins, string? backend, int threads)
    {
        var runtime = PluginRuntime.Open(plugins ?? PluginRuntime.DefaultPluginsJson(), backend, new BackendOptions(Threads: threads));
        Console.Error.WriteLine($"[modular] {runtime.Selection.Reason}; device: {runtime.Backend.Info.Name}");
        return runtime;
    }

    /// <summary>
    /// vLLM's default of 0.9 for device backends when no explicit KV budget is given; null on the CPU backend, whose
    /// "device memory" is the host's and whose KV cache keeps the fixed <c>--kv-cache-memory</c> budget.
    /// </summary>
    public static double? DefaultGpuMemoryUtilization(PluginRuntime runtime, long? kvCacheMemory) =>
        kvCacheMemory is null && runtime.Backend.Name != "cpu" ? 0.9 : null;

    /// <summary>Loads a model, with a progress bar when stderr is a terminal.</summary>
    public static TransformerModel LoadModel(string dir, PluginRuntime runtime, int? maxPositions = null, string? quantization = null)
    {
        if (Console.IsErrorRedirected)
            return TransformerModel.Load(dir, runtime.Backend, runtime.Quantizer, null, maxPositions, quantization);
        TransformerModel? model = null;
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        console.Progress().AutoClear(true).Start(ctx =>
        {
            var task = ctx.AddTask($"loading {Path.GetFileName(Path.GetFullPath(dir))}", maxValue: 1);
            var progress = new Progress<LoadProgress>(p => { task.Value = p.Fraction; task.Description = p.Stage; });
            model = TransformerModel.Load(dir, runtime.Backend, runtime.Quantizer, progress, maxPositions, quantization);
            task.Value = 1;
        });
        return model!;
    }
}
