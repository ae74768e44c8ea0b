using Modular.Abstractions;

namespace Modular.Sampling.Tests;

public class LogprobsTests
{
    private static double[] DirectLogSoftmax(float[] row)
    {
        double max = row.Max();
        double lse = max + Math.Log(row.Sum(x => Math.Exp(x - max)));
        return row.Select(x => x - lse).ToArray();
    }

    [Fact]
    public void LogSoftmax_MatchesDirectComputation_InPlaceToo()
    {
        var row = TestRows.RandomLogits(new Random(4), 5000, scale: 8);
        var expected = DirectLogSoftmax(row);
        var output = new float[row.Length];
        Logprobs.LogSoftmax(row, output);
        for (int i = 0; i < row.Length; i++) Assert.Equal(expected[i], output[i], tolerance: 1e-4);
        Logprobs.LogSoftmax(row, row);
        Assert.Equal(output, row);
    }

    [Fact]
    public void LogSumExp_IsStableForLargeLogits()
    {
        Assert.Equal(1000 + Math.Log(2), Logprobs.LogSumExp([1000f, 1000f]), tolerance: 1e-3);
        Assert.Equal(-1000 + Math.Log(3), Logprobs.LogSumExp([-1000f, -1000f, -1000f]), tolerance: 1e-3);
        Assert.Equal(0f, Logprobs.LogProbOf([float.NegativeInfinity, 5f], 1));
    }

    [Fact]
    public void RankAndTop()
    {
        float[] row = [1f, 3f, 2f, 3f, 0f];
        Assert.Equal(1, Logprobs.RankOf(row, 1));
        Assert.Equal(1, Logprobs.RankOf(row, 3));
        Assert.Equal(3, Logprobs.RankOf(row, 2));
        var ids = new int[3];
        var lps = new float[3];
        Assert.Equal(3, Logprobs.TopLogprobs(row, 3, ids, lps));
        Assert.Equal([1, 3, 2], ids);
        var direct = DirectLogSoftmax(row);
        for (int i = 0; i < 3; i++) Assert.Equal(direct[ids[i]], lps[i], tolerance: 1e-5);
    }

    [Fact]
    public void SampledLogprobs_AreOfTheRawRow_WithTopN()
    {
        var sampler = new Sampler();
        var rng = new Random(12);
        var p = new SamplingParams
        {
            Temperature = 0.6f, TopK = 30, RepetitionPenalty = 1.5f, PresencePenalty = 1f,
            LogitBias = new Dictionary<int, float> { [10] = 30f }, Logprobs = 5,
        };
        for (int t = 0; t < 10; t++)
        {
            var row = TestRows.RandomLogits(rng, 1000);
            var direct = DirectLogSoftmax(row);
            var result = TestRows.SampleOne(sampler, row, TestRows.Sequence(p, prompt: [1, 2, 3], output: [4, 5]));
            // The bias makes token 10 all but certain; its reported logprob is still the model's own.
            Assert.Equal(10, result.TokenId);
            Assert.Equal(direct[result.TokenId], result.Logprob, tolerance: 1e-4);

            var expectedTop = Enumerable.Range(0, row.Length).OrderByDescending(i => direct[i]).ThenBy(i => i).Take(5).ToArray();
            Assert.NotNull(result.Top);
            Assert.Equal(expectedTop, result.Top!.Select(x => x.TokenId).ToArray());
            foreach (var (id, lp) in result.Top) Assert.Equal(direct[id], lp, tolerance: 1e-4);
        }
    }

    [Fact]
    public void TopIsNullWhenNotAsked_EmptyForZero()
    {
        var sampler = new Sampler();
        float[] row = [0.5f, 0.1f, 2f];
        Assert.Null(TestRows.SampleOne(sampler, row, TestRows.Sequence(new SamplingParams())).Top);
        var zero = TestRows.SampleOne(sampler, row, TestRows.Sequence(new SamplingParams { Logprobs = 0, Temperature = 0 }));
        Assert.Empty(zero.Top!);
        Assert.Equal(DirectLogSoftmax(row)[2], zero.Logprob, tolerance: 1e-5);
        // More alternatives than the vocabulary: all of it, most likely first.
        var all = TestRows.SampleOne(sampler, row, TestRows.Sequence(new SamplingParams { Logprobs = 20 }));
        Assert.Equal([2, 0, 1], all.Top!.Select(x => x.TokenId).ToArray());
    }
}
