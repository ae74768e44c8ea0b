using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Loader;
using ILGPU;

namespace Modular.Backends.Rocm.Device;

/// <summary>
/// Points ILGPU's P/Invokes at the versioned sonames that runtime packages install. ILGPU imports "OpenCL" and
/// "cuda", which .NET probes as libOpenCL.so / libcuda.so - names that only the -dev packages create. Debian's
/// ocl-icd-libopencl1 ships libOpenCL.so.1 alone, so without this hook no OpenCL device is ever found.
/// </summary>
internal static class NativeLibraries
{
    private static int _installed;

    /// <summary>Installs the fallback resolver once per process (it only runs when normal probing fails).</summary>
    public static void Install()
    {
        if (Interlocked.Exchange(ref _installed, 1) != 0) return;
        var ilgpu = typeof(Context).Assembly;
        var alc = AssemblyLoadContext.GetLoadContext(ilgpu) ?? AssemblyLoadContext.Default;
        alc.ResolvingUnmanagedDll += Resolve;
    }

    private static IntPtr Resolve(Assembly assembly, string name)
    {
        if (assembly != typeof(Context).Assembly || !OperatingSystem.IsLinux()) return IntPtr.Zero;
        string[] candidates = name switch
        {
            "OpenCL" => ["libOpenCL.so.1", "libOpenCL.so"],
            "cuda" => ["libcuda.so.1", "libcuda.so"],
            _ => [],
        };
        foreach (var c in candidates)
            if (NativeLibrary.TryLoad(c, out var handle)) return handle;
        return IntPtr.Zero;
    }
}
