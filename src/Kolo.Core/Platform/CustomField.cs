using System.Globalization;
using System.Text.Json;

namespace Kolo.Core.Platform;

public enum CustomFieldType { Text, Number, Date, Choice }

/// <summary>An admin-defined extra field on a record. Values are stored as canonical text and checked against this.</summary>
public sealed class CustomFieldDefinition
{
    public Guid Id { get; set; } = Guid.CreateVersion7();
    public string EntityType { get; set; } = "customer";
    /// <summary>The JSON key, e.g. <c>loyaltyCard</c>; never changes once created.</summary>
    public string Key { get; set; } = "";
    public string Label { get; set; } = "";
    public CustomFieldType Type { get; set; }
    public List<string> Choices { get; set; } = [];
    public bool Required { get; set; }
    public int SortOrder { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime? ArchivedAt { get; set; }
    public Guid Version { get; set; } = Guid.NewGuid();

    /// <summary>Turns a JSON value into the stored text, or returns an error message.</summary>
    public (string? Value, string? Error) Canonicalise(JsonElement value)
    {
        if (value.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined) return (null, null);
        switch (Type)
        {
            case CustomFieldType.Text:
                if (value.ValueKind != JsonValueKind.String) return (null, $"'{Label}' must be text.");
                var text = value.GetString()!.Trim();
                return text.Length > 1000 ? (null, $"'{Label}' must be at most 1000 characters.") : (text.Length == 0 ? null : text, null);
            case CustomFieldType.Number:
                if (value.ValueKind == JsonValueKind.Number && value.TryGetDecimal(out var n)) return (n.ToString(CultureInfo.InvariantCulture), null);
                // No thousands separators: "1,5" typed with a decimal comma must be refused, not stored as 15.
                if (value.ValueKind == JsonValueKind.String && decimal.TryParse(value.GetString(), NumberStyles.AllowLeadingWhite | NumberStyles.AllowTrailingWhite | NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out n))
                    return (n.ToString(CultureInfo.InvariantCulture), null);
                return (null, $"'{Label}' must be a number.");
            case CustomFieldType.Date:
                if (value.ValueKind == JsonValueKind.String && DateOnly.TryParseExact(value.GetString(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d))
                    return (d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), null);
                return (null, $"'{Label}' must be a date in the form yyyy-MM-dd.");
            case CustomFieldType.Choice:
                var choice = value.ValueKind == JsonValueKind.String ? value.GetString() : null;
                return choice is not null && Choices.Contains(choice)
                    ? (choice, null)
                    : (null, $"'{Label}' must be one of: {string.Join(", ", Choices)}.");
            default:
                return (null, $"'{Label}' has an unknown type.");
        }
    }

    /// <summary>The stored text as the API shows it: numbers as numbers, the rest as strings.</summary>
    public object? Present(string stored) => Type == CustomFieldType.Number
        ? decimal.Parse(stored, CultureInfo.InvariantCulture)
        : stored;
}
