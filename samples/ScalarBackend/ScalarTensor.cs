using Modular.Abstractions;

namespace ScalarBackend;

/// <summary>
/// A tensor in managed memory: F32 elements in a <c>float[]</c>, I32 elements in an <c>int[]</c>. A view
/// (<see cref="Slice"/>, <see cref="View"/>) shares its owner's array and starts at an element offset into it, so
/// writing through a view changes the owner, as the contract requires.
/// </summary>
public sealed class ScalarTensor : Tensor
{
    private readonly ScalarDevice _device;
    private float[]? _floats;
    private int[]? _ints;

    /// <summary>Allocates a zero-filled tensor (managed arrays start zeroed).</summary>
    internal ScalarTensor(ScalarDevice device, DType dtype, int[] shape) : base(dtype, shape)
    {
        _device = device;
        if (Length > Array.MaxLength)
            throw new NotSupportedException($"{device.Name} keeps a tensor in one managed array; {this} has {Length} elements, above {Array.MaxLength}");
        if (dtype == DType.F32) _floats = new float[Length];
        else if (dtype == DType.I32) _ints = new int[Length];
        else throw new NotSupportedException($"{device.Name} stores only F32 and I32 tensors, not {dtype}");
        IsOwner = true;
    }

    private ScalarTensor(ScalarTensor parent, int[] shape, int offset) : base(parent.DType, shape)
    {
        _device = parent._device;
        _floats = parent._floats;
        _ints = parent._ints;
        Offset = offset;
    }

    /// <summary>True for the tensor that allocated the array; false for views.</summary>
    public bool IsOwner { get; }

    /// <summary>Index of this tensor's element 0 in the shared array.</summary>
    public int Offset { get; }

    /// <inheritdoc />
    public override IBackend Backend => _device;

    /// <summary>The elements of an F32 tensor.</summary>
    public Span<float> Floats
    {
        get
        {
            if (DType != DType.F32) throw new InvalidOperationException($"expected an F32 tensor, got {this}");
            var array = _floats ?? throw new ObjectDisposedException(ToString());
            return array.AsSpan(Offset, (int)Length);
        }
    }

    /// <summary>The elements of an I32 tensor.</summary>
    public Span<int> Ints
    {
        get
        {
            if (DType != DType.I32) throw new InvalidOperationException($"expected an I32 tensor, got {this}");
            var array = _ints ?? throw new ObjectDisposedException(ToString());
            return array.AsSpan(Offset, (int)Length);
        }
    }

    /// <inheritdoc />
    public override Tensor Slice(int start, int count)
    {
        if (Shape.Length == 0) throw new InvalidOperationException($"cannot slice the scalar tensor {this}");
        if (start < 0 || count < 0 || start + count > Rows)
            throw new ArgumentOutOfRangeException(nameof(start), $"rows [{start}, {start + count}) are outside {this}");
        var shape = (int[])Shape.Clone();
        shape[0] = count;
        return new ScalarTensor(this, shape, Offset + checked((int)(start * RowLength)));
    }

    /// <inheritdoc />
    public override Tensor View(params int[] shape)
    {
        long n = 1;
        foreach (var d in shape) n *= d;
        if (n != Length) throw new ArgumentException($"cannot view {this} ({Length} elements) as [{string.Join(",", shape)}]");
        return new ScalarTensor(this, (int[])shape.Clone(), Offset);
    }

    /// <summary>Drops the array (owners only; a view never frees its owner's memory).</summary>
    public override void Dispose()
    {
        if (!IsOwner) return;
        _floats = null;
        _ints = null;
    }
}
