using Modular.Backends.Cuda.Native;

namespace Modular.Backends.Cuda;

/// <summary>
/// A captured sequence of GPU work (see <see cref="CudaBackend.Capture"/>): replaying it launches every recorded
/// kernel and copy with one call, reading and writing the same device addresses as during capture.
/// </summary>
public sealed class CudaGraphReplay : Modular.Abstractions.IStepGraph
{
    private readonly CudaBackend _backend;
    private readonly CudaGraphExec _exec;

    internal CudaGraphReplay(CudaBackend backend, CudaGraphExec exec)
    {
        _backend = backend;
        _exec = exec;
    }

    /// <summary>Enqueues one replay on the backend's stream.</summary>
    public void Replay()
    {
        _backend.Bind();
        _exec.Launch(_backend.Stream);
    }

    /// <inheritdoc />
    public void Dispose() => _exec.Dispose();
}
