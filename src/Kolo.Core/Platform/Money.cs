using System.Text.RegularExpressions;

namespace Kolo.Core.Platform;

/// <summary>Money as the API shows it. Storage keeps <c>long</c> minor units plus the ISO 4217 code.</summary>
public sealed record MoneyAmount(decimal Amount, string Currency);

public static partial class Money
{
    // ISO 4217 currencies whose minor unit is not cents.
    private static readonly HashSet<string> NoMinorUnit = ["BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF"];
    private static readonly HashSet<string> ThreeDecimals = ["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"];

    [GeneratedRegex("^[A-Z]{3}$")]
    private static partial Regex CurrencyCode();

    public static bool IsCurrencyCode(string? code) => code is not null && CurrencyCode().IsMatch(code);

    public static int MinorDigits(string currency) => NoMinorUnit.Contains(currency) ? 0 : ThreeDecimals.Contains(currency) ? 3 : 2;

    public static long ToMinor(decimal amount, string currency) =>
        (long)decimal.Round(amount * Pow10(MinorDigits(currency)), 0, MidpointRounding.AwayFromZero);

    public static decimal FromMinor(long minor, string currency) => minor / Pow10(MinorDigits(currency));

    public static MoneyAmount? FromMinor(long? minor, string? currency) =>
        minor is { } m && currency is not null ? new MoneyAmount(FromMinor(m, currency), currency) : null;

    private static decimal Pow10(int digits) => digits switch { 0 => 1m, 3 => 1000m, _ => 100m };
}
