using System.Text;
using System.Text.Unicode;
using Modular.Abstractions;

namespace Modular.Tokenization;

/// <summary>
/// A Hugging Face tokenizer loaded from a model directory (<c>tokenizer.json</c> or <c>tokenizer.json.gz</c>, plus
/// <c>tokenizer_config.json</c>, <c>generation_config.json</c> and <c>chat_template.jinja</c> when present), producing
/// the same ids as transformers: byte-level BPE (Llama-3, Qwen, GPT-2) and SentencePiece-style BPE with byte fallback
/// (Llama-2, Mistral). Immutable after loading and safe to use from several threads.
/// </summary>
public sealed class HfTokenizer : ITokenVocabulary
{
    private readonly ISegmentEncoder _encoder;
    private readonly AddedTokenMatcher _matcher;
    private readonly int[] _prefixIds, _suffixIds;
    private readonly string?[] _tokens;
    private readonly byte[][] _decodeBytes;
    private readonly bool[] _isSpecial;
    private readonly bool[] _isByteToken;
    private readonly Dictionary<string, int> _vocab;
    private readonly Dictionary<string, int> _added;
    private readonly int _stripLeadingSpaces;
    private readonly bool _cleanUpSpaces;
    private readonly int[] _eosIds;

    /// <summary>Largest vocabulary accepted (real tokenizers have at most a few hundred thousand ids).</summary>
    public const int MaxVocabSize = 1 << 24;

    /// <summary>Number of token ids (highest id + 1), added tokens included.</summary>
    public int VocabSize { get; }
    /// <summary>The beginning-of-sequence token text from tokenizer_config.json, if any.</summary>
    public string? BosToken { get; }
    /// <summary>Id of <see cref="BosToken"/>, if it has one.</summary>
    public int? BosTokenId { get; }
    /// <summary>The end-of-sequence token text from tokenizer_config.json, if any.</summary>
    public string? EosToken { get; }
    /// <summary>End-of-sequence ids: generation_config.json's <c>eos_token_id</c> (int or list), then <see cref="EosToken"/>'s id.</summary>
    public IReadOnlyList<int> EosIds => _eosIds;
    /// <summary>Jinja chat template: chat_template.jinja, else tokenizer_config.json "chat_template" ("default" of a list).</summary>
    public string? ChatTemplate { get; }
    /// <summary>The file the vocabulary was read from.</summary>
    public string TokenizerPath { get; }
    /// <summary>True for byte-level BPE (GPT-2 alphabet), false for SentencePiece-style BPE.</summary>
    public bool IsByteLevel { get; }

    int ITokenVocabulary.Count => VocabSize;

    private HfTokenizer(TokenizerSpec spec, TokenizerConfig config)
    {
        TokenizerPath = spec.TokenizerPath;
        IsByteLevel = spec.ByteLevel;
        _vocab = spec.Vocab;
        _encoder = spec.ByteLevel ? new ByteLevelBpeEncoder(spec) : new ByteFallbackBpeEncoder(spec);
        _matcher = new AddedTokenMatcher(spec.AddedTokens);
        _stripLeadingSpaces = spec.DecodeStripLeadingSpaces;
        _cleanUpSpaces = config.CleanUpTokenizationSpaces;

        _added = new Dictionary<string, int>(StringComparer.Ordinal);
        int maxId = -1;
        foreach (var id in spec.Vocab.Values) maxId = Math.Max(maxId, id);
        foreach (var t in spec.AddedTokens)
        {
            if (t.Id < 0) throw new InvalidOperationException($"added token \"{t.Content}\" has a negative id {t.Id}");
            maxId = Math.Max(maxId, t.Id);
            _added[t.Content] = t.Id;
        }
        // Ids size the lookup arrays below; a hostile file must not be able to ask for gigabytes.
        if (maxId >= MaxVocabSize) throw new InvalidOperationException($"token id {maxId} exceeds the limit of {MaxVocabSize - 1}");
        VocabSize = maxId + 1;

        _tokens = new string?[VocabSize];
        foreach (var (token, id) in spec.Vocab) if (id >= 0) _tokens[id] = token;
        _isSpecial = new bool[VocabSize];
        foreach (var t in spec.AddedTokens)
        {
            _tokens[t.Id] = t.Content;
            _isSpecial[t.Id] = t.Special;
        }

        BosToken = config.BosToken;
        EosToken = config.EosToken;
        BosTokenId = BosToken is null ? null : TokenToId(BosToken);
        int? eosId = EosToken is null ? null : TokenToId(EosToken);
        // transformers registers bos/eos and the listed extra tokens as special tokens.
        foreach (var name in config.ExtraSpecialTokens.Append(BosToken).Append(EosToken))
            if (name is not null && TokenToId(name) is int sid) _isSpecial[sid] = true;

        var eos = new List<int>();
        foreach (int id in config.GenerationEosIds) if (!eos.Contains(id)) eos.Add(id);
        if (eosId is int e && !eos.Contains(e)) eos.Add(e);
        _eosIds = [.. eos];

        if (config.AddBosToken is not null || config.AddEosToken is not null)
        {
            // An explicit add_bos_token/add_eos_token rebuilds the template in transformers, replacing tokenizer.json's.
            _prefixIds = config.AddBosToken == true && BosTokenId is int b ? [b] : [];
            _suffixIds = config.AddEosToken == true && eosId is int s ? [s] : [];
        }
        else
        {
            _prefixIds = [.. spec.TemplatePrefix];
            _suffixIds = [.. spec.TemplateSuffix];
        }

        ChatTemplate = config.ChatTemplate;

        _decodeBytes = new byte[VocabSize][];
        _isByteToken = new bool[VocabSize];
        for (int id = 0; id < VocabSize; id++)
            _decodeBytes[id] = _tokens[id] is { } tok ? TokenToBytes(spec, tok, out _isByteToken[id]) : [];
    }

    /// <summary>
    /// Loads the tokenizer of the model directory <paramref name="dir"/>. Throws <see cref="TokenizerLoadException"/>
    /// naming the file when tokenizer.json is missing or a file is corrupt or unsupported.
    /// </summary>
    public static HfTokenizer FromDirectory(string dir)
    {
        if (!Directory.Exists(dir)) throw new TokenizerLoadException(dir, "model directory not found");
        string path = Path.Combine(dir, "tokenizer.json");
        if (!File.Exists(path) && File.Exists(path + ".gz")) path += ".gz";
        if (!File.Exists(path)) throw new TokenizerLoadException(path, "file not found (nor tokenizer.json.gz)");

        var spec = TokenizerJsonReader.Read(path);
        var config = TokenizerConfig.Read(dir);
        ApplyTransformersLlamaPipeline(spec, config);
        try
        {
            return new HfTokenizer(spec, config);
        }
        catch (Exception e) when (e is not TokenizerLoadException and (ArgumentException or InvalidOperationException or FormatException))
        {
            throw new TokenizerLoadException(path, "cannot build the tokenizer: " + e.Message, e);
        }
    }

    /// <summary>
    /// transformers 5 does not run tokenizer.json's Llama-2 pipeline (Prepend + Replace normalizer) as written: for
    /// LlamaTokenizer it rebuilds it as a Metaspace pre-tokenizer (no split; the mark is added only when the text does not
    /// already start with one; "always" when legacy, else "first") and a decoder that strips one leading space. We do the
    /// same so ids match what the checkpoints are served with (e.g. " hi" encodes as "▁hi", not "▁▁hi").
    /// </summary>
    private static void ApplyTransformersLlamaPipeline(TokenizerSpec spec, TokenizerConfig config)
    {
        if (spec.ByteLevel || config.TokenizerClass is not ("LlamaTokenizer" or "LlamaTokenizerFast")) return;
        bool addPrefixSpace = config.AddPrefixSpace ?? true;
        spec.Normalizers.Clear();
        spec.Metaspace = '\u2581';
        spec.MetaspaceSplit = false;
        spec.MetaspacePrepend = !addPrefixSpace ? PrependScheme.Never : (config.Legacy ?? true) ? PrependScheme.Always : PrependScheme.First;
        spec.DecodeSpaceMark = '\u2581';
        spec.DecodeByteFallback = true;
        spec.DecodeStripLeadingSpaces = addPrefixSpace ? 1 : 0;
    }

    // The bytes the decoder turns one token string into.
    private static byte[] TokenToBytes(TokenizerSpec spec, string token, out bool isByteToken)
    {
        isByteToken = false;
        if (spec.DecodeByteLevel) return ByteLevelAlphabet.TryDecode(token) ?? Encoding.UTF8.GetBytes(token);
        if (spec.DecodeByteFallback && token.Length == 6 && token.StartsWith("<0x", StringComparison.Ordinal) && token[5] == '>'
            && byte.TryParse(token.AsSpan(3, 2), System.Globalization.NumberStyles.AllowHexSpecifier, null, out byte b))
        {
            isByteToken = true;
            return [b];
        }
        if (spec.DecodeSpaceMark is char mark) token = token.Replace(mark, ' ');
        return Encoding.UTF8.GetBytes(token);
    }

    /// <summary>
    /// Encodes <paramref name="text"/>. Added tokens in the text (e.g. <c>&lt;|im_start|&gt;</c>) become their ids;
    /// with <paramref name="addSpecialTokens"/> the post-processor's BOS/EOS are added as transformers does.
    /// </summary>
    public int[] Encode(string text, bool addSpecialTokens = true)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(text.Length / 3 + 4);
        if (addSpecialTokens) ids.AddRange(_prefixIds);
        var pieces = new List<AddedTokenMatcher.Piece>();
        _matcher.Split(text, pieces);
        foreach (var piece in pieces)
        {
            if (piece.TokenId >= 0) ids.Add(piece.TokenId);
            else if (piece.Start == 0 && piece.Length == text.Length) _encoder.Encode(text, true, ids);
            else _encoder.Encode(text.Substring(piece.Start, piece.Length), piece.Start == 0, ids);
        }
        if (addSpecialTokens) ids.AddRange(_suffixIds);
        return [.. ids];
    }

    /// <summary>
    /// Decodes ids to text as transformers does (ids outside the vocabulary are ignored). With
    /// <paramref name="skipSpecialTokens"/> control tokens are left out.
    /// </summary>
    public string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = false)
    {
        var bytes = new List<byte>(ids.Length * 4);
        for (int i = 0; i < ids.Length; i++)
        {
            int id = ids[i];
            if ((uint)id >= (uint)VocabSize || (skipSpecialTokens && _isSpecial[id])) continue;
            if (!_isByteToken[id])
            {
                bytes.AddRange(_decodeBytes[id]);
                continue;
            }
            // HF's ByteFallback decoder turns a run of <0xNN> tokens into text, or into one U+FFFD per byte when
            // the run is not valid UTF-8 on its own.
            int start = bytes.Count;
            while (i < ids.Length && (uint)ids[i] < (uint)VocabSize && _isByteToken[ids[i]]) bytes.Add(_decodeBytes[ids[i++]][0]);
            i--;
            if (!IsValidUtf8(bytes, start))
            {
                int n = bytes.Count - start;
                bytes.RemoveRange(start, n);
                for (int k = 0; k < n; k++) bytes.AddRange("\uFFFD"u8);
            }
        }
        string text = Encoding.UTF8.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(bytes));
        text = StripLeadingSpaces(text, _stripLeadingSpaces);
        return _cleanUpSpaces ? CleanUpTokenizationSpaces(text) : text;
    }

    private static bool IsValidUtf8(List<byte> bytes, int start) =>
        Utf8.IsValid(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(bytes)[start..]);

    internal static string StripLeadingSpaces(string text, int count)
    {
        int n = 0;
        while (n < count && n < text.Length && text[n] == ' ') n++;
        return n == 0 ? text : text[n..];
    }

    /// <summary>transformers' <c>clean_up_tokenization_spaces</c>: drops the space before punctuation and English contractions.</summary>
    internal static string CleanUpTokenizationSpaces(string text) => text
        .Replace(" .", ".").Replace(" ?", "?").Replace(" !", "!").Replace(" ,", ",")
        .Replace(" ' ", "'").Replace(" n't", "n't").Replace(" 'm", "'m").Replace(" 's", "'s")
        .Replace(" 've", "'ve").Replace(" 're", "'re");

    /// <summary>Starts streaming detokenization of generated ids that follow <paramref name="promptIds"/>.</summary>
    public IncrementalDetokenizer CreateDetokenizer(IReadOnlyList<int> promptIds, bool skipSpecialTokens) =>
        new(this, promptIds, skipSpecialTokens);

    /// <summary>True for control tokens (special added tokens, bos/eos and the config's extra special tokens).</summary>
    public bool IsSpecial(int id) => (uint)id < (uint)VocabSize && _isSpecial[id];

    /// <summary>The token string of <paramref name="id"/> as stored in tokenizer.json, or null.</summary>
    public string? IdToToken(int id) => (uint)id < (uint)VocabSize ? _tokens[id] : null;

    /// <summary>The id of an exact token string (added tokens first, then the model vocabulary), or null.</summary>
    public int? TokenToId(string token) =>
        _added.TryGetValue(token, out int a) ? a : _vocab.TryGetValue(token, out int v) ? v : null;

    /// <summary>
    /// The UTF-8 bytes token <paramref name="id"/> contributes to decoded text: byte-level characters mapped back to
    /// bytes, <c>▁</c> as a space, <c>&lt;0xNN&gt;</c> as that byte. Empty for special tokens and unknown ids.
    /// Precomputed at load; the leading-space strip of the first decoded token is not applied here.
    /// </summary>
    public ReadOnlySpan<byte> TokenBytes(int id) =>
        (uint)id < (uint)VocabSize && !_isSpecial[id] ? _decodeBytes[id] : ReadOnlySpan<byte>.Empty;

    // What a token adds when decoding, special tokens included (their text) — the detokenizer's view.
    internal ReadOnlySpan<byte> DecodeBytes(int id) => (uint)id < (uint)VocabSize ? _decodeBytes[id] : ReadOnlySpan<byte>.Empty;

    internal int LeadingSpacesToStrip => _stripLeadingSpaces;
}
