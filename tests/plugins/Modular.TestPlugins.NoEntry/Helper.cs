namespace Modular.TestPlugins.NoEntry;

/// <summary>An ordinary library type: this assembly has no IPlugin and must be refused.</summary>
public static class Helper
{
    /// <summary>Something to compile.</summary>
    public static int Answer() => 42;
}
