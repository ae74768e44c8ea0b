namespace Modular.Sampling.Tests;

public class BeamSearchTests
{
    private const int Eos = 3;

    private static float[] Rows(params double[][] probs) =>
        probs.SelectMany(r => r.Select(p => (float)Math.Log(p))).ToArray();

    [Fact]
    public void Step_PicksBestLiveAndCollectsEos_OnAHandExample()
    {
        var beam = new BeamSearch(width: 2, lengthPenalty: 1f, eosTokenIds: [Eos]);
        // Each beam offers its top 2·width = 4 tokens.
        // beam 0 (cum -0.5): 0 .5, 1 .3, 2 .1, EOS .05 (ties token 4 at .05; lower id wins), 4 .05
        // beam 1 (cum -1.0): 0 .1, 1 .2, 2 .6, EOS .08, 4 .02
        var rows = Rows([0.5, 0.3, 0.1, 0.05, 0.05], [0.1, 0.2, 0.6, 0.08, 0.02]);
        var step = beam.Step([-0.5f, -1.0f], [4, 4], rows, 5);

        // Live: b0+0 = -0.5+ln .5 = -1.193, b1+2 = -1+ln .6 = -1.511 beat b0+1 = -1.704 and the rest.
        Assert.Equal([(0, 0), (1, 2)], step.Live.Select(c => (c.BeamIndex, c.TokenId)).ToArray());
        Assert.Equal(-0.5 + Math.Log(0.5), step.Live[0].CumLogprob, tolerance: 1e-5);
        Assert.Equal(-1.0 + Math.Log(0.6), step.Live[1].CumLogprob, tolerance: 1e-5);
        // Live scores divide by the new length 5.
        Assert.Equal((-0.5 + Math.Log(0.5)) / 5, step.Live[0].Score, tolerance: 1e-5);

        // Finished: b0+EOS = -3.496 (score / 4: EOS does not count) ahead of b1+EOS = -3.526.
        Assert.Equal([(0, Eos), (1, Eos)], step.Finished.Select(c => (c.BeamIndex, c.TokenId)).ToArray());
        Assert.Equal((-0.5 + Math.Log(0.05)) / 4, step.Finished[0].Score, tolerance: 1e-5);
    }

    [Fact]
    public void Step_WithoutEos_KeepsEosTokenAsLive()
    {
        var beam = new BeamSearch(width: 1);
        var step = beam.Step([0f], [1], Rows([0.1, 0.1, 0.1, 0.7]), 4);
        Assert.Empty(step.Finished);
        Assert.Equal(3, step.Live.Single().TokenId);
    }

    [Fact]
    public void LengthPenalty_DecidesFinalSelection()
    {
        // A: short, finished (length 10 with EOS, scored as 9). B: longer, live, slightly worse total logprob.
        float[] cum = [-2.0f, -2.4f, -9f];
        int[] len = [10, 14, 14];
        bool[] eos = [true, false, false];
        Assert.Equal([1, 0], new BeamSearch(2, lengthPenalty: 1f).SelectBest(cum, len, eos)); // -0.171 beats -0.222
        Assert.Equal([0, 1], new BeamSearch(2, lengthPenalty: 0f).SelectBest(cum, len, eos)); // plain logprob
    }

    [Fact]
    public void Step_RejectsMismatchedShapes()
    {
        var beam = new BeamSearch(2);
        Assert.Throws<ArgumentException>(() => beam.Step([0f, 0f], [1], new float[10], 5));
        Assert.Throws<ArgumentException>(() => beam.Step([0f], [1], new float[9], 5));
    }
}
