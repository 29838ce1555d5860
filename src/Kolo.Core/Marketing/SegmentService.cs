using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Text;
using CsvHelper;
using CsvHelper.Configuration;
using Kolo.Core.Customers;
using Kolo.Core.Data;
using Kolo.Core.Platform;
using Microsoft.EntityFrameworkCore;

namespace Kolo.Core.Marketing;

public sealed class SegmentInput
{
    /// <summary>Required; checked with the definition so one response names every problem.</summary>
    [StringLength(200)] public string? Name { get; set; }
    [StringLength(2000)] public string? Description { get; set; }
    public SegmentKind Kind { get; set; } = SegmentKind.Rules;
    public SegmentDefinition Definition { get; set; } = new();
}

public sealed class SegmentCountInput
{
    public SegmentKind Kind { get; set; } = SegmentKind.Rules;
    public SegmentDefinition Definition { get; set; } = new();
}

public sealed class SegmentMembersInput
{
    [Required, MinLength(1), MaxLength(10_000)] public List<Guid> CustomerIds { get; set; } = [];
}

public sealed record SegmentView(Guid Id, string Name, string? Description, SegmentKind Kind, SegmentDefinition Definition, int? LastCount, DateTime? LastCountedAt,
    Guid? CreatedById, DateTime CreatedAt, DateTime UpdatedAt, DateTime? ArchivedAt, Guid Version);

public sealed record SegmentListItem(Guid Id, string Name, string? Description, SegmentKind Kind, int Conditions, int? LastCount, DateTime? LastCountedAt, DateTime UpdatedAt, DateTime? ArchivedAt);

public sealed record SegmentCount(int Count, DateTime CountedAt);

public sealed record SegmentMemberView(Guid Id, string DisplayName, LifecycleStatus Status, string? Email, string? RfmSegment, long? ClvMinor, string? Currency);

public sealed record SegmentMembersChange(int Added, int AlreadyMembers, int Removed, IReadOnlyList<SegmentRejectedRow> Rejected);

/// <summary>A row of a members file that matched no customer: its line, the value and why.</summary>
public sealed record SegmentRejectedRow(int Row, string Value, string Reason);

public enum SegmentSort { Name, Updated, Count }

public sealed record SegmentOption(string Value, string Label);

/// <summary>What the rule builder's pickers offer: the choices of the id-valued fields and the known text values.</summary>
public sealed record SegmentOptions(IReadOnlyList<SegmentOption> Segments, IReadOnlyList<SegmentOption> Tags, IReadOnlyList<SegmentOption> Owners,
    IReadOnlyList<SegmentOption> Products, IReadOnlyList<string> Categories, IReadOnlyList<SegmentOption> Campaigns, IReadOnlyList<string> RfmSegments,
    IReadOnlyList<SegmentOption> CustomFields);

public sealed record SegmentQuery
{
    public string? Q { get; init; }
    public SegmentSort Sort { get; init; } = SegmentSort.Name;
    public bool IncludeArchived { get; init; }
    public int Limit { get; init; } = 50;
    public string? Cursor { get; init; }
}

/// <summary>
/// Segments: rule-built or static lists of customers, for campaigns and analysis. Admins, managers and marketing manage
/// them; every count and member page is one set-based query (<see cref="SegmentEvaluator"/>).
/// </summary>
public sealed class SegmentService(IDbContextFactory<KoloDb> dbFactory, TimeProvider clock)
{
    public const string EntityType = "segment";
    public const int MaxImportRows = 100_000;

    private DateTime Now() => clock.GetUtcNow().UtcDateTime;

    public static void EnsureCanManage(Actor actor)
    {
        if (actor.Role is not (UserRole.Admin or UserRole.Manager or UserRole.Marketing))
            throw new ForbiddenException("Only administrators, managers and marketing work with segments.");
    }

    public async Task<Page<SegmentListItem>> ListAsync(Actor actor, SegmentQuery query, CancellationToken ct = default)
    {
        EnsureCanManage(actor);
        if (query.Limit is < 1 or > 500) throw ValidationFailedException.For("limit", "Limit must be between 1 and 500.");
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var q = db.Segments.AsNoTracking();
        if (!query.IncludeArchived) q = q.Where(s => s.ArchivedAt == null);
        if (!string.IsNullOrWhiteSpace(query.Q))
        {
            var text = query.Q.Trim().ToLower();
            q = q.Where(s => s.Name.ToLower().Contains(text));
        }
        var cursor = DecodeCursor(query.Cursor, query.Sort.ToString());
        var rows = await Sorted(q, query.Sort, cursor).Take(query.Limit + 1)
            .Select(s => new { s.Id, s.Name, s.Description, s.Kind, s.Definition, s.LastCount, s.LastCountedAt, s.UpdatedAt, s.ArchivedAt }).ToListAsync(ct);
        string? next = null;
        if (rows.Count > query.Limit)
        {
            rows.RemoveAt(query.Limit);
            var last = rows[^1];
            next = Cursors.Encode(query.Sort.ToString(), query.Sort switch
            {
                SegmentSort.Updated => last.UpdatedAt.Ticks.ToString(CultureInfo.InvariantCulture),
                SegmentSort.Count => (last.LastCount ?? -1).ToString(CultureInfo.InvariantCulture),
                _ => last.Name,
            }, last.Id);
        }
        return new Page<SegmentListItem>(rows.Select(s => new SegmentListItem(s.Id, s.Name, s.Description, s.Kind, s.Definition.Conditions.Count, s.LastCount, s.LastCountedAt, s.UpdatedAt, s.ArchivedAt)).ToList(), next);
    }

    private static IQueryable<Segment> Sorted(IQueryable<Segment> q, SegmentSort sort, (string Key, Guid Id)? cursor)
    {
        switch (sort)
        {
            case SegmentSort.Updated:
            {
                if (cursor is { } c)
                {
                    var at = Cursors.Time(c.Key);
                    var id = c.Id;
                    q = q.Where(s => s.UpdatedAt < at || (s.UpdatedAt == at && s.Id.CompareTo(id) < 0));
                }
                return q.OrderByDescending(s => s.UpdatedAt).ThenByDescending(s => s.Id);
            }
            case SegmentSort.Count:
            {
                // Largest first; never counted sorts as -1 (last).
                if (cursor is { } c)
                {
                    var n = (int)Cursors.Number(c.Key, -1, int.MaxValue);
                    var id = c.Id;
                    q = q.Where(s => (s.LastCount ?? -1) < n || ((s.LastCount ?? -1) == n && s.Id.CompareTo(id) < 0));
                }
                return q.OrderByDescending(s => s.LastCount ?? -1).ThenByDescending(s => s.Id);
            }
            default:
            {
                if (cursor is { } c)
                {
                    var name = c.Key;
                    var id = c.Id;
                    q = q.Where(s => s.Name.CompareTo(name) > 0 || (s.Name == name && s.Id.CompareTo(id) > 0));
                }
                return q.OrderBy(s => s.Name).ThenBy(s => s.Id);
            }
        }
    }

    private static (string Key, Guid Id)? DecodeCursor(string? text, string sort) =>
        string.IsNullOrEmpty(text) ? null : Cursors.Decode(text, sort);

    /// <summary>The picker choices of the rule builder (the first 1,000 products by name: a larger catalogue is typed by category).</summary>
    public async Task<SegmentOptions> OptionsAsync(Actor actor, CancellationToken ct = default)
    {
        EnsureCanManage(actor);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var segments = await db.Segments.AsNoTracking().Where(s => s.ArchivedAt == null).OrderBy(s => s.Name).Select(s => new SegmentOption(s.Id.ToString(), s.Name)).ToListAsync(ct);
        var tags = await db.Tags.AsNoTracking().Where(t => t.ArchivedAt == null).OrderBy(t => t.NameKey).Select(t => new SegmentOption(t.Id.ToString(), t.Name)).ToListAsync(ct);
        var owners = await db.Users.AsNoTracking().Where(u => u.DeactivatedAt == null).OrderBy(u => u.DisplayName).Select(u => new SegmentOption(u.Id.ToString(), u.DisplayName)).ToListAsync(ct);
        var products = await db.Products.AsNoTracking().Where(p => p.Active).OrderBy(p => p.Name).Take(1000).Select(p => new SegmentOption(p.Id.ToString(), p.Name + " (" + p.Sku + ")")).ToListAsync(ct);
        var categories = await db.Products.AsNoTracking().Where(p => p.Category != null).Select(p => p.Category!).Distinct().OrderBy(c => c).Take(1000).ToListAsync(ct);
        var campaigns = await db.Campaigns.AsNoTracking().Where(c => c.ArchivedAt == null).OrderByDescending(c => c.Id).Take(500).Select(c => new SegmentOption(c.Id.ToString(), c.Name)).ToListAsync(ct);
        var rfm = await db.CustomerScores.AsNoTracking().Where(s => s.Segment != null).Select(s => s.Segment!).Distinct().OrderBy(s => s).ToListAsync(ct);
        var fields = await db.CustomFieldDefinitions.AsNoTracking().Where(f => f.ArchivedAt == null && f.EntityType == "customer").OrderBy(f => f.SortOrder)
            .Select(f => new SegmentOption(f.Key, f.Label)).ToListAsync(ct);
        return new SegmentOptions(segments, tags, owners, products, categories, campaigns, rfm, fields);
    }

    public async Task<SegmentView> GetAsync(Actor actor, Guid id, CancellationToken ct = default)
    {
        EnsureCanManage(actor);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var s = await db.Segments.AsNoTracking().FirstOrDefaultAsync(x => x.Id == id, ct) ?? throw new NotFoundException("Segment", id);
        return View(s);
    }

    public async Task<SegmentView> CreateAsync(Actor actor, SegmentInput input, CancellationToken ct = default)
    {
        EnsureCanManage(actor);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var now = Now();
        var s = new Segment { CreatedById = actor.UserId == Guid.Empty ? null : actor.UserId, CreatedAt = now, UpdatedAt = now };
        Apply(s, input);
        await ValidateAsync(db, s, ct);
        db.Segments.Add(s);
        db.AuditEntries.Add(Audit.Entry(actor, now, EntityType, s.Id, AuditActions.Created, Audit.Diff(new Dictionary<string, string?>(), Snapshot(s))));
        await db.SaveChangesAsync(ct);
        return View(s);
    }

    public async Task<SegmentView> UpdateAsync(Actor actor, Guid id, Guid expectedVersion, SegmentInput input, CancellationToken ct = default)
    {
        EnsureCanManage(actor);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var s = await db.Segments.FirstOrDefaultAsync(x => x.Id == id, ct) ?? throw new NotFoundException("Segment", id);
        if (s.Version != expectedVersion) throw new PreconditionFailedException();
        if (input.Kind != s.Kind) throw ValidationFailedException.For("kind", "The kind of a segment cannot change; make a new segment.");
        var before = Snapshot(s);
        Apply(s, input);
        await ValidateAsync(db, s, ct);
        var changes = Audit.Diff(before, Snapshot(s));
        if (changes.Count > 0)
        {
            s.UpdatedAt = Now();
            s.Version = Guid.NewGuid();
            // The stored count described the old rules.
            s.LastCount = null;
            s.LastCountedAt = null;
            db.AuditEntries.Add(Audit.Entry(actor, s.UpdatedAt, EntityType, id, AuditActions.Updated, changes));
            await db.SaveChangesAsync(ct);
        }
        return View(s);
    }

    public async Task<SegmentView> ArchiveAsync(Actor actor, Guid id, bool archive, CancellationToken ct = default)
    {
        EnsureCanManage(actor);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var s = await db.Segments.FirstOrDefaultAsync(x => x.Id == id, ct) ?? throw new NotFoundException("Segment", id);
        if ((s.ArchivedAt is not null) == archive) return View(s);
        var now = Now();
        if (archive)
        {
            // A segment another active segment builds on would silently empty that one: refuse and name them.
            var users = await db.Segments.AsNoTracking().Where(o => o.ArchivedAt == null && o.Id != id).Select(o => new { o.Name, o.Definition }).ToListAsync(ct);
            var dependants = users.Where(o => o.Definition.IncludeSegmentIds.Contains(id) || o.Definition.ExcludeSegmentIds.Contains(id)).Select(o => o.Name).ToList();
            if (dependants.Count > 0) throw ValidationFailedException.For("id", $"Used by the segments {string.Join(", ", dependants)}; remove it from them first.");
            // A campaign not yet launched builds its audience from it at launch: that launch would fail.
            var campaigns = await db.Campaigns.AsNoTracking().Include(c => c.Variants)
                .Where(c => c.Status == CampaignStatus.Draft || c.Status == CampaignStatus.PendingApproval || c.Status == CampaignStatus.Approved)
                .ToListAsync(ct);
            var targeting = campaigns.Where(c => c.SegmentIds.Contains(id) || c.ExcludeSegmentIds.Contains(id) || c.Variants.Any(v => v.SegmentId == id))
                .Select(c => c.Name).ToList();
            if (targeting.Count > 0) throw ValidationFailedException.For("id", $"Used by the campaigns {string.Join(", ", targeting)}; remove it from them first.");
        }
        s.ArchivedAt = archive ? now : null;
        s.UpdatedAt = now;
        s.Version = Guid.NewGuid();
        db.AuditEntries.Add(Audit.Entry(actor, now, EntityType, id, archive ? AuditActions.Archived : AuditActions.Restored));
        await db.SaveChangesAsync(ct);
        return View(s);
    }

    /// <summary>Counts a saved segment now and stores the figure for the list.</summary>
    public async Task<SegmentCount> CountAsync(Actor actor, Guid id, CancellationToken ct = default)
    {
        EnsureCanManage(actor);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var s = await db.Segments.AsNoTracking().FirstOrDefaultAsync(x => x.Id == id, ct) ?? throw new NotFoundException("Segment", id);
        var now = Now();
        var count = await (await SegmentEvaluator.QueryAsync(db, s, now, ct)).CountAsync(ct);
        // Not a change of the segment: no new version, no audit entry.
        await db.Segments.Where(x => x.Id == id).ExecuteUpdateAsync(u => u.SetProperty(x => x.LastCount, count).SetProperty(x => x.LastCountedAt, now), ct);
        return new SegmentCount(count, now);
    }

    /// <summary>The live count of a definition being edited (not saved); <paramref name="segmentId"/> is the edited segment, if any.</summary>
    public async Task<SegmentCount> CountDefinitionAsync(Actor actor, SegmentCountInput input, Guid? segmentId = null, CancellationToken ct = default)
    {
        EnsureCanManage(actor);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        // An edited segment keeps its id, so a static list's members count and a cycle through it is refused.
        var s = new Segment { Id = segmentId ?? Guid.CreateVersion7(), Kind = input.Kind, Definition = Normalize(input.Definition, input.Kind) };
        SegmentRules.Validate(s.Definition, "definition").ThrowIfAny();
        var now = Now();
        return new SegmentCount(await (await SegmentEvaluator.QueryAsync(db, s, now, ct)).CountAsync(ct), now);
    }

    /// <summary>Members in name order, keyset paged, with their lifecycle status, RFM segment and CLV.</summary>
    public async Task<Page<SegmentMemberView>> MembersAsync(Actor actor, Guid id, int limit, string? cursor, CancellationToken ct = default)
    {
        EnsureCanManage(actor);
        if (limit is < 1 or > 500) throw ValidationFailedException.For("limit", "Limit must be between 1 and 500.");
        var after = DecodeCursor(cursor, "members");
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var s = await db.Segments.AsNoTracking().FirstOrDefaultAsync(x => x.Id == id, ct) ?? throw new NotFoundException("Segment", id);
        var q = await SegmentEvaluator.QueryAsync(db, s, Now(), ct);
        if (after is { } a)
        {
            var name = a.Key;
            var last = a.Id;
            q = q.Where(c => c.SortName.CompareTo(name) > 0 || (c.SortName == name && c.Id.CompareTo(last) > 0));
        }
        var rows = await q.OrderBy(c => c.SortName).ThenBy(c => c.Id).Take(limit + 1)
            .Select(c => new
            {
                c.Id, c.SortName, c.DisplayName, c.Status, Email = c.Emails.Select(e => e.Address).FirstOrDefault(),
                // Scalar subqueries (primary-key lookups): a projected FirstOrDefault would become a window function over every score.
                Segment = db.CustomerScores.Where(x => x.CustomerId == c.Id).Select(x => x.Segment).FirstOrDefault(),
                Clv = db.CustomerScores.Where(x => x.CustomerId == c.Id).Select(x => (long?)x.ClvMinor).FirstOrDefault(),
                Currency = db.CustomerScores.Where(x => x.CustomerId == c.Id).Select(x => x.Currency).FirstOrDefault(),
            }).ToListAsync(ct);
        string? next = null;
        if (rows.Count > limit)
        {
            rows.RemoveAt(limit);
            next = Cursors.Encode("members", rows[^1].SortName, rows[^1].Id);
        }
        return new Page<SegmentMemberView>(rows.Select(r => new SegmentMemberView(r.Id, r.DisplayName, r.Status, r.Email, r.Segment, r.Clv, r.Currency)).ToList(), next);
    }

    public async Task<SegmentMembersChange> AddMembersAsync(Actor actor, Guid id, IReadOnlyCollection<Guid> customerIds, CancellationToken ct = default)
    {
        EnsureCanManage(actor);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var s = await StaticSegmentAsync(db, id, ct);
        var wanted = customerIds.Distinct().ToList();
        var known = await ExistingCustomersAsync(db, wanted, ct);
        var rejected = wanted.Select((c, i) => (c, i)).Where(x => !known.Contains(x.c)).Select(x => new SegmentRejectedRow(x.i + 1, x.c.ToString(), "No such customer.")).ToList();
        var (added, already) = await AddAsync(db, actor, s, known.ToList(), ct);
        return new SegmentMembersChange(added, already, 0, rejected);
    }

    public async Task<SegmentMembersChange> RemoveMembersAsync(Actor actor, Guid id, IReadOnlyCollection<Guid> customerIds, CancellationToken ct = default)
    {
        EnsureCanManage(actor);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var s = await StaticSegmentAsync(db, id, ct);
        var ids = customerIds.Distinct().ToList();
        var removed = 0;
        foreach (var chunk in ids.Chunk(1000))
            removed += await db.SegmentMembers.Where(m => m.SegmentId == id && chunk.Contains(m.CustomerId)).ExecuteDeleteAsync(ct);
        if (removed > 0)
        {
            var now = Now();
            Touch(s, now);
            db.AuditEntries.Add(Audit.Entry(actor, now, EntityType, id, "members-removed", [new FieldChange("members", null, removed.ToString(CultureInfo.InvariantCulture))]));
            await db.SaveChangesAsync(ct);
        }
        return new SegmentMembersChange(0, 0, removed, []);
    }

    /// <summary>
    /// Adds the customers a CSV names — one column of customer ids, e-mails or external ids (a header row is optional;
    /// with several columns the first is read) — and reports every row that matched no customer.
    /// </summary>
    public async Task<SegmentMembersChange> ImportMembersAsync(Actor actor, Guid id, Stream csv, CancellationToken ct = default)
    {
        EnsureCanManage(actor);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var s = await StaticSegmentAsync(db, id, ct);
        var rows = new List<(int Row, string Value)>();
        using (var text = new StreamReader(csv, Encoding.UTF8, detectEncodingFromByteOrderMarks: true))
        using (var reader = new CsvReader(text, new CsvConfiguration(CultureInfo.InvariantCulture) { HasHeaderRecord = false, DetectDelimiter = true, MissingFieldFound = null, BadDataFound = null }))
        {
            while (await reader.ReadAsync())
            {
                var value = (reader.Parser.Record is { Length: > 0 } r ? r[0] : "").Trim();
                if (value.Length == 0) continue;
                if (rows.Count >= MaxImportRows) throw ValidationFailedException.For("file", $"At most {MaxImportRows} rows per file.");
                rows.Add((reader.Parser.Row, value));
            }
        }
        // A first row that names the column is a header, not a customer.
        if (rows.Count > 0 && rows[0].Row == 1 && rows[0].Value.ToLowerInvariant() is "id" or "customerid" or "customer_id" or "email" or "e-mail" or "externalid" or "external_id")
            rows.RemoveAt(0);

        var byId = rows.Where(r => Guid.TryParse(r.Value, out _)).Select(r => Guid.Parse(r.Value)).Distinct().ToList();
        var emails = rows.Where(r => !Guid.TryParse(r.Value, out _) && r.Value.Contains('@', StringComparison.Ordinal)).Select(r => TextNormalizer.NormalizeEmail(r.Value)).Distinct().ToList();
        var external = rows.Where(r => !Guid.TryParse(r.Value, out _) && !r.Value.Contains('@', StringComparison.Ordinal)).Select(r => r.Value).Distinct().ToList();
        var ids = await ExistingCustomersAsync(db, byId, ct);
        var byEmail = new Dictionary<string, List<Guid>>();
        foreach (var chunk in emails.Chunk(1000))
            foreach (var t in await db.CustomerSearchTerms.AsNoTracking().Where(t => t.Kind == SearchTermKind.Email && chunk.Contains(t.Term))
                         .Join(db.Customers.Where(c => c.ArchivedAt == null && c.MergedIntoId == null), t => t.CustomerId, c => c.Id, (t, c) => new { t.Term, c.Id }).ToListAsync(ct))
                (byEmail.TryGetValue(t.Term, out var l) ? l : byEmail[t.Term] = []).Add(t.Id);
        var byExternal = new Dictionary<string, Guid>();
        foreach (var chunk in external.Chunk(1000))
            foreach (var c in await db.Customers.AsNoTracking().Where(c => c.ExternalId != null && chunk.Contains(c.ExternalId) && c.ArchivedAt == null && c.MergedIntoId == null)
                         .Select(c => new { c.Id, c.ExternalId }).ToListAsync(ct))
                byExternal[c.ExternalId!] = c.Id;

        var matched = new List<Guid>();
        var rejected = new List<SegmentRejectedRow>();
        foreach (var (row, value) in rows)
        {
            if (Guid.TryParse(value, out var g))
            {
                if (ids.Contains(g)) matched.Add(g); else rejected.Add(new(row, value, "No customer has this id."));
            }
            else if (value.Contains('@', StringComparison.Ordinal))
            {
                if (!byEmail.TryGetValue(TextNormalizer.NormalizeEmail(value), out var found)) rejected.Add(new(row, value, "No customer has this e-mail."));
                else if (found.Count > 1) rejected.Add(new(row, value, $"{found.Count} customers share this e-mail; use their ids."));
                else matched.Add(found[0]);
            }
            else if (byExternal.TryGetValue(value, out var e)) matched.Add(e);
            else rejected.Add(new(row, value, "No customer has this id, e-mail or external id."));
        }
        var (added, already) = await AddAsync(db, actor, s, matched.Distinct().ToList(), ct);
        return new SegmentMembersChange(added, already, 0, rejected);
    }

    private static async Task<Segment> StaticSegmentAsync(KoloDb db, Guid id, CancellationToken ct)
    {
        var s = await db.Segments.FirstOrDefaultAsync(x => x.Id == id, ct) ?? throw new NotFoundException("Segment", id);
        if (s.Kind != SegmentKind.Static) throw ValidationFailedException.For("kind", "Only a static segment has a member list; a rule segment's members follow its rules.");
        if (s.ArchivedAt is not null) throw ValidationFailedException.For("id", "The segment is archived; restore it first.");
        return s;
    }

    private static async Task<HashSet<Guid>> ExistingCustomersAsync(KoloDb db, List<Guid> ids, CancellationToken ct)
    {
        var found = new HashSet<Guid>();
        foreach (var chunk in ids.Chunk(1000))
            found.UnionWith(await db.Customers.AsNoTracking().Where(c => chunk.Contains(c.Id) && c.ArchivedAt == null && c.MergedIntoId == null).Select(c => c.Id).ToListAsync(ct));
        return found;
    }

    private async Task<(int Added, int Already)> AddAsync(KoloDb db, Actor actor, Segment s, List<Guid> customers, CancellationToken ct)
    {
        var existing = new HashSet<Guid>();
        foreach (var chunk in customers.Chunk(1000))
            existing.UnionWith(await db.SegmentMembers.AsNoTracking().Where(m => m.SegmentId == s.Id && chunk.Contains(m.CustomerId)).Select(m => m.CustomerId).ToListAsync(ct));
        var now = Now();
        var fresh = customers.Where(c => !existing.Contains(c)).ToList();
        if (fresh.Count > 0)
        {
            db.SegmentMembers.AddRange(fresh.Select(c => new SegmentMember { SegmentId = s.Id, CustomerId = c, AddedAt = now }));
            Touch(s, now);
            db.AuditEntries.Add(Audit.Entry(actor, now, EntityType, s.Id, "members-added", [new FieldChange("members", null, fresh.Count.ToString(CultureInfo.InvariantCulture))]));
            await db.SaveChangesAsync(ct);
        }
        return (fresh.Count, existing.Count);
    }

    /// <summary>The member list changed: the stored count is stale.</summary>
    private static void Touch(Segment s, DateTime now)
    {
        s.UpdatedAt = now;
        s.LastCount = null;
        s.LastCountedAt = null;
    }

    private static void Apply(Segment s, SegmentInput input)
    {
        s.Name = input.Name?.Trim() ?? "";
        s.Description = string.IsNullOrWhiteSpace(input.Description) ? null : input.Description.Trim();
        s.Kind = input.Kind;
        s.Definition = Normalize(input.Definition, input.Kind);
    }

    /// <summary>A definition as stored: trimmed, lists never null (a null condition becomes one with no field, which validation names).</summary>
    private static SegmentDefinition Normalize(SegmentDefinition? d, SegmentKind kind)
    {
        d ??= new SegmentDefinition();
        return new SegmentDefinition
        {
            Match = d.Match,
            // A static segment's members are its list; rules would be ignored, so none are kept.
            Conditions = kind == SegmentKind.Static ? [] : (d.Conditions ?? []).Select(c => new SegmentCondition
            {
                Field = c?.Field?.Trim() ?? "", Operator = c?.Operator?.Trim() ?? "", Values = (c?.Values ?? []).Select(v => v?.Trim() ?? "").ToList(),
                Key = string.IsNullOrWhiteSpace(c?.Key) ? null : c.Key.Trim(), From = c?.From, To = c?.To,
            }).ToList(),
            IncludeSegmentIds = [.. d.IncludeSegmentIds ?? []],
            ExcludeSegmentIds = [.. d.ExcludeSegmentIds ?? []],
        };
    }

    private static async Task ValidateAsync(KoloDb db, Segment s, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        if (s.Name.Length == 0) errors.Add("name", "Give the segment a name.");
        SegmentRules.Validate(s.Definition, "definition", errors);
        errors.ThrowIfAny();
        // Loading the referenced segments refuses unknown ids and cycles through this one.
        await SegmentEvaluator.QueryAsync(db, s, DateTime.UtcNow, ct);
    }

    private static readonly System.Text.Json.JsonSerializerOptions AuditJson = new(System.Text.Json.JsonSerializerDefaults.Web)
    {
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() },
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    private static Dictionary<string, string?> Snapshot(Segment s) => new()
    {
        ["name"] = s.Name, ["description"] = s.Description, ["kind"] = s.Kind.ToString(),
        ["definition"] = System.Text.Json.JsonSerializer.Serialize(s.Definition, AuditJson),
    };

    private static SegmentView View(Segment s) =>
        new(s.Id, s.Name, s.Description, s.Kind, s.Definition, s.LastCount, s.LastCountedAt, s.CreatedById, s.CreatedAt, s.UpdatedAt, s.ArchivedAt, s.Version);
}
