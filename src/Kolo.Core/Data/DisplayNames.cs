using Microsoft.EntityFrameworkCore;

namespace Kolo.Core.Data;

/// <summary>Id → display name for a page's users or customers, reading just those two columns in one query.</summary>
public static class DisplayNames
{
    public static async Task<Dictionary<Guid, string>> OfUsersAsync(KoloDb db, IReadOnlyCollection<Guid> ids, CancellationToken ct) =>
        ids.Count == 0 ? [] : await db.Users.Where(u => ids.Contains(u.Id))
            .Select(u => new { u.Id, u.DisplayName }).ToDictionaryAsync(u => u.Id, u => u.DisplayName, ct);

    public static async Task<Dictionary<Guid, string>> OfCustomersAsync(KoloDb db, IReadOnlyCollection<Guid> ids, CancellationToken ct) =>
        ids.Count == 0 ? [] : await db.Customers.Where(c => ids.Contains(c.Id))
            .Select(c => new { c.Id, c.DisplayName }).ToDictionaryAsync(c => c.Id, c => c.DisplayName, ct);
}
