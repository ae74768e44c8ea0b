using System.Diagnostics;
using System.Reflection;
using ILGPU.Backends;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.OpenCL;
using ILGPU.Runtime;
using ILGPU.Runtime.OpenCL;

namespace Modular.Backends.Rocm.Device;

/// <summary>
/// Compiles explicitly grouped kernels (static methods) for the accelerator and returns typed launchers
/// (<c>Action&lt;AcceleratorStream, KernelConfig, ...&gt;</c>). On OpenCL the generated C source goes through
/// <see cref="PatchOpenCL"/> before the driver builds it.
/// </summary>
internal sealed class KernelLoader(Accelerator accelerator, bool rewriteGenericPointers)
{
    private static readonly PropertyInfo EntryPointProperty =
        typeof(CompiledKernel).GetProperty("EntryPoint", BindingFlags.Instance | BindingFlags.NonPublic)
        ?? throw new InvalidOperationException("this ILGPU version has no CompiledKernel.EntryPoint to rebuild a patched kernel from");

    /// <summary>Kernels built so far, with the seconds each took (the driver's compile dominates on pocl).</summary>
    public List<(string Name, double Seconds)> Built { get; } = new();

    /// <summary>Builds <paramref name="kernelClass"/>.<paramref name="method"/> and returns its launcher.</summary>
    public TDelegate Load<TDelegate>(Type kernelClass, string method) where TDelegate : Delegate
    {
        var mi = kernelClass.GetMethod(method, BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic)
            ?? throw new MissingMethodException(kernelClass.FullName, method);
        var sw = Stopwatch.StartNew();
        Kernel kernel;
        if (accelerator is CLAccelerator) kernel = LoadOpenCL(mi);
        else kernel = accelerator.LoadKernel(mi);
        Built.Add((method, sw.Elapsed.TotalSeconds));
        return kernel.CreateLauncherDelegate<TDelegate>();
    }

    private Kernel LoadOpenCL(MethodInfo mi)
    {
        var backend = accelerator.GetBackend();
        var compiled = (CLCompiledKernel)backend.Compile(EntryPointDescription.FromExplicitlyGroupedKernel(mi), KernelSpecialization.Empty);
        var entry = (SeparateViewEntryPoint)EntryPointProperty.GetValue(compiled)!;
        var source = PatchOpenCL(compiled.Source, rewriteGenericPointers);
        var patched = new CLCompiledKernel(accelerator.Context, entry, compiled.Info, source, compiled.CVersion);
        // ILGPU writes the driver's build log to Trace only; capture it so a failure says what the compiler said.
        using var log = new StringWriter();
        using var listener = new TextWriterTraceListener(log);
        Trace.Listeners.Add(listener);
        try
        {
            return accelerator.LoadKernel(patched);
        }
        catch (CLException e)
        {
            listener.Flush();
            throw new InvalidOperationException(
                $"OpenCL build of kernel {mi.DeclaringType?.Name}.{mi.Name} failed on {accelerator.Name} ({e.Error}): {log.ToString().Trim()}", e);
        }
        finally
        {
            Trace.Listeners.Remove(listener);
        }
    }

    /// <summary>
    /// Adjusts ILGPU's OpenCL C for the device: (1) with <paramref name="rewriteGeneric"/>, generic view pointers
    /// become global ones (every view the kernels take is a kernel argument in global memory; shared memory is
    /// emitted with explicit <c>local</c> pointers), (2) group barriers fence local memory too - ILGPU emits a
    /// global-only fence, which does not order the shared-memory tiles the kernels exchange through.
    /// </summary>
    internal static string PatchOpenCL(string source, bool rewriteGeneric)
    {
        if (rewriteGeneric) source = source.Replace("__generic", "global");
        return source.Replace("work_group_barrier ( CLK_GLOBAL_MEM_FENCE )", "work_group_barrier ( CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE )");
    }
}
