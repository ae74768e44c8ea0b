namespace Modular.Engine;

/// <summary>Engine settings, with vLLM's names and defaults where it has them.</summary>
public sealed record EngineOptions
{
    /// <summary>Token slots per KV block.</summary>
    public int BlockSize { get; init; } = 16;
    /// <summary>Bytes of KV cache to allocate (CPU: host memory); the pool gets as many blocks as fit.</summary>
    public long KvCacheMemory { get; init; } = 512L << 20;
    /// <summary>
    /// Fraction of the device's memory this engine may fill (weights, activations and KV cache together); when set,
    /// the KV cache takes what is left after a profiling step instead of <see cref="KvCacheMemory"/> (vLLM's
    /// <c>--gpu-memory-utilization</c>; see <see cref="KvCacheSizing"/>).
    /// </summary>
    public double? GpuMemoryUtilization { get; init; }
    /// <summary>
    /// Element type of the KV cache (vLLM's <c>--kv-cache-dtype</c>): "auto" (the backend's activation dtype) or
    /// "fp8" / "fp8_e4m3" (FP8 e4m3fn, scale 1.0, saturating at ±448; a quarter of F32's bytes, half of BF16's,
    /// so about 4x / 2x the blocks for the same budget). See <see cref="Modular.Models.KvCacheDTypes"/>.
    /// </summary>
    public string KvCacheDType { get; init; } = Modular.Models.KvCacheDTypes.Auto;
    /// <summary>Exact number of KV blocks, overriding <see cref="KvCacheMemory"/> (tests, benchmarks).</summary>
    public int? NumBlocks { get; init; }
    /// <summary>Token budget of one step (prefill chunks plus decodes).</summary>
    public int MaxNumBatchedTokens { get; init; } = 2048;
    /// <summary>Most sequences running at once.</summary>
    public int MaxNumSeqs { get; init; } = 256;
    /// <summary>Longest sequence (prompt + output); null means the model's max_position_embeddings.</summary>
    public int? MaxModelLen { get; init; }
    /// <summary>Scheduling policy name: "fcfs" or "priority".</summary>
    public string Policy { get; init; } = "fcfs";
    /// <summary>Automatic prefix caching.</summary>
    public bool EnablePrefixCaching { get; init; } = true;

    /// <summary>Returns the first invalid setting and why, or null.</summary>
    public string? Validate()
    {
        if (BlockSize < 1 || BlockSize > 1024) return $"block_size: must be in [1, 1024], got {BlockSize}";
        if (NumBlocks is int nb && nb < 1) return $"num_blocks: must be at least 1, got {nb}";
        if (NumBlocks is null && KvCacheMemory < 1) return $"kv_cache_memory: must be positive, got {KvCacheMemory}";
        if (!Modular.Models.KvCacheDTypes.IsKnown(KvCacheDType)) return "kv_cache_dtype: " + Modular.Models.KvCacheDTypes.Unknown(KvCacheDType);
        if (GpuMemoryUtilization is double u && !(u > 0 && u <= 1)) return $"gpu_memory_utilization: must be in (0, 1], got {u}";
        if (MaxNumBatchedTokens < 1) return $"max_num_batched_tokens: must be at least 1, got {MaxNumBatchedTokens}";
        if (MaxNumSeqs < 1) return $"max_num_seqs: must be at least 1, got {MaxNumSeqs}";
        if (MaxModelLen is int m && m < 1) return $"max_model_len: must be at least 1, got {m}";
        if (!SchedulerPolicies.Names.Contains(Policy.ToLowerInvariant())) return $"policy: \"{Policy}\" is unknown; use one of: {string.Join(", ", SchedulerPolicies.Names)}";
        return null;
    }
}
