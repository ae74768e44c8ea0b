using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Modular.Backends.Cuda.Native;

namespace Modular.Backends.Cuda.Runtime;

/// <summary>
/// Compiles CUDA C to a cubin for one architecture with NVRTC, caching results on disk keyed by the SHA-256 of
/// source, architecture, options and NVRTC version, so only the first start on a machine pays for compilation.
/// </summary>
internal static unsafe class KernelCompiler
{
    /// <summary>Options every kernel source is compiled with.</summary>
    internal static readonly string[] DefaultOptions = ["--std=c++17", "-default-device", "--dopt=on"];

    /// <summary>Folder of cached cubins: $MODULAR_CUDA_CACHE, else ~/.cache/modular/cuda.</summary>
    internal static string CacheDirectory
    {
        get
        {
            var env = Environment.GetEnvironmentVariable("MODULAR_CUDA_CACHE");
            if (!string.IsNullOrEmpty(env)) return env;
            var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            if (string.IsNullOrEmpty(home)) home = Path.GetTempPath();
            return Path.Combine(home, ".cache", "modular", "cuda");
        }
    }

    /// <summary>NVRTC's version as "major.minor".</summary>
    internal static string Version()
    {
        int major, minor;
        CudaCheck.Nvrtc(Nvrtc.nvrtcVersion(&major, &minor), "nvrtcVersion");
        return $"{major}.{minor}";
    }

    /// <summary>Returns the cubin for <paramref name="source"/>, from the cache when present.</summary>
    /// <param name="source">The whole translation unit.</param>
    /// <param name="name">File name shown in compiler messages.</param>
    /// <param name="arch">Compute capability as "90" for sm_90.</param>
    /// <param name="fromCache">True when the cubin came from disk.</param>
    internal static byte[] Compile(string source, string name, string arch, out bool fromCache)
    {
        string[] options = [$"--gpu-architecture=sm_{arch}", .. DefaultOptions];
        var key = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(
            string.Join("\n", source, arch, string.Join(' ', options), Version())))).ToLowerInvariant();
        var path = Path.Combine(CacheDirectory, $"{name}-sm{arch}-{key[..24]}.cubin");
        if (File.Exists(path))
        {
            fromCache = true;
            return File.ReadAllBytes(path);
        }
        fromCache = false;
        var cubin = CompileUncached(source, name, options);
        try
        {
            Directory.CreateDirectory(CacheDirectory);
            var tmp = path + "." + Environment.ProcessId + ".tmp";
            File.WriteAllBytes(tmp, cubin);
            File.Move(tmp, path, overwrite: true);
        }
        catch (IOException) { /* a read-only home only costs a recompile next time */ }
        catch (UnauthorizedAccessException) { }
        return cubin;
    }

    private static byte[] CompileUncached(string source, string name, string[] options)
    {
        nint program;
        var src = Encoding.UTF8.GetBytes(source + "\0");
        var nm = Encoding.UTF8.GetBytes(name + "\0");
        fixed (byte* ps = src, pn = nm)
            CudaCheck.Nvrtc(Nvrtc.nvrtcCreateProgram(&program, ps, pn, 0, null, null), $"nvrtcCreateProgram({name})");
        var optionPtrs = new nint[options.Length];
        try
        {
            for (int i = 0; i < options.Length; i++) optionPtrs[i] = Marshal.StringToCoTaskMemUTF8(options[i]);
            int result;
            fixed (nint* po = optionPtrs)
                result = Nvrtc.nvrtcCompileProgram(program, options.Length, (byte**)po);
            if (result != 0)
            {
                var log = ReadLog(program);
                throw new CudaException($"NVRTC could not compile {name} ({string.Join(' ', options)}):\n{log}", result);
            }
            nuint size;
            CudaCheck.Nvrtc(Nvrtc.nvrtcGetCUBINSize(program, &size), "nvrtcGetCUBINSize");
            var cubin = new byte[(int)size];
            fixed (byte* pc = cubin)
                CudaCheck.Nvrtc(Nvrtc.nvrtcGetCUBIN(program, pc), "nvrtcGetCUBIN");
            return cubin;
        }
        finally
        {
            foreach (var p in optionPtrs) if (p != 0) Marshal.FreeCoTaskMem(p);
            Nvrtc.nvrtcDestroyProgram(&program);
        }
    }

    private static string ReadLog(nint program)
    {
        nuint size;
        if (Nvrtc.nvrtcGetProgramLogSize(program, &size) != 0 || size == 0) return "(no log)";
        var buf = new byte[(int)size];
        fixed (byte* p = buf)
            if (Nvrtc.nvrtcGetProgramLog(program, p) != 0) return "(log unavailable)";
        return Encoding.UTF8.GetString(buf, 0, Math.Max(0, buf.Length - 1));
    }
}
