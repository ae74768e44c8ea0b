using System.Reflection;
using System.Runtime.InteropServices;

namespace Modular.Backends.Cuda.Native;

/// <summary>
/// Resolves the logical library names used by the bindings ("cuda", "nvrtc", "cublas", "cublasLt") to the
/// shared objects of the installed driver and toolkit. The driver has a fixed soname; the toolkit libraries are
/// tried unversioned first, then by the major versions this backend was written for.
/// </summary>
internal static class NativeLibraries
{
    internal const string Driver = "cuda";
    internal const string Nvrtc = "nvrtc";
    internal const string Cublas = "cublas";
    internal const string CublasLt = "cublasLt";

    private static readonly Dictionary<string, string[]> Candidates = new()
    {
        [Driver] = ["libcuda.so.1", "libcuda.so", "nvcuda.dll"],
        [Nvrtc] = ["libnvrtc.so", "libnvrtc.so.13", "libnvrtc.so.12", "nvrtc64_130_0.dll", "nvrtc64_120_0.dll"],
        [Cublas] = ["libcublas.so", "libcublas.so.13", "libcublas.so.12", "cublas64_13.dll", "cublas64_12.dll"],
        [CublasLt] = ["libcublasLt.so", "libcublasLt.so.13", "libcublasLt.so.12", "cublasLt64_13.dll", "cublasLt64_12.dll"],
    };

    private static readonly Dictionary<string, nint> Loaded = new();
    private static readonly Lock Gate = new();
    private static int _registered;

    /// <summary>Installs the resolver once for this assembly; safe to call from anywhere.</summary>
    internal static void EnsureResolver()
    {
        if (Interlocked.Exchange(ref _registered, 1) == 0)
            NativeLibrary.SetDllImportResolver(typeof(NativeLibraries).Assembly, Resolve);
    }

    /// <summary>Loads the library behind <paramref name="logicalName"/>; returns false with the names tried.</summary>
    internal static bool TryLoad(string logicalName, out nint handle, out string detail)
    {
        lock (Gate)
        {
            if (Loaded.TryGetValue(logicalName, out handle))
            {
                detail = "loaded";
                return true;
            }
            foreach (var name in Candidates[logicalName])
            {
                if (NativeLibrary.TryLoad(name, out handle))
                {
                    Loaded[logicalName] = handle;
                    detail = name;
                    return true;
                }
            }
            detail = $"none of {string.Join(", ", Candidates[logicalName])} could be loaded";
            handle = 0;
            return false;
        }
    }

    private static nint Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (!Candidates.ContainsKey(libraryName)) return 0;
        if (TryLoad(libraryName, out var handle, out var detail)) return handle;
        var what = libraryName == Driver ? "CUDA driver not found" : $"CUDA library '{libraryName}' not found";
        throw new DllNotFoundException($"{what}: {detail}");
    }
}
