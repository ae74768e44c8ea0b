namespace Modular.Tokenization;

/// <summary>
/// The GPT-2 byte-to-unicode table used by byte-level BPE: every byte maps to one printable character so that
/// vocabularies can be stored as text. Printable Latin-1 bytes map to themselves; the other 68 bytes map to
/// U+0100 onwards in byte order.
/// </summary>
internal static class ByteLevelAlphabet
{
    /// <summary>Character for each byte value.</summary>
    public static readonly char[] ByteToChar = BuildByteToChar();

    /// <summary>Byte for each character, or -1 when the character is not part of the alphabet.</summary>
    public static readonly short[] CharToByte = BuildCharToByte();

    private static bool IsPrintable(int b) => (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);

    private static char[] BuildByteToChar()
    {
        var map = new char[256];
        int next = 0;
        for (int b = 0; b < 256; b++)
            map[b] = IsPrintable(b) ? (char)b : (char)(256 + next++);
        return map;
    }

    private static short[] BuildCharToByte()
    {
        var inverse = new short[512];
        Array.Fill(inverse, (short)-1);
        for (int b = 0; b < 256; b++) inverse[ByteToChar[b]] = (short)b;
        return inverse;
    }

    /// <summary>
    /// The bytes a byte-level token string stands for, or null when some character is outside the alphabet
    /// (then Hugging Face's ByteLevel decoder keeps the token's own UTF-8 bytes, which callers do too).
    /// </summary>
    public static byte[]? TryDecode(string token)
    {
        var bytes = new byte[token.Length];
        for (int i = 0; i < token.Length; i++)
        {
            char c = token[i];
            int b = c < CharToByte.Length ? CharToByte[c] : -1;
            if (b < 0) return null;
            bytes[i] = (byte)b;
        }
        return bytes;
    }
}
