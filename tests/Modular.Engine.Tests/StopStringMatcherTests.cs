namespace Modular.Engine.Tests;

public class StopStringMatcherTests
{
    [Fact]
    public void HoldsBackAPossibleStopPrefixAcrossDeltas()
    {
        var m = new StopStringMatcher(["END!"], includeStop: false);
        Assert.Null(m.Append("hello E", true));
        Assert.Equal("hello ", m.Released);
        Assert.Null(m.Append("N", true));
        Assert.Equal("hello ", m.Released);
        Assert.Null(m.Append("x", true)); // "ENx" cannot start the stop string any more
        Assert.Equal("hello ENx", m.Released);
        Assert.Equal("END!", m.Append(" EN", true) ?? m.Append("D!tail", true));
        Assert.Equal("hello ENx ", m.Released);
    }

    [Fact]
    public void IncludesTheStopStringWhenAsked()
    {
        var m = new StopStringMatcher(["ab", "zzz"], includeStop: true);
        Assert.Equal("ab", m.Append("xxa", true) ?? m.Append("bcd", true));
        Assert.Equal("xxab", m.Released);
    }
}
