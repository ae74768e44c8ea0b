using Modular.Backends.Cuda.Native;

namespace Modular.Backends.Cuda.Runtime;

/// <summary>
/// One growable device buffer for intermediates that live within a single op (float32 copies for downloads,
/// MoE routing and intermediate rows, split-K attention partials). All work is on one stream, so the next op may
/// reuse the same bytes as soon as it is enqueued: the hot path allocates only when a larger size is first seen.
/// </summary>
internal sealed class ScratchArena(CudaBackend backend) : IDisposable
{
    private DeviceBuffer? _buffer;

    /// <summary>Current capacity in bytes.</summary>
    internal long Capacity => _buffer?.Bytes ?? 0;

    /// <summary>Device address of at least <paramref name="bytes"/> bytes, valid until the next Acquire.</summary>
    internal ulong Acquire(long bytes)
    {
        if (_buffer is null || _buffer.Bytes < bytes)
        {
            // The old buffer's free is queued behind the work already using it.
            _buffer?.Dispose();
            // Captured graphs may hold the old address.
            backend.BumpMemoryEpoch();
            long size = Math.Max(bytes + bytes / 4, 1 << 20);
            _buffer = new DeviceBuffer(backend.Context, backend.Stream, (size + 255) & ~255L);
        }
        return _buffer.Pointer;
    }

    /// <summary>Splits a size into 256-byte aligned parts; returns the total.</summary>
    internal static long Align(long bytes) => (bytes + 255) & ~255L;

    public void Dispose() => _buffer?.Dispose();
}
