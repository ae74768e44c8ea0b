using Modular.Abstractions;
using Modular.Models;

namespace Modular.Engine.Tests;

/// <summary>KV pool sizing: fixed budgets, exact counts, and the gpu_memory_utilization rule.</summary>
public sealed class KvCacheSizingTests
{
    [Fact]
    public void Without_utilization_the_byte_budget_decides()
    {
        var options = new EngineOptions { KvCacheMemory = 64L << 20 };
        long perBlock = ModelRunner.KvBytesPerBlock(Bard.Model.Config, options.BlockSize, Bard.Backend.ActivationDType);
        Assert.Equal((int)((64L << 20) / perBlock), KvCacheSizing.NumBlocks(Bard.Model, options));
        Assert.Equal(7, KvCacheSizing.NumBlocks(Bard.Model, options with { NumBlocks = 7, GpuMemoryUtilization = 0.9 }));
    }

    [Fact]
    public void Budget_is_the_allowed_share_minus_what_is_in_use()
    {
        const long gib = 1L << 30;
        // 80 GiB device, 20 GiB in use (weights + activations): 0.9 allows 72, so 52 remain for the KV cache.
        long budget = KvCacheSizing.BudgetBytes(new DeviceInfo("gpu", "x", 80 * gib, 60 * gib), 0.9);
        Assert.InRange(budget, 52 * gib - (1 << 20), 52 * gib + (1 << 20));
        // Already fuller than allowed: negative, and the sizing refuses instead of allocating nothing.
        Assert.True(KvCacheSizing.BudgetBytes(new DeviceInfo("gpu", "x", 80 * gib, 4 * gib), 0.9) < 0);
    }

    [Fact]
    public void Utilization_profiles_a_step_then_fills_the_allowed_share()
    {
        var options = new EngineOptions { GpuMemoryUtilization = 0.001, MaxNumBatchedTokens = 64, MaxNumSeqs = 8 };
        var lines = new List<string>();
        int blocks = KvCacheSizing.NumBlocks(Bard.Model, options, lines.Add);
        long perBlock = ModelRunner.KvBytesPerBlock(Bard.Model.Config, options.BlockSize, Bard.Backend.ActivationDType);
        long expected = KvCacheSizing.BudgetBytes(Bard.Backend.Info, 0.001) / perBlock;
        Assert.Equal(expected, blocks);
        Assert.Contains(lines, l => l.Contains("64-token profiling step") && l.Contains($"{blocks} blocks"));
    }

    [Fact]
    public void Out_of_range_utilization_is_rejected_by_name()
    {
        Assert.Contains("gpu_memory_utilization", new EngineOptions { GpuMemoryUtilization = 1.5 }.Validate());
        Assert.Contains("gpu_memory_utilization", new EngineOptions { GpuMemoryUtilization = 0 }.Validate());
        Assert.Null(new EngineOptions { GpuMemoryUtilization = 0.9 }.Validate());
    }
}
