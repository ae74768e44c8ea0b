using Modular.Abstractions;
using Modular.Models.Loading;

namespace Modular.Models;

/// <summary>
/// Runs a loaded transformer on its backend over the paged KV cache: one call per engine step, any mix of prefill
/// chunks and decode tokens. Owns the KV cache and the step's scratch tensors. Not thread-safe: the engine thread
/// is its only caller.
/// </summary>
public sealed class ModelRunner : IDisposable
{
    private readonly Workspace _ws;

    private ModelRunner(TransformerModel model, KvCache cache)
    {
        Model = model;
        Cache = cache;
        _ws = new Workspace(model);
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

    /// <summary>Bytes one KV block of <paramref name="blockSize"/> slots takes for this model.</summary>
    public static long KvBytesPerBlock(ModelConfig config, int blockSize, DType kvDType) =>
        new KvCacheSpec(config.NumLayers, 1, blockSize, config.NumKvHeads, config.HeadDim, kvDType).BytesPerBlock;

    /// <summary>Creates a runner with a KV pool of <paramref name="numBlocks"/> blocks.</summary>
    public static ModelRunner Create(TransformerModel model, int numBlocks, int blockSize)
    {
        var c = model.Config;
        var spec = new KvCacheSpec(c.NumLayers, numBlocks, blockSize, c.NumKvHeads, c.HeadDim, model.Backend.ActivationDType);
        return new ModelRunner(model, model.Backend.Attention.CreateCache(spec));
    }

    /// <summary>Copies a KV block (copy-on-write of a shared block).</summary>
    public void CopyBlock(int src, int dst) => Cache.CopyBlock(src, dst);

    /// <summary>Runs the step; writes float32 logits [LogitRows.Length, VocabSize] into <paramref name="logits"/>.</summary>
    public void Execute(ForwardBatch batch, Span<float> logits)
    {
        var hidden = Forward(batch);
        var head = _ws.Logits(batch.LogitRows.Length, VocabSize);
        Model.LmHead.Forward(hidden, head);
        Backend.DownloadF32(head, logits[..(batch.LogitRows.Length * VocabSize)]);
    }

    /// <summary>Runs the step; writes the final-normed hidden states [LogitRows.Length, HiddenSize] (for embeddings).</summary>
    public void ExecuteHidden(ForwardBatch batch, Span<float> hidden)
    {
        var h = Forward(batch);
        Backend.DownloadF32(h, hidden[..(batch.LogitRows.Length * HiddenSize)]);
    }

    /// <summary>The decoder stack; returns the final-normed hidden rows selected by LogitRows.</summary>
    private Tensor Forward(ForwardBatch batch)
    {
        var c = Config;
        var k = Backend.Kernels;
        int t = batch.TokenIds.Length;
        if (t == 0 || batch.Positions.Length != t || batch.Attention.NumTokens != t)
            throw new ArgumentException("batch token ids, positions and attention metadata disagree on the token count");
        var s = _ws.Step(t);
        Backend.Upload(System.Runtime.InteropServices.MemoryMarshal.AsBytes(batch.TokenIds.AsSpan()), DType.I32, s.Ids);
        Backend.Upload(System.Runtime.InteropServices.MemoryMarshal.AsBytes(batch.Positions.AsSpan()), DType.I32, s.Positions);
        Backend.Attention.Prepare(batch.Attention);

        k.Embedding(Model.Embedding, s.Ids, c.EmbeddingScale, s.Residual);
        Tensor? pending = null; // output of the previous sub-block, still to be added to the residual
        for (int layer = 0; layer < c.NumLayers; layer++)
        {
            var w = Model.Layers[layer];
            NormInto(pending, w.InputNorm, s);
            Attention(layer, w, s, batch.Attention);
            NormInto(s.O, w.PostAttentionNorm, s);
            Mlp(w, s);
            pending = s.MlpOut;
        }
        NormInto(pending, Model.FinalNorm, s);
        if (batch.LogitRows.Length == t && IsIdentity(batch.LogitRows)) return s.Normed;
        var rows = _ws.Rows(batch.LogitRows.Length, HiddenSize);
        Backend.Upload(System.Runtime.InteropServices.MemoryMarshal.AsBytes(batch.LogitRows.AsSpan()), DType.I32, rows.Index);
        k.GatherRows(s.Normed, rows.Index, rows.Gathered);
        return rows.Gathered;
    }

    private void NormInto(Tensor? add, Tensor weight, Workspace.StepTensors s)
    {
        var k = Backend.Kernels;
        if (add is null) k.RmsNorm(s.Residual, weight, Config.RmsNormEps, Config.NormWeightOffset, s.Normed);
        else k.AddRmsNorm(add, s.Residual, weight, Config.RmsNormEps, Config.NormWeightOffset, s.Normed);
    }

    private void Attention(int layer, LayerWeights w, Workspace.StepTensors s, AttentionMetadata meta)
    {
        var c = Config;
        var k = Backend.Kernels;
        int t = s.Ids.Rows;
        w.Q.Forward(s.Normed, s.Q);
        w.K.Forward(s.Normed, s.K);
        w.V.Forward(s.Normed, s.V);
        if (w.QNorm is not null && w.KNorm is not null)
        {
            var q = s.Q.View(t * c.NumHeads, c.HeadDim);
            var kk = s.K.View(t * c.NumKvHeads, c.HeadDim);
            k.RmsNorm(q, w.QNorm, c.RmsNormEps, 0, q);
            k.RmsNorm(kk, w.KNorm, c.RmsNormEps, 0, kk);
        }
        k.Rope(s.Q, s.K, s.Positions, Model.CosSin, c.HeadDim);
        var p = new AttentionParams(c.NumHeads, c.NumKvHeads, c.HeadDim, 1f / MathF.Sqrt(c.HeadDim), c.SlidingWindows[layer]);
        Backend.Attention.Forward(layer, s.Q, s.K, s.V, Cache, meta, p, s.AttnOut);
        w.O.Forward(s.AttnOut, s.O);
    }

    private void Mlp(LayerWeights w, Workspace.StepTensors s)
    {
        var c = Config;
        var k = Backend.Kernels;
        if (w.Router is not null)
        {
            w.Router.Forward(s.Normed, s.RouterLogits!);
            k.Moe(s.Normed, s.RouterLogits!, w.ExpertsGateUp!, w.ExpertsDown!, c.NumExpertsPerToken, renormalize: true, c.Activation, s.MlpOut);
            return;
        }
        w.GateUp!.Forward(s.Normed, s.GateUp);
        k.ActAndMul(s.GateUp, c.Activation, s.Act);
        w.Down!.Forward(s.Act, s.MlpOut);
    }

    private static bool IsIdentity(int[] rows)
    {
        for (int i = 0; i < rows.Length; i++) if (rows[i] != i) return false;
        return true;
    }

    /// <summary>Frees the KV cache and scratch tensors (not the model).</summary>
    public void Dispose()
    {
        _ws.Dispose();
        Cache.Dispose();
    }
}
