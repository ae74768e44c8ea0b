using Modular.Abstractions;

namespace Modular.Models;

/// <summary>An unquantized linear layer: the weight [N,K] (and bias [N]) held by the backend as-is.</summary>
public sealed class DenseLinear(Tensor weight, Tensor? bias, bool ownsWeight = true) : IGatedLinear
{
    /// <summary>[N,K] weight.</summary>
    public Tensor Weight { get; } = weight;
    /// <summary>[N] bias or null.</summary>
    public Tensor? Bias { get; } = bias;

    /// <inheritdoc />
    public int InFeatures => Weight.Shape[1];
    /// <inheritdoc />
    public int OutFeatures => Weight.Shape[0];

    /// <inheritdoc />
    public void Forward(Tensor x, Tensor output) => Weight.Backend.Kernels.Linear(x, Weight, Bias, output);

    /// <inheritdoc />
    public bool TryForwardActAndMul(Tensor x, Activation activation, Tensor output) =>
        Bias is null && Weight.Backend.Kernels is IFusedGateUpKernels f && f.TryLinearActAndMul(x, Weight, activation, output);

    /// <inheritdoc />
    public void Dispose()
    {
        if (ownsWeight) Weight.Dispose();
        Bias?.Dispose();
    }
}
