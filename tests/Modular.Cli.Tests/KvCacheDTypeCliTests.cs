using System.Text.Json;

namespace Modular.Cli.Tests;

/// <summary><c>--kv-cache-dtype</c>: fp8 runs end to end on the CPU and is recorded; unknown values fail at parse time.</summary>
public class KvCacheDTypeCliTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(4);

    [Fact]
    public async Task BenchLatencyWithFp8KvCacheRunsAndRecordsTheDtype()
    {
        var json = Path.GetTempFileName();
        var (code, stdout, stderr) = await CliRunner.RunAsync(Limit, "bench", "latency", "--backend", "cpu", "--input-len", "16", "--output-len", "8",
            "--num-iters", "1", "--num-iters-warmup", "0", "--kv-cache-dtype", "fp8", "--json", json);
        Assert.True(code == 0, stderr);
        Assert.Contains("kv-cache-dtype fp8", stdout);
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        Assert.Equal("fp8", doc.RootElement.GetProperty("settings").GetProperty("KvCacheDType").GetString());
        Assert.True(doc.RootElement.GetProperty("decode_tok_s").GetDouble() > 0);
    }

    [Fact]
    public async Task BenchThroughputWithFp8KvCacheRecordsTheDtype()
    {
        var json = Path.GetTempFileName();
        var (code, stdout, stderr) = await CliRunner.RunAsync(Limit, "bench", "throughput", "--backend", "cpu", "--num-prompts", "4",
            "--input-len", "16", "--output-len", "4", "--kv-cache-dtype", "fp8_e4m3", "--json", json);
        Assert.True(code == 0, stderr);
        Assert.Contains("4 requests", stdout);
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        Assert.Equal("fp8_e4m3", doc.RootElement.GetProperty("settings").GetProperty("kv_cache_dtype").GetString());
    }

    [Fact]
    public async Task UnknownKvCacheDtypeIsRefusedByName()
    {
        var (code, stdout, stderr) = await CliRunner.RunAsync(Limit, "bench", "latency", "--backend", "cpu", "--kv-cache-dtype", "int8");
        Assert.NotEqual(0, code);
        Assert.Contains("\"int8\"", stderr + stdout);
        Assert.Contains("fp8", stderr + stdout);
    }
}
