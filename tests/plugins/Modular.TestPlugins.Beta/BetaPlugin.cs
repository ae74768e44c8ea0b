using Modular.TestPlugins.Common;

namespace Modular.TestPlugins.Beta;

/// <summary>Backend "beta", a rival of alpha for "auto" selection.</summary>
public sealed class BetaPlugin() : ScoredBackendPlugin("beta");
