namespace Modular.Server.WebConsole;

/// <summary>One static file of the web console, read once from the assembly's embedded resources.</summary>
/// <param name="Name">File name as requested under <c>/console/</c> (for example <c>chat.js</c>).</param>
/// <param name="ContentType">The <c>Content-Type</c> header value, charset included for text.</param>
/// <param name="Content">The file's bytes.</param>
/// <param name="ETag">Strong entity tag (quoted) derived from the content hash, so a changed build revalidates.</param>
public sealed record ConsoleAsset(string Name, string ContentType, ReadOnlyMemory<byte> Content, string ETag);
