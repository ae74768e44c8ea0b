using System.Text.Json;
using System.Text.Json.Nodes;
using Modular.Abstractions;

namespace Modular.Engine;

/// <summary>Progress of a <see cref="BatchJob"/>: requests done of the total, and tokens generated so far.</summary>
/// <param name="Completed">Requests finished.</param>
/// <param name="Total">Requests in the input.</param>
/// <param name="GeneratedTokens">Tokens generated over finished requests.</param>
public readonly record struct BatchProgress(int Completed, int Total, long GeneratedTokens);

/// <summary>
/// Offline batch generation over JSON Lines (<c>modular generate --input prompts.jsonl --output out.jsonl</c>). Each
/// input line is an object with <c>prompt</c> (text) or <c>prompt_token_ids</c>, plus optional sampling fields with
/// vLLM's names (max_tokens, temperature, top_p, top_k, min_p, seed, stop, stop_token_ids, n, ignore_eos,
/// min_tokens, presence_penalty, frequency_penalty, repetition_penalty, logprobs) and an optional <c>id</c>.
/// Each output line, in input order: <c>{"id"?, "prompt", "text", "token_ids", "finish_reason"}</c>, with
/// <c>outputs</c> listing every sample when n &gt; 1, and <c>error</c> for a request the engine refused.
/// </summary>
public static class BatchJob
{
    /// <summary>Runs every line of <paramref name="inputJsonl"/> through <paramref name="llm"/> and writes <paramref name="outputJsonl"/>.</summary>
    /// <exception cref="FormatException">A line is not valid; the message names the file, line and field.</exception>
    public static async Task<BatchProgress> RunAsync(LLM llm, string inputJsonl, string outputJsonl, IProgress<BatchProgress>? progress = null,
        SamplingParams? defaults = null, CancellationToken cancellationToken = default)
    {
        var lines = await File.ReadAllLinesAsync(inputJsonl, cancellationToken).ConfigureAwait(false);
        var requests = new List<(EngineRequest Request, JsonObject Line)>();
        for (int i = 0; i < lines.Length; i++)
        {
            if (string.IsNullOrWhiteSpace(lines[i])) continue;
            requests.Add(ParseLine(lines[i], $"{inputJsonl}:{i + 1}", llm.NextId(), defaults ?? new SamplingParams()));
        }

        // Submit everything up front so the scheduler can batch; write results back in input order.
        var tasks = new Task<RequestOutput>[requests.Count];
        for (int i = 0; i < requests.Count; i++) tasks[i] = llm.Engine.GenerateFinalAsync(requests[i].Request, cancellationToken);
        int done = 0;
        long generated = 0;
        await using var writer = new StreamWriter(outputJsonl, append: false);
        for (int i = 0; i < tasks.Length; i++)
        {
            RequestOutput output;
            try { output = await tasks[i].ConfigureAwait(false); }
            catch (EngineRequestException e) { output = EngineCore.Rejected(requests[i].Request, e.Message); }
            await writer.WriteLineAsync(FormatOutput(requests[i].Line, output).ToJsonString()).ConfigureAwait(false);
            done++;
            generated += output.Usage.CompletionTokens;
            progress?.Report(new BatchProgress(done, tasks.Length, generated));
        }
        return new BatchProgress(done, tasks.Length, generated);
    }

    /// <summary>Parses one input line into a request.</summary>
    public static (EngineRequest Request, JsonObject Line) ParseLine(string line, string where, string requestId, SamplingParams defaults)
    {
        JsonObject obj;
        try { obj = JsonNode.Parse(line) as JsonObject ?? throw new FormatException($"{where}: each line must be a JSON object"); }
        catch (JsonException e) { throw new FormatException($"{where}: not valid JSON: {e.Message}", e); }

        var p = defaults;
        try
        {
            foreach (var (key, value) in obj)
            {
                p = key switch
                {
                    "prompt" or "prompt_token_ids" or "id" or "priority" => p,
                    "max_tokens" => p with { MaxTokens = value?.GetValue<int>() },
                    "temperature" => p with { Temperature = value!.GetValue<float>() },
                    "top_p" => p with { TopP = value!.GetValue<float>() },
                    "top_k" => p with { TopK = value!.GetValue<int>() },
                    "min_p" => p with { MinP = value!.GetValue<float>() },
                    "seed" => p with { Seed = value?.GetValue<long>() },
                    "stop" => p with { Stop = value is JsonArray a ? a.Select(x => x!.GetValue<string>()).ToArray() : value is null ? [] : [value.GetValue<string>()] },
                    "stop_token_ids" => p with { StopTokenIds = value!.AsArray().Select(x => x!.GetValue<int>()).ToArray() },
                    "n" => p with { N = value!.GetValue<int>() },
                    "ignore_eos" => p with { IgnoreEos = value!.GetValue<bool>() },
                    "min_tokens" => p with { MinTokens = value!.GetValue<int>() },
                    "presence_penalty" => p with { PresencePenalty = value!.GetValue<float>() },
                    "frequency_penalty" => p with { FrequencyPenalty = value!.GetValue<float>() },
                    "repetition_penalty" => p with { RepetitionPenalty = value!.GetValue<float>() },
                    "logprobs" => p with { Logprobs = value?.GetValue<int>() },
                    _ => throw new FormatException($"unknown field \"{key}\""),
                };
            }
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or NullReferenceException)
        {
            throw new FormatException($"{where}: {e.Message}", e);
        }

        var request = new EngineRequest { RequestId = requestId, Params = p, Priority = obj["priority"]?.GetValue<int>() ?? 0 };
        if (obj["prompt_token_ids"] is JsonArray ids)
            request = request with { PromptTokenIds = ids.Select(x => x!.GetValue<int>()).ToArray() };
        else if (obj["prompt"] is JsonValue text && text.TryGetValue<string>(out var s))
            request = request with { Prompt = s };
        else throw new FormatException($"{where}: needs \"prompt\" (a string) or \"prompt_token_ids\" (an array of ints)");
        return (request, obj);
    }

    private static JsonObject FormatOutput(JsonObject input, RequestOutput output)
    {
        var first = output.Outputs.Count > 0 ? output.Outputs[0] : null;
        var o = new JsonObject();
        if (input["id"] is { } id) o["id"] = id.DeepClone();
        o["prompt"] = input["prompt"]?.DeepClone() ?? input["prompt_token_ids"]?.DeepClone();
        o["text"] = first?.Text ?? "";
        o["token_ids"] = new JsonArray((first?.TokenIds ?? Array.Empty<int>()).Select(t => (JsonNode?)t).ToArray());
        o["finish_reason"] = first?.FinishReason;
        if (output.Outputs.Count > 1)
            o["outputs"] = new JsonArray(output.Outputs.Select(c => (JsonNode?)new JsonObject
            {
                ["index"] = c.Index, ["text"] = c.Text, ["finish_reason"] = c.FinishReason,
                ["token_ids"] = new JsonArray(c.TokenIds.Select(t => (JsonNode?)t).ToArray()),
            }).ToArray());
        if (output.Error is not null) o["error"] = output.Error;
        return o;
    }
}
