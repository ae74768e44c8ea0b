namespace Modular.Tokenization;

/// <summary>
/// Encodes one plain-text segment (text between added tokens, already normalized) into model token ids.
/// </summary>
internal interface ISegmentEncoder
{
    /// <summary>Appends the ids of <paramref name="text"/> to <paramref name="ids"/>.</summary>
    /// <param name="text">The segment.</param>
    /// <param name="atTextStart">True when the segment starts at offset 0 of the caller's text (Metaspace "first").</param>
    /// <param name="ids">Output.</param>
    void Encode(string text, bool atTextStart, List<int> ids);
}
