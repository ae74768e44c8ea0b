using Modular.Engine;

namespace Modular.Server.Protocol;

/// <summary>What has been streamed of each choice: text and logprobs sent, whether its finish was reported.</summary>
internal sealed class ChoiceTracker
{
    private readonly int _n;
    private readonly State[] _states;

    public sealed class State
    {
        public int SentText;
        public int SentLogprobs;
        public bool FinishSent;
        public int TextOffset;
    }

    public ChoiceTracker(int prompts, int n)
    {
        _n = n;
        _states = new State[prompts * n];
        for (int i = 0; i < _states.Length; i++) _states[i] = new State();
    }

    /// <summary>The OpenAI choice index of a sample: prompts first, then samples.</summary>
    public int IndexOf(int prompt, CompletionOutput c) => prompt * _n + c.Index;

    public State this[int index] => _states[index];

    public int Count => _states.Length;
}

/// <summary>Final-output helpers shared by the endpoints.</summary>
internal static class Outputs
{
    /// <summary>vLLM's stop_reason: the stop string or stop token id that ended the sample, else null.</summary>
    public static object? StopReason(CompletionOutput c) => (object?)c.StopString ?? c.StopTokenId;

    /// <summary>The finish reason as OpenAI clients accept it (aborts surface as "abort" only to raw clients).</summary>
    public static string? FinishReason(CompletionOutput c) => c.FinishReason;

    public static void WriteStopReason(System.Text.Json.Utf8JsonWriter w, CompletionOutput c)
    {
        if (c.StopString is { } s) w.WriteString("stop_reason", s);
        else if (c.StopTokenId is int id) w.WriteNumber("stop_reason", id);
        else w.WriteNull("stop_reason");
    }

    public static void WriteUsage(System.Text.Json.Utf8JsonWriter w, int prompt, int completion, int cached)
    {
        w.WriteStartObject("usage");
        w.WriteNumber("prompt_tokens", prompt);
        w.WriteNumber("completion_tokens", completion);
        w.WriteNumber("total_tokens", prompt + completion);
        if (cached > 0)
        {
            w.WriteStartObject("prompt_tokens_details");
            w.WriteNumber("cached_tokens", cached);
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }

    public static string NewId(string prefix) => prefix + Guid.NewGuid().ToString("N");

    public static long Now() => DateTimeOffset.UtcNow.ToUnixTimeSeconds();
}
