using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Modular.Abstractions;

namespace Modular.Backends.Cpu;

/// <summary>
/// The reference backend: float32 math on host memory, SIMD through System.Numerics.Tensors, all cores through
/// Parallel.For. Weights of any float dtype are widened to float32 at load.
/// </summary>
public sealed unsafe class CpuBackend : IBackend
{
    /// <summary>Creates the backend; <paramref name="threads"/> 0 uses every core.</summary>
    public CpuBackend(int threads = 0)
    {
        Threads = threads > 0 ? threads : Environment.ProcessorCount;
        Parallel = new ParallelOptions { MaxDegreeOfParallelism = Threads };
        Kernels = new CpuKernels(this);
        Attention = new CpuAttention(this);
        var simd = Vector512.IsHardwareAccelerated ? "AVX-512" : Vector256.IsHardwareAccelerated ? "AVX2" : Vector128.IsHardwareAccelerated ? "SIMD128" : "scalar";
        var mem = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        Info = new DeviceInfo($"cpu: {Threads} threads, {simd}, {RuntimeInformation.ProcessArchitecture}", RuntimeInformation.FrameworkDescription, mem, mem);
    }

    /// <summary>Worker threads.</summary>
    public int Threads { get; }

    internal ParallelOptions Parallel { get; }

    /// <inheritdoc />
    public string Name => "cpu";
    /// <inheritdoc />
    public DeviceInfo Info { get; }
    /// <inheritdoc />
    public DType ActivationDType => DType.F32;
    /// <inheritdoc />
    public IKernels Kernels { get; }
    /// <inheritdoc />
    public IAttentionBackend Attention { get; }

    /// <inheritdoc />
    public DType WeightDType(DType checkpoint) => DTypes.IsFloat(checkpoint) ? DType.F32 : checkpoint;

    /// <inheritdoc />
    public bool Supports(Op op, DType dtype) => dtype is DType.F32;

    /// <inheritdoc />
    public Tensor Allocate(DType dtype, params int[] shape) => new CpuTensor(this, dtype, (int[])shape.Clone());

    /// <inheritdoc />
    public void Upload(ReadOnlySpan<byte> src, DType srcType, Tensor dst)
    {
        var t = Own(dst);
        long count = src.Length / DTypes.SizeOf(srcType);
        if (count != t.Length) throw new ArgumentException($"upload of {count} {srcType} elements into {t}");
        if (srcType == t.DType)
        {
            src.CopyTo(new Span<byte>(t.Pointer, src.Length));
            return;
        }
        if (t.DType != DType.F32) throw new NotSupportedException($"cannot convert {srcType} into {t}");
        // Chunked so a tensor above 2^31 elements still converts.
        const int chunk = 1 << 24;
        int es = DTypes.SizeOf(srcType);
        for (long i = 0; i < count; i += chunk)
        {
            int n = (int)Math.Min(chunk, count - i);
            DTypeConversion.ToF32(src.Slice((int)(i * es), n * es), srcType, new Span<float>(t.F32 + i, n));
        }
    }

    /// <inheritdoc />
    public void DownloadF32(Tensor src, Span<float> dst) => Own(src).AsF32().CopyTo(dst);

    /// <inheritdoc />
    public void DownloadI32(Tensor src, Span<int> dst) => Own(src).AsI32().CopyTo(dst);

    /// <inheritdoc />
    public void Copy(Tensor src, Tensor dst)
    {
        var s = Own(src); var d = Own(dst);
        if (s.DType != d.DType || s.Length != d.Length) throw new ArgumentException($"copy {s} -> {d}");
        Buffer.MemoryCopy(s.Pointer, d.Pointer, d.Length * DTypes.SizeOf(d.DType), s.Length * DTypes.SizeOf(s.DType));
    }

    /// <inheritdoc />
    public void Synchronize() { }

    internal static CpuTensor Own(Tensor t) =>
        t as CpuTensor ?? throw new ArgumentException($"tensor {t} belongs to backend '{t.Backend.Name}', not cpu");

    /// <inheritdoc />
    public void Dispose() { }
}
