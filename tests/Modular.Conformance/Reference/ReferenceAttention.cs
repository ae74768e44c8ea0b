namespace Modular.Conformance.Reference;

/// <summary>Float64 causal attention with GQA and a sliding window, over each sequence's full K/V history.</summary>
public static class ReferenceAttention
{
    /// <summary>
    /// Output [Hq*D] for one query at position <paramref name="pos"/> attending to keys 0..pos (only the last
    /// <paramref name="window"/> when it is positive). keys/values are [positions, Hk*D].
    /// </summary>
    public static void Attend(ReadOnlySpan<float> q, float[] keys, float[] values, int pos, int hq, int hk, int d,
        double scale, int window, Span<double> output)
    {
        int lo = window > 0 ? Math.Max(0, pos - window + 1) : 0;
        int group = hq / hk;
        var scores = new double[pos - lo + 1];
        for (int h = 0; h < hq; h++)
        {
            int kvh = h / group;
            double max = double.NegativeInfinity;
            for (int j = lo; j <= pos; j++)
            {
                double s = 0;
                for (int c = 0; c < d; c++) s += (double)q[h * d + c] * keys[(j * hk + kvh) * d + c];
                scores[j - lo] = s * scale;
                max = Math.Max(max, scores[j - lo]);
            }
            double sum = 0;
            for (int j = 0; j < scores.Length; j++) sum += scores[j] = Math.Exp(scores[j] - max);
            for (int c = 0; c < d; c++)
            {
                double acc = 0;
                for (int j = lo; j <= pos; j++) acc += scores[j - lo] * values[(j * hk + kvh) * d + c];
                output[h * d + c] = acc / sum;
            }
        }
    }
}
