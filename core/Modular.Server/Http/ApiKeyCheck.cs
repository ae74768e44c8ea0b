using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Modular.Server.Http;

/// <summary>
/// Bearer-token check in constant time: both sides are hashed to equal-length digests first, so neither the key's
/// content nor its length shows in the comparison time.
/// </summary>
internal sealed class ApiKeyCheck(string key)
{
    private readonly byte[] _expected = SHA256.HashData(Encoding.UTF8.GetBytes(key));

    /// <summary>Paths that need the key; health, metrics, version and the UI page stay open as in vLLM.</summary>
    public static bool Protects(PathString path) =>
        path.StartsWithSegments("/v1") || path.StartsWithSegments("/tokenize") || path.StartsWithSegments("/detokenize");

    /// <summary>Throws the 401 unless the request carries the key as <c>Authorization: Bearer KEY</c>.</summary>
    public void Verify(HttpContext context)
    {
        string header = context.Request.Headers.Authorization.ToString();
        const string scheme = "Bearer ";
        string given = header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase) ? header[scheme.Length..].Trim() : "";
        var actual = SHA256.HashData(Encoding.UTF8.GetBytes(given));
        if (!CryptographicOperations.FixedTimeEquals(actual, _expected))
            throw new ApiException(401, given.Length == 0
                ? "missing API key: send it as 'Authorization: Bearer KEY'"
                : "incorrect API key provided", code: "invalid_api_key");
    }
}
