using System.Diagnostics;
using Modular.Abstractions;

namespace Modular.Bench;

/// <summary>
/// The two ceilings every figure is judged against, measured on the device of the run: device-to-device copy
/// bandwidth (bytes read plus bytes written) and the bf16 GEMM rate at a prefill-sized product.
/// </summary>
internal static class DeviceCeilings
{
    /// <summary>Median seconds of <paramref name="body"/> over <paramref name="repeats"/> synchronized runs after a warm-up.</summary>
    internal static double Time(IBackend b, Action body, int repeats)
    {
        if (b is Backends.Cuda.CudaBackend cuda)
        {
            body();
            return cuda.TimeMilliseconds(body, repeats) / 1000;
        }
        body();
        b.Synchronize();
        var times = new double[repeats];
        for (int i = 0; i < repeats; i++)
        {
            var sw = Stopwatch.StartNew();
            body();
            b.Synchronize();
            times[i] = sw.Elapsed.TotalSeconds;
        }
        Array.Sort(times);
        return times[repeats / 2];
    }

    /// <summary>Copy bandwidth in bytes per second over a 1 GiB buffer.</summary>
    internal static double CopyBandwidth(IBackend b)
    {
        const int n = 1 << 29; // bf16 elements: 1 GiB
        using var src = b.Allocate(DType.BF16, n);
        using var dst = b.Allocate(DType.BF16, n);
        double s = Time(b, () => b.Copy(src, dst), 20);
        return 2.0 * n * 2 / s;
    }

    /// <summary>bf16 x bf16 -> bf16 GEMM rate (FLOP/s) of [m,k] x [n,k]^T with random operands.</summary>
    internal static double GemmRate(IBackend b, Tensor weight, int m)
    {
        int n = weight.Shape[0], k = weight.Shape[1];
        using var x = RandomBf16(b, m, k, 7);
        using var y = b.Allocate(b.ActivationDType, m, n);
        double s = Time(b, () => b.Kernels.Linear(x, weight, null, y), 10);
        return 2.0 * m * n * k / s;
    }

    /// <summary>Seconds of one [m,k] x [n,k]^T product (launch included), for the decode breakdown.</summary>
    internal static double LinearSeconds(IBackend b, Tensor weight, int m)
    {
        using var x = RandomBf16(b, m, weight.Shape[1], 11);
        using var y = b.Allocate(b.ActivationDType, m, weight.Shape[0]);
        return Time(b, () => b.Kernels.Linear(x, weight, null, y), 20);
    }

    /// <summary>Seconds of one forward of any linear layer (quantized ones included) on [m, K] activations.</summary>
    internal static double LinearSeconds(IBackend b, ILinear linear, int m)
    {
        using var x = RandomBf16(b, m, linear.InFeatures, 13);
        using var y = b.Allocate(b.ActivationDType, m, linear.OutFeatures);
        return Time(b, () => linear.Forward(x, y), 20);
    }

    /// <summary>A tensor of the backend's activation dtype holding bf16-representable values uniform in [-1, 1).</summary>
    internal static Tensor RandomBf16(IBackend b, int rows, int cols, int seed)
    {
        var rng = new Random(seed);
        var bits = new ushort[(long)rows * cols];
        for (long i = 0; i < bits.Length; i++)
            bits[i] = (ushort)(BitConverter.SingleToUInt32Bits((float)(rng.NextDouble() * 2 - 1)) >> 16);
        var t = b.Allocate(b.ActivationDType, rows, cols);
        b.Upload(System.Runtime.InteropServices.MemoryMarshal.AsBytes(bits.AsSpan()), DType.BF16, t);
        return t;
    }
}
