using System.Text.Json.Nodes;

namespace Modular.Router.Tests;

/// <summary>
/// Two intents - poetry / Shakespeare and code / maths - with the example utterances the intent rule is configured
/// with, and a separate labelled set of 40 prompts (none of them an example) that routing is measured on.
/// </summary>
internal static class IntentData
{
    public const string Bard = "bard";
    public const string Coder = "coder";

    public static readonly string[] BardExamples =
    [
        "Write a sonnet about love and the passing of time",
        "Compose a poem in the style of Shakespeare about a stormy night",
        "Shall I compare thee to a summer's day?",
        "Give me a rhyming verse about the moon and the sea",
        "Recite a soliloquy in iambic pentameter about doubt",
        "Write a haiku about cherry blossoms in spring",
        "O Romeo, wherefore art thou Romeo? Continue the scene",
        "Describe the king's tragic downfall in the voice of an Elizabethan player",
        "Pen a ballad of a knight and his lady fair",
        "A lyrical ode to the morning lark and the rising sun",
    ];

    public static readonly string[] CoderExamples =
    [
        "Write a Python function that sorts a list of integers",
        "How do I fix a null reference exception in my C# code?",
        "Solve the equation 2x + 5 = 17 for x",
        "What is the derivative of x^2 * sin(x)?",
        "Implement binary search in Java",
        "Explain the time complexity of merge sort",
        "Write a SQL query to count orders per customer",
        "Compute the integral of 1/x from 1 to e",
        "Refactor this JavaScript loop to use map and filter",
        "Prove that the square root of 2 is irrational",
    ];

    /// <summary>The 40 labelled prompts: (text, intended target).</summary>
    public static readonly (string Prompt, string Target)[] Labelled =
    [
        ("Write me a sonnet on the beauty of my beloved's eyes", Bard),
        ("Compose verses about a lonely shepherd under the stars", Bard),
        ("Thou art more lovely than the dawn; continue this poem", Bard),
        ("Write a short poem about the ocean waves at night", Bard),
        ("Create a rhyming couplet about a rose in winter", Bard),
        ("Speak as Hamlet and lament the fickleness of fortune", Bard),
        ("A poem about heartbreak, written in old English", Bard),
        ("Write a lyrical ballad about a sailor who never returns", Bard),
        ("Give me an ode to the nightingale singing in the garden", Bard),
        ("Pen a love letter in verse from Juliet to her Romeo", Bard),
        ("Write a limerick about a cat who loves to sing", Bard),
        ("Compose a soliloquy for a queen who has lost her crown", Bard),
        ("Write a haiku about autumn rain on the mountains", Bard),
        ("Describe the summer meadow in flowing poetic lines", Bard),
        ("Let me hear a sonnet of longing and sweet sorrow", Bard),
        ("Write verses in iambic pentameter about the setting sun", Bard),
        ("O gentle night, cover the lovers with thy dark mantle", Bard),
        ("Write a poem about a forgotten king and his fallen castle", Bard),
        ("Create a romantic stanza praising the moonlit sea", Bard),
        ("Spin a rhyming tale of a fair maiden and a brave knight", Bard),
        ("Write a Python script that reads a CSV file and prints the average of a column", Coder),
        ("How can I reverse a string in C#?", Coder),
        ("Solve for y: 3y - 4 = 11", Coder),
        ("What is the derivative of e^(2x) * cos(x)?", Coder),
        ("Implement a linked list in C++ with insert and delete", Coder),
        ("Why does my JavaScript function return undefined?", Coder),
        ("Write a SQL query that joins users and orders tables", Coder),
        ("Compute the sum of the first 100 integers", Coder),
        ("Explain the big O complexity of a hash table lookup", Coder),
        ("Fix the index out of range exception in this Java loop", Coder),
        ("Calculate the integral of x^3 from 0 to 2", Coder),
        ("Write a function in Go that checks if a number is prime", Coder),
        ("How do I sort a dictionary by value in Python?", Coder),
        ("Prove that there are infinitely many prime numbers", Coder),
        ("Convert this recursive Fibonacci function to an iterative one", Coder),
        ("What is the determinant of the 3x3 matrix with rows 1 2 3, 4 5 6, 7 8 10?", Coder),
        ("Write a unit test for a method that parses integers", Coder),
        ("Find the roots of the quadratic equation x^2 - 5x + 6 = 0", Coder),
        ("Implement quicksort in Rust", Coder),
        ("Debug this segmentation fault in my C program", Coder),
    ];

    /// <summary>The intent rule's settings object (n-gram embeddings, as no embeddings target is named).</summary>
    public static JsonObject IntentRule(double threshold = 0.05) => new()
    {
        ["type"] = "intent",
        ["models"] = new JsonArray("auto"),
        ["threshold"] = threshold,
        ["default"] = Bard,
        ["intents"] = new JsonArray(
            new JsonObject { ["label"] = "poetry", ["target"] = Bard, ["examples"] = ToArray(BardExamples) },
            new JsonObject { ["label"] = "code-maths", ["target"] = Coder, ["examples"] = ToArray(CoderExamples) }),
    };

    public static JsonArray ToArray(IEnumerable<string> items)
    {
        var a = new JsonArray();
        foreach (var s in items) a.Add(s);
        return a;
    }
}
