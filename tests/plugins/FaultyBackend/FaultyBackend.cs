using Modular.Abstractions;

namespace Modular.TestPlugins.FaultyBackend;

/// <summary>
/// Wraps another backend (the CPU backend) and injects the faults of <see cref="FaultSettings"/>. Tensors are the
/// inner backend's own, so its kernels work unchanged; only the calls that mark a step (attention Prepare, the
/// embedding lookup) and allocations are intercepted.
/// </summary>
public sealed class FaultyBackend : IBackend
{
    private readonly IBackend _inner;
    private readonly FaultSettings _settings;
    private long _steps;
    private long _faults;

    /// <summary>Wraps <paramref name="inner"/>, which the wrapper owns from now on.</summary>
    public FaultyBackend(IBackend inner, FaultSettings settings)
    {
        _inner = inner;
        _settings = settings;
        Kernels = new FaultyKernels(this, inner.Kernels);
        Attention = new FaultyAttention(this, inner.Attention);
    }

    /// <summary>Steps seen so far (attention Prepare calls).</summary>
    public long Steps => Interlocked.Read(ref _steps);
    /// <summary>Faults injected so far (thrown steps and refused allocations).</summary>
    public long Faults => Interlocked.Read(ref _faults);

    /// <inheritdoc />
    public string Name => "faulty";
    /// <inheritdoc />
    public DeviceInfo Info => _inner.Info with { Name = "faulty(" + _inner.Info.Name + ")" };
    /// <inheritdoc />
    public DType ActivationDType => _inner.ActivationDType;
    /// <inheritdoc />
    public DType WeightDType(DType checkpoint) => _inner.WeightDType(checkpoint);
    /// <inheritdoc />
    public bool Supports(Op op, DType dtype) => _inner.Supports(op, dtype);
    /// <inheritdoc />
    public IKernels Kernels { get; }
    /// <inheritdoc />
    public IAttentionBackend Attention { get; }

    /// <inheritdoc />
    public Tensor Allocate(DType dtype, params int[] shape)
    {
        if (_settings.MaxAllocationBytes > 0)
        {
            long bytes = DTypes.SizeOf(dtype);
            foreach (int d in shape) bytes *= d;
            if (bytes > _settings.MaxAllocationBytes)
                throw OutOfMemory($"allocating {dtype}[{string.Join(",", shape)}] ({bytes} bytes) exceeds the injected budget of {_settings.MaxAllocationBytes} bytes");
        }
        return _inner.Allocate(dtype, shape);
    }

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

    internal Exception OutOfMemory(string what)
    {
        Interlocked.Increment(ref _faults);
        return _settings.ManagedOom ? new OutOfMemoryException("faulty backend: " + what) : new DeviceOutOfMemoryException("faulty backend: out of device memory: " + what);
    }

    // Attention Prepare runs once per step, before any layer: the place to count steps.
    internal void OnStep()
    {
        long step = Interlocked.Increment(ref _steps);
        if (_settings.FailAtSteps.Contains(step))
        {
            Interlocked.Increment(ref _faults);
            throw new InjectedFaultException($"faulty backend: injected failure at step {step}");
        }
    }

    internal void OnEmbedding(Tensor ids)
    {
        if (_settings.TriggerToken < 0) return;
        var host = new int[ids.Length];
        _inner.DownloadI32(ids, host);
        if (Array.IndexOf(host, _settings.TriggerToken) < 0) return;
        Interlocked.Increment(ref _faults);
        throw new InjectedFaultException($"faulty backend: trigger token {_settings.TriggerToken} reached the device");
    }

    internal void OnCreateCache(KvCacheSpec spec)
    {
        long bytes = spec.BytesPerBlock * spec.NumBlocks;
        if (_settings.KvBudgetBytes > 0 && bytes > _settings.KvBudgetBytes)
            throw OutOfMemory($"KV cache of {spec.NumBlocks} blocks ({bytes} bytes) exceeds the injected budget of {_settings.KvBudgetBytes} bytes");
    }
}
