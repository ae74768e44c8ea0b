using Modular.Abstractions;

namespace Modular.Sampling.Tests;

public class LogitsProcessorTests
{
    private static readonly float[] Row = [2.0f, -1.0f, 0.5f, 3.0f, 0.0f];

    [Fact]
    public void LogitBias_AddsToNamedTokens()
    {
        var row = (float[])Row.Clone();
        LogitsProcessor.ApplyLogitBias(row, new Dictionary<int, float> { [1] = 2.5f, [4] = -3f });
        Assert.Equal([2.0f, 1.5f, 0.5f, 3.0f, -3.0f], row);
    }

    [Fact]
    public void RepetitionPenalty_DividesPositiveMultipliesNegative_OncePerToken()
    {
        var row = (float[])Row.Clone();
        // Token 0 appears in both prompt and output and twice in the prompt: penalized once only.
        new LogitsProcessor().ApplyRepetitionPenalty(row, [0, 1, 0], [3, 3, 2, 0], 2f);
        Assert.Equal([1.0f, -2.0f, 0.25f, 1.5f, 0.0f], row);
    }

    [Fact]
    public void FrequencyAndPresence_UseOutputCounts()
    {
        var row = (float[])Row.Clone();
        var proc = new LogitsProcessor();
        proc.ApplyFrequencyPresencePenalties(row, [3, 3, 2, 3], 0.5f, 0.25f);
        // token 3: 3 - 0.5*3 - 0.25 = 1.25; token 2: 0.5 - 0.5 - 0.25 = -0.25
        Assert.Equal([2.0f, -1.0f, -0.25f, 1.25f, 0.0f], row);
        // Counts must not leak into the next row.
        var again = (float[])Row.Clone();
        proc.ApplyFrequencyPresencePenalties(again, [1], 1f, 0f);
        Assert.Equal([2.0f, -2.0f, 0.5f, 3.0f, 0.0f], again);
    }

    [Fact]
    public void FullPipeline_MatchesHandComputation_AndDrivesGreedy()
    {
        var p = new SamplingParams
        {
            Temperature = 0, LogitBias = new Dictionary<int, float> { [4] = 1.5f },
            RepetitionPenalty = 2f, FrequencyPenalty = 0.5f, PresencePenalty = 0.3f,
        };
        var seq = TestRows.Sequence(p, prompt: [0, 1], output: [3, 3, 2]);
        var row = (float[])Row.Clone();
        new LogitsProcessor().Apply(row, seq);
        // bias: t4 = 1.5. repetition (÷2 / ×2 over {0,1,2,3}): [1, -2, 0.25, 1.5, 1.5].
        // frequency/presence over output {3: 2, 2: 1}: t3: 1.5 - 1.0 - 0.3 = 0.2; t2: 0.25 - 0.5 - 0.3 = -0.55.
        float[] expected = [1f, -2f, -0.55f, 0.2f, 1.5f];
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], row[i], tolerance: 1e-5);

        var sampler = new Sampler();
        Assert.Equal(4, TestRows.SampleOne(sampler, Row, seq).TokenId);
        var noBias = TestRows.Sequence(p with { LogitBias = null }, prompt: [0, 1], output: [3, 3, 2]);
        // Without the bias token 4 stays 0, so the penalized token 0 (now 1.0) beats the penalized raw argmax 3 (0.2).
        Assert.Equal(0, TestRows.SampleOne(sampler, Row, noBias).TokenId);
        // With no penalties the raw argmax (token 3) is chosen.
        Assert.Equal(3, TestRows.SampleOne(sampler, Row, TestRows.Sequence(new SamplingParams { Temperature = 0 })).TokenId);
    }

    [Fact]
    public void AllowedMask_BansClearedBits_AcrossWords()
    {
        var row = new float[130];
        ulong[] mask = [1UL << 5, 0, 1UL << 1]; // allows 5 and 129 (word 2, bit 1)
        LogitsProcessor.ApplyAllowedMask(row, mask);
        for (int i = 0; i < row.Length; i++)
            Assert.Equal(i is 5 or 129 ? 0f : float.NegativeInfinity, row[i]);
    }

    [Fact]
    public void AllowedMask_TooShort_ThrowsNamingTheField()
    {
        var ex = Assert.Throws<ArgumentException>(() => LogitsProcessor.ApplyAllowedMask(new float[130], [ulong.MaxValue, ulong.MaxValue]));
        Assert.Contains("AllowedMask", ex.Message);
    }

    [Fact]
    public void OutOfRangeOutputId_ThrowsNamingTheField_AndLeavesNoStaleCounts()
    {
        var proc = new LogitsProcessor();
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => proc.ApplyFrequencyPresencePenalties(new float[5], [1, 9], 1f, 0f));
        Assert.Contains("OutputIds", ex.Message);
        var row = new float[5];
        proc.ApplyFrequencyPresencePenalties(row, [2], 1f, 0f);
        Assert.Equal([0f, 0f, -1f, 0f, 0f], row);
    }
}
