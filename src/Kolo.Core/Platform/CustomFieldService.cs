using System.ComponentModel.DataAnnotations;
using System.Text.RegularExpressions;
using Kolo.Core.Data;
using Microsoft.EntityFrameworkCore;

namespace Kolo.Core.Platform;

public sealed class CustomFieldInput
{
    [Required, RegularExpression("^[a-z][a-zA-Z0-9]{0,59}$", ErrorMessage = "Use a camelCase key of letters and digits, starting with a lower-case letter.")]
    public string Key { get; set; } = "";
    [Required, StringLength(100, MinimumLength = 1)]
    public string Label { get; set; } = "";
    [Required]
    public CustomFieldType? Type { get; set; }
    public List<string>? Choices { get; set; }
    public bool Required { get; set; }
    public int SortOrder { get; set; }
}

public sealed record CustomFieldView(Guid Id, string EntityType, string Key, string Label, CustomFieldType Type, IReadOnlyList<string> Choices, bool Required, int SortOrder, DateTime? ArchivedAt, Guid Version)
{
    public static CustomFieldView From(CustomFieldDefinition d) => new(d.Id, d.EntityType, d.Key, d.Label, d.Type, d.Choices, d.Required, d.SortOrder, d.ArchivedAt, d.Version);
}

/// <summary>Admin-defined fields. Definitions are archived, never deleted, so stored values keep their meaning.</summary>
public sealed partial class CustomFieldService(IDbContextFactory<KoloDb> dbFactory, TimeProvider clock)
{
    public const string EntityType = "custom-field";

    public async Task<IReadOnlyList<CustomFieldView>> ListAsync(bool includeArchived, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var rows = await db.CustomFieldDefinitions.AsNoTracking()
            .Where(d => includeArchived || d.ArchivedAt == null)
            .OrderBy(d => d.SortOrder).ThenBy(d => d.Label).ToListAsync(ct);
        return rows.Select(CustomFieldView.From).ToList();
    }

    public async Task<CustomFieldView> CreateAsync(Actor actor, CustomFieldInput input, CancellationToken ct = default)
    {
        EnsureAdmin(actor);
        var errors = new ValidationErrors();
        var choices = Validate(input, errors);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        if (await db.CustomFieldDefinitions.AnyAsync(d => d.EntityType == "customer" && d.Key == input.Key, ct))
            errors.Add("key", $"A field with the key '{input.Key}' exists already.");
        errors.ThrowIfAny();
        var now = clock.GetUtcNow().UtcDateTime;
        var definition = new CustomFieldDefinition
        {
            Key = input.Key, Label = input.Label.Trim(), Type = input.Type!.Value, Choices = choices,
            Required = input.Required, SortOrder = input.SortOrder, CreatedAt = now,
        };
        db.CustomFieldDefinitions.Add(definition);
        db.AuditEntries.Add(Audit.Entry(actor, now, EntityType, definition.Id, AuditActions.Created,
            [new FieldChange("key", null, definition.Key), new FieldChange("type", null, definition.Type.ToString())]));
        await db.SaveChangesAsync(ct);
        return CustomFieldView.From(definition);
    }

    /// <summary>Changes label, choices, required and order. The key and type stay, so stored values stay valid.</summary>
    public async Task<CustomFieldView> UpdateAsync(Actor actor, Guid id, Guid expectedVersion, CustomFieldInput input, CancellationToken ct = default)
    {
        EnsureAdmin(actor);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var definition = await db.CustomFieldDefinitions.FirstOrDefaultAsync(d => d.Id == id, ct) ?? throw new NotFoundException("Custom field", id);
        if (definition.Version != expectedVersion) throw new PreconditionFailedException();
        var errors = new ValidationErrors();
        if (input.Key != definition.Key) errors.Add("key", "The key of a field cannot change.");
        if (input.Type != definition.Type) errors.Add("type", "The type of a field cannot change.");
        var choices = Validate(input, errors);
        errors.ThrowIfAny();
        var before = $"{definition.Label}|{string.Join(",", definition.Choices)}|{definition.Required}";
        definition.Label = input.Label.Trim();
        definition.Choices = choices;
        definition.Required = input.Required;
        definition.SortOrder = input.SortOrder;
        definition.Version = Guid.NewGuid();
        db.AuditEntries.Add(Audit.Entry(actor, clock.GetUtcNow().UtcDateTime, EntityType, id, AuditActions.Updated,
            [new FieldChange("definition", before, $"{definition.Label}|{string.Join(",", choices)}|{definition.Required}")]));
        await db.SaveChangesAsync(ct);
        return CustomFieldView.From(definition);
    }

    public async Task ArchiveAsync(Actor actor, Guid id, CancellationToken ct = default)
    {
        EnsureAdmin(actor);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var definition = await db.CustomFieldDefinitions.FirstOrDefaultAsync(d => d.Id == id, ct) ?? throw new NotFoundException("Custom field", id);
        if (definition.ArchivedAt is not null) return;
        definition.ArchivedAt = clock.GetUtcNow().UtcDateTime;
        definition.Version = Guid.NewGuid();
        db.AuditEntries.Add(Audit.Entry(actor, definition.ArchivedAt.Value, EntityType, id, AuditActions.Archived));
        await db.SaveChangesAsync(ct);
    }

    private static List<string> Validate(CustomFieldInput input, ValidationErrors errors)
    {
        if (!KeyPattern().IsMatch(input.Key ?? "")) errors.Add("key", "Use a camelCase key of letters and digits, starting with a lower-case letter.");
        if (string.IsNullOrWhiteSpace(input.Label)) errors.Add("label", "Enter a label.");
        if (input.Type is null) errors.Add("type", "Choose a type: Text, Number, Date or Choice.");
        // A null choice (JSON null in the list) counts as an empty one: left out.
        var choices = (input.Choices ?? []).Select(c => c?.Trim() ?? "").Where(c => c.Length > 0).Distinct().ToList();
        if (input.Type == CustomFieldType.Choice && choices.Count == 0) errors.Add("choices", "A choice field needs at least one choice.");
        if (input.Type != CustomFieldType.Choice && choices.Count > 0) errors.Add("choices", "Only a choice field has choices.");
        return choices;
    }

    private static void EnsureAdmin(Actor actor)
    {
        if (actor.Role != UserRole.Admin) throw new ForbiddenException("Only admins define custom fields.");
    }

    [GeneratedRegex("^[a-z][a-zA-Z0-9]{0,59}$")]
    private static partial Regex KeyPattern();
}
