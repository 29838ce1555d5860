using Kolo.Core.Customers;
using Kolo.Core.Data;
using Kolo.Core.Platform;
using Microsoft.EntityFrameworkCore;

namespace Kolo.Core.Timeline;

/// <summary>
/// One entry on a customer's timeline. <see cref="Kind"/> says which capability it comes from (interaction, task,
/// change, and later order, deal, ticket, campaign-message); <see cref="Details"/> carries what is specific to it.
/// </summary>
public sealed record TimelineEntry
{
    public string Kind { get; init; } = "";
    public Guid Id { get; init; }
    public DateTime At { get; init; }
    public string Title { get; init; } = "";
    public string? Summary { get; init; }
    public ContactChannel? Channel { get; init; }
    public string? Type { get; init; }
    public string? Direction { get; init; }
    public Sentiment? Sentiment { get; init; }
    public string? Status { get; init; }
    public Guid? UserId { get; init; }
    public string? UserName { get; init; }
    public IReadOnlyDictionary<string, object?> Details { get; init; } = new Dictionary<string, object?>();
}

/// <summary>Where the timeline reads from: the position after the last entry shown, newest first.</summary>
public sealed record TimelinePosition(DateTime At, Guid Id);

/// <summary>
/// A capability's entries about a customer. Register an implementation in DI and the timeline shows its entries;
/// nothing else changes. Entries must come newest first by (At, Id), strictly after <c>before</c>.
/// </summary>
public interface ITimelineSource
{
    string Kind { get; }

    /// <summary>Whether entries of this kind have a channel; a channel filter hides the kinds that do not.</summary>
    bool HasChannel { get; }

    Task<IReadOnlyList<TimelineEntry>> ReadAsync(KoloDb db, Guid customerId, TimelinePosition? before, ContactChannel? channel, int limit, CancellationToken ct);
}

public sealed record TimelineQuery
{
    /// <summary>Kinds to include; all when empty.</summary>
    public IReadOnlyCollection<string> Kinds { get; init; } = [];
    public ContactChannel? Channel { get; init; }
    public int Limit { get; init; } = 50;
    public string? Cursor { get; init; }
}

/// <summary>Merges every source's newest entries into one keyset-paged stream.</summary>
public sealed class TimelineService(IDbContextFactory<KoloDb> dbFactory, IEnumerable<ITimelineSource> sources)
{
    public IReadOnlyList<string> Kinds { get; } = sources.Select(s => s.Kind).ToList();

    public async Task<Page<TimelineEntry>> GetAsync(Actor actor, Guid customerId, TimelineQuery query, CancellationToken ct = default)
    {
        var errors = new ValidationErrors();
        if (query.Limit is < 1 or > 200) errors.Add("limit", "Limit must be between 1 and 200.");
        foreach (var kind in query.Kinds.Where(k => !Kinds.Contains(k)))
            errors.Add("kind", $"Unknown kind '{kind}'; use {string.Join(", ", Kinds)}.");
        var before = KeysetCursor.Decode(query.Cursor, errors) is { } c ? new TimelinePosition(c.At, c.Id) : null;
        errors.ThrowIfAny();

        await using var db = await dbFactory.CreateDbContextAsync(ct);
        if (!await db.Customers.VisibleTo(db, actor).AnyAsync(c => c.Id == customerId, ct))
            throw new NotFoundException("Customer", customerId);

        var selected = sources.Where(s => (query.Kinds.Count == 0 || query.Kinds.Contains(s.Kind)) && (query.Channel is null || s.HasChannel));
        var entries = new List<TimelineEntry>();
        // Each source gives at most limit+1 entries after the cursor; the newest limit of their union are the page.
        foreach (var source in selected)
            entries.AddRange(await source.ReadAsync(db, customerId, before, query.Channel, query.Limit + 1, ct));
        var ordered = entries.OrderByDescending(e => e.At).ThenByDescending(e => e.Id).ToList();
        var page = ordered.Take(query.Limit).ToList();
        var next = ordered.Count > query.Limit ? KeysetCursor.Encode(page[^1].At, page[^1].Id) : null;
        return new Page<TimelineEntry>(await WithUserNamesAsync(db, page, ct), next);
    }

    private static async Task<IReadOnlyList<TimelineEntry>> WithUserNamesAsync(KoloDb db, List<TimelineEntry> page, CancellationToken ct)
    {
        var ids = page.Where(e => e.UserId is not null && e.UserName is null).Select(e => e.UserId!.Value).Distinct().ToList();
        if (ids.Count == 0) return page;
        var names = await DisplayNames.OfUsersAsync(db, ids, ct);
        return page.Select(e => e.UserId is { } id && e.UserName is null ? e with { UserName = names.GetValueOrDefault(id) } : e).ToList();
    }
}

/// <summary>Record changes of the customer (the audit log) on its timeline.</summary>
public sealed class ChangeTimelineSource : ITimelineSource
{
    public string Kind => "change";
    public bool HasChannel => false;

    public async Task<IReadOnlyList<TimelineEntry>> ReadAsync(KoloDb db, Guid customerId, TimelinePosition? before, ContactChannel? channel, int limit, CancellationToken ct)
    {
        var q = db.AuditEntries.AsNoTracking().Where(a => a.EntityType == CustomerService.EntityType && a.EntityId == customerId);
        // The redundant "<=" lets the index scan start at the cursor; the OR alone is only a filter, so a deep page
        // would read every newer row of the customer first.
        if (before is { } b) q = q.Where(a => a.At <= b.At && (a.At < b.At || (a.At == b.At && a.Id.CompareTo(b.Id) < 0)));
        var rows = await q.OrderByDescending(a => a.At).ThenByDescending(a => a.Id).Take(limit).ToListAsync(ct);
        return rows.Select(a => new TimelineEntry
        {
            Kind = Kind, Id = a.Id, At = a.At, Title = a.Action, UserId = a.UserId, UserName = a.UserName,
            Summary = string.Join("; ", a.Changes.Select(c => c.Field)),
            Details = new Dictionary<string, object?> { ["action"] = a.Action, ["changes"] = a.Changes },
        }).ToList();
    }
}
