namespace Modular.Abstractions;

/// <summary>
/// Optional capability of an <see cref="ILinear"/> that holds a gated MLP's stacked gate|up weight [2I, K]: the
/// product with the activation as its epilogue, where the backend has a fused kernel for it
/// (<see cref="IFusedGateUpKernels"/> for dense weights, <see cref="IFusedQuantizedGateUpKernels"/> for quantized
/// ones). The model runner asks first and falls back to <see cref="ILinear.Forward"/> + <see cref="IKernels.ActAndMul"/>.
/// </summary>
public interface IGatedLinear : ILinear
{
    /// <summary>
    /// output [T, I] = act(x W_gate^T) * (x W_up^T) for x [T, K]. Returns false, having done nothing, when no fused
    /// kernel serves this layer (a bias, the shapes, the dtypes or the backend).
    /// </summary>
    bool TryForwardActAndMul(Tensor x, Activation activation, Tensor output);
}
