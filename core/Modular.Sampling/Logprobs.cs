using System.Numerics.Tensors;

namespace Modular.Sampling;

/// <summary>
/// Log-probability helpers over one logits row, for sampled-token logprobs, prompt_logprobs and beam search.
/// All are allocation-free; sums are accumulated in double so large vocabularies keep float precision.
/// </summary>
public static class Logprobs
{
    // Exp is evaluated a chunk at a time into a stack buffer, so no scratch row is needed.
    private const int Chunk = 1024;

    /// <summary>log(sum(exp(logits))), computed stably around the row maximum.</summary>
    /// <returns>The log-normalizer; -infinity when every logit is -infinity, NaN when any logit is NaN.</returns>
    public static float LogSumExp(ReadOnlySpan<float> logits)
    {
        if (logits.IsEmpty) throw new ArgumentException("Logprobs.LogSumExp: the logits row is empty");
        float max = TensorPrimitives.Max(logits);
        if (float.IsNaN(max) || float.IsInfinity(max)) return max;
        Span<float> buffer = stackalloc float[Chunk];
        double sum = 0;
        for (int start = 0; start < logits.Length; start += Chunk)
        {
            var src = logits.Slice(start, Math.Min(Chunk, logits.Length - start));
            var dst = buffer[..src.Length];
            TensorPrimitives.Subtract(src, max, dst);
            TensorPrimitives.Exp(dst, dst);
            sum += TensorPrimitives.Sum(dst);
        }
        return max + (float)Math.Log(sum);
    }

    /// <summary>Writes log_softmax(logits) into <paramref name="output"/> (which may be the same span as the input).</summary>
    public static void LogSoftmax(ReadOnlySpan<float> logits, Span<float> output)
    {
        if (output.Length < logits.Length)
            throw new ArgumentException($"Logprobs.LogSoftmax: output holds {output.Length} entries, the row has {logits.Length}");
        float lse = LogSumExp(logits);
        TensorPrimitives.Subtract(logits, lse, output[..logits.Length]);
    }

    /// <summary>The log-probability of one token under softmax(logits).</summary>
    public static float LogProbOf(ReadOnlySpan<float> logits, int tokenId)
    {
        CheckToken(logits, tokenId);
        return logits[tokenId] - LogSumExp(logits);
    }

    /// <summary>
    /// The 1-based rank of a token (1 = most likely): one plus the number of tokens with a strictly larger logit, as
    /// vLLM reports it for sampled and prompt tokens.
    /// </summary>
    public static int RankOf(ReadOnlySpan<float> logits, int tokenId)
    {
        CheckToken(logits, tokenId);
        float v = logits[tokenId];
        int greater = 0;
        for (int i = 0; i < logits.Length; i++)
            if (logits[i] > v) greater++;
        return greater + 1;
    }

    /// <summary>
    /// The <paramref name="n"/> most likely tokens with their log-probabilities, most likely first (ties: lower id first).
    /// </summary>
    /// <returns>How many were written: min(n, vocabulary size).</returns>
    public static int TopLogprobs(ReadOnlySpan<float> logits, int n, Span<int> tokenIds, Span<float> logprobs)
    {
        n = Math.Min(n, logits.Length);
        int count = TopSelection.Largest(logits, n, tokenIds, logprobs);
        float lse = LogSumExp(logits);
        TensorPrimitives.Subtract(logprobs[..count], lse, logprobs[..count]);
        return count;
    }

    private static void CheckToken(ReadOnlySpan<float> logits, int tokenId)
    {
        if ((uint)tokenId >= (uint)logits.Length)
            throw new ArgumentOutOfRangeException(nameof(tokenId), $"token id {tokenId} is outside the vocabulary (size {logits.Length})");
    }
}
