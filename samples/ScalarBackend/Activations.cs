namespace ScalarBackend;

/// <summary>The gate activations of MLP blocks, one element at a time.</summary>
internal static class Activations
{
    /// <summary>SiLU (swish): x * sigmoid(x).</summary>
    public static float Silu(float x) => x / (1f + MathF.Exp(-x));

    /// <summary>GELU, tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).</summary>
    public static float GeluTanh(float x)
    {
        const float sqrtTwoOverPi = 0.7978845608f;
        return 0.5f * x * (1f + MathF.Tanh(sqrtTwoOverPi * (x + 0.044715f * x * x * x)));
    }

    /// <summary>GELU, exact form: 0.5 x (1 + erf(x / sqrt 2)).</summary>
    public static float Gelu(float x) => (float)(0.5 * x * (1 + Erf(x / Math.Sqrt(2))));

    /// <summary>
    /// The error function, which .NET lacks. Abramowitz and Stegun formula 7.1.26: a rational approximation in
    /// t = 1/(1 + p|x|) times exp(-x^2), absolute error below 1.5e-7, far inside float32 GELU's needs.
    /// </summary>
    public static double Erf(double x)
    {
        const double p = 0.3275911;
        const double a1 = 0.254829592, a2 = -0.284496736, a3 = 1.421413741, a4 = -1.453152027, a5 = 1.061405429;
        double ax = Math.Abs(x);
        double t = 1 / (1 + p * ax);
        double poly = ((((a5 * t + a4) * t + a3) * t + a2) * t + a1) * t;
        double y = 1 - poly * Math.Exp(-ax * ax);
        return x < 0 ? -y : y;
    }
}
