namespace Modular.Abstractions;

/// <summary>
/// Optional capability of an <see cref="IKernels"/>: the gated MLP's first product with its activation fused, so a
/// decode step reads the stacked gate|up weight once and writes only the activated [T, I] rows, without the [T, 2I]
/// intermediate and the separate <see cref="IKernels.ActAndMul"/> launch. Backends offer it for the shapes where it
/// pays (few rows); the caller falls back to <see cref="IKernels.Linear"/> + <see cref="IKernels.ActAndMul"/>.
/// </summary>
public interface IFusedGateUpKernels
{
    /// <summary>
    /// output[t, j] = act(x[t] . gateUp[j]) * (x[t] . gateUp[I + j]) for gateUp [2I, K] (gate rows, then up rows) and
    /// x [T, K], accumulated in float32 and rounded once. Returns false, having done nothing, when this backend has no
    /// fused path for these shapes or dtypes.
    /// </summary>
    bool TryLinearActAndMul(Tensor x, Tensor gateUp, Activation activation, Tensor output);
}
