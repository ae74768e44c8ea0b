using System.Diagnostics;
using System.Runtime.InteropServices;
using Modular.Abstractions;
using Modular.Backends.Cpu;
using Modular.Plugins.Quant;

namespace Modular.Quant.Tests;

/// <summary>Timings of the CPU quantized kernels against the dense float32 Linear (set MODULAR_BENCH=1 to run).</summary>
public class KernelBenchmarkTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(1)]
    [InlineData(32)]
    public void QuantizedLinearThroughput(int tokens)
    {
        Assert.SkipWhen(Environment.GetEnvironmentVariable("MODULAR_BENCH") != "1", "benchmark: set MODULAR_BENCH=1 to run");
        const int n = 4096, k = 4096;
        // One thread and the best of many runs: the build machine is shared, so wall-clock means are noise.
        using var backend = new CpuBackend(threads: 1);
        var kernels = (IQuantizedKernels)backend.Kernels;
        var rng = new Random(1);
        var x = TestSupport.Random(tokens * k, 2);
        using var xt = backend.Allocate(DType.F32, tokens, k);
        backend.Upload(MemoryMarshal.AsBytes(x.AsSpan()), DType.F32, xt);
        using var yt = backend.Allocate(DType.F32, tokens, n);

        var weights = new List<(string Name, PackedWeight W)>();
        foreach (var format in new[] { QuantizedFormat.Int4, QuantizedFormat.Int8 })
        {
            var data = PackedWeight.NewData(format, n, k);
            rng.NextBytes(data);
            int groups = k / 128;
            weights.Add(($"{format} g128", new PackedWeight(format, n, k, data, TestSupport.Random(n * groups, 3, 0.01f), groups, TestSupport.Random(n * groups, 4, 8f), 128)));
        }
        var fp8 = new byte[n * k];
        rng.NextBytes(fp8);
        for (int i = 0; i < fp8.Length; i++) if ((fp8[i] & 0x7F) == 0x7F) fp8[i] = 0;
        weights.Add(("Fp8E4M3 per-channel", new PackedWeight(QuantizedFormat.Fp8E4M3, n, k, fp8, TestSupport.Random(n, 5, 0.01f), 1, null, k)));

        foreach (var (name, w) in weights)
        {
            using var qw = w.Upload(backend);
            double ms = Time(() => kernels.LinearQuantized(xt, qw, null, yt));
            output.WriteLine($"{name,-20} T={tokens,-3} {ms,8:F2} ms  {w.Data.Length / ms / 1e6,6:F2} GB/s of codes  {2.0 * n * k * tokens / ms / 1e6,7:F2} GFLOP/s");
        }
        using var dense = backend.Allocate(DType.F32, n, k);
        double dms = Time(() => backend.Kernels.Linear(xt, dense, null, yt));
        output.WriteLine($"{"dense F32",-20} T={tokens,-3} {dms,8:F2} ms  {4.0 * n * k / dms / 1e6,6:F2} GB/s of weights {2.0 * n * k * tokens / dms / 1e6,7:F2} GFLOP/s  ({backend.Info.Name})");
    }

    private static double Time(Action run)
    {
        run();
        double best = double.MaxValue;
        var total = Stopwatch.StartNew();
        for (int reps = 0; total.ElapsedMilliseconds < 2000 || reps < 3; reps++)
        {
            var sw = Stopwatch.StartNew();
            run();
            best = Math.Min(best, sw.Elapsed.TotalMilliseconds);
        }
        return best;
    }
}
