using System.Text;
using Modular.Abstractions;

namespace Modular.Guided.Tests;

/// <summary>
/// A small vocabulary for fixture-free tests: every single byte, some multi-byte JSON-ish tokens, and two special
/// tokens (BOS id 0 and EOS, the last id).
/// </summary>
public sealed class TestVocab : ITokenVocabulary
{
    private readonly List<byte[]> _tokens = new();

    /// <summary>Builds the vocabulary.</summary>
    public TestVocab()
    {
        _tokens.Add([]); // BOS (special)
        for (int b = 0; b < 256; b++) _tokens.Add([(byte)b]);
        foreach (var s in new[] { "{\"", "\":", "\",\"", "\"}", "true", "false", "null", "abc", "12", "123", "\":\"", "},{", "]}", "aa", "aaaa", "name", "\"name\"" })
            _tokens.Add(Encoding.UTF8.GetBytes(s));
        _tokens.Add([]); // EOS (special)
    }

    /// <summary>Id of the token with exactly these bytes.</summary>
    public int Id(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        for (int i = _tokens.Count - 1; i >= 0; i--) if (_tokens[i].AsSpan().SequenceEqual(bytes) && !IsSpecial(i)) return i;
        throw new ArgumentException("no token " + text);
    }

    /// <summary>EOS id.</summary>
    public int Eos => _tokens.Count - 1;

    /// <inheritdoc />
    public int Count => _tokens.Count;
    /// <inheritdoc />
    public ReadOnlySpan<byte> TokenBytes(int id) => _tokens[id];
    /// <inheritdoc />
    public bool IsSpecial(int id) => id == 0 || id == _tokens.Count - 1;
    /// <inheritdoc />
    public IReadOnlyList<int> EosIds => [Eos];
}
