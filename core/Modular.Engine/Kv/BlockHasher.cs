using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Text;

namespace Modular.Engine;

/// <summary>
/// Chained content hashes of full KV blocks: hash(parent hash, extra key, the block's token ids). A block's hash
/// therefore identifies the whole prefix up to and including it, so equal hashes mean equal KV contents.
/// XxHash3 (64-bit) keeps accidental collisions negligible for any realistic pool (about n²/2⁶⁵).
/// </summary>
public static class BlockHasher
{
    /// <summary>Hash of the block after <paramref name="parent"/> (0 for the first block) holding <paramref name="tokens"/>.</summary>
    public static ulong Hash(ulong parent, ulong extraKey, ReadOnlySpan<int> tokens)
    {
        int bytes = 16 + tokens.Length * sizeof(int);
        Span<byte> buffer = bytes <= 1024 ? stackalloc byte[bytes] : new byte[bytes];
        MemoryMarshal.Write(buffer, in parent);
        MemoryMarshal.Write(buffer[8..], in extraKey);
        MemoryMarshal.AsBytes(tokens).CopyTo(buffer[16..]);
        return XxHash3.HashToUInt64(buffer);
    }

    /// <summary>The extra key of a cache salt (requests with different salts never share blocks); 0 for none.</summary>
    public static ulong SaltKey(string? salt) =>
        string.IsNullOrEmpty(salt) ? 0 : XxHash3.HashToUInt64(Encoding.UTF8.GetBytes(salt)) | 1;
}
