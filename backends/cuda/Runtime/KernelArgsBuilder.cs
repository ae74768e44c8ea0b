namespace Modular.Backends.Cuda.Runtime;

/// <summary>
/// Packs kernel arguments for cuLaunchKernel into one reusable slot array (each argument widened to 8 bytes), so a
/// launch allocates nothing. One per backend: a backend, like its stream, is driven by one thread at a time.
/// </summary>
internal sealed class KernelArgsBuilder
{
    private const int Capacity = 32;
    private readonly ulong[] _slots = new ulong[Capacity];

    /// <summary>Arguments added since <see cref="Reset"/>.</summary>
    internal int Count { get; private set; }

    /// <summary>The argument values; element i is the storage kernelParams[i] points at.</summary>
    internal ulong[] Slots => _slots;

    /// <summary>Starts a new argument list.</summary>
    internal KernelArgsBuilder Reset()
    {
        Count = 0;
        return this;
    }

    /// <summary>Appends a device pointer.</summary>
    internal KernelArgsBuilder Ptr(ulong value) => Add(value);

    /// <summary>Appends a 64-bit integer.</summary>
    internal KernelArgsBuilder Long(long value) => Add((ulong)value);

    /// <summary>Appends a 32-bit integer.</summary>
    internal KernelArgsBuilder Int(int value) => Add((uint)value);

    /// <summary>Appends a 32-bit float.</summary>
    internal KernelArgsBuilder Float(float value) => Add(BitConverter.SingleToUInt32Bits(value));

    private KernelArgsBuilder Add(ulong value)
    {
        if (Count == Capacity) throw new InvalidOperationException($"cuda: more than {Capacity} kernel arguments");
        _slots[Count++] = value;
        return this;
    }
}
