using System.Text.Json;

namespace Modular.Abstractions;

/// <summary>Describes one tensor of a checkpoint.</summary>
/// <param name="Name">Tensor name.</param>
/// <param name="DType">Stored element type.</param>
/// <param name="Shape">Stored shape.</param>
public sealed record TensorInfo(string Name, DType DType, int[] Shape);

/// <summary>Read access to a checkpoint's tensors (memory-mapped safetensors).</summary>
public interface IWeightSource
{
    /// <summary>True when the checkpoint has a tensor of this name.</summary>
    bool Contains(string name);
    /// <summary>The tensor's dtype and shape; throws naming the file when absent.</summary>
    TensorInfo Info(string name);
    /// <summary>The tensor's raw little-endian bytes.</summary>
    ReadOnlySpan<byte> Bytes(string name);
}

/// <summary>A linear layer y = x W^T (+ b) whose weight the backend holds in some format.</summary>
public interface ILinear : IDisposable
{
    /// <summary>Input features (K).</summary>
    int InFeatures { get; }
    /// <summary>Output features (N).</summary>
    int OutFeatures { get; }
    /// <summary>y [T,N] = x [T,K] W^T (+ bias).</summary>
    void Forward(Tensor x, Tensor output);
}

/// <summary>
/// Reads a quantized checkpoint's linear layers (chosen by <c>quantization_config.quant_method</c>) and runs them
/// on a backend.
/// </summary>
public interface IQuantizer
{
    /// <summary>The <c>quant_method</c> handled ("gptq", "awq", "fp8").</summary>
    string Method { get; }

    /// <summary>Returns null when the config is supported, else the reason naming the field and the supported values.</summary>
    string? Check(JsonElement quantizationConfig);

    /// <summary>
    /// Loads the linear layers stored under <paramref name="prefixes"/> (e.g. "model.layers.0.mlp.gate_proj",
    /// "model.layers.0.mlp.up_proj") as one layer whose output features are theirs concatenated in order,
    /// repacked for <paramref name="backend"/>. <paramref name="bias"/> is the already-loaded (concatenated) bias or null.
    /// </summary>
    ILinear Load(IWeightSource source, IReadOnlyList<string> prefixes, JsonElement quantizationConfig, IBackend backend, Tensor? bias);
}
