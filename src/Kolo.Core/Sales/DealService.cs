using System.ComponentModel.DataAnnotations;
using Kolo.Core.Customers;
using Kolo.Core.Data;
using Kolo.Core.Orders;
using Kolo.Core.Platform;
using Kolo.Core.Timeline;
using Microsoft.EntityFrameworkCore;

namespace Kolo.Core.Sales;

public sealed class DealLineInput
{
    public Guid? ProductId { get; set; }
    [StringLength(64)] public string? Sku { get; set; }
    [StringLength(500)] public string? Description { get; set; }
    [Range(1, 1_000_000)] public int Quantity { get; set; } = 1;
    /// <summary>Price per unit; the product's list price when omitted.</summary>
    [Range(0, 1_000_000_000)] public decimal? UnitPrice { get; set; }
    [Range(0, 1_000_000_000)] public decimal? Discount { get; set; }
}

public sealed class DealInput
{
    [Required, StringLength(200, MinimumLength = 1)] public string? Name { get; set; }
    [Required] public Guid? CustomerId { get; set; }
    /// <summary>The default pipeline when empty.</summary>
    public Guid? PipelineId { get; set; }
    /// <summary>The pipeline's first stage when empty.</summary>
    public Guid? StageId { get; set; }
    /// <summary>The lines' total when empty and there are lines.</summary>
    [Range(0, 1_000_000_000_000)] public decimal? Amount { get; set; }
    [Required, RegularExpression("^[A-Z]{3}$", ErrorMessage = "Use a three-letter ISO 4217 code, e.g. UAH.")] public string? Currency { get; set; }
    /// <summary>Overrides the stage's default probability (0–100); null follows the stage.</summary>
    [Range(0, 100)] public int? Probability { get; set; }
    public ForecastCategory? ForecastCategory { get; set; }
    public DateOnly? ExpectedCloseDate { get; set; }
    /// <summary>The creator (a Sales user) when empty.</summary>
    public Guid? OwnerId { get; set; }
    [StringLength(200)] public string? SourceCampaign { get; set; }
    public List<DealLineInput> Lines { get; set; } = [];
}

public sealed class MoveInput
{
    [Required] public Guid? StageId { get; set; }
    /// <summary>Required when the stage is Won or Lost.</summary>
    [StringLength(500)] public string? Reason { get; set; }
}

public sealed record DealLineView(Guid Id, int LineNo, Guid? ProductId, string Sku, string Description, int Quantity, decimal UnitPrice, decimal Discount, decimal LineTotal);

public sealed record DealView(Guid Id, string Name, Guid CustomerId, string CustomerName, Guid PipelineId, Guid StageId, string StageName, StageKind StageKind,
    decimal Amount, string Currency, int Probability, int? ProbabilityOverride, decimal WeightedAmount, ForecastCategory ForecastCategory,
    DateOnly? ExpectedCloseDate, Guid? OwnerId, string? OwnerName, string? SourceCampaign, DealStatus Status, string? CloseReason, DateTime? ClosedAt,
    DateTime StageEnteredAt, DateTime LastActivityAt, bool AtRisk, Guid? LeadId, Guid? QuoteOrderId, IReadOnlyList<DealLineView> Lines,
    DateTime CreatedAt, DateTime UpdatedAt, Guid Version);

public sealed record StageChangeView(Guid StageId, string StageName, DateTime EnteredAt, DateTime? LeftAt, string ByName);

public sealed record DealQuery
{
    public Guid? PipelineId { get; init; }
    public Guid? StageId { get; init; }
    public Guid? OwnerId { get; init; }
    public string? Team { get; init; }
    public Guid? CustomerId { get; init; }
    public DealStatus? Status { get; init; }
    public DateOnly? CloseFrom { get; init; }
    public DateOnly? CloseTo { get; init; }
    /// <summary>ISO 4217 code: only deals in this currency (the board's default is the sales currency).</summary>
    public string? Currency { get; init; }
    public bool? AtRisk { get; init; }
    /// <summary>Deal name prefix.</summary>
    public string? Q { get; init; }
    public int Limit { get; init; } = 50;
    public string? Cursor { get; init; }
    /// <summary>Latest expected close first (no date first) instead of soonest first.</summary>
    public bool Descending { get; init; }
}

public sealed record BoardColumn(StageView Stage, int Count, decimal Total, decimal Weighted, IReadOnlyList<DealView> Deals, string? NextCursor);

/// <summary><paramref name="Currencies"/>: every currency the pipeline's open deals (that the caller sees) are in, to switch to.</summary>
public sealed record BoardView(PipelineView Pipeline, string Currency, IReadOnlyList<BoardColumn> Columns, IReadOnlyList<string> Currencies);

/// <summary>Deals: create, edit, move between stages (with history, won/lost reasons), quotes from their lines, the board.</summary>
public sealed class DealService(IDbContextFactory<KoloDb> dbFactory, TimeProvider clock, OrderService orders)
{
    public const string EntityType = "deal";
    public const string RelatedType = "deal";

    private DateTime Now() => clock.GetUtcNow().UtcDateTime;

    /// <summary>Deals a user may see: a Sales user their own (or their team's, or all, as their customer access says).</summary>
    public static IQueryable<Deal> Visible(KoloDb db, Actor actor)
    {
        var deals = db.Deals.Where(d => d.ArchivedAt == null);
        if (actor.Role != UserRole.Sales || actor.CustomerAccess == CustomerAccess.All) return deals;
        if (actor.CustomerAccess == CustomerAccess.Team && actor.Team is { } team)
        {
            var members = db.Users.Where(u => u.Team == team).Select(u => (Guid?)u.Id);
            return deals.Where(d => d.OwnerId == actor.UserId || members.Contains(d.OwnerId));
        }
        return deals.Where(d => d.OwnerId == actor.UserId);
    }

    public static void EnsureCanSell(Actor actor)
    {
        if (actor.Role is UserRole.Support or UserRole.Marketing) throw new ForbiddenException("Only sales staff, managers and admins work on deals.");
    }

    public async Task<Page<DealView>> ListAsync(Actor actor, DealQuery query, CancellationToken ct = default)
    {
        EnsureCanSell(actor);
        if (query.Limit is < 1 or > 200) throw ValidationFailedException.For("limit", "Limit must be between 1 and 200.");
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var settings = await SettingsAsync(db, ct);
        var q = Filter(db, Visible(db, actor).AsNoTracking(), query, settings, Now());
        // Soonest expected close first (no date last), then id: the board's column order too.
        if (query.Cursor is { } cursor)
        {
            var (date, id) = ParseCursor(cursor);
            q = query.Descending
                ? q.Where(d => (d.ExpectedCloseDate ?? DateOnly.MaxValue) < date || ((d.ExpectedCloseDate ?? DateOnly.MaxValue) == date && d.Id.CompareTo(id) < 0))
                : q.Where(d => (d.ExpectedCloseDate ?? DateOnly.MaxValue) > date || ((d.ExpectedCloseDate ?? DateOnly.MaxValue) == date && d.Id.CompareTo(id) > 0));
        }
        var ordered = query.Descending
            ? q.OrderByDescending(d => d.ExpectedCloseDate ?? DateOnly.MaxValue).ThenByDescending(d => d.Id)
            : q.OrderBy(d => d.ExpectedCloseDate ?? DateOnly.MaxValue).ThenBy(d => d.Id);
        var rows = await ordered.Include(d => d.Lines).Take(query.Limit + 1).ToListAsync(ct);
        string? next = null;
        if (rows.Count > query.Limit)
        {
            rows.RemoveAt(query.Limit);
            next = CursorOf(rows[^1]);
        }
        return new Page<DealView>(await ViewsAsync(db, rows, settings, Now(), ct), next);
    }

    private static string CursorOf(Deal d) => $"{(d.ExpectedCloseDate ?? DateOnly.MaxValue).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture)}_{d.Id}";

    private static (DateOnly, Guid) ParseCursor(string cursor)
    {
        var parts = cursor.Split('_');
        if (parts.Length == 2 && DateOnly.TryParseExact(parts[0], "yyyy-MM-dd", out var date) && Guid.TryParse(parts[1], out var id)) return (date, id);
        throw Cursors.Refused();
    }

    public static IQueryable<Deal> Filter(KoloDb db, IQueryable<Deal> q, DealQuery query, SalesSettings settings, DateTime now)
    {
        if (query.PipelineId is { } p) q = q.Where(d => d.PipelineId == p);
        if (query.StageId is { } s) q = q.Where(d => d.StageId == s);
        if (query.OwnerId is { } o) q = q.Where(d => d.OwnerId == o);
        if (query.Team is { Length: > 0 } team)
        {
            var members = db.Users.Where(u => u.Team == team).Select(u => (Guid?)u.Id);
            q = q.Where(d => members.Contains(d.OwnerId));
        }
        if (query.CustomerId is { } c) q = q.Where(d => d.CustomerId == c);
        if (query.Currency is { Length: > 0 } currency) q = q.Where(d => d.Currency == currency);
        if (query.Status is { } status) q = q.Where(d => d.Status == status);
        if (query.CloseFrom is { } from) q = q.Where(d => d.ExpectedCloseDate >= from);
        if (query.CloseTo is { } to) q = q.Where(d => d.ExpectedCloseDate <= to);
        if (query.AtRisk is { } atRisk)
        {
            var idleSince = now.AddDays(-settings.AtRiskDays);
            q = atRisk ? q.Where(d => d.Status == DealStatus.Open && d.LastActivityAt < idleSince)
                       : q.Where(d => d.Status != DealStatus.Open || d.LastActivityAt >= idleSince);
        }
        if (!string.IsNullOrWhiteSpace(query.Q)) q = q.Where(d => d.Name.StartsWith(query.Q.Trim()));
        return q;
    }

    /// <summary>The board: one column per stage with its count, total and weighted total, and the first deals of each.</summary>
    public async Task<BoardView> BoardAsync(Actor actor, Guid? pipelineId, DealQuery filters, int perStage, CancellationToken ct = default)
    {
        EnsureCanSell(actor);
        if (perStage is < 1 or > 100) throw ValidationFailedException.For("limit", "limit must be between 1 and 100.");
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var settings = await SettingsAsync(db, ct);
        var pipeline = pipelineId is { } id
            ? await db.Pipelines.AsNoTracking().Include(p => p.Stages).FirstOrDefaultAsync(p => p.Id == id, ct) ?? throw new NotFoundException("Pipeline", id)
            : await db.Pipelines.AsNoTracking().Include(p => p.Stages).Where(p => p.ArchivedAt == null).OrderByDescending(p => p.IsDefault).ThenBy(p => p.SortOrder).FirstOrDefaultAsync(ct)
              ?? throw new NotFoundException("Pipeline", Guid.Empty);
        // Amounts in different currencies are not added up (Kolo does not convert): the board shows one currency at a time.
        var currency = string.IsNullOrEmpty(filters.Currency) ? settings.Currency : filters.Currency;
        var deals = Filter(db, Visible(db, actor).AsNoTracking(), filters with { PipelineId = pipeline.Id, StageId = null, Currency = currency }, settings, Now());
        var currencies = await Visible(db, actor).Where(d => d.PipelineId == pipeline.Id && d.Status == DealStatus.Open)
            .Select(d => d.Currency).Distinct().ToListAsync(ct);
        // Closed columns show the last 90 days only: the board is about work in progress.
        var closedSince = Now().AddDays(-90);
        deals = deals.Where(d => d.Status == DealStatus.Open || d.ClosedAt >= closedSince);
        var totals = await deals.GroupBy(d => d.StageId)
            .Select(g => new { StageId = g.Key, Count = g.Count(), Total = g.Sum(d => d.AmountMinor), Weighted = g.Sum(d => d.AmountMinor * d.Probability) })
            .ToDictionaryAsync(x => x.StageId, ct);
        var view = PipelineView.From(pipeline);
        var columns = new List<BoardColumn>();
        foreach (var stage in view.Stages)
        {
            var rows = await deals.Where(d => d.StageId == stage.Id).OrderBy(d => d.ExpectedCloseDate ?? DateOnly.MaxValue).ThenBy(d => d.Id)
                .Include(d => d.Lines).Take(perStage + 1).ToListAsync(ct);
            var next = rows.Count > perStage ? CursorOf(rows[perStage - 1]) : null;
            var t = totals.GetValueOrDefault(stage.Id);
            columns.Add(new BoardColumn(stage, t?.Count ?? 0, Money.FromMinor(t?.Total ?? 0, currency),
                Money.FromMinor((long)Math.Round((t?.Weighted ?? 0) / 100m, MidpointRounding.AwayFromZero), currency),
                await ViewsAsync(db, rows.Take(perStage).ToList(), settings, Now(), ct), next));
        }
        return new BoardView(view, currency, columns, currencies.Append(currency).Distinct().Order(StringComparer.Ordinal).ToList());
    }

    public async Task<DealView> GetAsync(Actor actor, Guid id, CancellationToken ct = default)
    {
        EnsureCanSell(actor);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var deal = await Visible(db, actor).AsNoTracking().Include(d => d.Lines).FirstOrDefaultAsync(d => d.Id == id, ct) ?? throw new NotFoundException("Deal", id);
        return (await ViewsAsync(db, [deal], await SettingsAsync(db, ct), Now(), ct))[0];
    }

    public async Task<DealView> CreateAsync(Actor actor, DealInput input, CancellationToken ct = default)
    {
        EnsureCanSell(actor);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var deal = await AddAsync(db, actor, input, null, ct);
        await db.SaveChangesAsync(ct);
        return (await ViewsAsync(db, [deal], await SettingsAsync(db, ct), Now(), ct))[0];
    }

    /// <summary>Validates and adds a deal (with its first stage stay and audit entry) without saving: lead qualification shares the transaction.</summary>
    internal async Task<Deal> AddAsync(KoloDb db, Actor actor, DealInput input, Guid? leadId, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        if (!await db.Customers.VisibleTo(db, actor).AnyAsync(c => c.Id == input.CustomerId && c.ArchivedAt == null, ct))
            errors.Add("customerId", "No such customer (or not one of yours).");
        var pipeline = input.PipelineId is { } pid
            ? await db.Pipelines.Include(p => p.Stages).FirstOrDefaultAsync(p => p.Id == pid && p.ArchivedAt == null, ct)
            : await db.Pipelines.Include(p => p.Stages).Where(p => p.ArchivedAt == null).OrderByDescending(p => p.IsDefault).ThenBy(p => p.SortOrder).FirstOrDefaultAsync(ct);
        if (pipeline is null) errors.Add("pipelineId", "No such pipeline.");
        var stage = pipeline is null ? null
            : input.StageId is { } sid ? pipeline.Stages.FirstOrDefault(s => s.Id == sid && s.ArchivedAt == null)
            : pipeline.Stages.Where(s => s.ArchivedAt == null && s.Kind == StageKind.Open).MinBy(s => s.Position);
        if (pipeline is not null && stage is null) errors.Add("stageId", "The stage is not one of the pipeline's.");
        else if (stage is not null && stage.Kind != StageKind.Open) errors.Add("stageId", "A new deal starts in an open stage; move it to Won or Lost with a reason.");
        var owner = await OwnerAsync(db, actor, input.OwnerId, errors, ct);
        var lines = await BuildLinesAsync(db, input.Lines, input.Currency!, errors, ct);
        if (input.Amount is null && lines.Count == 0) errors.Add("amount", "Give an amount or at least one line.");
        errors.ThrowIfAny();
        var now = Now();
        var deal = new Deal
        {
            Name = input.Name!.Trim(), CustomerId = input.CustomerId!.Value, PipelineId = pipeline!.Id, StageId = stage!.Id, Currency = input.Currency!,
            ProbabilityOverride = input.Probability, ForecastCategory = input.ForecastCategory ?? ForecastCategory.Pipeline, ExpectedCloseDate = input.ExpectedCloseDate,
            OwnerId = owner, SourceCampaign = Clean(input.SourceCampaign), Status = DealStatus.Open, StageEnteredAt = now, LastActivityAt = now,
            LeadId = leadId, CreatedAt = now, UpdatedAt = now,
        };
        SetLines(deal, lines);
        deal.AmountMinor = input.Amount is { } amount ? Money.ToMinor(amount, deal.Currency) : LinesTotal(deal);
        deal.Probability = PipelineService.EffectiveProbability(stage, deal.ProbabilityOverride);
        db.Deals.Add(deal);
        db.DealStageChanges.Add(new DealStageChange { DealId = deal.Id, StageId = stage.Id, EnteredAt = now, ById = UserIdOf(actor), ByName = actor.Name });
        db.AuditEntries.Add(Audit.Entry(actor, now, EntityType, deal.Id, AuditActions.Created, Audit.Diff(new Dictionary<string, string?>(), Snapshot(deal, stage.Name))));
        return deal;
    }

    public async Task<DealView> UpdateAsync(Actor actor, Guid id, Guid expectedVersion, DealInput input, CancellationToken ct = default)
    {
        EnsureCanSell(actor);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var deal = await Visible(db, actor).Include(d => d.Lines).FirstOrDefaultAsync(d => d.Id == id, ct) ?? throw new NotFoundException("Deal", id);
        if (deal.Version != expectedVersion) throw new PreconditionFailedException();
        // Won and lost deals are the actuals targets and commissions are paid on: reopen one (move it) to change it.
        if (deal.Status != DealStatus.Open)
            throw ValidationFailedException.For("status", "A won or lost deal cannot be changed; move it back to an open stage first.");
        var errors = new ValidationErrors();
        if (input.CustomerId != deal.CustomerId) errors.Add("customerId", "A deal stays with its customer.");
        if (input.PipelineId is { } p && p != deal.PipelineId) errors.Add("pipelineId", "A deal stays in its pipeline.");
        if (input.StageId is { } s && s != deal.StageId) errors.Add("stageId", "Move a deal with POST /deals/{id}/move, which records the stage history.");
        var owner = await OwnerAsync(db, actor, input.OwnerId ?? deal.OwnerId, errors, ct);
        var lines = await BuildLinesAsync(db, input.Lines, input.Currency!, errors, ct);
        if (input.Amount is null && lines.Count == 0) errors.Add("amount", "Give an amount or at least one line.");
        errors.ThrowIfAny();
        var stage = await db.Stages.FirstAsync(x => x.Id == deal.StageId, ct);
        var before = Snapshot(deal, stage.Name);
        deal.Name = input.Name!.Trim();
        deal.Currency = input.Currency!;
        deal.ProbabilityOverride = input.Probability;
        deal.Probability = PipelineService.EffectiveProbability(stage, deal.ProbabilityOverride);
        deal.ForecastCategory = input.ForecastCategory ?? deal.ForecastCategory;
        deal.ExpectedCloseDate = input.ExpectedCloseDate;
        deal.OwnerId = owner;
        deal.SourceCampaign = Clean(input.SourceCampaign);
        db.DealLines.RemoveRange(deal.Lines);
        deal.Lines = [];
        SetLines(deal, lines);
        db.DealLines.AddRange(deal.Lines);
        deal.AmountMinor = input.Amount is { } amount ? Money.ToMinor(amount, deal.Currency) : LinesTotal(deal);
        var changes = Audit.Diff(before, Snapshot(deal, stage.Name));
        if (changes.Count > 0)
        {
            await using var tx = await db.Database.BeginTransactionAsync(ct);
            await ClaimVersionAsync(db, deal, ct);
            deal.UpdatedAt = deal.LastActivityAt = Now();
            db.AuditEntries.Add(Audit.Entry(actor, deal.UpdatedAt, EntityType, deal.Id, AuditActions.Updated, changes));
            await db.SaveChangesAsync(ct);
            await tx.CommitAsync(ct);
        }
        return (await ViewsAsync(db, [deal], await SettingsAsync(db, ct), Now(), ct))[0];
    }

    /// <summary>Moves a deal to a stage of its pipeline: the stay in the old stage ends, a new one starts; Won and Lost need a reason and close the deal.</summary>
    public async Task<DealView> MoveAsync(Actor actor, Guid id, Guid? expectedVersion, MoveInput input, CancellationToken ct = default)
    {
        EnsureCanSell(actor);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var deal = await Visible(db, actor).Include(d => d.Lines).FirstOrDefaultAsync(d => d.Id == id, ct) ?? throw new NotFoundException("Deal", id);
        if (expectedVersion is { } v && deal.Version != v) throw new PreconditionFailedException();
        var stage = await db.Stages.FirstOrDefaultAsync(s => s.Id == input.StageId && s.PipelineId == deal.PipelineId && s.ArchivedAt == null, ct)
                    ?? throw ValidationFailedException.For("stageId", "The stage is not one of the deal's pipeline.");
        if (stage.Id == deal.StageId) return (await ViewsAsync(db, [deal], await SettingsAsync(db, ct), Now(), ct))[0];
        var reason = Clean(input.Reason);
        if (stage.Kind != StageKind.Open && reason is null)
            throw ValidationFailedException.For("reason", stage.Kind == StageKind.Won ? "Say why the deal was won." : "Say why the deal was lost.");
        var now = Now();
        var from = await db.Stages.FirstAsync(s => s.Id == deal.StageId, ct);
        // Closing the old stay and saving the move commit together; of two moves from the same version, the second is refused.
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        await ClaimVersionAsync(db, deal, ct);
        await db.DealStageChanges.Where(c => c.DealId == deal.Id && c.LeftAt == null).ExecuteUpdateAsync(s => s.SetProperty(c => c.LeftAt, now), ct);
        db.DealStageChanges.Add(new DealStageChange { DealId = deal.Id, StageId = stage.Id, EnteredAt = now, ById = UserIdOf(actor), ByName = actor.Name });
        deal.StageId = stage.Id;
        deal.StageEnteredAt = deal.LastActivityAt = deal.UpdatedAt = now;
        deal.Probability = PipelineService.EffectiveProbability(stage, deal.ProbabilityOverride);
        deal.Status = stage.Kind switch { StageKind.Won => DealStatus.Won, StageKind.Lost => DealStatus.Lost, _ => DealStatus.Open };
        deal.ClosedAt = stage.Kind == StageKind.Open ? null : now;
        deal.CloseReason = stage.Kind == StageKind.Open ? null : reason;
        if (stage.Kind == StageKind.Won) deal.ForecastCategory = ForecastCategory.Commit;
        var changes = new List<FieldChange> { new("stage", from.Name, stage.Name) };
        if (reason is not null && stage.Kind != StageKind.Open) changes.Add(new FieldChange("reason", null, reason));
        db.AuditEntries.Add(Audit.Entry(actor, now, EntityType, deal.Id, stage.Kind switch { StageKind.Won => "won", StageKind.Lost => "lost", _ => "moved" }, changes));
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return (await ViewsAsync(db, [deal], await SettingsAsync(db, ct), Now(), ct))[0];
    }

    public async Task<IReadOnlyList<StageChangeView>> HistoryAsync(Actor actor, Guid id, CancellationToken ct = default)
    {
        EnsureCanSell(actor);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        if (!await Visible(db, actor).AnyAsync(d => d.Id == id, ct)) throw new NotFoundException("Deal", id);
        return await db.DealStageChanges.Where(c => c.DealId == id).OrderBy(c => c.EnteredAt).ThenBy(c => c.Id)
            .Join(db.Stages, c => c.StageId, s => s.Id, (c, s) => new StageChangeView(c.StageId, s.Name, c.EnteredAt, c.LeftAt, c.ByName)).ToListAsync(ct);
    }

    /// <summary>Makes a quote (an order in status Quote) from the deal's lines, for the deal's customer, once.</summary>
    public async Task<OrderView> QuoteAsync(Actor actor, Guid id, CancellationToken ct = default)
    {
        EnsureCanSell(actor);
        Deal deal;
        await using (var db = await dbFactory.CreateDbContextAsync(ct))
        {
            deal = await Visible(db, actor).AsNoTracking().Include(d => d.Lines).FirstOrDefaultAsync(d => d.Id == id, ct) ?? throw new NotFoundException("Deal", id);
        }
        if (deal.QuoteOrderId is not null) throw ValidationFailedException.For("quoteOrderId", "This deal has a quote already.");
        if (deal.Lines.Count == 0) throw ValidationFailedException.For("lines", "The deal has no product lines to quote.");
        var quote = await orders.CreateAsync(actor, new OrderInput
        {
            CustomerId = deal.CustomerId, Quote = true, Currency = deal.Currency, OwnerId = deal.OwnerId, Notes = $"From deal {deal.Name}",
            Lines = deal.Lines.OrderBy(l => l.LineNo).Select(l => new OrderLineInput
            {
                ProductId = l.ProductId, Sku = l.ProductId is null ? l.Sku : null, Description = l.Description, Quantity = l.Quantity,
                UnitPrice = Money.FromMinor(l.UnitPriceMinor, deal.Currency), Discount = Money.FromMinor(l.DiscountMinor, deal.Currency),
            }).ToList(),
        }, ct);
        await using (var db = await dbFactory.CreateDbContextAsync(ct))
        {
            var now = Now();
            await db.Deals.Where(d => d.Id == id).ExecuteUpdateAsync(s => s.SetProperty(d => d.QuoteOrderId, quote.Id)
                .SetProperty(d => d.LastActivityAt, now).SetProperty(d => d.Version, Guid.NewGuid()), ct);
            db.AuditEntries.Add(Audit.Entry(actor, now, EntityType, id, "quoted", [new FieldChange("quote", null, quote.Number)]));
            await db.SaveChangesAsync(ct);
        }
        return quote;
    }

    /// <summary>An interaction about a deal is activity on it: the deal is no longer at risk.</summary>
    public static Task TouchAsync(KoloDb db, Guid dealId, DateTime at, CancellationToken ct) =>
        db.Deals.Where(d => d.Id == dealId && d.LastActivityAt < at).ExecuteUpdateAsync(s => s.SetProperty(d => d.LastActivityAt, at), ct);

    public static async Task<SalesSettings> SettingsAsync(KoloDb db, CancellationToken ct) =>
        await db.SalesSettings.AsNoTracking().FirstOrDefaultAsync(s => s.Id == SalesSettings.SingletonId, ct) ?? new SalesSettings();

    /// <summary>The owner of a new or reassigned deal or lead: a sales user's own by default, and always an active user.</summary>
    internal static async Task<Guid?> OwnerAsync(KoloDb db, Actor actor, Guid? requested, ValidationErrors errors, CancellationToken ct, string records = "deals")
    {
        if (requested is null) return actor.Role == UserRole.Sales ? actor.UserId : null;
        if (actor.Role == UserRole.Sales && requested != actor.UserId && actor.CustomerAccess == CustomerAccess.Own)
        {
            errors.Add("ownerId", $"A sales user owns the {records} they create.");
            return null;
        }
        if (!await db.Users.AnyAsync(u => u.Id == requested && u.DeactivatedAt == null, ct)) errors.Add("ownerId", "No such active user.");
        return requested;
    }

    /// <summary>The largest deal amount, as <see cref="DealInput.Amount"/> allows; lines may not add up to more.</summary>
    private const decimal MaxAmount = 1_000_000_000_000m;

    private static async Task<List<DealLine>> BuildLinesAsync(KoloDb db, List<DealLineInput> inputs, string currency, ValidationErrors errors, CancellationToken ct)
    {
        var ids = inputs.Where(l => l.ProductId != null).Select(l => l.ProductId!.Value).ToList();
        var skus = inputs.Where(l => l.ProductId == null && l.Sku != null).Select(l => l.Sku!.Trim()).ToList();
        var products = await db.Products.AsNoTracking().Where(p => ids.Contains(p.Id) || skus.Contains(p.Sku)).ToListAsync(ct);
        var lines = new List<DealLine>();
        for (var i = 0; i < inputs.Count; i++)
        {
            var input = inputs[i];
            var product = products.FirstOrDefault(p => p.Id == input.ProductId || (input.ProductId == null && p.Sku == input.Sku?.Trim()));
            if (product is null && input.Sku is null) { errors.Add($"lines[{i}].productId", "Name a product by productId or sku."); continue; }
            if (product is null && input.UnitPrice is null) { errors.Add($"lines[{i}].unitPrice", "A line without a catalogue product needs a unit price."); continue; }
            if (product is not null && input.UnitPrice is null && product.Currency != currency)
            { errors.Add($"lines[{i}].unitPrice", $"The product is priced in {product.Currency}; give a unit price in {currency}."); continue; }
            var unit = input.UnitPrice is { } price ? Money.ToMinor(price, currency) : product!.ListPriceMinor;
            var discount = input.Discount is { } d ? Money.ToMinor(d, currency) : 0;
            if (discount > unit * input.Quantity) { errors.Add($"lines[{i}].discount", "The discount is more than the line."); continue; }
            if (unit * input.Quantity - discount > Money.ToMinor(MaxAmount, currency))
            { errors.Add($"lines[{i}].quantity", "The line comes to more than 1,000,000,000,000."); continue; }
            lines.Add(new DealLine
            {
                ProductId = product?.Id, Sku = product?.Sku ?? input.Sku!.Trim(), Description = input.Description?.Trim() ?? product?.Name ?? input.Sku!.Trim(),
                Quantity = input.Quantity, UnitPriceMinor = unit, DiscountMinor = discount,
            });
        }
        if (lines.Sum(l => (decimal)l.Quantity * l.UnitPriceMinor - l.DiscountMinor) > Money.ToMinor(MaxAmount, currency))
            errors.Add("lines", "The lines come to more than 1,000,000,000,000.");
        return lines;
    }

    private static void SetLines(Deal deal, List<DealLine> lines)
    {
        var no = 0;
        foreach (var line in lines)
        {
            line.DealId = deal.Id;
            line.LineNo = ++no;
            deal.Lines.Add(line);
        }
    }

    /// <summary>
    /// Gives the deal a new version with one conditional update, inside the caller's transaction: of two writes based on
    /// the version read, only the first matches (the second waits for its row lock, then finds the version changed) — 412.
    /// </summary>
    private static async Task ClaimVersionAsync(KoloDb db, Deal deal, CancellationToken ct)
    {
        var (read, next) = (deal.Version, Guid.NewGuid());
        if (await db.Deals.Where(d => d.Id == deal.Id && d.Version == read).ExecuteUpdateAsync(s => s.SetProperty(d => d.Version, next), ct) == 0)
            throw new PreconditionFailedException();
        deal.Version = next;
    }

    private static long LinesTotal(Deal deal) => deal.Lines.Sum(l => l.Quantity * l.UnitPriceMinor - l.DiscountMinor);

    private static string? Clean(string? text) => string.IsNullOrWhiteSpace(text) ? null : text.Trim();

    private static Guid? UserIdOf(Actor actor) => actor.UserId == Guid.Empty ? null : actor.UserId;

    private static Dictionary<string, string?> Snapshot(Deal d, string stageName) => new()
    {
        ["name"] = d.Name, ["stage"] = stageName, ["amount"] = Audit.Text(d.AmountMinor), ["currency"] = d.Currency,
        ["probability"] = Audit.Text(d.ProbabilityOverride), ["forecastCategory"] = d.ForecastCategory.ToString(),
        ["expectedCloseDate"] = d.ExpectedCloseDate?.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
        ["owner"] = Audit.Text(d.OwnerId), ["sourceCampaign"] = d.SourceCampaign,
        ["lines"] = string.Join("; ", d.Lines.OrderBy(l => l.LineNo).Select(l =>
            $"{l.Quantity} × {l.Sku} @ {l.UnitPriceMinor}{(l.DiscountMinor > 0 ? $" − {l.DiscountMinor}" : "")} ({l.Description})")),
    };

    internal static async Task<List<DealView>> ViewsAsync(KoloDb db, List<Deal> deals, SalesSettings settings, DateTime now, CancellationToken ct)
    {
        if (deals.Count == 0) return [];
        var stageIds = deals.Select(d => d.StageId).Distinct().ToList();
        var stages = await db.Stages.AsNoTracking().Where(s => stageIds.Contains(s.Id)).ToDictionaryAsync(s => s.Id, ct);
        var customerIds = deals.Select(d => d.CustomerId).Distinct().ToList();
        var customers = await db.Customers.AsNoTracking().Where(c => customerIds.Contains(c.Id)).Select(c => new { c.Id, c.DisplayName }).ToDictionaryAsync(c => c.Id, c => c.DisplayName, ct);
        var owners = await DisplayNames.OfUsersAsync(db, deals.Where(d => d.OwnerId != null).Select(d => d.OwnerId!.Value).Distinct().ToList(), ct);
        var idleSince = now.AddDays(-settings.AtRiskDays);
        return deals.Select(d =>
        {
            var stage = stages[d.StageId];
            decimal M(long minor) => Money.FromMinor(minor, d.Currency);
            return new DealView(d.Id, d.Name, d.CustomerId, customers.GetValueOrDefault(d.CustomerId) ?? "", d.PipelineId, d.StageId, stage.Name, stage.Kind,
                M(d.AmountMinor), d.Currency, d.Probability, d.ProbabilityOverride, M((long)Math.Round(d.AmountMinor * d.Probability / 100m, MidpointRounding.AwayFromZero)),
                d.ForecastCategory, d.ExpectedCloseDate, d.OwnerId, d.OwnerId is { } o ? owners.GetValueOrDefault(o) : null, d.SourceCampaign, d.Status,
                d.CloseReason, d.ClosedAt, d.StageEnteredAt, d.LastActivityAt, d.Status == DealStatus.Open && d.LastActivityAt < idleSince, d.LeadId,
                d.QuoteOrderId, d.Lines.OrderBy(l => l.LineNo).Select(l => new DealLineView(l.Id, l.LineNo, l.ProductId, l.Sku, l.Description, l.Quantity,
                    M(l.UnitPriceMinor), M(l.DiscountMinor), M(l.Quantity * l.UnitPriceMinor - l.DiscountMinor))).ToList(),
                d.CreatedAt, d.UpdatedAt, d.Version);
        }).ToList();
    }
}

/// <summary>A customer's deals on their timeline: created, and won or lost.</summary>
public sealed class DealTimelineSource : ITimelineSource
{
    public string Kind => "deal";
    public bool HasChannel => false;

    public async Task<IReadOnlyList<TimelineEntry>> ReadAsync(KoloDb db, Guid customerId, TimelinePosition? before, ContactChannel? channel, int limit, CancellationToken ct)
    {
        var q = db.Deals.AsNoTracking().Where(d => d.CustomerId == customerId && d.ArchivedAt == null);
        if (before is { } b) q = q.Where(d => d.CreatedAt <= b.At && (d.CreatedAt < b.At || d.Id.CompareTo(b.Id) < 0));
        var rows = await q.OrderByDescending(d => d.CreatedAt).ThenByDescending(d => d.Id).Take(limit)
            .Join(db.Stages, d => d.StageId, s => s.Id, (d, s) => new { d.Id, d.Name, d.CreatedAt, d.Status, Stage = s.Name, d.AmountMinor, d.Currency, d.OwnerId, d.CloseReason })
            .ToListAsync(ct);
        return rows.Select(d => new TimelineEntry
        {
            Kind = Kind, Id = d.Id, At = d.CreatedAt, Title = d.Name, Status = d.Status.ToString(), UserId = d.OwnerId,
            Summary = $"{d.Stage} · {Money.FromMinor(d.AmountMinor, d.Currency).ToString(System.Globalization.CultureInfo.InvariantCulture)} {d.Currency}" +
                      (d.CloseReason is { } r ? $" · {r}" : ""),
            Details = new Dictionary<string, object?> { ["stage"] = d.Stage, ["amount"] = Money.FromMinor(d.AmountMinor, d.Currency), ["currency"] = d.Currency },
        }).ToList();
    }
}

/// <summary>When two customer records merge, the source's deals, and the leads qualified into it, belong to the target.</summary>
public sealed class DealMergeParticipant : ICustomerMergeParticipant
{
    public async Task MoveAsync(KoloDb db, Guid sourceId, Guid targetId, CancellationToken ct)
    {
        await db.Deals.Where(d => d.CustomerId == sourceId).ExecuteUpdateAsync(s => s.SetProperty(d => d.CustomerId, targetId), ct);
        await db.Leads.Where(l => l.CustomerId == sourceId).ExecuteUpdateAsync(s => s.SetProperty(l => l.CustomerId, targetId), ct);
    }
}
