using System.ComponentModel.DataAnnotations;
using Kolo.Core.Data;
using Kolo.Core.Platform;
using Microsoft.EntityFrameworkCore;

namespace Kolo.Core.Sales;

public sealed class SalesSettingsInput
{
    [Required, RegularExpression("^[A-Z]{3}$", ErrorMessage = "currency must be a three-letter ISO code.")] public string? Currency { get; set; }
    [Range(1, 365)] public int AtRiskDays { get; set; } = 14;
}

public sealed record SalesSettingsView(string Currency, int AtRiskDays, Guid Version);

public sealed class TargetInput
{
    /// <summary>A user's target; or a team's (<see cref="Team"/>) — one of the two.</summary>
    public Guid? UserId { get; set; }
    [StringLength(100)] public string? Team { get; set; }
    public PeriodKind Period { get; set; } = PeriodKind.Month;
    /// <summary>Any day of the month or quarter.</summary>
    [Required] public DateOnly? PeriodStart { get; set; }
    [Range(0, 1_000_000_000_000)] public decimal Amount { get; set; }
}

public sealed record TargetView(Guid Id, Guid? UserId, string? UserName, string? Team, PeriodKind Period, DateOnly PeriodStart, decimal Amount, string Currency,
    decimal Won, double? Attainment, Guid Version);

public sealed class CommissionPlanInput
{
    [Required, StringLength(100, MinimumLength = 1)] public string? Name { get; set; }
    public Guid? UserId { get; set; }
    [StringLength(100)] public string? Team { get; set; }
    [Range(0, 10_000)] public int BaseRateBasisPoints { get; set; }
    public List<CommissionTier> Tiers { get; set; } = [];
}

public sealed record CommissionPlanView(Guid Id, string Name, Guid? UserId, string? Team, int BaseRateBasisPoints, IReadOnlyList<CommissionTier> Tiers, Guid Version);

public sealed record CommissionLine(Guid UserId, string UserName, string? Team, DateOnly PeriodStart, decimal Won, decimal? Target, double? Attainment,
    string? Plan, decimal Pay, string Currency);

public sealed record ForecastView(PeriodKind Period, string GroupBy, string Currency, DateOnly From, DateOnly To, IReadOnlyList<ForecastRow> Rows);

public sealed record ForecastRow(DateOnly PeriodStart, string Group, string GroupName, int OpenDeals, decimal Pipeline, decimal Weighted, decimal BestCase,
    decimal Commit, decimal HistoryBased, decimal Won, decimal? Target);

public sealed record FunnelStage(Guid StageId, string Name, StageKind Kind, int Deals, decimal Amount, decimal Weighted);

public sealed record DashboardView(string Currency, PipelineView? Pipeline, IReadOnlyList<FunnelStage> Funnel, double? WinRate, int Won, int Lost,
    decimal AverageDealSize, double? AverageCycleDays, int AtRisk, IReadOnlyList<DealView> AtRiskDeals, IReadOnlyList<ForecastRow> ForecastVsTarget);

/// <summary>Targets, commission plans and pay, the forecast and the sales dashboard, all in the sales currency.</summary>
public sealed class SalesPlanningService(IDbContextFactory<KoloDb> dbFactory, TimeProvider clock)
{
    private DateTime Now() => clock.GetUtcNow().UtcDateTime;

    private static void EnsureCanPlan(Actor actor)
    {
        if (!actor.IsAdminOrManager) throw new ForbiddenException("Only managers and admins set targets and commission plans.");
    }

    public async Task<SalesSettingsView> GetSettingsAsync(CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var s = await DealService.SettingsAsync(db, ct);
        return new SalesSettingsView(s.Currency, s.AtRiskDays, s.Version);
    }

    public async Task<SalesSettingsView> UpdateSettingsAsync(Actor actor, SalesSettingsInput input, Guid? expectedVersion, CancellationToken ct = default)
    {
        if (actor.Role != UserRole.Admin) throw new ForbiddenException("Only admins change the sales settings.");
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var s = await db.SalesSettings.FirstOrDefaultAsync(x => x.Id == SalesSettings.SingletonId, ct);
        if (s is null) db.SalesSettings.Add(s = new SalesSettings());
        else if (expectedVersion is { } v && v != s.Version) throw new PreconditionFailedException();
        var changes = Audit.Diff(new Dictionary<string, string?> { ["currency"] = s.Currency, ["atRiskDays"] = Audit.Text(s.AtRiskDays) },
            new Dictionary<string, string?> { ["currency"] = input.Currency, ["atRiskDays"] = Audit.Text(input.AtRiskDays) });
        s.Currency = input.Currency!;
        s.AtRiskDays = input.AtRiskDays;
        s.Version = Guid.NewGuid();
        if (changes.Count > 0) db.AuditEntries.Add(Audit.Entry(actor, Now(), "sales-settings", Guid.Empty, AuditActions.Updated, changes));
        await db.SaveChangesAsync(ct);
        return new SalesSettingsView(s.Currency, s.AtRiskDays, s.Version);
    }

    // ---- targets

    public async Task<IReadOnlyList<TargetView>> TargetsAsync(Actor actor, DateOnly? from, DateOnly? to, CancellationToken ct = default)
    {
        DealService.EnsureCanSell(actor);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var q = db.SalesTargets.AsNoTracking();
        if (from is { } f) q = q.Where(t => t.PeriodStart >= f);
        if (to is { } t2) q = q.Where(t => t.PeriodStart < t2);
        if (actor.Role == UserRole.Sales) q = q.Where(t => t.UserId == actor.UserId || (t.UserId == null && t.Team == actor.Team));
        var targets = await q.OrderBy(t => t.PeriodStart).ThenBy(t => t.Team).Take(1000).ToListAsync(ct);
        return await TargetViewsAsync(db, targets, ct);
    }

    public async Task<TargetView> SaveTargetAsync(Actor actor, Guid? id, Guid? expectedVersion, TargetInput input, CancellationToken ct = default)
    {
        EnsureCanPlan(actor);
        var errors = new ValidationErrors();
        if ((input.UserId is null) == string.IsNullOrWhiteSpace(input.Team)) errors.Add("userId", "A target is for a user or for a team.");
        if (input.PeriodStart is { } periodStart && !InPlanningYears(periodStart)) errors.Add("periodStart", "Give a period between the years 2000 and 2100.");
        errors.ThrowIfAny();
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        if (input.UserId is { } uid && !await db.Users.AnyAsync(u => u.Id == uid, ct)) throw ValidationFailedException.For("userId", "No such user.");
        var settings = await DealService.SettingsAsync(db, ct);
        SalesTarget target;
        var now = Now();
        if (id is { } existing)
        {
            target = await db.SalesTargets.FirstOrDefaultAsync(t => t.Id == existing, ct) ?? throw new NotFoundException("Target", existing);
            if (expectedVersion is { } v && v != target.Version) throw new PreconditionFailedException();
        }
        else db.SalesTargets.Add(target = new SalesTarget { CreatedAt = now });
        var before = TargetSnapshot(target);
        target.UserId = input.UserId;
        target.Team = input.UserId is null ? input.Team!.Trim() : null;
        target.Period = input.Period;
        target.PeriodStart = Forecasting.PeriodStart(input.PeriodStart!.Value, input.Period);
        target.AmountMinor = Money.ToMinor(input.Amount, settings.Currency);
        target.UpdatedAt = now;
        target.Version = Guid.NewGuid();
        if (await db.SalesTargets.AnyAsync(t => t.Id != target.Id && t.UserId == target.UserId && t.Team == target.Team && t.Period == target.Period && t.PeriodStart == target.PeriodStart, ct))
            throw ValidationFailedException.For("periodStart", "There is a target for this user or team and period already.");
        db.AuditEntries.Add(Audit.Entry(actor, now, "sales-target", target.Id, id is null ? AuditActions.Created : AuditActions.Updated, Audit.Diff(before, TargetSnapshot(target))));
        await db.SaveChangesAsync(ct);
        return (await TargetViewsAsync(db, [target], ct))[0];
    }

    private static Dictionary<string, string?> TargetSnapshot(SalesTarget t) => new()
    {
        ["user"] = Audit.Text(t.UserId), ["team"] = t.Team, ["period"] = t.Period.ToString(),
        ["periodStart"] = t.PeriodStart.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture), ["amount"] = Audit.Text(t.AmountMinor),
    };

    private async Task<List<TargetView>> TargetViewsAsync(KoloDb db, List<SalesTarget> targets, CancellationToken ct)
    {
        var settings = await DealService.SettingsAsync(db, ct);
        var names = await DisplayNames.OfUsersAsync(db, targets.Where(t => t.UserId != null).Select(t => t.UserId!.Value).Distinct().ToList(), ct);
        var result = new List<TargetView>();
        foreach (var t in targets)
        {
            var won = await WonAsync(db, settings.Currency, t.UserId, t.Team, t.PeriodStart, Forecasting.NextPeriod(t.PeriodStart, t.Period), ct);
            result.Add(new TargetView(t.Id, t.UserId, t.UserId is { } u ? names.GetValueOrDefault(u) : null, t.Team, t.Period, t.PeriodStart,
                Money.FromMinor(t.AmountMinor, settings.Currency), settings.Currency, Money.FromMinor(won, settings.Currency),
                t.AmountMinor > 0 ? (double)won / t.AmountMinor : null, t.Version));
        }
        return result;
    }

    private static async Task<long> WonAsync(KoloDb db, string currency, Guid? userId, string? team, DateOnly from, DateOnly to, CancellationToken ct)
    {
        var (start, end) = (from.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc), to.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc));
        var q = db.Deals.Where(d => d.ArchivedAt == null && d.Status == DealStatus.Won && d.Currency == currency && d.ClosedAt >= start && d.ClosedAt < end);
        if (userId is { } u) q = q.Where(d => d.OwnerId == u);
        else if (team is not null)
        {
            var members = db.Users.Where(x => x.Team == team).Select(x => (Guid?)x.Id);
            q = q.Where(d => members.Contains(d.OwnerId));
        }
        return await q.SumAsync(d => (long?)d.AmountMinor, ct) ?? 0;
    }

    // ---- commission plans and pay

    public async Task<IReadOnlyList<CommissionPlanView>> PlansAsync(Actor actor, CancellationToken ct = default)
    {
        DealService.EnsureCanSell(actor);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return (await db.CommissionPlans.AsNoTracking().OrderBy(p => p.Name).ToListAsync(ct))
            .Select(p => new CommissionPlanView(p.Id, p.Name, p.UserId, p.Team, p.BaseRateBasisPoints, p.Tiers, p.Version)).ToList();
    }

    public async Task<CommissionPlanView> SavePlanAsync(Actor actor, Guid? id, Guid? expectedVersion, CommissionPlanInput input, CancellationToken ct = default)
    {
        EnsureCanPlan(actor);
        var errors = new ValidationErrors();
        for (var i = 0; i < input.Tiers.Count; i++)
        {
            if (input.Tiers[i].FromAttainmentPercent is < 0 or > 1000) errors.Add($"tiers[{i}].fromAttainmentPercent", "Between 0 and 1000 (percent of the target).");
            if (input.Tiers[i].RateBasisPoints is < 0 or > 10_000) errors.Add($"tiers[{i}].rateBasisPoints", "Between 0 and 10000 basis points.");
        }
        if (input.Tiers.Select(t => t.FromAttainmentPercent).Distinct().Count() != input.Tiers.Count) errors.Add("tiers", "Two tiers start at the same attainment.");
        errors.ThrowIfAny();
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var now = Now();
        CommissionPlan plan;
        if (id is { } existing)
        {
            plan = await db.CommissionPlans.FirstOrDefaultAsync(p => p.Id == existing, ct) ?? throw new NotFoundException("Commission plan", existing);
            if (expectedVersion is { } v && v != plan.Version) throw new PreconditionFailedException();
        }
        else db.CommissionPlans.Add(plan = new CommissionPlan { CreatedAt = now });
        var before = PlanSnapshot(plan);
        plan.Name = input.Name!.Trim();
        plan.UserId = input.UserId;
        plan.Team = input.UserId is null && !string.IsNullOrWhiteSpace(input.Team) ? input.Team.Trim() : null;
        plan.BaseRateBasisPoints = input.BaseRateBasisPoints;
        plan.Tiers = input.Tiers.OrderBy(t => t.FromAttainmentPercent).Select(t => new CommissionTier { FromAttainmentPercent = t.FromAttainmentPercent, RateBasisPoints = t.RateBasisPoints }).ToList();
        plan.UpdatedAt = now;
        plan.Version = Guid.NewGuid();
        db.AuditEntries.Add(Audit.Entry(actor, now, "commission-plan", plan.Id, id is null ? AuditActions.Created : AuditActions.Updated, Audit.Diff(before, PlanSnapshot(plan))));
        await db.SaveChangesAsync(ct);
        return new CommissionPlanView(plan.Id, plan.Name, plan.UserId, plan.Team, plan.BaseRateBasisPoints, plan.Tiers, plan.Version);
    }

    private static Dictionary<string, string?> PlanSnapshot(CommissionPlan p) => new()
    {
        ["name"] = p.Name, ["user"] = Audit.Text(p.UserId), ["team"] = p.Team, ["baseRate"] = Audit.Text(p.BaseRateBasisPoints),
        ["tiers"] = string.Join(", ", p.Tiers.Select(t => $"{t.FromAttainmentPercent}%: {t.RateBasisPoints}")),
    };

    /// <summary>Each rep's won amount, target, attainment and variable pay per period (a Sales user sees only their own).</summary>
    /// <summary>Targets, forecasts and commissions are planned in these years; beyond them the period arithmetic would run off the calendar.</summary>
    private static bool InPlanningYears(DateOnly day) => day.Year is >= 2000 and <= 2100;

    public async Task<IReadOnlyList<CommissionLine>> CommissionsAsync(Actor actor, PeriodKind period, DateOnly from, DateOnly to, CancellationToken ct = default)
    {
        DealService.EnsureCanSell(actor);
        var errors = new ValidationErrors();
        if (!InPlanningYears(from)) errors.Add("from", "Give a day between the years 2000 and 2100.");
        if (!InPlanningYears(to)) errors.Add("to", "Give a day between the years 2000 and 2100.");
        else if (to.DayNumber - from.DayNumber > 366 * 5) errors.Add("to", "Commissions span at most five years.");
        errors.ThrowIfAny();
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var settings = await DealService.SettingsAsync(db, ct);
        var reps = await db.Users.AsNoTracking().Where(u => u.Role == UserRole.Sales).Select(u => new { u.Id, u.DisplayName, u.Team }).ToListAsync(ct);
        if (actor.Role == UserRole.Sales) reps = reps.Where(r => r.Id == actor.UserId).ToList();
        var plans = await db.CommissionPlans.AsNoTracking().ToListAsync(ct);
        var first = Forecasting.PeriodStart(from, period);
        var (start, end) = (first.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc), to.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc));
        var won = await db.Deals.Where(d => d.ArchivedAt == null && d.Status == DealStatus.Won && d.Currency == settings.Currency && d.ClosedAt >= start && d.ClosedAt < end && d.OwnerId != null)
            .Select(d => new { d.OwnerId, d.ClosedAt, d.AmountMinor }).ToListAsync(ct);
        var targets = await db.SalesTargets.AsNoTracking().Where(t => t.UserId != null && t.Period == period && t.PeriodStart >= first && t.PeriodStart < to).ToListAsync(ct);
        var lines = new List<CommissionLine>();
        for (var p = first; p < to; p = Forecasting.NextPeriod(p, period))
        {
            var next = Forecasting.NextPeriod(p, period);
            foreach (var rep in reps)
            {
                var amount = won.Where(w => w.OwnerId == rep.Id && DateOnly.FromDateTime(w.ClosedAt!.Value) >= p && DateOnly.FromDateTime(w.ClosedAt!.Value) < next).Sum(w => w.AmountMinor);
                var target = targets.FirstOrDefault(t => t.UserId == rep.Id && t.PeriodStart == p)?.AmountMinor;
                var plan = plans.FirstOrDefault(x => x.UserId == rep.Id) ?? plans.FirstOrDefault(x => x.UserId == null && x.Team != null && x.Team == rep.Team)
                           ?? plans.FirstOrDefault(x => x.UserId == null && x.Team == null);
                var pay = plan is null ? 0 : Commission.Pay(amount, target, plan.BaseRateBasisPoints, plan.Tiers);
                lines.Add(new CommissionLine(rep.Id, rep.DisplayName, rep.Team, p, Money.FromMinor(amount, settings.Currency),
                    target is { } t ? Money.FromMinor(t, settings.Currency) : null, target is > 0 ? (double)amount / target.Value : null, plan?.Name,
                    Money.FromMinor(pay, settings.Currency), settings.Currency));
            }
        }
        return lines;
    }

    // ---- forecast and dashboard

    public async Task<ForecastView> ForecastAsync(Actor actor, PeriodKind period, string groupBy, DateOnly? from, DateOnly? to, CancellationToken ct = default)
    {
        DealService.EnsureCanSell(actor);
        if (groupBy is not ("owner" or "team" or "pipeline" or "none")) throw ValidationFailedException.For("groupBy", "groupBy is owner, team, pipeline or none.");
        var today = DateOnly.FromDateTime(Now());
        var start = Forecasting.PeriodStart(from ?? today.AddMonths(period == PeriodKind.Month ? -3 : -6), period);
        var end = to ?? Forecasting.PeriodStart(today, period).AddMonths(period == PeriodKind.Month ? 6 : 12);
        if (!InPlanningYears(start)) throw ValidationFailedException.For("from", "Give a day between the years 2000 and 2100.");
        if (!InPlanningYears(end)) throw ValidationFailedException.For("to", "Give a day between the years 2000 and 2100.");
        if (end <= start) throw ValidationFailedException.For("to", "to must be after from.");
        if (end.DayNumber - start.DayNumber > 366 * 5) throw ValidationFailedException.For("to", "A forecast spans at most five years.");
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var settings = await DealService.SettingsAsync(db, ct);
        var visible = DealService.Visible(db, actor).Where(d => d.Currency == settings.Currency);
        var users = await db.Users.AsNoTracking().Select(u => new { u.Id, u.DisplayName, u.Team }).ToDictionaryAsync(u => u.Id, ct);
        var pipelines = await db.Pipelines.AsNoTracking().ToDictionaryAsync(p => p.Id, p => p.Name, ct);
        string GroupOf(Guid? owner, Guid pipeline) => groupBy switch
        {
            "owner" => owner?.ToString() ?? "",
            "team" => owner is { } o && users.TryGetValue(o, out var u) ? u.Team ?? "" : "",
            "pipeline" => pipeline.ToString(),
            _ => "",
        };
        string NameOf(string group) => groupBy switch
        {
            "owner" => Guid.TryParse(group, out var id) && users.TryGetValue(id, out var u) ? u.DisplayName : "(no owner)",
            "team" => group.Length == 0 ? "(no team)" : group,
            "pipeline" => Guid.TryParse(group, out var id) && pipelines.TryGetValue(id, out var n) ? n : "",
            _ => "All",
        };
        var open = (await visible.Where(d => d.Status == DealStatus.Open)
                .Select(d => new { d.OwnerId, d.PipelineId, d.AmountMinor, d.Probability, d.ForecastCategory, d.ExpectedCloseDate, d.StageId, d.StageEnteredAt }).ToListAsync(ct))
            .Select(d => new OpenDeal(GroupOf(d.OwnerId, d.PipelineId), d.AmountMinor, d.Probability, d.ForecastCategory, d.ExpectedCloseDate, d.StageId, d.StageEnteredAt)).ToList();
        // Conversion rates and cycle times are learnt from every closed deal (not only the caller's): the history of the whole company.
        var history = await StageHistoryAsync(db, settings.Currency, ct);
        var (wonFrom, wonTo) = (start.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc), end.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc));
        var won = (await visible.Where(d => d.Status == DealStatus.Won && d.ClosedAt >= wonFrom && d.ClosedAt < wonTo)
                .Select(d => new { d.OwnerId, d.PipelineId, d.AmountMinor, d.ClosedAt }).ToListAsync(ct))
            .Select(d => new WonDeal(GroupOf(d.OwnerId, d.PipelineId), d.AmountMinor, d.ClosedAt!.Value)).ToList();
        var cells = Forecasting.Forecast(open, history, won, period, start, end, today);
        var targets = await db.SalesTargets.AsNoTracking().Where(t => t.Period == period && t.PeriodStart >= start && t.PeriodStart < end).ToListAsync(ct);
        // The total's target is that of the reps whose deals the caller sees (as DealService.Visible decides).
        bool SeesTargetOf(Guid user) =>
            actor.Role != UserRole.Sales || actor.CustomerAccess == CustomerAccess.All || user == actor.UserId
            || actor.CustomerAccess == CustomerAccess.Team && actor.Team is { } team && users.TryGetValue(user, out var u) && u.Team == team;
        long? TargetOf(DateOnly p, string group) => groupBy switch
        {
            "owner" => Guid.TryParse(group, out var id) ? targets.Where(t => t.UserId == id && t.PeriodStart == p).Sum(t => (long?)t.AmountMinor) : null,
            "team" => targets.Where(t => t.UserId == null && t.Team == group && t.PeriodStart == p).Sum(t => (long?)t.AmountMinor),
            "none" => targets.Where(t => t.UserId is { } u && SeesTargetOf(u) && t.PeriodStart == p).Sum(t => (long?)t.AmountMinor),
            _ => null,
        };
        decimal M(long minor) => Money.FromMinor(minor, settings.Currency);
        var rows = cells.Select(c => new ForecastRow(c.PeriodStart, c.Group, NameOf(c.Group), c.OpenDeals, M(c.PipelineMinor), M(c.WeightedMinor), M(c.BestCaseMinor),
            M(c.CommitMinor), M(c.HistoryBasedMinor), M(c.WonMinor), TargetOf(c.PeriodStart, c.Group) is { } t and > 0 ? M(t) : null)).ToList();
        return new ForecastView(period, groupBy, settings.Currency, start, end, rows);
    }

    private readonly Dictionary<string, (int Closed, DateTime? LastClosedAt, Dictionary<Guid, StageHistory> History)> _learnt = [];

    /// <summary>
    /// The stage history of closed deals, learnt again only when deals closed (or reopened) since the last learning:
    /// learning reads every closed deal's stage stays, while a count and a maximum over an index tell whether anything changed.
    /// </summary>
    private async Task<Dictionary<Guid, StageHistory>> StageHistoryAsync(KoloDb db, string currency, CancellationToken ct)
    {
        var closed = db.Deals.Where(d => d.ArchivedAt == null && d.Status != DealStatus.Open && d.Currency == currency);
        var count = await closed.CountAsync(ct);
        var last = await closed.MaxAsync(d => d.ClosedAt, ct);
        lock (_learnt)
        {
            if (_learnt.TryGetValue(currency, out var cached) && cached.Closed == count && cached.LastClosedAt == last) return cached.History;
        }
        var history = await LearnStageHistoryAsync(db, currency, ct);
        lock (_learnt) _learnt[currency] = (count, last, history);
        return history;
    }

    private static async Task<Dictionary<Guid, StageHistory>> LearnStageHistoryAsync(KoloDb db, string currency, CancellationToken ct)
    {
        var closed = db.Deals.Where(d => d.ArchivedAt == null && d.Status != DealStatus.Open && d.Currency == currency);
        // Set-based: per stage, how many closed deals entered it, how many of those were won, and their mean days from entering it to winning.
        var rows = await db.DealStageChanges.Join(closed, c => c.DealId, d => d.Id, (c, d) => new { c.DealId, c.StageId, c.EnteredAt, d.Status, d.ClosedAt })
            .GroupBy(x => new { x.DealId, x.StageId })
            .Select(g => new { g.Key.StageId, Won = g.Max(x => x.Status == DealStatus.Won ? 1 : 0), EnteredAt = g.Min(x => x.EnteredAt), ClosedAt = g.Max(x => x.ClosedAt) })
            .ToListAsync(ct);
        return rows.GroupBy(r => r.StageId).ToDictionary(g => g.Key, g => new StageHistory(g.Key, g.Count(), g.Sum(r => r.Won),
            g.Any(r => r.Won == 1) ? g.Where(r => r.Won == 1).Average(r => (r.ClosedAt!.Value - r.EnteredAt).TotalDays) : null));
    }

    public async Task<DashboardView> DashboardAsync(Actor actor, Guid? pipelineId, CancellationToken ct = default)
    {
        DealService.EnsureCanSell(actor);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var settings = await DealService.SettingsAsync(db, ct);
        var pipeline = await db.Pipelines.AsNoTracking().Include(p => p.Stages)
            .Where(p => pipelineId == null ? p.ArchivedAt == null : p.Id == pipelineId).OrderByDescending(p => p.IsDefault).ThenBy(p => p.SortOrder).FirstOrDefaultAsync(ct);
        var deals = DealService.Visible(db, actor).Where(d => d.Currency == settings.Currency);
        var funnel = new List<FunnelStage>();
        if (pipeline is not null)
        {
            var byStage = await deals.Where(d => d.PipelineId == pipeline.Id && d.Status == DealStatus.Open).GroupBy(d => d.StageId)
                .Select(g => new { g.Key, Count = g.Count(), Amount = g.Sum(d => d.AmountMinor), Weighted = g.Sum(d => d.AmountMinor * d.Probability) }).ToDictionaryAsync(x => x.Key, ct);
            funnel = pipeline.Stages.Where(s => s.ArchivedAt == null && s.Kind == StageKind.Open).OrderBy(s => s.Position).Select(s =>
            {
                var x = byStage.GetValueOrDefault(s.Id);
                return new FunnelStage(s.Id, s.Name, s.Kind, x?.Count ?? 0, Money.FromMinor(x?.Amount ?? 0, settings.Currency),
                    Money.FromMinor((long)Math.Round((x?.Weighted ?? 0) / 100m, MidpointRounding.AwayFromZero), settings.Currency));
            }).ToList();
        }
        var since = Now().AddMonths(-12);
        var closed = await deals.Where(d => d.Status != DealStatus.Open && d.ClosedAt >= since)
            .GroupBy(d => d.Status).Select(g => new { g.Key, Count = g.Count(), Amount = g.Sum(d => d.AmountMinor) }).ToListAsync(ct);
        var won = closed.FirstOrDefault(c => c.Key == DealStatus.Won);
        var lost = closed.FirstOrDefault(c => c.Key == DealStatus.Lost);
        var cycles = await deals.Where(d => d.Status == DealStatus.Won && d.ClosedAt >= since).Select(d => new { d.CreatedAt, d.ClosedAt }).Take(100_000).ToListAsync(ct);
        var idleSince = Now().AddDays(-settings.AtRiskDays);
        var atRisk = deals.Where(d => d.Status == DealStatus.Open && d.LastActivityAt < idleSince);
        var atRiskRows = await atRisk.AsNoTracking().OrderBy(d => d.LastActivityAt).ThenBy(d => d.Id).Include(d => d.Lines).Take(10).ToListAsync(ct);
        var forecast = await ForecastAsync(actor, PeriodKind.Month, "none", Forecasting.PeriodStart(DateOnly.FromDateTime(Now()), PeriodKind.Month).AddMonths(-5),
            Forecasting.PeriodStart(DateOnly.FromDateTime(Now()), PeriodKind.Month).AddMonths(6), ct);
        var wonCount = won?.Count ?? 0;
        var lostCount = lost?.Count ?? 0;
        return new DashboardView(settings.Currency, pipeline is null ? null : PipelineView.From(pipeline), funnel,
            wonCount + lostCount > 0 ? (double)wonCount / (wonCount + lostCount) : null, wonCount, lostCount,
            wonCount > 0 ? Money.FromMinor((won!.Amount + wonCount / 2) / wonCount, settings.Currency) : 0,
            cycles.Count > 0 ? cycles.Average(c => (c.ClosedAt!.Value - c.CreatedAt).TotalDays) : null,
            await atRisk.CountAsync(ct), await DealService.ViewsAsync(db, atRiskRows, settings, Now(), ct), forecast.Rows);
    }
}
