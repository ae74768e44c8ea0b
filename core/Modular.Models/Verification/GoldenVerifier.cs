using System.Runtime.InteropServices;
using System.Text.Json;
using Modular.Abstractions;
using Modular.Models.Loading;

namespace Modular.Models.Verification;

/// <summary>Result of one golden case.</summary>
/// <param name="Case">Case index.</param>
/// <param name="PromptTokens">Prompt length.</param>
/// <param name="MaxAbsError">Largest |logit - reference| over the compared positions.</param>
/// <param name="GreedyMatched">Greedy ids equal to the reference before the first difference.</param>
/// <param name="GreedyTotal">Reference greedy length.</param>
/// <param name="FragileDivergence">The first difference came at a step whose reference margin is within the numeric error.</param>
/// <param name="MaxPromptLogprobError">Largest |prompt logprob - reference|.</param>
/// <param name="ReferenceScale">Largest |reference logit| of the case (the scale of <see cref="RelativeError"/>).</param>
public sealed record GoldenCaseResult(int Case, int PromptTokens, double MaxAbsError, int GreedyMatched, int GreedyTotal,
    bool FragileDivergence, double MaxPromptLogprobError, double ReferenceScale)
{
    /// <summary><see cref="MaxAbsError"/> over <see cref="ReferenceScale"/>.</summary>
    public double RelativeError => ReferenceScale > 0 ? MaxAbsError / ReferenceScale : MaxAbsError;

    /// <summary>Within an absolute <paramref name="tolerance"/> (<see cref="GoldenTolerance"/> with Relative false).</summary>
    public bool Passed(double tolerance) => new GoldenTolerance(false, tolerance).Passes(this);
}

/// <summary>
/// Checks a model against the Hugging Face references of a fixture directory (<c>golden.json</c> +
/// <c>golden.safetensors</c>): logits at every recorded position, prompt log-probabilities, and the greedy
/// continuation run through the paged KV cache one decode step at a time.
/// </summary>
public static class GoldenVerifier
{
    /// <summary>
    /// Runs every case of <paramref name="goldenDir"/> against a loaded model, its KV cache in
    /// <paramref name="kvDType"/> (null: the backend's activation dtype).
    /// </summary>
    public static List<GoldenCaseResult> Run(TransformerModel model, string goldenDir, int blockSize = 16, DType? kvDType = null)
    {
        var jsonPath = Path.Combine(goldenDir, "golden.json");
        if (!File.Exists(jsonPath)) throw new ModelFileException(jsonPath, "not found (verify-golden needs golden.json and golden.safetensors)");
        using var doc = JsonDocument.Parse(File.ReadAllBytes(jsonPath));
        using var refs = SafetensorsFile.Open(Path.Combine(goldenDir, "golden.safetensors"));
        var results = new List<GoldenCaseResult>();
        var cases = doc.RootElement.GetProperty("cases");
        int vocab = model.Config.VocabSize;
        for (int c = 0; c < cases.GetArrayLength(); c++)
        {
            var cs = cases[c];
            var prompt = Ints(cs.GetProperty("prompt_ids"));
            var greedy = Ints(cs.GetProperty("greedy_ids"));
            var margins = cs.TryGetProperty("greedy_margins", out var mg) ? Floats(mg) : new float[greedy.Length];
            int maxLen = prompt.Length + greedy.Length;
            using var runner = ModelRunner.Create(model, (maxLen + blockSize - 1) / blockSize + 1, blockSize, kvDType);
            var driver = new SequenceDriver(runner);
            var logits = driver.Feed(prompt, allLogits: true);

            double err = 0, scale = 0;
            if (refs.Contains($"logits_{c}"))
                (err, scale) = MaxAbs(logits, MemoryMarshal.Cast<byte, float>(refs.Bytes($"logits_{c}")));
            else if (refs.Contains($"last_logits_{c}"))
                (err, scale) = MaxAbs(logits.AsSpan((prompt.Length - 1) * vocab, vocab), MemoryMarshal.Cast<byte, float>(refs.Bytes($"last_logits_{c}")));

            double lpErr = 0;
            if (cs.TryGetProperty("prompt_logprobs", out var plp))
            {
                var refLp = Floats(plp);
                var row = new float[vocab];
                for (int i = 0; i < refLp.Length && i + 1 < prompt.Length; i++)
                {
                    LogSoftmax(logits.AsSpan(i * vocab, vocab), row);
                    lpErr = Math.Max(lpErr, Math.Abs(row[prompt[i + 1]] - refLp[i]));
                }
            }

            int matched = 0;
            bool fragile = false;
            var last = logits.AsSpan((prompt.Length - 1) * vocab, vocab).ToArray();
            for (int step = 0; step < greedy.Length; step++)
            {
                int next = System.Numerics.Tensors.TensorPrimitives.IndexOfMax(last);
                if (next != greedy[step])
                {
                    // A reference margin this small means float32 rounding alone can flip the choice.
                    fragile = margins[step] <= 2 * Math.Max(err, 1e-4);
                    break;
                }
                matched++;
                if (step + 1 < greedy.Length) last = driver.Feed([next], allLogits: false);
            }
            results.Add(new GoldenCaseResult(c, prompt.Length, err, matched, greedy.Length, fragile, lpErr, scale));
        }
        return results;
    }

    /// <summary>Largest |a - reference| and largest |reference|.</summary>
    private static (double Error, double Scale) MaxAbs(ReadOnlySpan<float> a, ReadOnlySpan<float> reference)
    {
        if (a.Length != reference.Length) throw new InvalidOperationException($"logit count {a.Length} differs from the reference {reference.Length}");
        double m = 0, scale = 0;
        for (int i = 0; i < a.Length; i++)
        {
            m = Math.Max(m, Math.Abs(a[i] - reference[i]));
            scale = Math.Max(scale, Math.Abs(reference[i]));
        }
        return (m, scale);
    }

    private static void LogSoftmax(ReadOnlySpan<float> x, Span<float> o)
    {
        float max = float.NegativeInfinity;
        foreach (var v in x) max = Math.Max(max, v);
        double sum = 0;
        foreach (var v in x) sum += Math.Exp(v - max);
        float lse = max + (float)Math.Log(sum);
        for (int i = 0; i < x.Length; i++) o[i] = x[i] - lse;
    }

    private static int[] Ints(JsonElement a) { var r = new int[a.GetArrayLength()]; int i = 0; foreach (var e in a.EnumerateArray()) r[i++] = e.GetInt32(); return r; }
    private static float[] Floats(JsonElement a) { var r = new float[a.GetArrayLength()]; int i = 0; foreach (var e in a.EnumerateArray()) r[i++] = e.ValueKind == JsonValueKind.Number ? e.GetSingle() : float.NaN; return r; }
}
