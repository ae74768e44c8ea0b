using Modular.Abstractions;

namespace Modular.Backends.Cuda;

/// <summary>The kernels object's <see cref="IQuantizedKernels"/> face, delegating to <see cref="CudaQuantizedKernels"/>.</summary>
internal sealed partial class CudaKernels : IQuantizedKernels, IFusedQuantizedGateUpKernels, IFusedQuantizedGatedInputKernels,
    IFusedQuantizedNormInputKernels
{
    public bool Supports(QuantizedFormat format) => CudaQuantizedKernels.Supports(format);

    public void LinearQuantized(Tensor x, QuantizedWeight weight, Tensor? bias, Tensor output) =>
        _quantized.Linear(x, weight, bias, output);

    public bool TryLinearQuantizedActAndMul(Tensor x, QuantizedWeight gateUp, Activation activation, Tensor output) =>
        _quantized.TryLinearActAndMul(x, gateUp, activation, output);

    public bool TryLinearQuantizedGatedInput(Tensor gateUp, Activation activation, QuantizedWeight weight, Tensor? bias, Tensor output) =>
        _quantized.TryLinearGatedInput(gateUp, activation, weight, bias, output);

    public bool TryLinearQuantizedNormInput(Tensor? add, Tensor residual, Tensor normWeight, float eps, float weightOffset,
        QuantizedWeight weight, Tensor? bias, Tensor output) =>
        _quantized.TryLinearNormInput(add, residual, normWeight, eps, weightOffset, weight, bias, output);

    /// <summary>Whether FP8 down projections quantize act(gate) * up in one kernel (see <see cref="CudaQuantizedKernels.Fp8GatedInput"/>).</summary>
    internal bool Fp8GatedInput
    {
        get => _quantized.Fp8GatedInput;
        set => _quantized.Fp8GatedInput = value;
    }

    /// <summary>Whether FP8 q|k|v and gate|up projections take their RMSNorm in one kernel (see <see cref="CudaQuantizedKernels.Fp8NormInput"/>).</summary>
    internal bool Fp8NormInput
    {
        get => _quantized.Fp8NormInput;
        set => _quantized.Fp8NormInput = value;
    }

    /// <summary>Why FP8 batches do not use the tensor cores on this device, or null when they do (reports, tests).</summary>
    internal string? Fp8GemmUnavailable => _quantized.Fp8GemmUnavailable;

    /// <summary>Whether FP8 batches quantize activations for the tensor cores (see <see cref="CudaQuantizedKernels.Fp8ActivationQuantization"/>).</summary>
    internal bool Fp8ActivationQuantization
    {
        get => _quantized.Fp8ActivationQuantization;
        set => _quantized.Fp8ActivationQuantization = value;
    }

    /// <summary>FP8 GEMM shapes cuBLASLt planned and refused so far (tests and reports).</summary>
    internal (int Planned, int Refused) Fp8GemmShapes => (_quantized.Fp8ShapesPlanned, _quantized.Fp8ShapesRefused);

    /// <summary>Whether the FP8 GEMM lets cuBLASLt apply scales and bias (see <see cref="CudaQuantizedKernels.Fp8ScaledGemm"/>).</summary>
    internal bool Fp8ScaledGemm
    {
        get => _quantized.Fp8ScaledGemm;
        set => _quantized.Fp8ScaledGemm = value;
    }

    /// <summary>
    /// FP8 linear calls so far whose GEMM wrote the output with cuBLASLt applying the scales (Scaled), calls that took
    /// the accumulator + epilogue kernel (Epilogue), and shape variants cuBLASLt refused outer-vector scaling for
    /// (tests and reports).
    /// </summary>
    internal (long Scaled, long Epilogue, int ScaledRefused) Fp8GemmCounts =>
        (_quantized.Fp8ScaledGemms, _quantized.Fp8EpilogueGemms, _quantized.Fp8ScaledShapesRefused);

    /// <summary>Why the scaled FP8 GEMM last fell back to the epilogue kernel, or null while it never did.</summary>
    internal string? Fp8ScaledGemmRefusal => _quantized.Fp8ScaledGemmRefusal;

    /// <summary>Whether one-row Int4 gate|up products take the gated stream GEMV (see <see cref="CudaQuantizedKernels.GatedGateUp"/>).</summary>
    internal bool Int4GatedGateUp
    {
        get => _quantized.GatedGateUp;
        set => _quantized.GatedGateUp = value;
    }

    /// <summary>Int4 calls so far that took the one-row stream GEMV on the tiled layout (tests and reports).</summary>
    internal long QuantGemvStreamCalls => _quantized.StreamCalls;

    /// <summary>Whether Int4 weights may take the tiled layout and the stream GEMV (no A/B setting keeps them row-major).</summary>
    internal bool QuantGemvStreamEnabled => _quantized.StreamEnabled;

    /// <summary>Frees the cuBLASLt handle, descriptors and workspace (called by the backend's Dispose).</summary>
    internal void DisposeQuantized() => _quantized.Dispose();
}
