using Kolo.Core.Customers;
using Kolo.Core.Data;
using Kolo.Core.Platform;
using Microsoft.EntityFrameworkCore;

namespace Kolo.Core.Marketing;

/// <summary>
/// Turns segments into one composable customer query, so counting, paging members and building a campaign audience are
/// each a single set-based SQL statement on either database. Only active customers (not archived, not merged) are members.
/// </summary>
public static class SegmentEvaluator
{
    /// <summary>The members of <paramref name="segment"/>; referenced segments are loaded (and cycles refused).</summary>
    public static async Task<IQueryable<Customer>> QueryAsync(KoloDb db, Segment segment, DateTime now, CancellationToken ct)
    {
        var loaded = new Dictionary<Guid, Segment> { [segment.Id] = segment };
        await LoadReferencesAsync(db, segment, loaded, [segment.Id], ct);
        return Build(db, segment, loaded, now);
    }

    /// <summary>Customers in any of <paramref name="include"/> and in none of <paramref name="exclude"/> (a campaign's target).</summary>
    public static async Task<IQueryable<Customer>> QueryAsync(KoloDb db, IReadOnlyCollection<Guid> include, IReadOnlyCollection<Guid> exclude, DateTime now, CancellationToken ct)
    {
        var target = new Segment { Id = Guid.Empty, Kind = SegmentKind.Static, Definition = new SegmentDefinition { IncludeSegmentIds = [.. include], ExcludeSegmentIds = [.. exclude] } };
        return await QueryAsync(db, target, now, ct);
    }

    private static async Task LoadReferencesAsync(KoloDb db, Segment segment, Dictionary<Guid, Segment> loaded, HashSet<Guid> path, CancellationToken ct)
    {
        foreach (var id in segment.Definition.IncludeSegmentIds.Concat(segment.Definition.ExcludeSegmentIds).Distinct())
        {
            if (path.Contains(id))
                throw ValidationFailedException.For("definition", "A segment cannot include or exclude itself, directly or through another segment.");
            if (!loaded.TryGetValue(id, out var other))
            {
                other = await db.Segments.AsNoTracking().FirstOrDefaultAsync(s => s.Id == id && s.ArchivedAt == null, ct)
                    ?? throw ValidationFailedException.For("definition", $"Segment {id} does not exist.");
                loaded[id] = other;
            }
            path.Add(id);
            await LoadReferencesAsync(db, other, loaded, path, ct);
            path.Remove(id);
        }
    }

    private static IQueryable<Customer> Build(KoloDb db, Segment segment, Dictionary<Guid, Segment> loaded, DateTime now)
    {
        var active = db.Customers.AsNoTracking().Where(c => c.ArchivedAt == null && c.MergedIntoId == null);
        var definition = segment.Definition;
        var segmentId = segment.Id;
        // A campaign's target (no id of its own) is only the union of its segments.
        IQueryable<Customer>? own = segmentId == Guid.Empty ? null
            : segment.Kind == SegmentKind.Static ? active.Where(c => db.SegmentMembers.Any(m => m.SegmentId == segmentId && m.CustomerId == c.Id))
            : SegmentRules.Apply(db, active, definition, now);
        IQueryable<Customer> members;
        if (definition.IncludeSegmentIds.Count > 0)
        {
            var ids = own?.Select(c => c.Id);
            foreach (var includeId in definition.IncludeSegmentIds)
            {
                var included = Build(db, loaded[includeId], loaded, now).Select(c => c.Id);
                ids = ids is null ? included : ids.Union(included);
            }
            members = active.Where(c => ids!.Contains(c.Id));
        }
        else
        {
            members = own ?? active.Where(c => false);
        }
        foreach (var excludeId in definition.ExcludeSegmentIds)
        {
            var excluded = Build(db, loaded[excludeId], loaded, now).Select(c => c.Id);
            // NOT EXISTS, not NOT IN: PostgreSQL turns it into an anti-join, where NOT IN (nullable semantics) stays a
            // subplan that degrades to a per-row scan once the excluded ids outgrow work_mem.
            members = members.Where(c => !excluded.Any(id => id == c.Id));
        }
        return members;
    }
}
