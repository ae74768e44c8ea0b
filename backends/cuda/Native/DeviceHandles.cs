using System.Runtime.InteropServices;

namespace Modular.Backends.Cuda.Native;

/// <summary>
/// A retained primary context of one device. Every other handle keeps it alive (reference counted through
/// <see cref="SafeHandle.DangerousAddRef"/>) so the context is released last.
/// </summary>
internal sealed unsafe class CudaContext : SafeHandle
{
    [ThreadStatic] private static nint _currentOnThread;

    private CudaContext(int device, nint context) : base(0, true)
    {
        Device = device;
        SetHandle(context);
    }

    /// <summary>Driver device handle.</summary>
    internal int Device { get; }

    /// <inheritdoc />
    public override bool IsInvalid => handle == 0;

    /// <summary>Retains the primary context of <paramref name="device"/> and makes it current on this thread.</summary>
    internal static CudaContext RetainPrimary(int device)
    {
        nint ctx;
        CudaCheck.Driver(CudaDriver.cuDevicePrimaryCtxRetain(&ctx, device), $"cuDevicePrimaryCtxRetain(device {device})");
        var c = new CudaContext(device, ctx);
        c.MakeCurrent();
        return c;
    }

    /// <summary>Binds the context to the calling thread (driver calls are per-thread); cheap when already bound.</summary>
    internal void MakeCurrent()
    {
        if (_currentOnThread == handle) return;
        CudaCheck.Driver(CudaDriver.cuCtxSetCurrent(handle), "cuCtxSetCurrent");
        _currentOnThread = handle;
    }

    /// <inheritdoc />
    protected override bool ReleaseHandle()
    {
        if (_currentOnThread == handle) _currentOnThread = 0;
        return CudaDriver.cuDevicePrimaryCtxRelease(Device) == 0;
    }
}

/// <summary>Base of handles that belong to a context: binds it before releasing and keeps it alive until then.</summary>
internal abstract class ContextBoundHandle : SafeHandle
{
    private readonly CudaContext _context;

    /// <summary>Takes a reference on <paramref name="context"/>.</summary>
    protected ContextBoundHandle(CudaContext context) : base(0, true)
    {
        bool added = false;
        context.DangerousAddRef(ref added);
        _context = context;
    }

    /// <inheritdoc />
    public override bool IsInvalid => handle == 0;

    /// <summary>Adopts the native handle.</summary>
    protected void Adopt(nint native) => SetHandle(native);

    /// <summary>The owning context.</summary>
    internal CudaContext Context => _context;

    /// <summary>Destroys the native object (context already current).</summary>
    protected abstract bool Destroy(nint native);

    /// <inheritdoc />
    protected sealed override bool ReleaseHandle()
    {
        bool ok;
        try
        {
            _context.MakeCurrent();
            ok = Destroy(handle);
        }
        catch (Exception)
        {
            ok = false;
        }
        _context.DangerousRelease();
        return ok;
    }
}

/// <summary>A non-blocking CUDA stream.</summary>
internal sealed unsafe class CudaStream : ContextBoundHandle
{
    internal CudaStream(CudaContext context) : base(context)
    {
        nint s;
        CudaCheck.Driver(CudaDriver.cuStreamCreate(&s, CudaDriver.StreamNonBlocking), "cuStreamCreate");
        Adopt(s);
    }

    /// <summary>The raw CUstream for enqueueing work.</summary>
    internal nint Raw => handle;

    /// <summary>Blocks until the stream's queued work is done.</summary>
    internal void Synchronize() => CudaCheck.Driver(CudaDriver.cuStreamSynchronize(handle), "cuStreamSynchronize");

    protected override bool Destroy(nint native) => CudaDriver.cuStreamDestroy(native) == 0;
}

/// <summary>A CUDA event for timing and ordering.</summary>
internal sealed unsafe class CudaEvent : ContextBoundHandle
{
    internal CudaEvent(CudaContext context) : base(context)
    {
        nint e;
        CudaCheck.Driver(CudaDriver.cuEventCreate(&e, 0), "cuEventCreate");
        Adopt(e);
    }

    /// <summary>Records the event on <paramref name="stream"/>.</summary>
    internal void Record(CudaStream stream) => CudaCheck.Driver(CudaDriver.cuEventRecord(handle, stream.Raw), "cuEventRecord");

    /// <summary>Milliseconds between <paramref name="start"/> and this event (waits for this one).</summary>
    internal float ElapsedSince(CudaEvent start)
    {
        CudaCheck.Driver(CudaDriver.cuEventSynchronize(handle), "cuEventSynchronize");
        float ms;
        CudaCheck.Driver(CudaDriver.cuEventElapsedTime(&ms, start.DangerousGetHandle(), handle), "cuEventElapsedTime");
        return ms;
    }

    protected override bool Destroy(nint native) => CudaDriver.cuEventDestroy(native) == 0;
}

/// <summary>
/// Device memory from the stream-ordered allocator: allocation and free are queued on the stream, so a buffer
/// freed after its last use can be reused by the next allocation without a device-wide synchronization.
/// </summary>
internal sealed unsafe class DeviceBuffer : ContextBoundHandle
{
    private readonly CudaStream _stream;

    internal DeviceBuffer(CudaContext context, CudaStream stream, long bytes) : base(context)
    {
        bool added = false;
        stream.DangerousAddRef(ref added);
        _stream = stream;
        Bytes = bytes;
        ulong p;
        // Zero-byte tensors still get a distinct, valid address.
        var size = (nuint)Math.Max(bytes, 256);
        int r = CudaDriver.cuMemAllocAsync(&p, size, stream.Raw);
        if (r != 0)
        {
            stream.DangerousRelease();
            CudaCheck.Driver(r, $"cuMemAllocAsync({bytes} bytes)");
        }
        Adopt((nint)p);
    }

    /// <summary>Requested size in bytes.</summary>
    internal long Bytes { get; }

    /// <summary>Device address.</summary>
    internal ulong Pointer => (ulong)handle;

    protected override bool Destroy(nint native)
    {
        bool ok = CudaDriver.cuMemFreeAsync((ulong)native, _stream.Raw) == 0;
        _stream.DangerousRelease();
        return ok;
    }
}

/// <summary>Page-locked host memory: the only kind asynchronous copies overlap with.</summary>
internal sealed unsafe class PinnedHostBuffer : ContextBoundHandle
{
    internal PinnedHostBuffer(CudaContext context, long bytes) : base(context)
    {
        void* p;
        CudaCheck.Driver(CudaDriver.cuMemAllocHost(&p, (nuint)Math.Max(bytes, 64)), $"cuMemAllocHost({bytes} bytes)");
        Adopt((nint)p);
        Bytes = bytes;
    }

    /// <summary>Size in bytes.</summary>
    internal long Bytes { get; }

    /// <summary>Host address.</summary>
    internal byte* Pointer => (byte*)handle;

    protected override bool Destroy(nint native) => CudaDriver.cuMemFreeHost((void*)native) == 0;
}

/// <summary>A loaded cubin module.</summary>
internal sealed unsafe class CudaModule : ContextBoundHandle
{
    internal CudaModule(CudaContext context, ReadOnlySpan<byte> image) : base(context)
    {
        nint m;
        fixed (byte* p = image)
            CudaCheck.Driver(CudaDriver.cuModuleLoadData(&m, p), "cuModuleLoadData");
        Adopt(m);
    }

    /// <summary>Looks up an extern "C" kernel by name.</summary>
    internal nint GetFunction(string name)
    {
        var bytes = System.Text.Encoding.ASCII.GetBytes(name + "\0");
        nint f;
        fixed (byte* p = bytes)
            CudaCheck.Driver(CudaDriver.cuModuleGetFunction(&f, handle, p), $"cuModuleGetFunction({name})");
        return f;
    }

    protected override bool Destroy(nint native) => CudaDriver.cuModuleUnload(native) == 0;
}

/// <summary>A captured CUDA graph (the template).</summary>
internal sealed class CudaGraph : ContextBoundHandle
{
    internal CudaGraph(CudaContext context, nint graph) : base(context) => Adopt(graph);

    /// <summary>The raw CUgraph.</summary>
    internal nint Raw => handle;

    protected override bool Destroy(nint native) => CudaDriver.cuGraphDestroy(native) == 0;
}

/// <summary>An instantiated graph that can be launched on a stream.</summary>
internal sealed unsafe class CudaGraphExec : ContextBoundHandle
{
    internal CudaGraphExec(CudaGraph graph) : base(graph.Context)
    {
        nint exec;
        CudaCheck.Driver(CudaDriver.cuGraphInstantiateWithFlags(&exec, graph.Raw, 0), "cuGraphInstantiateWithFlags");
        Adopt(exec);
    }

    /// <summary>Queues one replay of the whole graph.</summary>
    internal void Launch(CudaStream stream) => CudaCheck.Driver(CudaDriver.cuGraphLaunch(handle, stream.Raw), "cuGraphLaunch");

    protected override bool Destroy(nint native) => CudaDriver.cuGraphExecDestroy(native) == 0;
}

/// <summary>A cuBLAS handle bound to one stream.</summary>
internal sealed unsafe class CublasHandle : ContextBoundHandle
{
    internal CublasHandle(CudaContext context, CudaStream stream) : base(context)
    {
        nint h;
        CudaCheck.Blas(Cublas.cublasCreate(&h), "cublasCreate");
        Adopt(h);
        CudaCheck.Blas(Cublas.cublasSetStream(h, stream.Raw), "cublasSetStream");
    }

    /// <summary>The raw cublasHandle_t.</summary>
    internal nint Raw => handle;

    protected override bool Destroy(nint native) => Cublas.cublasDestroy(native) == 0;
}
