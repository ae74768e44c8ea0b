using Modular.Abstractions;
using Modular.Plugins.Guided;

namespace Modular.Guided.Tests;

/// <summary>
/// A constraint with an empty language (found by the HTTP fuzzer: <c>guided_regex: ""</c>) is refused when it is
/// compiled, so the request gets a 400 instead of failing at its first step.
/// </summary>
public sealed class EmptyRegexTests
{
    [Theory]
    [InlineData("")]
    [InlineData("[^\\s\\S]")]
    public void ConstraintWithNoOutputIsRefusedAtCompile(string regex)
    {
        var e = Assert.Throws<GuidedSpecException>(() => new GuidedDecoder().Create(new GuidedSpec(GuidedKind.Regex, regex), new TestVocab()));
        Assert.Contains("accepts no output", e.Message);
    }
}
