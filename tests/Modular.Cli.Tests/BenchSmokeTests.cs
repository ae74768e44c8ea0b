using System.Diagnostics;
using System.Text.Json;

namespace Modular.Cli.Tests;

/// <summary>The three bench commands run on the CPU with small settings and print their figures.</summary>
public class BenchSmokeTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(4);

    [Fact]
    public async Task BenchLatencyPrintsRatesAndWritesJson()
    {
        var json = Path.GetTempFileName();
        var (code, stdout, stderr) = await CliRunner.RunAsync(Limit, "bench", "latency", "--backend", "cpu", "--input-len", "16", "--output-len", "8",
            "--num-iters", "2", "--num-iters-warmup", "1", "--json", json);
        Assert.True(code == 0, stderr);
        Assert.Contains("decode:", stdout);
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        Assert.True(doc.RootElement.GetProperty("decode_tok_s").GetDouble() > 0);
        Assert.Equal(2, doc.RootElement.GetProperty("iterations").GetArrayLength());
    }

    [Fact]
    public async Task BenchLatencyDummyWeightsOfANamedShape()
    {
        var (code, stdout, stderr) = await CliRunner.RunAsync(Limit, "bench", "latency", "--backend", "cpu", "--load-format", "dummy",
            "--model-config", "qwen2.5-0.5b", "--input-len", "8", "--output-len", "2", "--num-iters", "1", "--num-iters-warmup", "0");
        Assert.True(code == 0, stderr);
        Assert.Contains("qwen2.5-0.5b (dummy weights)", stdout);
    }

    [Fact]
    public async Task BenchThroughputReportsTokensPerSecond()
    {
        var (code, stdout, stderr) = await CliRunner.RunAsync(Limit, "bench", "throughput", "--backend", "cpu", "--num-prompts", "8",
            "--input-len", "16", "--output-len", "8");
        Assert.True(code == 0, stderr);
        Assert.Contains("output tokens/s", stdout);
        Assert.Contains("8 requests, 128 prompt + 64 output tokens", stdout);
    }

    [Fact]
    public async Task BenchServeDrivesARealServer()
    {
        int port = CliRunner.FreePort();
        using var server = await StartServerAsync("serve", "--backend", "cpu", "--port", port.ToString());
        try
        {
            var json = Path.GetTempFileName();
            var (code, stdout, stderr) = await CliRunner.RunAsync(Limit, "bench", "serve", "--base-url", $"http://127.0.0.1:{port}",
                "--num-prompts", "12", "--request-rate", "20", "--input-len", "16", "--output-len", "8", "--slo-ttft-ms", "5000", "--json", json);
            Assert.True(code == 0, stderr + stdout);
            Assert.Contains("TTFT", stdout);
            using var doc = JsonDocument.Parse(File.ReadAllText(json));
            var result = doc.RootElement.GetProperty("result");
            Assert.Equal(12, result.GetProperty("completed").GetInt32());
            Assert.Equal(0, result.GetProperty("failed").GetInt32());
            Assert.True(result.GetProperty("output_throughput").GetDouble() > 0);
        }
        finally { server.Kill(true); }
    }

    /// <summary>
    /// <c>serve --load-format dummy</c> (how W3 runs on a GPU without a checkpoint): the shape comes from a config.json,
    /// the tokenizer from its own folder, and the server answers real completions.
    /// </summary>
    [Fact]
    public async Task ServeWithDummyWeightsAnswersCompletions()
    {
        string? bard = null;
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "models", "bard-2m", "config.json"))) { bard = Path.Combine(d.FullName, "models", "bard-2m"); break; }
        Assert.NotNull(bard);
        int port = CliRunner.FreePort();
        using var server = await StartServerAsync("serve", "--backend", "cpu", "--port", port.ToString(), "--load-format", "dummy",
            "--model-config", Path.Combine(bard, "config.json"), "--tokenizer", bard);
        try
        {
            using var http = new HttpClient();
            var models = await http.GetStringAsync($"http://127.0.0.1:{port}/v1/models", TestContext.Current.CancellationToken);
            Assert.Contains("\"bard-2m\"", models);
            var (code, stdout, stderr) = await CliRunner.RunAsync(Limit, "bench", "serve", "--base-url", $"http://127.0.0.1:{port}", "--model", "bard-2m",
                "--num-prompts", "6", "--request-rate", "inf", "--input-len", "12", "--output-len", "6");
            Assert.True(code == 0, stderr + stdout);
            Assert.Contains("requests: 6 ok, 0 failed", stdout);
        }
        finally { server.Kill(true); }
    }

    private static async Task<Process> StartServerAsync(params string[] args)
    {
        var server = Process.Start(CliRunner.Start(args))!;
        var errors = server.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        _ = server.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        using var http = new HttpClient();
        var deadline = DateTime.UtcNow.AddMinutes(2);
        int port = int.Parse(args[Array.IndexOf(args, "--port") + 1]);
        while (true)
        {
            try { if ((await http.GetAsync($"http://127.0.0.1:{port}/health", TestContext.Current.CancellationToken)).IsSuccessStatusCode) return server; }
            catch (HttpRequestException) { }
            if (server.HasExited) Assert.Fail("server exited: " + await errors);
            if (DateTime.UtcNow > deadline) { server.Kill(true); Assert.Fail("server did not become healthy"); }
            await Task.Delay(250, TestContext.Current.CancellationToken);
        }
    }
}
