namespace Modular.TestPlugins.BrokenBackends;

/// <summary>
/// The one mistake a <see cref="FlawedBackend"/> makes; everything else is the CPU backend's correct math. Each is a
/// bug real backends have shipped, and each must make the conformance suite fail naming the op.
/// </summary>
public enum Flaw
{
    /// <summary>No mistake: the wrapper alone, to show the wrapping itself is sound.</summary>
    None,
    /// <summary>"broken-rope": rotary embedding read from position p + 1 (an off-by-one in the position index).</summary>
    Rope,
    /// <summary>"broken-blocktable": attention reads keys/values as if each sequence's blocks were 0, 1, 2, ...</summary>
    BlockTable,
    /// <summary>"broken-norm": RMSNorm drops the weight offset (Gemma's 1 + w becomes w).</summary>
    Norm,
    /// <summary>"broken-bias": Linear drops the bias.</summary>
    Bias,
}

/// <summary>Parsing of the <c>flaw</c> setting.</summary>
public static class Flaws
{
    /// <summary>Parses "rope", "blocktable", "norm", "bias" or "none" (case-insensitive); the error lists them.</summary>
    public static Flaw Parse(string? value, string source)
    {
        if (string.IsNullOrWhiteSpace(value))
            throw new ArgumentException($"the broken backend needs a flaw: set {source} to one of {Names}");
        if (Enum.TryParse<Flaw>(value.Trim(), ignoreCase: true, out var flaw) && Enum.IsDefined(flaw)) return flaw;
        throw new ArgumentException($"{source} is \"{value}\", which is not a known flaw; use one of {Names}");
    }

    private static string Names => string.Join(", ", Enum.GetNames<Flaw>()).ToLowerInvariant();
}
