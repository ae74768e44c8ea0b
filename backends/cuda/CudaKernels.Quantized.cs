using Modular.Abstractions;

namespace Modular.Backends.Cuda;

/// <summary>The kernels object's <see cref="IQuantizedKernels"/> face, delegating to <see cref="CudaQuantizedKernels"/>.</summary>
internal sealed partial class CudaKernels : IQuantizedKernels
{
    public bool Supports(QuantizedFormat format) => CudaQuantizedKernels.Supports(format);

    public void LinearQuantized(Tensor x, QuantizedWeight weight, Tensor? bias, Tensor output) =>
        _quantized.Linear(x, weight, bias, output);

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

    /// <summary>Frees the cuBLASLt handle, descriptors and workspace (called by the backend's Dispose).</summary>
    internal void DisposeQuantized() => _quantized.Dispose();
}
