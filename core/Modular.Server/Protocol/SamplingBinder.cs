using System.Globalization;
using System.Text.Json;
using Modular.Abstractions;
using Modular.Server.Http;

namespace Modular.Server.Protocol;

/// <summary>Reads vLLM's sampling fields from a chat or completions request into <see cref="GenerationOptions"/>.</summary>
internal static class SamplingBinder
{
    /// <param name="f">The request object.</param>
    /// <param name="chat">Chat semantics: logprobs is a boolean with top_logprobs; max_completion_tokens wins.</param>
    /// <param name="vocabSize">Vocabulary size, bounding token ids.</param>
    /// <param name="limits">Server limits.</param>
    /// <param name="defaultMaxTokens">max_tokens when the request sets none (null: the remaining context).</param>
    public static GenerationOptions Bind(JsonFields f, bool chat, int vocabSize, ServerLimits limits, int? defaultMaxTokens)
    {
        int? maxTokens = (chat ? f.Int("max_completion_tokens", 1) : null) ?? f.Int("max_tokens", 1);
        int n = f.Int("n", 1, limits.MaxN) ?? 1;
        int? bestOf = f.Int("best_of", 1, limits.MaxN);
        bool beam = f.Bool("use_beam_search") ?? false;
        if (bestOf is int b && b < n) throw ApiException.BadField("best_of", $"best_of: {b} must be at least n ({n})");

        int? logprobs;
        if (chat)
        {
            bool want = f.Bool("logprobs") ?? false;
            int? top = f.Int("top_logprobs", 0, limits.MaxLogprobs);
            if (top is not null && !want) throw ApiException.BadField("top_logprobs", "top_logprobs: requires logprobs to be true");
            logprobs = want ? top ?? 0 : null;
        }
        else logprobs = f.Int("logprobs", 0, limits.MaxLogprobs);

        var stop = f.StringOrStrings("stop") ?? [];
        if (stop.Count > limits.MaxStopStrings)
            throw ApiException.BadField("stop", $"stop: at most {limits.MaxStopStrings} stop strings are allowed, got {stop.Count}");
        for (int i = 0; i < stop.Count; i++)
            if (stop[i].Length == 0) throw ApiException.BadField("stop", $"stop[{i}]: must not be empty");

        int minTokens = f.Int("min_tokens", 0) ?? 0;
        if (maxTokens is int mt && minTokens > mt)
            throw ApiException.BadField("min_tokens", $"min_tokens: {minTokens} must not exceed max_tokens ({mt})");

        var sampling = new SamplingParams
        {
            N = n,
            BestOf = bestOf,
            UseBeamSearch = beam,
            LengthPenalty = (float)(f.Number("length_penalty", -10, 10) ?? 1.0),
            Temperature = (float)(f.Number("temperature", 0, 100) ?? 1.0),
            TopP = (float)(f.Number("top_p", 0, 1) ?? 1.0),
            TopK = f.Int("top_k", -1) ?? 0,
            MinP = (float)(f.Number("min_p", 0, 1) ?? 0),
            PresencePenalty = (float)(f.Number("presence_penalty", -2, 2) ?? 0),
            FrequencyPenalty = (float)(f.Number("frequency_penalty", -2, 2) ?? 0),
            RepetitionPenalty = (float)(f.Number("repetition_penalty", 0, 100) ?? 1),
            LogitBias = LogitBias(f, vocabSize, limits.MaxLogitBias),
            Seed = f.Long("seed"),
            MaxTokens = maxTokens ?? defaultMaxTokens,
            MinTokens = minTokens,
            Stop = stop,
            StopTokenIds = StopTokenIds(f, vocabSize, limits.MaxStopTokenIds),
            IgnoreEos = f.Bool("ignore_eos") ?? false,
            Logprobs = logprobs,
            PromptLogprobs = f.Int("prompt_logprobs", 0, limits.MaxLogprobs),
            SkipSpecialTokens = f.Bool("skip_special_tokens") ?? true,
            IncludeStopStrInOutput = f.Bool("include_stop_str_in_output") ?? false,
        };
        if (sampling.TopP <= 0) throw ApiException.BadField("top_p", "top_p: must be greater than 0");
        if (sampling.RepetitionPenalty <= 0) throw ApiException.BadField("repetition_penalty", "repetition_penalty: must be greater than 0");
        if (sampling.Validate(vocabSize) is string problem)
        {
            int colon = problem.IndexOf(':');
            throw ApiException.BadField(colon > 0 ? problem[..colon] : "sampling", problem);
        }

        bool stream = f.Bool("stream") ?? false;
        bool includeUsage = false, continuous = false;
        if (f.Object("stream_options") is { } so)
        {
            if (!stream) throw ApiException.BadField("stream_options", "stream_options: only allowed when stream is true");
            var o = new JsonFields(so, "stream_options");
            includeUsage = o.Bool("include_usage") ?? false;
            continuous = o.Bool("continuous_usage_stats") ?? false;
        }
        string? salt = f.String("cache_salt");
        if (salt is { Length: 0 }) throw ApiException.BadField("cache_salt", "cache_salt: must not be empty");

        return new GenerationOptions
        {
            Sampling = sampling,
            MaxTokensDefaulted = maxTokens is null,
            Stream = stream,
            IncludeUsage = includeUsage,
            ContinuousUsage = continuous,
            Priority = f.Int("priority") ?? 0,
            CacheSalt = salt,
            User = f.String("user"),
        };
    }

    // The count is checked before any entry is read, so an oversized list costs no allocation beyond the parsed body.
    private static List<int> StopTokenIds(JsonFields f, int vocabSize, int max)
    {
        if (f.Array("stop_token_ids") is not { } arr) return [];
        int count = arr.GetArrayLength();
        if (count > max)
            throw ApiException.BadField("stop_token_ids", $"stop_token_ids: at most {max} token ids are allowed, got {count}");
        return JsonFields.IntList(arr, "stop_token_ids", 0, vocabSize - 1);
    }

    private static Dictionary<int, float>? LogitBias(JsonFields f, int vocabSize, int max)
    {
        if (f.Object("logit_bias") is not { } obj) return null;
        int count = 0;
        foreach (var _ in obj.EnumerateObject()) count++;
        if (count > max) throw ApiException.BadField("logit_bias", $"logit_bias: at most {max} entries are allowed, got {count}");
        var bias = new Dictionary<int, float>();
        foreach (var p in obj.EnumerateObject())
        {
            if (!int.TryParse(p.Name, NumberStyles.None, CultureInfo.InvariantCulture, out int id) || id >= vocabSize)
                throw ApiException.BadField("logit_bias", $"logit_bias: key \"{Short(p.Name)}\" is not a token id in [0, {vocabSize})");
            if (p.Value.ValueKind != JsonValueKind.Number || !p.Value.TryGetDouble(out double v) || !(v >= -100 && v <= 100))
                throw ApiException.BadField("logit_bias", $"logit_bias[\"{id}\"]: expected a number between -100 and 100, got {JsonFields.Kind(p.Value)}");
            bias[id] = (float)v;
        }
        return bias;
    }

    private static string Short(string s) => s.Length <= 24 ? s : s[..24] + "...";
}
