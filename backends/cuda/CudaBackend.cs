using System.Runtime.InteropServices;
using Modular.Abstractions;
using Modular.Backends.Cuda.Native;
using Modular.Backends.Cuda.Runtime;

namespace Modular.Backends.Cuda;

/// <summary>
/// NVIDIA GPU backend: BF16 activations and weights (F16/F32 checkpoints are converted to BF16 on upload, so every
/// GEMM is one cuBLAS bf16 x bf16 -> bf16 product with float32 accumulation), CUDA C kernels compiled by NVRTC at
/// load, and one non-blocking stream that orders all work. Device memory comes from the stream-ordered pool, so
/// allocating and freeing activations each step costs no device synchronization.
/// </summary>
public sealed unsafe partial class CudaBackend : IBackend, IGraphCapture
{
    private readonly CudaContext _context;
    private readonly CudaStream _stream;
    private readonly CublasHandle _cublas;
    private readonly KernelLibrary _kernels;
    private readonly LaunchProfiler? _profiler;
    private bool _capturing;
    private readonly ScratchArena _scratch;
    private readonly KernelArgsBuilder _args = new();
    private PinnedHostBuffer? _staging;
    private readonly DeviceBuffer _blasWorkspace;
    private PinnedHostBuffer? _asyncStaging;
    private long _asyncOffset;
    private CudaEvent? _asyncDone;
    private long _memoryEpoch;
    private bool _disposed;

    /// <summary>Opens device <see cref="BackendOptions.DeviceIndex"/>; throws <see cref="CudaException"/> naming the failed step.</summary>
    public CudaBackend(BackendOptions options)
    {
        NativeLibraries.EnsureResolver();
        if (!NativeLibraries.TryLoad(NativeLibraries.Driver, out _, out var why))
            throw new CudaException($"CUDA driver not found: {why}", -1);
        CudaCheck.Driver(CudaDriver.cuInit(0), "cuInit");
        int count, device, version;
        CudaCheck.Driver(CudaDriver.cuDeviceGetCount(&count), "cuDeviceGetCount");
        if (options.DeviceIndex < 0 || options.DeviceIndex >= count)
            throw new CudaException($"cuda: device index {options.DeviceIndex} does not exist ({count} CUDA device(s) found)", -1);
        CudaCheck.Driver(CudaDriver.cuDeviceGet(&device, options.DeviceIndex), $"cuDeviceGet({options.DeviceIndex})");
        CudaCheck.Driver(CudaDriver.cuDriverGetVersion(&version), "cuDriverGetVersion");
        DeviceOrdinal = options.DeviceIndex;
        int major = Attribute(device, CudaDriver.AttrComputeMajor), minor = Attribute(device, CudaDriver.AttrComputeMinor);
        Arch = $"{major}{minor}";
        MultiprocessorCount = Attribute(device, CudaDriver.AttrMultiprocessorCount);
        DeviceName = ReadName(device);
        nuint total;
        CudaCheck.Driver(CudaDriver.cuDeviceTotalMem(&total, device), "cuDeviceTotalMem");
        TotalMemory = (long)total;

        _context = CudaContext.RetainPrimary(device);
        _stream = new CudaStream(_context);
        KeepPoolMemory(device);
        _cublas = new CublasHandle(_context, _stream);
        // A workspace of our own: cuBLAS then never allocates inside a captured step (32 MiB covers Hopper's kernels).
        _blasWorkspace = new DeviceBuffer(_context, _stream, BlasWorkspaceBytes);
        CudaCheck.Blas(Cublas.cublasSetWorkspace(_cublas.Raw, _blasWorkspace.Pointer, (nuint)BlasWorkspaceBytes), "cublasSetWorkspace");
        _kernels = new KernelLibrary(_context, Arch);
        _profiler = LaunchProfiler.FromEnvironment(_context, _stream, _kernels.ProfileHold);
        _scratch = new ScratchArena(this);
        DriverVersion = $"CUDA driver {version / 1000}.{version % 1000 / 10}, NVRTC {KernelCompiler.Version()}, sm_{Arch}";
        Kernels = new CudaKernels(this);
        Attention = new CudaAttention(this);
    }

    private const long BlasWorkspaceBytes = 32L << 20;
    private const long AsyncStagingBytes = 4L << 20;

    /// <inheritdoc />
    public string Name => "cuda";

    /// <inheritdoc />
    public long MemoryEpoch => Interlocked.Read(ref _memoryEpoch);

    /// <summary>Marks that memory captured graphs may point at has moved (scratch growth, graph metadata growth).</summary>
    internal void BumpMemoryEpoch() => Interlocked.Increment(ref _memoryEpoch);

    /// <summary>Device ordinal in use.</summary>
    public int DeviceOrdinal { get; }

    /// <summary>Compute capability as digits ("90" for an H100).</summary>
    public string Arch { get; }

    /// <summary>Streaming multiprocessors on the device (sizes grids of memory-bound kernels).</summary>
    public int MultiprocessorCount { get; }

    /// <summary>Device name as the driver reports it.</summary>
    public string DeviceName { get; }

    /// <summary>Driver, NVRTC and target architecture, for reports.</summary>
    public string DriverVersion { get; }

    /// <summary>Bytes of device memory.</summary>
    public long TotalMemory { get; }

    /// <summary>True when the kernels' cubin came from the on-disk cache instead of NVRTC.</summary>
    public bool KernelsFromCache => _kernels.FromCache;

    /// <inheritdoc />
    public DeviceInfo Info
    {
        get
        {
            Bind();
            nuint free, total;
            CudaCheck.Driver(CudaDriver.cuMemGetInfo(&free, &total), "cuMemGetInfo");
            return new DeviceInfo(DeviceName, DriverVersion, (long)total, (long)free);
        }
    }

    /// <inheritdoc />
    public DType ActivationDType => DType.BF16;

    /// <inheritdoc />
    public DType WeightDType(DType checkpoint) => DTypes.IsFloat(checkpoint) ? DType.BF16 : checkpoint;

    /// <inheritdoc />
    public bool Supports(Op op, DType dtype) => dtype == DType.BF16;

    /// <inheritdoc />
    public IKernels Kernels { get; }

    /// <inheritdoc />
    public IAttentionBackend Attention { get; }

    internal KernelLibrary Library => _kernels;
    internal CudaStream Stream => _stream;
    internal CudaContext Context => _context;
    internal CublasHandle Blas => _cublas;
    internal ScratchArena Scratch => _scratch;

    /// <inheritdoc />
    public Tensor Allocate(DType dtype, params int[] shape)
    {
        Bind();
        var t = AllocateUninitialized(dtype, shape);
        if (t.ByteLength > 0)
            CudaCheck.Driver(CudaDriver.cuMemsetD8Async(t.Pointer, 0, (nuint)t.ByteLength, _stream.Raw), "cuMemsetD8Async");
        return t;
    }

    /// <summary>Allocates without zero-filling (outputs that a kernel overwrites completely).</summary>
    internal CudaTensor AllocateUninitialized(DType dtype, int[] shape)
    {
        long n = 1;
        foreach (var d in shape) n = checked(n * d);
        var buffer = new DeviceBuffer(_context, _stream, n * DTypes.SizeOf(dtype));
        return new CudaTensor(this, buffer, dtype, (int[])shape.Clone());
    }

    /// <inheritdoc />
    public void Upload(ReadOnlySpan<byte> src, DType srcType, Tensor dst)
    {
        var d = Own(dst, nameof(dst));
        Bind();
        long n = src.Length / DTypes.SizeOf(srcType);
        if (src.Length % DTypes.SizeOf(srcType) != 0 || n != d.Length)
            throw new ArgumentException($"cuda: Upload of {src.Length} bytes of {srcType} ({n} elements) into {d} ({d.Length} elements): element counts differ");
        if (srcType == d.DType)
        {
            fixed (byte* p = src)
                CudaCheck.Driver(CudaDriver.cuMemcpyHtoDAsync(d.Pointer, p, (nuint)src.Length, _stream.Raw), "cuMemcpyHtoDAsync");
            // Pageable sources are staged before the call returns, but the caller may free the span right away;
            // synchronizing keeps that true for any source.
            _stream.Synchronize();
            return;
        }
        if (!DTypes.IsFloat(srcType) || !DTypes.IsFloat(d.DType))
            throw new NotSupportedException($"cuda: Upload converts between float types only, not {srcType} to {d.DType}");
        UploadConverted(src, srcType, d, n);
    }

    private void UploadConverted(ReadOnlySpan<byte> src, DType srcType, CudaTensor d, long n)
    {
        const int chunk = 1 << 20;
        int dstSize = DTypes.SizeOf(d.DType);
        var staging = EnsureStaging((long)chunk * dstSize);
        var span = new Span<byte>(staging.Pointer, chunk * dstSize);
        int srcSize = DTypes.SizeOf(srcType);
        var pivot = new float[Math.Min(chunk, n)];
        for (long start = 0; start < n; start += chunk)
        {
            int count = (int)Math.Min(chunk, n - start);
            var s = src.Slice((int)(start * srcSize), count * srcSize);
            // The previous chunk's copy reads the staging buffer: finish it before overwriting.
            _stream.Synchronize();
            DTypeConversion.ToF32(s, srcType, pivot.AsSpan(0, count));
            DTypeConversion.FromF32(pivot.AsSpan(0, count), d.DType, span[..(count * dstSize)]);
            CudaCheck.Driver(CudaDriver.cuMemcpyHtoDAsync(d.Pointer + (ulong)(start * dstSize), staging.Pointer,
                (nuint)(count * dstSize), _stream.Raw), "cuMemcpyHtoDAsync");
        }
        _stream.Synchronize();
    }

    /// <inheritdoc />
    public void DownloadF32(Tensor src, Span<float> dst)
    {
        var s = Own(src, nameof(src));
        Bind();
        if (dst.Length != s.Length)
            throw new ArgumentException($"cuda: DownloadF32 of {s} ({s.Length} elements) into a span of {dst.Length}");
        if (s.Length == 0) return;
        ulong from = s.Pointer;
        if (s.DType != DType.F32)
        {
            nint fn = s.DType switch
            {
                DType.BF16 => _kernels.ConvertBf16F32,
                DType.F16 => _kernels.ConvertF16F32,
                _ => throw new NotSupportedException($"cuda: DownloadF32 needs a float tensor, got {s}"),
            };
            from = _scratch.Acquire(s.Length * 4);
            LaunchElementwise(fn, s.Length, Args().Ptr(s.Pointer).Ptr(from).Long(s.Length));
        }
        long bytes = s.Length * 4;
        var staging = EnsureStaging(bytes);
        CudaCheck.Driver(CudaDriver.cuMemcpyDtoHAsync(staging.Pointer, from, (nuint)bytes, _stream.Raw), "cuMemcpyDtoHAsync");
        _stream.Synchronize();
        new ReadOnlySpan<float>(staging.Pointer, dst.Length).CopyTo(dst);
    }

    /// <inheritdoc />
    public void DownloadI32(Tensor src, Span<int> dst)
    {
        var s = Own(src, nameof(src));
        Bind();
        if (s.DType != DType.I32) throw new ArgumentException($"cuda: DownloadI32 needs an I32 tensor, got {s}");
        if (dst.Length != s.Length) throw new ArgumentException($"cuda: DownloadI32 of {s} into a span of {dst.Length}");
        fixed (int* p = dst)
            CudaCheck.Driver(CudaDriver.cuMemcpyDtoHAsync(p, s.Pointer, (nuint)(s.Length * 4), _stream.Raw), "cuMemcpyDtoHAsync");
        _stream.Synchronize();
    }

    /// <summary>Copies raw bytes of a tensor of any dtype to the host (tests, debugging).</summary>
    public void DownloadBytes(Tensor src, Span<byte> dst)
    {
        var s = Own(src, nameof(src));
        Bind();
        if (dst.Length != s.ByteLength) throw new ArgumentException($"cuda: DownloadBytes of {s} ({s.ByteLength} bytes) into a span of {dst.Length}");
        fixed (byte* p = dst)
            CudaCheck.Driver(CudaDriver.cuMemcpyDtoHAsync(p, s.Pointer, (nuint)dst.Length, _stream.Raw), "cuMemcpyDtoHAsync");
        _stream.Synchronize();
    }

    /// <inheritdoc />
    public void Copy(Tensor src, Tensor dst)
    {
        var s = Own(src, nameof(src));
        var d = Own(dst, nameof(dst));
        if (s.DType != d.DType || s.Length != d.Length)
            throw new ArgumentException($"cuda: Copy needs the same dtype and length, got {s} -> {d}");
        Bind();
        if (s.ByteLength > 0)
            CudaCheck.Driver(CudaDriver.cuMemcpyDtoDAsync(d.Pointer, s.Pointer, (nuint)s.ByteLength, _stream.Raw), "cuMemcpyDtoDAsync");
    }

    /// <inheritdoc />
    public void Synchronize()
    {
        Bind();
        _stream.Synchronize();
    }

    /// <summary>
    /// Records everything <paramref name="body"/> enqueues into a CUDA graph instead of running it, and returns the
    /// instantiated graph for replay. The body must not synchronize, download or upload from pageable memory, and
    /// should run once uncaptured first so scratch buffers have reached their size.
    /// </summary>
    public CudaGraphReplay Capture(Action body)
    {
        Bind();
        CudaCheck.Driver(CudaDriver.cuStreamBeginCapture(_stream.Raw, CudaDriver.CaptureModeThreadLocal), "cuStreamBeginCapture");
        nint graph;
        _capturing = true;
        try
        {
            body();
        }
        finally
        {
            _capturing = false;
            int r = CudaDriver.cuStreamEndCapture(_stream.Raw, &graph);
            CudaCheck.Driver(r, "cuStreamEndCapture");
        }
        using var g = new CudaGraph(_context, graph);
        return new CudaGraphReplay(this, new CudaGraphExec(g));
    }

    /// <inheritdoc />
    IStepGraph IGraphCapture.Capture(Action body) => Capture(body);

    /// <inheritdoc />
    public void UploadAsync(ReadOnlySpan<byte> src, Tensor dst)
    {
        var d = Own(dst, nameof(dst));
        if (src.Length != d.ByteLength)
            throw new ArgumentException($"cuda: UploadAsync of {src.Length} bytes into {d} ({d.ByteLength} bytes): sizes differ");
        if (src.Length == 0) return;
        Bind();
        if (src.Length > AsyncStagingBytes)
        {
            Upload(src, d.DType, d);
            return;
        }
        _asyncStaging ??= new PinnedHostBuffer(_context, AsyncStagingBytes);
        _asyncDone ??= new CudaEvent(_context);
        long at = (_asyncOffset + 255) & ~255L;
        if (at + src.Length > AsyncStagingBytes)
        {
            // Wrapping around: the copies that read the start of the ring must have run first.
            CudaCheck.Driver(CudaDriver.cuEventSynchronize(_asyncDone.DangerousGetHandle()), "cuEventSynchronize(upload staging)");
            at = 0;
        }
        src.CopyTo(new Span<byte>(_asyncStaging.Pointer + at, src.Length));
        CudaCheck.Driver(CudaDriver.cuMemcpyHtoDAsync(d.Pointer, _asyncStaging.Pointer + at, (nuint)src.Length, _stream.Raw), "cuMemcpyHtoDAsync(staged)");
        _asyncDone.Record(_stream);
        _asyncOffset = at + src.Length;
    }

    /// <summary>Times <paramref name="body"/> with device events: median milliseconds over <paramref name="repeats"/> runs.</summary>
    public double TimeMilliseconds(Action body, int repeats)
    {
        Bind();
        using var start = new CudaEvent(_context);
        using var end = new CudaEvent(_context);
        var times = new double[repeats];
        for (int i = 0; i < repeats; i++)
        {
            start.Record(_stream);
            body();
            end.Record(_stream);
            times[i] = end.ElapsedSince(start);
        }
        Array.Sort(times);
        return times[repeats / 2];
    }

    /// <summary>The backend's argument list, emptied.</summary>
    internal KernelArgsBuilder Args() => _args.Reset();

    /// <summary>Makes this backend's context current on the calling thread.</summary>
    internal void Bind()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _context.MakeCurrent();
    }

    /// <summary>Checks that <paramref name="t"/> is a tensor of this backend.</summary>
    internal CudaTensor Own(Tensor t, string name)
    {
        ArgumentNullException.ThrowIfNull(t, name);
        if (t is not CudaTensor c || !ReferenceEquals(c.Backend, this))
            throw new ArgumentException($"cuda: {name} ({t}) belongs to backend '{t.Backend.Name}', not this cuda backend", name);
        return c;
    }

    /// <summary>
    /// Launches <paramref name="function"/>; the context is already bound. Programmatic dependent launch (every
    /// kernel opening with griddepcontrol.wait/launch_dependents, GEMVs prefetching their weight rows first) was
    /// tried on the H100 and dropped: W1 167.9-168.0 tok/s against 168.5-169.0 with plain launches from graphs.
    /// </summary>
    internal void Launch(nint function, uint gx, uint gy, uint gz, uint bx, uint sharedBytes, KernelArgsBuilder args, string what)
    {
        if (gx == 0 || gy == 0 || gz == 0) return;
        var profiler = Profiler;
        profiler?.Begin();
        fixed (ulong* slots = args.Slots)
        {
            void** ptrs = stackalloc void*[args.Count];
            for (int i = 0; i < args.Count; i++) ptrs[i] = slots + i;
            int r = CudaDriver.cuLaunchKernel(function, gx, gy, gz, bx, 1, 1, sharedBytes, _stream.Raw, ptrs, null);
            if (r != 0) CudaCheck.Driver(r, $"cuLaunchKernel({what}, grid {gx}x{gy}x{gz}, block {bx})");
        }
        profiler?.End(what, (long)gx * gy * gz);
    }

    /// <summary>
    /// Set by MODULAR_CUDA_PROFILE=1: per-kernel device times, printed at dispose (see <see cref="LaunchProfiler"/>).
    /// Null during graph capture, where waiting on events is illegal.
    /// </summary>
    internal LaunchProfiler? Profiler => _capturing ? null : _profiler;

    /// <summary>True while <see cref="Capture"/> records a graph (work enqueued now is replayed, not run once).</summary>
    internal bool Capturing => _capturing;

    /// <summary>Launches a grid-stride kernel over <paramref name="n"/> elements.</summary>
    internal void LaunchElementwise(nint function, long n, KernelArgsBuilder args, string what = "elementwise")
    {
        const int threads = 256;
        long blocks = Math.Min((n + threads - 1) / threads, (long)MultiprocessorCount * 16);
        Launch(function, (uint)Math.Max(blocks, 1), 1, 1, threads, 0, args, what);
    }

    private PinnedHostBuffer EnsureStaging(long bytes)
    {
        if (_staging is null || _staging.Bytes < bytes)
        {
            _stream.Synchronize();
            _staging?.Dispose();
            _staging = new PinnedHostBuffer(_context, Math.Max(bytes, 1 << 20));
        }
        return _staging;
    }

    private void KeepPoolMemory(int device)
    {
        // The default pool returns freed memory to the OS at every synchronization unless told otherwise; keeping
        // it makes per-step activation allocations reuse the same pages.
        nint pool;
        CudaCheck.Driver(CudaDriver.cuDeviceGetDefaultMemPool(&pool, device), "cuDeviceGetDefaultMemPool");
        ulong threshold = ulong.MaxValue;
        CudaCheck.Driver(CudaDriver.cuMemPoolSetAttribute(pool, CudaDriver.MemPoolAttrReleaseThreshold, &threshold), "cuMemPoolSetAttribute(RELEASE_THRESHOLD)");
    }

    private static int Attribute(int device, int attribute)
    {
        int v;
        CudaCheck.Driver(CudaDriver.cuDeviceGetAttribute(&v, attribute, device), $"cuDeviceGetAttribute({attribute})");
        return v;
    }

    private static string ReadName(int device)
    {
        byte* buf = stackalloc byte[256];
        CudaCheck.Driver(CudaDriver.cuDeviceGetName(buf, 256, device), "cuDeviceGetName");
        return Marshal.PtrToStringUTF8((nint)buf) ?? "CUDA device";
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed) return;
        try { _context.MakeCurrent(); _stream.Synchronize(); } catch (CudaException) { }
        _disposed = true;
        if (_profiler is not null) Console.Error.Write(_profiler.Report());
        _profiler?.Dispose();
        _scratch.Dispose();
        _staging?.Dispose();
        _asyncStaging?.Dispose();
        _asyncDone?.Dispose();
        (Kernels as CudaKernels)?.DisposeQuantized();
        (Kernels as CudaKernels)?.DisposeSampling();
        _blasWorkspace.Dispose();
        _kernels.Dispose();
        _cublas.Dispose();
        _stream.Dispose();
        _context.Dispose();
    }
}
