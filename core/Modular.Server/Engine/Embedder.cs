using Modular.Abstractions;
using Modular.Models;

namespace Modular.Server.Engine;

/// <summary>How token hidden states become one embedding.</summary>
public enum Pooling
{
    /// <summary>The final hidden state of the last token (decoder models' natural summary).</summary>
    Last,
    /// <summary>Mean of all tokens' final hidden states.</summary>
    Mean,
}

/// <summary>
/// Embeddings from a causal LM: runs prompts through the decoder stack (no sampling), pools the final-normed hidden
/// states and L2-normalises them. Uses its own <see cref="ModelRunner"/> and small KV pool over the shared weights so
/// it never touches the generation engine's cache; calls are serialised by a lock.
/// </summary>
/// <remarks>
/// The engine exposes no hook to run a forward pass on its own thread, so embedding passes run on the caller's thread
/// beside the engine loop. That is safe on the CPU backend (kernels keep no shared scratch); GPU backends that share
/// one stream would want the pass queued on the engine thread instead.
/// </remarks>
public sealed class Embedder : IDisposable
{
    private readonly TransformerModel _model;
    private readonly int _blockSize;
    private readonly int _numBlocks;
    private readonly int _maxLen;
    private readonly DType? _kvDType;
    private readonly object _gate = new();
    private ModelRunner? _runner;

    /// <param name="model">Loaded weights (shared with the engine).</param>
    /// <param name="maxModelLen">Longest input accepted.</param>
    /// <param name="kvDType">KV cache dtype, the generation engine's (null: the backend's activation dtype).</param>
    public Embedder(TransformerModel model, int maxModelLen, DType? kvDType = null)
    {
        _kvDType = kvDType;
        _model = model;
        _maxLen = maxModelLen;
        _blockSize = 16;
        _numBlocks = (maxModelLen + _blockSize - 1) / _blockSize;
    }

    /// <summary>Width of the embeddings.</summary>
    public int Dimensions => _model.Config.HiddenSize;

    /// <summary>Longest input in tokens.</summary>
    public int MaxLength => _maxLen;

    /// <summary>Embeds each input (token ids) and returns unit-length vectors.</summary>
    public float[][] Embed(IReadOnlyList<int[]> inputs, Pooling pooling, CancellationToken cancellationToken)
    {
        var result = new float[inputs.Count][];
        lock (_gate)
        {
            _runner ??= ModelRunner.Create(_model, _numBlocks, _blockSize, _kvDType);
            for (int i = 0; i < inputs.Count; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                result[i] = EmbedOne(_runner, inputs[i], pooling);
            }
        }
        return result;
    }

    private float[] EmbedOne(ModelRunner runner, int[] ids, Pooling pooling)
    {
        int n = ids.Length;
        if (n == 0 || n > _maxLen) throw new ArgumentException($"input has {n} tokens; must be 1..{_maxLen}");
        int blocks = (n + _blockSize - 1) / _blockSize;
        var table = new int[blocks];
        var slots = new int[n];
        var positions = new int[n];
        for (int b = 0; b < blocks; b++) table[b] = b;
        for (int t = 0; t < n; t++) slots[t] = positions[t] = t;
        int[] rows;
        if (pooling == Pooling.Last) rows = [n - 1];
        else rows = positions;
        var batch = new ForwardBatch
        {
            TokenIds = ids,
            Positions = positions,
            LogitRows = rows,
            Attention = new AttentionMetadata
            {
                NumTokens = n,
                NumSeqs = 1,
                QueryStartLoc = [0, n],
                SeqLens = [n],
                BlockTables = table,
                MaxBlocksPerSeq = blocks,
                SlotMapping = slots,
                MaxSeqLen = n,
                MaxQueryLen = n,
            },
        };
        int h = runner.HiddenSize;
        var hidden = new float[rows.Length * h];
        runner.ExecuteHidden(batch, hidden);
        // Mean pooling sums the rows: the 1/n of the mean cancels in the L2 normalisation.
        var v = new float[h];
        for (int r = 0; r < rows.Length; r++)
        {
            var row = hidden.AsSpan(r * h, h);
            for (int j = 0; j < h; j++) v[j] += row[j];
        }
        Normalize(v);
        return v;
    }

    /// <summary>Scales <paramref name="v"/> to unit L2 norm (a zero vector stays zero).</summary>
    public static void Normalize(Span<float> v)
    {
        double sum = 0;
        foreach (float x in v) sum += (double)x * x;
        if (sum <= 0) return;
        float inv = (float)(1.0 / Math.Sqrt(sum));
        for (int i = 0; i < v.Length; i++) v[i] *= inv;
    }

    /// <summary>Frees the embedding runner's KV pool and scratch (not the shared weights).</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _runner?.Dispose();
            _runner = null;
        }
    }
}
