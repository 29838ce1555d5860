using System.ComponentModel.DataAnnotations;
using Kolo.Core.Data;
using Kolo.Core.Platform;
using Microsoft.EntityFrameworkCore;

namespace Kolo.Core.Customers;

public sealed class TagInput
{
    [Required, StringLength(60, MinimumLength = 1)]
    public string Name { get; set; } = "";
    [RegularExpression("^#[0-9a-fA-F]{6}$", ErrorMessage = "Use a colour like #1e88e5.")]
    public string? Color { get; set; }
}

public sealed record TagView(Guid Id, string Name, string? Color, int Customers, DateTime? ArchivedAt);

public sealed class TagService(IDbContextFactory<KoloDb> dbFactory, TimeProvider clock)
{
    public const string EntityType = "tag";

    public async Task<IReadOnlyList<TagView>> ListAsync(string? q, bool includeArchived, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var tags = db.Tags.AsNoTracking().Where(t => includeArchived || t.ArchivedAt == null);
        if (!string.IsNullOrWhiteSpace(q))
        {
            var key = TextNormalizer.Normalize(q);
            tags = tags.Where(t => t.NameKey.StartsWith(key));
        }
        return await tags.OrderBy(t => t.NameKey)
            .Select(t => new TagView(t.Id, t.Name, t.Color, db.CustomerTags.Count(ct2 => ct2.TagId == t.Id), t.ArchivedAt))
            .Take(500).ToListAsync(ct);
    }

    /// <summary>
    /// Active tag names for pickers and filters. Without the per-tag customer counts of <see cref="ListAsync"/>,
    /// which read every customer_tags row (millions) on each keystroke or page open.
    /// </summary>
    public async Task<IReadOnlyList<string>> ListNamesAsync(string? q, int limit, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var tags = db.Tags.AsNoTracking().Where(t => t.ArchivedAt == null);
        if (!string.IsNullOrWhiteSpace(q))
        {
            var key = TextNormalizer.Normalize(q);
            tags = tags.Where(t => t.NameKey.StartsWith(key));
        }
        return await tags.OrderBy(t => t.NameKey).Select(t => t.Name).Take(limit).ToListAsync(ct);
    }

    public async Task<TagView> CreateAsync(Actor actor, TagInput input, CancellationToken ct = default)
    {
        EnsureCanManage(actor);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var key = TextNormalizer.Normalize(input.Name);
        if (await db.Tags.AnyAsync(t => t.NameKey == key, ct)) throw ValidationFailedException.For("name", "A tag with this name exists already.");
        var now = clock.GetUtcNow().UtcDateTime;
        var tag = new Tag { Name = input.Name.Trim(), NameKey = key, Color = input.Color, CreatedAt = now };
        db.Tags.Add(tag);
        db.AuditEntries.Add(Audit.Entry(actor, now, EntityType, tag.Id, AuditActions.Created, [new FieldChange("name", null, tag.Name)]));
        await db.SaveChangesAsync(ct);
        return new TagView(tag.Id, tag.Name, tag.Color, 0, null);
    }

    /// <summary>Archiving hides the tag from pickers; customers keep it, so nothing is lost.</summary>
    public async Task ArchiveAsync(Actor actor, Guid id, CancellationToken ct = default)
    {
        EnsureCanManage(actor);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var tag = await db.Tags.FirstOrDefaultAsync(t => t.Id == id, ct) ?? throw new NotFoundException("Tag", id);
        if (tag.ArchivedAt is not null) return;
        tag.ArchivedAt = clock.GetUtcNow().UtcDateTime;
        db.AuditEntries.Add(Audit.Entry(actor, tag.ArchivedAt.Value, EntityType, id, AuditActions.Archived));
        await db.SaveChangesAsync(ct);
    }

    private static void EnsureCanManage(Actor actor)
    {
        if (actor.Role is not (UserRole.Admin or UserRole.Manager or UserRole.Marketing))
            throw new ForbiddenException("Only admins, managers and marketing manage tags.");
    }
}
