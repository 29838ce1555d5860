using System.Globalization;
using System.Text;
using PhoneNumbers;

namespace Kolo.Core.Customers;

public static class TextNormalizer
{
    /// <summary>Lower case, accents removed, whitespace collapsed: the form used for sorting, search and matching.</summary>
    public static string Normalize(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return "";
        var decomposed = text.Trim().ToLowerInvariant().Normalize(NormalizationForm.FormD);
        var sb = new StringBuilder(decomposed.Length);
        var lastWasSpace = false;
        foreach (var ch in decomposed)
        {
            var category = CharUnicodeInfo.GetUnicodeCategory(ch);
            if (category == UnicodeCategory.NonSpacingMark) continue;
            if (char.IsWhiteSpace(ch))
            {
                if (!lastWasSpace) sb.Append(' ');
                lastWasSpace = true;
                continue;
            }
            sb.Append(ch);
            lastWasSpace = false;
        }
        return sb.ToString().Normalize(NormalizationForm.FormC);
    }

    /// <summary>The words of a name: letters and digits, split on everything else (so "O'Neil-Smith" gives o, neil, smith).</summary>
    public static IEnumerable<string> Words(string? text) =>
        Normalize(text).SplitWhere(static c => !char.IsLetterOrDigit(c)).Where(w => w.Length > 0);

    public static string NormalizeEmail(string email) => email.Trim().ToLowerInvariant();

    public static string Digits(string text) => new(text.Where(char.IsAsciiDigit).ToArray());

    /// <summary>The smallest string greater than every string that starts with <paramref name="prefix"/> (ordinal).</summary>
    public static string PrefixUpperBound(string prefix) => prefix[..^1] + (char)(prefix[^1] + 1);
}

internal static class StringSplitExtensions
{
    public static string[] SplitWhere(this string text, Func<char, bool> isSeparator)
    {
        var parts = new List<string>();
        var start = 0;
        for (var i = 0; i <= text.Length; i++)
        {
            if (i < text.Length && !isSeparator(text[i])) continue;
            if (i > start) parts.Add(text[start..i]);
            start = i + 1;
        }
        return [.. parts];
    }
}

/// <summary>Phone numbers to E.164 with libphonenumber, using a default region for numbers written without a country code.</summary>
public sealed class PhoneNormalizer(string defaultRegion = "UA")
{
    private static readonly PhoneNumberUtil Util = PhoneNumberUtil.GetInstance();

    public string DefaultRegion { get; } = defaultRegion.ToUpperInvariant();

    public bool TryNormalize(string? input, out string e164)
    {
        e164 = "";
        if (string.IsNullOrWhiteSpace(input)) return false;
        try
        {
            var number = Util.Parse(input, DefaultRegion);
            if (!Util.IsValidNumber(number)) return false;
            e164 = Util.Format(number, PhoneNumberFormat.E164);
            return true;
        }
        catch (NumberParseException)
        {
            return false;
        }
    }

    /// <summary>The digits a person might type to find this number: the full international form and the national form.</summary>
    public static IEnumerable<string> SearchDigits(string e164)
    {
        yield return TextNormalizer.Digits(e164);
        PhoneNumbers.PhoneNumber parsed;
        try { parsed = Util.Parse(e164, null); }
        catch (NumberParseException) { yield break; }
        var national = TextNormalizer.Digits(Util.Format(parsed, PhoneNumberFormat.NATIONAL));
        if (national.Length > 0) yield return national;
    }
}
