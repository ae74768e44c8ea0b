using Modular.Abstractions;
using Modular.Models;
using Modular.Models.Verification;

namespace Modular.Engine.Tests;

/// <summary>bard-2m with <c>kv_cache_dtype fp8</c>: sizing, logits near the F32 cache's, and engine generation.</summary>
public sealed class Fp8KvCacheEngineTests(ITestOutputHelper output)
{
    /// <summary>
    /// Largest |logit| difference accepted between the fp8 and F32 caches. e4m3 keeps 3 mantissa bits (K/V of
    /// bard-2m move by 2.6% on average, none saturate), and this tiny model's logits span about 45, so the shift is
    /// not small: measured over 24 prompts (8-150 tokens) the last-position logits moved by 0.4-3.4 (relative RMS
    /// 0.016-0.16), and by up to 2.8 over this test's prompt and 8 decode steps. 5.0 and 0.25 leave room for that
    /// and still fail a cache that stores something other than the (rounded) K/V.
    /// </summary>
    private const double LogitTolerance = 5.0, RelativeRmsTolerance = 0.25;

    [Fact]
    public void Fixed_budget_gives_four_times_the_blocks_of_f32()
    {
        var options = new EngineOptions { KvCacheMemory = 64L << 20 };
        int f32 = KvCacheSizing.NumBlocks(Bard.Model, options);
        var lines = new List<string>();
        int fp8 = KvCacheSizing.NumBlocks(Bard.Model, options with { KvCacheDType = "fp8" }, lines.Add);
        Assert.Equal(4 * ModelRunner.KvBytesPerBlock(Bard.Model.Config, 16, DType.F8E4M3), ModelRunner.KvBytesPerBlock(Bard.Model.Config, 16, DType.F32));
        Assert.InRange(fp8, 4 * f32, 4 * f32 + 3);
        Assert.Contains(lines, l => l.Contains($"{fp8} blocks") && l.Contains("fp8_e4m3"));
    }

    [Fact]
    public void Utilization_sizing_names_the_dtype()
    {
        var options = new EngineOptions { GpuMemoryUtilization = 0.001, MaxNumBatchedTokens = 64, MaxNumSeqs = 8, KvCacheDType = "fp8" };
        var lines = new List<string>();
        int blocks = KvCacheSizing.NumBlocks(Bard.Model, options, lines.Add);
        long perBlock = ModelRunner.KvBytesPerBlock(Bard.Model.Config, options.BlockSize, DType.F8E4M3);
        Assert.Equal(KvCacheSizing.BudgetBytes(Bard.Backend.Info, 0.001) / perBlock, blocks);
        Assert.Contains(lines, l => l.Contains($"{blocks} blocks") && l.Contains("kv_cache_dtype fp8_e4m3"));
    }

    [Fact]
    public void Fp8_cache_logits_stay_close_to_f32_over_prefill_and_decode()
    {
        var prompt = Bard.CorpusTokens(500, 48);
        using var exact = ModelRunner.Create(Bard.Model, 8, 16);
        using var fp8 = ModelRunner.Create(Bard.Model, 8, 16, DType.F8E4M3);
        Assert.Equal(DType.F8E4M3, fp8.Cache.Spec.DType);
        var de = new SequenceDriver(exact);
        var df = new SequenceDriver(fp8);
        var le = de.Feed(prompt, allLogits: false);
        var lf = df.Feed(prompt, allLogits: false);
        double worst = 0, worstRms = 0;
        for (int step = 0; step <= 8; step++)
        {
            double diff = 0, sq = 0, norm = 0;
            for (int i = 0; i < le.Length; i++)
            {
                diff = Math.Max(diff, Math.Abs(le[i] - lf[i]));
                sq += (double)(le[i] - lf[i]) * (le[i] - lf[i]);
                norm += (double)le[i] * le[i];
            }
            double rms = Math.Sqrt(sq / norm);
            output.WriteLine($"step {step}: max |logit diff| {diff:F3}, relative RMS {rms:F4}, logit range {le.Max() - le.Min():F1}");
            worst = Math.Max(worst, diff);
            worstRms = Math.Max(worstRms, rms);
            if (step == 0) Assert.Equal(Bard.Argmax(le), Bard.Argmax(lf));
            // Both runners take the F32 run's greedy token, so the contexts stay identical.
            int next = Bard.Argmax(le);
            le = de.Feed([next], allLogits: false);
            lf = df.Feed([next], allLogits: false);
        }
        Assert.True(worst <= LogitTolerance, $"fp8 KV cache moved the logits by {worst:F3} (tolerance {LogitTolerance})");
        Assert.True(worstRms <= RelativeRmsTolerance, $"fp8 KV cache moved the logits by relative RMS {worstRms:F4} (tolerance {RelativeRmsTolerance})");
        // The cache did round: an fp8 cache that kept F32 would give identical logits.
        Assert.True(worst > 1e-5, $"fp8 and F32 caches gave the same logits ({worst:E3}): the cache did not round");
    }

    [Fact]
    public void Engine_with_fp8_cache_generates_and_mostly_agrees_with_auto()
    {
        var prompts = new[] { Bard.CorpusTokens(0, 24), Bard.CorpusTokens(900, 40), Bard.CorpusTokens(2000, 17) };
        int[][] Run(string dtype)
        {
            // A 2 MiB budget: the fp8 engine must get 4x the blocks, and its runner an F8E4M3 cache.
            using var llm = LLM.Create(Bard.Model, Bard.Tokenizer, new EngineOptions { KvCacheMemory = 2L << 20, KvCacheDType = dtype });
            long perBlock = ModelRunner.KvBytesPerBlock(Bard.Model.Config, 16, dtype == "fp8" ? DType.F8E4M3 : DType.F32);
            Assert.Equal((2L << 20) / perBlock, llm.Allocator.TotalBlocks);
            Assert.Equal(dtype == "fp8" ? DType.F8E4M3 : DType.F32, RunnerOf(llm).Cache.Spec.DType);
            var outs = llm.Generate(prompts, Bard.Greedy(16));
            Bard.AssertNoLeaks(llm);
            return outs.Select(o => o.Outputs[0].TokenIds.ToArray()).ToArray();
        }
        var auto = Run("auto");
        var fp8 = Run("fp8");
        int agree = 0;
        for (int p = 0; p < prompts.Length; p++)
        {
            Assert.Equal(16, fp8[p].Length);
            int prefix = 0;
            while (prefix < 16 && fp8[p][prefix] == auto[p][prefix]) prefix++;
            output.WriteLine($"prompt {p}: greedy tokens agree for {prefix}/16");
            // The first token depends on the prompt's K/V alone; a near tie could flip it, so require 4 of the 16 per prompt.
            Assert.True(prefix >= 4, $"prompt {p}: fp8 greedy output left the auto one after {prefix} tokens");
            agree += prefix;
        }
        Assert.True(agree >= 24, $"only {agree}/48 greedy tokens agree");
    }

    /// <summary>The engine's runner (EngineCore keeps it private; the test only reads its cache spec).</summary>
    private static ModelRunner RunnerOf(LLM llm) =>
        (ModelRunner)typeof(EngineCore).GetField("_runner", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!.GetValue(llm.Engine.Core)!;

    [Fact]
    public void Unknown_kv_cache_dtype_is_rejected_by_name()
    {
        var error = new EngineOptions { KvCacheDType = "int8" }.Validate();
        Assert.NotNull(error);
        Assert.Contains("\"int8\"", error);
        Assert.Contains("fp8", error);
        Assert.Null(new EngineOptions { KvCacheDType = "fp8_e4m3" }.Validate());
        Assert.Throws<ArgumentException>(() => LLM.Create(Bard.Model, Bard.Tokenizer, new EngineOptions { NumBlocks = 4, KvCacheDType = "int8" }));
    }
}
