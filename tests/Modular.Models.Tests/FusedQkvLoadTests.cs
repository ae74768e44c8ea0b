using Modular.Backends.Cpu;
using Modular.Models.Loading;
using Modular.Models.Verification;
using Modular.Testing;

namespace Modular.Models.Tests;

/// <summary>
/// q|k|v stacked into one linear at load (<see cref="LayerWeights.Qkv"/>, run through the CPU's SplitQkvRope) must
/// give the logits of the same checkpoint loaded as three projections. The loads pick the layout through the load
/// option, not MODULAR_FUSED_QKV, so parallel tests never see each other's environment.
/// </summary>
public class FusedQkvLoadTests(ITestOutputHelper output)
{
    /// <summary>float32 on both sides; only the GEMM's blocking may differ.</summary>
    private const double Tolerance = 1e-5;

    public static TheoryData<string> SharedModels => new()
    {
        "tiny-llama3-rope", "tiny-qwen2", "tiny-mistral-swa", "tiny-gemma", "tiny-mixtral-moe",
    };

    [Fact]
    public void BundledBard2mFusedMatchesSeparate() => Compare(Fixtures.BundledModel);

    [Theory]
    [MemberData(nameof(SharedModels))]
    public void SharedFixtureFusedMatchesSeparate(string name) => Compare(Fixtures.Shared("models", name));

    [Fact]
    public void QkNormModelLoadsSeparately()
    {
        var dir = Fixtures.Shared("models", "tiny-qwen3");
        using var backend = new CpuBackend();
        using var model = TransformerModel.Load(dir, backend, fuseQkv: true);
        Assert.True(model.Config.QkNorm);
        Assert.All(model.Layers, l => { Assert.Null(l.Qkv); Assert.NotNull(l.Q); });
        using var runner = ModelRunner.Create(model, 4, 16);
        Assert.False(runner.FusedQkv);
    }

    [Fact]
    public void FuseDecisionFollowsRequestBackendAndQkNorm()
    {
        using var backend = new CpuBackend();
        var llama = ModelConfig.Load(Fixtures.BundledModel);
        Assert.True(TransformerModel.FuseQkv(llama, backend, true));
        Assert.False(TransformerModel.FuseQkv(llama, backend, false));
        Assert.False(TransformerModel.FuseQkv(llama with { QkNorm = true }, backend, true));
    }

    [Fact]
    public void LinearsNameTheFusedProjectionOnce()
    {
        using var backend = new CpuBackend();
        using var model = TransformerModel.Load(Fixtures.BundledModel, backend, fuseQkv: true);
        var names = model.Layers[0].Linears.Select(p => p.Name).ToArray();
        Assert.Equal(["qkv", "o", "gate_up", "down"], names);
        var c = model.Config;
        Assert.Equal((c.NumHeads + 2 * c.NumKvHeads) * c.HeadDim, model.Layers[0].Qkv!.OutFeatures);
    }

    private void Compare(string dir)
    {
        using var backend = new CpuBackend();
        using var fused = TransformerModel.Load(dir, backend, fuseQkv: true);
        using var separate = TransformerModel.Load(dir, backend, fuseQkv: false);
        Assert.All(fused.Layers, l => { Assert.NotNull(l.Qkv); Assert.Null(l.Q); Assert.Null(l.K); Assert.Null(l.V); });
        Assert.All(separate.Layers, l => { Assert.Null(l.Qkv); Assert.NotNull(l.Q); Assert.NotNull(l.K); Assert.NotNull(l.V); });
        double max = MaxLogitDifference(fused, separate, Prompt(fused.Config.VocabSize));
        output.WriteLine($"{Path.GetFileName(dir)}: fused vs separate q|k|v max |dlogit| {max:E2}");
        Assert.True(max <= Tolerance, $"{Path.GetFileName(dir)}: fused q|k|v logits differ from separate ones by {max:E2}");
    }

    /// <summary>A prompt long enough to reach positions where the rotation matters (sliding windows included).</summary>
    internal static int[] Prompt(int vocab)
    {
        var ids = new int[40];
        for (int i = 0; i < ids.Length; i++) ids[i] = (i * 131 + 7) % vocab;
        return ids;
    }

    /// <summary>Every position's logits of a prefill followed by three decode steps, through two runners.</summary>
    internal static double MaxLogitDifference(TransformerModel a, TransformerModel b, int[] prompt)
    {
        using var ra = ModelRunner.Create(a, 8, 16);
        using var rb = ModelRunner.Create(b, 8, 16);
        Assert.Equal(a.Layers[0].Qkv is not null, ra.FusedQkv);
        Assert.Equal(b.Layers[0].Qkv is not null, rb.FusedQkv);
        var da = new SequenceDriver(ra);
        var db = new SequenceDriver(rb);
        double max = Max(da.Feed(prompt, allLogits: true), db.Feed(prompt, allLogits: true));
        for (int step = 0; step < 3; step++)
        {
            int[] next = [(prompt[step] + 11) % a.Config.VocabSize];
            max = Math.Max(max, Max(da.Feed(next, allLogits: true), db.Feed(next, allLogits: true)));
        }
        return max;
    }

    private static double Max(float[] x, float[] y)
    {
        Assert.Equal(x.Length, y.Length);
        double max = 0;
        for (int i = 0; i < x.Length; i++) max = Math.Max(max, Math.Abs(x[i] - y[i]));
        return max;
    }
}
