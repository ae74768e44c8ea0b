namespace Modular.Abstractions;

/// <summary>
/// Optional capability of an <see cref="ILinear"/> that follows an RMSNorm (a decoder layer's q|k|v or gate|up
/// projection): the residual add and the norm run where the backend prepares the product's input
/// (<see cref="IFusedQuantizedNormInputKernels"/>: inside the FP8 activation quantization), so the normalized
/// activations are never stored. The model runner asks first and falls back to <see cref="IKernels.AddRmsNorm"/> (or
/// <see cref="IKernels.RmsNorm"/>) + <see cref="ILinear.Forward"/>.
/// </summary>
public interface INormInputLinear : ILinear
{
    /// <summary>
    /// residual += add (when <paramref name="add"/> is not null, rounded as <see cref="IKernels.AddRmsNorm"/> stores
    /// it), then output [T, N] = RmsNorm(residual; normWeight, eps, weightOffset) W^T (+ bias), the norm's output
    /// rounded to the activation dtype as <see cref="IKernels.AddRmsNorm"/> writes it. Returns false, having changed
    /// nothing (not even the residual), when no fused path serves this call.
    /// </summary>
    bool TryForwardNormInput(Tensor? add, Tensor residual, Tensor normWeight, float eps, float weightOffset, Tensor output);
}
