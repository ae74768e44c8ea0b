using System.Text.Json.Nodes;
using Modular.Engine;
using Modular.Testing;
using Modular.Tokenization;

namespace Modular.Hardening.Tests.Faults;

/// <summary>
/// Device faults injected by the FaultyBackend plugin, driven through the engine core: a step that throws fails
/// exactly the requests in that step; an allocation beyond the device budget fails the step that needed it and the
/// runner recovers; the pool ends with every block free.
/// </summary>
public sealed class EngineFaultTests
{
    private static int Trigger => FaultyEngine.TriggerToken(HfTokenizer.FromDirectory(Fixtures.BundledModel));

    /// <summary>One request at a time: the trigger request fails, the ones before and after it complete.</summary>
    [Fact]
    public void ThrowingStep_FailsOnlyItsRequests_Sequential()
    {
        using var e = new FaultyEngine(new JsonObject { ["triggerToken"] = Trigger }, new EngineOptions { MaxNumSeqs = 1, MaxModelLen = 128 });
        var finals = e.Run(FaultyEngine.Request("a", "ROMEO:"), FaultyEngine.Request("bad", "JULIET: ~ speak"), FaultyEngine.Request("c", "MERCUTIO:"));
        Assert.Equal(FinishReasons.Length, finals["a"].Outputs[0].FinishReason);
        Assert.Equal(FinishReasons.Error, finals["bad"].Outputs[0].FinishReason);
        Assert.Contains("trigger token", finals["bad"].Error);
        Assert.Equal(FinishReasons.Length, finals["c"].Outputs[0].FinishReason);
        Assert.Equal(8, finals["c"].Outputs[0].TokenIds.Count);
        Assert.Equal(e.Core.Allocator.TotalBlocks, e.Core.Allocator.FreeBlocks);
    }

    /// <summary>Requests sharing the failing step fail with it; a request that was waiting outside it, and a later one, complete.</summary>
    [Fact]
    public void ThrowingStep_FailsTheWholeStep_NotTheWaitingOnes()
    {
        using var e = new FaultyEngine(new JsonObject { ["triggerToken"] = Trigger }, new EngineOptions { MaxNumSeqs = 2, MaxModelLen = 128 });
        var finals = e.Run(FaultyEngine.Request("a", "ROMEO:"), FaultyEngine.Request("bad", "~ JULIET:"), FaultyEngine.Request("waiting", "MERCUTIO:"));
        Assert.Equal(FinishReasons.Error, finals["a"].Outputs[0].FinishReason);
        Assert.Equal(FinishReasons.Error, finals["bad"].Outputs[0].FinishReason);
        Assert.StartsWith("engine step failed", finals["a"].Error);
        Assert.Equal(FinishReasons.Length, finals["waiting"].Outputs[0].FinishReason);
        var later = e.Run(FaultyEngine.Request("later", "ROMEO:"));
        Assert.Equal(FinishReasons.Length, later["later"].Outputs[0].FinishReason);
        Assert.Equal(e.Core.Allocator.TotalBlocks, e.Core.Allocator.FreeBlocks);
    }

    /// <summary>A transient fault at step 3 of a decode: that request fails, the engine thread keeps serving the next ones.</summary>
    [Fact]
    public async Task FaultAfterNSteps_EngineKeepsServing()
    {
        var fe = new FaultyEngine(new JsonObject { ["failAtSteps"] = "3" }, new EngineOptions { MaxModelLen = 128 });
        using var engine = new LLMEngine(fe.Core);
        try
        {
            var first = await engine.GenerateFinalAsync(FaultyEngine.Request("first", "ROMEO:"));
            Assert.Equal(FinishReasons.Error, first.Outputs[0].FinishReason);
            Assert.Contains("injected failure at step 3", first.Error);
            var results = await Task.WhenAll(Enumerable.Range(0, 6).Select(i => engine.GenerateFinalAsync(FaultyEngine.Request("n" + i, "ROMEO:"))));
            Assert.All(results, r => Assert.Equal(FinishReasons.Length, r.Outputs[0].FinishReason));
            Assert.Null(engine.Fault);
        }
        finally
        {
            engine.Dispose();
            fe.Dispose();
        }
    }

    /// <summary>
    /// Regression (Workspace.Grow): a step whose buffers exceed the device budget fails, and the runner recovers - small
    /// steps afterwards run. Before the fix the failed grow left disposed tensors in the workspace and every later step
    /// failed with ObjectDisposedException.
    /// </summary>
    [Fact]
    public void AllocationBeyondBudget_FailsThatStep_RunnerRecovers()
    {
        // 1.6 MB: the weights fit (the largest is 2048x192 float32), a ~450-token prefill's MLP buffer does not.
        using var e = new FaultyEngine(new JsonObject { ["maxAllocationBytes"] = 1_600_000 },
            new EngineOptions { MaxModelLen = 512, MaxNumBatchedTokens = 1024 });
        var longPrompt = string.Concat(Enumerable.Repeat("ROMEO: what light through yonder window breaks? ", 32));
        var finals = e.Run(FaultyEngine.Request("long", longPrompt, 4));
        Assert.Equal(FinishReasons.Error, finals["long"].Outputs[0].FinishReason);
        Assert.Contains("out of device memory", finals["long"].Error);
        var after = e.Run(FaultyEngine.Request("short", "ROMEO:"), FaultyEngine.Request("short2", "JULIET:"));
        Assert.Equal(FinishReasons.Length, after["short"].Outputs[0].FinishReason);
        Assert.Equal(FinishReasons.Length, after["short2"].Outputs[0].FinishReason);
        Assert.Equal(e.Core.Allocator.TotalBlocks, e.Core.Allocator.FreeBlocks);
    }

    /// <summary>
    /// The CLR's own OutOfMemoryException is not caught by the step (EngineCore.Step filters it out); LLMEngine's loop
    /// then fails every live request - not only the step's - and keeps serving.
    /// </summary>
    [Fact]
    public async Task ManagedOutOfMemory_FailsLiveRequests_EngineSurvives()
    {
        var fe = new FaultyEngine(new JsonObject { ["maxAllocationBytes"] = 1_600_000, ["oom"] = "managed" },
            new EngineOptions { MaxModelLen = 512, MaxNumBatchedTokens = 1024 });
        using var engine = new LLMEngine(fe.Core);
        try
        {
            var longPrompt = string.Concat(Enumerable.Repeat("ROMEO: what light through yonder window breaks? ", 32));
            var failed = await engine.GenerateFinalAsync(FaultyEngine.Request("long", longPrompt, 4));
            Assert.Equal(FinishReasons.Error, failed.Outputs[0].FinishReason);
            Assert.Contains("engine error", failed.Error);
            var ok = await engine.GenerateFinalAsync(FaultyEngine.Request("ok", "ROMEO:"));
            Assert.Equal(FinishReasons.Length, ok.Outputs[0].FinishReason);
        }
        finally
        {
            engine.Dispose();
            fe.Dispose();
        }
    }

    /// <summary>A KV cache beyond the device budget is refused at load with the device's message, not a crash.</summary>
    [Fact]
    public void KvCacheBeyondBudget_RefusedAtLoad()
    {
        var ex = Assert.ThrowsAny<Exception>(() => new FaultyEngine(new JsonObject { ["kvBudgetBytes"] = 100_000 }, new EngineOptions()));
        Assert.Contains("KV cache of 256 blocks", ex.Message);
        Assert.Contains("out of device memory", ex.Message);
    }
}
