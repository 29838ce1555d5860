using System.ComponentModel.DataAnnotations;
using Kolo.Core.Analytics;
using Kolo.Core.Customers;
using Kolo.Core.Data;
using Kolo.Core.Platform;
using Microsoft.EntityFrameworkCore;

namespace Kolo.Core.Marketing;

public sealed class CampaignInput
{
    [Required, StringLength(200)] public string? Name { get; set; }
    [StringLength(500)] public string? Goal { get; set; }
    [StringLength(4000)] public string? Description { get; set; }
    public int Priority { get; set; } = 50;
    public DateTime? StartsAt { get; set; }
    public DateTime? EndsAt { get; set; }
    [StringLength(3, MinimumLength = 3)] public string? Currency { get; set; }
    [Range(0, long.MaxValue)] public long BudgetMinor { get; set; }
    [Range(0, long.MaxValue)] public long FixedCostMinor { get; set; }
    [Range(0, long.MaxValue)] public long EmailCostMinor { get; set; }
    [Range(0, long.MaxValue)] public long SmsCostMinor { get; set; }
    [Range(0, long.MaxValue)] public long CallCostMinor { get; set; }
    [Range(0, long.MaxValue)] public long WebCostMinor { get; set; }
    public List<Guid> SegmentIds { get; set; } = [];
    public List<Guid> ExcludeSegmentIds { get; set; } = [];
    public List<CampaignChannel> Channels { get; set; } = [];
    public int ControlGroupPercent { get; set; } = 10;
    public int AttributionDays { get; set; } = 14;
    public List<Guid> CallAgentIds { get; set; } = [];
    public List<VariantInput> Variants { get; set; } = [];
}

public sealed class VariantInput
{
    /// <summary>An existing variant's id keeps it (and its messages' link); without one a new variant is made.</summary>
    public Guid? Id { get; set; }
    [Required, StringLength(200)] public string? Name { get; set; }
    public VariantAudience Audience { get; set; }
    public Guid? SegmentId { get; set; }
    [StringLength(500)] public string? EmailSubject { get; set; }
    [StringLength(100_000)] public string? EmailBody { get; set; }
    [StringLength(2000)] public string? SmsText { get; set; }
    [StringLength(20_000)] public string? CallScript { get; set; }
    [StringLength(20_000)] public string? WebMessage { get; set; }
}

public sealed record VariantView(Guid Id, string Name, VariantAudience Audience, Guid? SegmentId, int SortOrder,
    string? EmailSubject, string? EmailBody, string? SmsText, string? CallScript, string? WebMessage);

public sealed record CampaignView(
    Guid Id, string Name, string? Goal, string? Description, CampaignStatus Status, int Priority, DateTime StartsAt, DateTime? EndsAt,
    string Currency, long BudgetMinor, long FixedCostMinor, long EmailCostMinor, long SmsCostMinor, long CallCostMinor, long WebCostMinor,
    IReadOnlyList<Guid> SegmentIds, IReadOnlyList<Guid> ExcludeSegmentIds, IReadOnlyList<CampaignChannel> Channels,
    int ControlGroupPercent, int AttributionDays, IReadOnlyList<Guid> CallAgentIds, int? AudienceSeed,
    Guid? SubmittedById, DateTime? SubmittedAt, Guid? ApprovedById, DateTime? ApprovedAt, DateTime? LaunchedAt, DateTime? CompletedAt,
    Guid? CreatedById, DateTime CreatedAt, DateTime UpdatedAt, DateTime? ArchivedAt, Guid Version, IReadOnlyList<VariantView> Variants);

public sealed record CampaignListItem(Guid Id, string Name, CampaignStatus Status, int Priority, DateTime StartsAt, DateTime? EndsAt,
    IReadOnlyList<CampaignChannel> Channels, long BudgetMinor, string Currency, DateTime CreatedAt);

public enum CampaignSort { StartsAt, Name, Created }

public sealed record CampaignQuery
{
    /// <summary>Part of the name.</summary>
    public string? Q { get; init; }
    public CampaignStatus? Status { get; init; }
    public CampaignSort Sort { get; init; } = CampaignSort.StartsAt;
    public bool Descending { get; init; } = true;
    public bool IncludeArchived { get; init; }
    public int Limit { get; init; } = 50;
    public string? Cursor { get; init; }
}

public sealed class PreviewInput
{
    [Required] public Guid? CustomerId { get; set; }
    [Required] public CampaignChannel? Channel { get; set; }
    public Guid? VariantId { get; set; }
}

public sealed record Choice(Guid Id, string Name, int? Count);

public sealed record MessagePreview(Guid VariantId, string VariantName, CampaignChannel Channel, string? Subject, string Body);

public sealed class WorkflowNote
{
    [StringLength(2000)] public string? Note { get; set; }
}

public sealed class LaunchInput
{
    /// <summary>Launch at once even when the campaign is scheduled later (its start becomes now).</summary>
    public bool Now { get; set; }
}

public sealed record CampaignJobView(Guid Id, Guid CampaignId, CampaignJobKind Kind, CampaignJobStatus Status, int Progress, string? Stage,
    AudienceSummary? Result, string? Error, DateTime CreatedAt, DateTime? StartedAt, DateTime? FinishedAt);

/// <summary>
/// Campaigns: editing while Draft (or pending approval, which sends it back to Draft), the approval workflow (marketing
/// submits, an admin or manager approves or rejects with a note), launching now or at the scheduled start through a job,
/// cancelling, and rendering a message for any customer. Admin, Manager and Marketing manage campaigns; the others get 403.
/// </summary>
public sealed class CampaignService(IDbContextFactory<KoloDb> dbFactory, TimeProvider clock)
{
    public const string EntityType = "campaign";
    /// <summary>The error text of a queued message whose campaign was cancelled (it never counts as a contact).</summary>
    public const string CancelledError = "cancelled";

    private DateTime Now() => clock.GetUtcNow().UtcDateTime;

    public static void EnsureCanManage(Actor actor)
    {
        if (actor.Role is not (UserRole.Admin or UserRole.Manager or UserRole.Marketing))
            throw new ForbiddenException("Only admins, managers and marketing manage campaigns.");
    }

    public static void EnsureCanApprove(Actor actor)
    {
        if (!actor.IsAdminOrManager) throw new ForbiddenException("Only an admin or a manager approves campaigns.");
    }

    public async Task<Page<CampaignListItem>> ListAsync(Actor actor, CampaignQuery query, CancellationToken ct = default)
    {
        EnsureCanManage(actor);
        if (query.Limit is < 1 or > 200) throw ValidationFailedException.For("limit", "Limit must be between 1 and 200.");
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var q = db.Campaigns.AsNoTracking();
        if (!query.IncludeArchived) q = q.Where(c => c.ArchivedAt == null);
        if (query.Status is { } status) q = q.Where(c => c.Status == status);
        if (!string.IsNullOrWhiteSpace(query.Q))
        {
            var text = query.Q.Trim().ToLower();
            q = q.Where(c => c.Name.ToLower().Contains(text));
        }
        (object Key, Guid Id)? cursor = query.Cursor is null ? null : ParseCursor(query.Cursor, query.Sort);
        var desc = query.Descending;
        // Keyset paging on (sort key, Id) in the chosen direction.
        switch (query.Sort)
        {
            case CampaignSort.Name:
                if (cursor is { } cn)
                {
                    var (name, id) = ((string)cn.Key, cn.Id);
                    // Translated to SQL (the database's ordinal comparison); a StringComparison argument would not translate.
#pragma warning disable CA1309
                    q = desc ? q.Where(c => string.Compare(c.Name, name) < 0 || (c.Name == name && c.Id.CompareTo(id) < 0))
                             : q.Where(c => string.Compare(c.Name, name) > 0 || (c.Name == name && c.Id.CompareTo(id) > 0));
#pragma warning restore CA1309
                }
                q = desc ? q.OrderByDescending(c => c.Name).ThenByDescending(c => c.Id) : q.OrderBy(c => c.Name).ThenBy(c => c.Id);
                break;
            case CampaignSort.Created:
                if (cursor is { } cc)
                {
                    var (at, id) = ((DateTime)cc.Key, cc.Id);
                    q = desc ? q.Where(c => c.CreatedAt < at || (c.CreatedAt == at && c.Id.CompareTo(id) < 0))
                             : q.Where(c => c.CreatedAt > at || (c.CreatedAt == at && c.Id.CompareTo(id) > 0));
                }
                q = desc ? q.OrderByDescending(c => c.CreatedAt).ThenByDescending(c => c.Id) : q.OrderBy(c => c.CreatedAt).ThenBy(c => c.Id);
                break;
            default:
                if (cursor is { } cs)
                {
                    var (at, id) = ((DateTime)cs.Key, cs.Id);
                    q = desc ? q.Where(c => c.StartsAt < at || (c.StartsAt == at && c.Id.CompareTo(id) < 0))
                             : q.Where(c => c.StartsAt > at || (c.StartsAt == at && c.Id.CompareTo(id) > 0));
                }
                q = desc ? q.OrderByDescending(c => c.StartsAt).ThenByDescending(c => c.Id) : q.OrderBy(c => c.StartsAt).ThenBy(c => c.Id);
                break;
        }
        var rows = await q.Take(query.Limit + 1).ToListAsync(ct);
        string? next = null;
        if (rows.Count > query.Limit)
        {
            rows.RemoveAt(query.Limit);
            var last = rows[^1];
            next = query.Sort switch
            {
                CampaignSort.Name => Cursors.Encode(query.Sort.ToString(), last.Name, last.Id),
                CampaignSort.Created => Cursors.Encode(query.Sort.ToString(), last.CreatedAt.Ticks.ToString(System.Globalization.CultureInfo.InvariantCulture), last.Id),
                _ => Cursors.Encode(query.Sort.ToString(), last.StartsAt.Ticks.ToString(System.Globalization.CultureInfo.InvariantCulture), last.Id),
            };
        }
        return new Page<CampaignListItem>(rows.Select(c => new CampaignListItem(c.Id, c.Name, c.Status, c.Priority, c.StartsAt, c.EndsAt, c.Channels, c.BudgetMinor, c.Currency, c.CreatedAt)).ToList(), next);
    }

    private static (object Key, Guid Id) ParseCursor(string cursor, CampaignSort sort)
    {
        var (key, id) = Cursors.Decode(cursor, sort.ToString());
        return sort == CampaignSort.Name ? (key, id) : (Cursors.Time(key), id);
    }

    public async Task<CampaignView> GetAsync(Actor actor, Guid id, CancellationToken ct = default)
    {
        EnsureCanManage(actor);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return View(await LoadAsync(db, id, tracking: false, ct));
    }

    private static async Task<Campaign> LoadAsync(KoloDb db, Guid id, bool tracking, CancellationToken ct)
    {
        var q = db.Campaigns.Include(c => c.Variants).AsQueryable();
        if (!tracking) q = q.AsNoTracking();
        return await q.FirstOrDefaultAsync(c => c.Id == id, ct) ?? throw new NotFoundException("Campaign", id);
    }

    public async Task<CampaignView> CreateAsync(Actor actor, CampaignInput input, CancellationToken ct = default)
    {
        EnsureCanManage(actor);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var now = Now();
        await ValidateAsync(db, input, null, ct);
        var campaign = new Campaign { CreatedAt = now, UpdatedAt = now, CreatedById = NullIfSystem(actor), Status = CampaignStatus.Draft };
        Apply(campaign, input, now);
        db.Campaigns.Add(campaign);
        db.AuditEntries.Add(Audit.Entry(actor, now, EntityType, campaign.Id, AuditActions.Created, Audit.Diff(new Dictionary<string, string?>(), Snapshot(campaign))));
        await db.SaveChangesAsync(ct);
        return View(campaign);
    }

    public async Task<CampaignView> UpdateAsync(Actor actor, Guid id, Guid expectedVersion, CampaignInput input, CancellationToken ct = default)
    {
        EnsureCanManage(actor);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var campaign = await LoadAsync(db, id, tracking: true, ct);
        if (campaign.Version != expectedVersion) throw new PreconditionFailedException();
        if (campaign.Status is not (CampaignStatus.Draft or CampaignStatus.PendingApproval))
            throw ValidationFailedException.For("status", "Only a draft (or a campaign waiting for approval) can be changed.");
        await ValidateAsync(db, input, campaign, ct);
        var now = Now();
        var before = Snapshot(campaign);
        var variantsBefore = campaign.Variants.ToList();
        Apply(campaign, input, now);
        foreach (var removed in variantsBefore.Where(v => !campaign.Variants.Contains(v))) db.CampaignVariants.Remove(removed);
        foreach (var added in campaign.Variants.Where(v => !variantsBefore.Contains(v))) db.CampaignVariants.Add(added);
        // A change after submitting needs a new approval.
        if (campaign.Status == CampaignStatus.PendingApproval)
        {
            campaign.Status = CampaignStatus.Draft;
            campaign.SubmittedAt = null;
            campaign.SubmittedById = null;
        }
        campaign.UpdatedAt = now;
        campaign.Version = Guid.NewGuid();
        db.AuditEntries.Add(Audit.Entry(actor, now, EntityType, id, AuditActions.Updated, Audit.Diff(before, Snapshot(campaign))));
        await db.SaveChangesAsync(ct);
        return View(campaign);
    }

    public async Task<CampaignView> ArchiveAsync(Actor actor, Guid id, Guid? expectedVersion, CancellationToken ct = default)
    {
        EnsureCanManage(actor);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var campaign = await LoadAsync(db, id, tracking: true, ct);
        if (expectedVersion is { } v && v != campaign.Version) throw new PreconditionFailedException();
        if (campaign.Status is CampaignStatus.Running or CampaignStatus.Approved)
            throw ValidationFailedException.For("status", "Cancel an approved or running campaign before archiving it.");
        if (campaign.ArchivedAt is null)
        {
            var now = Now();
            campaign.ArchivedAt = now;
            campaign.UpdatedAt = now;
            campaign.Version = Guid.NewGuid();
            db.AuditEntries.Add(Audit.Entry(actor, now, EntityType, id, AuditActions.Archived));
            await db.SaveChangesAsync(ct);
        }
        return View(campaign);
    }

    public Task<CampaignView> SubmitAsync(Actor actor, Guid id, Guid? expectedVersion, CancellationToken ct = default) =>
        TransitionAsync(actor, id, expectedVersion, "submitted", null, c =>
        {
            EnsureCanManage(actor);
            if (c.Status != CampaignStatus.Draft) throw ValidationFailedException.For("status", "Only a draft can be submitted for approval.");
            c.Status = CampaignStatus.PendingApproval;
            c.SubmittedAt = Now();
            c.SubmittedById = NullIfSystem(actor);
        }, ct);

    public Task<CampaignView> ApproveAsync(Actor actor, Guid id, Guid? expectedVersion, string? note, CancellationToken ct = default) =>
        TransitionAsync(actor, id, expectedVersion, "approved", note, c =>
        {
            EnsureCanApprove(actor);
            if (c.Status != CampaignStatus.PendingApproval) throw ValidationFailedException.For("status", "Only a campaign waiting for approval can be approved.");
            c.Status = CampaignStatus.Approved;
            c.ApprovedAt = Now();
            c.ApprovedById = NullIfSystem(actor);
        }, ct);

    public Task<CampaignView> RejectAsync(Actor actor, Guid id, Guid? expectedVersion, string? note, CancellationToken ct = default) =>
        TransitionAsync(actor, id, expectedVersion, "rejected", note, c =>
        {
            EnsureCanApprove(actor);
            if (c.Status != CampaignStatus.PendingApproval) throw ValidationFailedException.For("status", "Only a campaign waiting for approval can be rejected.");
            if (string.IsNullOrWhiteSpace(note)) throw ValidationFailedException.For("note", "Say why the campaign is rejected.");
            c.Status = CampaignStatus.Draft;
            c.SubmittedAt = null;
            c.SubmittedById = null;
        }, ct);

    /// <summary>
    /// Cancels a campaign that has not finished. Its still-queued messages become Failed with the error "cancelled" (they stay
    /// in the funnel as planned-but-not-sent and no longer count against the contact policy); sent ones are kept. Queued
    /// launch and preview jobs are dropped.
    /// </summary>
    public async Task<CampaignView> CancelAsync(Actor actor, Guid id, Guid? expectedVersion, string? note, CancellationToken ct = default)
    {
        var view = await TransitionAsync(actor, id, expectedVersion, "cancelled", note, c =>
        {
            EnsureCanManage(actor);
            if (c.Status is CampaignStatus.Completed or CampaignStatus.Cancelled)
                throw ValidationFailedException.For("status", "The campaign has finished already.");
            c.Status = CampaignStatus.Cancelled;
            c.CompletedAt = Now();
        }, ct);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var now = Now();
        await db.CampaignMessages.Where(m => m.CampaignId == id && m.Status == MessageStatus.Queued)
            .ExecuteUpdateAsync(s => s.SetProperty(m => m.Status, MessageStatus.Failed).SetProperty(m => m.FailedAt, now)
                .SetProperty(m => m.Error, CancelledError), ct);
        await db.CampaignJobs.Where(j => j.CampaignId == id && j.Status == CampaignJobStatus.Queued)
            .ExecuteUpdateAsync(s => s.SetProperty(j => j.Status, CampaignJobStatus.Failed).SetProperty(j => j.Error, "The campaign was cancelled.")
                .SetProperty(j => j.FinishedAt, now).SetProperty(j => j.Stage, "Failed"), ct);
        return view;
    }

    private async Task<CampaignView> TransitionAsync(Actor actor, Guid id, Guid? expectedVersion, string action, string? note, Action<Campaign> change, CancellationToken ct)
    {
        EnsureCanManage(actor);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var campaign = await LoadAsync(db, id, tracking: true, ct);
        if (expectedVersion is { } v && v != campaign.Version) throw new PreconditionFailedException();
        if (campaign.ArchivedAt is not null) throw ValidationFailedException.For("status", "The campaign is archived.");
        var before = campaign.Status;
        change(campaign);
        var now = Now();
        campaign.UpdatedAt = now;
        campaign.Version = Guid.NewGuid();
        var changes = new List<FieldChange> { new("status", before.ToString(), campaign.Status.ToString()) };
        if (!string.IsNullOrWhiteSpace(note)) changes.Add(new FieldChange("note", null, note.Trim()));
        db.AuditEntries.Add(Audit.Entry(actor, now, EntityType, id, action, changes));
        await db.SaveChangesAsync(ct);
        return View(campaign);
    }

    /// <summary>
    /// Queues the launch: at once, or when the scheduled start comes (the worker claims a launch job only once the
    /// campaign's <see cref="Campaign.StartsAt"/> has passed). Returns the job to poll.
    /// </summary>
    public async Task<CampaignJobView> LaunchAsync(Actor actor, Guid id, Guid? expectedVersion, bool now, CancellationToken ct = default)
    {
        EnsureCanManage(actor);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var campaign = await db.Campaigns.FirstOrDefaultAsync(c => c.Id == id, ct) ?? throw new NotFoundException("Campaign", id);
        if (expectedVersion is { } v && v != campaign.Version) throw new PreconditionFailedException();
        if (campaign.Status != CampaignStatus.Approved) throw ValidationFailedException.For("status", "Only an approved campaign can be launched.");
        if (campaign.EndsAt is { } ends && ends <= Now())
            throw ValidationFailedException.For("endsAt", "The campaign has ended; move its end date to launch it.");
        if (await db.CampaignJobs.AnyAsync(j => j.CampaignId == id && j.Kind == CampaignJobKind.Launch && (j.Status == CampaignJobStatus.Queued || j.Status == CampaignJobStatus.Running), ct))
            throw ValidationFailedException.For("status", "The campaign is being launched (or scheduled) already.");
        var at = Now();
        if (now && campaign.StartsAt > at)
        {
            campaign.StartsAt = at;
            campaign.Version = Guid.NewGuid();
            campaign.UpdatedAt = at;
        }
        var job = new CampaignJob
        {
            CampaignId = id, Kind = CampaignJobKind.Launch, Status = CampaignJobStatus.Queued, CreatedAt = at, CreatedById = NullIfSystem(actor),
            Stage = campaign.StartsAt > at ? "Scheduled" : "Queued",
        };
        db.CampaignJobs.Add(job);
        db.AuditEntries.Add(Audit.Entry(actor, at, EntityType, id, campaign.StartsAt > at ? "scheduled" : "launch-requested",
            [new FieldChange("startsAt", null, Audit.Text(campaign.StartsAt))]));
        await db.SaveChangesAsync(ct);
        return JobView(job);
    }

    /// <summary>Queues an audience preview: counts only, nothing is written.</summary>
    public async Task<CampaignJobView> PreviewAudienceAsync(Actor actor, Guid id, CancellationToken ct = default)
    {
        EnsureCanManage(actor);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        if (!await db.Campaigns.AnyAsync(c => c.Id == id, ct)) throw new NotFoundException("Campaign", id);
        var job = new CampaignJob { CampaignId = id, Kind = CampaignJobKind.Preview, Status = CampaignJobStatus.Queued, CreatedAt = Now(), CreatedById = NullIfSystem(actor), Stage = "Queued" };
        db.CampaignJobs.Add(job);
        await db.SaveChangesAsync(ct);
        return JobView(job);
    }

    public async Task<CampaignJobView> GetJobAsync(Actor actor, Guid campaignId, Guid jobId, CancellationToken ct = default)
    {
        EnsureCanManage(actor);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var job = await db.CampaignJobs.AsNoTracking().FirstOrDefaultAsync(j => j.Id == jobId && j.CampaignId == campaignId, ct)
                  ?? throw new NotFoundException("Campaign job", jobId);
        return JobView(job);
    }

    /// <summary>The newest job of a kind (the page shows the last preview when it opens).</summary>
    public async Task<CampaignJobView?> LatestJobAsync(Actor actor, Guid campaignId, CampaignJobKind kind, CancellationToken ct = default)
    {
        EnsureCanManage(actor);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var job = await db.CampaignJobs.AsNoTracking().Where(j => j.CampaignId == campaignId && j.Kind == kind)
            .OrderByDescending(j => j.CreatedAt).FirstOrDefaultAsync(ct);
        return job is null ? null : JobView(job);
    }

    public static CampaignJobView JobView(CampaignJob j) => new(j.Id, j.CampaignId, j.Kind, j.Status, j.Progress, j.Stage,
        j.Result is null ? null : System.Text.Json.JsonSerializer.Deserialize<AudienceSummary>(j.Result, AudienceSummary.Json), j.Error,
        j.CreatedAt, j.StartedAt, j.FinishedAt);

    /// <summary>
    /// The message a customer would get (or a chosen variant's), rendered with their fields and next-best offers. The
    /// unsubscribe link is a placeholder: real links are signed per message when sending.
    /// </summary>
    public async Task<MessagePreview> PreviewMessageAsync(Actor actor, Guid id, PreviewInput input, CancellationToken ct = default)
    {
        EnsureCanManage(actor);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var campaign = await LoadAsync(db, id, tracking: false, ct);
        var customer = await db.Customers.AsNoTracking().FirstOrDefaultAsync(c => c.Id == input.CustomerId && c.MergedIntoId == null, ct)
                       ?? throw ValidationFailedException.For("customerId", "The customer does not exist.");
        var channel = input.Channel!.Value;
        CampaignVariant? variant;
        if (input.VariantId is { } variantId)
            variant = campaign.Variants.FirstOrDefault(v => v.Id == variantId) ?? throw ValidationFailedException.For("variantId", "The campaign has no such variant.");
        else
        {
            variant = null;
            foreach (var v in campaign.Variants.OrderBy(v => v.SortOrder))
            {
                if (await AudienceBuilder.MatchesAsync(db, v, customer.Id, customer.Status, Now(), ct)) { variant = v; break; }
            }
            if (variant is null) throw ValidationFailedException.For("customerId", "No variant of the campaign is meant for this customer.");
        }
        var score = await db.CustomerScores.AsNoTracking().FirstOrDefaultAsync(s => s.CustomerId == customer.Id, ct);
        var rendered = MessageTemplates.Render(variant, channel, MessageTemplates.DataFor(customer, score, campaign.Name, "#unsubscribe-preview"))
                       ?? throw ValidationFailedException.For("channel", $"The variant has no {channel} message.");
        return new MessagePreview(variant.Id, variant.Name, channel, rendered.Subject, rendered.Body);
    }

    /// <summary>Segments a campaign can target (for the editor's pickers).</summary>
    public async Task<IReadOnlyList<Choice>> SegmentChoicesAsync(Actor actor, CancellationToken ct = default)
    {
        EnsureCanManage(actor);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.Segments.AsNoTracking().Where(s => s.ArchivedAt == null).OrderBy(s => s.Name)
            .Select(s => new Choice(s.Id, s.Name, s.LastCount)).ToListAsync(ct);
    }

    /// <summary>Active users who can take call-list tasks.</summary>
    public async Task<IReadOnlyList<Choice>> AgentChoicesAsync(Actor actor, CancellationToken ct = default)
    {
        EnsureCanManage(actor);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.Users.AsNoTracking().Where(u => u.DeactivatedAt == null).OrderBy(u => u.DisplayName)
            .Select(u => new Choice(u.Id, u.DisplayName, null)).ToListAsync(ct);
    }

    /// <summary>The form model of a stored campaign, for editing.</summary>
    public static CampaignInput InputOf(CampaignView c) => new()
    {
        Name = c.Name, Goal = c.Goal, Description = c.Description, Priority = c.Priority, StartsAt = c.StartsAt, EndsAt = c.EndsAt,
        Currency = c.Currency, BudgetMinor = c.BudgetMinor, FixedCostMinor = c.FixedCostMinor, EmailCostMinor = c.EmailCostMinor,
        SmsCostMinor = c.SmsCostMinor, CallCostMinor = c.CallCostMinor, WebCostMinor = c.WebCostMinor, SegmentIds = [.. c.SegmentIds],
        ExcludeSegmentIds = [.. c.ExcludeSegmentIds], Channels = [.. c.Channels], ControlGroupPercent = c.ControlGroupPercent,
        AttributionDays = c.AttributionDays, CallAgentIds = [.. c.CallAgentIds],
        Variants = c.Variants.Select(v => new VariantInput
        {
            Id = v.Id, Name = v.Name, Audience = v.Audience, SegmentId = v.SegmentId, EmailSubject = v.EmailSubject, EmailBody = v.EmailBody,
            SmsText = v.SmsText, CallScript = v.CallScript, WebMessage = v.WebMessage,
        }).ToList(),
    };

    private async Task ValidateAsync(KoloDb db, CampaignInput input, Campaign? existing, CancellationToken ct)
    {
        // JSON null for a list means none.
        input.Channels ??= [];
        input.SegmentIds ??= [];
        input.ExcludeSegmentIds ??= [];
        input.CallAgentIds ??= [];
        input.Variants ??= [];
        var errors = new ValidationErrors();
        if (string.IsNullOrWhiteSpace(input.Name)) errors.Add("name", "A campaign needs a name.");
        if (input.Priority is < 1 or > 100) errors.Add("priority", "Priority is between 1 and 100 (higher wins).");
        if (input.ControlGroupPercent is < 0 or > 50) errors.Add("controlGroupPercent", "The control group is 0 to 50 percent.");
        if (input.AttributionDays is < 1 or > 365) errors.Add("attributionDays", "The attribution window is 1 to 365 days.");
        if (input.StartsAt is { } start && input.EndsAt is { } end && end <= start) errors.Add("endsAt", "The end must be after the start.");
        if (input.Currency is { } currency && !Money.IsCurrencyCode(currency)) errors.Add("currency", "Use a three-letter ISO 4217 code.");
        if (input.Channels.Count == 0) errors.Add("channels", "Choose at least one channel.");
        if (input.Channels.Distinct().Count() != input.Channels.Count) errors.Add("channels", "A channel is listed twice.");
        if (input.SegmentIds.Count == 0) errors.Add("segmentIds", "Choose at least one target segment.");
        var segmentIds = input.SegmentIds.Concat(input.ExcludeSegmentIds).Concat(input.Variants.Where(v => v.SegmentId is not null).Select(v => v.SegmentId!.Value)).Distinct().ToList();
        var known = await db.Segments.Where(s => segmentIds.Contains(s.Id) && s.ArchivedAt == null).Select(s => s.Id).ToListAsync(ct);
        for (var i = 0; i < input.SegmentIds.Count; i++)
            if (!known.Contains(input.SegmentIds[i])) errors.Add($"segmentIds[{i}]", "The segment does not exist.");
        for (var i = 0; i < input.ExcludeSegmentIds.Count; i++)
            if (!known.Contains(input.ExcludeSegmentIds[i])) errors.Add($"excludeSegmentIds[{i}]", "The segment does not exist.");
        if (input.CallAgentIds.Count > 0)
        {
            var agents = await db.Users.Where(u => input.CallAgentIds.Contains(u.Id) && u.DeactivatedAt == null).Select(u => u.Id).ToListAsync(ct);
            for (var i = 0; i < input.CallAgentIds.Count; i++)
                if (!agents.Contains(input.CallAgentIds[i])) errors.Add($"callAgentIds[{i}]", "The user does not exist or is not active.");
        }
        if (input.Variants.Count == 0) errors.Add("variants", "Write at least one message variant.");
        for (var i = 0; i < input.Variants.Count; i++)
        {
            var v = input.Variants[i];
            var path = $"variants[{i}]";
            if (string.IsNullOrWhiteSpace(v.Name)) errors.Add($"{path}.name", "A variant needs a name.");
            if (v.Audience == VariantAudience.Segment)
            {
                if (v.SegmentId is null) errors.Add($"{path}.segmentId", "Choose the segment this variant is for.");
                else if (!known.Contains(v.SegmentId.Value)) errors.Add($"{path}.segmentId", "The segment does not exist.");
            }
            if (v.Id is { } vid && (existing is null || existing.Variants.All(x => x.Id != vid))) errors.Add($"{path}.id", "The campaign has no such variant.");
            MessageTemplates.Validate(v.EmailSubject, $"{path}.emailSubject", errors);
            MessageTemplates.Validate(v.EmailBody, $"{path}.emailBody", errors);
            MessageTemplates.Validate(v.SmsText, $"{path}.smsText", errors);
            MessageTemplates.Validate(v.CallScript, $"{path}.callScript", errors);
            MessageTemplates.Validate(v.WebMessage, $"{path}.webMessage", errors);
            foreach (var channel in input.Channels.Distinct())
            {
                var (field, text) = channel switch
                {
                    CampaignChannel.Email => ("emailBody", v.EmailBody),
                    CampaignChannel.Sms => ("smsText", v.SmsText),
                    CampaignChannel.Call => ("callScript", v.CallScript),
                    _ => ("webMessage", v.WebMessage),
                };
                if (string.IsNullOrWhiteSpace(text)) errors.Add($"{path}.{field}", $"The campaign sends {channel}: write this variant's {channel} message.");
                if (channel == CampaignChannel.Email && string.IsNullOrWhiteSpace(v.EmailSubject)) errors.Add($"{path}.emailSubject", "An e-mail needs a subject.");
            }
        }
        if (input.Variants.Select(v => v.Id).Where(x => x is not null).GroupBy(x => x).Any(g => g.Count() > 1)) errors.Add("variants", "A variant is listed twice.");
        errors.ThrowIfAny();
    }

    private static void Apply(Campaign c, CampaignInput input, DateTime now)
    {
        static string? Clean(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();
        c.Name = input.Name!.Trim();
        c.Goal = Clean(input.Goal);
        c.Description = Clean(input.Description);
        c.Priority = input.Priority;
        c.StartsAt = input.StartsAt is { } s ? DateTime.SpecifyKind(s.ToUniversalTime(), DateTimeKind.Utc) : (c.StartsAt == default ? now : c.StartsAt);
        c.EndsAt = input.EndsAt?.ToUniversalTime();
        c.Currency = (Clean(input.Currency) ?? c.Currency).ToUpperInvariant();
        c.BudgetMinor = input.BudgetMinor;
        c.FixedCostMinor = input.FixedCostMinor;
        c.EmailCostMinor = input.EmailCostMinor;
        c.SmsCostMinor = input.SmsCostMinor;
        c.CallCostMinor = input.CallCostMinor;
        c.WebCostMinor = input.WebCostMinor;
        c.SegmentIds = [.. input.SegmentIds.Distinct()];
        c.ExcludeSegmentIds = [.. input.ExcludeSegmentIds.Distinct()];
        c.Channels = [.. input.Channels];
        c.ControlGroupPercent = input.ControlGroupPercent;
        c.AttributionDays = input.AttributionDays;
        c.CallAgentIds = [.. input.CallAgentIds.Distinct()];
        var variants = new List<CampaignVariant>();
        for (var i = 0; i < input.Variants.Count; i++)
        {
            var vi = input.Variants[i];
            var v = vi.Id is { } id ? c.Variants.First(x => x.Id == id) : new CampaignVariant { CampaignId = c.Id };
            v.Name = vi.Name!.Trim();
            v.Audience = vi.Audience;
            v.SegmentId = vi.Audience == VariantAudience.Segment ? vi.SegmentId : null;
            v.SortOrder = i;
            v.EmailSubject = Clean(vi.EmailSubject);
            v.EmailBody = Clean(vi.EmailBody);
            v.SmsText = Clean(vi.SmsText);
            v.CallScript = Clean(vi.CallScript);
            v.WebMessage = Clean(vi.WebMessage);
            variants.Add(v);
        }
        c.Variants = variants;
    }

    private static Dictionary<string, string?> Snapshot(Campaign c) => new()
    {
        ["name"] = c.Name, ["goal"] = c.Goal, ["description"] = c.Description, ["priority"] = Audit.Text(c.Priority),
        ["startsAt"] = Audit.Text(c.StartsAt), ["endsAt"] = Audit.Text(c.EndsAt), ["currency"] = c.Currency,
        ["budgetMinor"] = Audit.Text(c.BudgetMinor), ["fixedCostMinor"] = Audit.Text(c.FixedCostMinor),
        ["unitCosts"] = $"{c.EmailCostMinor}/{c.SmsCostMinor}/{c.CallCostMinor}/{c.WebCostMinor}",
        ["segmentIds"] = Audit.Text(c.SegmentIds), ["excludeSegmentIds"] = Audit.Text(c.ExcludeSegmentIds),
        ["channels"] = Audit.Text(c.Channels.Select(x => x.ToString()).ToList()), ["controlGroupPercent"] = Audit.Text(c.ControlGroupPercent),
        ["attributionDays"] = Audit.Text(c.AttributionDays), ["callAgentIds"] = Audit.Text(c.CallAgentIds),
        ["variants"] = Audit.Text(c.Variants.Select(v => $"{v.Name} ({v.Audience})").ToList()),
        ["status"] = c.Status.ToString(),
    };

    private static Guid? NullIfSystem(Actor actor) => actor.UserId == Guid.Empty ? null : actor.UserId;

    public static CampaignView View(Campaign c) => new(
        c.Id, c.Name, c.Goal, c.Description, c.Status, c.Priority, c.StartsAt, c.EndsAt, c.Currency, c.BudgetMinor, c.FixedCostMinor,
        c.EmailCostMinor, c.SmsCostMinor, c.CallCostMinor, c.WebCostMinor, c.SegmentIds, c.ExcludeSegmentIds, c.Channels,
        c.ControlGroupPercent, c.AttributionDays, c.CallAgentIds, c.AudienceSeed, c.SubmittedById, c.SubmittedAt, c.ApprovedById, c.ApprovedAt,
        c.LaunchedAt, c.CompletedAt, c.CreatedById, c.CreatedAt, c.UpdatedAt, c.ArchivedAt, c.Version,
        c.Variants.OrderBy(v => v.SortOrder).Select(v => new VariantView(v.Id, v.Name, v.Audience, v.SegmentId, v.SortOrder,
            v.EmailSubject, v.EmailBody, v.SmsText, v.CallScript, v.WebMessage)).ToList());
}
