namespace Modular.Abstractions;

/// <summary>
/// The byte strings of a tokenizer's vocabulary, as guided decoding needs them: what bytes each token appends
/// to the output.
/// </summary>
public interface ITokenVocabulary
{
    /// <summary>Number of token ids (may be less than the model's padded vocab size).</summary>
    int Count { get; }
    /// <summary>The UTF-8 bytes token <paramref name="id"/> contributes when decoded (empty for special tokens).</summary>
    ReadOnlySpan<byte> TokenBytes(int id);
    /// <summary>True for control tokens (BOS, EOS, chat markers) that never appear inside constrained text.</summary>
    bool IsSpecial(int id);
    /// <summary>End-of-sequence ids; allowed exactly when the constrained output is complete.</summary>
    IReadOnlyList<int> EosIds { get; }
}
