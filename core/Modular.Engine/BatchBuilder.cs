using Modular.Abstractions;
using Modular.Models;

namespace Modular.Engine;

/// <summary>
/// Flattens a scheduled step into the model's <see cref="ForwardBatch"/>: each sequence's new tokens back to back,
/// their positions, the cache slot each new K/V goes to, the block tables, and the rows that need logits.
/// </summary>
internal static class BatchBuilder
{
    /// <summary>
    /// Builds the batch. <paramref name="firstLogitRow"/>[i] receives the index (into the logits output) of the
    /// first logits row of scheduled sequence i, or -1 when it needs none; its rows are consecutive.
    /// </summary>
    public static ForwardBatch Build(IReadOnlyList<ScheduledSequence> scheduled, int blockSize, int[] firstLogitRow)
    {
        int seqs = scheduled.Count, tokens = 0, maxBlocks = 1, maxSeqLen = 0, maxQuery = 0, rows = 0;
        for (int i = 0; i < seqs; i++)
        {
            var s = scheduled[i];
            tokens += s.NumNewTokens;
            maxBlocks = Math.Max(maxBlocks, s.Sequence.Table.Blocks.Count);
            maxSeqLen = Math.Max(maxSeqLen, s.Start + s.NumNewTokens);
            maxQuery = Math.Max(maxQuery, s.NumNewTokens);
            rows += LogitRowCount(s);
        }

        var ids = new int[tokens];
        var positions = new int[tokens];
        var slots = new int[tokens];
        var queryStart = new int[seqs + 1];
        var seqLens = new int[seqs];
        var blockTables = new int[seqs * maxBlocks];
        Array.Fill(blockTables, -1);
        var logitRows = new int[rows];

        int t = 0, r = 0;
        for (int i = 0; i < seqs; i++)
        {
            var s = scheduled[i];
            var seq = s.Sequence;
            var all = seq.Tokens;
            var blocks = seq.Table.Blocks;
            queryStart[i] = t;
            seqLens[i] = s.Start + s.NumNewTokens;
            for (int b = 0; b < blocks.Count; b++) blockTables[i * maxBlocks + b] = blocks[b];
            for (int k = 0; k < s.NumNewTokens; k++)
            {
                int pos = s.Start + k;
                ids[t + k] = all[pos];
                positions[t + k] = pos;
                slots[t + k] = blocks[pos / blockSize] * blockSize + pos % blockSize;
            }
            int count = LogitRowCount(s);
            firstLogitRow[i] = count == 0 ? -1 : r;
            for (int k = s.NumNewTokens - count; k < s.NumNewTokens; k++) logitRows[r++] = t + k;
            t += s.NumNewTokens;
        }
        queryStart[seqs] = t;
        // A step of partial prefill chunks only needs no logits; the runner still wants one row to project.
        if (rows == 0) logitRows = [tokens - 1];

        var meta = new AttentionMetadata
        {
            NumTokens = tokens, NumSeqs = seqs, QueryStartLoc = queryStart, SeqLens = seqLens, BlockTables = blockTables,
            MaxBlocksPerSeq = maxBlocks, SlotMapping = slots, MaxSeqLen = maxSeqLen, MaxQueryLen = maxQuery,
        };
        return new ForwardBatch { TokenIds = ids, Positions = positions, Attention = meta, LogitRows = logitRows };
    }

    /// <summary>Every row of a prompt-logprobs chunk, else the last row when a token is sampled, else none.</summary>
    public static int LogitRowCount(ScheduledSequence s) =>
        s.WantsPromptLogits ? s.NumNewTokens : s.CompletesSequence ? 1 : 0;
}
