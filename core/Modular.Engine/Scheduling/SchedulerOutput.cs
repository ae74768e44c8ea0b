namespace Modular.Engine;

/// <summary>One sequence's share of a step: <see cref="NumNewTokens"/> tokens starting at <see cref="Start"/>.</summary>
internal sealed class ScheduledSequence(Sequence sequence, int start, int numNewTokens, (int Src, int Dst)? copy)
{
    public Sequence Sequence { get; } = sequence;
    /// <summary>Position of the first new token (the sequence's computed count before the step).</summary>
    public int Start { get; } = start;
    public int NumNewTokens { get; } = numNewTokens;
    /// <summary>Copy-on-write of a shared block, to run before the forward pass.</summary>
    public (int Src, int Dst)? Copy { get; } = copy;
    /// <summary>True when the chunk reaches the end of the known tokens, so a new token is sampled.</summary>
    public bool CompletesSequence => Start + NumNewTokens == Sequence.Length;
    /// <summary>
    /// True when every row of the chunk needs logits (prompt logprobs). Fixed at scheduling time: recording the
    /// logprobs flips the request's state before the sampled row is read.
    /// </summary>
    public bool WantsPromptLogits { get; } = !sequence.Request.PromptLogprobsDone && start < sequence.PromptLength;
}

/// <summary>What the scheduler decided for one step.</summary>
internal sealed class SchedulerOutput
{
    public List<ScheduledSequence> Scheduled { get; } = new();
    public int NumPreempted { get; set; }
    public int TotalTokens
    {
        get
        {
            int t = 0;
            foreach (var s in Scheduled) t += s.NumNewTokens;
            return t;
        }
    }
}
