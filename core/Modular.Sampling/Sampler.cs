using System.Numerics.Tensors;
using Modular.Abstractions;

namespace Modular.Sampling;

/// <summary>
/// The default sampler, following vLLM v1. Per row: log-probabilities of the raw model output (vLLM's default
/// logprobs_mode=raw_logprobs) are taken first; then logit_bias, the allowed-token mask, min_tokens, repetition,
/// frequency and presence penalties; then either the argmax (temperature ≈ 0, ties to the lowest id) or
/// temperature, min-p, top-k, top-p and one draw from the sequence's own random stream, so a seeded sequence gets
/// the same tokens whatever else is in the batch.
/// </summary>
/// <remarks>
/// Scratch buffers are sized on the first call and reused, so steady-state steps allocate only the results.
/// The caller's logits are left unchanged. One instance per engine loop: it is not thread-safe.
/// </remarks>
public sealed class Sampler : ISampler
{
    private readonly LogitsProcessor _processor = new();
    private readonly ProbabilitySampler _random = new();
    private float[] _work = [];
    private int[] _topIds = [];
    private float[] _topLogprobs = [];

    /// <inheritdoc />
    public void Sample(Span<float> logits, int vocabSize, IReadOnlyList<SamplingSequence> sequences, Span<SampledToken> results)
    {
        ArgumentNullException.ThrowIfNull(sequences);
        if (vocabSize <= 0)
            throw new ArgumentOutOfRangeException(nameof(vocabSize), $"vocabSize must be positive, got {vocabSize}");
        int rows = sequences.Count;
        if ((long)rows * vocabSize > logits.Length)
            throw new ArgumentException($"logits: holds {logits.Length} values but {rows} sequences × vocabulary {vocabSize} are needed");
        if (results.Length < rows)
            throw new ArgumentException($"results: holds {results.Length} entries but there are {rows} sequences");
        if (_work.Length < vocabSize) _work = new float[vocabSize];

        for (int r = 0; r < rows; r++)
            results[r] = SampleRow(logits.Slice(r * vocabSize, vocabSize), sequences[r], r);
    }

    private SampledToken SampleRow(ReadOnlySpan<float> raw, SamplingSequence sequence, int rowIndex)
    {
        var p = sequence.Params;
        var work = _work.AsSpan(0, raw.Length);
        raw.CopyTo(work);
        _processor.Apply(work, sequence);

        int token = p.IsGreedy ? Argmax(work, rowIndex) : _random.Sample(work, p, sequence.Rng, rowIndex);

        float lse = Logprobs.LogSumExp(raw);
        return new SampledToken(token, raw[token] - lse, p.Logprobs is int n ? TopAlternatives(raw, n, lse) : null);
    }

    private static int Argmax(ReadOnlySpan<float> work, int rowIndex)
    {
        // IndexOfMax returns the first maximal index, which gives vLLM's (torch.argmax) lowest-id tie break.
        int id = TensorPrimitives.IndexOfMax(work);
        float v = work[id];
        if (float.IsNaN(v) || float.IsNegativeInfinity(v))
            throw new InvalidOperationException(
                $"Sampler: row {rowIndex} has no usable logit after logit_bias, the allowed-token mask, min_tokens and penalties " +
                $"(maximum is {v}); the guided-decoding mask may allow nothing, or the model produced NaN");
        return id;
    }

    private (int TokenId, float Logprob)[] TopAlternatives(ReadOnlySpan<float> raw, int n, float lse)
    {
        n = Math.Min(n, raw.Length);
        if (_topIds.Length < n)
        {
            _topIds = new int[n];
            _topLogprobs = new float[n];
        }
        int count = TopSelection.Largest(raw, n, _topIds, _topLogprobs);
        var top = new (int, float)[count];
        for (int i = 0; i < count; i++) top[i] = (_topIds[i], _topLogprobs[i] - lse);
        return top;
    }
}
