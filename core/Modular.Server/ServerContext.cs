using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Modular.Server.Engine;
using Modular.Server.Http;
using Modular.Server.Observability;

namespace Modular.Server;

/// <summary>What every endpoint shares: the served models, limits, admission gate, metrics and logger.</summary>
internal sealed class ServerContext
{
    private readonly Dictionary<string, ServedModel> _byName;

    public ServerContext(IReadOnlyList<ServedModel> models, ServerOptions options, ILogger logger)
    {
        if (models.Count == 0) throw new ArgumentException("at least one model must be served", nameof(models));
        Models = models;
        _byName = new Dictionary<string, ServedModel>(StringComparer.Ordinal);
        foreach (var m in models) _byName.Add(m.Name, m);
        Options = options;
        Logger = logger;
        Gate = new AdmissionGate(options.Engine.MaxNumSeqs, options.MaxQueuedRequests);
        Metrics = new ServerMetrics(models);
    }

    public IReadOnlyList<ServedModel> Models { get; }
    public ServerOptions Options { get; }
    public ILogger Logger { get; }
    public AdmissionGate Gate { get; }
    public ServerMetrics Metrics { get; }

    /// <summary>
    /// The model a request names; with one model served an absent <c>model</c> means that one. Unknown names get
    /// OpenAI's 404.
    /// </summary>
    public ServedModel Resolve(string? name)
    {
        if (name is null)
        {
            if (Models.Count == 1) return Models[0];
            throw ApiException.BadField("model", $"model: is required when several models are served ({string.Join(", ", _byName.Keys)})");
        }
        if (_byName.TryGetValue(name, out var m)) return m;
        throw new ApiException(404, $"The model `{Short(name)}` does not exist. Served models: {string.Join(", ", _byName.Keys)}.", "model", "model_not_found");
    }

    /// <summary>Fails with 503 when the model's engine has died.</summary>
    public static void EnsureAlive(ServedModel model)
    {
        if (!model.Engine.IsAlive)
            throw new ApiException(503, $"the engine of model {model.Name} is not running: {model.Engine.DeathReason ?? "stopped"}", code: "engine_dead");
    }

    /// <summary>
    /// The start every model endpoint shares: the request record, the parsed body (size, UTF-8 and JSON checked) and
    /// the model it names (recorded for the log line).
    /// </summary>
    public async Task<ModelRequest> ReadRequestAsync(HttpContext context)
    {
        var record = Record(context);
        var doc = await RequestBody.ReadObjectAsync(context, Options.Limits.MaxBodyBytes).ConfigureAwait(false);
        try
        {
            var fields = new Protocol.JsonFields(doc.RootElement);
            var model = Resolve(fields.String("model"));
            record.Model = model.Name;
            return new ModelRequest(record, doc, fields, model);
        }
        catch
        {
            doc.Dispose();
            throw;
        }
    }

    public static RequestRecord Record(HttpContext context) =>
        context.Features.Get<RequestRecord>() ?? throw new InvalidOperationException("request record middleware is not installed");

    private static string Short(string s) => s.Length <= 64 ? s : s[..64] + "...";
}

/// <summary>A parsed request body and the model it names; disposing frees the body.</summary>
internal sealed record ModelRequest(RequestRecord Record, System.Text.Json.JsonDocument Document, Protocol.JsonFields Fields, ServedModel Model) : IDisposable
{
    public void Dispose() => Document.Dispose();
}
