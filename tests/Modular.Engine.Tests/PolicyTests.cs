using Modular.Abstractions;

namespace Modular.Engine.Tests;

public class PolicyTests
{
    private sealed record R(string RequestId, int Priority, long ArrivalOrder) : ISchedulable;

    [Fact]
    public void FcfsAdmitsByArrivalAndPreemptsTheLatest()
    {
        var p = new FcfsPolicy();
        Assert.True(p.Compare(new R("a", 5, 1), new R("b", 0, 2)) < 0);
        Assert.Equal(1, p.SelectVictim([new R("a", 0, 1), new R("b", 0, 7), new R("c", 0, 3)]));
    }

    [Fact]
    public void PriorityAdmitsLowerValuesFirstAndPreemptsTheLeastImportant()
    {
        var p = new PriorityPolicy();
        Assert.True(p.Compare(new R("a", 0, 9), new R("b", 1, 1)) < 0);
        Assert.True(p.Compare(new R("a", 1, 1), new R("b", 1, 2)) < 0);
        Assert.Equal(0, p.SelectVictim([new R("a", 3, 1), new R("b", 0, 7), new R("c", 3, 0)]));
        Assert.Throws<ArgumentException>(() => SchedulerPolicies.Create("lifo"));
        Assert.Equal("priority", SchedulerPolicies.Create("Priority").Name);
    }
}
