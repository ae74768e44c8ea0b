namespace Modular.Hardening.Tests.Fuzz;

/// <summary>A private temporary folder for files a fuzz target writes; deleted on dispose.</summary>
public sealed class FuzzFiles : IDisposable
{
    /// <summary>Creates the folder.</summary>
    public FuzzFiles()
    {
        Root = Path.Combine(Path.GetTempPath(), "modular-hardening-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Root);
    }

    /// <summary>The folder.</summary>
    public string Root { get; }

    /// <summary>Writes <paramref name="bytes"/> to <paramref name="name"/> in the folder and returns its path.</summary>
    public string Write(string name, ReadOnlySpan<byte> bytes)
    {
        var path = Path.Combine(Root, name);
        File.WriteAllBytes(path, bytes.ToArray());
        return path;
    }

    /// <summary>Writes text to <paramref name="name"/> and returns its path.</summary>
    public string WriteText(string name, string text)
    {
        var path = Path.Combine(Root, name);
        File.WriteAllText(path, text);
        return path;
    }

    /// <summary>Removes the folder.</summary>
    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>Byte-level mutations of a valid input: flips, overwrites with boundary values, truncation, splices.</summary>
public static class Mutator
{
    private static readonly byte[] Interesting = [0, 1, 0x7f, 0x80, 0xff, (byte)'"', (byte)'{', (byte)'}', (byte)'[', (byte)']', (byte)',', (byte)':', (byte)'-', (byte)'9', (byte)'\\'];

    /// <summary>Applies <paramref name="edits"/> random edits chosen by <paramref name="seed"/>, confined to the first <paramref name="window"/> bytes.</summary>
    public static byte[] Mutate(byte[] input, int seed, int edits, int window)
    {
        var rng = new Random(seed);
        var bytes = (byte[])input.Clone();
        int limit = Math.Max(1, Math.Min(window, bytes.Length));
        for (int e = 0; e < edits; e++)
        {
            int at = rng.Next(limit);
            switch (rng.Next(5))
            {
                case 0: bytes[at] ^= (byte)(1 << rng.Next(8)); break;
                case 1: bytes[at] = Interesting[rng.Next(Interesting.Length)]; break;
                case 2: bytes[at] = (byte)rng.Next(256); break;
                case 3: // truncate
                    return bytes[..Math.Max(0, at)];
                default: // duplicate a run of bytes over another place
                    int from = rng.Next(limit), len = rng.Next(1, 16);
                    for (int i = 0; i < len && at + i < bytes.Length && from + i < bytes.Length; i++) bytes[at + i] = bytes[from + i];
                    break;
            }
        }
        return bytes;
    }
}
