using System.Runtime.InteropServices;
using Modular.Abstractions;

namespace Modular.Plugins.Quant;

/// <summary>A linear layer whose weight stays quantized on the backend; the backend's kernels dequantize on the fly.</summary>
public sealed class QuantizedLinear : IGatedLinear, IGatedInputLinear, INormInputLinear
{
    private readonly IQuantizedKernels _kernels;

    /// <summary>Wraps an uploaded weight; <paramref name="kernels"/> must accept its format.</summary>
    public QuantizedLinear(QuantizedWeight weight, Tensor? bias, IQuantizedKernels kernels)
    {
        if (!kernels.Supports(weight.Format)) throw new NotSupportedException($"backend kernels do not run {weight.Format} weights");
        Weight = weight;
        Bias = bias;
        _kernels = kernels;
    }

    /// <summary>The canonical quantized weight.</summary>
    public QuantizedWeight Weight { get; }
    /// <summary>[N] bias or null.</summary>
    public Tensor? Bias { get; }

    /// <inheritdoc />
    public int InFeatures => Weight.InFeatures;
    /// <inheritdoc />
    public int OutFeatures => Weight.OutFeatures;

    /// <inheritdoc />
    public void Forward(Tensor x, Tensor output) => _kernels.LinearQuantized(x, Weight, Bias, output);

    /// <inheritdoc />
    public bool TryForwardActAndMul(Tensor x, Activation activation, Tensor output) =>
        Bias is null && _kernels is IFusedQuantizedGateUpKernels f && f.TryLinearQuantizedActAndMul(x, Weight, activation, output);

    /// <inheritdoc />
    public bool TryForwardGatedInput(Tensor gateUp, Activation activation, Tensor output) =>
        _kernels is IFusedQuantizedGatedInputKernels f && f.TryLinearQuantizedGatedInput(gateUp, activation, Weight, Bias, output);

    /// <inheritdoc />
    public bool TryForwardNormInput(Tensor? add, Tensor residual, Tensor normWeight, float eps, float weightOffset, Tensor output) =>
        _kernels is IFusedQuantizedNormInputKernels f && f.TryLinearQuantizedNormInput(add, residual, normWeight, eps, weightOffset, Weight, Bias, output);

    /// <summary>
    /// Puts a packed weight on <paramref name="backend"/>: quantized when its kernels run the format, otherwise
    /// dequantized once into a dense weight of the backend's dtype (a backend without quantized kernels still loads
    /// the checkpoint, at full-precision memory cost).
    /// </summary>
    public static ILinear Create(PackedWeight packed, IBackend backend, Tensor? bias)
    {
        if (backend.Kernels is IQuantizedKernels qk && qk.Supports(packed.Format))
        {
            var w = packed.Upload(backend);
            return new QuantizedLinear(w, bias, qk);
        }
        var dense = backend.Allocate(backend.WeightDType(backend.ActivationDType), packed.OutFeatures, packed.InFeatures);
        backend.Upload(MemoryMarshal.AsBytes(packed.Dequantize().AsSpan()), DType.F32, dense);
        return new DenseLayer(dense, bias);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Weight.Dispose();
        Bias?.Dispose();
    }
}
