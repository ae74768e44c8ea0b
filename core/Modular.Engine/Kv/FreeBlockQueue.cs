namespace Modular.Engine;

/// <summary>
/// Doubly linked list of free block ids over two arrays, with O(1) push-back, pop-front and removal from the middle
/// (a cached free block revived by a prefix hit leaves the queue wherever it is).
/// </summary>
internal sealed class FreeBlockQueue
{
    private readonly int[] _prev;
    private readonly int[] _next;
    private readonly bool[] _inQueue;
    private readonly int _sentinel;

    /// <summary>A queue holding blocks 0..n-1 in order.</summary>
    public FreeBlockQueue(int n)
    {
        _sentinel = n;
        _prev = new int[n + 1];
        _next = new int[n + 1];
        _inQueue = new bool[n];
        _prev[_sentinel] = _next[_sentinel] = _sentinel;
        for (int b = 0; b < n; b++) PushBack(b);
    }

    /// <summary>Blocks in the queue.</summary>
    public int Count { get; private set; }

    /// <summary>Appends <paramref name="block"/> (evicted last).</summary>
    public void PushBack(int block)
    {
        if (_inQueue[block]) throw new InvalidOperationException($"block {block} is already free");
        int last = _prev[_sentinel];
        _next[last] = block;
        _prev[block] = last;
        _next[block] = _sentinel;
        _prev[_sentinel] = block;
        _inQueue[block] = true;
        Count++;
    }

    /// <summary>Removes and returns the first block (the next to evict).</summary>
    public int PopFront()
    {
        if (Count == 0) throw new InvalidOperationException("no free KV block");
        int b = _next[_sentinel];
        Remove(b);
        return b;
    }

    /// <summary>Takes <paramref name="block"/> out of the queue.</summary>
    public void Remove(int block)
    {
        if (!_inQueue[block]) throw new InvalidOperationException($"block {block} is not free");
        _next[_prev[block]] = _next[block];
        _prev[_next[block]] = _prev[block];
        _inQueue[block] = false;
        Count--;
    }
}
