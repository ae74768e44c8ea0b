using System.CommandLine;
using Modular.Cli.Commands;

var root = new RootCommand("modular: LLM inference and serving engine")
{
    ServeCommand.Create(),
    RouteCommand.Create(),
    GenerateCommand.Create(),
    VerifyGoldenCommand.Create(),
    VerifyTokenizerCommand.Create(),
    ConformanceCommand.Create(),
    GuidedCheckCommand.Create(),
    new Command("bench", "Benchmarks: latency, throughput, serve") { BenchLatencyCommand.Create(), BenchThroughputCommand.Create(), BenchServeCommand.Create() },
};
try
{
    // No forced exit on SIGTERM: `serve` drains running requests itself, bounded by --drain-timeout.
    return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
}
catch (Exception e) when (e is Modular.Hosting.PluginLoadException or Modular.Models.Loading.ModelFileException
    or Modular.Tokenization.TokenizerLoadException or ArgumentException)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 2;
}
