using Modular.Abstractions;

namespace Modular.Sampling.Tests;

public class SamplerTests
{
    private static readonly SamplingParams Greedy = new() { Temperature = 0 };

    [Fact]
    public void Greedy_IsArgmax_TiesToLowestId()
    {
        var sampler = new Sampler();
        var rng = new Random(7);
        for (int t = 0; t < 20; t++)
        {
            var row = TestRows.RandomLogits(rng, 1000);
            int expected = 0;
            for (int i = 1; i < row.Length; i++) if (row[i] > row[expected]) expected = i;
            Assert.Equal(expected, TestRows.SampleOne(sampler, row, TestRows.Sequence(Greedy)).TokenId);
        }
        Assert.Equal(1, TestRows.SampleOne(sampler, [1f, 3f, 3f, 2f], TestRows.Sequence(Greedy)).TokenId);
    }

    [Fact]
    public void Greedy_DoesNotConsumeTheRandomStream()
    {
        var rng = SeededRandom.ForRequest(5, 0);
        TestRows.SampleOne(new Sampler(), [1f, 2f, 3f], TestRows.Sequence(Greedy, rng: rng));
        Assert.Equal(SeededRandom.ForRequest(5, 0).NextDouble(), rng.NextDouble());
    }

    [Fact]
    public void DisallowedArgmax_IsNeverChosen_GreedyOrRandom()
    {
        var row = new float[130];
        row[70] = 50f; // the overwhelming argmax, but disallowed
        row[5] = 1f;
        row[129] = 0.5f;
        ulong[] mask = [1UL << 5, 0, 1UL << 1];
        var sampler = new Sampler();
        Assert.Equal(5, TestRows.SampleOne(sampler, row, TestRows.Sequence(Greedy, mask: mask)).TokenId);

        var seq = TestRows.Sequence(new SamplingParams { Temperature = 1.5f }, mask: mask, rng: SeededRandom.ForRequest(3, 0));
        var seen = new HashSet<int>();
        for (int i = 0; i < 500; i++) seen.Add(TestRows.SampleOne(sampler, row, seq).TokenId);
        Assert.Equal(new HashSet<int> { 5, 129 }, seen);
    }

    [Fact]
    public void MinTokens_SuppressesEosAndStopIds_UntilReached()
    {
        float[] row = [0f, 1f, 2f, 3f, 4f, 5f, 6f, 7f];
        var p = new SamplingParams { Temperature = 0, MinTokens = 3, StopTokenIds = [6] };
        var sampler = new Sampler();
        Assert.Equal(5, TestRows.SampleOne(sampler, row, TestRows.Sequence(p, output: [1, 2], eos: [7])).TokenId);
        Assert.Equal(7, TestRows.SampleOne(sampler, row, TestRows.Sequence(p, output: [1, 2, 3], eos: [7])).TokenId);

        // Random sampling must never produce them either.
        var seq = TestRows.Sequence(p with { Temperature = 1f }, output: [1], eos: [7], rng: SeededRandom.ForRequest(9, 0));
        for (int i = 0; i < 300; i++)
            Assert.DoesNotContain(TestRows.SampleOne(sampler, row, seq).TokenId, new[] { 6, 7 });
    }

    [Fact]
    public void CallerLogits_AreLeftUnchanged()
    {
        var row = TestRows.RandomLogits(new Random(1), 300);
        var copy = (float[])row.Clone();
        var results = new SampledToken[1];
        var p = new SamplingParams { Temperature = 0.8f, TopK = 20, TopP = 0.9f, RepetitionPenalty = 1.3f, LogitBias = new Dictionary<int, float> { [2] = 5 } };
        new Sampler().Sample(row, row.Length, [TestRows.Sequence(p, prompt: [1, 2, 3])], results);
        Assert.Equal(copy, row);
    }

    [Fact]
    public void EverythingMasked_ThrowsAClearError()
    {
        var sampler = new Sampler();
        var seq = TestRows.Sequence(new SamplingParams(), mask: [0UL]);
        var ex = Assert.Throws<InvalidOperationException>(() => TestRows.SampleOne(sampler, [1f, 2f], seq));
        Assert.Contains("mask", ex.Message);
        Assert.Throws<InvalidOperationException>(() => TestRows.SampleOne(sampler, [1f, 2f], TestRows.Sequence(Greedy, mask: [0UL])));
    }

    [Fact]
    public void WrongShapes_AreRejectedWithNames()
    {
        var sampler = new Sampler();
        var seqs = new[] { TestRows.Sequence(Greedy), TestRows.Sequence(Greedy) };
        var ex = Assert.Throws<ArgumentException>(() => sampler.Sample(new float[7], 4, seqs, new SampledToken[2]));
        Assert.Contains("logits", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => sampler.Sample(new float[8], 4, seqs, new SampledToken[1]));
        Assert.Contains("results", ex.Message);
    }

    [Fact]
    public void SteadyState_AllocatesOnlyResults()
    {
        const int vocab = 152_064;
        var rng = new Random(11);
        var logits = new float[4 * vocab];
        for (int r = 0; r < 4; r++) TestRows.RandomLogits(rng, vocab).CopyTo(logits, r * vocab);
        List<int> output = [1, 2, 3, 2];
        var seqs = new[]
        {
            TestRows.Sequence(Greedy, prompt: [5, 6], output: [.. output]),
            TestRows.Sequence(new SamplingParams { Temperature = 0.7f, TopP = 0.9f, RepetitionPenalty = 1.1f }, prompt: [5], output: [.. output]),
            TestRows.Sequence(new SamplingParams { TopK = 50, MinP = 0.05f, FrequencyPenalty = 0.5f }, output: [.. output]),
            TestRows.Sequence(new SamplingParams { Temperature = 1.2f }),
        };
        var results = new SampledToken[4];
        var sampler = new Sampler();
        sampler.Sample(logits, vocab, seqs, results); // warm-up sizes the scratch buffers
        long before = GC.GetAllocatedBytesForCurrentThread();
        sampler.Sample(logits, vocab, seqs, results);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 1024, $"a steady-state step allocated {allocated} bytes");
    }
}
