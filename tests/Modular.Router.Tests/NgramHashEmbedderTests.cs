using Modular.Plugins.Router.Embedding;

namespace Modular.Router.Tests;

public sealed class NgramHashEmbedderTests
{
    private static readonly NgramHashEmbedder Embedder = new();

    private static float Cosine(string a, string b) => Embedder.Embed(a).Dot(Embedder.EmbedDense(b));

    [Fact]
    public void Vectors_are_unit_length_and_identical_text_has_cosine_one()
    {
        var v = Embedder.Embed("Shall I compare thee to a summer's day?");
        double norm = 0;
        foreach (var x in v.Values) norm += x * x;
        Assert.Equal(1.0, norm, 5);
        Assert.Equal(1f, Cosine("Shall I compare thee", "Shall I compare thee"), 5);
    }

    [Fact]
    public void Case_and_whitespace_runs_do_not_change_the_vector()
    {
        Assert.Equal(1f, Cosine("Write  a\tPython\n\nfunction", "write a python function"), 5);
    }

    [Fact]
    public void Related_text_is_nearer_than_unrelated_text()
    {
        var related = Cosine("write a sonnet about love", "compose a sonnet on love and longing");
        var unrelated = Cosine("write a sonnet about love", "implement binary search in java");
        Assert.True(related > unrelated + 0.1, $"related {related} should clearly exceed unrelated {unrelated}");
    }

    [Fact]
    public void Text_without_any_ngram_embeds_to_the_zero_vector()
    {
        Assert.Equal(0, Embedder.Embed("").Count);
        Assert.Equal(0, Embedder.Embed(" \n ").Count);
    }

    [Fact]
    public void Only_the_last_max_chars_are_read()
    {
        var e = new NgramHashEmbedder(maxChars: 40);
        var tail = "how do I reverse a linked list in place?";
        Assert.Equal(40, tail.Length);
        var a = e.Embed(new string('x', 5000) + tail);
        var b = e.Embed(tail);
        Assert.Equal(b.Indices, a.Indices);
        Assert.Equal(b.Values, a.Values);
    }

    [Fact]
    public void Bucket_count_must_be_a_power_of_two()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new NgramHashEmbedder(dimensions: 1000));
        Assert.Throws<ArgumentOutOfRangeException>(() => new NgramHashEmbedder(minN: 4, maxN: 3));
    }
}
