namespace Modular.Models.Loading;

/// <summary>A model file or config is unreadable or unsupported; the message names the file and the problem.</summary>
public sealed class ModelFileException(string file, string problem)
    : Exception($"{file}: {problem}")
{
    /// <summary>The offending file.</summary>
    public string File { get; } = file;
}
