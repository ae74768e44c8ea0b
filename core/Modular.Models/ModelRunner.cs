using System.Diagnostics;
using System.Runtime.InteropServices;
using Modular.Abstractions;
using Modular.Models.Loading;

namespace Modular.Models;

/// <summary>
/// Runs a loaded transformer on its backend over the paged KV cache: one call per engine step, any mix of prefill
/// chunks and decode tokens. Owns the KV cache and the step's scratch tensors. Not thread-safe: the engine thread
/// is its only caller.
/// </summary>
/// <remarks>
/// Four optional backend capabilities are used when present. <see cref="IFusedQkvKernels"/>: layers whose q, k and
/// v were loaded as one stacked linear (<see cref="LayerWeights.Qkv"/>) run one GEMM and one split+rope kernel.
/// <see cref="IGatedLinear"/> (a dense weight on <see cref="IFusedGateUpKernels"/>, a quantized one on
/// <see cref="IFusedQuantizedGateUpKernels"/>): the gate|up product with the activation as its epilogue, where the
/// backend takes the shape (decode rows).
/// <see cref="IGraphCapture"/> with <see cref="IGraphAttention"/>: a pure decode step (one query token per
/// sequence, logits for every row in order) is padded to a fixed batch size, its metadata put at fixed device
/// addresses, and the whole step - decoder, LM head and greedy argmax - recorded once per (padded batch, context
/// bucket) as a graph and replayed afterwards (MODULAR_GRAPHS=0 turns this off). <see cref="IDeviceArgMax"/>:
/// <see cref="ExecuteGreedy"/> brings back token ids instead of logits.
/// </remarks>
public sealed class ModelRunner : IDisposable
{
    /// <summary>Padded batch sizes decode graphs are recorded for; larger decode steps run uncaptured.</summary>
    private static readonly int[] GraphBatchSizes = [1, 2, 4, 8, 16, 24, 32, 48, 64, 96, 128, 160, 192, 224, 256, 320, 384, 448, 512];

    /// <summary>Smallest context bucket of a decode graph; buckets double from here.</summary>
    private const int MinContextBucket = 256;

    private readonly Workspace _ws;
    private readonly IGraphCapture? _capture;
    private readonly IGraphAttention? _graphAttention;
    private readonly Dictionary<(int Batch, int Stride), CapturedStep> _graphs = new();

    /// <summary>Whether dense gate|up products may take the backend's fused activation path (MODULAR_FUSED_GATE_UP=0: never).</summary>
    private readonly bool _fuseGateUp = Environment.GetEnvironmentVariable("MODULAR_FUSED_GATE_UP") != "0";

    /// <summary>The attention backend's fused q|k|v split + KV store, when it has one (<see cref="IFusedQkvStore"/>).</summary>
    private readonly IFusedQkvStore? _qkvStore;

    private long _graphEpoch = -1;
    private float[] _hostLogits = [];
    private bool _lastStepWasGraph;

    private sealed record CapturedStep(IStepGraph Graph, int WorkspaceGeneration);

    private ModelRunner(TransformerModel model, KvCache cache)
    {
        Model = model;
        Cache = cache;
        var c = model.Config;
        foreach (var l in model.Layers) FusedQkv |= l.Qkv is not null;
        if (FusedQkv && model.Backend.Kernels is not IFusedQkvKernels)
            throw new ArgumentException($"the model's q|k|v are loaded fused, but backend {model.Backend.Name} cannot split them (no IFusedQkvKernels)", nameof(model));
        _ws = new Workspace(model, FusedQkv ? (c.NumHeads + 2 * c.NumKvHeads) * c.HeadDim : 0);
        _qkvStore = model.Backend.Attention as IFusedQkvStore;
        if (Environment.GetEnvironmentVariable("MODULAR_GRAPHS") != "0"
            && model.Backend is IGraphCapture capture && model.Backend.Attention is IGraphAttention ga)
        {
            _capture = capture;
            _graphAttention = ga;
        }
    }

    /// <summary>The model's configuration.</summary>
    public ModelConfig Config => Model.Config;
    /// <summary>The loaded weights.</summary>
    public TransformerModel Model { get; }
    /// <summary>The backend the model runs on.</summary>
    public IBackend Backend => Model.Backend;
    /// <summary>The paged KV cache.</summary>
    public KvCache Cache { get; }
    /// <summary>Columns of the logits.</summary>
    public int VocabSize => Config.VocabSize;
    /// <summary>Columns of <see cref="ExecuteHidden"/>'s output.</summary>
    public int HiddenSize => Config.HiddenSize;
    /// <summary>True when the layers' q|k|v run as one fused projection (loaded stacked; see <see cref="TransformerModel.FuseQkv"/>).</summary>
    public bool FusedQkv { get; }
    /// <summary>True when pure decode steps are replayed from captured graphs.</summary>
    public bool UsesGraphs => _capture is not null;
    /// <summary>Decode steps replayed from a graph so far.</summary>
    public long GraphReplays { get; private set; }
    /// <summary>Graphs recorded so far.</summary>
    public long GraphCaptures { get; private set; }
    /// <summary>
    /// Host seconds each step spent before its first work reached the device (inputs and attention metadata built
    /// and enqueued): the runner's share of the time the device waits between steps. For profiling.
    /// </summary>
    public double PrepareSeconds { get; private set; }

    /// <summary>Bytes one KV block of <paramref name="blockSize"/> slots takes for this model.</summary>
    public static long KvBytesPerBlock(ModelConfig config, int blockSize, DType kvDType) =>
        new KvCacheSpec(config.NumLayers, 1, blockSize, config.NumKvHeads, config.HeadDim, kvDType).BytesPerBlock;

    /// <summary>
    /// Creates a runner with a KV pool of <paramref name="numBlocks"/> blocks whose elements are
    /// <paramref name="kvDType"/> (null: the backend's activation dtype; see <see cref="KvCacheDTypes"/>).
    /// </summary>
    public static ModelRunner Create(TransformerModel model, int numBlocks, int blockSize, DType? kvDType = null)
    {
        var c = model.Config;
        var spec = new KvCacheSpec(c.NumLayers, numBlocks, blockSize, c.NumKvHeads, c.HeadDim, kvDType ?? model.Backend.ActivationDType);
        return new ModelRunner(model, model.Backend.Attention.CreateCache(spec));
    }

    /// <summary>Copies a KV block (copy-on-write of a shared block).</summary>
    public void CopyBlock(int src, int dst) => Cache.CopyBlock(src, dst);

    /// <summary>Runs the step; writes float32 logits [LogitRows.Length, VocabSize] into <paramref name="logits"/>.</summary>
    public void Execute(ForwardBatch batch, Span<float> logits)
    {
        int rows = batch.LogitRows.Length;
        if (TryGraphStep(batch))
        {
            Backend.DownloadF32(_ws.Logits(rows, VocabSize), logits[..(rows * VocabSize)]);
            return;
        }
        var hidden = Forward(batch);
        var head = _ws.Logits(rows, VocabSize);
        Model.LmHead.Forward(hidden, head);
        Backend.DownloadF32(head, logits[..(rows * VocabSize)]);
    }

    /// <summary>
    /// Runs the step and writes the greedy (argmax) token of every LogitRows row into <paramref name="ids"/>:
    /// on backends with <see cref="IDeviceArgMax"/> only the ids leave the device. For benchmarks and greedy
    /// decoding (random rows go through <see cref="ExecuteSampled"/> on backends that sample on the device).
    /// </summary>
    public void ExecuteGreedy(ForwardBatch batch, Span<int> ids)
    {
        int rows = batch.LogitRows.Length;
        if (ids.Length < rows) throw new ArgumentException($"ids has {ids.Length} entries for {rows} logit rows", nameof(ids));
        if (TryGraphStep(batch) && Backend.Kernels is IDeviceArgMax)
        {
            Backend.DownloadI32(_ws.NextIds(rows), ids[..rows]);
            return;
        }
        if (!_lastStepWasGraph)
        {
            var hidden = Forward(batch);
            Model.LmHead.Forward(hidden, _ws.Logits(rows, VocabSize));
        }
        var head = _ws.Logits(rows, VocabSize);
        if (Backend.Kernels is IDeviceArgMax am)
        {
            var o = _ws.NextIds(rows);
            am.ArgMax(head, o);
            Backend.DownloadI32(o, ids[..rows]);
            return;
        }
        if (_hostLogits.Length < rows * VocabSize) _hostLogits = new float[rows * VocabSize];
        Backend.DownloadF32(head, _hostLogits.AsSpan(0, rows * VocabSize));
        for (int r = 0; r < rows; r++)
            ids[r] = System.Numerics.Tensors.TensorPrimitives.IndexOfMax(_hostLogits.AsSpan(r * VocabSize, VocabSize));
    }

    /// <summary>
    /// Runs the step and draws one token per LogitRows row on the device with <paramref name="settings"/> (see
    /// <see cref="IDeviceSampler"/>): only ids come back. -1 marks a row without a finite logit. Needs a backend
    /// whose kernels implement <see cref="IDeviceSampler"/>.
    /// </summary>
    public void ExecuteSampled(ForwardBatch batch, ReadOnlySpan<DeviceSamplingRow> settings, Span<int> ids)
    {
        if (Backend.Kernels is not IDeviceSampler sampler)
            throw new NotSupportedException($"backend {Backend.Name} does not sample on the device (no IDeviceSampler)");
        int rows = batch.LogitRows.Length;
        if (settings.Length != rows) throw new ArgumentException($"settings has {settings.Length} entries for {rows} logit rows", nameof(settings));
        if (ids.Length < rows) throw new ArgumentException($"ids has {ids.Length} entries for {rows} logit rows", nameof(ids));
        // A replayed decode graph leaves this step's logits in the workspace (its argmax is simply overwritten).
        if (!TryGraphStep(batch))
        {
            var hidden = Forward(batch);
            Model.LmHead.Forward(hidden, _ws.Logits(rows, VocabSize));
        }
        var o = _ws.NextIds(rows);
        sampler.Sample(_ws.Logits(rows, VocabSize), settings, o);
        Backend.DownloadI32(o, ids[..rows]);
    }

    /// <summary>Runs the step; writes the final-normed hidden states [LogitRows.Length, HiddenSize] (for embeddings).</summary>
    public void ExecuteHidden(ForwardBatch batch, Span<float> hidden)
    {
        var h = Forward(batch);
        Backend.DownloadF32(h, hidden[..(batch.LogitRows.Length * HiddenSize)]);
    }

    /// <summary>
    /// Runs a pure decode step from a captured graph (recording it first when this shape is new). Returns false,
    /// doing nothing, for any other step. Afterwards the step's logits and greedy ids are in the workspace.
    /// </summary>
    private bool TryGraphStep(ForwardBatch batch)
    {
        long t0 = Stopwatch.GetTimestamp();
        _lastStepWasGraph = false;
        if (_capture is null || _graphAttention is null) return false;
        var m = batch.Attention;
        int t = m.NumTokens;
        if (t == 0 || t > GraphBatchSizes[^1] || m.NumSeqs != t || batch.LogitRows.Length != t || batch.TokenIds.Length != t
            || batch.Positions.Length != t || m.QueryStartLoc.Length < t + 1 || m.QueryStartLoc[t] != t)
            return false;
        int maxLen = 0;
        for (int i = 0; i < t; i++)
        {
            if (m.QueryStartLoc[i] != i || batch.LogitRows[i] != i) return false;
            maxLen = Math.Max(maxLen, m.SeqLens[i]);
        }
        int bs = Cache.Spec.BlockSize;
        int bucket = MinContextBucket;
        while (bucket < maxLen) bucket *= 2;
        int stride = (bucket + bs - 1) / bs;
        int padded = 0;
        foreach (var size in GraphBatchSizes) if (size >= t) { padded = size; break; }

        var meta = PaddedDecodeMetadata(batch, padded, stride, bucket, out var ids, out var positions);
        _graphAttention.PrepareForGraph(meta);
        var s = _ws.Step(padded);
        _capture.UploadAsync(MemoryMarshal.AsBytes(ids.AsSpan()), s.Ids);
        _capture.UploadAsync(MemoryMarshal.AsBytes(positions.AsSpan()), s.Positions);
        long epoch = _capture.MemoryEpoch;
        if (epoch != _graphEpoch) ClearGraphs(epoch);
        var key = (padded, stride);
        PrepareSeconds += Stopwatch.GetElapsedTime(t0).TotalSeconds;
        if (_graphs.TryGetValue(key, out var step) && step.WorkspaceGeneration == _ws.Generation)
        {
            step.Graph.Replay();
            GraphReplays++;
            _lastStepWasGraph = true;
            return true;
        }
        if (step is not null) { step.Graph.Dispose(); _graphs.Remove(key); }
        // First step of this shape: run it directly (which also grows every lazily sized buffer to this shape),
        // then record the same work for the steps after it.
        DecodeBody(s, meta, padded);
        int generation = _ws.Generation;
        var graph = _capture.Capture(() => DecodeBody(s, meta, padded));
        if (_capture.MemoryEpoch == epoch && _ws.Generation == generation)
        {
            _graphs[key] = new CapturedStep(graph, generation);
            GraphCaptures++;
        }
        else graph.Dispose();
        _lastStepWasGraph = true;
        return true;
    }

    /// <summary>
    /// The step's metadata padded to <paramref name="padded"/> sequences with block tables of a fixed stride.
    /// Padding rows write no KV (slot -1) and attend to one key of block 0; their outputs are ignored.
    /// </summary>
    private static AttentionMetadata PaddedDecodeMetadata(ForwardBatch batch, int padded, int stride, int bucket, out int[] ids, out int[] positions)
    {
        var m = batch.Attention;
        int t = m.NumTokens;
        ids = new int[padded];
        positions = new int[padded];
        var qsl = new int[padded + 1];
        var lens = new int[padded];
        var slots = new int[padded];
        var tables = new int[padded * stride];
        for (int i = 0; i <= padded; i++) qsl[i] = i;
        for (int i = 0; i < t; i++)
        {
            ids[i] = batch.TokenIds[i];
            positions[i] = batch.Positions[i];
            lens[i] = m.SeqLens[i];
            slots[i] = m.SlotMapping[i];
            int n = Math.Min(stride, m.MaxBlocksPerSeq);
            Array.Copy(m.BlockTables, i * m.MaxBlocksPerSeq, tables, i * stride, n);
            for (int j = n; j < stride; j++) tables[i * stride + j] = 0;
        }
        for (int i = t; i < padded; i++) { lens[i] = 1; slots[i] = -1; }
        return new AttentionMetadata
        {
            NumTokens = padded, NumSeqs = padded, QueryStartLoc = qsl, SeqLens = lens, BlockTables = tables,
            MaxBlocksPerSeq = stride, SlotMapping = slots, MaxSeqLen = bucket, MaxQueryLen = 1,
        };
    }

    /// <summary>What a decode graph records: the decoder, the LM head and the greedy ids.</summary>
    private void DecodeBody(Workspace.StepTensors s, AttentionMetadata meta, int rows)
    {
        var hidden = Layers(s, meta);
        var head = _ws.Logits(rows, VocabSize);
        Model.LmHead.Forward(hidden, head);
        if (Backend.Kernels is IDeviceArgMax am) am.ArgMax(head, _ws.NextIds(rows));
    }

    private void ClearGraphs(long epoch)
    {
        foreach (var g in _graphs.Values) g.Graph.Dispose();
        _graphs.Clear();
        _graphEpoch = epoch;
    }

    /// <summary>The decoder stack; returns the final-normed hidden rows selected by LogitRows.</summary>
    private Tensor Forward(ForwardBatch batch)
    {
        long t0 = Stopwatch.GetTimestamp();
        int t = batch.TokenIds.Length;
        if (t == 0 || batch.Positions.Length != t || batch.Attention.NumTokens != t)
            throw new ArgumentException("batch token ids, positions and attention metadata disagree on the token count");
        var s = _ws.Step(t);
        Upload(batch.TokenIds, s.Ids);
        Upload(batch.Positions, s.Positions);
        Backend.Attention.Prepare(batch.Attention);
        PrepareSeconds += Stopwatch.GetElapsedTime(t0).TotalSeconds;
        var normed = Layers(s, batch.Attention);
        if (batch.LogitRows.Length == t && IsIdentity(batch.LogitRows)) return normed;
        var rows = _ws.Rows(batch.LogitRows.Length, HiddenSize);
        Upload(batch.LogitRows, rows.Index);
        Backend.Kernels.GatherRows(normed, rows.Index, rows.Gathered);
        return rows.Gathered;
    }

    private void Upload(int[] values, Tensor dst)
    {
        var bytes = MemoryMarshal.AsBytes(values.AsSpan());
        if (_capture is not null) _capture.UploadAsync(bytes, dst);
        else Backend.Upload(bytes, DType.I32, dst);
    }

    /// <summary>Embedding, every decoder layer and the final norm over the step's tensors; returns the normed rows.</summary>
    private Tensor Layers(Workspace.StepTensors s, AttentionMetadata meta)
    {
        var c = Config;
        Backend.Kernels.Embedding(Model.Embedding, s.Ids, c.EmbeddingScale, s.Residual);
        Tensor? pending = null; // output of the previous sub-block, still to be added to the residual
        for (int layer = 0; layer < c.NumLayers; layer++)
        {
            var w = Model.Layers[layer];
            // Each sub-block starts with residual += the previous one's output and its RMSNorm.
            Attention(layer, w, s, meta, pending);
            Mlp(w, s, s.O);
            pending = s.MlpOut;
        }
        NormInto(pending, Model.FinalNorm, s);
        return s.Normed;
    }

    private void NormInto(Tensor? add, Tensor weight, Workspace.StepTensors s)
    {
        var k = Backend.Kernels;
        if (add is null) k.RmsNorm(s.Residual, weight, Config.RmsNormEps, Config.NormWeightOffset, s.Normed);
        else k.AddRmsNorm(add, s.Residual, weight, Config.RmsNormEps, Config.NormWeightOffset, s.Normed);
    }

    /// <summary>
    /// residual += add, its RMSNorm, then <paramref name="linear"/> into <paramref name="output"/>: one fused product
    /// where the linear takes the norm into its input (<see cref="INormInputLinear"/>: FP8 on cuda), else the norm
    /// into s.Normed and the linear's Forward.
    /// </summary>
    private void NormLinear(Tensor? add, Tensor normWeight, ILinear linear, Tensor output, Workspace.StepTensors s)
    {
        if (TryNormInput(add, normWeight, linear, output, s)) return;
        NormInto(add, normWeight, s);
        linear.Forward(s.Normed, output);
    }

    /// <summary>The fused half of <see cref="NormLinear"/>: false, having changed nothing, where the linear declines.</summary>
    private bool TryNormInput(Tensor? add, Tensor normWeight, ILinear? linear, Tensor output, Workspace.StepTensors s) =>
        linear is INormInputLinear fused
        && fused.TryForwardNormInput(add, s.Residual, normWeight, Config.RmsNormEps, Config.NormWeightOffset, output);

    private void Attention(int layer, LayerWeights w, Workspace.StepTensors s, AttentionMetadata meta, Tensor? add)
    {
        var c = Config;
        var k = Backend.Kernels;
        int t = s.Ids.Rows;
        bool stored = false;
        if (w.Qkv is not null)
        {
            // The loader fuses only for backends with the split (checked at creation) and models without q/k norms.
            NormLinear(add, w.InputNorm, w.Qkv, s.Qkv!, s);
            stored = _qkvStore?.TrySplitQkvRopeStore(layer, s.Qkv!, s.Positions, Model.CosSin, c.HeadDim, s.Q, Cache, meta) == true;
            if (!stored) ((IFusedQkvKernels)k).SplitQkvRope(s.Qkv!, s.Positions, Model.CosSin, c.HeadDim, s.Q, s.K, s.V);
        }
        else
        {
            NormInto(add, w.InputNorm, s);
            w.Q!.Forward(s.Normed, s.Q);
            w.K!.Forward(s.Normed, s.K);
            w.V!.Forward(s.Normed, s.V);
            if (w.QNorm is not null && w.KNorm is not null)
            {
                var q = s.Q.View(t * c.NumHeads, c.HeadDim);
                var kk = s.K.View(t * c.NumKvHeads, c.HeadDim);
                k.RmsNorm(q, w.QNorm, c.RmsNormEps, 0, q);
                k.RmsNorm(kk, w.KNorm, c.RmsNormEps, 0, kk);
            }
            k.Rope(s.Q, s.K, s.Positions, Model.CosSin, c.HeadDim);
        }
        var p = new AttentionParams(c.NumHeads, c.NumKvHeads, c.HeadDim, 1f / MathF.Sqrt(c.HeadDim), c.SlidingWindows[layer]) { KvStored = stored };
        Backend.Attention.Forward(layer, s.Q, s.K, s.V, Cache, meta, p, s.AttnOut);
        w.O.Forward(s.AttnOut, s.O);
    }

    private void Mlp(LayerWeights w, Workspace.StepTensors s, Tensor add)
    {
        var c = Config;
        var k = Backend.Kernels;
        if (TryNormInput(add, w.PostAttentionNorm, w.GateUp, s.GateUp, s))
        {
            Down(w, s);
            return;
        }
        NormInto(add, w.PostAttentionNorm, s);
        if (w.Router is not null)
        {
            w.Router.Forward(s.Normed, s.RouterLogits!);
            k.Moe(s.Normed, s.RouterLogits!, w.ExpertsGateUp!, w.ExpertsDown!, c.NumExpertsPerToken, renormalize: true, c.Activation, s.MlpOut);
            return;
        }
        if (_fuseGateUp && w.GateUp is IGatedLinear gated && gated.TryForwardActAndMul(s.Normed, c.Activation, s.Act))
        {
            w.Down!.Forward(s.Act, s.MlpOut);
            return;
        }
        w.GateUp!.Forward(s.Normed, s.GateUp);
        Down(w, s);
    }

    /// <summary>
    /// The down projection of act(gate) * up from s.GateUp: taken straight from gate|up where the down projection
    /// offers it (FP8: inside its input quantization), else through <see cref="IKernels.ActAndMul"/> into s.Act.
    /// </summary>
    private void Down(LayerWeights w, Workspace.StepTensors s)
    {
        var c = Config;
        if (_fuseGateUp && w.Down is IGatedInputLinear down && down.TryForwardGatedInput(s.GateUp, c.Activation, s.MlpOut)) return;
        Backend.Kernels.ActAndMul(s.GateUp, c.Activation, s.Act);
        w.Down!.Forward(s.Act, s.MlpOut);
    }

    private static bool IsIdentity(int[] rows)
    {
        for (int i = 0; i < rows.Length; i++) if (rows[i] != i) return false;
        return true;
    }

    /// <summary>Frees the KV cache, scratch tensors and recorded graphs (not the model).</summary>
    public void Dispose()
    {
        ClearGraphs(-1);
        _ws.Dispose();
        Cache.Dispose();
    }
}
