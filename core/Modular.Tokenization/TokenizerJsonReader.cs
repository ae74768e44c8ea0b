using System.IO.Compression;
using System.Text;
using System.Text.Json;

namespace Modular.Tokenization;

/// <summary>Reads a Hugging Face <c>tokenizer.json</c> (or <c>tokenizer.json.gz</c>) into a <see cref="TokenizerSpec"/>.</summary>
internal static class TokenizerJsonReader
{
    /// <summary>GPT-2's split pattern, used by a ByteLevel pre-tokenizer with <c>use_regex: true</c>.</summary>
    public const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    public static JsonDocument ParseFile(string path)
    {
        if (!File.Exists(path)) throw new TokenizerLoadException(path, "file not found");
        try
        {
            using Stream raw = File.OpenRead(path);
            using Stream s = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(raw, CompressionMode.Decompress) : raw;
            return JsonDocument.Parse(s, new JsonDocumentOptions { AllowTrailingCommas = true, MaxDepth = 256 });
        }
        catch (JsonException e)
        {
            throw new TokenizerLoadException(path, $"not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine}): {e.Message}", e);
        }
        catch (InvalidDataException e)
        {
            throw new TokenizerLoadException(path, "not a valid gzip file: " + e.Message, e);
        }
    }

    public static TokenizerSpec Read(string path)
    {
        using var doc = ParseFile(path);
        try
        {
            return Build(path, doc.RootElement);
        }
        catch (Exception e) when (e is InvalidOperationException or KeyNotFoundException or FormatException or ArgumentException)
        {
            throw new TokenizerLoadException(path, "unexpected structure: " + e.Message, e);
        }
    }

    private static TokenizerSpec Build(string path, JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object) throw new TokenizerLoadException(path, "top level must be a JSON object");
        if (!root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object)
            throw new TokenizerLoadException(path, "missing \"model\" object");
        string modelType = Str(model, "type") ?? "BPE";
        if (modelType != "BPE")
            throw new TokenizerLoadException(path, $"model.type \"{modelType}\" is not supported (only BPE)");
        if (!model.TryGetProperty("vocab", out var vocabEl) || vocabEl.ValueKind != JsonValueKind.Object)
            throw new TokenizerLoadException(path, "model.vocab must be an object of token -> id");

        var vocab = new Dictionary<string, int>(vocabEl.GetPropertyCount(), StringComparer.Ordinal);
        foreach (var p in vocabEl.EnumerateObject()) vocab[p.Name] = p.Value.GetInt32();

        var merges = new List<(string, string)>();
        if (model.TryGetProperty("merges", out var mergesEl) && mergesEl.ValueKind == JsonValueKind.Array)
        {
            int index = 0;
            foreach (var m in mergesEl.EnumerateArray())
            {
                if (m.ValueKind == JsonValueKind.String)
                {
                    string s = m.GetString()!;
                    int sp = s.IndexOf(' ', 1); // a pair "a b"; the first part is never empty
                    if (sp < 0) throw new TokenizerLoadException(path, $"model.merges[{index}] \"{s}\" is not \"left right\"");
                    merges.Add((s[..sp], s[(sp + 1)..]));
                }
                else if (m.ValueKind == JsonValueKind.Array && m.GetArrayLength() == 2)
                {
                    merges.Add((m[0].GetString()!, m[1].GetString()!));
                }
                else throw new TokenizerLoadException(path, $"model.merges[{index}] must be a string or a pair");
                index++;
            }
        }

        var added = new List<AddedToken>();
        if (root.TryGetProperty("added_tokens", out var addedEl) && addedEl.ValueKind == JsonValueKind.Array)
        {
            foreach (var t in addedEl.EnumerateArray())
            {
                added.Add(new AddedToken(
                    t.GetProperty("id").GetInt32(), t.GetProperty("content").GetString()!,
                    Bool(t, "special"), Bool(t, "lstrip"), Bool(t, "rstrip"), Bool(t, "single_word"), Bool(t, "normalized", true)));
            }
        }

        // pre-tokenizer
        bool byteLevel = false, byteLevelPrefix = false;
        string? regex = null;
        char? metaspace = null;
        var prepend = PrependScheme.Never;
        bool metaSplit = false;
        foreach (var pt in Flatten(root, "pre_tokenizer", "pretokenizers"))
        {
            string type = Str(pt, "type") ?? "";
            switch (type)
            {
                case "ByteLevel":
                    byteLevel = true;
                    byteLevelPrefix = Bool(pt, "add_prefix_space");
                    if (Bool(pt, "use_regex", true)) regex ??= Gpt2Pattern;
                    break;
                case "Split":
                    var pattern = pt.GetProperty("pattern");
                    string behavior = Str(pt, "behavior") ?? "Isolated";
                    if (behavior != "Isolated" || Bool(pt, "invert"))
                        throw new TokenizerLoadException(path, $"pre_tokenizer Split with behavior \"{behavior}\"/invert is not supported (only Isolated)");
                    regex = pattern.TryGetProperty("Regex", out var rx) ? rx.GetString()
                        : System.Text.RegularExpressions.Regex.Escape(pattern.GetProperty("String").GetString()!);
                    break;
                case "Metaspace":
                    metaspace = (Str(pt, "replacement") ?? "\u2581")[0];
                    prepend = ParsePrepend(pt);
                    metaSplit = Bool(pt, "split", true);
                    break;
                default:
                    throw new TokenizerLoadException(path, $"pre_tokenizer type \"{type}\" is not supported (ByteLevel, Split, Metaspace)");
            }
        }

        var spec = new TokenizerSpec
        {
            TokenizerPath = path,
            Vocab = vocab,
            Merges = merges,
            AddedTokens = added,
            ByteFallback = Bool(model, "byte_fallback"),
            UnknownToken = Str(model, "unk_token"),
            FuseUnknown = Bool(model, "fuse_unk"),
            IgnoreMerges = Bool(model, "ignore_merges"),
            ByteLevel = byteLevel,
            SplitRegex = regex,
            ByteLevelAddPrefixSpace = byteLevelPrefix,
            Metaspace = metaspace,
            MetaspacePrepend = prepend,
            MetaspaceSplit = metaSplit,
            DecodeByteLevel = HasDecoder(root, "ByteLevel"),
        };

        foreach (var n in Flatten(root, "normalizer", "normalizers"))
        {
            string type = Str(n, "type") ?? "";
            spec.Normalizers.Add(type switch
            {
                "NFC" => new NormalizerStep.Unicode(UnicodeNormalizer.For(NormalizationForm.FormC)),
                "NFD" => new NormalizerStep.Unicode(UnicodeNormalizer.For(NormalizationForm.FormD)),
                "NFKC" => new NormalizerStep.Unicode(UnicodeNormalizer.For(NormalizationForm.FormKC)),
                "NFKD" => new NormalizerStep.Unicode(UnicodeNormalizer.For(NormalizationForm.FormKD)),
                "Prepend" => new NormalizerStep.Prepend(n.GetProperty("prepend").GetString()!),
                "Replace" when n.GetProperty("pattern").TryGetProperty("String", out var from)
                    => new NormalizerStep.Replace(from.GetString()!, n.GetProperty("content").GetString()!),
                _ => throw new TokenizerLoadException(path, $"normalizer type \"{type}\" is not supported (NFC/NFD/NFKC/NFKD, Prepend, Replace with a String pattern)"),
            });
        }

        foreach (var d in Flatten(root, "decoder", "decoders"))
        {
            switch (Str(d, "type"))
            {
                case "ByteFallback": spec.DecodeByteFallback = true; break;
                case "Replace":
                    if (d.GetProperty("pattern").TryGetProperty("String", out var from) && d.GetProperty("content").GetString() == " " && from.GetString()!.Length == 1)
                        spec.DecodeSpaceMark = from.GetString()![0];
                    break;
                case "Strip":
                    if (Str(d, "content") == " ") spec.DecodeStripLeadingSpaces = Int(d, "start");
                    break;
                case "Metaspace":
                    spec.DecodeSpaceMark = (Str(d, "replacement") ?? "\u2581")[0];
                    if (ParsePrepend(d) != PrependScheme.Never) spec.DecodeStripLeadingSpaces = 1;
                    break;
            }
        }

        ReadTemplate(path, root, spec);
        return spec;
    }

    private static void ReadTemplate(string path, JsonElement root, TokenizerSpec spec)
    {
        foreach (var p in Flatten(root, "post_processor", "processors"))
        {
            switch (Str(p, "type"))
            {
                case "TemplateProcessing":
                    var ids = new Dictionary<string, int[]>(StringComparer.Ordinal);
                    if (p.TryGetProperty("special_tokens", out var st))
                        foreach (var e in st.EnumerateObject())
                            ids[e.Name] = [.. e.Value.GetProperty("ids").EnumerateArray().Select(x => x.GetInt32())];
                    bool afterSequence = false;
                    foreach (var item in p.GetProperty("single").EnumerateArray())
                    {
                        if (item.TryGetProperty("Sequence", out _)) { afterSequence = true; continue; }
                        string name = item.GetProperty("SpecialToken").GetProperty("id").GetString()!;
                        if (!ids.TryGetValue(name, out var tokenIds))
                            throw new TokenizerLoadException(path, $"post_processor template names \"{name}\", which special_tokens does not define");
                        (afterSequence ? spec.TemplateSuffix : spec.TemplatePrefix).AddRange(tokenIds);
                    }
                    break;
                case "BertProcessing" or "RobertaProcessing":
                    spec.TemplatePrefix.Add(p.GetProperty("cls")[1].GetInt32());
                    spec.TemplateSuffix.Add(p.GetProperty("sep")[1].GetInt32());
                    break;
            }
        }
    }

    internal static PrependScheme ParsePrepend(JsonElement e)
    {
        string? scheme = Str(e, "prepend_scheme");
        if (scheme is null) return Bool(e, "add_prefix_space", true) ? PrependScheme.Always : PrependScheme.Never;
        return scheme switch { "first" => PrependScheme.First, "never" => PrependScheme.Never, _ => PrependScheme.Always };
    }

    private static bool HasDecoder(JsonElement root, string type)
    {
        foreach (var d in Flatten(root, "decoder", "decoders"))
            if (Str(d, "type") == type) return true;
        return false;
    }

    /// <summary>The component under <paramref name="key"/>, with any "Sequence" wrappers expanded in order.</summary>
    private static List<JsonElement> Flatten(JsonElement root, string key, string listKey)
    {
        var result = new List<JsonElement>();
        if (root.TryGetProperty(key, out var el)) Expand(el, listKey, result);
        return result;
    }

    private static void Expand(JsonElement el, string listKey, List<JsonElement> into)
    {
        if (el.ValueKind != JsonValueKind.Object) return;
        if (Str(el, "type") == "Sequence" && el.TryGetProperty(listKey, out var items))
        {
            foreach (var item in items.EnumerateArray()) Expand(item, listKey, into);
            return;
        }
        into.Add(el);
    }

    internal static string? Str(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    internal static bool Bool(JsonElement e, string name, bool fallback = false) =>
        e.TryGetProperty(name, out var v) ? v.ValueKind switch { JsonValueKind.True => true, JsonValueKind.False => false, _ => fallback } : fallback;

    private static int Int(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt32() : 0;
}
