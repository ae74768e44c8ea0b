using Modular.Abstractions;
using Modular.Sampling;
using static Modular.Conformance.HostData;

namespace Modular.Conformance.Suites;

/// <summary>
/// <see cref="IDeviceSampler"/> against the host <see cref="Sampler"/>: the same logits, settings and uniform draw
/// must pick the same token. The host walks probabilities computed with its own exp and summation order, so a draw
/// that lands within rounding of a boundary between two tokens may legitimately differ; the suite asks for 97% of
/// rows identical, every id inside the vocabulary, and greedy rows exact.
/// </summary>
public abstract class DeviceSamplingSuite(BackendFixture fixture) : SuiteBase(fixture)
{
    /// <summary>A random stream that always returns one chosen number: the draw the device was given.</summary>
    private sealed class FixedDraw(double u) : Random
    {
        public override double NextDouble() => u;
    }

    [Theory, Trait("tier", "optional")]
    [InlineData(96, 32000)]
    [InlineData(40, 128256)]
    public void SampleMatchesHostSampler(int rows, int vocab)
    {
        var b = Target;
        Assert.SkipUnless(b.Kernels is IDeviceSampler, $"{b.Name} does not sample on the device");
        // Logits spread like a model's: most of the mass on a few hundred tokens, a long tail.
        var x = Data.Uniform((long)rows * vocab, 4f);
        var peaks = Data.Ints(rows * 8, vocab);
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < 8; j++) x[(long)r * vocab + peaks[r * 8 + j]] += 6f + j;
        // A tie at the top: the greedy row must take the lower id.
        x[0 * vocab + 11] = x[0 * vocab + 5] = 99f;
        var draws = Data.Uniform(rows, 0.5f);
        var settings = new DeviceSamplingRow[rows];
        for (int r = 0; r < rows; r++)
        {
            float u = draws[r] + 0.5f;
            settings[r] = (r % 6) switch
            {
                0 => new DeviceSamplingRow(0f, 0, 1f, 0f, u),          // greedy
                1 => new DeviceSamplingRow(1f, 0, 1f, 0f, u),          // plain temperature 1 over the whole vocabulary
                2 => new DeviceSamplingRow(0.7f, 0, 0.9f, 0f, u),      // top-p
                3 => new DeviceSamplingRow(1f, 50, 1f, 0f, u),         // top-k
                4 => new DeviceSamplingRow(1.3f, 0, 1f, 0.05f, u),     // min-p
                _ => new DeviceSamplingRow(0.8f, 40, 0.95f, 0.01f, u), // all three
            };
        }
        using var t = Put(b, x, DType.F32, rows, vocab);
        using var ids = b.Allocate(DType.I32, rows);
        ((IDeviceSampler)b.Kernels).Sample(t, settings, ids);
        var got = new int[rows];
        b.DownloadI32(ids, got);

        var sampler = new Sampler();
        var want = new SampledToken[rows];
        var inputs = new List<SamplingSequence>();
        for (int r = 0; r < rows; r++)
        {
            var s = settings[r];
            inputs.Add(new SamplingSequence
            {
                Params = new SamplingParams { Temperature = s.Temperature, TopK = s.TopK, TopP = s.TopP, MinP = s.MinP },
                PromptIds = [], OutputIds = [], Rng = new FixedDraw(s.Uniform),
            });
        }
        sampler.Sample(x, vocab, inputs, want);

        int same = 0;
        var differing = new List<string>();
        for (int r = 0; r < rows; r++)
        {
            Assert.InRange(got[r], 0, vocab - 1);
            if (settings[r].Temperature == 0f)
                Assert.True(got[r] == want[r].TokenId, $"{b.Name}: greedy row {r} chose {got[r]}, host {want[r].TokenId}");
            if (got[r] == want[r].TokenId) same++;
            else differing.Add($"row {r} ({settings[r]}): device {got[r]}, host {want[r].TokenId}");
        }
        Assert.True(same >= rows * 0.97, $"{b.Name}: {same}/{rows} rows match the host sampler; {string.Join("; ", differing.Take(5))}");
    }

    [Fact, Trait("tier", "optional")]
    public void RowWithoutFiniteLogitGivesMinusOne()
    {
        var b = Target;
        Assert.SkipUnless(b.Kernels is IDeviceSampler, $"{b.Name} does not sample on the device");
        const int vocab = 1000;
        var x = Data.Uniform(2L * vocab);
        for (int i = 0; i < vocab; i++) x[i] = float.NaN;
        using var t = Put(b, x, DType.F32, 2, vocab);
        using var ids = b.Allocate(DType.I32, 2);
        ((IDeviceSampler)b.Kernels).Sample(t, [new DeviceSamplingRow(1f, 0, 1f, 0f, 0.5f), new DeviceSamplingRow(1f, 0, 1f, 0f, 0.5f)], ids);
        var got = new int[2];
        b.DownloadI32(ids, got);
        Assert.Equal(-1, got[0]);
        Assert.InRange(got[1], 0, vocab - 1);
    }
}
