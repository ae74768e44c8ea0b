using System.Text;

namespace Modular.Tokenization;

/// <summary>
/// SentencePiece-style BPE as Hugging Face runs it for Llama-2/Mistral tokenizer.json files: spaces become
/// <c>▁</c> (U+2581), a <c>▁</c> is prepended per the Metaspace/Prepend rules, merges apply by rank over Unicode
/// characters, and a character missing from the vocabulary falls back to its UTF-8 bytes as <c>&lt;0xNN&gt;</c> tokens.
/// </summary>
/// <remarks>
/// Written here rather than on Microsoft.ML.Tokenizers because its <see cref="Microsoft.ML.Tokenizers.BpeOptions"/>
/// has no byte fallback (an unknown character can only become the unknown token), no Metaspace prepend schemes, and
/// its SentencePiece tokenizer loads only the protobuf <c>tokenizer.model</c>, which these directories do not carry.
/// </remarks>
internal sealed class ByteFallbackBpeEncoder : ISegmentEncoder
{
    private readonly Dictionary<string, int> _vocab;
    private readonly Dictionary<long, (int Rank, int NewId)> _merges;
    private readonly int[] _bmpCharIds;
    private readonly int[] _byteIds = new int[256];
    private readonly int _unkId;
    private readonly bool _fuseUnk, _ignoreMerges, _byteFallback;
    private readonly List<NormalizerStep> _normalizers;
    private readonly char? _metaspace;
    private readonly PrependScheme _prepend;
    private readonly bool _split;
    // Word-boundary mark that is safe to pre-split on (see CanSplitBeforeMark), or null.
    private readonly char? _boundary;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, int[]> _cache = new(StringComparer.Ordinal);
    private int _cacheSize;
    private const int MaxCachedWordLength = 48, MaxCacheEntries = 200_000;

    // Work buffers, one set per thread: encoding runs concurrently for different requests.
    [ThreadStatic] private static Workspace? t_work;

    public ByteFallbackBpeEncoder(TokenizerSpec spec)
    {
        _vocab = spec.Vocab;
        _normalizers = spec.Normalizers;
        _metaspace = spec.Metaspace;
        _prepend = spec.MetaspacePrepend;
        _split = spec.MetaspaceSplit;
        char? mark = spec.Metaspace;
        foreach (var step in spec.Normalizers)
            if (step is NormalizerStep.Replace { From: " ", To.Length: 1 } r) mark = r.To[0];
        // ignore_merges looks the whole unsplit word up first, so pre-splitting would change it: keep HF's order then.
        _boundary = !spec.IgnoreMerges && mark is char m && CanSplitBeforeMark(spec.Vocab, m) ? m : null;
        _fuseUnk = spec.FuseUnknown;
        _ignoreMerges = spec.IgnoreMerges;
        _byteFallback = spec.ByteFallback;
        _unkId = spec.UnknownToken is { } unk && _vocab.TryGetValue(unk, out int u) ? u : -1;

        _bmpCharIds = new int[char.MaxValue + 1];
        Array.Fill(_bmpCharIds, -1);
        foreach (var (token, id) in _vocab)
            if (token.Length == 1) _bmpCharIds[token[0]] = id;

        for (int b = 0; b < 256; b++)
            _byteIds[b] = spec.ByteFallback && _vocab.TryGetValue($"<0x{b:X2}>", out int id) ? id : -1;

        _merges = new Dictionary<long, (int, int)>(spec.Merges.Count);
        for (int rank = 0; rank < spec.Merges.Count; rank++)
        {
            var (left, right) = spec.Merges[rank];
            if (!_vocab.TryGetValue(left, out int a) || !_vocab.TryGetValue(right, out int b) || !_vocab.TryGetValue(left + right, out int merged))
                throw new TokenizerLoadException(spec.TokenizerPath, $"model.merges[{rank}] \"{left} {right}\" uses a token missing from model.vocab");
            _merges.TryAdd(Key(a, b), (rank, merged)); // first (lowest-rank) occurrence wins, as in HF
        }
    }

    /// <summary>
    /// Hugging Face runs BPE over the whole segment when Metaspace has <c>split: false</c> (transformers' Llama), which
    /// is quadratic-ish in prompt length and uncacheable. When no vocabulary token has a non-mark character right
    /// before a mark (true of Llama-2/Mistral: only runs like "▁▁▁" contain inner marks), no merge can span a
    /// "x|▁" boundary, so splitting there gives identical ids, short words, and a useful word cache.
    /// </summary>
    private static bool CanSplitBeforeMark(Dictionary<string, int> vocab, char mark)
    {
        foreach (var token in vocab.Keys)
            for (int i = 1; i < token.Length; i++)
                if (token[i] == mark && token[i - 1] != mark) return false;
        return true;
    }

    private static long Key(int a, int b) => ((long)a << 32) | (uint)b;

    public void Encode(string text, bool atTextStart, List<int> ids)
    {
        if (text.Length == 0) return;
        foreach (var step in _normalizers) text = step.Apply(text);
        if (_metaspace is char mark)
        {
            text = text.Replace(' ', mark);
            // Metaspace adds the word-boundary mark unless the text already starts with one; "first" only at offset 0.
            bool prepend = _prepend == PrependScheme.Always || (_prepend == PrependScheme.First && atTextStart);
            if (prepend && text[0] != mark) text = mark + text;
            if (_split)
            {
                int start = 0;
                for (int i = 1; i < text.Length; i++)
                    if (text[i] == mark) { EncodeWord(text.AsSpan(start, i - start), ids); start = i; }
                EncodeWord(text.AsSpan(start), ids);
                return;
            }
        }
        if (_boundary is char b)
        {
            int start = 0;
            for (int i = 1; i < text.Length; i++)
                if (text[i] == b && text[i - 1] != b) { EncodeWord(text.AsSpan(start, i - start), ids); start = i; }
            EncodeWord(text.AsSpan(start), ids);
            return;
        }
        EncodeWord(text, ids);
    }

    private void EncodeWord(ReadOnlySpan<char> word, List<int> output)
    {
        if (word.IsEmpty) return;
        if (_ignoreMerges && _vocab.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(word, out int whole))
        {
            output.Add(whole);
            return;
        }
        bool cacheable = word.Length <= MaxCachedWordLength;
        if (cacheable && _cache.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(word, out var cached))
        {
            output.AddRange(cached);
            return;
        }
        var w = t_work ??= new Workspace();
        w.Reset(word.Length * 4);
        BuildSymbols(word, w);
        MergeAll(w);
        int first = output.Count;
        for (int i = 0; i >= 0 && i < w.Count; i = w.Next[i]) output.Add(w.Ids[i]);
        // ConcurrentDictionary.Count takes every lock, so the size is tracked separately (approximately is enough).
        if (cacheable && _cacheSize < MaxCacheEntries && _cache.TryAdd(word.ToString(), output.GetRange(first, output.Count - first).ToArray()))
            Interlocked.Increment(ref _cacheSize);
    }

    // Initial symbols: one per Unicode scalar; unknown scalars become byte tokens (or the unknown token).
    private void BuildSymbols(ReadOnlySpan<char> word, Workspace w)
    {
        Span<byte> utf8 = stackalloc byte[4];
        bool lastWasUnk = false;
        for (int i = 0; i < word.Length; i++)
        {
            char c = word[i];
            int id;
            int width = char.IsHighSurrogate(c) && i + 1 < word.Length && char.IsLowSurrogate(word[i + 1]) ? 2 : 1;
            if (width == 1) id = _bmpCharIds[c];
            else id = _vocab.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(word.Slice(i, 2), out int v) ? v : -1;

            if (id >= 0) { w.Add(id); lastWasUnk = false; }
            else if (_byteFallback && TryAddBytes(word.Slice(i, width), utf8, w)) lastWasUnk = false;
            else if (_unkId >= 0)
            {
                if (!(_fuseUnk && lastWasUnk)) w.Add(_unkId);
                lastWasUnk = true;
            }
            i += width - 1;
        }
    }

    // HF uses the byte tokens only when every byte of the character has one; otherwise the character is unknown.
    private bool TryAddBytes(ReadOnlySpan<char> scalar, Span<byte> utf8, Workspace w)
    {
        int n = Rune.DecodeFromUtf16(scalar, out Rune r, out _) == System.Buffers.OperationStatus.Done
            ? r.EncodeToUtf8(utf8) : Rune.ReplacementChar.EncodeToUtf8(utf8);
        for (int k = 0; k < n; k++) if (_byteIds[utf8[k]] < 0) return false;
        for (int k = 0; k < n; k++) w.Add(_byteIds[utf8[k]]);
        return true;
    }

    // Applies merges lowest rank first (leftmost on ties) over a linked list of symbols, as HF's Word::merge_all.
    private void MergeAll(Workspace w)
    {
        var queue = w.Queue;
        queue.Clear();
        for (int i = 0; i + 1 < w.Count; i++) Enqueue(w, i, i + 1);
        while (queue.TryDequeue(out var m, out _))
        {
            int pos = m.Pos;
            if (!w.Alive[pos]) continue;
            int next = w.Next[pos];
            if (next < 0 || !_merges.TryGetValue(Key(w.Ids[pos], w.Ids[next]), out var merge) || merge.Rank != m.Rank) continue;
            w.Ids[pos] = merge.NewId;
            w.Alive[next] = false;
            int after = w.Next[next];
            w.Next[pos] = after;
            if (after >= 0) w.Prev[after] = pos;
            if (w.Prev[pos] >= 0) Enqueue(w, w.Prev[pos], pos);
            if (after >= 0) Enqueue(w, pos, after);
        }
    }

    private void Enqueue(Workspace w, int left, int right)
    {
        if (_merges.TryGetValue(Key(w.Ids[left], w.Ids[right]), out var merge))
            w.Queue.Enqueue(new PendingMerge(left, merge.Rank), ((long)merge.Rank << 32) | (uint)left);
    }

    private readonly record struct PendingMerge(int Pos, int Rank);

    private sealed class Workspace
    {
        public int[] Ids = new int[256], Prev = new int[256], Next = new int[256];
        public bool[] Alive = new bool[256];
        public int Count;
        public readonly PriorityQueue<PendingMerge, long> Queue = new();

        public void Reset(int capacity)
        {
            if (Ids.Length < capacity)
            {
                Ids = new int[capacity]; Prev = new int[capacity]; Next = new int[capacity]; Alive = new bool[capacity];
            }
            Count = 0;
        }

        public void Add(int id)
        {
            Ids[Count] = id;
            Prev[Count] = Count - 1;
            Next[Count] = -1;
            if (Count > 0) Next[Count - 1] = Count;
            Alive[Count] = true;
            Count++;
        }
    }
}
