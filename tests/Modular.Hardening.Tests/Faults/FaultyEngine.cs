using System.Text.Json.Nodes;
using Modular.Abstractions;
using Modular.Engine;
using Modular.Hardening.Tests.Http;
using Modular.Hosting;
using Modular.Models;
using Modular.Testing;
using Modular.Tokenization;

namespace Modular.Hardening.Tests.Faults;

/// <summary>bard-2m on the fault-injecting backend, loaded through plugins.json, with an engine core over it.</summary>
public sealed class FaultyEngine : IDisposable
{
    private readonly string _folder;
    private readonly PluginRuntime _runtime;
    private readonly TransformerModel _model;
    private readonly ModelRunner _runner;

    /// <summary>Loads the model on backend "faulty" with <paramref name="settings"/>.</summary>
    public FaultyEngine(JsonObject settings, EngineOptions options, int numBlocks = 256)
    {
        _folder = Path.Combine(Path.GetTempPath(), "modular-hardening-faulty-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(_folder);
        _runtime = PluginRuntime.Open(TestServer.WritePluginsJson(_folder, "faulty", settings), "faulty", new BackendOptions(Threads: 2));
        Tokenizer = HfTokenizer.FromDirectory(Fixtures.BundledModel);
        _model = TransformerModel.Load(Fixtures.BundledModel, _runtime.Backend);
        _runner = ModelRunner.Create(_model, numBlocks, options.BlockSize);
        Core = new EngineCore(_runner, Tokenizer, options);
    }

    /// <summary>The bard-2m tokenizer.</summary>
    public HfTokenizer Tokenizer { get; }
    /// <summary>The synchronous engine.</summary>
    public EngineCore Core { get; }
    /// <summary>The backend ("faulty").</summary>
    public IBackend Backend => _runtime.Backend;

    /// <summary>A token id the greedy model never produces from Shakespeare prompts (used as the trigger).</summary>
    public static int TriggerToken(HfTokenizer tokenizer) => tokenizer.Encode("~", addSpecialTokens: false)[0];

    /// <summary>A greedy request for <paramref name="prompt"/>.</summary>
    public static EngineRequest Request(string id, string prompt, int maxTokens = 8) => new()
    {
        RequestId = id,
        Prompt = prompt,
        Params = new SamplingParams { Temperature = 0, MaxTokens = maxTokens, IgnoreEos = true },
    };

    /// <summary>Adds requests, steps until all finish (bounded), and returns each one's final output.</summary>
    public Dictionary<string, RequestOutput> Run(params EngineRequest[] requests)
    {
        var finals = new Dictionary<string, RequestOutput>();
        foreach (var r in requests) Core.AddRequest(r, o => { if (o.Finished) finals[o.RequestId] = o; });
        for (int i = 0; i < 10_000 && Core.HasUnfinishedRequests; i++) Core.Step();
        Assert.False(Core.HasUnfinishedRequests, "requests still unfinished after 10000 steps");
        return finals;
    }

    /// <summary>Frees everything.</summary>
    public void Dispose()
    {
        _runner.Dispose();
        _model.Dispose();
        _runtime.Dispose();
        try { Directory.Delete(_folder, true); } catch (IOException) { }
    }
}
