// Modular.Templates: a hand-written interpreter for the Jinja subset that Hugging Face chat templates use.
// No .NET Jinja package exists, so the lexer, parser and evaluator here are written from the Jinja language
// description, matching the environment transformers renders chat templates in: trim_blocks and lstrip_blocks on,
// keep_trailing_newline off, default Undefined, loop controls, HF's tojson/raise_exception/strftime_now.

using System.Text;
using System.Text.Json.Nodes;
using Modular.Templates.Lexing;
using Modular.Templates.Parsing;
using Modular.Templates.Runtime;
using Modular.Templates.Syntax;

namespace Modular.Templates;

/// <summary>
/// A chat template compiled once to a syntax tree and rendered many times. Instances are immutable and safe to render
/// from many threads at once.
/// </summary>
public sealed class ChatTemplate
{
    private readonly Stmt[] _body;
    private readonly SourceMap _map;

    private ChatTemplate(string source, Stmt[] body, SourceMap map, Func<DateTime> clock)
    {
        Source = source;
        _body = body;
        _map = map;
        Clock = clock;
    }

    /// <summary>The template text as given.</summary>
    public string Source { get; }

    /// <summary>Clock behind <c>strftime_now</c>; local time by default, as Python's datetime.now().</summary>
    public Func<DateTime> Clock { get; }

    /// <summary>The same compiled template with another clock, for reproducible dates (tests, pinned deployments).</summary>
    public ChatTemplate WithClock(Func<DateTime> clock)
    {
        ArgumentNullException.ThrowIfNull(clock);
        return new ChatTemplate(Source, _body, _map, clock);
    }

    /// <summary>Compiles a template.</summary>
    /// <exception cref="TemplateSyntaxException">The source is not a valid template; the error names line, column and construct.</exception>
    public static ChatTemplate Parse(string source)
    {
        ArgumentNullException.ThrowIfNull(source);
        // Jinja normalises newlines and, with keep_trailing_newline off, drops one trailing newline.
        string normalized = source.Replace("\r\n", "\n").Replace('\r', '\n');
        if (normalized.EndsWith('\n')) normalized = normalized.Substring(0, normalized.Length - 1);
        var map = new SourceMap(normalized);
        var tokens = Lexer.Tokenize(normalized, map);
        var body = Parser.Parse(tokens, map);
        return new ChatTemplate(source, body, map, () => DateTime.Now);
    }

    /// <summary>Renders with the given variables (JSON values become Python-like values: objects are dicts, etc.).</summary>
    /// <exception cref="TemplateRenderException">Rendering failed; the error names line and construct.</exception>
    /// <exception cref="TemplateRaiseException">The template called raise_exception(message).</exception>
    public string Render(JsonObject context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var root = new Scope(null);
        foreach (var kv in context) root.Set(kv.Key, Convert(kv.Value));
        return Run(root);
    }

    /// <summary>
    /// Renders a conversation the way transformers' apply_chat_template does: variables <c>messages</c>,
    /// <c>tools</c> (none when absent), <c>documents</c> (none), <c>add_generation_prompt</c>, the special tokens that
    /// are set, then <paramref name="extraKwargs"/> (e.g. enable_thinking), which win on a name clash.
    /// </summary>
    public string Apply(JsonArray messages, bool addGenerationPrompt, string? bosToken, string? eosToken,
        JsonArray? tools = null, JsonObject? extraKwargs = null)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var root = new Scope(null);
        root.Set("messages", Convert(messages));
        root.Set("tools", tools is null ? null : Convert(tools));
        root.Set("documents", null);
        root.Set("add_generation_prompt", addGenerationPrompt);
        if (bosToken is not null) root.Set("bos_token", bosToken);
        if (eosToken is not null) root.Set("eos_token", eosToken);
        if (extraKwargs is not null)
            foreach (var kv in extraKwargs) root.Set(kv.Key, Convert(kv.Value));
        return Run(root);
    }

    private static object? Convert(JsonNode? node)
    {
        try { return JsonBridge.FromNode(node); }
        catch (RuntimeFault f) { throw new TemplateRenderException(f.Message, 0, 0, "render context"); }
    }

    private string Run(Scope root)
    {
        var ctx = new RenderContext(_map, root, Clock);
        var output = new StringBuilder();
        if (_body.Length > 0) Block.Run(_body, ctx, output);
        return output.ToString();
    }
}
