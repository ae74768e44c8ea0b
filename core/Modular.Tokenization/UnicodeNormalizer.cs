using System.Runtime.InteropServices;
using System.Text;

namespace Modular.Tokenization;

/// <summary>
/// NFC/NFD/NFKC/NFKD normalization that also works when the process runs with InvariantGlobalization (this
/// repository does): <see cref="string.Normalize(NormalizationForm)"/> then silently returns its input unchanged,
/// which would make Qwen's NFC normalizer a no-op. We call the system ICU directly in that case.
/// </summary>
internal sealed class UnicodeNormalizer
{
    private readonly NormalizationForm _form;
    private readonly IntPtr _icuInstance;
    private readonly bool _managedWorks;

    private UnicodeNormalizer(NormalizationForm form)
    {
        _form = form;
        // Probe: "e" + combining acute composes to one char under NFC when normalization really works.
        string probe = "e\u0301".Normalize(NormalizationForm.FormC);
        _managedWorks = probe.Length == 1;
        if (!_managedWorks) _icuInstance = IcuNormalization.GetInstance(form);
    }

    /// <summary>Builds a normalizer for a tokenizer.json normalizer type (NFC, NFD, NFKC, NFKD).</summary>
    public static UnicodeNormalizer For(NormalizationForm form) => new(form);

    /// <summary>False when neither .NET nor ICU can normalize here; text then passes through unchanged.</summary>
    public bool IsFunctional => _managedWorks || _icuInstance != IntPtr.Zero;

    /// <summary>Normalizes <paramref name="text"/>.</summary>
    public string Normalize(string text)
    {
        // Code points below U+0300 are NFC-stable and none of them combines with a neighbour (combining marks start
        // at U+0300), so NFC can skip the common ASCII/Latin-1 text without a call. NFD/NFKC/NFKD cannot (é, U+00A0).
        if (_form == NormalizationForm.FormC)
        {
            bool simple = true;
            foreach (char c in text) if (c >= '\u0300') { simple = false; break; }
            if (simple) return text;
        }
        if (_managedWorks) return text.Normalize(_form);
        if (_icuInstance == IntPtr.Zero) return text;
        return IcuNormalization.Normalize(_icuInstance, text);
    }
}

/// <summary>Minimal binding to ICU's unorm2 API, located by probing the versioned library names.</summary>
internal static unsafe class IcuNormalization
{
    private static readonly object Gate = new();
    private static bool _loaded;
    private static delegate* unmanaged<int*, IntPtr> _getNfc, _getNfd, _getNfkc, _getNfkd;
    private static delegate* unmanaged<IntPtr, char*, int, char*, int, int*, int> _normalize;

    public static IntPtr GetInstance(NormalizationForm form)
    {
        lock (Gate)
        {
            if (!_loaded) { _loaded = true; TryLoad(); }
        }
        if (_normalize == null) return IntPtr.Zero;
        int err = 0;
        IntPtr p = form switch
        {
            NormalizationForm.FormC => _getNfc(&err),
            NormalizationForm.FormD => _getNfd(&err),
            NormalizationForm.FormKC => _getNfkc(&err),
            _ => _getNfkd(&err),
        };
        return err > 0 ? IntPtr.Zero : p;
    }

    public static string Normalize(IntPtr instance, string text)
    {
        int capacity = text.Length * 3 + 16;
        var buffer = new char[capacity];
        int err = 0, written;
        fixed (char* src = text)
        fixed (char* dst = buffer)
            written = _normalize(instance, src, text.Length, dst, capacity, &err);
        if (err > 0) return text; // U_FAILURE: keep the input rather than drop text
        return new string(buffer, 0, written);
    }

    private static void TryLoad()
    {
        string[] bases = OperatingSystem.IsWindows() ? ["icu.dll", "icuuc.dll"] : OperatingSystem.IsMacOS() ? ["libicucore.dylib"] : ["libicuuc.so"];
        for (int v = 90; v >= 50; v--)
        {
            foreach (var b in bases)
            {
                string name = OperatingSystem.IsLinux() ? $"{b}.{v}" : b;
                if (!NativeLibrary.TryLoad(name, out var lib)) continue;
                foreach (var suffix in new[] { "_" + v, "" })
                {
                    if (NativeLibrary.TryGetExport(lib, "unorm2_normalize" + suffix, out var norm)
                        && NativeLibrary.TryGetExport(lib, "unorm2_getNFCInstance" + suffix, out var nfc)
                        && NativeLibrary.TryGetExport(lib, "unorm2_getNFDInstance" + suffix, out var nfd)
                        && NativeLibrary.TryGetExport(lib, "unorm2_getNFKCInstance" + suffix, out var nfkc)
                        && NativeLibrary.TryGetExport(lib, "unorm2_getNFKDInstance" + suffix, out var nfkd))
                    {
                        _normalize = (delegate* unmanaged<IntPtr, char*, int, char*, int, int*, int>)norm;
                        _getNfc = (delegate* unmanaged<int*, IntPtr>)nfc;
                        _getNfd = (delegate* unmanaged<int*, IntPtr>)nfd;
                        _getNfkc = (delegate* unmanaged<int*, IntPtr>)nfkc;
                        _getNfkd = (delegate* unmanaged<int*, IntPtr>)nfkd;
                        return;
                    }
                }
                if (!OperatingSystem.IsLinux()) return;
            }
        }
    }
}
