using Modular.Abstractions;
using Modular.Models;

namespace Modular.Bench;

/// <summary>
/// Decode-step cost of each projection as a replayed graph sees it: one graph holds that projection of every layer
/// at T = 1 (a different weight per launch, so nothing is served from L2 that a real step would read from memory),
/// and the median replay over the layer count is the per-launch time, gaps between graph nodes included. Event
/// timing of single launches (<see cref="DeviceCeilings.LinearSeconds(IBackend, ILinear, int)"/>) adds the host's
/// launch latency, which a graph does not pay.
/// </summary>
internal static class GraphBreakdown
{
    /// <summary>Per-launch microseconds and weight-read rate of each projection; null without graph capture.</summary>
    internal static Dictionary<string, object>? Run(TransformerModel model, Action<string> log)
    {
        var b = model.Backend;
        if (b is not IGraphCapture capture) return null;
        var c = model.Config;
        var result = new Dictionary<string, object>();
        var projections = new (string Name, Func<LayerWeights, ILinear?> Pick)[]
        {
            // q|k|v as one launch when the layers were loaded fused (q and k are then null and skipped).
            ("qkv", l => l.Qkv), ("q", l => l.Q), ("k", l => l.K), ("o", l => l.O), ("gate_up", l => l.GateUp), ("down", l => l.Down),
        };
        double total = 0;
        foreach (var (name, pick) in projections)
        {
            var linears = model.Layers.Select(pick).OfType<ILinear>().ToArray();
            if (linears.Length == 0) continue;
            using var x = DeviceCeilings.RandomBf16(b, 1, linears[0].InFeatures, 17);
            using var y = b.Allocate(b.ActivationDType, 1, linears[0].OutFeatures);
            void Body() { foreach (var l in linears) l.Forward(x, y); }
            Body();
            b.Synchronize();
            using var graph = capture.Capture(Body);
            double s = DeviceCeilings.Time(b, graph.Replay, 10) / linears.Length;
            double bytes = WeightBytes(linears[0]);
            total += s * linears.Length;
            result[name] = new { n = linears[0].OutFeatures, k = linears[0].InFeatures, us = s * 1e6, weight_tb_s = bytes / s / 1e12 };
            log($"  graph {name} [1,{linears[0].InFeatures}]x[{linears[0].OutFeatures},{linears[0].InFeatures}]^T: {s * 1e6:F2} us per launch, {bytes / s / 1e12:F2} TB/s of weights");
        }
        // The dense gate|up with its activation fused (what a dense decode step runs instead of gate_up + act_and_mul).
        if (b.Kernels is IFusedGateUpKernels fused && model.Layers[0].GateUp is DenseLinear first)
        {
            var weights = model.Layers.Select(l => ((DenseLinear)l.GateUp!).Weight).ToArray();
            using var x = DeviceCeilings.RandomBf16(b, 1, first.InFeatures, 19);
            using var act = b.Allocate(b.ActivationDType, 1, first.OutFeatures / 2);
            bool taken = true;
            void Body() { foreach (var w in weights) taken &= fused.TryLinearActAndMul(x, w, c.Activation, act); }
            Body();
            b.Synchronize();
            if (taken)
            {
                using var graph = capture.Capture(Body);
                double s = DeviceCeilings.Time(b, graph.Replay, 10) / weights.Length;
                double bytes = WeightBytes(first);
                result["gate_up_act"] = new { n = first.OutFeatures, k = first.InFeatures, us = s * 1e6, weight_tb_s = bytes / s / 1e12 };
                log($"  graph gate_up+act (fused): {s * 1e6:F2} us per launch, {bytes / s / 1e12:F2} TB/s of weights");
            }
        }
        result["sum_per_token_us"] = total * 1e6;
        log($"  graph projections per token (all layers, LM head excluded): {total * 1e3:F3} ms");
        return result;
    }

    /// <summary>Bytes one forward reads of the weight: dense elements, or quantized codes plus scales and zeros.</summary>
    private static double WeightBytes(ILinear linear) => linear switch
    {
        DenseLinear d => d.Weight.Length * (double)DTypes.SizeOf(d.Weight.DType),
        Modular.Plugins.Quant.QuantizedLinear q => q.Weight.Data.Length + 4.0 * q.Weight.Scales.Length + 4.0 * (q.Weight.Zeros?.Length ?? 0),
        _ => double.NaN,
    };
}
