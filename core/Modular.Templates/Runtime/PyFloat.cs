using System.Globalization;
using System.Text;

namespace Modular.Templates.Runtime;

/// <summary>Formats doubles exactly as Python's repr(float) does: shortest round-trip digits, "1.0", "1e-05", "1e+16".</summary>
internal static class PyFloat
{
    public static string Repr(double d)
    {
        if (double.IsNaN(d)) return "nan";
        if (double.IsPositiveInfinity(d)) return "inf";
        if (double.IsNegativeInfinity(d)) return "-inf";
        bool negative = d < 0 || (d == 0 && double.IsNegative(d));
        // .NET's "R" is the shortest string that round-trips, like Python's repr; only the layout differs.
        string r = Math.Abs(d).ToString("R", CultureInfo.InvariantCulture);
        int exp = 0;
        int e = r.IndexOfAny(['E', 'e']);
        string mantissa = r;
        if (e >= 0)
        {
            exp = int.Parse(r.AsSpan(e + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            mantissa = r.Substring(0, e);
        }
        int dot = mantissa.IndexOf('.');
        string intPart = dot < 0 ? mantissa : mantissa.Substring(0, dot);
        string digits = dot < 0 ? mantissa : intPart + mantissa.Substring(dot + 1);
        int exp10 = intPart.Length - 1 + exp; // value = d.ddd × 10^exp10
        int lead = 0;
        while (lead < digits.Length - 1 && digits[lead] == '0') { lead++; exp10--; }
        digits = digits.Substring(lead).TrimEnd('0');
        var sb = new StringBuilder();
        if (negative) sb.Append('-');
        if (digits.Length == 0) return sb.Append("0.0").ToString();

        if (exp10 < -4 || exp10 >= 16)
        {
            sb.Append(digits[0]);
            if (digits.Length > 1) sb.Append('.').Append(digits, 1, digits.Length - 1);
            sb.Append('e').Append(exp10 < 0 ? '-' : '+').Append(Math.Abs(exp10).ToString("00", CultureInfo.InvariantCulture));
        }
        else if (exp10 < 0)
        {
            sb.Append("0.").Append('0', -exp10 - 1).Append(digits);
        }
        else if (digits.Length <= exp10 + 1)
        {
            sb.Append(digits).Append('0', exp10 + 1 - digits.Length).Append(".0");
        }
        else
        {
            sb.Append(digits, 0, exp10 + 1).Append('.').Append(digits, exp10 + 1, digits.Length - exp10 - 1);
        }
        return sb.ToString();
    }
}
