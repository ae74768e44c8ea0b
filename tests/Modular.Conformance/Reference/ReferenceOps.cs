using Modular.Abstractions;

namespace Modular.Conformance.Reference;

/// <summary>
/// Float64 host implementations of every IKernels op, written from the contract's documentation and nothing else,
/// so a backend and this oracle can only agree by both following the contract. Inputs are the values the device
/// actually holds (already rounded to its storage dtype).
/// </summary>
public static class ReferenceOps
{
    /// <summary>out[t] = table[ids[t]] * scale.</summary>
    public static double[] Embedding(float[] table, int hidden, int[] ids, float scale)
    {
        var o = new double[ids.Length * hidden];
        for (int t = 0; t < ids.Length; t++)
            for (int h = 0; h < hidden; h++) o[t * hidden + h] = (double)table[ids[t] * hidden + h] * scale;
        return o;
    }

    /// <summary>out = x / sqrt(mean(x^2) + eps) * (offset + w), per row.</summary>
    public static double[] RmsNorm(float[] x, float[] w, double eps, double offset)
    {
        int hidden = w.Length, rows = x.Length / hidden;
        var o = new double[x.Length];
        for (int r = 0; r < rows; r++)
        {
            double ss = 0;
            for (int h = 0; h < hidden; h++) ss += (double)x[r * hidden + h] * x[r * hidden + h];
            double inv = 1 / Math.Sqrt(ss / hidden + eps);
            for (int h = 0; h < hidden; h++) o[r * hidden + h] = x[r * hidden + h] * inv * (offset + w[h]);
        }
        return o;
    }

    /// <summary>out = x W^T + b; x [T,K], W [N,K].</summary>
    public static double[] Linear(float[] x, float[] w, float[]? bias, int k, int n)
    {
        int t = x.Length / k;
        var o = new double[t * n];
        Parallel.For(0, t, i =>
        {
            for (int j = 0; j < n; j++)
            {
                double s = bias is null ? 0 : bias[j];
                for (int c = 0; c < k; c++) s += (double)x[i * k + c] * w[j * k + c];
                o[i * n + j] = s;
            }
        });
        return o;
    }

    /// <summary>Rotate-half RoPE over the first rot dims of each head; returns (q', k').</summary>
    public static (double[] Q, double[] K) Rope(float[] q, float[] k, int[] positions, float[] cosSin, int rot, int headDim)
    {
        return (RotateAll(q), RotateAll(k));

        double[] RotateAll(float[] x)
        {
            var o = new double[x.Length];
            for (int i = 0; i < x.Length; i++) o[i] = x[i];
            int tokens = positions.Length, heads = x.Length / tokens / headDim, half = rot / 2;
            for (int t = 0; t < tokens; t++)
                for (int h = 0; h < heads; h++)
                {
                    int b = (t * heads + h) * headDim, p = positions[t];
                    for (int i = 0; i < half; i++)
                    {
                        double c = cosSin[p * rot + i], s = cosSin[p * rot + half + i];
                        double x1 = x[b + i], x2 = x[b + half + i];
                        o[b + i] = x1 * c - x2 * s;
                        o[b + half + i] = x2 * c + x1 * s;
                    }
                }
            return o;
        }
    }

    /// <summary>The activation function.</summary>
    public static double Act(double x, Activation a) => a switch
    {
        Activation.Silu => x / (1 + Math.Exp(-x)),
        Activation.GeluTanh => 0.5 * x * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x))),
        _ => 0.5 * x * (1 + Erf(x / Math.Sqrt(2))),
    };

    /// <summary>out = act(gateUp[:, :I]) * gateUp[:, I:].</summary>
    public static double[] ActAndMul(float[] gateUp, int inter, Activation a)
    {
        int tokens = gateUp.Length / (2 * inter);
        var o = new double[tokens * inter];
        for (int t = 0; t < tokens; t++)
            for (int j = 0; j < inter; j++)
                o[t * inter + j] = Act(gateUp[t * 2 * inter + j], a) * gateUp[t * 2 * inter + inter + j];
        return o;
    }

    /// <summary>Softmax over experts, top-k (ties to the lower index), optional renormalization, weighted expert MLPs.</summary>
    public static double[] Moe(float[] x, float[] logits, float[] gateUp, float[] down, int experts, int hidden, int inter,
        int topK, bool renormalize, Activation a)
    {
        int tokens = x.Length / hidden;
        var o = new double[x.Length];
        for (int t = 0; t < tokens; t++)
        {
            var p = new double[experts];
            double mx = double.NegativeInfinity, sum = 0;
            for (int e = 0; e < experts; e++) mx = Math.Max(mx, logits[t * experts + e]);
            for (int e = 0; e < experts; e++) sum += p[e] = Math.Exp(logits[t * experts + e] - mx);
            for (int e = 0; e < experts; e++) p[e] /= sum;
            var order = Enumerable.Range(0, experts).OrderByDescending(e => p[e]).ThenBy(e => e).Take(topK).ToArray();
            double chosen = order.Sum(e => p[e]);
            foreach (var e in order)
            {
                double w = renormalize ? p[e] / chosen : p[e];
                var act = new double[inter];
                for (int j = 0; j < inter; j++)
                {
                    double g = 0, u = 0;
                    for (int h = 0; h < hidden; h++)
                    {
                        g += (double)gateUp[((long)e * 2 * inter + j) * hidden + h] * x[t * hidden + h];
                        u += (double)gateUp[((long)e * 2 * inter + inter + j) * hidden + h] * x[t * hidden + h];
                    }
                    act[j] = Act(g, a) * u;
                }
                for (int h = 0; h < hidden; h++)
                {
                    double s = 0;
                    for (int j = 0; j < inter; j++) s += (double)down[((long)e * hidden + h) * inter + j] * act[j];
                    o[t * hidden + h] += w * s;
                }
            }
        }
        return o;
    }

    /// <summary>erf to near double precision: Taylor series for |x| &lt; 3, continued fraction of erfc beyond.</summary>
    public static double Erf(double x)
    {
        double ax = Math.Abs(x);
        if (ax >= 6) return Math.Sign(x);
        if (ax < 3)
        {
            double sum = x, term = x, x2 = x * x;
            for (int n = 1; n < 200; n++)
            {
                term *= -x2 / n;
                double add = term / (2 * n + 1);
                sum += add;
                if (Math.Abs(add) < 1e-17 * Math.Abs(sum)) break;
            }
            return 2 / Math.Sqrt(Math.PI) * sum;
        }
        // Continued fraction for erfc at larger |x|.
        double f = 0;
        for (int n = 60; n >= 1; n--) f = n / 2.0 / (ax + f);
        double erfc = Math.Exp(-ax * ax) / Math.Sqrt(Math.PI) / (ax + f);
        return Math.Sign(x) * (1 - erfc);
    }
}
