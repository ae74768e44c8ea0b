namespace Modular.Abstractions;

/// <summary>
/// Optional capability of an <see cref="IBackend"/> that also implements <see cref="IGraphCapture"/>: more than one
/// ordered queue of device work ("lanes", CUDA streams), so that two independent halves of a step can run side by
/// side - one half's memory-bound attention beside the other's compute-bound GEMMs. Lane 0 is the backend's ordinary
/// queue; every other lane brings its own library handles and scratch memory, so work on two lanes never shares a
/// buffer it writes. Lanes work inside <see cref="IGraphCapture.Capture"/> too: the recorded graph then has one
/// branch per lane.
/// </summary>
/// <remarks>
/// The pattern is always <see cref="Fork"/>, then <see cref="UseLane"/> before each half's work, then
/// <see cref="Join"/>. Between Fork and Join a caller must not upload, download, synchronize or capture; tensors it
/// hands to one lane must not be written by another.
/// </remarks>
public interface IStreamLanes
{
    /// <summary>Lanes available (at least 2).</summary>
    int LaneCount { get; }

    /// <summary>Every lane waits for the work enqueued so far on lane 0; lane 0 stays current.</summary>
    void Fork();

    /// <summary>Work enqueued from now on goes to <paramref name="lane"/> (0 to <see cref="LaneCount"/> - 1).</summary>
    void UseLane(int lane);

    /// <summary>Lane 0 waits for the work enqueued so far on every lane, and becomes current again.</summary>
    void Join();
}
