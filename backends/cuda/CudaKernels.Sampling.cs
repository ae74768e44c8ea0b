using System.Runtime.InteropServices;
using Modular.Abstractions;
using Modular.Backends.Cuda.Runtime;

namespace Modular.Backends.Cuda;

/// <summary><see cref="IDeviceSampler"/>: temperature / min-p / top-k / top-p draws on the GPU.</summary>
internal sealed unsafe partial class CudaKernels : IDeviceSampler
{
    private SamplingKernels? _sampling;
    private CudaTensor? _sampleRows;

    public void Sample(Tensor logits, ReadOnlySpan<DeviceSamplingRow> rows, Tensor ids)
    {
        var x = backend.Own(logits, nameof(logits));
        var o = I32(ids, "Sample", nameof(ids));
        if (x.DType != DType.F32 || x.Shape.Length != 2) throw Shape("Sample", $"logits {x} must be F32 [R,V]");
        if (o.Length != x.Rows || rows.Length != x.Rows)
            throw Shape("Sample", $"ids {o} and {rows.Length} row settings must both have R={x.Rows} entries for logits {x}");
        if (x.Rows == 0 || x.Shape[1] == 0) return;
        backend.Bind();
        _sampling ??= new SamplingKernels(backend.Context, backend.Arch);
        // Row settings travel as raw bytes in an I32 tensor of 5 words per row (the kernel's SampleRow struct).
        int words = rows.Length * (sizeof(DeviceSamplingRow) / 4);
        if (_sampleRows is null || _sampleRows.Length < words)
        {
            _sampleRows?.Dispose();
            _sampleRows = backend.Own(backend.Allocate(DType.I32, Math.Max(words, 5 * 256)), "sampling rows");
        }
        var bytes = MemoryMarshal.AsBytes(rows);
        // Async through the backend's pinned ring: the launch below is ordered after the copy on the same stream.
        backend.UploadAsync(bytes, _sampleRows.Slice(0, words));
        backend.Launch(_sampling.SampleRows, (uint)x.Rows, 1, 1, 1024, 0,
            backend.Args().Ptr(x.Pointer).Int(x.Shape[1]).Ptr(_sampleRows.Pointer).Ptr(o.Pointer), "sample_rows_f32");
    }

    /// <summary>Frees the sampling module and its row buffer (called by the backend's Dispose).</summary>
    internal void DisposeSampling()
    {
        _sampleRows?.Dispose();
        _sampling?.Dispose();
    }
}
