using System.Globalization;
using System.Text;

namespace Modular.Templates.Runtime;

/// <summary>Python's datetime.strftime for the directives chat templates use (Llama 3.1 uses "%d %b %Y").</summary>
internal static class Strftime
{
    public static string Format(DateTime t, string format)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        for (int i = 0; i < format.Length; i++)
        {
            char c = format[i];
            if (c != '%' || i + 1 >= format.Length) { sb.Append(c); continue; }
            char d = format[++i];
            switch (d)
            {
                case 'd': sb.Append(t.Day.ToString("00", inv)); break;
                case 'e': sb.Append(t.Day.ToString(inv).PadLeft(2)); break;
                case 'm': sb.Append(t.Month.ToString("00", inv)); break;
                case 'Y': sb.Append(t.Year.ToString("0000", inv)); break;
                case 'y': sb.Append((t.Year % 100).ToString("00", inv)); break;
                case 'b': case 'h': sb.Append(inv.DateTimeFormat.GetAbbreviatedMonthName(t.Month)); break;
                case 'B': sb.Append(inv.DateTimeFormat.GetMonthName(t.Month)); break;
                case 'a': sb.Append(inv.DateTimeFormat.GetAbbreviatedDayName(t.DayOfWeek)); break;
                case 'A': sb.Append(inv.DateTimeFormat.GetDayName(t.DayOfWeek)); break;
                case 'w': sb.Append((int)t.DayOfWeek); break;
                case 'H': sb.Append(t.Hour.ToString("00", inv)); break;
                case 'I': sb.Append((t.Hour % 12 == 0 ? 12 : t.Hour % 12).ToString("00", inv)); break;
                case 'p': sb.Append(t.Hour < 12 ? "AM" : "PM"); break;
                case 'M': sb.Append(t.Minute.ToString("00", inv)); break;
                case 'S': sb.Append(t.Second.ToString("00", inv)); break;
                case 'f': sb.Append((t.Ticks % TimeSpan.TicksPerSecond / 10).ToString("000000", inv)); break;
                case 'j': sb.Append(t.DayOfYear.ToString("000", inv)); break;
                case 'F': sb.Append(t.ToString("yyyy-MM-dd", inv)); break;
                case 'T': sb.Append(t.ToString("HH:mm:ss", inv)); break;
                case '%': sb.Append('%'); break;
                default: sb.Append('%').Append(d); break;
            }
        }
        return sb.ToString();
    }
}
