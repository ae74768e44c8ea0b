namespace Modular.Abstractions;

/// <summary>
/// Version of the plugin contracts in this assembly. A plugin states the major version it was built against;
/// the host refuses a plugin whose major differs (a breaking change) and accepts any minor (additions only).
/// </summary>
public static class ContractVersion
{
    /// <summary>Bumped on any breaking change to a contract in this assembly.</summary>
    public const int Major = 1;

    /// <summary>Bumped when members are added without breaking existing plugins.</summary>
    public const int Minor = 2;

    /// <summary>"major.minor", as printed in errors and conformance reports.</summary>
    public static string Current => $"{Major}.{Minor}";
}
