using System.Text;
using Modular.Models.Loading;

namespace Modular.Models.Tests;

/// <summary>Corrupt safetensors files are refused with a message naming the file and the problem.</summary>
public class SafetensorsValidationTests
{
    private static string WriteRaw(byte[] bytes)
    {
        var p = Path.Combine(Path.GetTempPath(), $"st-{Guid.NewGuid():N}.safetensors");
        File.WriteAllBytes(p, bytes);
        return p;
    }

    private static byte[] WithHeader(string json, int dataBytes)
    {
        var h = Encoding.UTF8.GetBytes(json);
        var b = new byte[8 + h.Length + dataBytes];
        BitConverter.GetBytes((ulong)h.Length).CopyTo(b, 0);
        h.CopyTo(b, 8);
        return b;
    }

    private static void AssertRefused(byte[] bytes, string expected)
    {
        var path = WriteRaw(bytes);
        try
        {
            var e = Assert.Throws<ModelFileException>(() => SafetensorsFile.Open(path).Dispose());
            Assert.Contains(path, e.Message);
            Assert.Contains(expected, e.Message);
        }
        finally { File.Delete(path); }
    }

    [Fact] public void EmptyFile() => AssertRefused([], "shorter than the 8-byte header");
    [Fact] public void HeaderLongerThanFile() => AssertRefused([255, 0, 0, 0, 0, 0, 0, 0, (byte)'{'], "runs past the end");
    [Fact] public void HugeHeaderLength() => AssertRefused([0, 0, 0, 0, 0, 0, 0, 0x7f, 1], "exceeds");
    [Fact] public void NotJson() => AssertRefused(WithHeader("{not json", 0), "not valid JSON");
    [Fact] public void UnknownDType() => AssertRefused(WithHeader("""{"a":{"dtype":"Q4","shape":[1],"data_offsets":[0,1]}}""", 1), "unsupported dtype 'Q4'");
    [Fact] public void NegativeDimension() => AssertRefused(WithHeader("""{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}""", 4), "invalid dimension");
    [Fact] public void SizeMismatch() => AssertRefused(WithHeader("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}""", 4), "needs 8");
    [Fact] public void OffsetOutsideData() => AssertRefused(WithHeader("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", 4), "outside the 4-byte data section");
    [Fact] public void EndBeforeBegin() => AssertRefused(WithHeader("""{"a":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}}""", 4), "before it begins");
    [Fact] public void Overlap() => AssertRefused(WithHeader("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", 8), "overlap");
    [Fact] public void ShapeOverflow() => AssertRefused(WithHeader("""{"a":{"dtype":"F32","shape":[2147483647,2147483647,2147483647],"data_offsets":[0,4]}}""", 4), "overflow");

    [Fact]
    public void ValidFileRoundTrips()
    {
        var path = Path.Combine(Path.GetTempPath(), $"st-{Guid.NewGuid():N}.safetensors");
        try
        {
            SafetensorsWriter.Write(path, [new("w", Abstractions.DType.F32, [2], BitConverter.GetBytes(1.5f).Concat(BitConverter.GetBytes(-2f)).ToArray())]);
            using var f = SafetensorsFile.Open(path);
            Assert.Equal([2], f.Info("w").Shape);
            Assert.Equal(-2f, BitConverter.ToSingle(f.Bytes("w")[4..]));
        }
        finally { File.Delete(path); }
    }
}
