using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Modular.Console.Tests;

/// <summary>
/// The console against the real server: a chat message streams into the page delta by delta, the dashboard's
/// counters move from the scraped /metrics, and a refused request shows the server's own error message.
/// </summary>
public sealed class ChatAndDashboardTests(ConsoleServers servers)
{
    // Records the assistant bubble's text length at every DOM change, so growth is seen as it happens rather than
    // sampled by polling from outside (which a fast CPU model could outrun).
    private const string WatchAssistant = """
        () => {
          window.__lengths = [];
          new MutationObserver(() => {
            const all = document.querySelectorAll('.msg.assistant .content');
            const c = all[all.length - 1];
            if (c) window.__lengths.push(c.textContent.length);
          }).observe(document.getElementById('log'), { subtree: true, childList: true, characterData: true });
        }
        """;

    [Fact]
    public async Task Chat_streams_deltas_and_dashboard_shows_the_counters_move()
    {
        await using var b = await Browser.OpenAsync(servers.OpenUri);
        var page = b.Page;
        await page.GotoAsync("/");
        await Expect(page.Locator("#model option")).ToHaveCountAsync(1);
        Assert.Equal(ConsoleServers.ModelName, await page.Locator("#model").InputValueAsync());

        // Ask for more tokens than the model tends to stop at, with a fixed seed so the run is repeatable.
        await page.Locator("#temperature").FillAsync("1");
        await page.Locator("#max-tokens").FillAsync("160");
        await page.Locator("#seed").FillAsync("7");
        await page.EvaluateAsync(WatchAssistant);
        var chatRequest = page.WaitForRequestAsync("**/v1/chat/completions");
        await page.Locator("#prompt").FillAsync("Tell me a story about a dragon.");
        await page.Locator("#send").ClickAsync();

        var sent = JsonNode.Parse((await chatRequest).PostData!)!;
        Assert.True(sent["stream"]!.GetValue<bool>());
        Assert.Equal(160, sent["max_tokens"]!.GetValue<int>());
        Assert.Equal(7, sent["seed"]!.GetValue<int>());
        Assert.Equal(1.0, sent["temperature"]!.GetValue<double>());
        Assert.Equal("user", sent["messages"]![0]!["role"]!.GetValue<string>());
        Assert.Null(sent["response_format"]); // schema box empty

        var answer = page.Locator(".msg.assistant").Last;
        await Expect(answer).ToHaveAttributeAsync("data-state", "done", new() { Timeout = 30_000 });
        string text = await answer.Locator(".content").InnerTextAsync();
        Assert.False(string.IsNullOrWhiteSpace(text), "the assistant answer is empty");
        var lengths = await page.EvaluateAsync<int[]>("() => window.__lengths");
        var distinct = lengths.Where(n => n > 0).Distinct().ToArray();
        Assert.True(distinct.Length >= 2, $"expected the answer to grow over at least two observations, saw lengths [{string.Join(",", lengths)}]");
        for (int i = 1; i < distinct.Length; i++) Assert.True(distinct[i] > distinct[i - 1], $"answer text shrank: [{string.Join(",", distinct)}]");
        int deltas = int.Parse(await answer.GetAttributeAsync("data-deltas") ?? "0");
        Assert.True(deltas >= 2, $"expected several content deltas, got {deltas}");
        await Expect(page.Locator("#chat-stats")).ToContainTextAsync("tokens");
        await b.ScreenshotAsync("chat");

        // A second turn carries the first one as history.
        chatRequest = page.WaitForRequestAsync("**/v1/chat/completions");
        await page.Locator("#max-tokens").FillAsync("8");
        await page.Locator("#prompt").FillAsync("And then?");
        await page.Locator("#prompt").PressAsync("Enter");
        var second = JsonNode.Parse((await chatRequest).PostData!)!;
        var roles = second["messages"]!.AsArray().Select(m => m!["role"]!.GetValue<string>()).ToArray();
        Assert.Equal(["user", "assistant", "user"], roles);
        Assert.Equal(text, second["messages"]![1]!["content"]!.GetValue<string>());
        await Expect(page.Locator(".msg.assistant").Last).ToHaveAttributeAsync("data-state", "done", new() { Timeout = 30_000 });

        // Dashboard: the scraped counters include what the page just generated.
        long serverTokens = await GenerationTokensAsync();
        Assert.True(serverTokens > 0, "the server's own /metrics shows no generation tokens");
        await page.Locator("#tab-dashboard").ClickAsync();
        await Expect(page.Locator("#view-dashboard")).ToBeVisibleAsync();
        await page.WaitForFunctionAsync("min => Number(document.getElementById('m-gen-total').textContent.replace(/,/g, '')) >= min",
            serverTokens, new() { Timeout = 10_000 });
        await Expect(page.Locator("#m-running")).ToHaveTextAsync("0");
        await Expect(page.Locator("#m-finished")).Not.ToHaveTextAsync("–");
        Assert.True(int.Parse(await page.Locator("#m-finished").InnerTextAsync()) >= 2);
        // TTFT row: five cells filled, at least two requests counted.
        await Expect(page.Locator("#lat-ttft td").Nth(4)).Not.ToHaveTextAsync("–");
        Assert.True(int.Parse(await page.Locator("#lat-ttft td").Nth(4).InnerTextAsync()) >= 2);
        Assert.Matches(@"^\d+(\.\d+)? (ms|s)$", await page.Locator("#lat-ttft td").Nth(0).InnerTextAsync());
        Assert.Matches(@"^\d+(\.\d+)? (ms|s)$", await page.Locator("#lat-itl td").Nth(1).InnerTextAsync());
        await Expect(page.Locator("#m-kv")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex(@"^\d+(\.\d)?%$"));
        // Charts need two scrapes for a line; KV usage is drawn from the first.
        await Expect(page.Locator("#chart-kv polyline")).ToHaveCountAsync(1, new() { Timeout = 5_000 });
        await Expect(page.Locator("#chart-requests polyline")).ToHaveCountAsync(2);
        await Expect(page.Locator("#server-status")).ToHaveAttributeAsync("data-state", "ok");

        // The tokens/s chart shows a rate when generation happens while the dashboard watches.
        using (var http = new HttpClient { BaseAddress = servers.OpenUri })
        {
            var gen = http.PostAsJsonAsync("v1/completions", new { model = ConsoleServers.ModelName, prompt = "Once upon a time", max_tokens = 100, ignore_eos = true, n = 4 });
            await page.WaitForFunctionAsync("() => Number(document.getElementById('m-tps').textContent) > 0", null, new() { Timeout = 15_000 });
            (await gen).EnsureSuccessStatusCode();
        }
        await page.WaitForTimeoutAsync(1200); // one more scrape so the chart has the rate segment
        await b.ScreenshotAsync("dashboard");
        b.AssertNoPageErrors();
    }

    [Fact]
    public async Task Refused_request_shows_the_servers_error_message_and_schema_goes_out_as_response_format()
    {
        await using var b = await Browser.OpenAsync(servers.OpenUri);
        var page = b.Page;
        await page.GotoAsync("/");
        await Expect(page.Locator("#model option")).ToHaveCountAsync(1);

        // The same refused request sent directly: the page must show the message from this body, not its own.
        using var http = new HttpClient { BaseAddress = servers.OpenUri };
        using var direct = await http.PostAsJsonAsync("v1/chat/completions", new
        {
            model = ConsoleServers.ModelName, stream = true, temperature = -3.0, max_tokens = 4,
            messages = new[] { new { role = "user", content = "hi" } },
        });
        Assert.Equal(400, (int)direct.StatusCode);
        string expected = JsonNode.Parse(await direct.Content.ReadAsStringAsync())!["error"]!["message"]!.GetValue<string>();

        await page.Locator("#temperature").FillAsync("-3");
        await page.Locator("#max-tokens").FillAsync("4");
        await page.Locator("#prompt").FillAsync("hi");
        await page.Locator("#send").ClickAsync();
        var failed = page.Locator(".msg.assistant").Last;
        await Expect(failed).ToHaveAttributeAsync("data-state", "error");
        await Expect(failed.Locator(".error-text")).ToContainTextAsync(expected);
        await Expect(page.Locator("#send")).ToBeEnabledAsync();

        // A schema that is not JSON is caught in the page, naming the field.
        await page.Locator("#temperature").FillAsync("0");
        await page.Locator("#schema").FillAsync("{\"type\": ");
        await Expect(page.Locator("#schema-error")).ToContainTextAsync("JSON schema");

        // A valid schema is sent as response_format json_schema with strict: true.
        const string schema = """{"title":"answer_v1","type":"object","properties":{"answer":{"type":"string"}},"required":["answer"]}""";
        await page.Locator("#schema").FillAsync(schema);
        await Expect(page.Locator("#schema-error")).ToBeHiddenAsync();
        var request = page.WaitForRequestAsync("**/v1/chat/completions");
        await page.Locator("#prompt").FillAsync("answer in JSON");
        await page.Locator("#send").ClickAsync();
        var body = JsonNode.Parse((await request).PostData!)!;
        var format = body["response_format"]!;
        Assert.Equal("json_schema", format["type"]!.GetValue<string>());
        Assert.Equal("answer_v1", format["json_schema"]!["name"]!.GetValue<string>());
        Assert.True(format["json_schema"]!["strict"]!.GetValue<bool>());
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(schema), format["json_schema"]!["schema"]));
        // Whatever the server makes of it (guided output or a refusal), the page settles.
        await Expect(page.Locator(".msg.assistant").Last).ToHaveAttributeAsync("data-state", new System.Text.RegularExpressions.Regex("^(done|error)$"), new() { Timeout = 30_000 });
        b.AssertNoPageErrors();
    }

    [Fact]
    public async Task Stop_aborts_the_stream_and_the_server_stops_generating()
    {
        await using var b = await Browser.OpenAsync(servers.OpenUri);
        var page = b.Page;
        await page.GotoAsync("/");
        await Expect(page.Locator("#model option")).ToHaveCountAsync(1);
        await page.Locator("#temperature").FillAsync("1");
        await page.Locator("#max-tokens").FillAsync("400"); // several seconds of generation on the CPU backend
        await page.Locator("#prompt").FillAsync("Speak at length.");
        await page.Locator("#send").ClickAsync();
        var answer = page.Locator(".msg.assistant").Last;
        await page.WaitForFunctionAsync("() => { const a = [...document.querySelectorAll('.msg.assistant')].pop(); return a && Number(a.dataset.deltas) >= 3; }");
        await page.Locator("#stop").ClickAsync();
        await Expect(answer).ToHaveAttributeAsync("data-state", "stopped");
        await Expect(page.Locator("#chat-stats")).ToContainTextAsync("finish: stopped");
        await Expect(page.Locator("#send")).ToBeEnabledAsync();
        Assert.NotEmpty((await answer.Locator(".content").InnerTextAsync()).Trim());

        // The abort reaches the server: it frees the request and the generation counter stops growing.
        long before = -1, after = -2;
        for (int attempt = 0; attempt < 20 && before != after; attempt++)
        {
            before = await GenerationTokensAsync();
            await Task.Delay(700);
            after = await GenerationTokensAsync();
        }
        Assert.True(before == after, $"the server kept generating after Stop: {before} -> {after} tokens");
        // Not asserted: modular:num_requests_running, which the engine refreshes only when it steps, so after an abort
        // on an idle engine it still reads 1 until the next request arrives.
        string stats = await page.Locator("#chat-stats").InnerTextAsync();
        int shown = int.Parse(stats[..stats.IndexOf(' ')]);
        Assert.True(shown < 400, $"the stopped answer claims {shown} tokens; it should have stopped well before 400");
        b.AssertNoPageErrors();
    }

    private async Task<long> GenerationTokensAsync()
    {
        using var http = new HttpClient { BaseAddress = servers.OpenUri };
        string text = await http.GetStringAsync("metrics");
        long total = 0;
        foreach (var line in text.Split('\n'))
            if (line.StartsWith("modular:generation_tokens", StringComparison.Ordinal))
                total += (long)double.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        return total;
    }
}
