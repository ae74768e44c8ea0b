using Modular.Abstractions;

namespace Modular.Engine.Tests;

/// <summary>The block pool on its own: prefix matching, LRU eviction of cached free blocks, forks and copy-on-write.</summary>
public class BlockAllocatorTests
{
    private static int[] Seq(int start, int n) => Enumerable.Range(start, n).ToArray();

    [Fact]
    public void CachedFullBlocksAreFoundAgainButTheLastTokenIsAlwaysLeftToCompute()
    {
        var a = new BlockAllocator(8, 4);
        var tokens = Seq(100, 10); // 2 full blocks + 2 tokens
        var t1 = new BlockTable();
        Assert.Equal(0, a.MatchPrefix(t1, tokens));
        Assert.True(a.TryAllocate(t1, 10));
        Assert.Equal(3, t1.Blocks.Count);
        a.CacheFullBlocks(t1, tokens, 10);
        Assert.Equal(2, t1.BlockHashes.Count);
        a.Free(t1);
        Assert.Equal(8, a.FreeBlocks);

        var t2 = new BlockTable();
        Assert.Equal(8, a.MatchPrefix(t2, tokens));
        // Exactly 8 tokens: only one block may be reused, so the 8th token still gets computed.
        var t3 = new BlockTable();
        Assert.Equal(4, a.MatchPrefix(t3, tokens[..8]));
        Assert.Equal(t2.Blocks[0], t3.Blocks[0]);
        Assert.Equal(2, a.RefCount(t2.Blocks[0]));
        Assert.Equal(10 + 10 + 8, a.PrefixQueryTokens);
        Assert.Equal(12, a.PrefixHitTokens);
        a.Free(t2); a.Free(t3);
        Assert.Equal(8, a.FreeBlocks);
    }

    [Fact]
    public void HashesChainSoADifferentEarlierBlockMissesLaterOnes()
    {
        var a = new BlockAllocator(8, 4);
        var tokens = Seq(0, 9);
        var t = new BlockTable();
        a.TryAllocate(t, 9);
        a.CacheFullBlocks(t, tokens, 9);
        a.Free(t);
        var other = (int[])tokens.Clone();
        other[1] = 999; // first block differs, second block is identical
        var t2 = new BlockTable();
        Assert.Equal(0, a.MatchPrefix(t2, other));
        var salted = new BlockTable { ExtraKey = BlockHasher.SaltKey("tenant-b") };
        Assert.Equal(0, a.MatchPrefix(salted, tokens));
        a.Free(t2); a.Free(salted);
    }

    [Fact]
    public void EvictionTakesTheLeastRecentlyFreedBlockFirst()
    {
        var a = new BlockAllocator(4, 2);
        var x = Seq(10, 3); var y = Seq(20, 3);
        var tx = new BlockTable(); a.TryAllocate(tx, 3); a.CacheFullBlocks(tx, x, 3);
        var ty = new BlockTable(); a.TryAllocate(ty, 3); a.CacheFullBlocks(ty, y, 3);
        a.Free(tx); // x's cached block is now older in the queue than y's
        a.Free(ty);
        Assert.Equal(2, a.CachedBlocks);
        var filler = new BlockTable();
        Assert.True(a.TryAllocate(filler, 2)); // takes one block: x's full block (freed first, tail blocks before it)
        Assert.True(a.TryAllocate(filler, 4)); // second block: x's partial block or y's tail
        var probeY = new BlockTable();
        Assert.Equal(2, a.MatchPrefix(probeY, y));
        var probeX = new BlockTable();
        Assert.Equal(0, a.MatchPrefix(probeX, x));
        a.Free(filler); a.Free(probeY); a.Free(probeX);
        Assert.False(a.TryAllocate(new BlockTable(), 9));
        Assert.Equal(4, a.FreeBlocks);
    }

    [Fact]
    public void ForkSharesBlocksAndCopyOnWriteGivesAPrivateCopy()
    {
        var a = new BlockAllocator(6, 4);
        var parent = new BlockTable();
        a.TryAllocate(parent, 6); // blocks: full + partial
        var child = a.Fork(parent);
        Assert.All(parent.Blocks, b => Assert.Equal(2, a.RefCount(b)));
        var copy = a.CopyOnWrite(child, 6, out bool oom);
        Assert.False(oom);
        Assert.NotNull(copy);
        Assert.Equal(parent.Blocks[1], copy.Value.Src);
        Assert.Equal(child.Blocks[1], copy.Value.Dst);
        Assert.NotEqual(parent.Blocks[1], child.Blocks[1]);
        Assert.Equal(parent.Blocks[0], child.Blocks[0]);
        // The parent is now the only holder of its partial block: writing needs no copy.
        Assert.Null(a.CopyOnWrite(parent, 6, out _));
        Assert.Equal(1, a.CopyOnWriteCount);
        a.Free(parent); a.Free(child);
        Assert.Equal(6, a.FreeBlocks);
    }

    [Fact]
    public void CopyOnWriteReportsAnEmptyPool()
    {
        var a = new BlockAllocator(2, 4);
        var parent = new BlockTable();
        a.TryAllocate(parent, 5);
        var child = a.Fork(parent);
        Assert.Null(a.CopyOnWrite(child, 5, out bool oom));
        Assert.True(oom);
        a.Free(child); a.Free(parent);
        Assert.Equal(2, a.FreeBlocks);
    }

    [Fact]
    public void FailedAllocationChangesNothing()
    {
        var a = new BlockAllocator(3, 4);
        var t = new BlockTable();
        Assert.True(a.TryAllocate(t, 8));
        Assert.False(a.TryAllocate(t, 13));
        Assert.Equal(2, t.Blocks.Count);
        Assert.Equal(1, a.FreeBlocks);
        a.Free(t);
    }
}
