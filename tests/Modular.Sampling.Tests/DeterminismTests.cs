using Modular.Abstractions;

namespace Modular.Sampling.Tests;

public class DeterminismTests
{
    private const int Vocab = 2000;
    private const int Steps = 40;

    private static readonly SamplingParams Target = new() { Temperature = 0.9f, TopP = 0.95f, TopK = 100, Seed = 42 };

    private static float[][] StepLogits(int seed)
    {
        var rng = new Random(seed);
        var rows = new float[Steps][];
        for (int s = 0; s < Steps; s++) rows[s] = TestRows.RandomLogits(rng, Vocab);
        return rows;
    }

    private static int[] RunAlone(float[][] steps)
    {
        var sampler = new Sampler();
        var seq = TestRows.Sequence(Target, rng: SeededRandom.ForRequest(42, 0));
        var tokens = new int[Steps];
        for (int s = 0; s < Steps; s++) tokens[s] = TestRows.SampleOne(sampler, steps[s], seq).TokenId;
        return tokens;
    }

    [Fact]
    public void SameSeed_SameTokens_AloneOrInsideABatch()
    {
        var steps = StepLogits(1);
        var alone = RunAlone(steps);

        var sampler = new Sampler();
        var others = new Random(2);
        var target = TestRows.Sequence(Target, rng: SeededRandom.ForRequest(42, 0));
        var tokens = new int[Steps];
        for (int s = 0; s < Steps; s++)
        {
            // The batch changes every step: other rows, other params, and the target's position moves.
            var seqs = new List<SamplingSequence>
            {
                TestRows.Sequence(new SamplingParams { Temperature = 1.3f, MinP = 0.1f }, rng: SeededRandom.ForRequest(null, 0)),
                TestRows.Sequence(new SamplingParams { Temperature = 0 }),
                TestRows.Sequence(new SamplingParams { TopK = 5, FrequencyPenalty = 1 }, output: [1, 2], rng: SeededRandom.ForRequest(7, 1)),
            };
            int position = s % (seqs.Count + 1);
            seqs.Insert(position, target);
            var logits = new float[seqs.Count * Vocab];
            for (int r = 0; r < seqs.Count; r++)
                (r == position ? steps[s] : TestRows.RandomLogits(others, Vocab)).CopyTo(logits, r * Vocab);
            var results = new SampledToken[seqs.Count];
            sampler.Sample(logits, Vocab, seqs, results);
            tokens[s] = results[position].TokenId;
        }
        Assert.Equal(alone, tokens);
    }

    [Fact]
    public void OtherSeedOrSampleIndex_GivesOtherTokens()
    {
        var steps = StepLogits(3);
        var a = RunAlone(steps);
        var sampler = new Sampler();
        var seq = TestRows.Sequence(Target, rng: SeededRandom.ForRequest(42, 1));
        int differ = 0;
        for (int s = 0; s < Steps; s++)
            if (TestRows.SampleOne(sampler, steps[s], seq).TokenId != a[s]) differ++;
        Assert.True(differ > Steps / 4, $"sample index 1 matched sample index 0 on {Steps - differ} of {Steps} steps");
    }
}
