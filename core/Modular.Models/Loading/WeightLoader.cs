using System.Text.Json;
using Modular.Abstractions;

namespace Modular.Models.Loading;

/// <summary>
/// Moves checkpoint tensors onto a backend: checks each shape against the config, converts to the backend's
/// weight dtype, and builds fused tensors (gate|up, experts) by uploading the parts into row slices.
/// </summary>
internal sealed class WeightLoader(IWeightSource checkpoint, Func<string, string> origin, IBackend backend, ModelConfig config, IQuantizer? quantizer, JsonElement quantConfig)
{

    public long BytesLoaded { get; private set; }

    /// <summary>Loads a whole tensor, checking its shape.</summary>
    public Tensor Load(string name, params int[] shape)
    {
        var info = Info(name, shape);
        var t = backend.Allocate(backend.WeightDType(info.DType), shape);
        Upload(name, info, t);
        return t;
    }

    /// <summary>Loads tensors of equal trailing shape stacked along rows into one tensor.</summary>
    public Tensor LoadStacked(IReadOnlyList<string> names, int rowsEach, int cols)
    {
        var first = checkpoint.Info(names[0]);
        var t = backend.Allocate(backend.WeightDType(first.DType), names.Count * rowsEach, cols);
        for (int i = 0; i < names.Count; i++)
            Upload(names[i], Info(names[i], rowsEach, cols), t.Slice(i * rowsEach, rowsEach));
        return t;
    }

    /// <summary>Loads rows [start, start+count) of a tensor (splitting a fused checkpoint tensor).</summary>
    public Tensor LoadRows(string name, int totalRows, int cols, int start, int count)
    {
        var info = Info(name, totalRows, cols);
        var t = backend.Allocate(backend.WeightDType(info.DType), count, cols);
        int elem = DTypes.SizeOf(info.DType);
        var bytes = checkpoint.Bytes(name).Slice(start * cols * elem, count * cols * elem);
        backend.Upload(bytes, info.DType, t);
        BytesLoaded += bytes.Length;
        return t;
    }

    /// <summary>Loads a 1-D bias, or null when the checkpoint has none and none is required.</summary>
    public Tensor? Bias(string name, int n, bool required)
    {
        if (!checkpoint.Contains(name))
        {
            if (required) throw new ModelFileException(origin(name), $"tensor '{name}' is missing from the checkpoint");
            return null;
        }
        return Load(name, n);
    }

    /// <summary>
    /// A linear layer from one or more checkpoint prefixes fused along the output dimension
    /// (e.g. gate_proj + up_proj), dense or through the quantizer.
    /// </summary>
    public ILinear Linear(IReadOnlyList<string> prefixes, int[] outFeatures, int inFeatures, bool bias)
    {
        // Checked before anything is allocated: a refused stack leaves no bias tensor behind.
        if (prefixes.Count > 1 && !CanStack(prefixes)) throw MixedStack(prefixes);
        int total = 0;
        foreach (var n in outFeatures) total += n;
        Tensor? b = null;
        if (bias)
        {
            var parts = new string[prefixes.Count];
            for (int i = 0; i < parts.Length; i++) parts[i] = prefixes[i] + ".bias";
            b = LoadConcat1D(parts, outFeatures);
        }
        if (quantizer is not null && IsQuantized(prefixes[0]))
            return quantizer.Load(checkpoint, prefixes, quantConfig, backend, b);
        if (prefixes.Count == 1) return new DenseLinear(Load(prefixes[0] + ".weight", outFeatures[0], inFeatures), b);
        var info = checkpoint.Info(prefixes[0] + ".weight");
        var w = backend.Allocate(backend.WeightDType(info.DType), total, inFeatures);
        int row = 0;
        for (int i = 0; i < prefixes.Count; i++)
        {
            var name = prefixes[i] + ".weight";
            Upload(name, Info(name, outFeatures[i], inFeatures), w.Slice(row, outFeatures[i]));
            row += outFeatures[i];
        }
        return new DenseLinear(w, b);
    }

    /// <summary>
    /// Whether the layers under <paramref name="prefixes"/> can load as one stacked linear: all of them stored
    /// quantized or all of them plain (a quantizer cannot stack a plain part, nor a dense load a quantized one).
    /// </summary>
    public bool CanStack(IReadOnlyList<string> prefixes)
    {
        if (quantizer is null) return true;
        bool first = IsQuantized(prefixes[0]);
        for (int i = 1; i < prefixes.Count; i++)
            if (IsQuantized(prefixes[i]) != first) return false;
        return true;
    }

    private ModelFileException MixedStack(IReadOnlyList<string> prefixes)
    {
        var quantized = new List<string>();
        var plain = new List<string>();
        foreach (var p in prefixes) (IsQuantized(p) ? quantized : plain).Add(p);
        return new ModelFileException(origin(prefixes[0] + ".weight"),
            $"layers {string.Join(", ", prefixes)} load as one stacked linear, but {string.Join(", ", quantized)} "
            + $"{(quantized.Count == 1 ? "is" : "are")} stored quantized and {string.Join(", ", plain)} "
            + $"{(plain.Count == 1 ? "is" : "are")} not");
    }

    /// <summary>
    /// A layer goes to the quantizer when its weight is stored in a quantized form (GPTQ/AWQ keep no plain
    /// <c>.weight</c>; FP8 keeps one in F8_E4M3), or always when quantizing at load (the quantizer then decides,
    /// e.g. keeping the LM head dense).
    /// </summary>
    private bool IsQuantized(string prefix)
    {
        if (config.QuantizationConfig is null) return true; // online quantization: no quantization_config in the checkpoint
        var name = prefix + ".weight";
        return !checkpoint.Contains(name) || checkpoint.Info(name).DType == DType.F8E4M3;
    }

    private Tensor LoadConcat1D(string[] names, int[] sizes)
    {
        int total = 0;
        foreach (var n in sizes) total += n;
        var info = checkpoint.Info(names[0]);
        var t = backend.Allocate(backend.WeightDType(info.DType), total);
        int off = 0;
        for (int i = 0; i < names.Length; i++)
        {
            Upload(names[i], Info(names[i], sizes[i]), t.View(total, 1).Slice(off, sizes[i]).View(sizes[i]));
            off += sizes[i];
        }
        return t;
    }

    private TensorInfo Info(string name, params int[] shape)
    {
        var info = checkpoint.Info(name);
        if (!info.Shape.AsSpan().SequenceEqual(shape))
            throw new ModelFileException(origin(name),
                $"tensor '{name}' has shape [{string.Join(",", info.Shape)}] but config.json implies [{string.Join(",", shape)}]");
        if (!DTypes.IsFloat(info.DType))
            throw new ModelFileException(origin(name), $"tensor '{name}' has dtype {info.DType}, expected a float type");
        return info;
    }

    private void Upload(string name, TensorInfo info, Tensor dst)
    {
        var bytes = checkpoint.Bytes(name);
        backend.Upload(bytes, info.DType, dst);
        BytesLoaded += bytes.Length;
    }
}
