using System.Runtime.InteropServices;
using Modular.Abstractions;

namespace Modular.Rocm.Tests;

/// <summary>Random data and host/device transfers shared by the tests.</summary>
internal static class HostTensors
{
    /// <summary>Uniform values in [-scale, scale), rounded to what <paramref name="dtype"/> stores.</summary>
    public static float[] Uniform(Random rng, long n, DType dtype = DType.F32, float scale = 1f)
    {
        var a = new float[n];
        for (long i = 0; i < n; i++) a[i] = Round((float)((rng.NextDouble() * 2 - 1) * scale), dtype);
        return a;
    }

    /// <summary>The value a tensor of <paramref name="dtype"/> holds after uploading <paramref name="x"/>.</summary>
    public static float Round(float x, DType dtype) => dtype switch
    {
        DType.F16 => (float)(Half)x,
        DType.BF16 => BitConverter.UInt32BitsToSingle(BitConverter.SingleToUInt32Bits(x) + 0x7FFFu + ((BitConverter.SingleToUInt32Bits(x) >> 16) & 1) & 0xFFFF0000u),
        _ => x,
    };

    /// <summary>Host bytes of <paramref name="x"/> encoded as <paramref name="dtype"/> (the checkpoint's form).</summary>
    public static byte[] Encode(float[] x, DType dtype)
    {
        switch (dtype)
        {
            case DType.F32: return MemoryMarshal.AsBytes(x.AsSpan()).ToArray();
            case DType.F16:
            {
                var h = new Half[x.Length];
                for (int i = 0; i < x.Length; i++) h[i] = (Half)x[i];
                return MemoryMarshal.AsBytes(h.AsSpan()).ToArray();
            }
            case DType.BF16:
            {
                var b = new ushort[x.Length];
                for (int i = 0; i < x.Length; i++) b[i] = (ushort)(BitConverter.SingleToUInt32Bits(Round(x[i], DType.BF16)) >> 16);
                return MemoryMarshal.AsBytes(b.AsSpan()).ToArray();
            }
            default: throw new NotSupportedException(dtype.ToString());
        }
    }

    /// <summary>Uploads float data stored as <paramref name="stored"/> (checkpoint dtype) into the backend's weight dtype.</summary>
    public static Tensor Weight(IBackend b, float[] x, DType stored, params int[] shape)
    {
        var t = b.Allocate(b.WeightDType(stored), shape);
        b.Upload(Encode(x, stored), stored, t);
        return t;
    }

    /// <summary>Uploads float32 data into an activation tensor.</summary>
    public static Tensor Act(IBackend b, float[] x, params int[] shape)
    {
        var t = b.Allocate(b.ActivationDType, shape);
        b.Upload(MemoryMarshal.AsBytes(x.AsSpan()), DType.F32, t);
        return t;
    }

    /// <summary>Uploads int32 data.</summary>
    public static Tensor Ints(IBackend b, int[] x)
    {
        var t = b.Allocate(DType.I32, x.Length);
        b.Upload(MemoryMarshal.AsBytes(x.AsSpan()), DType.I32, t);
        return t;
    }

    /// <summary>Downloads a tensor as float32.</summary>
    public static float[] Get(Tensor t)
    {
        var a = new float[t.Length];
        t.Backend.DownloadF32(t, a);
        return a;
    }

    /// <summary>max |actual - expected| / max |expected| (a max-norm relative error).</summary>
    public static double RelError(float[] actual, float[] expected)
    {
        Assert.Equal(expected.Length, actual.Length);
        double err = 0, scale = 1e-30;
        for (int i = 0; i < expected.Length; i++)
        {
            if (float.IsNaN(actual[i])) return double.PositiveInfinity;
            err = Math.Max(err, Math.Abs((double)actual[i] - expected[i]));
            scale = Math.Max(scale, Math.Abs((double)expected[i]));
        }
        return err / scale;
    }
}
