using Modular.Backends.Cuda.Native;
using Modular.Backends.Cuda.Runtime;

namespace Modular.Backends.Cuda;

/// <summary>
/// One ordered queue of the backend's device work (see <see cref="Abstractions.IStreamLanes"/>): a non-blocking
/// stream with everything that work on it writes besides its tensors - a cuBLAS handle with its own workspace, the
/// cuBLASLt workspace the bf16 and FP8 GEMMs share, and a scratch arena - so two lanes can run at once without
/// racing on a buffer. Lane 0 is made with the backend; others when a step first forks.
/// </summary>
internal sealed class CudaLane : IDisposable
{
    /// <summary>cuBLAS's own workspace: it then never allocates inside a captured step (32 MiB covers Hopper's kernels).</summary>
    private const long BlasWorkspaceBytes = 32L << 20;

    /// <summary>Workspace handed to every cuBLASLt matmul on this lane.</summary>
    internal const long LtWorkspaceBytes = 32L << 20;

    private readonly DeviceBuffer _blasWorkspace;

    internal unsafe CudaLane(CudaBackend backend, CudaContext context)
    {
        Stream = new CudaStream(context);
        try
        {
            Blas = new CublasHandle(context, Stream);
            _blasWorkspace = new DeviceBuffer(context, Stream, BlasWorkspaceBytes);
            CudaCheck.Blas(Cublas.cublasSetWorkspace(Blas.Raw, _blasWorkspace.Pointer, (nuint)BlasWorkspaceBytes), "cublasSetWorkspace");
            LtWorkspace = new DeviceBuffer(context, Stream, LtWorkspaceBytes);
            Scratch = new ScratchArena(backend);
            Done = new CudaEvent(context, timing: false);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>The lane's stream.</summary>
    internal CudaStream Stream { get; }

    /// <summary>cuBLAS handle bound to <see cref="Stream"/>.</summary>
    internal CublasHandle Blas { get; } = null!;

    /// <summary>cuBLASLt workspace (<see cref="LtWorkspaceBytes"/>) for products enqueued on this lane.</summary>
    internal DeviceBuffer LtWorkspace { get; } = null!;

    /// <summary>Intermediates of single ops on this lane.</summary>
    internal ScratchArena Scratch { get; } = null!;

    /// <summary>Recorded where another lane must wait for this one (fork and join).</summary>
    internal CudaEvent Done { get; } = null!;

    public void Dispose()
    {
        Done?.Dispose();
        Scratch?.Dispose();
        LtWorkspace?.Dispose();
        _blasWorkspace?.Dispose();
        Blas?.Dispose();
        Stream.Dispose();
    }
}
