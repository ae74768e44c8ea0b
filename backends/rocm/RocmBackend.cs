using System.Runtime.InteropServices;
using ILGPU;
using ILGPU.Runtime;
using Modular.Abstractions;
using Modular.Backends.Rocm.Device;
using Modular.Backends.Rocm.Kernels;

namespace Modular.Backends.Rocm;

/// <summary>
/// A backend on any device ILGPU drives: OpenCL (ROCm's runtime on AMD GPUs, pocl on CPUs), CUDA when asked, or
/// ILGPU's CPU simulator. Activations, KV cache and logits are float32; F16/BF16 weights stay 16-bit on the device
/// and are widened inside the kernels (float32 accumulation everywhere). FP8 weights are stored as F16 (exact).
/// </summary>
public sealed unsafe class RocmBackend : IBackend
{
    private readonly Context _context;
    private readonly MemoryBuffer1D<byte, Stride1D.Dense> _dummy;

    /// <summary>Opens the device the options name (see <see cref="DeviceSelector"/>).</summary>
    public RocmBackend(BackendOptions? options = null)
    {
        options ??= new BackendOptions();
        var choice = DeviceSelector.Open(options);
        _context = choice.Context;
        try
        {
            Accelerator = choice.Device.CreateAccelerator(_context);
            Family = choice.Family;
            IsGpu = choice.IsGpu;
            FewRowsGemm = true;
            Gemv = GemvSelection.Resolve(options, choice.IsGpu);
            Stream = Accelerator.DefaultStream;
            Loader = new KernelLoader(Accelerator, choice.RewriteGenericPointers);
            _dummy = Accelerator.Allocate1D<byte>(16);
            MaxGroup = 1;
            while (MaxGroup * 2 <= Math.Min(256, Accelerator.MaxNumThreadsPerGroup)) MaxGroup *= 2;
            int edge = 1;
            while (edge < GemmKernels.MaxTile && (edge * 2) * (edge * 2) <= MaxGroup) edge *= 2;
            // pocl runs 8 x 8 groups (64 x 64 blocks) faster than 16 x 16 (measured: 3.8 vs 2.5 GFLOP/s).
            GemmTile = IsGpu ? edge : Math.Min(edge, 8);
            long mem = Accelerator.MemorySize;
            _info = new DeviceInfo(choice.Describe(), $"ILGPU {typeof(Context).Assembly.GetName().Version} / {Accelerator.AcceleratorType}", mem, mem);
            Kernels = new RocmKernels(this);
            Attention = new RocmAttention(this);
        }
        catch
        {
            Accelerator?.Dispose();
            _context.Dispose();
            throw;
        }
    }

    internal Accelerator Accelerator { get; }

    /// <summary>Largest power-of-two group the device runs, capped at 256 (what the shared-memory tiles hold).</summary>
    internal int MaxGroup { get; }

    /// <summary>
    /// Group edge of the tiled GEMM in threads (each thread computes 8 x 8 outputs, so blocks are 8x this square):
    /// by default the largest power of two whose square fits a group, at most 16 on GPUs (128 x 128 blocks) and
    /// 8 on CPU devices. Settable (a power of two whose square fits a group) so tests can run the GPU
    /// configuration on pocl.
    /// </summary>
    public int GemmTile
    {
        get => _gemmTile;
        set
        {
            if (value < 1 || value > GemmKernels.MaxTile || (value & (value - 1)) != 0 || value * value > MaxGroup)
                throw new ArgumentOutOfRangeException(nameof(value), $"GEMM group edge {value}: a power of two up to {GemmKernels.MaxTile} whose square is at most {MaxGroup}");
            _gemmTile = value;
        }
    }

    private int _gemmTile;

    /// <summary>A group size of at most <paramref name="wanted"/> (a power of two) that the device runs.</summary>
    internal int GroupSize(int wanted) => Math.Min(wanted, MaxGroup);

    /// <summary>A 1-D grid-stride launch covering <paramref name="work"/> items.</summary>
    internal KernelConfig Stride(long work)
    {
        int threads = MaxGroup;
        return new KernelConfig(new Index1D((int)Math.Clamp((work + threads - 1) / threads, 1, 4096)), new Index1D(threads));
    }
    internal AcceleratorStream Stream { get; }
    internal KernelLoader Loader { get; }

    /// <summary>The ILGPU runtime in use.</summary>
    public AcceleratorFamily Family { get; }

    /// <summary>True when the device is a GPU.</summary>
    public bool IsGpu { get; }

    /// <summary>
    /// Linear with at most 8 token rows (decode) uses a split-K GEMV (<see cref="Gemv"/> says which) instead of
    /// the tiled GEMM. On by default: it reads each weight row once, coalesced, and on pocl it is also the faster
    /// one at T = 1 (measured 6 ms against 36 ms for [1,896]x[4864,896]^T).
    /// </summary>
    public bool FewRowsGemm { get; set; }

    /// <summary>
    /// Which decode GEMV <see cref="FewRowsGemm"/> launches: from the <c>gemv</c> setting, MODULAR_ROCM_GEMV, or the
    /// device (see <see cref="GemvSelection"/>). Settable so tests run both variants on one device.
    /// </summary>
    public GemvVariant Gemv { get; set; }

    /// <summary>
    /// Attention uses the tiled kernel, which stages each K/V tile in shared memory once for up to 32 (token, head)
    /// rows of a sequence that share the KV head; off, the one-group-per-(token, head) kernel. On by default.
    /// </summary>
    public bool TiledAttention { get; set; } = true;

    /// <summary>Kernels compiled so far and seconds each took (driver compile time; pocl caches builds on disk).</summary>
    public IReadOnlyList<(string Name, double Seconds)> CompiledKernels => Loader.Built;

    /// <inheritdoc />
    public string Name => "rocm";
    /// <summary>The device, with the decode GEMV in use appended ("... (gemv: group)") so logs and benches show it.</summary>
    public DeviceInfo Info => _info with { Name = $"{_info.Name} (gemv: {GemvSelection.Name(Gemv)})" };

    private readonly DeviceInfo _info;
    /// <inheritdoc />
    public DType ActivationDType => DType.F32;
    /// <inheritdoc />
    public IKernels Kernels { get; }
    /// <inheritdoc />
    public IAttentionBackend Attention { get; }

    /// <inheritdoc />
    public DType WeightDType(DType checkpoint) => checkpoint switch
    {
        DType.F16 or DType.BF16 or DType.F32 => checkpoint,
        DType.F8E4M3 => DType.F16, // every e4m3 value is exactly representable in half precision
        _ => checkpoint,
    };

    /// <summary>F32 everywhere; F16/BF16 as the weight operand of the ops that read weights.</summary>
    public bool Supports(Op op, DType dtype) =>
        dtype == DType.F32 || ((dtype is DType.F16 or DType.BF16) && (op is Op.Embedding or Op.RmsNorm or Op.Linear or Op.Moe));

    /// <inheritdoc />
    public Tensor Allocate(DType dtype, params int[] shape) => new RocmTensor(this, dtype, (int[])shape.Clone());

    /// <inheritdoc />
    public void Upload(ReadOnlySpan<byte> src, DType srcType, Tensor dst)
    {
        var t = Own(dst);
        long count = src.Length / DTypes.SizeOf(srcType);
        if (count != t.Length) throw new ArgumentException($"upload of {count} {srcType} elements into {t}");
        if (count == 0) return;
        if (srcType == t.DType)
        {
            CopyIn(src, t.Bytes);
            return;
        }
        if (!DTypes.IsFloat(srcType) || t.DType is not (DType.F32 or DType.F16 or DType.BF16))
            throw new NotSupportedException($"cannot convert {srcType} into {t}");
        // Chunked through float32 so a tensor above 2^31 bytes still converts with bounded host memory.
        const int chunk = 1 << 22;
        int srcSize = DTypes.SizeOf(srcType), dstSize = DTypes.SizeOf(t.DType);
        var f32 = new float[(int)Math.Min(chunk, count)];
        var bytes = new byte[f32.Length * dstSize];
        for (long i = 0; i < count; i += chunk)
        {
            int n = (int)Math.Min(chunk, count - i);
            DTypeConversion.ToF32(src.Slice((int)(i * srcSize), n * srcSize), srcType, f32.AsSpan(0, n));
            DTypeConversion.FromF32(f32.AsSpan(0, n), t.DType, bytes.AsSpan(0, n * dstSize));
            CopyIn(bytes.AsSpan(0, n * dstSize), t.Bytes.SubView(i * dstSize, (long)n * dstSize));
        }
    }

    /// <summary>
    /// Host-to-device copy. ILGPU takes a ref and does not pin it, while the driver reads the memory until the copy
    /// completes - and a GC may move a managed array meanwhile (the thread waits in native code) - so pin here.
    /// </summary>
    private void CopyIn(ReadOnlySpan<byte> src, ArrayView<byte> dst)
    {
        fixed (byte* p = src) dst.CopyFromCPU(Stream, ref *p, src.Length);
    }

    /// <summary>Device-to-host copy into pinned memory (see <see cref="CopyIn"/>).</summary>
    private void CopyOut(ArrayView<byte> src, Span<byte> dst)
    {
        fixed (byte* p = dst) src.CopyToCPU(Stream, ref *p, dst.Length);
    }

    /// <inheritdoc />
    public void DownloadF32(Tensor src, Span<float> dst)
    {
        var t = Own(src);
        if (dst.Length < t.Length) throw new ArgumentException($"download of {t} into a span of {dst.Length} floats");
        if (t.Length == 0) return;
        if (t.DType == DType.F32)
        {
            CopyOut(t.Bytes, MemoryMarshal.AsBytes(dst[..(int)t.Length]));
            return;
        }
        if (t.DType is not (DType.F16 or DType.BF16)) throw new NotSupportedException($"cannot download {t} as float32");
        var raw = new byte[t.ByteLength];
        CopyOut(t.Bytes, raw);
        DTypeConversion.ToF32(raw, t.DType, dst[..(int)t.Length]);
    }

    /// <inheritdoc />
    public void DownloadI32(Tensor src, Span<int> dst)
    {
        var t = Own(src);
        if (t.DType != DType.I32) throw new ArgumentException($"DownloadI32 of {t}");
        if (dst.Length < t.Length) throw new ArgumentException($"download of {t} into a span of {dst.Length} ints");
        if (t.Length == 0) return;
        CopyOut(t.Bytes, MemoryMarshal.AsBytes(dst[..(int)t.Length]));
    }

    /// <inheritdoc />
    public void Copy(Tensor src, Tensor dst)
    {
        var s = Own(src); var d = Own(dst);
        if (s.DType != d.DType || s.Length != d.Length) throw new ArgumentException($"copy {s} -> {d}");
        if (s.Length == 0) return;
        s.Bytes.CopyTo(Stream, d.Bytes);
    }

    /// <inheritdoc />
    public void Synchronize() => Stream.Synchronize();

    internal static RocmTensor Own(Tensor t) =>
        t as RocmTensor ?? throw new ArgumentException($"tensor {t} belongs to backend '{t.Backend.Name}', not rocm");

    /// <summary>A float tensor as kernels read it (weights in any stored float dtype).</summary>
    internal FloatRef Float(Tensor t)
    {
        var r = Own(t);
        var noFloat = _dummy.View.AsContiguous().Cast<float>();
        var noPairs = _dummy.View.AsContiguous().Cast<uint>();
        if (r.DType == DType.F32) return new FloatRef(r.F32, _dummy.View.AsContiguous().Cast<ushort>(), StorageKind.F32, noPairs, false);
        if (r.DType is not (DType.F16 or DType.BF16)) throw new ArgumentException($"expected a float tensor, got {r}");
        bool aligned = r.ByteOffset % 4 == 0 && r.ByteLength >= 4;
        return new FloatRef(noFloat, r.U16, r.DType == DType.F16 ? StorageKind.F16 : StorageKind.BF16,
            aligned ? r.Bytes.Cast<uint>() : noPairs, aligned);
    }

    /// <summary>A never-read float view for optional arguments (ILGPU needs a real buffer for every view).</summary>
    internal FloatRef NoFloat => new(_dummy.View.AsContiguous().Cast<float>(), _dummy.View.AsContiguous().Cast<ushort>(), StorageKind.F32,
        _dummy.View.AsContiguous().Cast<uint>(), false);

    /// <inheritdoc />
    public void Dispose()
    {
        Accelerator.Synchronize();
        (Attention as IDisposable)?.Dispose();
        (Kernels as IDisposable)?.Dispose();
        _dummy.Dispose();
        Accelerator.Dispose();
        _context.Dispose();
    }
}
