using ILGPU;
using ILGPU.Runtime;
using Modular.Abstractions;

namespace Modular.Backends.Rocm;

/// <summary>
/// A tensor in one ILGPU device buffer of bytes. Views (slices, reshapes) share the owner's buffer at a byte
/// offset; typed ILGPU views are cut from it on demand.
/// </summary>
public sealed class RocmTensor : Tensor
{
    private readonly RocmBackend _backend;
    private MemoryBuffer1D<byte, Stride1D.Dense>? _buffer;
    private readonly bool _owner;

    internal RocmTensor(RocmBackend backend, DType dtype, int[] shape) : base(dtype, shape)
    {
        _backend = backend;
        _owner = true;
        long bytes = Math.Max(16, Length * DTypes.SizeOf(dtype));
        _buffer = backend.Accelerator.Allocate1D<byte>(bytes);
        _buffer.View.MemSetToZero(backend.Stream);
    }

    private RocmTensor(RocmTensor parent, DType dtype, int[] shape, long byteOffset) : base(dtype, shape)
    {
        _backend = parent._backend;
        _buffer = parent.Buffer;
        ByteOffset = byteOffset;
    }

    /// <inheritdoc />
    public override IBackend Backend => _backend;

    /// <summary>Byte offset of element 0 in the owner's buffer.</summary>
    public long ByteOffset { get; }

    /// <summary>Bytes the elements take.</summary>
    public long ByteLength => Length * DTypes.SizeOf(DType);

    internal MemoryBuffer1D<byte, Stride1D.Dense> Buffer => _buffer ?? throw new ObjectDisposedException(nameof(RocmTensor), $"tensor {this} was disposed");

    /// <summary>The elements as raw bytes.</summary>
    internal ArrayView<byte> Bytes => Buffer.View.AsContiguous().SubView(ByteOffset, Math.Max(ByteLength, 0));

    /// <summary>The elements as float32 (F32 tensors only).</summary>
    internal ArrayView<float> F32 => DType == DType.F32 ? Typed<float>() : throw new ArgumentException($"expected an F32 tensor, got {this}");

    /// <summary>The elements as int32 (I32 tensors only).</summary>
    internal ArrayView<int> I32 => DType == DType.I32 ? Typed<int>() : throw new ArgumentException($"expected an I32 tensor, got {this}");

    /// <summary>The elements as 16-bit words (F16/BF16 tensors only).</summary>
    internal ArrayView<ushort> U16 => DType is DType.F16 or DType.BF16 ? Typed<ushort>() : throw new ArgumentException($"expected an F16/BF16 tensor, got {this}");

    private ArrayView<T> Typed<T>() where T : unmanaged =>
        Length == 0 ? Buffer.View.AsContiguous().SubView(0, 16).Cast<T>().SubView(0, 0) : Bytes.Cast<T>();

    /// <inheritdoc />
    public override Tensor Slice(int start, int count)
    {
        if (Shape.Length == 0) throw new InvalidOperationException("cannot slice a scalar");
        if (start < 0 || count < 0 || start + count > Rows) throw new ArgumentOutOfRangeException(nameof(start), $"rows [{start}, {start + count}) outside {this}");
        var shape = (int[])Shape.Clone();
        shape[0] = count;
        return new RocmTensor(this, DType, shape, ByteOffset + start * RowLength * DTypes.SizeOf(DType));
    }

    /// <inheritdoc />
    public override Tensor View(params int[] shape)
    {
        long n = 1;
        foreach (var d in shape) n *= d;
        if (n != Length) throw new ArgumentException($"cannot view {this} as [{string.Join(",", shape)}]");
        return new RocmTensor(this, DType, (int[])shape.Clone(), ByteOffset);
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        if (_owner && _buffer is not null)
        {
            _buffer.Dispose();
            _buffer = null;
        }
    }
}
