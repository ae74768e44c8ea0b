using Modular.Abstractions;
using Modular.Models;
using Modular.Models.Benchmarks;
using Modular.Testing;

namespace Modular.Rocm.Tests;

/// <summary>
/// bard-2m latency on the OpenCL device next to the CPU backend, printed for the record. It asserts only that a
/// whole benchmark completes (batched prefill and decode through the paged cache) - pocl on 2 shared cores says
/// nothing about a GPU's speed.
/// </summary>
public class ThroughputTests(RocmFixture fx, ITestOutputHelper output)
{
    [Fact]
    public void Bard2mBatchedLatencyRuns()
    {
        var settings = new LatencySettings(BatchSize: 4, InputLen: 32, OutputLen: 16, Warmup: 1, Iterations: 1);
        foreach (var backend in new IBackend[] { fx.OpenCL, fx.Cpu })
        {
            using var model = TransformerModel.Load(Fixtures.BundledModel, backend, maxPositions: 256);
            var r = LatencyBench.Run(model, settings);
            output.WriteLine($"{backend.Info.Name}: prefill {r.PrefillTokensPerSecond:F0} tok/s, decode {r.DecodeTokensPerSecond:F0} tok/s (batch 4, 32 in, 16 out)");
            Assert.True(r.DecodeTokensPerSecond > 0);
        }
    }
}
