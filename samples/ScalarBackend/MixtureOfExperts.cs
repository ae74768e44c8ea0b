using Modular.Abstractions;

namespace ScalarBackend;

/// <summary>
/// Sparse mixture of experts, token by token: softmax over the router logits, the top-k experts (ties go to the
/// lower expert index), optional renormalization of their weights, then each chosen expert's gated MLP
/// down(act(gate x) * up x) added into the output with its weight.
/// </summary>
internal static class MixtureOfExperts
{
    /// <summary>Applies the gated activation to one [2I] gate|up row, writing [I].</summary>
    public delegate void RowActivation(ReadOnlySpan<float> gateUp, Activation activation, Span<float> output);

    /// <summary>
    /// x [T,H], routerLogits [T,E], gateUp [E, 2I, H], down [E, H, I], output [T,H].
    /// </summary>
    public static void Run(ScalarTensor x, ScalarTensor routerLogits, ScalarTensor gateUp, ScalarTensor down, int topK,
        bool renormalize, Activation activation, ScalarTensor output, RowActivation activate)
    {
        int tokens = x.Rows, hidden = (int)x.RowLength;
        int experts = gateUp.Shape[0], twoInter = gateUp.Shape[1], inter = twoInter / 2;
        Shapes.Require(gateUp.Shape.Length == 3 && gateUp.Shape[2] == hidden, "Moe", $"gateUp {gateUp} must be [E, 2I, {hidden}]");
        Shapes.Require(down.Shape.Length == 3 && down.Shape[0] == experts && down.Shape[1] == hidden && down.Shape[2] == inter, "Moe", $"down {down} must be [{experts},{hidden},{inter}]");
        Shapes.Require(routerLogits.Rows == tokens && routerLogits.RowLength == experts, "Moe", $"routerLogits {routerLogits} must be [{tokens},{experts}]");
        Shapes.Require(topK >= 1 && topK <= experts, "Moe", $"topK {topK} must be within 1..{experts}");
        Shapes.Require(output.Length == x.Length, "Moe", $"output {output} must be shaped like x {x}");

        var xs = x.Floats;
        var logits = routerLogits.Floats;
        var gu = gateUp.Floats;
        var dn = down.Floats;
        var o = output.Floats;
        var probabilities = new float[experts];
        var chosen = new int[topK];
        var weights = new float[topK];
        var hiddenGateUp = new float[twoInter];
        var activated = new float[inter];

        for (int t = 0; t < tokens; t++)
        {
            Softmax(logits.Slice(t * experts, experts), probabilities);
            PickTopK(probabilities, chosen, weights);
            if (renormalize)
            {
                float total = 0;
                foreach (var w in weights) total += w;
                for (int i = 0; i < topK; i++) weights[i] /= total;
            }

            var xRow = xs.Slice(t * hidden, hidden);
            var oRow = o.Slice(t * hidden, hidden);
            oRow.Clear();
            for (int c = 0; c < topK; c++)
            {
                int e = chosen[c];
                // gate|up projection of this expert: [2I, H] times x.
                var expertGateUp = gu.Slice(e * twoInter * hidden, twoInter * hidden);
                for (int j = 0; j < twoInter; j++) hiddenGateUp[j] = Dot(xRow, expertGateUp.Slice(j * hidden, hidden));
                activate(hiddenGateUp, activation, activated);
                // down projection: [H, I] times the activated [I].
                var expertDown = dn.Slice(e * hidden * inter, hidden * inter);
                for (int h = 0; h < hidden; h++) oRow[h] += weights[c] * Dot(activated, expertDown.Slice(h * inter, inter));
            }
        }
    }

    private static void Softmax(ReadOnlySpan<float> logits, Span<float> probabilities)
    {
        float max = float.NegativeInfinity;
        foreach (var l in logits) max = MathF.Max(max, l);
        float sum = 0;
        for (int i = 0; i < logits.Length; i++) sum += probabilities[i] = MathF.Exp(logits[i] - max);
        for (int i = 0; i < logits.Length; i++) probabilities[i] /= sum;
    }

    /// <summary>The k largest probabilities in descending order; strict comparison keeps the lower index on ties.</summary>
    private static void PickTopK(ReadOnlySpan<float> probabilities, Span<int> chosen, Span<float> weights)
    {
        for (int c = 0; c < chosen.Length; c++)
        {
            int best = -1;
            for (int e = 0; e < probabilities.Length; e++)
            {
                if (chosen[..c].Contains(e)) continue;
                if (best < 0 || probabilities[e] > probabilities[best]) best = e;
            }
            chosen[c] = best;
            weights[c] = probabilities[best];
        }
    }

    private static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        float sum = 0;
        for (int i = 0; i < a.Length; i++) sum += a[i] * b[i];
        return sum;
    }
}
