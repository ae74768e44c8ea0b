using System.Text.Json;
using System.Text.Json.Nodes;
using Modular.Engine;
using Modular.Hosting;
using Modular.Server.Engine;
using Modular.Testing;

namespace Modular.Server.Tests;

/// <summary>A server whose plugins.json (written to a temp folder, like a deployment's) adds the guided plugin.</summary>
public sealed class GuidedServer : IAsyncLifetime
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private PluginRuntime? _runtime;
    private ModularServer? _server;
    private string _dir = "";

    public HttpClient Http { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        _dir = Directory.CreateTempSubdirectory("modular-guided-").FullName;
        string plugins = Path.Combine(_dir, "plugins.json");
        string Dll(string folder, string name) => Path.Combine(Fixtures.RepoRoot, "artifacts", "plugins", folder, name);
        File.WriteAllText(plugins, JsonSerializer.Serialize(new
        {
            backend = "cpu",
            plugins = new[]
            {
                new { name = "cpu", path = Dll("cpu", "Modular.Backends.Cpu.dll") },
                new { name = "guided", path = Dll("guided", "Modular.Plugins.Guided.dll") },
            },
        }));
        _runtime = PluginRuntime.Open(plugins, "cpu", new Abstractions.BackendOptions(Threads: 2));
        Assert.NotNull(_runtime.GuidedDecoder);
        var options = new ServerOptions
        {
            Models = [new ModelSource("bard-2m", Fixtures.BundledModel)],
            Port = 0,
            Engine = new EngineOptions { MaxModelLen = 512, NumBlocks = 256, MaxNumSeqs = 16 },
        };
        _server = ModularServer.Create(options, ModelLoader.Load(options.Models, _runtime, options.Engine), _ => { });
        await _server.StartAsync(Ct);
        var url = _server.Urls.First();
        Http = ServerFixture.NewClient(new Uri(url.EndsWith('/') ? url : url + "/"), null);
    }

    public async ValueTask DisposeAsync()
    {
        Http?.Dispose();
        if (_server is not null)
        {
            await _server.StopAsync();
            await _server.DisposeAsync();
        }
        _runtime?.Dispose();
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }
}

/// <summary>Structured output through the guided-decoding plugin.</summary>
public sealed class GuidedTests(GuidedServer server) : IClassFixture<GuidedServer>
{
    private HttpClient Http => server.Http;

    [Fact]
    public async Task Choice_regex_and_json_schema_constrain_the_output()
    {
        var choice = await Api.OkAsync(Http, "v1/chat/completions", new
        {
            messages = new[] { new { role = "user", content = "Who is there?" } },
            guided_choice = new[] { "ROMEO", "JULIET", "MERCUTIO" }, max_tokens = 10, temperature = 1.0, seed = 3,
        });
        Assert.Contains(choice["choices"]![0]!["message"]!["content"]!.GetValue<string>(), new[] { "ROMEO", "JULIET", "MERCUTIO" });

        var regex = await Api.OkAsync(Http, "v1/completions", new { prompt = "ROMEO:", structured_outputs = new { regex = "[0-9]{3}-[a-z]{2}" }, max_tokens = 12, temperature = 1.0, seed = 5 });
        Assert.Matches("^[0-9]{3}-[a-z]{2}$", regex["choices"]![0]!["text"]!.GetValue<string>());

        var schema = new { type = "object", properties = new { name = new { type = "string", maxLength = 8 }, age = new { type = "integer" } }, required = new[] { "name", "age" } };
        var json = await Api.OkAsync(Http, "v1/chat/completions", new
        {
            messages = new[] { new { role = "user", content = "Speak, speak." } },
            response_format = new { type = "json_schema", json_schema = new { name = "person", schema } },
            max_tokens = 60, temperature = 0.7, seed = 11,
        });
        var content = json["choices"]![0]!["message"]!["content"]!.GetValue<string>();
        if (json["choices"]![0]!["finish_reason"]!.GetValue<string>() == "stop")
        {
            var parsed = JsonNode.Parse(content)!;
            Assert.Equal(JsonValueKind.String, parsed["name"]!.GetValueKind());
            Assert.Equal(JsonValueKind.Number, parsed["age"]!.GetValueKind());
        }
        else Assert.StartsWith("{", content); // ran out of tokens inside a valid prefix
    }

    /// <summary>
    /// The hostile constraints of issue #9 over HTTP: each is answered quickly - a backtracking-bomb regex is served
    /// (matching is linear, so it is not hostile here), the others are refused with an OpenAI-shaped 400 naming the
    /// field - and the server then serves an ordinary guided request.
    /// </summary>
    [Fact]
    public async Task Hostile_constraints_are_answered_and_the_server_keeps_serving()
    {
        string Nested(int depth) => string.Concat(Enumerable.Repeat("{\"type\":\"array\",\"items\":", depth)) + "{\"type\":\"integer\"}" + new string('}', depth);
        var big = new JsonObject { ["type"] = "object", ["properties"] = new JsonObject() };
        for (int i = 0; big.ToJsonString().Length < 1 << 20; i++) big["properties"]!.AsObject()[$"p{i:D6}_{new string('x', 40)}"] = new JsonObject { ["type"] = "string" };
        var cases = new (string Name, object Body, int[] Statuses, string? Param)[]
        {
            ("backtracking bomb", new { prompt = "ROMEO:", guided_regex = "(a+)+b", max_tokens = 8 }, [200], null),
            ("empty choice", new { prompt = "ROMEO:", guided_choice = Array.Empty<string>(), max_tokens = 4 }, [400], "guided_choice"),
            ("self-referencing schema", new { prompt = "ROMEO:", guided_json = JsonNode.Parse("{\"$ref\":\"#\"}"), max_tokens = 4 }, [400], "guided_json"),
            ("schema nested 300 deep", "{\"prompt\":\"ROMEO:\",\"max_tokens\":4,\"guided_json\":" + Nested(300) + "}", [400], null),
            ("1 MB schema", new { prompt = "ROMEO:", guided_json = big, max_tokens = 4 }, [400, 413], null),
        };
        foreach (var (name, body, statuses, param) in cases)
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var (status, answer) = await Api.PostAsync(Http, "v1/completions", body);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"{name}: took {clock.Elapsed}");
            Assert.True(statuses.Contains(status), $"{name}: HTTP {status} {answer?.ToJsonString()}");
            if (status != 200) Api.AssertOpenAiError(answer, name);
            if (param is not null) Assert.Equal(param, answer!["error"]!["param"]!.GetValue<string>());
        }
        var (okStatus, ok) = await Api.PostAsync(Http, "v1/completions", new { prompt = "ROMEO:", guided_choice = new[] { "yes", "no" }, max_tokens = 4 });
        Assert.Equal(200, okStatus);
        Assert.Contains(ok!["choices"]![0]!["text"]!.GetValue<string>(), new[] { "yes", "no" });
    }

    [Fact]
    public async Task A_schema_that_does_not_compile_is_a_400_naming_the_field()
    {
        var (status, body) = await Api.PostAsync(Http, "v1/completions", new { prompt = "ROMEO:", guided_regex = "([a-z", max_tokens = 4 });
        Assert.Equal(400, status);
        Api.AssertOpenAiError(body, "bad regex");
        Assert.Equal("guided_regex", body!["error"]!["param"]!.GetValue<string>());
    }
}
