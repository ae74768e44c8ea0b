using System.Runtime.InteropServices;
using Modular.Abstractions;

namespace ScalarBackend;

/// <summary>
/// The <see cref="IBackend"/>: memory, host transfers and copies, plus the kernels and attention. Everything runs
/// synchronously on the calling thread, so <see cref="Synchronize"/> has nothing to wait for. A device backend
/// enqueues on a stream instead and makes downloads and <see cref="Synchronize"/> wait for it.
/// </summary>
public sealed class ScalarDevice : IBackend
{
    /// <summary>Creates the device.</summary>
    public ScalarDevice()
    {
        long memory = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        Info = new DeviceInfo("scalar-sample: managed float32, one thread", RuntimeInformation.FrameworkDescription, memory, memory);
        Kernels = new ScalarKernels();
        Attention = new ScalarAttention();
    }

    /// <inheritdoc />
    public string Name => ScalarPlugin.PluginName;

    /// <inheritdoc />
    public DeviceInfo Info { get; }

    /// <summary>Activations are float32.</summary>
    public DType ActivationDType => DType.F32;

    /// <summary>Floating-point checkpoints (F16, BF16, F32) are widened to F32 on upload; other types stay as they are.</summary>
    public DType WeightDType(DType checkpoint) => checkpoint is DType.F16 or DType.BF16 or DType.F32 ? DType.F32 : checkpoint;

    /// <summary>Every op, on F32 only.</summary>
    public bool Supports(Op op, DType dtype) => dtype == DType.F32;

    /// <inheritdoc />
    public IKernels Kernels { get; }

    /// <inheritdoc />
    public IAttentionBackend Attention { get; }

    /// <summary>Allocates a zero-filled F32 or I32 tensor; other dtypes throw <see cref="NotSupportedException"/>.</summary>
    public Tensor Allocate(DType dtype, params int[] shape) => new ScalarTensor(this, dtype, (int[])shape.Clone());

    /// <summary>Copies host bytes in; F32 tensors accept F32, F16 and BF16 bytes (converted), I32 tensors I32 bytes.</summary>
    public void Upload(ReadOnlySpan<byte> src, DType srcType, Tensor dst)
    {
        var t = Own(dst);
        int size = srcType switch
        {
            DType.F32 or DType.I32 => 4,
            DType.F16 or DType.BF16 => 2,
            _ => throw new NotSupportedException($"{Name} cannot upload {srcType} data (into {t})"),
        };
        if (src.Length != t.Length * size)
            throw new ArgumentException($"upload into {t}: {src.Length} bytes of {srcType} is {src.Length / (double)size} elements, the tensor has {t.Length}");

        if (t.DType == DType.I32)
        {
            if (srcType != DType.I32) throw new NotSupportedException($"{Name}: cannot upload {srcType} data into the I32 tensor {t}");
            MemoryMarshal.Cast<byte, int>(src).CopyTo(t.Ints);
            return;
        }

        var dstFloats = t.Floats;
        switch (srcType)
        {
            case DType.F32:
                MemoryMarshal.Cast<byte, float>(src).CopyTo(dstFloats);
                break;
            case DType.F16:
                FloatFormats.F16ToF32(MemoryMarshal.Cast<byte, ushort>(src), dstFloats);
                break;
            case DType.BF16:
                FloatFormats.Bf16ToF32(MemoryMarshal.Cast<byte, ushort>(src), dstFloats);
                break;
            default:
                throw new NotSupportedException($"{Name}: cannot upload {srcType} data into the F32 tensor {t}");
        }
    }

    /// <inheritdoc />
    public void DownloadF32(Tensor src, Span<float> dst) => Own(src).Floats.CopyTo(dst);

    /// <inheritdoc />
    public void DownloadI32(Tensor src, Span<int> dst) => Own(src).Ints.CopyTo(dst);

    /// <inheritdoc />
    public void Copy(Tensor src, Tensor dst)
    {
        var s = Own(src);
        var d = Own(dst);
        if (s.DType != d.DType || s.Length != d.Length) throw new ArgumentException($"copy from {s} into {d}: dtype and length must match");
        // Span.CopyTo handles overlapping source and destination, which views of one owner can be.
        if (s.DType == DType.F32) s.Floats.CopyTo(d.Floats);
        else s.Ints.CopyTo(d.Ints);
    }

    /// <summary>Nothing is queued: every call has finished when it returns.</summary>
    public void Synchronize() { }

    /// <summary>Tensors are garbage collected; nothing to release.</summary>
    public void Dispose() { }

    /// <summary>The tensor as this backend's type, or an error naming the backend that owns it.</summary>
    internal static ScalarTensor Own(Tensor t) =>
        t as ScalarTensor ?? throw new ArgumentException($"tensor {t} belongs to backend '{t.Backend.Name}', not {ScalarPlugin.PluginName}");
}
