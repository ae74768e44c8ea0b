using Modular.Models;
using Modular.Models.Verification;

namespace Modular.Conformance;

/// <summary>One golden case as the model tier judges it: the error in the tier's measure, its bound and the verdict.</summary>
internal sealed record GoldenVerdict(GoldenCaseResult Result, double Error, double Tolerance, bool Pass, string Measure)
{
    /// <summary>The case's figures for a failure message.</summary>
    public string Describe() =>
        $"{Measure} = {Error:E3} (tolerance {Tolerance:E1}), prompt logprob error {Result.MaxPromptLogprobError:E3}, " +
        $"greedy {Result.GreedyMatched}/{Result.GreedyTotal} matched, fragile {Result.FragileDivergence}";
}

/// <summary>
/// The golden check shared by the model-tier suites: run <see cref="GoldenVerifier"/>, then judge each case. Float32
/// backends are held to an absolute logit error; others to max abs error / max |reference logit| (the logits' scale
/// grows the bf16 error). Greedy ids must match up to the first step whose reference margin is below the error.
/// Every case is recorded in the conformance log before any assertion, so a report shows the whole checkpoint.
/// </summary>
internal static class GoldenCases
{
    public static List<GoldenVerdict> Judge(string backend, string recordName, TransformerModel model, string dir, bool f32,
        double f32Tolerance, double relativeTolerance)
    {
        var results = GoldenVerifier.Run(model, dir);
        var verdicts = new List<GoldenVerdict>();
        // The suites judge logits only (their float32 bound is tighter than the CLI's); log-probabilities are recorded.
        var tolerance = new GoldenTolerance(!f32, f32 ? f32Tolerance : relativeTolerance);
        foreach (var r in results)
        {
            Assert.True(r.ReferenceScale > 0, $"golden case {r.Case} of {dir} has no reference logits");
            double err = tolerance.Error(r), tol = tolerance.Bound;
            bool pass = err <= tol && (r.GreedyMatched == r.GreedyTotal || r.FragileDivergence);
            string measure = $"max abs logit error {r.MaxAbsError:E3}" + (f32 ? "" : $" / max |ref| {r.ReferenceScale:F2}");
            Checks.Record(backend, $"{recordName}.case{r.Case}",
                $"prompt {r.PromptTokens}, greedy {r.GreedyMatched}/{r.GreedyTotal}{(r.FragileDivergence ? " (fragile step)" : "")}, logprob err {r.MaxPromptLogprobError:E2}, {measure}",
                err, tol, pass);
            verdicts.Add(new GoldenVerdict(r, err, tol, pass, measure));
        }
        return verdicts;
    }
}
