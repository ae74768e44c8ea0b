using System.CommandLine;
using System.Text.Json;
using Modular.Engine;
using Modular.Tokenization;

namespace Modular.Cli.Commands;

/// <summary><c>modular bench throughput</c>: N prompts offline through the engine; requests/s and tokens/s.</summary>
internal static class BenchThroughputCommand
{
    public static Command Create()
    {
        var model = CliOptions.Model();
        var backend = CliOptions.Backend();
        var plugins = CliOptions.Plugins();
        var threads = CliOptions.Threads();
        var loadFormat = new Option<string>("--load-format") { DefaultValueFactory = _ => "auto" };
        var modelConfig = new Option<string?>("--model-config");
        var quantization = new Option<string?>("--quantization") { Description = "with --load-format dummy: dummy weights in gptq, awq or fp8; with a float checkpoint: quantize at load (fp8)" };
        var numPrompts = new Option<int>("--num-prompts") { DefaultValueFactory = _ => 256 };
        var input = new Option<int>("--input-len") { DefaultValueFactory = _ => 64 };
        var output = new Option<int>("--output-len") { DefaultValueFactory = _ => 64 };
        var dataset = new Option<string>("--dataset") { Description = "random, or a text corpus to cut prompts from (e.g. shakespeare.txt)", DefaultValueFactory = _ => "random" };
        var maxSeqs = new Option<int>("--max-num-seqs") { DefaultValueFactory = _ => 256 };
        var maxTokens = new Option<int>("--max-num-batched-tokens") { DefaultValueFactory = _ => 2048 };
        var kvMem = new Option<long?>("--kv-cache-memory") { Description = "KV cache bytes (default 512 MiB on the CPU backend)" };
        var gpuUtil = new Option<double?>("--gpu-memory-utilization") { Description = "fraction of device memory to fill; the KV cache gets what a profiling step leaves (default 0.9 on GPU backends)" };
        var kvDType = CliOptions.KvCacheDType();
        var temperature = new Option<float>("--temperature") { Description = "0 = greedy (as the peers decode)", DefaultValueFactory = _ => 0f };
        var json = new Option<string?>("--json");
        var cmd = new Command("throughput", "Offline throughput: N prompts with continuous batching")
        { model, backend, plugins, threads, loadFormat, modelConfig, quantization, numPrompts, input, output, dataset, maxSeqs, maxTokens, kvMem, gpuUtil, kvDType, temperature, json };
        cmd.SetAction(r =>
        {
            using var runtime = CliOptions.OpenRuntime(r.GetValue(plugins), r.GetValue(backend), r.GetValue(threads));
            int inLen = r.GetValue(input), outLen = r.GetValue(output);
            var m = BenchModelLoader.Load(r.GetValue(loadFormat)!, r.GetValue(model), r.GetValue(modelConfig), runtime, inLen + outLen + 16, out var name, r.GetValue(quantization));
            // Dummy weights have no tokenizer: prompts are random ids (a corpus dataset needs a checkpoint's tokenizer).
            var tokenizer = r.GetValue(loadFormat) == "dummy" ? null : HfTokenizer.FromDirectory(r.GetValue(model) ?? CliOptions.DefaultModel());
            var options = new EngineOptions
            {
                MaxNumSeqs = r.GetValue(maxSeqs), MaxNumBatchedTokens = r.GetValue(maxTokens), KvCacheMemory = r.GetValue(kvMem) ?? new EngineOptions().KvCacheMemory,
                GpuMemoryUtilization = r.GetValue(gpuUtil) ?? CliOptions.DefaultGpuMemoryUtilization(runtime, r.GetValue(kvMem)),
                MaxModelLen = inLen + outLen + 16,
                KvCacheDType = r.GetValue(kvDType)!,
            };
            using var llm = LLM.Create(m, tokenizer, options, ownsModel: true);
            var data = r.GetValue(dataset)!;
            var prompts = data == "random" || tokenizer is null
                ? ThroughputBench.RandomPrompts(m.Config.VocabSize, r.GetValue(numPrompts), inLen)
                : ThroughputBench.CorpusPrompts(tokenizer, data, r.GetValue(numPrompts), inLen);
            var result = ThroughputBench.Run(llm, prompts, outLen, temperature: r.GetValue(temperature));
            Console.WriteLine($"model {name} on {runtime.Backend.Info.Name}, max-num-seqs {options.MaxNumSeqs}, max-num-batched-tokens {options.MaxNumBatchedTokens}, kv-cache-dtype {options.KvCacheDType}");
            Console.WriteLine($"Throughput: {result.RequestsPerSecond:F2} requests/s, {result.TotalTokensPerSecond:F1} total tokens/s, {result.OutputTokensPerSecond:F1} output tokens/s");
            Console.WriteLine($"{result.Requests} requests, {result.PromptTokens} prompt + {result.OutputTokens} output tokens in {result.Seconds:F2} s, {result.Preemptions} preemptions");
            Console.WriteLine($"engine thread: {result.Engine}");
            if (r.GetValue(json) is string path)
                File.WriteAllText(path, JsonSerializer.Serialize(new
                {
                    bench = "throughput", model = name, device = runtime.Backend.Info.Name, date = DateTime.UtcNow.ToString("O"), commit = BenchInfo.Commit(),
                    settings = new { num_prompts = result.Requests, input_len = inLen, output_len = outLen, options.MaxNumSeqs, options.MaxNumBatchedTokens, kv_cache_dtype = options.KvCacheDType, dataset = data },
                    requests_per_s = result.RequestsPerSecond, total_tok_s = result.TotalTokensPerSecond, output_tok_s = result.OutputTokensPerSecond,
                    seconds = result.Seconds, preemptions = result.Preemptions,
                    engine = new
                    {
                        steps = result.Engine.Steps, schedule_s = result.Engine.Schedule, forward_s = result.Engine.Forward,
                        prepare_s = result.Engine.Prepare, update_s = result.Engine.Update, host_s = result.Engine.HostSeconds,
                    },
                }, new JsonSerializerOptions { WriteIndented = true }));
            return 0;
        });
        return cmd;
    }
}
