using Modular.Abstractions;

namespace Modular.Quant.Tests;

/// <summary>An in-memory checkpoint for synthetic layers.</summary>
internal sealed class MemoryWeightSource : IWeightSource
{
    private readonly Dictionary<string, (TensorInfo Info, byte[] Data)> _tensors = new();

    public MemoryWeightSource Add(string name, DType dtype, int[] shape, byte[] data)
    {
        _tensors[name] = (new TensorInfo(name, dtype, shape), data);
        return this;
    }

    public MemoryWeightSource Add(string name, int[] shape, int[] values) =>
        Add(name, DType.I32, shape, System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray());

    public MemoryWeightSource AddF16(string name, int[] shape, float[] values)
    {
        var h = new Half[values.Length];
        for (int i = 0; i < h.Length; i++) h[i] = (Half)values[i];
        return Add(name, DType.F16, shape, System.Runtime.InteropServices.MemoryMarshal.AsBytes(h.AsSpan()).ToArray());
    }

    public bool Contains(string name) => _tensors.ContainsKey(name);
    public TensorInfo Info(string name) => _tensors[name].Info;
    public ReadOnlySpan<byte> Bytes(string name) => _tensors[name].Data;
}
