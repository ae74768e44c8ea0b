using System.Text;
using Modular.Backends.Cuda.Native;

namespace Modular.Backends.Cuda.Runtime;

/// <summary>
/// The random-sampling kernel (Kernels/sampling_random.cu with common.cuh), compiled by NVRTC as a module of its
/// own on first use: a sampled request is the only thing that needs it, and a greedy-only server never pays for
/// its compilation.
/// </summary>
internal sealed class SamplingKernels : IDisposable
{
    private readonly CudaModule _module;

    internal SamplingKernels(CudaContext context, string arch)
    {
        var asm = typeof(SamplingKernels).Assembly;
        var sb = new StringBuilder();
        foreach (var file in (string[])["common.cuh", "sampling_random.cu"])
        {
            using var stream = asm.GetManifestResourceStream("Modular.Backends.Cuda.Kernels." + file)
                ?? throw new InvalidOperationException($"embedded kernel source '{file}' is missing from {asm.GetName().Name}");
            sb.Append(new StreamReader(stream).ReadToEnd()).Append('\n');
        }
        _module = new CudaModule(context, KernelCompiler.Compile(sb.ToString(), "modular_sampling", arch, out _));
        SampleRows = _module.GetFunction("sample_rows_f32");
    }

    /// <summary>sample_rows_f32(logits, V, rows, ids): one 1024-thread block per row.</summary>
    internal nint SampleRows { get; }

    public void Dispose() => _module.Dispose();
}
