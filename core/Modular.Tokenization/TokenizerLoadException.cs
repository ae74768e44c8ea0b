namespace Modular.Tokenization;

/// <summary>
/// A tokenizer file is missing, is not valid JSON, or describes something this loader does not support.
/// The message always names the file and, where it can, the JSON field.
/// </summary>
public sealed class TokenizerLoadException : Exception
{
    /// <summary>The file the problem was found in.</summary>
    public string FilePath { get; }

    /// <summary>Creates the exception for <paramref name="filePath"/>.</summary>
    public TokenizerLoadException(string filePath, string message, Exception? inner = null)
        : base($"{filePath}: {message}", inner)
    {
        FilePath = filePath;
    }
}
