using System.Buffers.Binary;
using System.Text;
using CsCheck;
using Modular.Abstractions;
using Modular.Models.Loading;
using Modular.Testing;

namespace Modular.Hardening.Tests.Fuzz;

/// <summary>
/// The safetensors reader on hostile files: random bytes, random headers, and byte-mutated valid files. The only
/// acceptable failure is <see cref="ModelFileException"/>; no case may hang, and none may allocate much more than
/// the file's own size (a header must not be able to ask for gigabytes).
/// </summary>
public sealed class SafetensorsFuzzTests
{
    private static readonly string[] DTypeNames = ["F32", "F16", "BF16", "I32", "I64", "U8", "I8", "F8_E4M3", "BOOL", "F64", "XX", ""];

    /// <summary>Opens <paramref name="path"/> and reads every tensor; returns the exception type when refused.</summary>
    private static void OpenAndReadAll(string path, long fileSize)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        try
        {
            using var f = SafetensorsFile.Open(path);
            long sum = 0;
            foreach (var name in f.Names)
            {
                var info = f.Info(name);
                var bytes = f.Bytes(name);
                long expected = DTypes.SizeOf(info.DType);
                foreach (int d in info.Shape) expected *= d;
                Assert.Equal(expected, bytes.Length);
                if (bytes.Length > 0) sum += bytes[0] + bytes[^1];
            }
            GC.KeepAlive(sum);
        }
        catch (ModelFileException e)
        {
            Assert.Contains(path, e.Message);
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 4 * fileSize + (1 << 20), $"opening a {fileSize}-byte file allocated {allocated} bytes");
    }

    /// <summary>Random bytes, with the first 8 bytes often a plausible header length.</summary>
    [Fact]
    public void RandomBytes_OnlyModelFileException()
    {
        using var files = new FuzzFiles();
        var gen = Gen.Select(Gen.Byte.Array[0, 512], Gen.Long[0, 600], Gen.Bool);
        FuzzBudget.Run(gen, t =>
        {
            var (bytes, len, setLength) = t;
            var data = bytes;
            if (setLength && data.Length >= 8) BinaryPrimitives.WriteUInt64LittleEndian(data, (ulong)len);
            var path = files.Write("random.safetensors", data);
            OpenAndReadAll(path, data.Length);
        }, FuzzBudget.Seconds / 3);
    }

    /// <summary>Structurally plausible headers with hostile values: bad dtypes, huge or negative dims, overlapping or out-of-range offsets.</summary>
    [Fact]
    public void RandomHeaders_OnlyModelFileException()
    {
        using var files = new FuzzFiles();
        var dim = Gen.OneOf(Gen.Long[0, 8], Gen.Const(-1L), Gen.Const((long)int.MaxValue), Gen.Const(long.MaxValue), Gen.Const(1L << 40));
        var offset = Gen.OneOf(Gen.Long[0, 300], Gen.Const(-5L), Gen.Const(long.MaxValue), Gen.Const((long)int.MaxValue + 1));
        var entry = Gen.Select(Gen.Int[0, DTypeNames.Length - 1], dim.Array[0, 4], offset, offset, Gen.Int[0, 5]);
        var gen = Gen.Select(entry.Array[0, 5], Gen.Int[0, 256], Gen.Bool);
        FuzzBudget.Run(gen, t =>
        {
            var (entries, dataLen, withMeta) = t;
            var sb = new StringBuilder("{");
            if (withMeta) sb.Append("\"__metadata__\":{\"format\":\"pt\",\"n\":1},");
            for (int i = 0; i < entries.Length; i++)
            {
                var (dt, shape, b, e, shapeKind) = entries[i];
                if (i > 0) sb.Append(',');
                sb.Append("\"t").Append(i % 4).Append("\":");
                switch (shapeKind)
                {
                    case 0: sb.Append("[1,2]"); continue; // entry is not an object
                    case 1: sb.Append("{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}"); continue;
                }
                sb.Append("{\"dtype\":\"").Append(DTypeNames[dt]).Append("\",\"shape\":[").Append(string.Join(",", shape))
                  .Append("],\"data_offsets\":[").Append(b).Append(',').Append(e).Append("]}");
            }
            sb.Append('}');
            var header = Encoding.UTF8.GetBytes(sb.ToString());
            var file = new byte[8 + header.Length + dataLen];
            BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)header.Length);
            header.CopyTo(file, 8);
            var path = files.Write("header.safetensors", file);
            OpenAndReadAll(path, file.Length);
        }, FuzzBudget.Seconds / 3);
    }

    /// <summary>A valid file (written by SafetensorsWriter) with a few byte edits in its header region.</summary>
    [Fact]
    public void MutatedValidFile_OnlyModelFileException()
    {
        using var files = new FuzzFiles();
        var valid = files.Write("valid.safetensors", []);
        SafetensorsWriter.Write(valid,
        [
            new("model.embed_tokens.weight", DType.F32, [4, 3], new byte[48]),
            new("model.norm.weight", DType.BF16, [3], new byte[6]),
            new("lm_head.weight", DType.F16, [4, 3], new byte[24]),
        ], new Dictionary<string, string> { ["format"] = "pt" });
        var original = File.ReadAllBytes(valid);
        int headerEnd = 8 + (int)BinaryPrimitives.ReadUInt64LittleEndian(original);
        var gen = Gen.Select(Gen.Int, Gen.Int[1, 6]);
        FuzzBudget.Run(gen, t =>
        {
            var mutated = Mutator.Mutate(original, t.Item1, t.Item2, headerEnd);
            var path = files.Write("mutated.safetensors", mutated);
            OpenAndReadAll(path, mutated.Length);
        }, FuzzBudget.Seconds / 3);
    }

    /// <summary>A header that claims a near-100 MB length in a tiny file is refused before anything is allocated.</summary>
    [Fact]
    public void HugeHeaderLength_RefusedWithoutAllocating()
    {
        using var files = new FuzzFiles();
        var data = new byte[64];
        BinaryPrimitives.WriteUInt64LittleEndian(data, 99L * 1024 * 1024);
        var path = files.Write("huge.safetensors", data);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<ModelFileException>(() => SafetensorsFile.Open(path));
        Assert.Contains("runs past the end", e.Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20);
    }

    /// <summary>The bundled checkpoint still opens (the fuzz oracle accepts valid files).</summary>
    [Fact]
    public void BundledCheckpoint_Opens()
    {
        using var f = SafetensorsFile.Open(Path.Combine(Fixtures.BundledModel, "model.safetensors"));
        Assert.NotEmpty(f.Names);
    }
}
