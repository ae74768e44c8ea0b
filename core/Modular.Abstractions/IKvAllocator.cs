namespace Modular.Abstractions;

/// <summary>
/// The blocks one sequence holds, in order, and how many of its leading tokens are in the prefix cache.
/// Owned by the engine thread; allocators mutate it.
/// </summary>
public sealed class BlockTable
{
    /// <summary>Block ids, one per BlockSize tokens.</summary>
    public List<int> Blocks { get; } = new();
    /// <summary>Hashes of the leading full blocks already registered in the prefix cache.</summary>
    public List<ulong> BlockHashes { get; } = new();
    /// <summary>Extra key mixed into the first block hash (adapter id, cache_salt); 0 for none.</summary>
    public ulong ExtraKey { get; set; }
}

/// <summary>
/// Paged KV block pool with automatic prefix caching (chained block hashes), reference counts, LRU eviction of
/// cached free blocks and copy-on-write for shared blocks.
/// </summary>
public interface IKvAllocator
{
    /// <summary>Token slots per block.</summary>
    int BlockSize { get; }
    /// <summary>Blocks in the pool.</summary>
    int TotalBlocks { get; }
    /// <summary>Blocks not referenced by any sequence (cached or not). Equals TotalBlocks when idle.</summary>
    int FreeBlocks { get; }
    /// <summary>Prefix-cache lookups counted in tokens.</summary>
    long PrefixQueryTokens { get; }
    /// <summary>Tokens found in the prefix cache.</summary>
    long PrefixHitTokens { get; }

    /// <summary>
    /// For an empty table: attaches the longest run of cached full blocks matching <paramref name="tokens"/> and
    /// returns how many tokens they cover (a multiple of BlockSize, always less than tokens.Length so one token
    /// is left to compute).
    /// </summary>
    int MatchPrefix(BlockTable table, ReadOnlySpan<int> tokens);

    /// <summary>
    /// Grows the table to hold <paramref name="numTokens"/> tokens. Returns false, changing nothing, when the
    /// pool lacks blocks.
    /// </summary>
    bool TryAllocate(BlockTable table, int numTokens);

    /// <summary>
    /// Registers every newly completed full block (the first <paramref name="numComputedTokens"/> of
    /// <paramref name="tokens"/>) in the prefix cache.
    /// </summary>
    void CacheFullBlocks(BlockTable table, ReadOnlySpan<int> tokens, int numComputedTokens);

    /// <summary>
    /// Before writing token slot <paramref name="position"/>: if that block is shared, replaces it with a private
    /// copy and returns (src, dst) for the device copy; otherwise returns null. Returns null as well when no
    /// block is free (the caller preempts).
    /// </summary>
    (int Src, int Dst)? CopyOnWrite(BlockTable table, int position, out bool outOfBlocks);

    /// <summary>A new table sharing all of <paramref name="table"/>'s blocks (n &gt; 1 samples of one prompt).</summary>
    BlockTable Fork(BlockTable table);

    /// <summary>Releases the table's blocks (cached blocks stay reusable until evicted).</summary>
    void Free(BlockTable table);
}
