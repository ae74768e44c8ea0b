namespace Modular.Plugins.Guided.Json;

/// <summary>Regular expressions (full match) for the string formats the decoder enforces.</summary>
public static class Formats
{
    private const string Date = @"\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])";
    private const string Time = @"([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?";
    private const string Offset = @"([zZ]|[+-]([01]\d|2[0-3]):[0-5]\d)";
    private const string Octet = @"(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)";

    /// <summary>Pattern for <paramref name="format"/>, or null when the format is only an annotation here.</summary>
    public static string? Pattern(string format) => format switch
    {
        "date-time" => Date + "[tT ]" + Time + Offset,
        "date" => Date,
        "time" => Time + Offset + "?",
        "email" => @"[^\s@""]+@[^\s@""]+",
        "uuid" => @"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
        "uri" => @"[a-zA-Z][a-zA-Z0-9+.\-]*:[^\s""<>\\^`{|}]*",
        "ipv4" => Octet + @"\." + Octet + @"\." + Octet + @"\." + Octet,
        _ => null,
    };
}
