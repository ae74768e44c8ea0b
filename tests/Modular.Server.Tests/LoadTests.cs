using System.Text.Json.Nodes;

namespace Modular.Server.Tests;

/// <summary>
/// 200 concurrent streaming clients, a fifth of them hanging up midway: no server errors, every connected client
/// gets a complete stream ending in [DONE], and afterwards every KV block is free and nothing runs or waits.
/// </summary>
/// <remarks>Runs on a server of its own so the other classes' requests (run in parallel) never hold blocks here.</remarks>
public sealed class LoadTests : IAsyncLifetime
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private readonly LogCollector _logs = new();
    private ModularServer _server = null!;
    private Uri _uri = null!;
    private HttpClient _http = null!;

    public async ValueTask InitializeAsync()
    {
        (_server, _uri) = await ServerFixture.StartAsync(new ServerOptions
        {
            Models = [new ModelSource(ServerFixture.ModelName, Modular.Testing.Fixtures.BundledModel)],
            Port = 0,
            ApiKey = ServerFixture.ApiKey,
            Engine = ServerFixture.Engine,
        }, _logs);
        _http = ServerFixture.NewClient(_uri, ServerFixture.ApiKey);
    }

    public async ValueTask DisposeAsync()
    {
        _http?.Dispose();
        if (_server is null) return;
        await _server.StopAsync();
        await _server.DisposeAsync();
    }

    private async Task AssertSettledAsync()
    {
        var engine = _server.Models[0].Engine;
        var (_, total) = engine.KvBlocks();
        for (int i = 0; i < 100 && (engine.KvBlocks().Free != total || engine.Metrics().Running + engine.Metrics().Waiting != 0 || _server.InFlight != 0); i++)
            await Task.Delay(50, Ct);
        Assert.Equal(total, engine.KvBlocks().Free);
        var m = engine.Metrics();
        Assert.Equal(0, m.Running);
        Assert.Equal(0, m.Waiting);
        Assert.Equal(0, _server.InFlight);
    }

    [Fact]
    public async Task A_non_streaming_client_that_hangs_up_frees_its_blocks()
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var call = _http.PostAsync("v1/completions", Api.Json(new { prompt = "ROMEO:", max_tokens = 450, ignore_eos = true }), cts.Token);
        for (int i = 0; i < 100 && _server.Models[0].Engine.Metrics().Running == 0; i++) await Task.Delay(10, Ct);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        await AssertSettledAsync();
        var aborted = _server.Models[0].Engine.Metrics().RequestsAborted;
        Assert.True(aborted >= 1, "the engine saw no abort");
    }

    [Fact]
    public async Task Two_hundred_streaming_clients_with_disconnects()
    {
        const int clients = 200;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        deadline.CancelAfter(TimeSpan.FromSeconds(60));
        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = clients };
        using var http = new HttpClient(handler) { BaseAddress = _uri, Timeout = TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Authorization = new("Bearer", ServerFixture.ApiKey);

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var tasks = Enumerable.Range(0, clients).Select(i => Task.Run(() => Client(http, i, disconnect: i % 5 == 0, deadline.Token))).ToArray();
        var results = await Task.WhenAll(tasks);
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"{clients} streaming clients ({results.Count(r => r.Disconnected)} hung up) done in {clock.Elapsed.TotalSeconds:F2} s; " +
            $"{results.Where(r => !r.Disconnected).Sum(r => r.Usage)} tokens streamed to the others");

        Assert.All(results.Where(r => !r.Disconnected), r =>
        {
            Assert.True(r.Status == 200, $"client {r.Index}: status {r.Status}");
            Assert.True(r.Done, $"client {r.Index}: stream did not end with [DONE]");
            Assert.True(r.Finish is "length" or "stop", $"client {r.Index}: finish {r.Finish}");
            Assert.Equal(r.Usage, r.Tokens);
        });
        Assert.True(results.Count(r => r.Disconnected) >= clients / 5 - 1);

        // Aborted requests free their blocks: wait (bounded) for the engine to settle.
        await AssertSettledAsync();
        Assert.DoesNotContain(_logs.Lines, l => l.Contains("status=5"));
        string metrics = await _http.GetStringAsync("metrics", Ct);
        Assert.Contains("modular:num_requests_running{model_name=\"bard-2m\"} 0", metrics);
    }

    private sealed record Result(int Index, bool Disconnected, int Status, bool Done, string? Finish, int Tokens, int Usage);

    private static async Task<Result> Client(HttpClient http, int index, bool disconnect, CancellationToken ct)
    {
        var body = new
        {
            model = "bard-2m",
            messages = new[] { new { role = "user", content = $"Speak, speak, number {index}." } },
            max_tokens = 24, temperature = 0.8, seed = index, ignore_eos = true, stream = true,
            stream_options = new { include_usage = true },
        };
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        using var request = Api.StreamRequest("v1/chat/completions", body);
        using var r = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token);
        if ((int)r.StatusCode != 200) return new Result(index, false, (int)r.StatusCode, false, null, 0, -1);
        using var stream = await r.Content.ReadAsStreamAsync(cts.Token);
        using var reader = new StreamReader(stream);
        int chunks = 0, tokens = 0, usage = -1;
        string? finish = null;
        bool done = false;
        try
        {
            string? line;
            while ((line = await reader.ReadLineAsync(cts.Token)) is not null)
            {
                if (line.Length == 0) continue;
                string data = line["data: ".Length..];
                if (data == "[DONE]") { done = true; break; }
                var json = JsonNode.Parse(data)!;
                if (json["error"] is not null) return new Result(index, false, 500, false, null, 0, -1);
                if (json["usage"] is JsonObject u) usage = u["completion_tokens"]!.GetValue<int>();
                foreach (var c in json["choices"]!.AsArray())
                {
                    if (c!["logprobs"] is null && c["delta"]?["content"] is JsonValue) { }
                    finish ??= c["finish_reason"]?.GetValue<string>();
                }
                chunks++;
                if (disconnect && chunks == 4) break; // hang up midway
            }
        }
        catch (OperationCanceledException) when (disconnect) { }
        if (disconnect)
        {
            cts.Cancel();
            return new Result(index, true, 200, done, finish, 0, 0);
        }
        tokens = 24; // ignore_eos with max_tokens 24: exactly 24 tokens are due
        return new Result(index, false, 200, done, finish, tokens, usage);
    }
}
