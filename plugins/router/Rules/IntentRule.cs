using System.Globalization;
using Modular.Abstractions;
using Modular.Plugins.Router.Embedding;

namespace Modular.Plugins.Router.Rules;

/// <summary>One labelled intent: example utterances and the target that should answer requests like them.</summary>
/// <param name="Label">Name in decision reasons ("poetry", "code").</param>
/// <param name="Target">Target for requests nearest to these examples.</param>
/// <param name="Examples">Example utterances.</param>
internal sealed record IntentSpec(string Label, string Target, IReadOnlyList<string> Examples);

/// <summary>
/// Nearest-example intent routing: the request text is embedded and compared (cosine) with every labelled example;
/// the intent owning the most similar example wins if that similarity reaches the threshold. Embeddings come from a
/// target's <c>/v1/embeddings</c> when configured, else from the built-in <see cref="NgramHashEmbedder"/>; a failing
/// remote embedder falls back to the n-gram vectors for that request, so routing never waits on a dead target.
/// </summary>
internal sealed class IntentRule : RouteRule
{
    private readonly IntentSpec[] _intents;
    private readonly int[] _exampleIntent;      // example -> index into _intents
    private readonly string[] _exampleTexts;
    private readonly float[][] _ngramExamples;  // dense, normalised
    private readonly NgramHashEmbedder _ngram;
    private readonly RemoteEmbedder? _remote;
    private readonly double _threshold;
    private readonly string? _default;
    private Task<float[][]>? _remoteExamples;

    public IntentRule(IReadOnlyList<string> models, IReadOnlyList<IntentSpec> intents, NgramHashEmbedder ngram,
        RemoteEmbedder? remote, double threshold, string? defaultTarget) : base(models)
    {
        _intents = [.. intents];
        _ngram = ngram;
        _remote = remote;
        _threshold = threshold;
        _default = defaultTarget;
        var owners = new List<int>();
        var texts = new List<string>();
        for (int i = 0; i < _intents.Length; i++)
        {
            foreach (var e in _intents[i].Examples)
            {
                owners.Add(i);
                texts.Add(e);
            }
        }
        _exampleIntent = [.. owners];
        _exampleTexts = [.. texts];
        _ngramExamples = new float[_exampleTexts.Length][];
        for (int i = 0; i < _exampleTexts.Length; i++) _ngramExamples[i] = ngram.EmbedDense(_exampleTexts[i]);
    }

    public override string Kind => "intent";

    public override async ValueTask<RouteDecision?> TryRouteAsync(RouteContext context, CancellationToken cancellationToken)
    {
        var text = context.Request.Text;
        if (_remote is not null)
        {
            string? failure;
            try
            {
                var examples = await RemoteExamplesAsync(cancellationToken).ConfigureAwait(false);
                var query = (await _remote.EmbedAsync([Tail(text)], cancellationToken).ConfigureAwait(false))[0];
                return Decide(context, i => Dot(query, examples[i]), $"embeddings of {_remote.TargetName}");
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException && !cancellationToken.IsCancellationRequested)
            {
                // A failed example load is retried by the next request rather than cached as failed.
                if (_remoteExamples is { IsCompleted: true, IsCompletedSuccessfully: false }) _remoteExamples = null;
                failure = e.Message;
            }
            var fallback = _ngram.Embed(text);
            return Decide(context, i => fallback.Dot(_ngramExamples[i]), $"n-gram fallback, embeddings failed: {failure}");
        }

        var q = _ngram.Embed(text);
        return Decide(context, q, "n-gram");
    }

    /// <summary>The n-gram path without delegates: the hot loop is a sparse-dense dot per example.</summary>
    private RouteDecision? Decide(RouteContext context, SparseVector query, string via)
    {
        int best = -1;
        float bestScore = float.NegativeInfinity;
        for (int i = 0; i < _ngramExamples.Length; i++)
        {
            if (!context.IsAvailable(_intents[_exampleIntent[i]].Target)) continue;
            float s = query.Dot(_ngramExamples[i]);
            if (s > bestScore) { bestScore = s; best = i; }
        }
        return Conclude(context, best, bestScore, via);
    }

    private RouteDecision? Decide(RouteContext context, Func<int, float> similarity, string via)
    {
        int best = -1;
        float bestScore = float.NegativeInfinity;
        for (int i = 0; i < _exampleTexts.Length; i++)
        {
            if (!context.IsAvailable(_intents[_exampleIntent[i]].Target)) continue;
            float s = similarity(i);
            if (s > bestScore) { bestScore = s; best = i; }
        }
        return Conclude(context, best, bestScore, via);
    }

    private RouteDecision? Conclude(RouteContext context, int best, float score, string via)
    {
        var scoreText = score.ToString("0.000", CultureInfo.InvariantCulture);
        if (best >= 0 && score >= _threshold)
        {
            var intent = _intents[_exampleIntent[best]];
            return new RouteDecision(intent.Target, $"intent: {intent.Label} ({scoreText}, {via})");
        }
        if (_default is not null && context.IsAvailable(_default))
        {
            var threshold = _threshold.ToString("0.000", CultureInfo.InvariantCulture);
            return new RouteDecision(_default, best < 0
                ? "intent: no available intent target, rule default"
                : $"intent: best {_intents[_exampleIntent[best]].Label} {scoreText} below threshold {threshold}, rule default ({via})");
        }
        return null;
    }

    private Task<float[][]> RemoteExamplesAsync(CancellationToken cancellationToken)
    {
        // Examples are embedded once, by the first request that needs them; later requests share the task.
        var task = _remoteExamples;
        if (task is null)
        {
            task = _remote!.EmbedAsync(_exampleTexts, CancellationToken.None);
            _remoteExamples = task;
        }
        return task.WaitAsync(cancellationToken);
    }

    private string Tail(string text) => text.Length > _ngram.MaxChars ? text[^_ngram.MaxChars..] : text;

    private static float Dot(float[] a, float[] b)
    {
        if (a.Length != b.Length) throw new HttpRequestException($"embedding sizes differ ({a.Length} vs {b.Length})");
        float sum = 0;
        for (int i = 0; i < a.Length; i++) sum += a[i] * b[i];
        return sum;
    }
}
