using System.Runtime.CompilerServices;
using Modular.Abstractions;
using Modular.Models;
using Modular.Tokenization;

namespace Modular.Engine;

/// <summary>
/// Offline inference, like vLLM's <c>LLM</c> class: load a model directory once, then generate for lists of
/// prompts (text or token ids) with continuous batching underneath.
/// </summary>
public sealed class LLM : IDisposable
{
    private readonly TransformerModel? _ownedModel;
    private readonly ModelRunner _runner;
    private long _nextId;

    private LLM(ModelRunner runner, HfTokenizer? tokenizer, EngineOptions options, TransformerModel? ownedModel, ISampler? sampler)
    {
        _runner = runner;
        _ownedModel = ownedModel;
        Engine = new LLMEngine(new EngineCore(runner, tokenizer, options, sampler));
    }

    /// <summary>The engine (for streaming, aborts and metrics).</summary>
    public LLMEngine Engine { get; }
    /// <summary>The tokenizer, or null when the model directory has none.</summary>
    public HfTokenizer? Tokenizer => Engine.Core.Tokenizer;
    /// <summary>The KV block pool (read its counters only while no request runs).</summary>
    public BlockAllocator Allocator => Engine.Core.Allocator;

    /// <summary>Loads <paramref name="modelDir"/> onto <paramref name="backend"/> and starts an engine.</summary>
    public static LLM Load(string modelDir, IBackend backend, EngineOptions? options = null)
    {
        var model = TransformerModel.Load(modelDir, backend);
        try
        {
            var tokenizer = File.Exists(Path.Combine(modelDir, "tokenizer.json")) ? HfTokenizer.FromDirectory(modelDir) : null;
            return Create(model, tokenizer, options, ownsModel: true);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Starts an engine over an already loaded model (several engines may share one model, each with its own KV
    /// pool). The pool has <see cref="EngineOptions.NumBlocks"/> blocks, or as many as fit in
    /// <see cref="EngineOptions.KvCacheMemory"/>, or what <see cref="EngineOptions.GpuMemoryUtilization"/> leaves.
    /// </summary>
    public static LLM Create(TransformerModel model, HfTokenizer? tokenizer, EngineOptions? options = null, bool ownsModel = false, ISampler? sampler = null)
    {
        options ??= new EngineOptions();
        if (options.Validate() is string error) throw new ArgumentException("engine options: " + error, nameof(options));
        int numBlocks = KvCacheSizing.NumBlocks(model, options);
        var runner = ModelRunner.Create(model, numBlocks, options.BlockSize, KvCacheDTypes.Resolve(options.KvCacheDType, model.Backend));
        try
        {
            return new LLM(runner, tokenizer, options, ownsModel ? model : null, sampler);
        }
        catch
        {
            runner.Dispose();
            throw;
        }
    }

    /// <summary>Generates for every text prompt; outputs are in prompt order.</summary>
    public IReadOnlyList<RequestOutput> Generate(IReadOnlyList<string> prompts, SamplingParams? sampling = null) =>
        Generate(prompts.Select(p => new EngineRequest { RequestId = NextId(), Prompt = p, Params = sampling ?? new SamplingParams() }).ToList());

    /// <summary>Generates for every token-id prompt; outputs are in prompt order.</summary>
    public IReadOnlyList<RequestOutput> Generate(IReadOnlyList<int[]> promptTokenIds, SamplingParams? sampling = null) =>
        Generate(promptTokenIds.Select(p => new EngineRequest { RequestId = NextId(), PromptTokenIds = p, Params = sampling ?? new SamplingParams() }).ToList());

    /// <summary>Runs the requests together and returns their final outputs in the same order.</summary>
    public IReadOnlyList<RequestOutput> Generate(IReadOnlyList<EngineRequest> requests) =>
        GenerateAllAsync(requests).GetAwaiter().GetResult();

    /// <summary>Runs the requests together; the task ends when all are finished.</summary>
    public async Task<RequestOutput[]> GenerateAllAsync(IReadOnlyList<EngineRequest> requests, CancellationToken cancellationToken = default)
    {
        var tasks = new Task<RequestOutput>[requests.Count];
        for (int i = 0; i < requests.Count; i++) tasks[i] = Engine.GenerateFinalAsync(requests[i], cancellationToken);
        return await Task.WhenAll(tasks).ConfigureAwait(false);
    }

    /// <summary>Streams the outputs of one text prompt as they are produced.</summary>
    public IAsyncEnumerable<RequestOutput> GenerateAsync(string prompt, SamplingParams? sampling = null, CancellationToken cancellationToken = default) =>
        Engine.GenerateAsync(new EngineRequest { RequestId = NextId(), Prompt = prompt, Params = sampling ?? new SamplingParams() }, cancellationToken);

    /// <summary>Streams the outputs of one token-id prompt as they are produced.</summary>
    public IAsyncEnumerable<RequestOutput> GenerateAsync(int[] promptTokenIds, SamplingParams? sampling = null, CancellationToken cancellationToken = default) =>
        Engine.GenerateAsync(new EngineRequest { RequestId = NextId(), PromptTokenIds = promptTokenIds, Params = sampling ?? new SamplingParams() }, cancellationToken);

    /// <summary>A fresh request id ("offline-N").</summary>
    public string NextId() => $"offline-{Interlocked.Increment(ref _nextId)}";

    /// <summary>Stops the engine and frees the KV cache (and the model when this instance loaded it).</summary>
    public void Dispose()
    {
        Engine.Dispose();
        _runner.Dispose();
        _ownedModel?.Dispose();
    }
}
