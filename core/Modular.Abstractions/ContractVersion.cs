namespace Modular.Abstractions;

/// <summary>
/// Version of the plugin contracts in this assembly. A plugin states the major version it was built against;
/// the host refuses a plugin whose major differs (a breaking change) and accepts any minor (additions only).
/// </summary>
public static class ContractVersion
{
    /// <summary>Bumped on any breaking change to a contract in this assembly.</summary>
    public const int Major = 1;

    /// <summary>
    /// Bumped when members are added without breaking existing plugins. History: 1.1 optional backend capabilities;
    /// 1.2 <c>IDeviceSampler</c>; 1.3 <c>IGrammarMatcher.FillMask(Span&lt;ulong&gt;, int)</c>, the budget-aware mask
    /// (a default method: matchers built against 1.2 keep working and simply ignore the budget).
    /// </summary>
    public const int Minor = 3;

    /// <summary>"major.minor", as printed in errors and conformance reports.</summary>
    public static string Current => $"{Major}.{Minor}";
}
