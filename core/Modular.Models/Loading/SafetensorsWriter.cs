using System.Text;
using System.Text.Json;
using Modular.Abstractions;

namespace Modular.Models.Loading;

/// <summary>Writes a <c>.safetensors</c> file (used to build test checkpoints and dummy-weight models).</summary>
public static class SafetensorsWriter
{
    /// <summary>A tensor to write: name, dtype, shape and raw little-endian bytes.</summary>
    public sealed record Entry(string Name, DType DType, int[] Shape, byte[] Data);

    private static string DTypeName(DType t) => t switch
    {
        DType.F32 => "F32", DType.F16 => "F16", DType.BF16 => "BF16", DType.F8E4M3 => "F8_E4M3",
        DType.I64 => "I64", DType.I32 => "I32", DType.I16 => "I16", DType.I8 => "I8", DType.U8 => "U8", DType.Bool => "BOOL",
        _ => throw new ArgumentOutOfRangeException(nameof(t)),
    };

    /// <summary>Writes <paramref name="entries"/> in order to <paramref name="path"/>.</summary>
    public static void Write(string path, IEnumerable<Entry> entries, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var list = entries.ToList();
        using var header = new MemoryStream();
        using (var w = new Utf8JsonWriter(header))
        {
            w.WriteStartObject();
            w.WriteStartObject("__metadata__");
            w.WriteString("format", "pt");
            if (metadata is not null) foreach (var (k, v) in metadata) w.WriteString(k, v);
            w.WriteEndObject();
            long offset = 0;
            foreach (var e in list)
            {
                w.WriteStartObject(e.Name);
                w.WriteString("dtype", DTypeName(e.DType));
                w.WriteStartArray("shape");
                foreach (var d in e.Shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                w.WriteNumberValue(offset + e.Data.Length);
                w.WriteEndArray();
                w.WriteEndObject();
                offset += e.Data.Length;
            }
            w.WriteEndObject();
        }
        // Pad the header with spaces to 8 bytes so the data section stays aligned, as the reference writer does.
        int pad = (int)((8 - header.Length % 8) % 8);
        using var f = File.Create(path);
        f.Write(BitConverter.GetBytes((ulong)(header.Length + pad)));
        header.Position = 0;
        header.CopyTo(f);
        f.Write(Encoding.ASCII.GetBytes(new string(' ', pad)));
        foreach (var e in list) f.Write(e.Data);
    }
}
