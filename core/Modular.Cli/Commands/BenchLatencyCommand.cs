using System.CommandLine;
using System.Text.Json;
using Modular.Models;
using Modular.Models.Benchmarks;
using Modular.Models.Loading;

namespace Modular.Cli.Commands;

/// <summary><c>modular bench latency</c>: one fixed batch, warm-up then N iterations; prints per-iteration stats and tokens/s.</summary>
internal static class BenchLatencyCommand
{
    public static Command Create()
    {
        var model = CliOptions.Model();
        var backend = CliOptions.Backend();
        var plugins = CliOptions.Plugins();
        var threads = CliOptions.Threads();
        var loadFormat = new Option<string>("--load-format") { Description = "auto (read the checkpoint) or dummy (random weights of --model-config's shapes)", DefaultValueFactory = _ => "auto" };
        var quantization = new Option<string?>("--quantization") { Description = "with --load-format dummy: dummy weights in gptq, awq or fp8; with a float checkpoint: quantize at load (fp8)" };
        var modelConfig = new Option<string?>("--model-config") { Description = $"with --load-format dummy: a built-in shape ({string.Join(", ", ModelShapes.Names)}) or a config.json" };
        var batch = new Option<int>("--batch-size") { DefaultValueFactory = _ => 1 };
        var input = new Option<int>("--input-len") { DefaultValueFactory = _ => 128 };
        var output = new Option<int>("--output-len") { DefaultValueFactory = _ => 128 };
        var warmup = new Option<int>("--num-iters-warmup") { DefaultValueFactory = _ => 1 };
        var iters = new Option<int>("--num-iters") { DefaultValueFactory = _ => 3 };
        var json = new Option<string?>("--json") { Description = "write results to this JSON file" };
        var kvDType = CliOptions.KvCacheDType();
        var cmd = new Command("latency", "Latency of one batch: prefill then greedy decode, vLLM bench latency style")
        { model, backend, plugins, threads, loadFormat, modelConfig, quantization, batch, input, output, warmup, iters, kvDType, json };
        cmd.SetAction(r =>
        {
            using var runtime = CliOptions.OpenRuntime(r.GetValue(plugins), r.GetValue(backend), r.GetValue(threads));
            var settings = new LatencySettings(r.GetValue(batch), r.GetValue(input), r.GetValue(output), r.GetValue(warmup), r.GetValue(iters)) { KvCacheDType = r.GetValue(kvDType) };
            int positions = settings.InputLen + settings.OutputLen;
            using var m = BenchModelLoader.Load(r.GetValue(loadFormat)!, r.GetValue(model), r.GetValue(modelConfig), runtime, positions, out var modelName, r.GetValue(quantization));
            var result = LatencyBench.Run(m, settings, line => Console.Error.WriteLine("[bench] " + line));
            Console.WriteLine($"model {modelName} on {runtime.Backend.Info.Name}: batch {settings.BatchSize}, input {settings.InputLen}, output {settings.OutputLen}, kv-cache-dtype {settings.KvCacheDType ?? KvCacheDTypes.Auto}");
            Console.WriteLine($"latency per iteration: mean {result.MeanSeconds:F4} s, median {result.MedianSeconds:F4} s, p99 {result.P99Seconds:F4} s");
            Console.WriteLine($"prefill: {result.PrefillTokensPerSecond:F1} tokens/s");
            Console.WriteLine($"decode: {result.DecodeTokensPerSecond:F1} tokens/s");
            Console.WriteLine($"output: {result.OutputTokensPerSecond:F1} tokens/s");
            if (r.GetValue(json) is string path)
                File.WriteAllText(path, JsonSerializer.Serialize(new
                {
                    bench = "latency", model = modelName, device = runtime.Backend.Info.Name, date = DateTime.UtcNow.ToString("O"),
                    commit = BenchInfo.Commit(), settings, mean_s = result.MeanSeconds, median_s = result.MedianSeconds, p99_s = result.P99Seconds,
                    prefill_tok_s = result.PrefillTokensPerSecond, decode_tok_s = result.DecodeTokensPerSecond, output_tok_s = result.OutputTokensPerSecond,
                    iterations = result.Iterations,
                }, new JsonSerializerOptions { WriteIndented = true }));
            return 0;
        });
        return cmd;
    }
}
