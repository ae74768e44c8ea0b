using Modular.Abstractions;
using Modular.Tokenization;

namespace Modular.Engine;

/// <summary>Where a sequence is in its life.</summary>
internal enum SequenceStatus
{
    /// <summary>Queued for (re-)admission; holds no blocks.</summary>
    Waiting,
    /// <summary>Holds blocks and is scheduled every step.</summary>
    Running,
    /// <summary>Done; its blocks are released.</summary>
    Finished,
}

/// <summary>
/// One sample of a request: prompt plus generated tokens, how many of them have KV in the cache, its block table,
/// random stream, detokenizer and stop-string state. A preempted sequence keeps its tokens and recomputes their KV
/// on readmission.
/// </summary>
internal sealed class Sequence : ISchedulable
{
    private int[] _tokens;
    private readonly OutputIdsView _outputView;

    public Sequence(RequestState request, int sampleIndex, int[] prompt, Random rng, IncrementalDetokenizer? detokenizer,
        IGrammarMatcher? grammar, BlockTable table)
    {
        Request = request;
        SampleIndex = sampleIndex;
        PromptLength = prompt.Length;
        _tokens = new int[Math.Max(16, prompt.Length * 2)];
        prompt.CopyTo(_tokens, 0);
        Length = prompt.Length;
        Rng = rng;
        Detokenizer = detokenizer;
        Grammar = grammar;
        Table = table;
        var p = request.Params;
        Stops = new StopStringMatcher(p.Stop, p.IncludeStopStrInOutput);
        if (p.Logprobs is not null) Logprobs = new List<TokenLogprob>();
        _outputView = new OutputIdsView(this);
    }

    public RequestState Request { get; }
    public int SampleIndex { get; }
    public int PromptLength { get; }
    /// <summary>Prompt plus output tokens.</summary>
    public int Length { get; private set; }
    public int OutputLength => Length - PromptLength;
    /// <summary>Leading tokens whose KV is in the cache.</summary>
    public int NumComputed { get; set; }
    public SequenceStatus Status { get; set; } = SequenceStatus.Waiting;
    public BlockTable Table { get; set; }
    public Random Rng { get; }
    public IncrementalDetokenizer? Detokenizer { get; }
    public IGrammarMatcher? Grammar { get; }
    public StopStringMatcher Stops { get; }
    public List<TokenLogprob>? Logprobs { get; }
    public double CumulativeLogprob { get; set; }
    public string? FinishReason { get; set; }
    public string? StopString { get; set; }
    public int? StopTokenId { get; set; }
    /// <summary>Released text length at the last emitted output (for deltas).</summary>
    public int EmittedTextLength { get; set; }
    /// <summary>Output tokens at the last emitted output.</summary>
    public int EmittedTokenCount { get; set; }
    /// <summary>The sampler's view of this sequence, created on first use and reused every step.</summary>
    public SamplingSequence? SamplingInput { get; set; }
    /// <summary>Guided-decoding bitmask buffer, one bit per vocabulary id.</summary>
    public ulong[]? Mask { get; set; }
    /// <summary>Timestamp (Stopwatch ticks) of the latest token, for inter-token latency.</summary>
    public long LastTokenTicks { get; set; }

    public ReadOnlySpan<int> Tokens => _tokens.AsSpan(0, Length);
    public IReadOnlyList<int> OutputIds => _outputView;
    public bool IsFinished => Status == SequenceStatus.Finished;
    /// <summary>True while the prompt (or, after preemption, prompt and output) is still being computed.</summary>
    public bool IsPrefilling => NumComputed < Length - 1;

    string ISchedulable.RequestId => Request.RequestId;
    int ISchedulable.Priority => Request.Priority;
    long ISchedulable.ArrivalOrder => Request.ArrivalOrder;

    public void Append(int token)
    {
        if (Length == _tokens.Length) Array.Resize(ref _tokens, _tokens.Length * 2);
        _tokens[Length++] = token;
    }

    /// <summary>An immutable view of the output ids so far: later appends never touch the elements it covers.</summary>
    public IReadOnlyList<int> OutputSnapshot() => new ArraySegment<int>(_tokens, PromptLength, OutputLength);

    /// <summary>A sibling sample continuing from this one's current state (n &gt; 1 fork).</summary>
    public Sequence Fork(int sampleIndex, Random rng, IncrementalDetokenizer? detokenizer, IGrammarMatcher? grammar, BlockTable table)
    {
        var s = new Sequence(Request, sampleIndex, _tokens[..PromptLength], rng, detokenizer, grammar, table)
        {
            NumComputed = NumComputed,
            Status = Status,
        };
        return s;
    }

    private sealed class OutputIdsView(Sequence s) : IReadOnlyList<int>
    {
        public int this[int index] => (uint)index < (uint)s.OutputLength ? s._tokens[s.PromptLength + index] : throw new ArgumentOutOfRangeException(nameof(index));
        public int Count => s.OutputLength;
        public IEnumerator<int> GetEnumerator()
        {
            for (int i = 0; i < s.OutputLength; i++) yield return s._tokens[s.PromptLength + i];
        }
        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
