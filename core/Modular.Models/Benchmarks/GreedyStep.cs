using Modular.Abstractions;

namespace Modular.Models.Benchmarks;

/// <summary>
/// One model step over fixed block tables, as the model-level benchmarks drive it (no scheduler): the attention
/// metadata built from flat arrays, greedy ids straight from the runner (on GPU backends only the ids leave the device).
/// </summary>
internal static class GreedyStep
{
    /// <summary>Cache slot of <paramref name="position"/> in sequence <paramref name="seq"/>'s row of the block tables.</summary>
    public static int Slot(int[] tables, int seq, int perSeq, int position, int blockSize) =>
        tables[seq * perSeq + position / blockSize] * blockSize + position % blockSize;

    /// <summary>Runs the step and writes one greedy id per entry of <paramref name="rows"/> into <paramref name="next"/>.</summary>
    public static void Run(ModelRunner runner, int[] ids, int[] pos, int[] slots, int[] qsl, int[] lens, int[] tables, int perSeq, int[] rows, int[] next)
    {
        int maxLen = 0, maxQ = 0;
        for (int i = 0; i < lens.Length; i++) { maxLen = Math.Max(maxLen, lens[i]); maxQ = Math.Max(maxQ, qsl[i + 1] - qsl[i]); }
        var meta = new AttentionMetadata
        {
            NumTokens = ids.Length, NumSeqs = lens.Length, QueryStartLoc = qsl, SeqLens = lens, BlockTables = tables,
            MaxBlocksPerSeq = perSeq, SlotMapping = slots, MaxSeqLen = maxLen, MaxQueryLen = maxQ,
        };
        runner.ExecuteGreedy(new ForwardBatch { TokenIds = ids, Positions = pos, Attention = meta, LogitRows = rows }, next);
    }
}
