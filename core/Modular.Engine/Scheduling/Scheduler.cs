using Modular.Abstractions;

namespace Modular.Engine;

/// <summary>
/// vLLM v1's scheduler: no separate prefill phase. Each step has a token budget and a cap on running sequences.
/// Running sequences go first (a decode takes one token, an unfinished prefill takes the next chunk), then waiting
/// ones are admitted in policy order after a prefix-cache lookup, each taking as much of the remaining budget as
/// it needs (chunked prefill). When the pool runs out of blocks, the policy's victim is preempted by recompute:
/// its blocks are freed and it goes back to waiting with its generated tokens, to re-prefill prompt + output later.
/// </summary>
/// <remarks>Not thread-safe: the engine thread owns it.</remarks>
public sealed class Scheduler
{
    private readonly IKvAllocator _allocator;
    private readonly List<Sequence> _running = new();
    private readonly List<Sequence> _waiting = new();
    private readonly List<ISchedulable> _victimView = new();
    private readonly Comparison<Sequence> _admissionOrder;

    /// <summary>Creates a scheduler over <paramref name="allocator"/>.</summary>
    public Scheduler(IKvAllocator allocator, ISchedulerPolicy policy, int maxNumBatchedTokens, int maxNumSeqs)
    {
        if (maxNumBatchedTokens < 1) throw new ArgumentOutOfRangeException(nameof(maxNumBatchedTokens), maxNumBatchedTokens, "max_num_batched_tokens must be at least 1");
        if (maxNumSeqs < 1) throw new ArgumentOutOfRangeException(nameof(maxNumSeqs), maxNumSeqs, "max_num_seqs must be at least 1");
        _allocator = allocator;
        Policy = policy;
        MaxNumBatchedTokens = maxNumBatchedTokens;
        MaxNumSeqs = maxNumSeqs;
        _admissionOrder = (a, b) =>
        {
            int c = Policy.Compare(a, b);
            return c != 0 ? c : a.SampleIndex.CompareTo(b.SampleIndex);
        };
    }

    /// <summary>Admission order and preemption victims.</summary>
    public ISchedulerPolicy Policy { get; }
    /// <summary>Token budget of one step.</summary>
    public int MaxNumBatchedTokens { get; }
    /// <summary>Most sequences admitted to run at once.</summary>
    public int MaxNumSeqs { get; }
    /// <summary>Sequences holding blocks.</summary>
    public int NumRunning => _running.Count;
    /// <summary>Sequences queued (new or preempted).</summary>
    public int NumWaiting => _waiting.Count;
    /// <summary>Preemptions since creation.</summary>
    public long TotalPreemptions { get; private set; }

    internal void AddWaiting(Sequence seq)
    {
        seq.Status = SequenceStatus.Waiting;
        _waiting.Add(seq);
    }

    /// <summary>A forked sample that already holds blocks joins the running set.</summary>
    internal void AddRunning(Sequence seq)
    {
        seq.Status = SequenceStatus.Running;
        _running.Add(seq);
    }

    /// <summary>Takes a sequence out of scheduling and releases its blocks (finish or abort).</summary>
    internal void Remove(Sequence seq)
    {
        if (seq.Status == SequenceStatus.Running) _running.Remove(seq);
        else if (seq.Status == SequenceStatus.Waiting) _waiting.Remove(seq);
        _allocator.Free(seq.Table);
        seq.Status = SequenceStatus.Finished;
    }

    /// <summary>Decides the next step.</summary>
    internal SchedulerOutput Schedule()
    {
        var output = new SchedulerOutput();
        int budget = MaxNumBatchedTokens;

        for (int i = 0; i < _running.Count && budget > 0;)
        {
            var seq = _running[i];
            int numNew = Math.Min(seq.Length - seq.NumComputed, budget);
            (int, int)? copy = null;
            bool ok = false;
            while (true)
            {
                bool outOfBlocks = false;
                copy ??= _allocator.CopyOnWrite(seq.Table, seq.NumComputed, out outOfBlocks);
                if (!outOfBlocks && _allocator.TryAllocate(seq.Table, seq.NumComputed + numNew)) { ok = true; break; }
                int v = PickVictim();
                var victim = _running[v];
                budget += Preempt(v, output);
                if (v < i) i--;
                if (victim == seq) break;
            }
            if (!ok) continue; // seq itself was preempted; _running[i] is now the next one
            output.Scheduled.Add(new ScheduledSequence(seq, seq.NumComputed, numNew, copy));
            budget -= numNew;
            i++;
        }

        // Like vLLM, admit nothing in a step that had to preempt: the pool is under pressure.
        if (output.NumPreempted > 0) return output;
        if (_waiting.Count > 1) _waiting.Sort(_admissionOrder);
        while (_waiting.Count > 0 && budget > 0 && _running.Count < MaxNumSeqs)
        {
            var seq = _waiting[0];
            var request = seq.Request;
            if (seq.Table.Blocks.Count == 0)
            {
                // Prompt logprobs need the logits of every prompt row, so such a prompt is computed in full.
                seq.NumComputed = request.PromptLogprobsDone ? _allocator.MatchPrefix(seq.Table, seq.Tokens) : 0;
                if (request.CachedPromptTokens < 0) request.CachedPromptTokens = seq.NumComputed;
            }
            int numNew = Math.Min(seq.Length - seq.NumComputed, budget);
            if (!_allocator.TryAllocate(seq.Table, seq.NumComputed + numNew))
            {
                // Give back the revived prefix blocks: they stay cached and are found again next step.
                _allocator.Free(seq.Table);
                seq.NumComputed = 0;
                break;
            }
            _waiting.RemoveAt(0);
            seq.Status = SequenceStatus.Running;
            _running.Add(seq);
            output.Scheduled.Add(new ScheduledSequence(seq, seq.NumComputed, numNew, null));
            budget -= numNew;
        }
        return output;
    }

    private int PickVictim()
    {
        _victimView.Clear();
        foreach (var s in _running) _victimView.Add(s);
        return Policy.SelectVictim(_victimView);
    }

    // Frees the victim's blocks, requeues it, and returns the budget it had been given this step (if any).
    private int Preempt(int index, SchedulerOutput output)
    {
        var victim = _running[index];
        _running.RemoveAt(index);
        int refund = 0;
        for (int k = 0; k < output.Scheduled.Count; k++)
        {
            if (output.Scheduled[k].Sequence != victim) continue;
            refund = output.Scheduled[k].NumNewTokens;
            output.Scheduled.RemoveAt(k); // its copy-on-write goes too: the destination block is freed below
            break;
        }
        _allocator.Free(victim.Table);
        victim.NumComputed = 0;
        AddWaiting(victim);
        output.NumPreempted++;
        TotalPreemptions++;
        return refund;
    }
}
