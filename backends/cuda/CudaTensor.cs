using Modular.Abstractions;
using Modular.Backends.Cuda.Native;

namespace Modular.Backends.Cuda;

/// <summary>
/// A tensor in device memory. The owner holds a <see cref="DeviceBuffer"/>; views share its address range and
/// keep the owner reachable (so its memory is not finalized under them) without freeing anything themselves.
/// </summary>
public sealed class CudaTensor : Tensor
{
    private readonly CudaBackend _backend;
    private readonly DeviceBuffer? _buffer;   // set on owners only
    private readonly CudaTensor? _owner;      // set on views only

    internal CudaTensor(CudaBackend backend, DeviceBuffer buffer, DType dtype, int[] shape) : base(dtype, shape)
    {
        _backend = backend;
        _buffer = buffer;
        Pointer = buffer.Pointer;
    }

    private CudaTensor(CudaTensor owner, ulong pointer, DType dtype, int[] shape) : base(dtype, shape)
    {
        _backend = owner._backend;
        _owner = owner._owner ?? owner;
        Pointer = pointer;
    }

    /// <summary>Device address of the first element.</summary>
    public ulong Pointer { get; }

    /// <summary>Bytes spanned by the elements.</summary>
    public long ByteLength => Length * DTypes.SizeOf(DType);

    /// <summary>True for views (slices and reshapes).</summary>
    public bool IsView => _owner is not null;

    /// <inheritdoc />
    public override IBackend Backend => _backend;

    /// <inheritdoc />
    public override Tensor Slice(int start, int count)
    {
        if (Shape.Length == 0) throw new InvalidOperationException($"cuda: cannot slice a scalar tensor {this}");
        if (start < 0 || count < 0 || start + count > Shape[0])
            throw new ArgumentOutOfRangeException(nameof(start), $"cuda: slice [{start}, {start + count}) is outside {this}'s {Shape[0]} rows");
        var shape = (int[])Shape.Clone();
        shape[0] = count;
        return new CudaTensor(this, Pointer + (ulong)(start * RowLength * DTypes.SizeOf(DType)), DType, shape);
    }

    /// <inheritdoc />
    public override Tensor View(params int[] shape)
    {
        long n = 1;
        foreach (var d in shape) n *= d;
        if (n != Length) throw new ArgumentException($"cuda: cannot view {this} ({Length} elements) as [{string.Join(",", shape)}] ({n} elements)", nameof(shape));
        return new CudaTensor(this, Pointer, DType, (int[])shape.Clone());
    }

    /// <inheritdoc />
    public override void Dispose() => _buffer?.Dispose();
}
