using System.Diagnostics;
using Modular.Abstractions;
using Modular.Models;
using Modular.Models.Loading;
using Modular.Sampling;
using Modular.Tokenization;

namespace Modular.Engine;

/// <summary>
/// The synchronous engine: admission, and the step schedule → flatten → forward → sample → update. Outputs go to
/// each request's sink. One thread must own it (<see cref="LLMEngine"/> runs it on its own thread).
/// </summary>
public sealed partial class EngineCore
{
    private readonly ModelRunner _runner;
    private readonly ISampler _sampler;
    private readonly Dictionary<string, RequestState> _requests = new();
    private long _nextArrival;
    private float[] _logits = [];
    private int[] _deviceIds = [];
    private DeviceSamplingRow[] _deviceRows = [];
    private readonly List<Sequence> _sampledSeqs = new();
    private float[] _sampleRows = [];
    private int[] _firstRow = [];
    private readonly List<SamplingSequence> _samplingInputs = new();
    private readonly List<(Sequence Seq, int Row)> _toSample = new();
    private readonly HashSet<RequestState> _touched = new();
    private SampledToken[] _sampled = [];

    /// <summary>Creates an engine over <paramref name="runner"/>'s KV pool.</summary>
    /// <param name="runner">The model and its KV cache; the pool size is fixed by it.</param>
    /// <param name="tokenizer">For text prompts and streamed text; null allows token-id prompts only (text stays empty).</param>
    /// <param name="options">Scheduling limits and the policy.</param>
    /// <param name="sampler">The sampler; the default is <see cref="Sampler"/>.</param>
    public EngineCore(ModelRunner runner, HfTokenizer? tokenizer, EngineOptions options, ISampler? sampler = null)
    {
        if (options.Validate() is string error) throw new ArgumentException("engine options: " + error, nameof(options));
        _runner = runner;
        Tokenizer = tokenizer;
        Options = options;
        _sampler = sampler ?? new Sampler();
        var spec = runner.Cache.Spec;
        Allocator = new BlockAllocator(spec.NumBlocks, spec.BlockSize, options.EnablePrefixCaching);
        Scheduler = new Scheduler(Allocator, SchedulerPolicies.Create(options.Policy), options.MaxNumBatchedTokens, options.MaxNumSeqs);
        MaxModelLen = options.MaxModelLen ?? runner.Config.MaxPositionEmbeddings;
        if (MaxModelLen > runner.Config.MaxPositionEmbeddings)
            throw new ArgumentException($"max_model_len {MaxModelLen} exceeds the model's max_position_embeddings {runner.Config.MaxPositionEmbeddings}", nameof(options));
    }

    /// <summary>The options in force.</summary>
    public EngineOptions Options { get; }
    /// <summary>The model configuration.</summary>
    public ModelConfig Config => _runner.Config;
    /// <summary>The tokenizer, if any.</summary>
    public HfTokenizer? Tokenizer { get; }
    /// <summary>The KV block pool.</summary>
    public BlockAllocator Allocator { get; }
    /// <summary>The scheduler.</summary>
    public Scheduler Scheduler { get; }
    /// <summary>Counters and latencies.</summary>
    public EngineMetrics Metrics { get; } = new();
    /// <summary>Longest prompt + output.</summary>
    public int MaxModelLen { get; }
    /// <summary>
    /// Seconds spent scheduling and flattening steps, before each forward pass (engine thread; for profiling: the
    /// device idles meanwhile, since a step is scheduled only after the previous one's tokens are back).
    /// </summary>
    public double ScheduleSeconds { get; private set; }
    /// <summary>Seconds spent in the model's forward passes, waiting for the device included (engine thread; for profiling).</summary>
    public double ModelSeconds { get; private set; }
    /// <summary>The part of <see cref="ModelSeconds"/> the runner spent on the host before each step's work reached the device.</summary>
    public double PrepareSeconds => _runner.PrepareSeconds;
    /// <summary>Seconds spent sampling, updating sequences and handing outputs over (engine thread; for profiling).</summary>
    public double SampleSeconds { get; private set; }
    /// <summary>Requests not yet finished.</summary>
    public int NumUnfinishedRequests => _requests.Count;
    /// <summary>True while any request is unfinished.</summary>
    public bool HasUnfinishedRequests => _requests.Count > 0;

    /// <summary>
    /// Validates and queues a request; its outputs go to <paramref name="sink"/> (the last one has Finished set).
    /// </summary>
    /// <exception cref="EngineRequestException">The request can never run; the message names the field and limit.</exception>
    public void AddRequest(EngineRequest request, Action<RequestOutput> sink)
    {
        var state = Admit(request);
        state.Sink = sink;
        _requests.Add(request.RequestId, state);
        Metrics.AddPromptTokens(state.PromptIds.Length);
        var first = NewSample(state, 0, new BlockTable { ExtraKey = BlockHasher.SaltKey(request.CacheSalt) }, null);
        state.Sequences.Add(first);
        Scheduler.AddWaiting(first);
    }

    /// <summary>
    /// Checks a request against the model and pool limits and tokenizes a text prompt, returning the request with
    /// <see cref="EngineRequest.PromptTokenIds"/> set. Reads only immutable state, so any thread may call it.
    /// </summary>
    /// <exception cref="EngineRequestException">The request can never run; the message names the field and limit.</exception>
    public EngineRequest Prepare(EngineRequest request)
    {
        if (string.IsNullOrEmpty(request.RequestId)) throw new EngineRequestException("request_id: must not be empty");
        var p = request.Params ?? throw new EngineRequestException("sampling params: missing");
        if (p.Validate(Config.VocabSize) is string bad) throw new EngineRequestException(bad);
        if (!p.UseBeamSearch && p.BestOf is int bo && bo != p.N)
            throw new EngineRequestException($"best_of: {bo} differs from n={p.N}; best_of is only supported with use_beam_search");

        int[] prompt;
        if (request.PromptTokenIds is { } ids) prompt = ids as int[] ?? [.. ids];
        else if (request.Prompt is { } text)
        {
            if (Tokenizer is null) throw new EngineRequestException("prompt: a text prompt needs the model's tokenizer (tokenizer.json), which is not loaded; send prompt_token_ids");
            prompt = Tokenizer.Encode(text, request.AddSpecialTokens);
        }
        else throw new EngineRequestException("prompt: neither prompt text nor prompt_token_ids given");
        if (prompt.Length == 0) throw new EngineRequestException("prompt: is empty (no tokens)");
        foreach (int id in prompt)
            if ((uint)id >= (uint)Config.VocabSize) throw new EngineRequestException($"prompt_token_ids: token id {id} is outside the vocabulary (size {Config.VocabSize})");
        if (prompt.Length > MaxModelLen)
            throw new EngineRequestException($"prompt: {prompt.Length} tokens exceed max_model_len {MaxModelLen}");
        int needed = Allocator.BlocksFor(Math.Min(prompt.Length + 1, MaxModelLen));
        if (needed > Allocator.TotalBlocks)
            throw new EngineRequestException($"prompt: {prompt.Length} tokens need {needed} KV blocks of {Allocator.BlockSize} tokens but the pool has only {Allocator.TotalBlocks}; raise kv_cache_memory or shorten the prompt");
        return request.PromptTokenIds == (object)prompt ? request : request with { PromptTokenIds = prompt };
    }

    /// <summary>The final output of a request refused at admission.</summary>
    public static RequestOutput Rejected(EngineRequest request, string error) => new()
    {
        RequestId = request.RequestId,
        PromptTokenIds = request.PromptTokenIds ?? Array.Empty<int>(),
        Outputs = [new CompletionOutput { Index = 0, Text = "", TextDelta = "", TokenIds = Array.Empty<int>(), FinishReason = FinishReasons.Error }],
        Finished = true,
        Usage = new RequestUsage(request.PromptTokenIds?.Count ?? 0, 0, 0),
        Timings = new RequestTimings(DateTimeOffset.UtcNow, null, 0, null),
        Error = error,
    };

    // Engine-thread half of admission: live-state checks, then the request's record.
    private RequestState Admit(EngineRequest request)
    {
        request = Prepare(request);
        if (_requests.ContainsKey(request.RequestId)) throw new EngineRequestException($"request_id: \"{request.RequestId}\" is already in use by a live request");
        var p = request.Params;
        if (p.UseBeamSearch) throw new EngineRequestException("use_beam_search: beam search runs above the engine core; submit it through LLMEngine or LLM");
        IReadOnlyList<int> eos = p.IgnoreEos ? Array.Empty<int>() : Config.EosTokenIds;
        int maxLength = Math.Min(MaxModelLen, Allocator.TotalBlocks * Allocator.BlockSize);
        return new RequestState(request, (int[])request.PromptTokenIds!, _nextArrival++, eos, maxLength);
    }

    private Sequence NewSample(RequestState state, int index, BlockTable table, Sequence? parent)
    {
        var p = state.Params;
        var rng = SeededRandom.ForRequest(p.Seed, index);
        var detok = Tokenizer?.CreateDetokenizer(state.PromptIds, p.SkipSpecialTokens);
        var grammar = state.Request.GrammarFactory?.Invoke();
        return parent is null
            ? new Sequence(state, index, state.PromptIds, rng, detok, grammar, table)
            : parent.Fork(index, rng, detok, grammar, table);
    }

    /// <summary>Aborts a request: frees its blocks at once and emits its final output. False when unknown.</summary>
    public bool Abort(string requestId)
    {
        if (!_requests.TryGetValue(requestId, out var state)) return false;
        Terminate(state, FinishReasons.Abort, null);
        return true;
    }

    /// <summary>Fails every live request (the model threw); frees their blocks.</summary>
    public void FailAll(string error)
    {
        foreach (var state in _requests.Values.ToArray()) Terminate(state, FinishReasons.Error, error);
    }

    private void Terminate(RequestState state, string reason, string? error)
    {
        state.Terminated = true;
        state.Error = error;
        foreach (var seq in state.Sequences)
        {
            if (seq.IsFinished) continue;
            Scheduler.Remove(seq);
            seq.FinishReason = reason;
            seq.Stops.Flush();
        }
        state.FinishTicks = Stopwatch.GetTimestamp();
        Emit(state);
        // An abort can come while the engine is idle, with no step to refresh the gauges after it.
        UpdateGauges();
    }

    /// <summary>Runs one step; returns the number of tokens computed (0 when there was nothing to do).</summary>
    public int Step()
    {
        long t0 = Stopwatch.GetTimestamp();
        var plan = Scheduler.Schedule();
        if (plan.Scheduled.Count == 0)
        {
            UpdateGauges();
            return 0;
        }
        int tokens = plan.TotalTokens;
        try
        {
            Execute(plan, t0);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The step's state is unknown; fail its requests rather than stream wrong tokens.
            var failed = new HashSet<RequestState>();
            foreach (var s in plan.Scheduled) failed.Add(s.Sequence.Request);
            foreach (var r in failed) if (_requests.ContainsKey(r.RequestId)) Terminate(r, FinishReasons.Error, $"engine step failed: {e.Message}");
        }
        UpdateGauges();
        return tokens;
    }

    private void UpdateGauges() =>
        Metrics.SetGauges(Scheduler.NumRunning, Scheduler.NumWaiting, Allocator.Usage, Allocator.PrefixQueryTokens,
            Allocator.PrefixHitTokens, Scheduler.TotalPreemptions);

    /// <param name="plan">The scheduled step.</param>
    /// <param name="t0">When scheduling it began (its host time counts into <see cref="ScheduleSeconds"/>).</param>
    private void Execute(SchedulerOutput plan, long t0)
    {
        var scheduled = plan.Scheduled;
        foreach (var s in scheduled)
            if (s.Copy is (int src, int dst)) _runner.CopyBlock(src, dst);

        if (_firstRow.Length < scheduled.Count) _firstRow = new int[scheduled.Count * 2];
        var batch = BatchBuilder.Build(scheduled, Allocator.BlockSize, _firstRow);
        int vocab = Config.VocabSize;
        var onDevice = DeviceSamplingFor(scheduled);
        ScheduleSeconds += Stopwatch.GetElapsedTime(t0).TotalSeconds;
        t0 = Stopwatch.GetTimestamp();
        if (onDevice != DeviceSampling.None && _deviceIds.Length < batch.LogitRows.Length) _deviceIds = new int[batch.LogitRows.Length * 2];
        if (onDevice == DeviceSampling.ArgMax) _runner.ExecuteGreedy(batch, _deviceIds);
        else if (onDevice == DeviceSampling.Random) _runner.ExecuteSampled(batch, DeviceRows(scheduled, batch.LogitRows.Length), _deviceIds);
        else
        {
            int need = batch.LogitRows.Length * vocab;
            if (_logits.Length < need) _logits = new float[need];
            _runner.Execute(batch, _logits);
        }
        ModelSeconds += Stopwatch.GetElapsedTime(t0).TotalSeconds;

        _toSample.Clear();
        _touched.Clear();
        for (int i = 0; i < scheduled.Count; i++)
        {
            var s = scheduled[i];
            var seq = s.Sequence;
            if (s.WantsPromptLogits) RecordPromptLogprobs(s, _firstRow[i]);
            seq.NumComputed = s.Start + s.NumNewTokens;
            Allocator.CacheFullBlocks(seq.Table, seq.Tokens, seq.NumComputed);
            if (!s.CompletesSequence) continue;
            int row = _firstRow[i] + BatchBuilder.LogitRowCount(s) - 1;
            _toSample.Add((seq, row));
            if (seq.Request.ForkPending) ForkSamples(seq, row);
        }
        Metrics.AddStepTokens(batch.TokenIds.Length, _toSample.Count);
        t0 = Stopwatch.GetTimestamp();
        if (onDevice != DeviceSampling.None) UpdateFromDeviceIds();
        else SampleAndUpdate(vocab);
        foreach (var state in _touched) Emit(state);
        SampleSeconds += Stopwatch.GetElapsedTime(t0).TotalSeconds;
    }

    /// <summary>Where this step's tokens are chosen.</summary>
    private enum DeviceSampling
    {
        /// <summary>Logits come back to the host sampler.</summary>
        None,
        /// <summary>Every sampled row is greedy: the device takes the argmax.</summary>
        ArgMax,
        /// <summary>Some rows draw at random with temperature / min-p / top-k / top-p only: the device samples.</summary>
        Random,
    }

    /// <summary>
    /// Chooses <see cref="DeviceSampling"/>: tokens are picked on the device, and only ids come back, unless a row
    /// needs something that reads or edits the logits on the host (logprobs, prompt logprobs, bias, penalties,
    /// min_tokens still pending, grammar masks, n &gt; 1 forks, beam search). Random rows also need a backend with
    /// <see cref="IDeviceSampler"/>.
    /// </summary>
    private DeviceSampling DeviceSamplingFor(List<ScheduledSequence> scheduled)
    {
        bool allGreedy = true;
        foreach (var s in scheduled)
        {
            if (s.WantsPromptLogits) return DeviceSampling.None;
            if (!s.CompletesSequence) continue;
            var seq = s.Sequence;
            var p = seq.Request.Params;
            if (p.Logprobs is not null || p.LogitBias is { Count: > 0 } || seq.Grammar is not null
                || p.PresencePenalty != 0 || p.FrequencyPenalty != 0 || p.RepetitionPenalty != 1
                || seq.OutputIds.Count < p.MinTokens || seq.Request.ForkPending || p.UseBeamSearch)
                return DeviceSampling.None;
            allGreedy &= p.IsGreedy;
        }
        if (allGreedy) return DeviceSampling.ArgMax;
        return _runner.Backend.Kernels is IDeviceSampler ? DeviceSampling.Random : DeviceSampling.None;
    }

    /// <summary>
    /// Per-logit-row settings for <see cref="DeviceSampling.Random"/>. Each random row takes one number from its
    /// sequence's own stream, as the host sampler does, so a seeded request draws the same stream on either path.
    /// Rows nothing is sampled from (prompt chunks that do not end a prompt) take the argmax and are ignored.
    /// </summary>
    private ReadOnlySpan<DeviceSamplingRow> DeviceRows(List<ScheduledSequence> scheduled, int logitRows)
    {
        if (_deviceRows.Length < logitRows) _deviceRows = new DeviceSamplingRow[logitRows * 2];
        Array.Clear(_deviceRows, 0, logitRows);
        for (int i = 0; i < scheduled.Count; i++)
        {
            var s = scheduled[i];
            if (!s.CompletesSequence) continue;
            var p = s.Sequence.Request.Params;
            int row = _firstRow[i] + BatchBuilder.LogitRowCount(s) - 1;
            _deviceRows[row] = p.IsGreedy
                ? default
                : new DeviceSamplingRow(p.Temperature, p.TopK, p.TopP, p.MinP, (float)s.Sequence.Rng.NextDouble());
        }
        return _deviceRows.AsSpan(0, logitRows);
    }

    // At the end of the prompt, sample 0 becomes n samples sharing its blocks (copy-on-write on first divergence).
    private void ForkSamples(Sequence first, int row)
    {
        var state = first.Request;
        for (int k = state.Sequences.Count; k < state.Params.N; k++)
        {
            var sibling = NewSample(state, k, Allocator.Fork(first.Table), first);
            state.Sequences.Add(sibling);
            Scheduler.AddRunning(sibling);
            _toSample.Add((sibling, row));
        }
    }
}
