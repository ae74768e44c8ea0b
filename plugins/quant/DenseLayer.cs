using Modular.Abstractions;

namespace Modular.Plugins.Quant;

/// <summary>A plain linear layer: [N,K] weight in the backend's weight dtype (layers a checkpoint left unquantized).</summary>
public sealed class DenseLayer(Tensor weight, Tensor? bias) : ILinear
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

    /// <summary>Loads <c>&lt;prefix&gt;.weight</c> of each prefix, stacked along output features, as stored (no quantization).</summary>
    public static DenseLayer Load(IWeightSource source, IReadOnlyList<string> prefixes, IBackend backend, Tensor? bias, string method)
    {
        var infos = new TensorInfo[prefixes.Count];
        int n = 0;
        for (int i = 0; i < infos.Length; i++)
        {
            infos[i] = CheckpointTensors.Require(source, prefixes[i] + ".weight", method);
            if (infos[i].Shape.Length != 2 || infos[i].Shape[1] != infos[0].Shape[1] || infos[i].DType != infos[0].DType)
                throw new InvalidDataException($"{method}: tensor '{infos[i].Name}' is {infos[i].DType} [{string.Join(",", infos[i].Shape)}], which does not stack with '{infos[0].Name}'");
            n += infos[i].Shape[0];
        }
        var w = backend.Allocate(backend.WeightDType(infos[0].DType), n, infos[0].Shape[1]);
        int row = 0;
        foreach (var info in infos)
        {
            backend.Upload(source.Bytes(info.Name), info.DType, w.Slice(row, info.Shape[0]));
            row += info.Shape[0];
        }
        return new DenseLayer(w, bias);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Weight.Dispose();
        Bias?.Dispose();
    }
}
