using System.Runtime.InteropServices;
using Modular.Abstractions;

namespace Modular.Backends.Cpu;

/// <summary>A tensor in native, 64-byte-aligned host memory. Views point into their owner's block.</summary>
public sealed unsafe class CpuTensor : Tensor
{
    private readonly CpuBackend _backend;
    private readonly bool _owner;
    private byte* _ptr;

    internal CpuTensor(CpuBackend backend, DType dtype, int[] shape) : base(dtype, shape)
    {
        _backend = backend;
        _owner = true;
        nuint bytes = (nuint)Math.Max(64, Length * DTypes.SizeOf(dtype));
        _ptr = (byte*)NativeMemory.AlignedAlloc(bytes, 64);
        NativeMemory.Clear(_ptr, bytes);
    }

    private CpuTensor(CpuBackend backend, DType dtype, int[] shape, byte* ptr) : base(dtype, shape)
    {
        _backend = backend;
        _ptr = ptr;
    }

    /// <inheritdoc />
    public override IBackend Backend => _backend;

    /// <summary>Address of element 0.</summary>
    public byte* Pointer => _ptr != null ? _ptr : throw new ObjectDisposedException(nameof(CpuTensor));

    /// <summary>The elements as float32 (F32 tensors only).</summary>
    public float* F32 => DType == DType.F32 ? (float*)Pointer : throw new InvalidOperationException($"expected an F32 tensor, got {this}");

    /// <summary>The elements as int32 (I32 tensors only).</summary>
    public int* I32 => DType == DType.I32 ? (int*)Pointer : throw new InvalidOperationException($"expected an I32 tensor, got {this}");

    /// <summary>Row <paramref name="r"/> of a float tensor as a span.</summary>
    public Span<float> Row(int r) => new(F32 + (long)r * RowLength, (int)RowLength);

    /// <summary>All elements as a float span (tensors under 2^31 elements).</summary>
    public Span<float> AsF32() => new(F32, checked((int)Length));

    /// <summary>All elements as an int span.</summary>
    public Span<int> AsI32() => new(I32, checked((int)Length));

    /// <inheritdoc />
    public override Tensor Slice(int start, int count)
    {
        if (start < 0 || count < 0 || start + count > Rows) throw new ArgumentOutOfRangeException(nameof(start), $"rows [{start}, {start + count}) outside {this}");
        var shape = (int[])Shape.Clone();
        if (shape.Length == 0) throw new InvalidOperationException("cannot slice a scalar");
        shape[0] = count;
        return new CpuTensor(_backend, DType, shape, Pointer + start * RowLength * DTypes.SizeOf(DType));
    }

    /// <inheritdoc />
    public override Tensor View(params int[] shape)
    {
        long n = 1;
        foreach (var d in shape) n *= d;
        if (n != Length) throw new ArgumentException($"cannot view {this} as [{string.Join(",", shape)}]");
        return new CpuTensor(_backend, DType, shape, Pointer);
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        if (_owner && _ptr != null)
        {
            NativeMemory.AlignedFree(_ptr);
            _ptr = null;
        }
    }
}
