namespace Modular.Abstractions;

/// <summary>
/// A dense, row-major block of device memory owned by one <see cref="IBackend"/>. Views share storage with
/// their parent; disposing a view does nothing, disposing the owner frees the memory.
/// </summary>
public abstract class Tensor : IDisposable
{
    /// <summary>Creates a tensor description.</summary>
    protected Tensor(DType dtype, int[] shape)
    {
        DType = dtype;
        Shape = shape;
        long n = 1;
        foreach (var d in shape)
        {
            if (d < 0) throw new ArgumentOutOfRangeException(nameof(shape), "negative dimension");
            n = checked(n * d);
        }
        Length = n;
    }

    /// <summary>Element type.</summary>
    public DType DType { get; }

    /// <summary>Dimensions, outermost first.</summary>
    public int[] Shape { get; }

    /// <summary>Number of elements.</summary>
    public long Length { get; }

    /// <summary>Size of the outermost dimension (the token dimension for activations).</summary>
    public int Rows => Shape.Length == 0 ? 1 : Shape[0];

    /// <summary>Elements per outermost index.</summary>
    public long RowLength => Shape.Length == 0 ? 1 : (Shape[0] == 0 ? 0 : Length / Shape[0]);

    /// <summary>The backend whose memory this is.</summary>
    public abstract IBackend Backend { get; }

    /// <summary>A view of rows [start, start+count) of the outermost dimension.</summary>
    public abstract Tensor Slice(int start, int count);

    /// <summary>A view with another shape of the same number of elements.</summary>
    public abstract Tensor View(params int[] shape);

    /// <summary>Frees the memory (no-op for views).</summary>
    public abstract void Dispose();

    /// <inheritdoc />
    public override string ToString() => $"{DType}[{string.Join(",", Shape)}]";
}
