using Modular.Abstractions;

namespace Modular.Models.Verification;

/// <summary>
/// Runs one sequence through a <see cref="ModelRunner"/> without the engine: blocks 0, 1, 2... in order, prefill
/// in chunks then one token per step. For verification and benchmarks of the model itself.
/// </summary>
public sealed class SequenceDriver(ModelRunner runner)
{
    private readonly List<int> _tokens = new();
    private int _computed;

    /// <summary>Tokens in the sequence so far.</summary>
    public IReadOnlyList<int> Tokens => _tokens;

    /// <summary>Appends tokens and computes them; returns logits for every new position [n, vocab], or the last one.</summary>
    public float[] Feed(ReadOnlySpan<int> tokens, bool allLogits) => Feed(tokens, allLogits ? tokens.Length : 1);

    /// <summary>Appends tokens and computes them; returns logits for the last <paramref name="logitRows"/> new positions.</summary>
    public float[] Feed(ReadOnlySpan<int> tokens, int logitRows)
    {
        _tokens.AddRange(tokens);
        int n = tokens.Length, start = _computed, total = start + n, bs = runner.Cache.Spec.BlockSize;
        int blocks = (total + bs - 1) / bs;
        if (blocks > runner.Cache.Spec.NumBlocks) throw new InvalidOperationException($"sequence of {total} tokens needs {blocks} blocks; the pool has {runner.Cache.Spec.NumBlocks}");
        var table = new int[blocks];
        for (int i = 0; i < blocks; i++) table[i] = i;
        var ids = new int[n]; var pos = new int[n]; var slots = new int[n];
        for (int i = 0; i < n; i++) { ids[i] = tokens[i]; pos[i] = start + i; slots[i] = start + i; }
        var meta = new AttentionMetadata
        {
            NumTokens = n, NumSeqs = 1, QueryStartLoc = [0, n], SeqLens = [total], BlockTables = table,
            MaxBlocksPerSeq = blocks, SlotMapping = slots, MaxSeqLen = total, MaxQueryLen = n,
        };
        if (logitRows < 1 || logitRows > n) throw new ArgumentOutOfRangeException(nameof(logitRows), logitRows, $"must be in [1, {n}] for {n} new tokens");
        int[] rows = Enumerable.Range(n - logitRows, logitRows).ToArray();
        var logits = new float[rows.Length * runner.VocabSize];
        runner.Execute(new ForwardBatch { TokenIds = ids, Positions = pos, Attention = meta, LogitRows = rows }, logits);
        _computed = total;
        return logits;
    }
}
