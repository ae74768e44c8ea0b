using Modular.Abstractions;

namespace Modular.Engine;

/// <summary>
/// The paged KV block pool, shaped like vLLM v1's block pool: a fixed array of blocks, one free queue ordered by
/// eviction priority (least recently freed first), reference counts, and a hash → block map of full blocks whose
/// contents are known (automatic prefix caching). A free block keeps its cached contents until it is handed out
/// again, so a later request with the same prefix can revive it.
/// </summary>
/// <remarks>Not thread-safe: the engine thread owns it.</remarks>
public sealed class BlockAllocator : IKvAllocator
{
    private const ulong NoHash = 0;

    private readonly int[] _refCount;
    private readonly ulong[] _hash;           // content hash of a registered block, NoHash otherwise
    private readonly bool[] _registered;      // block is the map's entry for _hash
    private readonly Dictionary<ulong, int> _cached = new();
    private readonly FreeBlockQueue _free;
    private readonly bool _enableCaching;

    /// <summary>Creates a pool of <paramref name="numBlocks"/> blocks of <paramref name="blockSize"/> slots.</summary>
    public BlockAllocator(int numBlocks, int blockSize, bool enablePrefixCaching = true)
    {
        if (numBlocks < 1) throw new ArgumentOutOfRangeException(nameof(numBlocks), numBlocks, "the KV pool needs at least one block");
        if (blockSize < 1) throw new ArgumentOutOfRangeException(nameof(blockSize), blockSize, "block size must be at least 1");
        TotalBlocks = numBlocks;
        BlockSize = blockSize;
        _enableCaching = enablePrefixCaching;
        _refCount = new int[numBlocks];
        _hash = new ulong[numBlocks];
        _registered = new bool[numBlocks];
        _free = new FreeBlockQueue(numBlocks);
    }

    /// <inheritdoc />
    public int BlockSize { get; }
    /// <inheritdoc />
    public int TotalBlocks { get; }
    /// <inheritdoc />
    public int FreeBlocks => _free.Count;
    /// <inheritdoc />
    public long PrefixQueryTokens { get; private set; }
    /// <inheritdoc />
    public long PrefixHitTokens { get; private set; }
    /// <summary>Copy-on-write block copies handed out so far.</summary>
    public long CopyOnWriteCount { get; private set; }
    /// <summary>Full blocks currently registered in the prefix cache (held or free).</summary>
    public int CachedBlocks => _cached.Count;
    /// <summary>Fraction of the pool held by sequences, in [0, 1].</summary>
    public double Usage => 1.0 - (double)FreeBlocks / TotalBlocks;
    /// <summary>Blocks needed to hold <paramref name="numTokens"/> tokens.</summary>
    public int BlocksFor(int numTokens) => (numTokens + BlockSize - 1) / BlockSize;
    /// <summary>References to <paramref name="block"/> (for tests and diagnostics).</summary>
    public int RefCount(int block) => _refCount[block];

    /// <inheritdoc />
    public int MatchPrefix(BlockTable table, ReadOnlySpan<int> tokens)
    {
        if (table.Blocks.Count != 0) throw new InvalidOperationException("MatchPrefix needs an empty block table");
        PrefixQueryTokens += tokens.Length;
        if (!_enableCaching || tokens.Length == 0) return 0;
        // Leave at least one token to compute: its logits are what the step is for.
        int maxBlocks = (tokens.Length - 1) / BlockSize;
        ulong parent = NoHash;
        for (int i = 0; i < maxBlocks; i++)
        {
            ulong h = BlockHasher.Hash(parent, table.ExtraKey, tokens.Slice(i * BlockSize, BlockSize));
            if (!_cached.TryGetValue(h, out int block)) break;
            if (_refCount[block]++ == 0) _free.Remove(block);
            table.Blocks.Add(block);
            table.BlockHashes.Add(h);
            parent = h;
        }
        int hit = table.Blocks.Count * BlockSize;
        PrefixHitTokens += hit;
        return hit;
    }

    /// <inheritdoc />
    public bool TryAllocate(BlockTable table, int numTokens)
    {
        int need = BlocksFor(numTokens) - table.Blocks.Count;
        if (need <= 0) return true;
        if (need > _free.Count) return false;
        for (int i = 0; i < need; i++) table.Blocks.Add(TakeFree());
        return true;
    }

    /// <inheritdoc />
    public void CacheFullBlocks(BlockTable table, ReadOnlySpan<int> tokens, int numComputedTokens)
    {
        if (!_enableCaching) return;
        int full = Math.Min(numComputedTokens / BlockSize, table.Blocks.Count);
        for (int i = table.BlockHashes.Count; i < full; i++)
        {
            ulong parent = i == 0 ? NoHash : table.BlockHashes[i - 1];
            ulong h = BlockHasher.Hash(parent, table.ExtraKey, tokens.Slice(i * BlockSize, BlockSize));
            table.BlockHashes.Add(h);
            int block = table.Blocks[i];
            // Another sequence may have computed the same contents first; keep its block as the cached one.
            if (_registered[block] || !_cached.TryAdd(h, block)) continue;
            _hash[block] = h;
            _registered[block] = true;
        }
    }

    /// <inheritdoc />
    public (int Src, int Dst)? CopyOnWrite(BlockTable table, int position, out bool outOfBlocks)
    {
        outOfBlocks = false;
        int index = position / BlockSize;
        if (index >= table.Blocks.Count) return null;
        int block = table.Blocks[index];
        if (_refCount[block] <= 1) return null;
        if (_free.Count == 0) { outOfBlocks = true; return null; }
        int copy = TakeFree();
        CopyOnWriteCount++;
        _refCount[block]--;
        table.Blocks[index] = copy;
        // The private copy is about to diverge; its hash (if any) is recomputed once it is full.
        if (table.BlockHashes.Count > index) table.BlockHashes.RemoveRange(index, table.BlockHashes.Count - index);
        return (block, copy);
    }

    /// <inheritdoc />
    public BlockTable Fork(BlockTable table)
    {
        var copy = new BlockTable { ExtraKey = table.ExtraKey };
        foreach (int b in table.Blocks)
        {
            _refCount[b]++;
            copy.Blocks.Add(b);
        }
        copy.BlockHashes.AddRange(table.BlockHashes);
        return copy;
    }

    /// <inheritdoc />
    public void Free(BlockTable table)
    {
        // Reverse order puts a sequence's tail blocks first in the eviction queue: a shared prefix outlives them.
        for (int i = table.Blocks.Count - 1; i >= 0; i--)
        {
            int b = table.Blocks[i];
            if (_refCount[b] <= 0) throw new InvalidOperationException($"block {b} freed more often than it was taken");
            if (--_refCount[b] == 0) _free.PushBack(b);
        }
        table.Blocks.Clear();
        table.BlockHashes.Clear();
    }

    /// <summary>Drops every cached hash (free blocks stay free); for "reset prefix cache".</summary>
    public void ResetPrefixCache()
    {
        foreach (var (_, b) in _cached) { _registered[b] = false; _hash[b] = NoHash; }
        _cached.Clear();
    }

    // Pops the least recently freed block, evicting its cached contents.
    private int TakeFree()
    {
        int b = _free.PopFront();
        if (_registered[b])
        {
            _cached.Remove(_hash[b]);
            _registered[b] = false;
            _hash[b] = NoHash;
        }
        _refCount[b] = 1;
        return b;
    }
}
