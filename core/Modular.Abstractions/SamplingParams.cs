namespace Modular.Abstractions;

/// <summary>
/// Per-request sampling and stopping settings, with vLLM's names and defaults. Validation of ranges happens at
/// admission (<see cref="Validate"/>), so the engine loop never sees a value it cannot honour.
/// </summary>
public sealed record SamplingParams
{
    /// <summary>Number of completions to return.</summary>
    public int N { get; init; } = 1;
    /// <summary>Candidates generated before the best N are kept (beam width with beam search).</summary>
    public int? BestOf { get; init; }
    /// <summary>Beam search instead of sampling.</summary>
    public bool UseBeamSearch { get; init; }
    /// <summary>Beam search length penalty (score / len^penalty).</summary>
    public float LengthPenalty { get; init; } = 1f;
    /// <summary>0 means greedy.</summary>
    public float Temperature { get; init; } = 1f;
    /// <summary>Nucleus mass in (0, 1].</summary>
    public float TopP { get; init; } = 1f;
    /// <summary>0 or -1 disables.</summary>
    public int TopK { get; init; }
    /// <summary>Minimum probability relative to the top token; 0 disables.</summary>
    public float MinP { get; init; }
    /// <summary>OpenAI presence penalty in [-2, 2].</summary>
    public float PresencePenalty { get; init; }
    /// <summary>OpenAI frequency penalty in [-2, 2].</summary>
    public float FrequencyPenalty { get; init; }
    /// <summary>CTRL-style multiplicative penalty over prompt and output tokens; 1 disables.</summary>
    public float RepetitionPenalty { get; init; } = 1f;
    /// <summary>Added to the logits of the given token ids before sampling.</summary>
    public IReadOnlyDictionary<int, float>? LogitBias { get; init; }
    /// <summary>Per-request seed: the same seed gives the same tokens whatever else is in the batch.</summary>
    public long? Seed { get; init; }
    /// <summary>Maximum new tokens; null means up to the model's context.</summary>
    public int? MaxTokens { get; init; } = 16;
    /// <summary>EOS and stop tokens are ignored until this many tokens are generated.</summary>
    public int MinTokens { get; init; }
    /// <summary>Stop strings; the output never contains them.</summary>
    public IReadOnlyList<string> Stop { get; init; } = Array.Empty<string>();
    /// <summary>Token ids that end generation (the id itself is not part of the text).</summary>
    public IReadOnlyList<int> StopTokenIds { get; init; } = Array.Empty<int>();
    /// <summary>Keep generating past EOS.</summary>
    public bool IgnoreEos { get; init; }
    /// <summary>Number of top log-probabilities to return per generated token; null for none.</summary>
    public int? Logprobs { get; init; }
    /// <summary>Number of top log-probabilities to return per prompt token; null for none.</summary>
    public int? PromptLogprobs { get; init; }
    /// <summary>Drop special tokens from the returned text.</summary>
    public bool SkipSpecialTokens { get; init; } = true;
    /// <summary>Include the matched stop string in the text.</summary>
    public bool IncludeStopStrInOutput { get; init; }

    /// <summary>Returns the name of the first invalid field and why, or null when all values are usable.</summary>
    public string? Validate(int vocabSize)
    {
        if (N < 1) return "n: must be at least 1";
        if (BestOf is int b && b < N) return "best_of: must be at least n";
        if (!(Temperature >= 0) || float.IsInfinity(Temperature)) return "temperature: must be a finite number >= 0";
        if (!(TopP > 0 && TopP <= 1)) return "top_p: must be in (0, 1]";
        if (TopK < -1) return "top_k: must be -1, 0 or positive";
        if (!(MinP >= 0 && MinP <= 1)) return "min_p: must be in [0, 1]";
        if (!(PresencePenalty >= -2 && PresencePenalty <= 2)) return "presence_penalty: must be in [-2, 2]";
        if (!(FrequencyPenalty >= -2 && FrequencyPenalty <= 2)) return "frequency_penalty: must be in [-2, 2]";
        if (!(RepetitionPenalty > 0) || float.IsInfinity(RepetitionPenalty)) return "repetition_penalty: must be a finite number > 0";
        if (MaxTokens is int m && m < 1) return "max_tokens: must be at least 1";
        if (MinTokens < 0) return "min_tokens: must be >= 0";
        if (MaxTokens is int mx && MinTokens > mx) return "min_tokens: must not exceed max_tokens";
        if (Logprobs is int lp && lp < 0) return "logprobs: must be >= 0";
        if (PromptLogprobs is int plp && plp < 0) return "prompt_logprobs: must be >= 0";
        if (LogitBias is not null)
            foreach (var (id, bias) in LogitBias)
            {
                if (id < 0 || id >= vocabSize) return $"logit_bias: token id {id} is outside the vocabulary (size {vocabSize})";
                if (!(bias >= -100 && bias <= 100)) return $"logit_bias: bias for token {id} must be in [-100, 100]";
            }
        foreach (var id in StopTokenIds)
            if (id < 0 || id >= vocabSize) return $"stop_token_ids: token id {id} is outside the vocabulary (size {vocabSize})";
        return null;
    }

    /// <summary>Greedy when temperature is zero (or tiny).</summary>
    public bool IsGreedy => Temperature < 1e-5f;
}
