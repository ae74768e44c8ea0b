using System.Runtime.InteropServices;

namespace Modular.Backends.Cuda.Native;

/// <summary>Raw bindings to NVRTC, the runtime compiler that turns CUDA C into a cubin for this device.</summary>
internal static unsafe partial class Nvrtc
{
    private const string Lib = NativeLibraries.Nvrtc;

    [LibraryImport(Lib)] internal static partial int nvrtcVersion(int* major, int* minor);
    [LibraryImport(Lib)] internal static partial byte* nvrtcGetErrorString(int result);
    [LibraryImport(Lib)] internal static partial int nvrtcCreateProgram(nint* program, byte* source, byte* name,
        int numHeaders, byte** headers, byte** includeNames);
    [LibraryImport(Lib)] internal static partial int nvrtcDestroyProgram(nint* program);
    [LibraryImport(Lib)] internal static partial int nvrtcCompileProgram(nint program, int numOptions, byte** options);
    [LibraryImport(Lib)] internal static partial int nvrtcGetProgramLogSize(nint program, nuint* size);
    [LibraryImport(Lib)] internal static partial int nvrtcGetProgramLog(nint program, byte* log);
    [LibraryImport(Lib)] internal static partial int nvrtcGetCUBINSize(nint program, nuint* size);
    [LibraryImport(Lib)] internal static partial int nvrtcGetCUBIN(nint program, byte* cubin);
}
