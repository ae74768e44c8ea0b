using System.Runtime.InteropServices;
using Modular.Abstractions;

namespace Modular.Conformance;

/// <summary>Random inputs, rounding to a storage dtype, and host/device transfers for tests.</summary>
public sealed class HostData
{
    /// <summary>MODULAR_CONFORMANCE_SEED when set (to reproduce a failure), else fresh for every run.</summary>
    public static readonly int Seed = int.TryParse(Environment.GetEnvironmentVariable("MODULAR_CONFORMANCE_SEED"), out var s)
        ? s : Random.Shared.Next();

    private readonly Random _rng;

    /// <summary>A generator for one test, derived from the run's seed and the test's name.</summary>
    public HostData(string testName) => _rng = new Random(Seed ^ StableHash(testName));

    /// <summary>Uniform values in [-scale, scale).</summary>
    public float[] Uniform(long n, float scale = 1f)
    {
        var a = new float[n];
        for (long i = 0; i < n; i++) a[i] = (float)((_rng.NextDouble() * 2 - 1) * scale);
        return a;
    }

    /// <summary>Integers in [0, max).</summary>
    public int[] Ints(int n, int max)
    {
        var a = new int[n];
        for (int i = 0; i < n; i++) a[i] = _rng.Next(max);
        return a;
    }

    /// <summary>A random permutation of 0..n-1.</summary>
    public int[] Permutation(int n)
    {
        var a = new int[n];
        for (int i = 0; i < n; i++) a[i] = i;
        _rng.Shuffle(a);
        return a;
    }

    /// <summary>The values a tensor of <paramref name="dtype"/> actually holds after upload of <paramref name="x"/>.</summary>
    public static float[] Round(float[] x, DType dtype)
    {
        var r = new float[x.Length];
        for (int i = 0; i < x.Length; i++)
            r[i] = dtype switch
            {
                DType.BF16 => RoundBf16(x[i]),
                DType.F16 => (float)(Half)x[i],
                _ => x[i],
            };
        return r;
    }

    /// <summary>float32 rounded to the nearest bfloat16 (ties to even).</summary>
    public static float RoundBf16(float f)
    {
        uint u = BitConverter.SingleToUInt32Bits(f);
        if ((u & 0x7fffffffu) > 0x7f800000u) return f;
        u += 0x7fffu + ((u >> 16) & 1u);
        return BitConverter.UInt32BitsToSingle(u & 0xffff0000u);
    }

    /// <summary>Allocates a tensor of <paramref name="dtype"/> and uploads <paramref name="x"/> into it.</summary>
    public static Tensor Put(IBackend b, float[] x, DType dtype, params int[] shape)
    {
        var t = b.Allocate(dtype, shape);
        b.Upload(MemoryMarshal.AsBytes(x.AsSpan()), DType.F32, t);
        return t;
    }

    /// <summary>Allocates an I32 tensor holding <paramref name="x"/>.</summary>
    public static Tensor PutInts(IBackend b, int[] x, params int[] shape)
    {
        var t = b.Allocate(DType.I32, shape);
        b.Upload(MemoryMarshal.AsBytes(x.AsSpan()), DType.I32, t);
        return t;
    }

    /// <summary>Downloads any float tensor as float32.</summary>
    public static float[] Get(Tensor t)
    {
        var r = new float[t.Length];
        t.Backend.DownloadF32(t, r);
        return r;
    }

    private static int StableHash(string s)
    {
        unchecked
        {
            int h = (int)2166136261;
            foreach (var c in s) h = (h ^ c) * 16777619;
            return h;
        }
    }
}
