using System.Text.Json;

namespace Modular.Tokenization;

/// <summary>
/// What tokenizer_config.json, generation_config.json and chat_template.jinja add to tokenizer.json:
/// BOS/EOS, add_bos_token/add_eos_token, extra special tokens, the chat template.
/// </summary>
internal sealed class TokenizerConfig
{
    public string? TokenizerClass { get; private set; }
    public string? BosToken { get; private set; }
    public string? EosToken { get; private set; }
    public bool? AddBosToken { get; private set; }
    public bool? AddEosToken { get; private set; }
    public bool? AddPrefixSpace { get; private set; }
    public bool? Legacy { get; private set; }
    public bool CleanUpTokenizationSpaces { get; private set; }
    public List<string> ExtraSpecialTokens { get; } = [];
    public string? ChatTemplate { get; private set; }
    public List<int> GenerationEosIds { get; } = [];
    public int? GenerationBosId { get; private set; }

    public static TokenizerConfig Read(string dir)
    {
        var config = new TokenizerConfig();
        string path = Path.Combine(dir, "tokenizer_config.json");
        if (File.Exists(path))
        {
            using var doc = TokenizerJsonReader.ParseFile(path);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new TokenizerLoadException(path, "top level must be a JSON object");
            config.TokenizerClass = TokenizerJsonReader.Str(root, "tokenizer_class");
            config.BosToken = TokenText(path, root, "bos_token");
            config.EosToken = TokenText(path, root, "eos_token");
            config.AddBosToken = OptionalBool(root, "add_bos_token");
            config.AddEosToken = OptionalBool(root, "add_eos_token");
            config.AddPrefixSpace = OptionalBool(root, "add_prefix_space");
            config.Legacy = OptionalBool(root, "legacy");
            config.CleanUpTokenizationSpaces = TokenizerJsonReader.Bool(root, "clean_up_tokenization_spaces");
            foreach (var key in new[] { "additional_special_tokens", "extra_special_tokens" })
            {
                if (!root.TryGetProperty(key, out var list)) continue;
                if (list.ValueKind == JsonValueKind.Array)
                    foreach (var item in list.EnumerateArray()) AddIfText(config.ExtraSpecialTokens, item);
                else if (list.ValueKind == JsonValueKind.Object) // newer form: {"name": "<token>"}
                    foreach (var item in list.EnumerateObject()) AddIfText(config.ExtraSpecialTokens, item.Value);
            }
            config.ChatTemplate = ReadTemplateField(path, root);
        }

        string jinja = Path.Combine(dir, "chat_template.jinja");
        if (File.Exists(jinja)) config.ChatTemplate = File.ReadAllText(jinja);

        string gen = Path.Combine(dir, "generation_config.json");
        if (File.Exists(gen))
        {
            using var doc = TokenizerJsonReader.ParseFile(gen);
            var root = doc.RootElement;
            if (root.TryGetProperty("eos_token_id", out var eos))
            {
                if (eos.ValueKind == JsonValueKind.Number) config.GenerationEosIds.Add(eos.GetInt32());
                else if (eos.ValueKind == JsonValueKind.Array)
                    foreach (var e in eos.EnumerateArray())
                    {
                        if (e.ValueKind != JsonValueKind.Number) throw new TokenizerLoadException(gen, "eos_token_id must be an integer or a list of integers");
                        config.GenerationEosIds.Add(e.GetInt32());
                    }
                else if (eos.ValueKind != JsonValueKind.Null) throw new TokenizerLoadException(gen, "eos_token_id must be an integer or a list of integers");
            }
            if (root.TryGetProperty("bos_token_id", out var bos) && bos.ValueKind == JsonValueKind.Number) config.GenerationBosId = bos.GetInt32();
        }
        return config;
    }

    private static void AddIfText(List<string> into, JsonElement item)
    {
        if (item.ValueKind == JsonValueKind.String) into.Add(item.GetString()!);
        else if (item.ValueKind == JsonValueKind.Object && TokenizerJsonReader.Str(item, "content") is { } c) into.Add(c);
    }

    private static bool? OptionalBool(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : null;

    /// <summary>A special-token field: a string, an AddedToken object with "content", or null.</summary>
    private static string? TokenText(string path, JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var v)) return null;
        return v.ValueKind switch
        {
            JsonValueKind.String => v.GetString(),
            JsonValueKind.Null => null,
            JsonValueKind.Object => TokenizerJsonReader.Str(v, "content")
                ?? throw new TokenizerLoadException(path, $"\"{name}\" is an object without \"content\""),
            _ => throw new TokenizerLoadException(path, $"\"{name}\" must be a string, an AddedToken object or null"),
        };
    }

    /// <summary>"chat_template": a string, or a list of {name, template} of which "default" is taken.</summary>
    private static string? ReadTemplateField(string path, JsonElement root)
    {
        if (!root.TryGetProperty("chat_template", out var t)) return null;
        switch (t.ValueKind)
        {
            case JsonValueKind.String: return t.GetString();
            case JsonValueKind.Null: return null;
            case JsonValueKind.Array:
                foreach (var entry in t.EnumerateArray())
                    if (TokenizerJsonReader.Str(entry, "name") == "default") return TokenizerJsonReader.Str(entry, "template");
                return null;
            default: throw new TokenizerLoadException(path, "\"chat_template\" must be a string or a list of {name, template}");
        }
    }
}
