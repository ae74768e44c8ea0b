using System.Runtime.InteropServices;
using Modular.Abstractions;
using static Modular.Conformance.HostData;

namespace Modular.Conformance.Suites;

/// <summary>Required tier: allocation, uploads and downloads in each dtype, views, device copies.</summary>
public abstract class MemorySuite(BackendFixture fixture) : SuiteBase(fixture)
{
    [Theory, Trait("tier", "required")]
    [InlineData(DType.F32)]
    [InlineData(DType.BF16)]
    [InlineData(DType.F16)]
    public void AllocateIsZeroFilled(DType dtype)
    {
        using var t = AllocateOrSkip(dtype, 37, 129);
        var got = Get(t);
        Checks.Exact(Target.Name, "Allocate", $"{dtype}[37,129]", got.AsSpan(), new float[got.Length]);
    }

    [Theory, Trait("tier", "required")]
    [InlineData(DType.F32, 1)]
    [InlineData(DType.F32, 100_003)]
    [InlineData(DType.BF16, 7)]
    [InlineData(DType.BF16, 1_500_001)]
    [InlineData(DType.F16, 4097)]
    public void RoundTripFromF32(DType dtype, int n)
    {
        var x = Data.Uniform(n, 100f);
        using var t = AllocateOrSkip(dtype, n);
        Target.Upload(MemoryMarshal.AsBytes(x.AsSpan()), DType.F32, t);
        Checks.Exact(Target.Name, "Upload(F32)+DownloadF32", $"{dtype}[{n}]", Get(t).AsSpan(), Round(x, dtype).AsSpan());
    }

    [Fact, Trait("tier", "required")]
    public void RoundTripBf16Bytes()
    {
        // Upload raw BF16 bytes (as checkpoints store them) into the weight dtype.
        var x = Round(Data.Uniform(999), DType.BF16);
        var bytes = new byte[x.Length * 2];
        for (int i = 0; i < x.Length; i++)
            BitConverter.TryWriteBytes(bytes.AsSpan(i * 2), (ushort)(BitConverter.SingleToUInt32Bits(x[i]) >> 16));
        using var t = Target.Allocate(Weight, 999);
        Target.Upload(bytes, DType.BF16, t);
        Checks.Exact(Target.Name, "Upload(BF16)+DownloadF32", $"{Weight}[999]", Get(t).AsSpan(), Round(x, Weight).AsSpan());
    }

    [Fact, Trait("tier", "required")]
    public void RoundTripI32()
    {
        var x = Data.Ints(12345, int.MaxValue);
        using var t = PutInts(Target, x, 12345);
        var got = new int[x.Length];
        Target.DownloadI32(t, got);
        Checks.Exact(Target.Name, "Upload(I32)+DownloadI32", "[12345]", got.AsSpan(), x.AsSpan());
    }

    [Fact, Trait("tier", "required")]
    public void SliceViewAndCopy()
    {
        var x = Round(Data.Uniform(10 * 64), Act);
        using var t = Put(Target, x, Act, 10, 64);
        var slice = t.Slice(3, 4);
        Checks.Exact(Target.Name, "Slice", $"{Act}[10,64] rows 3..7", Get(slice).AsSpan(), x.AsSpan(3 * 64, 4 * 64));
        var view = t.View(20, 32).Slice(7, 2);
        Checks.Exact(Target.Name, "View+Slice", $"{Act}[20,32] rows 7..9", Get(view).AsSpan(), x.AsSpan(7 * 32, 2 * 32));
        using var dst = Target.Allocate(Act, 4, 64);
        Target.Copy(slice, dst);
        Checks.Exact(Target.Name, "Copy", $"{Act}[4,64]", Get(dst).AsSpan(), x.AsSpan(3 * 64, 4 * 64));
        // Writing through a view changes the parent.
        using var zeros = Target.Allocate(Act, 2, 64);
        Target.Copy(zeros, t.Slice(0, 2));
        var after = Get(t);
        Assert.True(after.AsSpan(0, 128).IndexOfAnyExcept(0f) < 0, "Copy into a slice did not reach the parent tensor");
        Checks.Exact(Target.Name, "Copy into slice", $"{Act}[10,64]", after.AsSpan(128), x.AsSpan(128));
    }

    [Fact, Trait("tier", "required")]
    public void DeviceInfoIsFilled()
    {
        var info = Target.Info;
        Checks.Note($"{Target.Name}: device '{info.Name}', driver '{info.Driver}', {info.TotalMemory / (1 << 20)} MiB total, {info.FreeMemory / (1 << 20)} MiB free");
        Assert.False(string.IsNullOrWhiteSpace(info.Name), "DeviceInfo.Name is empty");
        Assert.True(info.TotalMemory > 0 && info.FreeMemory <= info.TotalMemory, $"DeviceInfo memory figures are inconsistent: {info}");
    }

    /// <summary>
    /// Every backend must store F32 and its activation and weight dtypes; other float dtypes are optional and skip
    /// when the backend cannot hold them (the CPU backend stores everything as F32).
    /// </summary>
    private Tensor AllocateOrSkip(DType dtype, params int[] shape)
    {
        bool required = dtype == DType.F32 || dtype == Act || dtype == Weight;
        Tensor? t = null;
        try
        {
            t = Target.Allocate(dtype, shape);
            // Probe the dtype end to end with a one-element tensor: some backends allocate any dtype but convert few.
            using var probe = Target.Allocate(dtype, 1);
            Target.Upload(new byte[4], DType.F32, probe);
            Target.DownloadF32(probe, new float[1]);
            return t;
        }
        catch (Exception e) when (!required && e is NotSupportedException or InvalidOperationException)
        {
            t?.Dispose();
            Assert.Skip($"{Target.Name} does not store {dtype} (optional: it is neither F32 nor its activation/weight dtype): {e.Message}");
            throw;
        }
    }
}
