using System.CommandLine;
using Modular.Engine;
using Modular.Server;
using Modular.Server.Engine;
using Modular.Server.Protocol;

namespace Modular.Cli.Commands;

/// <summary><c>modular serve</c>: the OpenAI-compatible HTTP server over one or more models.</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var models = new Option<string[]>("--model")
        {
            Description = "model to serve as DIR or NAME=DIR (repeatable; the name defaults to the folder name; default: the bundled bard-2m)",
            AllowMultipleArgumentsPerToken = false,
        };
        var host = new Option<string>("--host") { Description = "address to listen on", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port") { Description = "port to listen on (0 picks a free one)", DefaultValueFactory = _ => 8000 };
        var apiKey = new Option<string?>("--api-key") { Description = "require 'Authorization: Bearer KEY' on /v1, /tokenize and /detokenize (default: $MODULAR_API_KEY)" };
        var plugins = CliOptions.Plugins();
        var backend = CliOptions.Backend();
        var threads = CliOptions.Threads();
        var maxModelLen = new Option<int?>("--max-model-len") { Description = "longest prompt + output in tokens (default: the model's max_position_embeddings)" };
        var maxNumSeqs = new Option<int>("--max-num-seqs") { Description = "most sequences running at once", DefaultValueFactory = _ => 256 };
        var maxBatched = new Option<int>("--max-num-batched-tokens") { Description = "token budget of one engine step", DefaultValueFactory = _ => 2048 };
        var kvMemory = new Option<long?>("--kv-cache-memory") { Description = "bytes of KV cache per model (default 512 MiB)" };
        var maxQueued = new Option<int?>("--max-queued-requests") { Description = "requests allowed to wait beyond those running; more get 429 (default: unbounded)" };
        var otlp = new Option<string?>("--otlp-endpoint") { Description = "OTLP collector URL for request traces (default: no export)" };
        var policy = new Option<string>("--scheduling-policy") { Description = "fcfs, or priority (lower 'priority' values first)", DefaultValueFactory = _ => "fcfs" };
        var noUi = new Option<bool>("--no-ui") { Description = "do not serve the chat page at /" };
        var drain = new Option<int>("--drain-timeout") { Description = "seconds shutdown waits for running requests", DefaultValueFactory = _ => 30 };
        var maxBody = new Option<long>("--max-request-bytes") { Description = "largest request body (413 beyond)", DefaultValueFactory = _ => ServerLimits.DefaultMaxBodyBytes };
        var maxMessages = new Option<int>("--max-messages") { Description = "most chat messages in one request", DefaultValueFactory = _ => ServerLimits.DefaultMaxMessages };
        var maxContentParts = new Option<int>("--max-content-parts") { Description = "most content parts in one chat message", DefaultValueFactory = _ => ServerLimits.DefaultMaxContentParts };
        var maxN = new Option<int>("--max-n") { Description = "largest n and best_of", DefaultValueFactory = _ => ServerLimits.DefaultMaxN };
        var maxLogprobs = new Option<int>("--max-logprobs") { Description = "largest logprobs, top_logprobs and prompt_logprobs", DefaultValueFactory = _ => ServerLimits.DefaultMaxLogprobs };
        var maxStop = new Option<int>("--max-stop-strings") { Description = "most stop strings in one request", DefaultValueFactory = _ => ServerLimits.DefaultMaxStopStrings };
        var maxStopIds = new Option<int>("--max-stop-token-ids") { Description = "most stop_token_ids in one request", DefaultValueFactory = _ => ServerLimits.DefaultMaxStopTokenIds };
        var maxBatch = new Option<int>("--max-batch-inputs") { Description = "most prompts (completions) or inputs (embeddings) in one request", DefaultValueFactory = _ => ServerLimits.DefaultMaxBatchInputs };
        var maxTools = new Option<int>("--max-tools") { Description = "most tools in one request", DefaultValueFactory = _ => ServerLimits.DefaultMaxTools };
        var maxToolParams = new Option<int>("--max-tool-parameters-bytes") { Description = "largest parameters schema of one tool, in bytes", DefaultValueFactory = _ => ServerLimits.DefaultMaxToolParametersBytes };
        var maxLogitBias = new Option<int>("--max-logit-bias") { Description = "most logit_bias entries in one request", DefaultValueFactory = _ => ServerLimits.DefaultMaxLogitBias };
        var maxHeaderBytes = new Option<int>("--max-header-bytes") { Description = "largest total size of the request headers (431 beyond)", DefaultValueFactory = _ => ServerLimits.DefaultMaxHeaderBytes };
        var maxHeaderCount = new Option<int>("--max-header-count") { Description = "most request header lines (431 beyond)", DefaultValueFactory = _ => ServerLimits.DefaultMaxHeaderCount };
        var maxLine = new Option<int>("--max-request-line-bytes") { Description = "longest request line (414 beyond)", DefaultValueFactory = _ => ServerLimits.DefaultMaxRequestLineBytes };
        var loadFormat = new Option<string>("--load-format") { Description = "auto (read each --model checkpoint) or dummy (random weights of --model-config's shape; for benchmarks)", DefaultValueFactory = _ => "auto" };
        var modelConfig = new Option<string?>("--model-config") { Description = $"with --load-format dummy: a built-in shape ({string.Join(", ", Models.Loading.ModelShapes.Names)}) or a config.json" };
        var tokenizerDir = new Option<string?>("--tokenizer") { Description = "with --load-format dummy: folder of the tokenizer (tokenizer.json) the dummy model serves with" };
        var gpuUtil = new Option<double?>("--gpu-memory-utilization") { Description = "fraction of device memory for weights, activations and KV cache; the KV cache gets what a profiling step leaves (default 0.9 on GPU backends; --kv-cache-memory overrides)" };
        var kvDType = CliOptions.KvCacheDType();
        var trustTemplate = new Option<bool>("--trust-request-chat-template") { Description = "accept a chat_template field in requests (off: a template is code the server runs)" };

        var cmd = new Command("serve", "Serve models over an OpenAI-compatible HTTP API")
        {
            models, host, port, apiKey, plugins, backend, threads, maxModelLen, maxNumSeqs, maxBatched, kvMemory, maxQueued, otlp, policy, noUi, drain, maxBody, maxMessages, trustTemplate,
            maxContentParts, maxN, maxLogprobs, maxStop, maxStopIds, maxBatch, maxTools, maxToolParams, maxLogitBias, maxHeaderBytes, maxHeaderCount, maxLine,
            loadFormat, modelConfig, tokenizerDir, gpuUtil, kvDType,
        };
        cmd.SetAction(async (r, ct) =>
        {
            List<ModelSource> sources;
            if (r.GetValue(loadFormat) == "dummy")
            {
                if (r.GetValue(modelConfig) is not string shape || r.GetValue(tokenizerDir) is not string tok)
                {
                    Console.Error.WriteLine("error: --load-format dummy needs --model-config NAME|config.json and --tokenizer DIR");
                    return 2;
                }
                // A built-in shape is its own name; a config.json is named after its folder, as a checkpoint would be.
                var name = shape.EndsWith(".json", StringComparison.OrdinalIgnoreCase) ? Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(shape)))! : shape;
                sources = [new ModelSource(name, tok, shape)];
            }
            else
            {
                var specs = r.GetValue(models) is { Length: > 0 } given ? given : [CliOptions.DefaultModel()];
                sources = specs.Select(ModelSource.Parse).ToList();
            }
            foreach (var s in sources)
                if (!Directory.Exists(s.Directory))
                {
                    Console.Error.WriteLine($"error: --model {s.Name}: folder {s.Directory} does not exist");
                    return 2;
                }
            Uri? otlpUri = null;
            if (r.GetValue(otlp) is { } o && !Uri.TryCreate(o, UriKind.Absolute, out otlpUri))
            {
                Console.Error.WriteLine($"error: --otlp-endpoint: \"{o}\" is not an absolute URL");
                return 2;
            }
            var engine = new EngineOptions
            {
                MaxModelLen = r.GetValue(maxModelLen),
                MaxNumSeqs = r.GetValue(maxNumSeqs),
                MaxNumBatchedTokens = r.GetValue(maxBatched),
                KvCacheMemory = r.GetValue(kvMemory) ?? new EngineOptions().KvCacheMemory,
                GpuMemoryUtilization = r.GetValue(gpuUtil),
                KvCacheDType = r.GetValue(kvDType)!,
                Policy = r.GetValue(policy)!,
            };
            if (engine.Validate() is string bad)
            {
                Console.Error.WriteLine($"error: {bad}");
                return 2;
            }
            var limits = new ServerLimits
            {
                MaxBodyBytes = r.GetValue(maxBody),
                MaxMessages = r.GetValue(maxMessages),
                MaxContentParts = r.GetValue(maxContentParts),
                MaxN = r.GetValue(maxN),
                MaxLogprobs = r.GetValue(maxLogprobs),
                MaxStopStrings = r.GetValue(maxStop),
                MaxStopTokenIds = r.GetValue(maxStopIds),
                MaxBatchInputs = r.GetValue(maxBatch),
                MaxTools = r.GetValue(maxTools),
                MaxToolParametersBytes = r.GetValue(maxToolParams),
                MaxLogitBias = r.GetValue(maxLogitBias),
                MaxHeaderBytes = r.GetValue(maxHeaderBytes),
                MaxHeaderCount = r.GetValue(maxHeaderCount),
                MaxRequestLineBytes = r.GetValue(maxLine),
                TrustRequestChatTemplate = r.GetValue(trustTemplate),
            };
            if (limits.Validate() is string badLimit)
            {
                Console.Error.WriteLine($"error: {badLimit}");
                return 2;
            }
            var options = new ServerOptions
            {
                Models = sources,
                Host = r.GetValue(host)!,
                Port = r.GetValue(port),
                ApiKey = r.GetValue(apiKey) ?? Environment.GetEnvironmentVariable("MODULAR_API_KEY"),
                PluginsJson = r.GetValue(plugins),
                Backend = r.GetValue(backend),
                Threads = r.GetValue(threads),
                Engine = engine,
                MaxQueuedRequests = r.GetValue(maxQueued),
                OtlpEndpoint = otlpUri,
                EnableUi = !r.GetValue(noUi),
                DrainTimeout = TimeSpan.FromSeconds(Math.Max(0, r.GetValue(drain))),
                Limits = limits,
            };

            var runtime = CliOptions.OpenRuntime(options.PluginsJson, options.Backend, options.Threads);
            if (CliOptions.DefaultGpuMemoryUtilization(runtime, r.GetValue(kvMemory)) is double util && engine.GpuMemoryUtilization is null)
                options = options with { Engine = engine with { GpuMemoryUtilization = util } };
            // On SIGTERM System.CommandLine cancels `ct` and returns from InvokeAsync after its own short timeout,
            // after which Main returns and the process would exit mid-drain. Holding ProcessExit until the server
            // has stopped lets running requests finish (bounded by the drain timeout).
            using var drained = new ManualResetEventSlim();
            var drainBound = options.DrainTimeout + TimeSpan.FromSeconds(10);
            EventHandler holdExit = (_, _) => drained.Wait(drainBound);
            AppDomain.CurrentDomain.ProcessExit += holdExit;
            try
            {
                var loaded = ModelLoader.Load(options.Models, runtime, options.Engine);
                await using var server = ModularServer.Create(options, loaded);
                await server.StartAsync(ct);
                foreach (var m in loaded)
                    Console.Error.WriteLine($"[modular] serving {m.Name} from {m.Directory} (max_model_len {m.Engine.MaxModelLen}, {m.Engine.KvBlocks().Total} KV blocks, kv_cache_dtype {options.Engine.KvCacheDType})");
                Console.Error.WriteLine($"[modular] listening on {string.Join(", ", server.Urls)}{(options.ApiKey is null ? "" : " (API key required)")}");
                await server.RunAsync(ct);
            }
            finally
            {
                runtime.Dispose();
                drained.Set();
                AppDomain.CurrentDomain.ProcessExit -= holdExit;
            }
            return 0;
        });
        return cmd;
    }
}
