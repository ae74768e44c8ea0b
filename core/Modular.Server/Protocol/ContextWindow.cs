using Modular.Server.Http;

namespace Modular.Server.Protocol;

/// <summary>Checks a prompt and its max_tokens against the model's context length, as vLLM words it.</summary>
internal static class ContextWindow
{
    /// <summary>Returns the max_tokens to run with (the remaining context when the request set none).</summary>
    public static int Resolve(int maxModelLen, int promptTokens, int? maxTokens, string what, string param)
    {
        if (promptTokens == 0) throw ApiException.BadField(param, $"{param}: the prompt is empty (0 tokens)");
        if (promptTokens >= maxModelLen)
            throw new ApiException(400, $"This model's maximum context length is {maxModelLen} tokens. However, your request has {promptTokens} input tokens ({what}); please reduce the length of the input.", param, "context_length_exceeded");
        int remaining = maxModelLen - promptTokens;
        if (maxTokens is not int m) return remaining;
        if (m > remaining)
            throw new ApiException(400, $"This model's maximum context length is {maxModelLen} tokens. However, you requested {promptTokens + (long)m} tokens ({promptTokens} in the {what}, {m} in the completion). Please reduce the length of the {what} or completion.", "max_tokens", "context_length_exceeded");
        return m;
    }
}
