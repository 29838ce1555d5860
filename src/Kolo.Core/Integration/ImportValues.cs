using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Kolo.Core.Integration;

/// <summary>A row that cannot be imported, and why, in words a person fixing the file understands.</summary>
public sealed class RowRejectedException(string reason) : Exception(reason);

/// <summary>The file or mapping cannot be imported at all (a mapped column is missing, a required field unmapped).</summary>
public sealed class ImportSetupException(IReadOnlyList<string> problems) : Exception(string.Join(" ", problems))
{
    /// <summary>Each problem of the mapping on its own, as one sentence.</summary>
    public IReadOnlyList<string> Problems { get; } = problems;
}

/// <summary>Target fields → column positions of one file, plus the mapping's options.</summary>
public sealed class ColumnMap
{
    private readonly Dictionary<string, int> _columns = [];
    private readonly Dictionary<string, string> _options = [];

    public ColumnMap(ImportKind kind, IReadOnlyDictionary<string, string> mapping, IReadOnlyList<string> header)
    {
        var problems = new List<string>();
        var fields = ImportFields.For(kind);
        foreach (var (target, source) in mapping)
        {
            if (target.StartsWith(ImportFields.OptionPrefix, StringComparison.Ordinal))
            {
                var name = target[ImportFields.OptionPrefix.Length..];
                if (!ImportFields.Options.ContainsKey(name)) problems.Add($"Unknown option '{name}'.");
                else _options[name] = source;
                continue;
            }
            if (string.IsNullOrWhiteSpace(source)) continue;
            if (fields.All(f => f.Name != target)) { problems.Add($"'{target}' is not a field of a {kind} import."); continue; }
            var index = IndexOf(header, source);
            if (index < 0) problems.Add($"The file has no column '{source}' (mapped to {target}).");
            else _columns[target] = index;
        }
        foreach (var f in fields.Where(f => f.Required && !_columns.ContainsKey(f.Name)))
            problems.Add($"Map a column to '{f.Name}'.");
        if (kind == ImportKind.Orders)
        {
            if (!Has("externalId") && !Flag("externalIdFromRow")) problems.Add("Map a column to 'externalId', or set the externalIdFromRow option.");
            if (!Has("sku") && Option("defaultSku") is null) problems.Add("Map a column to 'sku', or set the defaultSku option.");
            if (!Has("unitPrice") && !Has("lineTotal")) problems.Add("Map a column to 'unitPrice' or 'lineTotal'.");
        }
        if (kind != ImportKind.Customers && !Has("currency") && !Money(Option("currency")))
            problems.Add("Map a column to 'currency', or set the currency option to an ISO 4217 code.");
        if (problems.Count > 0) throw new ImportSetupException(problems);
    }

    private static bool Money(string? code) => Platform.Money.IsCurrencyCode(code);

    private static int IndexOf(IReadOnlyList<string> header, string column)
    {
        for (var i = 0; i < header.Count; i++) if (header[i] == column) return i;
        for (var i = 0; i < header.Count; i++) if (string.Equals(header[i].Trim(), column.Trim(), StringComparison.OrdinalIgnoreCase)) return i;
        return -1;
    }

    public bool Has(string field) => _columns.ContainsKey(field);

    public string? Option(string name) => _options.TryGetValue(name, out var v) && !string.IsNullOrWhiteSpace(v) ? v.Trim() : null;

    public bool Flag(string name) => Option(name) is "true" or "yes" or "1";

    /// <summary>The field's text exactly as in the file; null when unmapped or empty.</summary>
    public string? Exact(ImportRow row, string field) =>
        _columns.TryGetValue(field, out var i) && i < row.Values.Length && row.Values[i].Length > 0 ? row.Values[i] : null;

    /// <summary>The field's text trimmed; null when unmapped or blank.</summary>
    public string? Text(ImportRow row, string field)
    {
        var value = Exact(row, field)?.Trim();
        return string.IsNullOrEmpty(value) ? null : value;
    }

    public string Required(ImportRow row, string field, string? reason = null) =>
        Text(row, field) ?? throw new RowRejectedException(reason ?? $"{field} is empty.");

    /// <summary>The largest price or amount a row may give, as the API allows for prices.</summary>
    public const decimal MaxAmount = 1_000_000_000m;

    /// <summary>The largest line total: the largest quantity at the largest price.</summary>
    public const decimal MaxLineTotal = 1_000_000m * MaxAmount;

    /// <summary>A number with a '.' separator, at most <paramref name="limit"/> either side of zero.</summary>
    public decimal? Decimal(ImportRow row, string field, decimal limit = MaxAmount)
    {
        var text = Text(row, field);
        if (text is null) return null;
        if (!decimal.TryParse(text, NumberStyles.Number | NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out var d))
            throw new RowRejectedException($"{field} '{text}' is not a number.");
        return Math.Abs(d) <= limit ? d
            : throw new RowRejectedException($"{field} '{text}' is too large: at most {limit.ToString("0", CultureInfo.InvariantCulture)}.");
    }

    public int? Integer(ImportRow row, string field, int limit)
    {
        var d = Decimal(row, field, decimal.MaxValue);
        if (d is null) return null;
        if (d != decimal.Truncate(d.Value)) throw new RowRejectedException($"{field} '{Text(row, field)}' is not a whole number.");
        return Math.Abs(d.Value) <= limit ? (int)d.Value
            : throw new RowRejectedException($"{field} '{Text(row, field)}' is too large: at most {limit.ToString(CultureInfo.InvariantCulture)}.");
    }

    /// <summary>A date (time) read as UTC: with the dateFormat option exactly, otherwise any ISO-like form.</summary>
    public DateTime? Date(ImportRow row, string field)
    {
        var text = Text(row, field);
        if (text is null) return null;
        const DateTimeStyles styles = DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal;
        var ok = Option("dateFormat") is { } format
            ? DateTime.TryParseExact(text, format, CultureInfo.InvariantCulture, styles, out var at)
            : DateTime.TryParse(text, CultureInfo.InvariantCulture, styles, out at);
        return ok ? DateTime.SpecifyKind(at, DateTimeKind.Utc) : throw new RowRejectedException($"{field} '{text}' is not a date{(Option("dateFormat") is { } f ? $" in the form {f}" : "")}.");
    }

    public bool? Bool(ImportRow row, string field) => Text(row, field)?.ToLowerInvariant() switch
    {
        null => null,
        "true" or "yes" or "1" or "y" or "active" => true,
        "false" or "no" or "0" or "n" or "inactive" => false,
        var other => throw new RowRejectedException($"{field} '{other}' is not true or false."),
    };

    public string Currency(ImportRow row)
    {
        var code = (Text(row, "currency") ?? Option("currency") ?? throw new RowRejectedException("currency is empty, and no currency option is set.")).ToUpperInvariant();
        return Money(code) ? code : throw new RowRejectedException($"currency '{code}' is not an ISO 4217 code.");
    }
}

public static class ImportValues
{
    /// <summary>
    /// An id as another system wrote it: trimmed, and a whole number written as a float ("17850.0", as spreadsheets
    /// and dataframes export integer ids with gaps) loses its ".0", so it matches the same id written "17850".
    /// </summary>
    public static string? NormalizeId(string? id)
    {
        if (string.IsNullOrWhiteSpace(id)) return null;
        var text = id.Trim();
        var dot = text.IndexOf('.', StringComparison.Ordinal);
        if (dot > 0 && text[..dot].All(char.IsAsciiDigit) && text[(dot + 1)..].Length > 0 && text[(dot + 1)..].All(c => c == '0'))
            return text[..dot];
        return text;
    }

    /// <summary>
    /// An order id for a file whose rows have none: a hash of the row's text, plus the occurrence number when the
    /// same text repeats. The same file gives the same ids every time, so re-importing it changes nothing.
    /// </summary>
    public static string RowId(string raw, int occurrence)
    {
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(raw)))[..20];
        return occurrence <= 1 ? $"R{hash}" : $"R{hash}-{occurrence}";
    }

    private static readonly Lazy<Dictionary<string, string>> CountryCodes = new(() =>
    {
        var map = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        try
        {
            foreach (var culture in CultureInfo.GetCultures(CultureTypes.SpecificCultures))
            {
                RegionInfo region;
                try { region = new RegionInfo(culture.Name); } catch (ArgumentException) { continue; }
                if (region.TwoLetterISORegionName.Length != 2) continue;
                map.TryAdd(region.EnglishName, region.TwoLetterISORegionName);
                map.TryAdd(region.ThreeLetterISORegionName, region.TwoLetterISORegionName);
            }
        }
        catch (CultureNotFoundException) { /* invariant globalisation: names stay as given */ }
        // Names in common exports that are not the English region names.
        foreach (var (name, code) in new[] { ("EIRE", "IE"), ("UK", "GB"), ("USA", "US"), ("RSA", "ZA"), ("Czech Republic", "CZ") })
            map.TryAdd(name, code);
        return map;
    });

    /// <summary>An ISO 3166 alpha-2 code for a code or an English country name; an unknown name is kept as written.</summary>
    public static string? Country(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        var value = text.Trim();
        if (value.Length == 2 && value.All(char.IsAsciiLetter)) return value.ToUpperInvariant();
        return CountryCodes.Value.TryGetValue(value, out var code) ? code : value;
    }
}
