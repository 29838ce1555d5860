using System.Text.Json;

namespace Kolo.Core.Platform;

public sealed record FieldChange(string Field, string? Old, string? New);

/// <summary>One change to a record: who, when, what happened and which fields went from what to what.</summary>
public sealed class AuditEntry
{
    public Guid Id { get; set; } = Guid.CreateVersion7();
    public DateTime At { get; set; }
    public Guid? UserId { get; set; }
    public string UserName { get; set; } = "";
    public string EntityType { get; set; } = "";
    public Guid EntityId { get; set; }
    public string Action { get; set; } = "";
    public List<FieldChange> Changes { get; set; } = [];
}

public static class AuditActions
{
    public const string Created = "created";
    public const string Updated = "updated";
    public const string Archived = "archived";
    public const string Restored = "restored";
    public const string Merged = "merged";
    public const string MergedInto = "merged-into";
    public const string LinkAdded = "link-added";
    public const string LinkRemoved = "link-removed";
}

public static class Audit
{
    // History is read by people: keep '+', quotes and Cyrillic as they are instead of \uXXXX escapes.
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Field-by-field difference of two snapshots (field name → JSON text of the value).</summary>
    public static List<FieldChange> Diff(IReadOnlyDictionary<string, string?> before, IReadOnlyDictionary<string, string?> after)
    {
        var changes = new List<FieldChange>();
        foreach (var (field, newValue) in after)
        {
            before.TryGetValue(field, out var oldValue);
            if (oldValue != newValue) changes.Add(new FieldChange(field, oldValue, newValue));
        }
        return changes;
    }

    public static string? Text(object? value) => value switch
    {
        null => null,
        string s => s.Length == 0 ? null : s,
        System.Collections.ICollection { Count: 0 } => null,
        Enum e => e.ToString(),
        DateOnly d => d.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
        DateTime t => t.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
        _ => JsonSerializer.Serialize(value, Json),
    };

    public static AuditEntry Entry(Actor actor, DateTime at, string entityType, Guid entityId, string action, List<FieldChange>? changes = null) => new()
    {
        At = at,
        UserId = actor.UserId == Guid.Empty ? null : actor.UserId,
        UserName = actor.Name,
        EntityType = entityType,
        EntityId = entityId,
        Action = action,
        Changes = changes ?? [],
    };
}
