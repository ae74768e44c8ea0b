using Modular.Abstractions;

namespace Modular.TestPlugins.BrokenBackends;

/// <summary>
/// A backend that is the CPU backend in everything but one op (see <see cref="Flaw"/>). Memory, transfers and the
/// tensors themselves are the inner backend's, so only the chosen op can make a comparison fail.
/// </summary>
public sealed class FlawedBackend : IBackend
{
    private readonly IBackend _inner;

    /// <summary>Wraps <paramref name="inner"/>, breaking <paramref name="flaw"/>.</summary>
    public FlawedBackend(IBackend inner, Flaw flaw)
    {
        _inner = inner;
        Flaw = flaw;
        Kernels = new FlawedKernels(inner, flaw);
        Attention = new FlawedAttention(inner.Attention, flaw);
        Info = inner.Info with { Name = $"broken-{flaw.ToString().ToLowerInvariant()} over {inner.Info.Name}" };
    }

    /// <summary>The op this backend gets wrong.</summary>
    public Flaw Flaw { get; }

    /// <inheritdoc />
    public string Name => "broken";
    /// <inheritdoc />
    public DeviceInfo Info { get; }
    /// <inheritdoc />
    public DType ActivationDType => _inner.ActivationDType;
    /// <inheritdoc />
    public IKernels Kernels { get; }
    /// <inheritdoc />
    public IAttentionBackend Attention { get; }

    /// <inheritdoc />
    public DType WeightDType(DType checkpoint) => _inner.WeightDType(checkpoint);
    /// <inheritdoc />
    public bool Supports(Op op, DType dtype) => _inner.Supports(op, dtype);
    /// <inheritdoc />
    public Tensor Allocate(DType dtype, params int[] shape) => _inner.Allocate(dtype, shape);
    /// <inheritdoc />
    public void Upload(ReadOnlySpan<byte> src, DType srcType, Tensor dst) => _inner.Upload(src, srcType, dst);
    /// <inheritdoc />
    public void DownloadF32(Tensor src, Span<float> dst) => _inner.DownloadF32(src, dst);
    /// <inheritdoc />
    public void DownloadI32(Tensor src, Span<int> dst) => _inner.DownloadI32(src, dst);
    /// <inheritdoc />
    public void Copy(Tensor src, Tensor dst) => _inner.Copy(src, dst);
    /// <inheritdoc />
    public void Synchronize() => _inner.Synchronize();
    /// <inheritdoc />
    public void Dispose() => _inner.Dispose();
}
