using System.CommandLine;
using System.Text.Json;
using Modular.Models;
using Modular.Models.Verification;

namespace Modular.Cli.Commands;

/// <summary><c>modular verify-golden DIR</c>: the model against its Hugging Face reference outputs.</summary>
internal static class VerifyGoldenCommand
{
    public static Command Create()
    {
        var dir = new Argument<string>("dir") { Description = "checkpoint directory holding golden.json and golden.safetensors" };
        var backend = CliOptions.Backend();
        var plugins = CliOptions.Plugins();
        var json = new Option<bool>("--json") { Description = "print results as JSON" };
        var tol = new Option<double?>("--tolerance")
        {
            Description = "largest logit error that passes: absolute on float32 backends (default 1e-3), relative to the largest reference logit otherwise (default 2e-2)",
        };
        var kvDType = CliOptions.KvCacheDType();
        var cmd = new Command("verify-golden", "Compare logits, prompt logprobs and greedy ids with the Hugging Face references") { dir, backend, plugins, json, tol, kvDType };
        cmd.SetAction(r =>
        {
            using var runtime = CliOptions.OpenRuntime(r.GetValue(plugins), r.GetValue(backend), 0);
            var path = r.GetValue(dir)!;
            using var model = CliOptions.LoadModel(path, runtime);
            var tolerance = GoldenTolerance.For(runtime.Backend.ActivationDType);
            if (r.GetValue(tol) is double bound) tolerance = tolerance with { Bound = bound };
            // An fp8 KV cache rounds K/V to 3 mantissa bits: expect to pass a looser --tolerance than the default.
            var results = GoldenVerifier.Run(model, path, kvDType: KvCacheDTypes.Resolve(r.GetValue(kvDType), runtime.Backend));
            bool ok = results.TrueForAll(tolerance.Passes);
            if (r.GetValue(json))
                Console.WriteLine(JsonSerializer.Serialize(new { model = path, backend = runtime.Backend.Name, tolerance = tolerance.Bound, relative = tolerance.Relative,
                    passed = ok, cases = results }, new JsonSerializerOptions { WriteIndented = true }));
            else
            {
                foreach (var c in results)
                    Console.WriteLine($"case {c.Case}: prompt {c.PromptTokens} tokens, max |logit err| {c.MaxAbsError:E2} (max |ref| {c.ReferenceScale:F2}, relative {c.RelativeError:E2}), "
                        + $"prompt logprob err {c.MaxPromptLogprobError:E2}, greedy {c.GreedyMatched}/{c.GreedyTotal}{(c.FragileDivergence ? " (diverged at a fragile step)" : "")} {(tolerance.Passes(c) ? "ok" : "FAIL")}");
                Console.WriteLine($"{(ok ? "PASS" : "FAIL")} (tolerance {tolerance})");
            }
            return ok ? 0 : 1;
        });
        return cmd;
    }
}
