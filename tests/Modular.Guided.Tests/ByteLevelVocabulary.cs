using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Modular.Abstractions;

namespace Modular.Guided.Tests;

/// <summary>
/// Test vocabulary read from a byte-level BPE <c>tokenizer.json(.gz)</c>: each vocab string is mapped back from the
/// GPT-2 byte-to-unicode alphabet to raw bytes; added special tokens are special (no bytes).
/// </summary>
public sealed class ByteLevelVocabulary : ITokenVocabulary
{
    private readonly byte[][] _bytes;
    private readonly bool[] _special;
    private readonly int[] _eos;

    private ByteLevelVocabulary(byte[][] bytes, bool[] special, int[] eos)
    {
        _bytes = bytes;
        _special = special;
        _eos = eos;
    }

    /// <inheritdoc />
    public int Count => _bytes.Length;
    /// <inheritdoc />
    public ReadOnlySpan<byte> TokenBytes(int id) => _bytes[id];
    /// <inheritdoc />
    public bool IsSpecial(int id) => _special[id];
    /// <inheritdoc />
    public IReadOnlyList<int> EosIds => _eos;

    private static readonly Dictionary<string, ByteLevelVocabulary> Cache = new();

    /// <summary>Loads (once per path) a tokenizer file.</summary>
    public static ByteLevelVocabulary Load(string path, params string[] eosTokens)
    {
        lock (Cache)
        {
            if (Cache.TryGetValue(path, out var v)) return v;
            using var stream = File.OpenRead(path);
            using Stream input = path.EndsWith(".gz", StringComparison.Ordinal) ? new GZipStream(stream, CompressionMode.Decompress) : stream;
            using var doc = JsonDocument.Parse(input);
            var unicodeToByte = UnicodeToByte();
            var vocab = doc.RootElement.GetProperty("model").GetProperty("vocab");
            var entries = new List<(int Id, byte[] Bytes, bool Special)>();
            foreach (var p in vocab.EnumerateObject())
            {
                var bytes = new List<byte>();
                foreach (var ch in p.Name) bytes.Add(unicodeToByte[ch]);
                entries.Add((p.Value.GetInt32(), bytes.ToArray(), false));
            }
            var names = new Dictionary<string, int>();
            foreach (var t in doc.RootElement.GetProperty("added_tokens").EnumerateArray())
            {
                int id = t.GetProperty("id").GetInt32();
                var content = t.GetProperty("content").GetString()!;
                bool special = t.GetProperty("special").GetBoolean();
                names[content] = id;
                entries.RemoveAll(e => e.Id == id);
                entries.Add((id, special ? [] : Encoding.UTF8.GetBytes(content), special));
            }
            int n = entries.Max(e => e.Id) + 1;
            var all = new byte[n][];
            var sp = new bool[n];
            for (int i = 0; i < n; i++) all[i] = [];
            foreach (var e in entries) { all[e.Id] = e.Bytes; sp[e.Id] = e.Special; }
            var eos = eosTokens.Where(names.ContainsKey).Select(t => names[t]).ToArray();
            v = new ByteLevelVocabulary(all, sp, eos);
            Cache[path] = v;
            return v;
        }
    }

    /// <summary>The llama3_1 tokenizer from the shared fixtures (skips when absent).</summary>
    public static ByteLevelVocabulary Llama3() =>
        Load(Modular.Testing.Fixtures.Shared("tokenizers", "llama3_1", "tokenizer.json.gz"), "<|end_of_text|>", "<|eot_id|>");

    /// <summary>GPT-2 byte-level alphabet inverse: printable bytes map to themselves, others to U+0100 upwards.</summary>
    private static Dictionary<char, byte> UnicodeToByte()
    {
        var map = new Dictionary<char, byte>();
        int extra = 0;
        for (int b = 0; b < 256; b++)
        {
            bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            map[printable ? (char)b : (char)(256 + extra++)] = (byte)b;
        }
        return map;
    }
}
