// Modular.Templates: a hand-written interpreter for the Jinja subset that Hugging Face chat templates use.
// There is no .NET Jinja package, so lexer, parser and evaluator are written here from the Jinja language description.

namespace Modular.Templates;

/// <summary>Base of every error a chat template raises, at parse or at render time.</summary>
public abstract class TemplateException : Exception
{
    /// <summary>Creates the error; <paramref name="message"/> already carries the location.</summary>
    protected TemplateException(string message, int line, int column, string construct, Exception? inner = null)
        : base(message, inner)
    {
        Line = line;
        Column = column;
        Construct = construct;
    }

    /// <summary>1-based line in the template source.</summary>
    public int Line { get; }

    /// <summary>1-based column in the template source.</summary>
    public int Column { get; }

    /// <summary>The template construct being read or run, e.g. "for", "filter 'join'", "expression".</summary>
    public string Construct { get; }

    /// <summary>Formats "chat template line L, column C (construct): reason".</summary>
    protected static string Format(int line, int column, string construct, string reason)
        => $"chat template line {line}, column {column} ({construct}): {reason}";
}

/// <summary>The template source is not valid: an unclosed block, an unknown filter, a malformed expression.</summary>
public sealed class TemplateSyntaxException : TemplateException
{
    /// <summary>Creates the error at a source position.</summary>
    public TemplateSyntaxException(string reason, int line, int column, string construct)
        : base(Format(line, column, construct, reason), line, column, construct) => Reason = reason;

    /// <summary>What is wrong, without the location.</summary>
    public string Reason { get; }
}

/// <summary>Rendering failed: a type error, an undefined value used where Jinja refuses it, a limit reached.</summary>
public class TemplateRenderException : TemplateException
{
    /// <summary>Creates the error at a source position.</summary>
    public TemplateRenderException(string reason, int line, int column, string construct, Exception? inner = null)
        : base(Format(line, column, construct, reason), line, column, construct, inner) => Reason = reason;

    /// <summary>What went wrong, without the location.</summary>
    public string Reason { get; }
}

/// <summary>
/// The template itself called <c>raise_exception(message)</c>, the Hugging Face way of refusing a conversation
/// (e.g. "Conversation roles must alternate user/assistant/user/assistant/..."). <see cref="TemplateRenderException.Reason"/>
/// is the template's own message, fit to show to the client.
/// </summary>
public sealed class TemplateRaiseException : TemplateRenderException
{
    /// <summary>Creates the error at the call site of raise_exception.</summary>
    public TemplateRaiseException(string reason, int line, int column)
        : base(reason, line, column, "raise_exception") { }
}
