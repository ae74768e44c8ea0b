using Modular.Abstractions;
using Modular.Models;
using Modular.Models.Verification;

namespace Modular.Engine;

/// <summary>
/// How many KV blocks an engine gets. On a GPU, vLLM's rule: after the weights are loaded, run one profiling step
/// of the largest batch the scheduler can form, so every activation buffer reaches its peak size, then give the KV
/// cache what is left under <c>gpu_memory_utilization x total memory</c>. Elsewhere (or when the option is unset),
/// a fixed byte budget (<see cref="EngineOptions.KvCacheMemory"/>) or an exact block count.
/// </summary>
public static class KvCacheSizing
{
    /// <summary>Blocks for an engine over <paramref name="model"/>; <paramref name="log"/> receives the arithmetic.</summary>
    public static int NumBlocks(TransformerModel model, EngineOptions options, Action<string>? log = null)
    {
        if (options.NumBlocks is int exact) return exact;
        if (options.GpuMemoryUtilization is not double utilization)
        {
            int fixedBlocks = FixedBudgetBlocks(model, options);
            log?.Invoke($"KV cache sizing: kv_cache_memory {options.KvCacheMemory / (double)(1 << 20):F0} MiB = {fixedBlocks} blocks of {options.BlockSize} tokens "
                + $"(kv_cache_dtype {KvCacheDTypes.Describe(KvCacheDTypes.Resolve(options.KvCacheDType, model.Backend))})");
            return fixedBlocks;
        }

        var backend = model.Backend;
        int maxModelLen = options.MaxModelLen ?? model.Config.MaxPositionEmbeddings;
        int profileTokens = Math.Max(1, Math.Min(options.MaxNumBatchedTokens, maxModelLen));
        ProfilePeak(model, options, profileTokens);
        var info = backend.Info;
        var kvDType = KvCacheDTypes.Resolve(options.KvCacheDType, backend);
        long perBlock = ModelRunner.KvBytesPerBlock(model.Config, options.BlockSize, kvDType);
        long budget = BudgetBytes(info, utilization);
        long blocks = budget / perBlock;
        log?.Invoke($"KV cache sizing on {info.Name}: total {Gib(info.TotalMemory)}, free after weights and a {profileTokens}-token profiling step {Gib(info.FreeMemory)}, "
            + $"gpu_memory_utilization {utilization:0.##} leaves {Gib(Math.Max(0, budget))} = {Math.Max(0, blocks)} blocks of {options.BlockSize} tokens ({perBlock / (double)(1 << 20):F2} MiB each, kv_cache_dtype {KvCacheDTypes.Describe(kvDType)})");
        if (blocks < 1)
            throw new InvalidOperationException(
                $"gpu_memory_utilization {utilization:0.##}: no memory is left for the KV cache ({Gib(info.FreeMemory)} free of {Gib(info.TotalMemory)} after loading the weights "
                + $"and profiling a {profileTokens}-token step); raise --gpu-memory-utilization, lower --max-num-batched-tokens, or use a smaller model");
        return (int)Math.Min(blocks, int.MaxValue / options.BlockSize);
    }

    /// <summary>
    /// Bytes the KV cache may take: the allowed share of the device minus everything already in use (weights, the
    /// profiled activation peak, other processes). Negative when the device is already fuller than allowed.
    /// </summary>
    public static long BudgetBytes(DeviceInfo info, double utilization) =>
        (long)(utilization * info.TotalMemory) - (info.TotalMemory - info.FreeMemory);

    /// <summary>
    /// Runs one prefill of <paramref name="tokens"/> tokens with as many logit rows as a step can ask for, through
    /// a throw-away runner with just enough KV blocks (<see cref="SequenceDriver"/> lays out the step); the backend keeps its grown scratch buffers, so the free memory
    /// read afterwards already excludes the activation peak.
    /// </summary>
    private static void ProfilePeak(TransformerModel model, EngineOptions options, int tokens)
    {
        using var runner = ModelRunner.Create(model, (tokens + options.BlockSize - 1) / options.BlockSize, options.BlockSize,
            KvCacheDTypes.Resolve(options.KvCacheDType, model.Backend));
        new SequenceDriver(runner).Feed(new int[tokens], Math.Min(options.MaxNumSeqs, tokens));
        model.Backend.Synchronize();
    }

    /// <summary>Blocks that fit in <see cref="EngineOptions.KvCacheMemory"/> for this model (the fixed budget).</summary>
    public static int FixedBudgetBlocks(TransformerModel model, EngineOptions options)
    {
        var kvDType = KvCacheDTypes.Resolve(options.KvCacheDType, model.Backend);
        long perBlock = ModelRunner.KvBytesPerBlock(model.Config, options.BlockSize, kvDType);
        long blocks = options.KvCacheMemory / perBlock;
        if (blocks < 1)
            throw new ArgumentException($"kv_cache_memory: {options.KvCacheMemory} bytes hold no KV block; one {KvCacheDTypes.Describe(kvDType)} block of {options.BlockSize} tokens takes {perBlock} bytes for this model");
        return (int)Math.Min(blocks, int.MaxValue / options.BlockSize);
    }

    private static string Gib(long bytes) => $"{bytes / (double)(1L << 30):F2} GiB";
}
