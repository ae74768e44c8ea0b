using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace Modular.Tokenization;

/// <summary>
/// Byte-level BPE (GPT-2, Llama-3, Qwen) on Microsoft.ML.Tokenizers' <see cref="BpeTokenizer"/>: the split regex of
/// tokenizer.json as pre-tokenizer, bytes mapped through the GPT-2 alphabet, merges by rank. Added tokens never
/// reach it (<see cref="AddedTokenMatcher"/> takes them out first), so it is built without special tokens.
/// </summary>
internal sealed class ByteLevelBpeEncoder : ISegmentEncoder
{
    private readonly BpeTokenizer _bpe;
    private readonly bool _addPrefixSpace;
    private readonly List<NormalizerStep> _normalizers;

    public ByteLevelBpeEncoder(TokenizerSpec spec)
    {
        var merges = new List<string>(spec.Merges.Count);
        foreach (var (left, right) in spec.Merges) merges.Add(left + " " + right);
        // Without a Split regex, HF's ByteLevel(use_regex=false) keeps each segment whole; ".+" with Singleline does the same.
        var regex = new Regex(spec.SplitRegex ?? "(?s).+", RegexOptions.Compiled | RegexOptions.CultureInvariant);
        _bpe = BpeTokenizer.Create(new BpeOptions(spec.Vocab)
        {
            Merges = merges,
            ByteLevel = true,
            PreTokenizer = new RegexPreTokenizer(regex, null),
            UnknownToken = spec.UnknownToken,
        });
        _addPrefixSpace = spec.ByteLevelAddPrefixSpace;
        _normalizers = spec.Normalizers;
    }

    public void Encode(string text, bool atTextStart, List<int> ids)
    {
        if (text.Length == 0) return;
        foreach (var step in _normalizers) text = step.Apply(text);
        if (_addPrefixSpace && text[0] != ' ') text = " " + text;
        foreach (int id in _bpe.EncodeToIds(text, considerPreTokenization: true, considerNormalization: false)) ids.Add(id);
    }
}
