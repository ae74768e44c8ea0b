using System.Text.Json;
using Modular.Abstractions;
using Modular.Backends.Cpu;
using Modular.Plugins.Quant;

namespace Modular.Quant.Tests;

internal static class TestSupport
{
    public static JsonElement QuantConfigOf(string dir)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(dir, "config.json")));
        return doc.RootElement.GetProperty("quantization_config").Clone();
    }

    public static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement.Clone();

    public static float[] Random(int count, int seed, float scale = 1f)
    {
        var rng = new Random(seed);
        var v = new float[count];
        for (int i = 0; i < v.Length; i++) v[i] = (float)(rng.NextDouble() * 2 - 1) * scale;
        return v;
    }

    /// <summary>Runs the CPU quantized kernel on <paramref name="packed"/> and checks it against x · wRef^T.</summary>
    public static void KernelMatches(PackedWeight packed, float[] wRef, int tokens, int seed, bool withBias = false)
    {
        int n = packed.OutFeatures, k = packed.InFeatures;
        using var backend = new CpuBackend(threads: 2);
        var kernels = Assert.IsAssignableFrom<IQuantizedKernels>(backend.Kernels);
        var x = Random(tokens * k, seed);
        var b = withBias ? Random(n, seed + 1) : null;
        using var w = packed.Upload(backend);
        using var xt = backend.Allocate(DType.F32, tokens, k);
        backend.Upload(System.Runtime.InteropServices.MemoryMarshal.AsBytes(x.AsSpan()), DType.F32, xt);
        using var bt = b is null ? null : backend.Allocate(DType.F32, n);
        if (bt is not null) backend.Upload(System.Runtime.InteropServices.MemoryMarshal.AsBytes(b.AsSpan()), DType.F32, bt);
        using var yt = backend.Allocate(DType.F32, tokens, n);
        kernels.LinearQuantized(xt, w, bt, yt);
        var y = new float[tokens * n];
        backend.DownloadF32(yt, y);
        var expected = NaiveDequant.MatMul(x, wRef, b, tokens, n, k);
        double maxErr = 0, maxRef = 0;
        for (int i = 0; i < y.Length; i++)
        {
            maxErr = Math.Max(maxErr, Math.Abs(y[i] - expected[i]));
            maxRef = Math.Max(maxRef, Math.Abs(expected[i]));
        }
        Assert.True(maxErr <= 1e-5 * Math.Max(1, maxRef) * Math.Sqrt(k), $"kernel differs from x·W^T by {maxErr:E2} (outputs up to {maxRef:E2})");
    }

    public static void SameWeights(float[] expected, float[] actual, int k, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            if (expected[i] != actual[i])
                Assert.Fail($"{what}: W[{i / k},{i % k}] = {actual[i]}, naive dequantizer gives {expected[i]}");
    }
}
