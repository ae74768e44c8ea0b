namespace Modular.Abstractions;

/// <summary>
/// Optional capability of an <see cref="IQuantizedKernels"/>: <see cref="IFusedGateUpKernels"/> for a quantized
/// stacked gate|up weight, so a decode step writes only the activated [T, I] rows and skips the
/// <see cref="IKernels.ActAndMul"/> launch.
/// </summary>
public interface IFusedQuantizedGateUpKernels
{
    /// <summary>
    /// output[t, j] = act(x[t] . W[j]) * (x[t] . W[I + j]) for <paramref name="gateUp"/> [2I, K] (gate rows, then up
    /// rows), accumulated in float32 and rounded once. Returns false, having done nothing, when this backend has no
    /// fused path for these shapes, formats or dtypes.
    /// </summary>
    bool TryLinearQuantizedActAndMul(Tensor x, QuantizedWeight gateUp, Activation activation, Tensor output);
}
