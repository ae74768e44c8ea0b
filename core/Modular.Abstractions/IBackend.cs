namespace Modular.Abstractions;

/// <summary>Facts about the device a backend runs on, printed in logs and conformance reports.</summary>
/// <param name="Name">Device name ("NVIDIA H100 80GB HBM3", "cpu: 2 cores AVX2").</param>
/// <param name="Driver">Driver or runtime version string.</param>
/// <param name="TotalMemory">Bytes of device memory (host memory for CPU backends).</param>
/// <param name="FreeMemory">Bytes free when queried.</param>
public sealed record DeviceInfo(string Name, string Driver, long TotalMemory, long FreeMemory);

/// <summary>Operations a backend may or may not support for a dtype; asked through <see cref="IBackend.Supports"/>.</summary>
public enum Op
{
    /// <summary>Embedding lookup.</summary>
    Embedding,
    /// <summary>RMSNorm, plain and fused with a residual add.</summary>
    RmsNorm,
    /// <summary>Rotary position embedding from a cos/sin table.</summary>
    Rope,
    /// <summary>Dense linear layer y = x W^T + b.</summary>
    Linear,
    /// <summary>Gated activations (SiLU, GELU) times the up projection.</summary>
    ActAndMul,
    /// <summary>Mixture-of-experts routing and expert MLPs.</summary>
    Moe,
    /// <summary>Paged attention over a mixed prefill/decode batch.</summary>
    PagedAttention,
    /// <summary>Sliding-window attention.</summary>
    SlidingWindow,
}

/// <summary>
/// A compute device. The model runner in core drives every backend through this seam only: memory, copies,
/// <see cref="IKernels"/> and <see cref="IAttentionBackend"/>.
/// </summary>
public interface IBackend : IDisposable
{
    /// <summary>Backend name, equal to its plugin's name.</summary>
    string Name { get; }

    /// <summary>The device in use.</summary>
    DeviceInfo Info { get; }

    /// <summary>Dtype the backend computes activations in (F32 on CPU, BF16 on GPUs).</summary>
    DType ActivationDType { get; }

    /// <summary>Dtype the backend stores a checkpoint's floating-point weights of type <paramref name="checkpoint"/> in.</summary>
    DType WeightDType(DType checkpoint);

    /// <summary>True when the backend can run <paramref name="op"/> on tensors of <paramref name="dtype"/>.</summary>
    bool Supports(Op op, DType dtype);

    /// <summary>Allocates a zero-filled tensor.</summary>
    Tensor Allocate(DType dtype, params int[] shape);

    /// <summary>
    /// Copies host bytes holding <paramref name="srcType"/> elements into <paramref name="dst"/>, converting to
    /// <paramref name="dst"/>'s dtype when they differ (float types only). Element counts must match.
    /// </summary>
    void Upload(ReadOnlySpan<byte> src, DType srcType, Tensor dst);

    /// <summary>Copies a tensor to host memory as float32 (any float dtype) - for logits, tests and debugging.</summary>
    void DownloadF32(Tensor src, Span<float> dst);

    /// <summary>Copies an I32 tensor to host memory.</summary>
    void DownloadI32(Tensor src, Span<int> dst);

    /// <summary>Copies <paramref name="src"/> into <paramref name="dst"/> (same dtype and length) on the device.</summary>
    void Copy(Tensor src, Tensor dst);

    /// <summary>The ops the model runner calls.</summary>
    IKernels Kernels { get; }

    /// <summary>Paged attention and the KV cache.</summary>
    IAttentionBackend Attention { get; }

    /// <summary>Waits for all queued device work.</summary>
    void Synchronize();
}
