using Modular.Abstractions;

namespace Modular.Conformance.Suites;

/// <summary>
/// Paged attention: prefill, decode, mixed batches, GQA ratios 1/3/8, sliding windows, block sizes 8/16/32 and
/// contexts near 2k (which on GPUs takes the split-K decode path). Every step's output is checked.
/// </summary>
public abstract class AttentionSuite(BackendFixture fixture) : SuiteBase(fixture)
{
    private void Check(string name, AttentionScenario sc) =>
        Verify($"Attention.{name}", sc.Describe(), sc.Run, sc.Reference());

    [Fact, Trait("tier", "required")]
    public void Prefill() => Check("prefill", new(Data, Act, 4, 4, 64, 16, 0, [5], [17], [33]));

    [Fact, Trait("tier", "required")]
    public void Decode() => Check("decode", new(Data, Act, 4, 2, 64, 16, 0, [40, 1, 1, 1], [100, 1, 1, 1], [7, 1, 1, 1]));

    [Fact, Trait("tier", "required")]
    public void MixedBatch() => Check("mixed", new(Data, Act, 4, 2, 64, 16, 0,
        [20, 20, 10, 1, 1], [60, 1, 1, 1, 1], [0, 0, 3, 1, 1], [1, 1, 1, 1, 1]));

    [Theory, Trait("tier", "required")]
    [InlineData(4, 4, 64)]
    [InlineData(6, 2, 64)]
    [InlineData(8, 1, 128)]
    [InlineData(4, 2, 256)]
    [InlineData(4, 2, 96)]
    [InlineData(4, 4, 32)]
    public void GqaRatio(int hq, int hk, int headDim) =>
        Check($"gqa{hq / hk}-d{headDim}", new(Data, Act, hq, hk, headDim, 16, 0, [37, 1, 1], [0, 12, 1], [5, 5, 5]));

    [Theory, Trait("tier", "required")]
    [InlineData(16, 16)]
    [InlineData(5, 8)]
    public void SlidingWindow(int window, int blockSize) =>
        Check($"window{window}", new(Data, Act, 4, 2, 64, blockSize, window, [25, 10, 1, 1], [40, 1, 1, 1], [3, 1, 1, 1]));

    [Theory, Trait("tier", "required")]
    [InlineData(8)]
    [InlineData(16)]
    [InlineData(32)]
    public void BlockSize(int blockSize) =>
        Check($"block{blockSize}", new(Data, Act, 4, 2, 64, blockSize, 0, [45, 1, 1], [9, 30, 1], [1, 1, 1]));

    [Fact, Trait("tier", "required")]
    public void LongContext() =>
        Check("long2k", new(Data, Act, 4, 1, 64, 16, 0, [1024, 976, 1, 1], [1500, 1, 1, 1]));

    [Fact, Trait("tier", "required")]
    public void DecodeBatchLongContext() =>
        Check("decode-batch-600", new(Data, Act, 8, 2, 128, 16, 0,
            [600, 1, 1], [550, 1, 1], [580, 1, 1], [610, 1, 1], [300, 1, 1], [620, 1, 1], [590, 1, 1], [500, 1, 1]));

    /// <summary>Prefill-shaped steps with head dim 128: GPU backends run their tensor-core prefill kernel here,
    /// including partial 64-row tiles, single-row sequences in the same step and a prefix already in the cache.</summary>
    [Fact, Trait("tier", "required")]
    public void PrefillHeadDim128() => Check("prefill-d128", new(Data, Act, 8, 2, 128, 16, 0, [200, 1], [77, 1], [130, 1], [1, 1]));

    /// <summary>Mixed steps whose short queries (1 to 15 rows, one decode row 1,200 keys deep) GPU backends serve with
    /// their decode kernel beside the prefill kernel's long ones.</summary>
    [Fact, Trait("tier", "required")]
    public void MixedShortAndLongQueriesHeadDim128() => Check("mixed-short-long-d128", new(Data, Act, 8, 2, 128, 16, 0,
        [1200, 1, 1], [0, 100, 1], [3, 15, 2], [0, 1, 40]));

    [Fact, Trait("tier", "required")]
    public void ChunkedPrefillWindowHeadDim128() => Check("chunked-window-d128", new(Data, Act, 4, 1, 128, 16, 40, [100, 150, 1], [70, 90, 1]));

    [Fact, Trait("tier", "optional")]
    public void CopyBlockKeepsContents() =>
        Check("copy-block", new(Data, Act, 4, 2, 64, 8, 0, [20, 1, 1], [9, 1, 1]) { CopyBlockBeforeLastStep = true });

    /// <summary>
    /// An FP8 e4m3 KV cache (vLLM's <c>--kv-cache-dtype fp8</c>): the oracle attends over K/V rounded as the backend
    /// stores them, so what is checked is the store, the widening back and the kernels reading the narrower rows.
    /// Mixed prefill/decode steps, GQA 4, head dims 64 and 128 (GPU prefill kernels), a context long enough for
    /// split-K decode, and one case with V scaled by 2^-8 so most of its codes are e4m3 subnormals (a widening that
    /// flushed them would be off by the whole output). Backends without FP8 caches skip.
    /// </summary>
    [Theory, Trait("tier", "optional")]
    [InlineData(64, 1f)]
    [InlineData(128, 1f)]
    [InlineData(128, 1f / 256)]
    public void Fp8KvCache(int headDim, float vScale)
    {
        try
        {
            Target.Attention.CreateCache(new KvCacheSpec(1, 1, 16, 2, headDim, DType.F8E4M3)).Dispose();
        }
        catch (NotSupportedException e)
        {
            Assert.Skip($"{Target.Name} has no FP8 KV cache for head dim {headDim}: {e.Message}");
        }
        Check($"fp8kv-d{headDim}{(vScale != 1f ? "-small-v" : "")}", new(Data, Act, 8, 2, headDim, 16, 0,
            [150, 1, 1], [70, 30, 1], [0, 300, 1], [5, 1, 1]) { KvDType = DType.F8E4M3, VScale = vScale });
    }
}
