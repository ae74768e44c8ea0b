namespace Modular.Backends.Rocm;

/// <summary>Which decode GEMV (Linear with at most 8 token rows) the backend launches.</summary>
public enum GemvVariant
{
    /// <summary>
    /// A work-group per output column (<c>GemvKernels.GroupPerColumn</c>). The GPU choice: W1 decode through
    /// ILGPU's CUDA accelerator ran at 35.8 tok/s with it (H100) against 22.9 tok/s with <see cref="Warp"/> (H200).
    /// </summary>
    Group,
    /// <summary>
    /// 32 threads per output column (<c>GemvKernels.WarpPerColumn</c>). The CPU-device choice: tuned on pocl
    /// (6 ms against the tiled GEMM's 36 ms at [1,896]x[4864,896]^T), where a 256-thread group's barriers and
    /// log2 tree are the expensive part.
    /// </summary>
    Warp,
}
