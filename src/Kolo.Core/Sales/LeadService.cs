using System.ComponentModel.DataAnnotations;
using Kolo.Core.Customers;
using Kolo.Core.Data;
using Kolo.Core.Platform;
using Kolo.Core.Tasks;
using Kolo.Core.Timeline;
using Microsoft.EntityFrameworkCore;

namespace Kolo.Core.Sales;

public sealed class LeadInput
{
    [StringLength(100)] public string? FirstName { get; set; }
    [StringLength(100)] public string? LastName { get; set; }
    [StringLength(200)] public string? CompanyName { get; set; }
    [EmailAddress, StringLength(320)] public string? Email { get; set; }
    [StringLength(40)] public string? Phone { get; set; }
    [StringLength(100)] public string? Source { get; set; }
    public LeadStatus? Status { get; set; }
    public Guid? OwnerId { get; set; }
    [StringLength(4000)] public string? Notes { get; set; }
    [StringLength(500)] public string? DisqualifyReason { get; set; }
}

public sealed class QualifyInput
{
    /// <summary>An existing customer to attach the deal to; without it a customer is created from the lead.</summary>
    public Guid? CustomerId { get; set; }
    [Required] public DealInput? Deal { get; set; }
}

public sealed record LeadView(Guid Id, string DisplayName, string? FirstName, string? LastName, string? CompanyName, string? Email, string? Phone, string? Source,
    LeadStatus Status, Guid? OwnerId, string? OwnerName, string? Notes, string? DisqualifyReason, Guid? CustomerId, Guid? DealId, DateTime CreatedAt, DateTime UpdatedAt, Guid Version);

public sealed record LeadQuery
{
    public LeadStatus? Status { get; init; }
    public Guid? OwnerId { get; init; }
    public string? Source { get; init; }
    /// <summary>Name, company or e-mail prefix.</summary>
    public string? Q { get; init; }
    public int Limit { get; init; } = 50;
    public string? Cursor { get; init; }
}

public sealed record QualifyResult(LeadView Lead, Guid CustomerId, DealView Deal);

/// <summary>Leads: prospects with a source and a qualification status; qualifying makes the customer (if needed) and the deal in one step.</summary>
public sealed class LeadService(IDbContextFactory<KoloDb> dbFactory, TimeProvider clock, CustomerService customers, DealService deals)
{
    public const string EntityType = "lead";

    private DateTime Now() => clock.GetUtcNow().UtcDateTime;

    private static IQueryable<Lead> Visible(KoloDb db, Actor actor)
    {
        var leads = db.Leads.Where(l => l.ArchivedAt == null);
        return actor.Role == UserRole.Sales && actor.CustomerAccess != CustomerAccess.All ? leads.Where(l => l.OwnerId == actor.UserId || l.OwnerId == null) : leads;
    }

    public async Task<Page<LeadView>> ListAsync(Actor actor, LeadQuery query, CancellationToken ct = default)
    {
        DealService.EnsureCanSell(actor);
        if (query.Limit is < 1 or > 200) throw ValidationFailedException.For("limit", "Limit must be between 1 and 200.");
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var q = Visible(db, actor).AsNoTracking();
        if (query.Status is { } s) q = q.Where(l => l.Status == s);
        if (query.OwnerId is { } o) q = q.Where(l => l.OwnerId == o);
        if (!string.IsNullOrWhiteSpace(query.Source)) q = q.Where(l => l.Source == query.Source);
        if (!string.IsNullOrWhiteSpace(query.Q))
        {
            var text = query.Q.Trim();
            q = q.Where(l => l.LastName!.StartsWith(text) || l.FirstName!.StartsWith(text) || l.CompanyName!.StartsWith(text) || l.Email!.StartsWith(text.ToLowerInvariant()));
        }
        // Newest first, keyset on (CreatedAt, Id).
        if (query.Cursor is { } cursor)
        {
            var parts = cursor.Split('_');
            if (parts.Length != 2 || !Guid.TryParse(parts[1], out var id)) throw Cursors.Refused();
            var at = Cursors.Time(parts[0]);
            q = q.Where(l => l.CreatedAt < at || (l.CreatedAt == at && l.Id.CompareTo(id) < 0));
        }
        var rows = await q.OrderByDescending(l => l.CreatedAt).ThenByDescending(l => l.Id).Take(query.Limit + 1).ToListAsync(ct);
        string? next = null;
        if (rows.Count > query.Limit)
        {
            rows.RemoveAt(query.Limit);
            next = $"{rows[^1].CreatedAt.Ticks}_{rows[^1].Id}";
        }
        return new Page<LeadView>(await ViewsAsync(db, rows, ct), next);
    }

    public async Task<LeadView> GetAsync(Actor actor, Guid id, CancellationToken ct = default)
    {
        DealService.EnsureCanSell(actor);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var lead = await Visible(db, actor).AsNoTracking().FirstOrDefaultAsync(l => l.Id == id, ct) ?? throw new NotFoundException("Lead", id);
        return (await ViewsAsync(db, [lead], ct))[0];
    }

    public async Task<LeadView> CreateAsync(Actor actor, LeadInput input, CancellationToken ct = default)
    {
        DealService.EnsureCanSell(actor);
        Validate(input);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var now = Now();
        var lead = new Lead { CreatedAt = now, UpdatedAt = now, OwnerId = await OwnerAsync(db, actor, input.OwnerId, ct) };
        Apply(lead, input);
        if (lead.Status is LeadStatus.Qualified) throw ValidationFailedException.For("status", "Qualify a lead with POST /leads/{id}/qualify, which makes its deal.");
        db.Leads.Add(lead);
        db.AuditEntries.Add(Audit.Entry(actor, now, EntityType, lead.Id, AuditActions.Created, Audit.Diff(new Dictionary<string, string?>(), Snapshot(lead))));
        await db.SaveChangesAsync(ct);
        return (await ViewsAsync(db, [lead], ct))[0];
    }

    /// <summary>The deals' owner rules: an active user; a sales user with access to their own records keeps what they create.</summary>
    private static async Task<Guid?> OwnerAsync(KoloDb db, Actor actor, Guid? requested, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        var owner = await DealService.OwnerAsync(db, actor, requested, errors, ct, "leads");
        errors.ThrowIfAny();
        return owner;
    }

    public async Task<LeadView> UpdateAsync(Actor actor, Guid id, Guid expectedVersion, LeadInput input, CancellationToken ct = default)
    {
        DealService.EnsureCanSell(actor);
        Validate(input);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var lead = await Visible(db, actor).FirstOrDefaultAsync(l => l.Id == id, ct) ?? throw new NotFoundException("Lead", id);
        if (lead.Version != expectedVersion) throw new PreconditionFailedException();
        if (input.Status == LeadStatus.Qualified && lead.Status != LeadStatus.Qualified)
            throw ValidationFailedException.For("status", "Qualify a lead with POST /leads/{id}/qualify, which makes its deal.");
        // Its customer and deal exist: set back to New it could be qualified again into a second customer and deal.
        if (lead.Status == LeadStatus.Qualified && input.Status is { } status && status != LeadStatus.Qualified)
            throw ValidationFailedException.For("status", "A qualified lead stays qualified; its deal carries on from here.");
        // A new owner follows the rules of a new lead's; keeping the current one (who may have left since) is no change.
        if (input.OwnerId is { } requested && requested != lead.OwnerId) await OwnerAsync(db, actor, requested, ct);
        var before = Snapshot(lead);
        Apply(lead, input);
        if (input.OwnerId is { } owner) lead.OwnerId = owner;
        var changes = Audit.Diff(before, Snapshot(lead));
        if (changes.Count > 0)
        {
            lead.UpdatedAt = Now();
            lead.Version = Guid.NewGuid();
            db.AuditEntries.Add(Audit.Entry(actor, lead.UpdatedAt, EntityType, id, AuditActions.Updated, changes));
            await db.SaveChangesAsync(ct);
        }
        return (await ViewsAsync(db, [lead], ct))[0];
    }

    /// <summary>One step: the customer (found or created from the lead), the deal in the pipeline, the lead marked qualified.</summary>
    public async Task<QualifyResult> QualifyAsync(Actor actor, Guid id, QualifyInput input, CancellationToken ct = default)
    {
        DealService.EnsureCanSell(actor);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var lead = await Visible(db, actor).FirstOrDefaultAsync(l => l.Id == id, ct) ?? throw new NotFoundException("Lead", id);
        if (lead.Status == LeadStatus.Qualified) throw ValidationFailedException.For("status", "The lead is qualified already.");
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        // One conditional update first: a second qualify at the same time (a double click) waits for this one and is refused.
        if (await db.Leads.Where(l => l.Id == id && l.Status != LeadStatus.Qualified).ExecuteUpdateAsync(s => s.SetProperty(l => l.Status, LeadStatus.Qualified), ct) == 0)
            throw ValidationFailedException.For("status", "The lead is qualified already.");
        Guid customerId;
        if (input.CustomerId is { } existing) customerId = existing;
        else
        {
            var customer = await customers.AddProspectAsync(db, actor, new CustomerInput
            {
                Kind = lead.CompanyName is not null && lead.LastName is null ? CustomerKind.Company : CustomerKind.Person,
                FirstName = lead.FirstName, LastName = lead.LastName, CompanyName = lead.CompanyName,
                Emails = lead.Email is { } e ? [new EmailInput { Address = e }] : [], Phones = lead.Phone is { } p ? [new PhoneInput { Number = p }] : [],
                Source = lead.Source, Status = LifecycleStatus.Lead, OwnerId = lead.OwnerId,
            }, ct);
            customerId = customer.Id;
            // The customer must exist before the deal's checks look for it.
            await db.SaveChangesAsync(ct);
        }
        input.Deal!.CustomerId = customerId;
        input.Deal.OwnerId ??= lead.OwnerId;
        input.Deal.SourceCampaign ??= lead.Source;
        var deal = await deals.AddAsync(db, actor, input.Deal, lead.Id, ct);
        var before = Snapshot(lead);
        lead.Status = LeadStatus.Qualified;
        lead.CustomerId = customerId;
        lead.DealId = deal.Id;
        lead.UpdatedAt = Now();
        lead.Version = Guid.NewGuid();
        db.AuditEntries.Add(Audit.Entry(actor, lead.UpdatedAt, EntityType, id, "qualified", Audit.Diff(before, Snapshot(lead))));
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        var view = (await ViewsAsync(db, [lead], ct))[0];
        return new QualifyResult(view, customerId, (await DealService.ViewsAsync(db, [deal], await DealService.SettingsAsync(db, ct), Now(), ct))[0]);
    }

    private static void Validate(LeadInput input)
    {
        var errors = new ValidationErrors();
        if (string.IsNullOrWhiteSpace(input.LastName) && string.IsNullOrWhiteSpace(input.FirstName) && string.IsNullOrWhiteSpace(input.CompanyName))
            errors.Add("lastName", "A lead needs a name or a company name.");
        if (input.Status == LeadStatus.Disqualified && string.IsNullOrWhiteSpace(input.DisqualifyReason))
            errors.Add("disqualifyReason", "Say why the lead is disqualified.");
        errors.ThrowIfAny();
    }

    private static void Apply(Lead lead, LeadInput input)
    {
        static string? Clean(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();
        lead.FirstName = Clean(input.FirstName);
        lead.LastName = Clean(input.LastName);
        lead.CompanyName = Clean(input.CompanyName);
        lead.Email = Clean(input.Email)?.ToLowerInvariant();
        lead.Phone = Clean(input.Phone);
        lead.Source = Clean(input.Source);
        lead.Status = input.Status ?? lead.Status;
        lead.Notes = Clean(input.Notes);
        lead.DisqualifyReason = lead.Status == LeadStatus.Disqualified ? Clean(input.DisqualifyReason) : null;
    }

    private static Dictionary<string, string?> Snapshot(Lead l) => new()
    {
        ["firstName"] = l.FirstName, ["lastName"] = l.LastName, ["companyName"] = l.CompanyName, ["email"] = l.Email, ["phone"] = l.Phone,
        ["source"] = l.Source, ["status"] = l.Status.ToString(), ["owner"] = Audit.Text(l.OwnerId), ["notes"] = l.Notes, ["disqualifyReason"] = l.DisqualifyReason,
        ["customer"] = Audit.Text(l.CustomerId), ["deal"] = Audit.Text(l.DealId),
    };

    private static async Task<List<LeadView>> ViewsAsync(KoloDb db, List<Lead> leads, CancellationToken ct)
    {
        var owners = await DisplayNames.OfUsersAsync(db, leads.Where(l => l.OwnerId != null).Select(l => l.OwnerId!.Value).Distinct().ToList(), ct);
        return leads.Select(l => new LeadView(l.Id, DisplayName(l), l.FirstName, l.LastName, l.CompanyName, l.Email, l.Phone, l.Source, l.Status, l.OwnerId,
            l.OwnerId is { } o ? owners.GetValueOrDefault(o) : null, l.Notes, l.DisqualifyReason, l.CustomerId, l.DealId, l.CreatedAt, l.UpdatedAt, l.Version)).ToList();
    }

    private static string DisplayName(Lead l)
    {
        var person = string.Join(" ", new[] { l.FirstName, l.LastName }.Where(x => x is not null));
        return person.Length == 0 ? l.CompanyName ?? "" : l.CompanyName is { } c ? $"{person} ({c})" : person;
    }
}

public sealed class NextStepInput
{
    [Required, StringLength(300, MinimumLength = 1)] public string? Title { get; set; }
    public DateTime? DueAt { get; set; }
}

public sealed class VisitReportInput
{
    [Required] public Guid? CustomerId { get; set; }
    public Guid? DealId { get; set; }
    [Required, StringLength(500, MinimumLength = 1)] public string? Outcome { get; set; }
    [StringLength(10_000)] public string? Notes { get; set; }
    public Sentiment? Sentiment { get; set; }
    public DateTime? VisitedAt { get; set; }
    public List<NextStepInput> NextSteps { get; set; } = [];
}

public sealed record VisitReportResult(Guid InteractionId, IReadOnlyList<Guid> TaskIds);

/// <summary>A visit logged in under a minute: the visit on the timeline (and the deal), its next steps as tasks for the rep.</summary>
public sealed class VisitReportService(InteractionService interactions, TaskService tasks)
{
    public async Task<VisitReportResult> RecordAsync(Actor actor, VisitReportInput input, CancellationToken ct = default)
    {
        DealService.EnsureCanSell(actor);
        var errors = new ValidationErrors();
        for (var i = 0; i < input.NextSteps.Count; i++)
            if (string.IsNullOrWhiteSpace(input.NextSteps[i].Title)) errors.Add($"nextSteps[{i}].title", "A next step needs a title.");
        errors.ThrowIfAny();
        IntakeResult visit;
        try
        {
            visit = await interactions.RecordAsync(actor, new InteractionInput
            {
                CustomerId = input.CustomerId, Type = InteractionType.Visit, Channel = ContactChannel.Visit, Direction = InteractionDirection.Outbound,
                Subject = "Visit: " + input.Outcome!.Trim(), Body = input.Notes, Outcome = input.Outcome.Trim(), Sentiment = input.Sentiment,
                OccurredAt = input.VisitedAt, RelatedType = input.DealId is null ? null : DealService.RelatedType, RelatedId = input.DealId,
            }, ct);
        }
        catch (ValidationFailedException e) when (e.Errors.TryGetValue("relatedId", out var problems))
        {
            throw ValidationFailedException.For("dealId", problems.First());
        }
        var ids = new List<Guid>();
        foreach (var step in input.NextSteps)
        {
            var task = await tasks.CreateAsync(actor, new TaskInput
            {
                Title = step.Title!.Trim(), DueAt = step.DueAt, CustomerId = input.CustomerId,
                RelatedType = input.DealId is null ? "interaction" : DealService.RelatedType, RelatedId = input.DealId ?? visit.Interaction.Id,
            }, ct);
            ids.Add(task.Id);
        }
        return new VisitReportResult(visit.Interaction.Id, ids);
    }
}
