using System.Runtime.InteropServices;
using Modular.Abstractions;

namespace Modular.Sampling;

/// <summary>
/// The logits transforms that can change which token is most likely, applied in place to one row in this order:
/// logit_bias, the guided-decoding allowed-token mask, min_tokens, repetition penalty, frequency and presence
/// penalties. Holds per-vocabulary scratch (reused across steps), so one instance must not be shared by threads.
/// </summary>
public sealed class LogitsProcessor
{
    // _seen[id] == _generation marks an id already penalized in the current row, so no clearing is needed per row.
    private int[] _seen = [];
    private int _generation;
    // Output-token counts; entries are reset to zero after each row by walking the same ids.
    private int[] _counts = [];
    // Copy of a token list that is neither an array nor a List<int>, so the loops below can run over spans.
    private int[] _ids = [];

    /// <summary>Applies every transform <paramref name="sequence"/>'s settings ask for, in vLLM's order.</summary>
    public void Apply(Span<float> row, SamplingSequence sequence)
    {
        var p = sequence.Params;
        ApplyLogitBias(row, p.LogitBias);
        ApplyAllowedMask(row, sequence.AllowedMask);
        ApplyMinTokens(row, sequence);
        if (p.RepetitionPenalty != 1f)
            ApplyRepetitionPenalty(row, sequence.PromptIds, sequence.OutputIds, p.RepetitionPenalty);
        if (p.FrequencyPenalty != 0f || p.PresencePenalty != 0f)
            ApplyFrequencyPresencePenalties(row, sequence.OutputIds, p.FrequencyPenalty, p.PresencePenalty);
    }

    /// <summary>Adds each bias to its token's logit (OpenAI logit_bias).</summary>
    public static void ApplyLogitBias(Span<float> row, IReadOnlyDictionary<int, float>? bias)
    {
        if (bias is null || bias.Count == 0) return;
        // Enumerating the concrete Dictionary avoids boxing its enumerator on every step.
        if (bias is Dictionary<int, float> dict)
        {
            foreach (var (id, b) in dict) AddBias(row, id, b);
            return;
        }
        foreach (var (id, b) in bias) AddBias(row, id, b);
    }

    private static void AddBias(Span<float> row, int id, float b)
    {
        if ((uint)id >= (uint)row.Length)
            throw new ArgumentOutOfRangeException(nameof(SamplingParams.LogitBias), $"logit_bias: token id {id} is outside the vocabulary (size {row.Length})");
        row[id] += b;
    }

    /// <summary>
    /// Sets the logit of every token whose bit is clear to -infinity (bit i of word i/64 set = allowed).
    /// A null mask allows everything.
    /// </summary>
    public static void ApplyAllowedMask(Span<float> row, ulong[]? mask)
    {
        if (mask is null) return;
        int words = (row.Length + 63) / 64;
        if (mask.Length < words)
            throw new ArgumentException($"AllowedMask: holds {mask.Length} words but the vocabulary of {row.Length} tokens needs {words}");
        for (int w = 0; w < words; w++)
        {
            // Bits past the vocabulary in the last word are ignored.
            int bitsHere = Math.Min(64, row.Length - w * 64);
            ulong valid = bitsHere == 64 ? ulong.MaxValue : (1UL << bitsHere) - 1;
            ulong banned = ~mask[w] & valid;
            while (banned != 0)
            {
                int bit = System.Numerics.BitOperations.TrailingZeroCount(banned);
                row[w * 64 + bit] = float.NegativeInfinity;
                banned &= banned - 1;
            }
        }
    }

    /// <summary>While fewer than min_tokens are generated, EOS ids and stop_token_ids cannot be chosen.</summary>
    public static void ApplyMinTokens(Span<float> row, SamplingSequence sequence)
    {
        if (sequence.OutputIds.Count >= sequence.Params.MinTokens) return;
        Ban(row, sequence.EosIds, "EosIds");
        Ban(row, sequence.Params.StopTokenIds, "stop_token_ids");
    }

    private static void Ban(Span<float> row, IReadOnlyList<int> ids, string field)
    {
        for (int i = 0; i < ids.Count; i++)
        {
            int id = ids[i];
            if ((uint)id >= (uint)row.Length)
                throw new ArgumentOutOfRangeException(field, $"{field}: token id {id} is outside the vocabulary (size {row.Length})");
            row[id] = float.NegativeInfinity;
        }
    }

    /// <summary>
    /// CTRL / Hugging Face repetition penalty: every token seen in the prompt or the output, once, has a positive
    /// logit divided by <paramref name="penalty"/> and a non-positive one multiplied by it.
    /// </summary>
    public void ApplyRepetitionPenalty(Span<float> row, IReadOnlyList<int> promptIds, IReadOnlyList<int> outputIds, float penalty)
    {
        EnsureVocab(row.Length);
        if (++_generation == int.MaxValue)
        {
            Array.Clear(_seen);
            _generation = 1;
        }
        PenalizeOnce(row, AsSpan(promptIds), penalty, "PromptIds");
        PenalizeOnce(row, AsSpan(outputIds), penalty, "OutputIds");
    }

    private void PenalizeOnce(Span<float> row, ReadOnlySpan<int> ids, float penalty, string field)
    {
        int gen = _generation;
        var seen = _seen;
        foreach (int id in ids)
        {
            CheckId(id, row.Length, field);
            if (seen[id] == gen) continue;
            seen[id] = gen;
            float v = row[id];
            row[id] = v > 0 ? v / penalty : v * penalty;
        }
    }

    /// <summary>
    /// OpenAI penalties over the generated tokens: subtracts frequency × count and, for any token generated at
    /// least once, presence.
    /// </summary>
    public void ApplyFrequencyPresencePenalties(Span<float> row, IReadOnlyList<int> outputIds, float frequency, float presence)
    {
        EnsureVocab(row.Length);
        var ids = AsSpan(outputIds);
        var counts = _counts;
        // Validate before counting so a bad id cannot leave stale counts behind for the next row.
        foreach (int id in ids) CheckId(id, row.Length, "OutputIds");
        foreach (int id in ids) counts[id]++;
        foreach (int id in ids)
        {
            int c = counts[id];
            if (c == 0) continue; // already applied for an earlier occurrence
            row[id] -= frequency * c + presence;
            counts[id] = 0;
        }
    }

    private ReadOnlySpan<int> AsSpan(IReadOnlyList<int> list)
    {
        if (list is int[] array) return array;
        if (list is List<int> l) return CollectionsMarshal.AsSpan(l);
        if (_ids.Length < list.Count) _ids = new int[Math.Max(list.Count, _ids.Length * 2)];
        for (int i = 0; i < list.Count; i++) _ids[i] = list[i];
        return _ids.AsSpan(0, list.Count);
    }

    private static void CheckId(int id, int vocab, string field)
    {
        if ((uint)id >= (uint)vocab)
            throw new ArgumentOutOfRangeException(field, $"{field}: token id {id} is outside the vocabulary (size {vocab})");
    }

    private void EnsureVocab(int vocab)
    {
        if (_seen.Length < vocab)
        {
            _seen = new int[vocab];
            _counts = new int[vocab];
            _generation = 0;
        }
    }
}
