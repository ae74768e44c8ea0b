namespace Modular.Models.Loading;

/// <summary>
/// Builds the cos/sin table every backend's RoPE kernel reads: row p holds cos(p * f_i) for the rot/2 frequencies,
/// then sin(p * f_i), with the scaling variant folded into the frequencies (and yarn's magnitude factor into both).
/// Computing it once on the host keeps the variants out of the kernels.
/// </summary>
public static class RopeTable
{
    /// <summary>Inverse frequencies for <paramref name="rotaryDim"/> rotating dimensions.</summary>
    public static double[] InverseFrequencies(RopeConfig rope, int rotaryDim, int maxPositionEmbeddings, out double magnitude)
    {
        int half = rotaryDim / 2;
        var inv = new double[half];
        for (int i = 0; i < half; i++) inv[i] = 1.0 / Math.Pow(rope.Theta, 2.0 * i / rotaryDim);
        magnitude = 1;
        switch (rope.Type)
        {
            case "default":
                break;
            case "linear":
                for (int i = 0; i < half; i++) inv[i] /= rope.Factor;
                break;
            case "llama3":
            {
                double oldCtx = rope.OriginalMaxPositionEmbeddings ?? 8192;
                double lowWavelen = oldCtx / rope.LowFreqFactor, highWavelen = oldCtx / rope.HighFreqFactor;
                for (int i = 0; i < half; i++)
                {
                    double wavelen = 2 * Math.PI / inv[i];
                    if (wavelen > lowWavelen) inv[i] /= rope.Factor;
                    else if (wavelen >= highWavelen)
                    {
                        double smooth = (oldCtx / wavelen - rope.LowFreqFactor) / (rope.HighFreqFactor - rope.LowFreqFactor);
                        inv[i] = (1 - smooth) * inv[i] / rope.Factor + smooth * inv[i];
                    }
                }
                break;
            }
            case "yarn":
            {
                double factor = rope.Factor;
                int origMax = rope.OriginalMaxPositionEmbeddings ?? maxPositionEmbeddings;
                static double GetMScale(double scale, double m) => scale <= 1 ? 1 : 0.1 * m * Math.Log(scale) + 1;
                magnitude = rope.AttentionFactor
                    ?? (rope.MScale is double ms && rope.MScaleAllDim is double msa
                        ? GetMScale(factor, ms) / GetMScale(factor, msa)
                        : GetMScale(factor, 1));
                double CorrectionDim(double rotations) =>
                    rotaryDim * Math.Log(origMax / (rotations * 2 * Math.PI)) / (2 * Math.Log(rope.Theta));
                double low = CorrectionDim(rope.BetaFast), high = CorrectionDim(rope.BetaSlow);
                if (rope.Truncate) { low = Math.Floor(low); high = Math.Ceiling(high); }
                low = Math.Max(low, 0);
                high = Math.Min(high, rotaryDim - 1);
                if (low == high) high += 0.001;
                for (int i = 0; i < half; i++)
                {
                    double ramp = Math.Clamp((i - low) / (high - low), 0, 1);
                    double extrapolationWeight = 1 - ramp;
                    double extrapolated = inv[i], interpolated = inv[i] / factor;
                    inv[i] = interpolated * (1 - extrapolationWeight) + extrapolated * extrapolationWeight;
                }
                break;
            }
            default:
                throw new NotSupportedException($"rope type '{rope.Type}' is not supported (supported: default, linear, llama3, yarn)");
        }
        return inv;
    }

    /// <summary>The [maxPositions, rotaryDim] float table: cos in the first half of each row, sin in the second.</summary>
    public static float[] Build(RopeConfig rope, int rotaryDim, int maxPositions, int maxPositionEmbeddings)
    {
        var inv = InverseFrequencies(rope, rotaryDim, maxPositionEmbeddings, out var magnitude);
        int half = rotaryDim / 2;
        var table = new float[(long)maxPositions * rotaryDim];
        for (int p = 0; p < maxPositions; p++)
        {
            int row = p * rotaryDim;
            for (int i = 0; i < half; i++)
            {
                // HF computes the angle in float32 (positions x inv_freq as float32 tensors); do the same so long
                // positions round identically.
                float angle = (float)p * (float)inv[i];
                table[row + i] = (float)(Math.Cos(angle) * magnitude);
                table[row + half + i] = (float)(Math.Sin(angle) * magnitude);
            }
        }
        return table;
    }
}
