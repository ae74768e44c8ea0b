namespace Modular.Tokenization;

/// <summary>One step of tokenizer.json's <c>normalizer</c>, applied in order to each plain text segment.</summary>
internal abstract record NormalizerStep
{
    public abstract string Apply(string text);

    /// <summary>NFC/NFD/NFKC/NFKD.</summary>
    public sealed record Unicode(UnicodeNormalizer Normalizer) : NormalizerStep
    {
        public override string Apply(string text) => Normalizer.Normalize(text);
    }

    /// <summary>Prepends a fixed string to non-empty text (legacy Llama-2 tokenizer.json: <c>"▁"</c>).</summary>
    public sealed record Prepend(string Prefix) : NormalizerStep
    {
        public override string Apply(string text) => text.Length == 0 ? text : Prefix + text;
    }

    /// <summary>Replaces every occurrence of a literal string.</summary>
    public sealed record Replace(string From, string To) : NormalizerStep
    {
        public override string Apply(string text) => text.Replace(From, To, StringComparison.Ordinal);
    }
}

/// <summary>How a SentencePiece-style (Metaspace) pre-tokenizer adds the word-boundary mark.</summary>
internal enum PrependScheme { Never, First, Always }

/// <summary>
/// Everything the encoder and decoder need from tokenizer.json and tokenizer_config.json, already resolved
/// (for example transformers' rebuilt Llama pipeline applied), so that the runtime classes hold no JSON.
/// </summary>
internal sealed class TokenizerSpec
{
    public required string TokenizerPath { get; init; }
    public required Dictionary<string, int> Vocab { get; init; }
    public required List<(string Left, string Right)> Merges { get; init; }
    public required List<AddedToken> AddedTokens { get; init; }

    // model
    public bool ByteFallback { get; init; }
    public string? UnknownToken { get; init; }
    public bool FuseUnknown { get; init; }
    public bool IgnoreMerges { get; init; }

    // normalizer + pre-tokenizer
    public List<NormalizerStep> Normalizers { get; set; } = [];
    /// <summary>True when a ByteLevel pre-tokenizer is present: GPT-2 style byte-level BPE.</summary>
    public bool ByteLevel { get; init; }
    /// <summary>Split regex for byte-level BPE (tokenizer.json Split pattern, or GPT-2's when ByteLevel use_regex).</summary>
    public string? SplitRegex { get; init; }
    public bool ByteLevelAddPrefixSpace { get; init; }
    /// <summary>Metaspace replacement character (U+2581) when a Metaspace pre-tokenizer is used, else null.</summary>
    public char? Metaspace { get; set; }
    public PrependScheme MetaspacePrepend { get; set; }
    public bool MetaspaceSplit { get; set; }

    // decoder
    public bool DecodeByteLevel { get; init; }
    public bool DecodeByteFallback { get; set; }
    /// <summary>Character the decoder turns into a space (U+2581 for SentencePiece), or null.</summary>
    public char? DecodeSpaceMark { get; set; }
    /// <summary>How many leading spaces the decoder strips from the start of the decoded text.</summary>
    public int DecodeStripLeadingSpaces { get; set; }
    public bool CleanUpTokenizationSpaces { get; set; }

    // post-processor (single sequence)
    public List<int> TemplatePrefix { get; set; } = [];
    public List<int> TemplateSuffix { get; set; } = [];
}
