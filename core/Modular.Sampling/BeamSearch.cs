namespace Modular.Sampling;

/// <summary>One continuation proposed by a beam-search step: beam <see cref="BeamIndex"/> extended by <see cref="TokenId"/>.</summary>
/// <param name="BeamIndex">Index of the parent beam in the step's input.</param>
/// <param name="TokenId">The appended token.</param>
/// <param name="CumLogprob">Parent cumulative logprob plus the token's logprob.</param>
/// <param name="Score">Length-penalized score used for ranking (see <see cref="BeamSearch.Score"/>).</param>
public readonly record struct BeamCandidate(int BeamIndex, int TokenId, float CumLogprob, float Score);

/// <summary>Result of one beam-search step.</summary>
/// <param name="Live">The best <see cref="BeamSearch.Width"/> non-EOS continuations, best first: the next beams.</param>
/// <param name="Finished">Every continuation ending in EOS that reached a beam's top 2·width, best first.</param>
public sealed record BeamStep(IReadOnlyList<BeamCandidate> Live, IReadOnlyList<BeamCandidate> Finished);

/// <summary>
/// The ranking logic of vLLM's offline beam search, as pure functions the engine drives. Each step expands every
/// beam by its 2·width most likely tokens (enough that width live beams remain even if width of them are EOS);
/// EOS continuations move to the finished pool, the rest compete for the width live slots by
/// cumulative_logprob / length^length_penalty, where length counts the prompt and all tokens but a final EOS.
/// At the end the engine pools finished and live beams and keeps the best width by the same score
/// (<see cref="SelectBest"/>).
/// </summary>
public sealed class BeamSearch
{
    /// <summary>Creates a ranking policy.</summary>
    /// <param name="width">Beam width (vLLM: n for beam search); at least 1.</param>
    /// <param name="lengthPenalty">Exponent on the sequence length in the score.</param>
    /// <param name="eosTokenIds">Tokens that finish a beam; empty for ignore_eos.</param>
    public BeamSearch(int width, float lengthPenalty = 1f, IReadOnlyList<int>? eosTokenIds = null)
    {
        if (width < 1) throw new ArgumentOutOfRangeException(nameof(width), $"beam width must be at least 1, got {width}");
        if (!float.IsFinite(lengthPenalty)) throw new ArgumentOutOfRangeException(nameof(lengthPenalty), $"length_penalty must be finite, got {lengthPenalty}");
        Width = width;
        LengthPenalty = lengthPenalty;
        EosTokenIds = eosTokenIds ?? Array.Empty<int>();
    }

    /// <summary>Beam width.</summary>
    public int Width { get; }
    /// <summary>Exponent on the length in the score.</summary>
    public float LengthPenalty { get; }
    /// <summary>Tokens that finish a beam.</summary>
    public IReadOnlyList<int> EosTokenIds { get; }

    /// <summary>
    /// vLLM's beam score: cumulative logprob / length^penalty, where length excludes a final EOS token.
    /// </summary>
    /// <param name="cumLogprob">Sum of the generated tokens' logprobs.</param>
    /// <param name="length">Number of tokens in the sequence (prompt included), counting a final EOS.</param>
    /// <param name="endsWithEos">Whether the last token is EOS.</param>
    /// <param name="lengthPenalty">The exponent.</param>
    public static float Score(float cumLogprob, int length, bool endsWithEos, float lengthPenalty)
    {
        int effective = endsWithEos ? length - 1 : length;
        if (effective < 1) effective = 1;
        return (float)(cumLogprob / Math.Pow(effective, lengthPenalty));
    }

    /// <summary>
    /// Expands the beams by one token.
    /// </summary>
    /// <param name="cumLogprobs">Cumulative logprob of each live beam.</param>
    /// <param name="lengths">Token count of each beam before this step (prompt included, as vLLM counts).</param>
    /// <param name="logprobRows">[beams, vocabSize] log-probabilities of the next token for each beam.</param>
    /// <param name="vocabSize">Row length.</param>
    public BeamStep Step(ReadOnlySpan<float> cumLogprobs, ReadOnlySpan<int> lengths, ReadOnlySpan<float> logprobRows, int vocabSize)
    {
        int beams = cumLogprobs.Length;
        if (beams == 0) throw new ArgumentException("BeamSearch.Step: no beams given");
        if (lengths.Length != beams)
            throw new ArgumentException($"BeamSearch.Step: {beams} cumulative logprobs but {lengths.Length} lengths");
        if (vocabSize <= 0 || logprobRows.Length != (long)beams * vocabSize)
            throw new ArgumentException($"BeamSearch.Step: logprob rows hold {logprobRows.Length} values, expected {beams} beams × vocabulary {vocabSize}");

        int perBeam = Math.Min(2 * Width, vocabSize);
        var ids = new int[perBeam];
        var values = new float[perBeam];
        var live = new List<BeamCandidate>(beams * perBeam);
        var finished = new List<BeamCandidate>();
        for (int b = 0; b < beams; b++)
        {
            int n = TopSelection.Largest(logprobRows.Slice(b * vocabSize, vocabSize), perBeam, ids, values);
            for (int i = 0; i < n; i++)
            {
                float cum = cumLogprobs[b] + values[i];
                bool eos = IsEos(ids[i]);
                var candidate = new BeamCandidate(b, ids[i], cum, Score(cum, lengths[b] + 1, eos, LengthPenalty));
                (eos ? finished : live).Add(candidate);
            }
        }
        live.Sort(Compare);
        finished.Sort(Compare);
        if (live.Count > Width) live.RemoveRange(Width, live.Count - Width);
        return new BeamStep(live, finished);
    }

    /// <summary>
    /// Final selection: indices of the best <see cref="Width"/> hypotheses (finished and still-live pooled) by score.
    /// </summary>
    /// <param name="cumLogprobs">Cumulative logprob of each hypothesis.</param>
    /// <param name="lengths">Token count of each (prompt included, a final EOS included).</param>
    /// <param name="endsWithEos">Whether each ends with EOS.</param>
    public int[] SelectBest(ReadOnlySpan<float> cumLogprobs, ReadOnlySpan<int> lengths, ReadOnlySpan<bool> endsWithEos)
    {
        int count = cumLogprobs.Length;
        if (lengths.Length != count || endsWithEos.Length != count)
            throw new ArgumentException($"BeamSearch.SelectBest: {count} logprobs, {lengths.Length} lengths, {endsWithEos.Length} EOS flags; they must match");
        var scores = new float[count];
        var order = new int[count];
        for (int i = 0; i < count; i++)
        {
            scores[i] = Score(cumLogprobs[i], lengths[i], endsWithEos[i], LengthPenalty);
            order[i] = i;
        }
        // Stable on ties (lower index first), like Python's sorted(..., reverse=True).
        Array.Sort(order, (a, b) => scores[a] != scores[b] ? scores[b].CompareTo(scores[a]) : a.CompareTo(b));
        return order[..Math.Min(Width, count)];
    }

    private bool IsEos(int tokenId)
    {
        for (int i = 0; i < EosTokenIds.Count; i++)
            if (EosTokenIds[i] == tokenId) return true;
        return false;
    }

    // Best first; ties keep vLLM's insertion order (lower beam, then more likely token, then lower id).
    private static int Compare(BeamCandidate a, BeamCandidate b)
    {
        if (a.Score != b.Score) return b.Score.CompareTo(a.Score);
        if (a.BeamIndex != b.BeamIndex) return a.BeamIndex.CompareTo(b.BeamIndex);
        if (a.CumLogprob != b.CumLogprob) return b.CumLogprob.CompareTo(a.CumLogprob);
        return a.TokenId.CompareTo(b.TokenId);
    }
}
