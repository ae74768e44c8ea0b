using System.Text;

namespace Modular.Tokenization;

/// <summary>
/// Streams generated tokens to text. Each <see cref="Add"/> returns only complete characters: bytes of a UTF-8
/// character split across tokens (byte-level BPE or <c>&lt;0xNN&gt;</c> fallback) are held back until the character
/// is complete. The concatenation of all returned strings plus <see cref="Flush"/> equals the decode of the generated
/// ids in the context of the prompt.
/// </summary>
/// <remarks>
/// Not applied while streaming: transformers' <c>clean_up_tokenization_spaces</c> (it rewrites text across token
/// boundaries, e.g. " ." to "."), so for tokenizers that enable it the stream can keep spaces a full decode drops.
/// Invalid bytes become U+FFFD per maximal invalid sequence (HF's ByteFallback uses one per byte).
/// Not thread-safe: one instance per sequence.
/// </remarks>
public sealed class IncrementalDetokenizer
{
    private readonly HfTokenizer _tokenizer;
    private readonly bool _skipSpecial;
    private byte[] _pending = new byte[16];
    private int _pendingCount;
    private int _spacesToStrip;

    internal IncrementalDetokenizer(HfTokenizer tokenizer, IReadOnlyList<int> promptIds, bool skipSpecialTokens)
    {
        ArgumentNullException.ThrowIfNull(promptIds);
        _tokenizer = tokenizer;
        _skipSpecial = skipSpecialTokens;
        // The decoder strips the leading space only at the very start of the text, so only without a prompt
        // (or with a prompt that decodes to nothing) does the first generated token lose it.
        bool promptHasText = false;
        for (int i = promptIds.Count - 1; i >= 0 && !promptHasText; i--) promptHasText = !Contributes(promptIds[i]).IsEmpty;
        _spacesToStrip = promptHasText ? 0 : tokenizer.LeadingSpacesToStrip;
        if (promptHasText) SeedWithIncompleteTail(promptIds);
    }

    // A prompt ending inside a character (rare: byte tokens) leaves bytes the first generated tokens complete.
    private void SeedWithIncompleteTail(IReadOnlyList<int> promptIds)
    {
        var tail = new List<byte>();
        for (int i = promptIds.Count - 1; i >= 0 && tail.Count < 4; i--)
        {
            var b = Contributes(promptIds[i]);
            for (int k = b.Length - 1; k >= 0 && tail.Count < 4; k--) tail.Insert(0, b[k]);
        }
        var bytes = tail.ToArray();
        int held = Utf8Tail.IncompleteSuffixLength(bytes);
        if (held == 0) return;
        Array.Copy(bytes, bytes.Length - held, _pending, 0, held);
        _pendingCount = held;
    }

    private ReadOnlySpan<byte> Contributes(int id) =>
        _skipSpecial && _tokenizer.IsSpecial(id) ? ReadOnlySpan<byte>.Empty : _tokenizer.DecodeBytes(id);

    /// <summary>Adds one generated token and returns the text it completes (possibly empty).</summary>
    public string Add(int tokenId)
    {
        var bytes = Contributes(tokenId);
        while (_spacesToStrip > 0 && !bytes.IsEmpty)
        {
            if (bytes[0] == (byte)' ') { bytes = bytes[1..]; _spacesToStrip--; }
            else _spacesToStrip = 0;
        }
        if (bytes.IsEmpty) return "";
        if (_pendingCount + bytes.Length > _pending.Length) Array.Resize(ref _pending, Math.Max(_pending.Length * 2, _pendingCount + bytes.Length));
        bytes.CopyTo(_pending.AsSpan(_pendingCount));
        _pendingCount += bytes.Length;

        int held = Utf8Tail.IncompleteSuffixLength(_pending.AsSpan(0, _pendingCount));
        int ready = _pendingCount - held;
        if (ready == 0) return "";
        string text = Encoding.UTF8.GetString(_pending, 0, ready);
        _pending.AsSpan(ready, held).CopyTo(_pending);
        _pendingCount = held;
        return text;
    }

    /// <summary>Returns whatever is still held back (an unfinished character becomes U+FFFD) and resets.</summary>
    public string Flush()
    {
        if (_pendingCount == 0) return "";
        string text = Encoding.UTF8.GetString(_pending, 0, _pendingCount);
        _pendingCount = 0;
        return text;
    }
}

/// <summary>Finds a trailing UTF-8 sequence that is valid so far but not yet complete.</summary>
internal static class Utf8Tail
{
    /// <summary>
    /// Length (0–3) of the suffix that starts a multi-byte character still missing continuation bytes. Bytes that
    /// can never become valid are not held: they decode to U+FFFD right away.
    /// </summary>
    public static int IncompleteSuffixLength(ReadOnlySpan<byte> bytes)
    {
        int n = bytes.Length;
        for (int back = 1; back <= 3 && back <= n; back++)
        {
            byte b = bytes[n - back];
            if ((b & 0xC0) == 0x80) continue; // continuation byte: keep looking for the lead
            int need = b >= 0xF0 && b <= 0xF4 ? 4 : b >= 0xE0 && b < 0xF0 ? 3 : b >= 0xC2 && b < 0xE0 ? 2 : 1;
            if (need <= back) return 0; // complete (or a single byte / invalid lead)
            // Reject prefixes that cannot lead to a valid character (overlong/surrogate/out of range second byte).
            if (back >= 2)
            {
                byte second = bytes[n - back + 1];
                if (b == 0xE0 && second < 0xA0) return 0;
                if (b == 0xED && second > 0x9F) return 0;
                if (b == 0xF0 && second < 0x90) return 0;
                if (b == 0xF4 && second > 0x8F) return 0;
            }
            return back;
        }
        return 0;
    }
}
