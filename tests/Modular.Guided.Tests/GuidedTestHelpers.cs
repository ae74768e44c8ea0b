using System.Text;
using Modular.Abstractions;
using Modular.Plugins.Guided;

namespace Modular.Guided.Tests;

/// <summary>Drives a matcher over text byte-token by byte-token, checking the mask against Accept at each step.</summary>
internal static class Drive
{
    /// <summary>True when the whole text is accepted and complete; asserts mask/Accept agreement on the way.</summary>
    public static bool Matches(GuidedDecoder decoder, GuidedSpec spec, TestVocab vocab, string text)
    {
        var m = decoder.Create(spec, vocab);
        var mask = new ulong[(vocab.Count + 63) / 64];
        foreach (var b in Encoding.UTF8.GetBytes(text))
        {
            int id = b + 1; // single-byte tokens start at id 1
            m.FillMask(mask);
            bool allowed = (mask[id >> 6] & (1UL << (id & 63))) != 0;
            bool ok = m.Accept(id);
            Assert.Equal(allowed, ok);
            if (!ok) return false;
        }
        m.FillMask(mask);
        bool eos = (mask[vocab.Eos >> 6] & (1UL << (vocab.Eos & 63))) != 0;
        Assert.Equal(m.IsComplete, eos);
        Assert.Equal(0UL, mask[0] & 1UL); // BOS never allowed
        return m.IsComplete;
    }
}
