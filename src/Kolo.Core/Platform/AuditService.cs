using Kolo.Core.Customers;
using Kolo.Core.Data;
using Microsoft.EntityFrameworkCore;

namespace Kolo.Core.Platform;

public sealed record AuditEntryView(Guid Id, DateTime At, Guid? UserId, string UserName, string EntityType, Guid EntityId, string Action, IReadOnlyList<FieldChange> Changes);

public sealed class AuditService(IDbContextFactory<KoloDb> dbFactory)
{
    /// <summary>Newest first, keyset-paged by entry id (ids are time-ordered). Readers see only what they may see.</summary>
    public async Task<Page<AuditEntryView>> ListAsync(Actor actor, string? entityType, Guid? entityId, int limit, Guid? before, CancellationToken ct = default)
    {
        var errors = new ValidationErrors();
        if (limit is < 1 or > 500) errors.Add("limit", "Limit must be between 1 and 500.");
        if (entityId is null && !actor.IsAdminOrManager) errors.Add("entityId", "Give the record whose history you want.");
        errors.ThrowIfAny();

        await using var db = await dbFactory.CreateDbContextAsync(ct);
        if (entityType == CustomerService.EntityType && entityId is { } customerId
            && !await db.Customers.VisibleTo(db, actor).AnyAsync(c => c.Id == customerId, ct))
            throw new NotFoundException("Customer", customerId);
        if (entityType != CustomerService.EntityType && !actor.IsAdminOrManager)
            throw new ForbiddenException("Only admins and managers read the audit log of other records.");

        var q = db.AuditEntries.AsNoTracking();
        if (entityType is not null) q = q.Where(a => a.EntityType == entityType);
        if (entityId is { } id) q = q.Where(a => a.EntityId == id);
        if (before is { } b) q = q.Where(a => a.Id.CompareTo(b) < 0);
        var rows = await q.OrderByDescending(a => a.Id).Take(limit + 1).ToListAsync(ct);
        var next = rows.Count > limit ? rows[limit - 1].Id.ToString() : null;
        return new Page<AuditEntryView>(
            rows.Take(limit).Select(a => new AuditEntryView(a.Id, a.At, a.UserId, a.UserName, a.EntityType, a.EntityId, a.Action, a.Changes)).ToList(),
            next);
    }
}
