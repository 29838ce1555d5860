using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using Kolo.Core.Customers;
using Kolo.Core.Data;
using Kolo.Core.Orders;
using Kolo.Core.Platform;
using Kolo.Core.Tasks;
using Microsoft.EntityFrameworkCore;

namespace Kolo.Core.Analytics;

public sealed record AnalyticsJobView(Guid Id, AnalyticsJobKind Kind, AnalyticsJobStatus Status, int Progress, string? Stage,
    DateTime? AsOf, DateTime? CalibrationEnd, DateTime? HoldoutEnd, TimeUnit TimeUnit, JsonElement? Result, string? Error,
    DateTime CreatedAt, DateTime? StartedAt, DateTime? FinishedAt)
{
    public static AnalyticsJobView From(AnalyticsJob j) => new(j.Id, j.Kind, j.Status, j.Progress, j.Stage, j.AsOf, j.CalibrationEnd, j.HoldoutEnd,
        j.TimeUnit, j.Result is null ? null : JsonDocument.Parse(j.Result).RootElement.Clone(), j.Error, j.CreatedAt, j.StartedAt, j.FinishedAt);
}

public sealed class ClvFitInput
{
    [Required] public DateTime? CalibrationEnd { get; set; }
    public TimeUnit TimeUnit { get; set; } = TimeUnit.Week;
    public DateTime? HoldoutEnd { get; set; }
}

public sealed class RecomputeInput
{
    /// <summary>The day the scores are as of; today when empty (a past day analyses an old history as it stood then).</summary>
    public DateTime? AsOf { get; set; }
}

public sealed class AnalyticsSettingsInput
{
    [Required, RegularExpression("^[A-Z]{3}$", ErrorMessage = "currency must be a three-letter ISO code.")] public string? Currency { get; set; }
    [Range(1, 120)] public int HorizonMonths { get; set; } = 12;
    [Range(0, 10_000)] public int AnnualDiscountRateBasisPoints { get; set; } = 1000;
    [Range(1, 3650)] public int PredictionDays { get; set; } = 90;
    [Range(0.0, 1.0)] public double WinBackThreshold { get; set; } = 0.3;
    public Dictionary<string, long> InteractionCosts { get; set; } = [];
    [Range(0.0001, 1.0)] public double MinSupport { get; set; } = 0.01;
    [Range(0.0, 1.0)] public double MinConfidence { get; set; } = 0.2;
    [Range(0, 24 * 30)] public int RecomputeHours { get; set; } = 24;
}

public sealed record AnalyticsSettingsView(string Currency, int HorizonMonths, int AnnualDiscountRateBasisPoints, int PredictionDays, double WinBackThreshold,
    IReadOnlyDictionary<string, long> InteractionCosts, double MinSupport, double MinConfidence, int RecomputeHours, Guid Version)
{
    public static AnalyticsSettingsView From(AnalyticsSettings s) => new(s.Currency, s.HorizonMonths, s.AnnualDiscountRateBasisPoints, s.PredictionDays,
        s.WinBackThreshold, s.InteractionCosts.ToDictionary(x => x.Key, x => long.Parse(x.Value, System.Globalization.CultureInfo.InvariantCulture)),
        s.MinSupport, s.MinConfidence, s.RecomputeHours, s.Version);
}

public sealed record OfferView(Guid ProductId, string Sku, string Name, string Kind, IReadOnlyList<string> Because, double Confidence, double Lift, double Support, string Reason);

public sealed record ScoreView(Guid CustomerId, DateTime AsOf, int Orders, int PurchaseDays, DateTime? FirstPurchaseAt, DateTime? LastPurchaseAt,
    int? RecencyDays, int? RecencyScore, int? FrequencyScore, int? MonetaryScore, string? Segment, double? ProbabilityAlive, double? ExpectedPurchases,
    int PredictionDays, MoneyAmount? ExpectedOrderValue, MoneyAmount Clv, MoneyAmount Revenue, MoneyAmount CostOfGoods, MoneyAmount Discounts,
    MoneyAmount CostToServe, MoneyAmount AcquisitionCost, MoneyAmount Margin, MoneyAmount ValueAtStake, IReadOnlyList<OfferView> Offers, DateTime ComputedAt);

public sealed record RuleView(IReadOnlyList<RuleProduct> Antecedent, RuleProduct Consequent, int Count, double Support, double Confidence, double Lift);

public sealed record RuleProduct(Guid Id, string Sku, string Name);

public sealed record RulesView(int Baskets, double MinSupport, double MinConfidence, IReadOnlyList<RuleView> Rules);

public sealed record RfmCell(int RecencyScore, int FrequencyScore, string Segment, int Customers, long RevenueMinor);

public sealed record SegmentSummary(string Segment, int Customers, long RevenueMinor, long ClvMinor, long MarginMinor);

public sealed record RfmGridView(DateTime? AsOf, string Currency, IReadOnlyList<RfmCell> Cells, IReadOnlyList<SegmentSummary> Segments);

public sealed record HistogramBin(long FromMinor, long ToMinor, int Customers);

public sealed record PAliveByFrequency(string Frequency, int Customers, double MeanProbabilityAlive);

public sealed record DistributionView(DateTime? AsOf, string Currency, IReadOnlyList<HistogramBin> Clv, IReadOnlyList<PAliveByFrequency> ProbabilityAlive);

public sealed record AssortmentView(string By, string Currency, IReadOnlyList<string> Rows, IReadOnlyList<string> Categories, IReadOnlyList<IReadOnlyList<double>> Shares, IReadOnlyList<long> RowRevenueMinor);

public sealed record RankedCustomer(Guid CustomerId, string DisplayName, Guid? OwnerId, string? Segment, double? ProbabilityAlive, MoneyAmount Clv, MoneyAmount Margin,
    MoneyAmount Revenue, MoneyAmount ValueAtStake, DateTime? LastPurchaseAt);

/// <summary>What the analytics screen says about the stored scores: as of when, computed when, and which fit they would use.</summary>
public sealed record AnalyticsStatus(DateTime? AsOf, DateTime? ComputedAt, string Currency, Guid? CurrentFitJobId);

public sealed record WinBackResult(int Candidates, int TasksCreated, int AlreadyHadTask, int WithoutOwner);

/// <summary>Settings, jobs and the read side of customer analytics (scores, rules, charts, win-back).</summary>
public sealed class AnalyticsService(IDbContextFactory<KoloDb> dbFactory, TimeProvider clock)
{
    public const string WinBackTaskType = "win-back";

    public static void EnsureCanRead(Actor actor)
    {
        if (actor.Role == UserRole.Support) throw new ForbiddenException("Support users cannot see customer analytics.");
    }

    public static void EnsureCanRun(Actor actor)
    {
        if (actor.Role is not (UserRole.Admin or UserRole.Manager or UserRole.Marketing))
            throw new ForbiddenException("Only admins, managers and marketing run analytics.");
    }

    private DateTime Now() => clock.GetUtcNow().UtcDateTime;

    private static MoneyAmount Amount(long minor, string currency) => Money.FromMinor((long?)minor, currency)!;

    public static async Task<AnalyticsSettings> SettingsAsync(KoloDb db, CancellationToken ct)
    {
        var settings = await db.AnalyticsSettings.FirstOrDefaultAsync(s => s.Id == Kolo.Core.Analytics.AnalyticsSettings.SingletonId, ct);
        if (settings is not null) return settings;
        // Until an admin chooses, analyse the currency most orders are in.
        var currency = await db.Orders.GroupBy(o => o.Currency).OrderByDescending(g => g.Count()).Select(g => g.Key).FirstOrDefaultAsync(ct);
        return new AnalyticsSettings { Currency = currency ?? "UAH" };
    }

    public async Task<AnalyticsSettingsView> GetSettingsAsync(Actor actor, CancellationToken ct = default)
    {
        EnsureCanRead(actor);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return AnalyticsSettingsView.From(await SettingsAsync(db, ct));
    }

    public async Task<AnalyticsSettingsView> UpdateSettingsAsync(Actor actor, AnalyticsSettingsInput input, Guid? expectedVersion, CancellationToken ct = default)
    {
        if (actor.Role != UserRole.Admin) throw new ForbiddenException("Only admins change the analytics settings.");
        var errors = new ValidationErrors();
        input.InteractionCosts ??= [];
        var seen = new HashSet<Timeline.InteractionType>();
        foreach (var (type, cost) in input.InteractionCosts)
        {
            // Names only: "0" would parse as the first type.
            if (!type.All(char.IsAsciiLetter) || !Enum.TryParse<Timeline.InteractionType>(type, true, out var parsed))
                errors.Add($"interactionCosts.{type}", $"'{type}' is not an interaction type ({string.Join(", ", Enum.GetNames<Timeline.InteractionType>())}).");
            else if (!seen.Add(parsed)) errors.Add($"interactionCosts.{type}", $"'{parsed}' is given twice.");
            else if (cost < 0) errors.Add($"interactionCosts.{type}", "A cost cannot be negative.");
        }
        errors.ThrowIfAny();
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var settings = await db.AnalyticsSettings.FirstOrDefaultAsync(s => s.Id == Kolo.Core.Analytics.AnalyticsSettings.SingletonId, ct);
        var before = settings is null ? new Dictionary<string, string?>() : Snapshot(settings);
        if (settings is null) db.AnalyticsSettings.Add(settings = new AnalyticsSettings());
        else if (expectedVersion is { } v && v != settings.Version) throw new PreconditionFailedException();
        settings.Currency = input.Currency!;
        settings.HorizonMonths = input.HorizonMonths;
        settings.AnnualDiscountRateBasisPoints = input.AnnualDiscountRateBasisPoints;
        settings.PredictionDays = input.PredictionDays;
        settings.WinBackThreshold = input.WinBackThreshold;
        settings.InteractionCosts = input.InteractionCosts.ToDictionary(
            x => Enum.Parse<Timeline.InteractionType>(x.Key, true).ToString(), x => x.Value.ToString(System.Globalization.CultureInfo.InvariantCulture));
        settings.MinSupport = input.MinSupport;
        settings.MinConfidence = input.MinConfidence;
        settings.RecomputeHours = input.RecomputeHours;
        settings.Version = Guid.NewGuid();
        db.AuditEntries.Add(Audit.Entry(actor, Now(), "analytics-settings", Guid.Empty, AuditActions.Updated, Audit.Diff(before, Snapshot(settings))));
        await db.SaveChangesAsync(ct);
        return AnalyticsSettingsView.From(settings);
    }

    private static Dictionary<string, string?> Snapshot(AnalyticsSettings s) => new()
    {
        ["currency"] = s.Currency, ["horizonMonths"] = Audit.Text(s.HorizonMonths), ["annualDiscountRateBasisPoints"] = Audit.Text(s.AnnualDiscountRateBasisPoints),
        ["predictionDays"] = Audit.Text(s.PredictionDays), ["winBackThreshold"] = Audit.Text(s.WinBackThreshold),
        ["interactionCosts"] = string.Join(", ", s.InteractionCosts.OrderBy(x => x.Key).Select(x => $"{x.Key}={x.Value}")),
        ["minSupport"] = Audit.Text(s.MinSupport), ["minConfidence"] = Audit.Text(s.MinConfidence), ["recomputeHours"] = Audit.Text(s.RecomputeHours),
    };

    // ---- jobs

    public async Task<AnalyticsJobView> QueueFitAsync(Actor actor, ClvFitInput input, CancellationToken ct = default)
    {
        EnsureCanRun(actor);
        if (input.HoldoutEnd is { } h && input.CalibrationEnd is { } c && h.Date <= c.Date)
            throw ValidationFailedException.For("holdoutEnd", "The holdout must end after the calibration end.");
        return await QueueAsync(new AnalyticsJob
        {
            Kind = AnalyticsJobKind.ClvFit, CalibrationEnd = DateTime.SpecifyKind(input.CalibrationEnd!.Value.Date, DateTimeKind.Utc),
            HoldoutEnd = input.HoldoutEnd is { } end ? DateTime.SpecifyKind(end.Date, DateTimeKind.Utc) : null, TimeUnit = input.TimeUnit,
            CreatedById = actor.UserId == Guid.Empty ? null : actor.UserId,
        }, ct);
    }

    public async Task<AnalyticsJobView> QueueRecomputeAsync(Actor actor, RecomputeInput input, CancellationToken ct = default)
    {
        EnsureCanRun(actor);
        return await QueueAsync(new AnalyticsJob
        {
            Kind = AnalyticsJobKind.Scores, AsOf = input.AsOf is { } a ? DateTime.SpecifyKind(a.Date, DateTimeKind.Utc) : null,
            CreatedById = actor.UserId == Guid.Empty ? null : actor.UserId,
        }, ct);
    }

    private async Task<AnalyticsJobView> QueueAsync(AnalyticsJob job, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        job.Status = AnalyticsJobStatus.Queued;
        job.CreatedAt = Now();
        db.AnalyticsJobs.Add(job);
        await db.SaveChangesAsync(ct);
        return AnalyticsJobView.From(job);
    }

    public async Task<AnalyticsJobView> GetJobAsync(Actor actor, Guid id, CancellationToken ct = default)
    {
        EnsureCanRead(actor);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var job = await db.AnalyticsJobs.AsNoTracking().FirstOrDefaultAsync(j => j.Id == id, ct) ?? throw new NotFoundException("Analytics job", id);
        return AnalyticsJobView.From(job);
    }

    public async Task<IReadOnlyList<AnalyticsJobView>> RecentJobsAsync(Actor actor, AnalyticsJobKind? kind, int limit, CancellationToken ct = default)
    {
        EnsureCanRead(actor);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var q = db.AnalyticsJobs.AsNoTracking();
        if (kind is { } k) q = q.Where(j => j.Kind == k);
        return (await q.OrderByDescending(j => j.CreatedAt).Take(Math.Clamp(limit, 1, 100)).ToListAsync(ct)).Select(AnalyticsJobView.From).ToList();
    }

    /// <summary>
    /// The latest successful fit on orders in <paramref name="currency"/>, which the scores use. A fit on another
    /// currency's orders is skipped: its spend parameters are in other money and its customers are other buyers.
    /// </summary>
    public static async Task<(Guid JobId, ClvFitResult Fit)?> CurrentFitAsync(KoloDb db, string currency, CancellationToken ct)
    {
        var jobs = db.AnalyticsJobs.AsNoTracking().Where(j => j.Kind == AnalyticsJobKind.ClvFit && j.Status == AnalyticsJobStatus.Succeeded && j.Result != null)
            .OrderByDescending(j => j.FinishedAt).Select(j => new { j.Id, j.Result }).AsAsyncEnumerable();
        await foreach (var job in jobs.WithCancellation(ct))
        {
            var fit = JsonSerializer.Deserialize<ClvFitResult>(job.Result!, ClvFitResult.Json)!;
            if (fit.Currency == currency) return (job.Id, fit);
        }
        return null;
    }

    // ---- scores and offers

    public async Task<ScoreView> ScoresAsync(Actor actor, Guid customerId, CancellationToken ct = default)
    {
        EnsureCanRead(actor);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        if (!await db.Customers.VisibleTo(db, actor).AnyAsync(c => c.Id == customerId, ct)) throw new NotFoundException("Customer", customerId);
        var score = await db.CustomerScores.AsNoTracking().FirstOrDefaultAsync(s => s.CustomerId == customerId, ct)
                    ?? throw new NotFoundException("Scores of customer", customerId);
        var settings = await SettingsAsync(db, ct);
        return View(score, settings.PredictionDays) with { Offers = (await StillValidAsync(db, customerId, score.Offers, ct)).Select(OfferViewOf).ToList() };
    }

    public async Task<IReadOnlyList<OfferView>> RecommendationsAsync(Actor actor, Guid customerId, CancellationToken ct = default)
    {
        EnsureCanRead(actor);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        if (!await db.Customers.VisibleTo(db, actor).AnyAsync(c => c.Id == customerId, ct)) throw new NotFoundException("Customer", customerId);
        var offers = await db.CustomerScores.AsNoTracking().Where(s => s.CustomerId == customerId).Select(s => s.Offers).FirstOrDefaultAsync(ct);
        return (await StillValidAsync(db, customerId, offers ?? [], ct)).Select(OfferViewOf).ToList();
    }

    /// <summary>
    /// The stored offers less those no longer right: a product made inactive, or bought by the customer since the scores
    /// were computed (offers are kept until the next recompute, which may be a day away).
    /// </summary>
    private static async Task<List<Offer>> StillValidAsync(KoloDb db, Guid customerId, List<Offer> offers, CancellationToken ct)
    {
        if (offers.Count == 0) return offers;
        var ids = offers.Select(o => o.ProductId).ToList();
        var inactive = await db.Products.Where(p => ids.Contains(p.Id) && !p.Active).Select(p => p.Id).ToListAsync(ct);
        var bought = await db.OrderLines.Where(l => l.ProductId != null && ids.Contains(l.ProductId.Value))
            .Join(db.Orders.Where(o => o.CustomerId == customerId
                      && (o.Status == OrderStatus.Confirmed || o.Status == OrderStatus.Shipped || o.Status == OrderStatus.Delivered)),
                l => l.OrderId, o => o.Id, (l, o) => l.ProductId!.Value)
            .Distinct().ToListAsync(ct);
        return offers.Where(o => !inactive.Contains(o.ProductId) && !bought.Contains(o.ProductId)).ToList();
    }

    public static ScoreView View(CustomerScore s, int predictionDays)
    {
        MoneyAmount M(long minor) => Amount(minor, s.Currency);
        return new ScoreView(s.CustomerId, s.AsOf, s.Orders, s.PurchaseDays, s.FirstPurchaseAt, s.LastPurchaseAt, s.RecencyDays, s.RecencyScore,
            s.FrequencyScore, s.MonetaryScore, s.Segment, s.ProbabilityAlive, s.ExpectedPurchases, predictionDays,
            s.ExpectedOrderValueMinor is { } aov ? M(aov) : null, M(s.ClvMinor), M(s.RevenueMinor), M(s.CostOfGoodsMinor), M(s.DiscountsMinor),
            M(s.CostToServeMinor), M(s.AcquisitionCostMinor), M(s.MarginMinor), M(s.ValueAtStakeMinor), s.Offers.Select(OfferViewOf).ToList(), s.ComputedAt);
    }

    /// <summary>The reason in words, e.g. "bought X; 43% of buyers of X also bought Y, lift 2.9".</summary>
    public static OfferView OfferViewOf(Offer o)
    {
        var because = string.Join(" and ", o.Because);
        var reason = o.Kind == "up-sell"
            ? $"buys {because}; {o.Support:P0} of similar customers bought {o.Name}, a step up in the same category"
            : $"bought {because}; {o.Confidence:P0} of buyers of {because} also bought {o.Name}, lift {o.Lift:0.0}";
        return new OfferView(o.ProductId, o.Sku, o.Name, o.Kind, o.Because, o.Confidence, o.Lift, o.Support, reason.Replace("\u00a0", "", StringComparison.Ordinal));
    }

    /// <summary>When the stored scores were computed (null without scores) and the fit a recompute would use.</summary>
    public async Task<AnalyticsStatus> StatusAsync(Actor actor, CancellationToken ct = default)
    {
        EnsureCanRead(actor);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        // One recompute writes every row with the same AsOf and ComputedAt, so any row tells.
        var meta = await db.CustomerScores.AsNoTracking().OrderBy(s => s.CustomerId).Select(s => new { s.AsOf, s.ComputedAt, s.Currency }).FirstOrDefaultAsync(ct);
        var currency = (await SettingsAsync(db, ct)).Currency;
        var fit = await CurrentFitAsync(db, currency, ct);
        return new AnalyticsStatus(meta?.AsOf, meta?.ComputedAt, meta?.Currency ?? currency, fit?.JobId);
    }

    // ---- rules

    public async Task<RulesView> RulesAsync(Actor actor, double? minSupport, double? minConfidence, int limit, CancellationToken ct = default)
    {
        EnsureCanRead(actor);
        var errors = new ValidationErrors();
        // Negated comparisons refuse NaN too. Below 0.0001 (as in the settings) nearly every itemset is frequent: mining would not end.
        if (minSupport is { } ms && !(ms >= 0.0001 && ms <= 1)) errors.Add("minSupport", "minSupport must be between 0.0001 and 1.");
        if (minConfidence is { } mc && !(mc >= 0 && mc <= 1)) errors.Add("minConfidence", "minConfidence must be between 0 and 1.");
        if (limit is < 1 or > 1000) errors.Add("limit", "limit must be between 1 and 1000.");
        errors.ThrowIfAny();
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var settings = await SettingsAsync(db, ct);
        var support = minSupport ?? settings.MinSupport;
        var confidence = minConfidence ?? settings.MinConfidence;
        var catalog = await db.Products.AsNoTracking().Select(p => new CatalogItem(p.Id, p.Sku, p.Name, p.Category, p.ListPriceMinor, p.Currency, p.Active)).ToListAsync(ct);
        var index = catalog.Select((p, i) => (p.Id, i)).ToDictionary(x => x.Id, x => x.i);
        var baskets = await ScoreCalculator.BasketsAsync(db, settings.Currency, DateTime.MaxValue.Date, index, ct);
        var rules = Models.Apriori.Mine(baskets.Baskets, support, confidence, maxItemsetSize: 4, ct);
        RuleProduct P(int i) => new(catalog[i].Id, catalog[i].Sku, catalog[i].Name);
        return new RulesView(baskets.Baskets.Count, support, confidence, rules
            .OrderByDescending(r => r.Lift).ThenByDescending(r => r.Confidence).ThenBy(r => catalog[r.Consequent].Sku, StringComparer.Ordinal)
            .Take(limit).Select(r => new RuleView(r.Antecedent.Select(P).ToList(), P(r.Consequent), r.Count, r.Support, r.Confidence, r.Lift)).ToList());
    }

    // ---- charts

    /// <summary>
    /// The scores of the customers the actor sees: a Sales user's charts count their own customers, as the customer
    /// list the R×F grid links to does.
    /// </summary>
    private static IQueryable<CustomerScore> VisibleScores(KoloDb db, Actor actor)
    {
        if (CustomerAccessRules.SeesAllCustomers(actor)) return db.CustomerScores;
        var visible = db.Customers.VisibleTo(db, actor);
        return db.CustomerScores.Where(s => visible.Any(c => c.Id == s.CustomerId));
    }

    public async Task<RfmGridView> RfmGridAsync(Actor actor, CancellationToken ct = default)
    {
        EnsureCanRead(actor);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var scores = VisibleScores(db, actor).Where(s => s.RecencyScore != null);
        var cells = await scores.GroupBy(s => new { R = s.RecencyScore!.Value, F = s.FrequencyScore!.Value })
            .Select(g => new { g.Key.R, g.Key.F, Customers = g.Count(), Revenue = g.Sum(s => s.RevenueMinor) }).ToListAsync(ct);
        var segments = await scores.GroupBy(s => s.Segment!)
            .Select(g => new SegmentSummary(g.Key, g.Count(), g.Sum(s => s.RevenueMinor), g.Sum(s => s.ClvMinor), g.Sum(s => s.MarginMinor))).ToListAsync(ct);
        var meta = await db.CustomerScores.AsNoTracking().OrderBy(s => s.CustomerId).Select(s => new { s.AsOf, s.Currency }).FirstOrDefaultAsync(ct);
        return new RfmGridView(meta?.AsOf, meta?.Currency ?? (await SettingsAsync(db, ct)).Currency,
            cells.Select(c => new RfmCell(c.R, c.F, Models.Rfm.Segment(c.R, c.F).ToString(), c.Customers, c.Revenue)).OrderByDescending(c => c.RecencyScore).ThenByDescending(c => c.FrequencyScore).ToList(),
            segments.OrderByDescending(s => s.Customers).ToList());
    }

    public async Task<DistributionView> DistributionAsync(Actor actor, int bins, CancellationToken ct = default)
    {
        EnsureCanRead(actor);
        if (bins is < 2 or > 100) throw ValidationFailedException.For("bins", "bins must be between 2 and 100.");
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var meta = await db.CustomerScores.AsNoTracking().OrderBy(s => s.CustomerId).Select(s => new { s.AsOf, s.Currency }).FirstOrDefaultAsync(ct);
        var scored = VisibleScores(db, actor).Where(s => s.ProbabilityAlive != null);
        var histogram = new List<HistogramBin>();
        if (await scored.AnyAsync(ct))
        {
            // Bins up to the 99th percentile, so one whale does not squeeze everyone into the first bin; the last bin is open.
            var count = await scored.CountAsync(ct);
            var top = await scored.OrderBy(s => s.ClvMinor).Skip(Math.Max(0, (int)(count * 0.99) - 1)).Select(s => s.ClvMinor).FirstAsync(ct);
            var width = Math.Max(1, (top + bins - 1) / bins);
            var counts = await scored.GroupBy(s => s.ClvMinor >= width * (bins - 1) ? bins - 1 : s.ClvMinor / width)
                .Select(g => new { Bin = g.Key, Customers = g.Count() }).ToListAsync(ct);
            for (var i = 0; i < bins; i++)
                histogram.Add(new HistogramBin(i * width, i == bins - 1 ? long.MaxValue : (i + 1) * width, counts.Where(c => c.Bin == i).Sum(c => c.Customers)));
        }
        var byFrequency = await scored.GroupBy(s => s.PurchaseDays - 1 >= ClvFitter.HoldoutGroups ? ClvFitter.HoldoutGroups : s.PurchaseDays - 1)
            .Select(g => new { X = g.Key, Customers = g.Count(), Mean = g.Average(s => s.ProbabilityAlive!.Value) }).ToListAsync(ct);
        return new DistributionView(meta?.AsOf, meta?.Currency ?? (await SettingsAsync(db, ct)).Currency, histogram,
            byFrequency.OrderBy(x => x.X).Select(x => new PAliveByFrequency(x.X == ClvFitter.HoldoutGroups ? $"{x.X}+" : x.X.ToString(System.Globalization.CultureInfo.InvariantCulture), x.Customers, x.Mean)).ToList());
    }

    /// <summary>Income bands in the settings' currency, in major units (yearly income).</summary>
    public static readonly long[] IncomeBands = [0, 10_000, 25_000, 50_000, 100_000, 250_000];

    public async Task<AssortmentView> AssortmentAsync(Actor actor, string by, CancellationToken ct = default)
    {
        EnsureCanRead(actor);
        if (by is not ("income" or "segment")) throw ValidationFailedException.For("by", "by must be income or segment.");
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var settings = await SettingsAsync(db, ct);
        var currency = settings.Currency;
        var purchases = PurchaseHistory.Purchases(db, currency);
        if (!CustomerAccessRules.SeesAllCustomers(actor))
        {
            var visible = db.Customers.VisibleTo(db, actor);
            purchases = purchases.Where(o => visible.Any(c => c.Id == o.CustomerId));
        }
        // The segments are as of the scores' day: purchases after it are no part of what made a customer's segment.
        if (by == "segment" && await db.CustomerScores.AsNoTracking().Select(s => (DateTime?)s.AsOf).FirstOrDefaultAsync(ct) is { } asOf)
        {
            var end = asOf.Date.AddDays(1);
            purchases = purchases.Where(o => o.OrderedAt < end);
        }
        var lines = db.OrderLines.Join(purchases, l => l.OrderId, o => o.Id, (l, o) => new { l.ProductId, l.LineTotalMinor, o.CustomerId })
            .Join(db.Products, x => x.ProductId, p => p.Id, (x, p) => new { x.CustomerId, x.LineTotalMinor, Category = p.Category ?? "—" });
        List<(string Row, string Category, long Revenue)> cells;
        if (by == "segment")
            cells = (await lines.Join(db.CustomerScores.Where(s => s.Segment != null), x => x.CustomerId, s => s.CustomerId, (x, s) => new { s.Segment, x.Category, x.LineTotalMinor })
                .GroupBy(x => new { x.Segment, x.Category }).Select(g => new { g.Key.Segment, g.Key.Category, Revenue = g.Sum(x => x.LineTotalMinor) }).ToListAsync(ct))
                .Select(x => (x.Segment!, x.Category, x.Revenue)).ToList();
        else
        {
            var scale = (long)Math.Pow(10, Money.MinorDigits(currency));
            var raw = await lines.Join(db.Customers, x => x.CustomerId, c => c.Id, (x, c) => new { Income = c.AnnualIncomeCurrency == currency ? c.AnnualIncomeMinor : null, x.Category, x.LineTotalMinor })
                .GroupBy(x => new { x.Income, x.Category }).Select(g => new { g.Key.Income, g.Key.Category, Revenue = g.Sum(x => x.LineTotalMinor) }).ToListAsync(ct);
            cells = raw.Select(x => (IncomeBand(x.Income, scale), x.Category, x.Revenue)).ToList();
        }
        var rows = by == "segment"
            ? Enum.GetNames<Models.RfmSegment>().Where(s => cells.Any(c => c.Row == s)).ToList()
            : IncomeBandNames().Where(b => cells.Any(c => c.Row == b)).ToList();
        var categories = cells.GroupBy(c => c.Category).OrderByDescending(g => g.Sum(c => c.Revenue)).Select(g => g.Key).ToList();
        var shares = new List<IReadOnlyList<double>>();
        var totals = new List<long>();
        foreach (var row in rows)
        {
            var inRow = cells.Where(c => c.Row == row).ToList();
            var total = inRow.Sum(c => c.Revenue);
            totals.Add(total);
            shares.Add(categories.Select(cat => total == 0 ? 0 : (double)inRow.Where(c => c.Category == cat).Sum(c => c.Revenue) / total).ToList());
        }
        return new AssortmentView(by, currency, rows, categories, shares, totals);
    }

    private static IEnumerable<string> IncomeBandNames() =>
        IncomeBands.Select((b, i) => i + 1 < IncomeBands.Length ? $"{b:N0}–{IncomeBands[i + 1]:N0}" : $"{b:N0}+").Append("unknown");

    private static string IncomeBand(long? incomeMinor, long scale)
    {
        if (incomeMinor is not { } minor) return "unknown";
        var names = IncomeBandNames().ToList();
        var major = minor / scale;
        for (var i = IncomeBands.Length - 1; i >= 0; i--) if (major >= IncomeBands[i]) return names[i];
        return names[0];
    }

    // ---- rankings and win-back

    public async Task<Page<RankedCustomer>> TopAsync(Actor actor, string by, int limit, string? cursor, CancellationToken ct = default)
    {
        EnsureCanRead(actor);
        if (by is not ("margin" or "clv")) throw ValidationFailedException.For("by", "by must be margin or clv.");
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await RankAsync(db, actor, db.CustomerScores.AsNoTracking(), by, limit, cursor, ct);
    }

    /// <summary>Customers slipping away — P(alive) below the threshold, or at risk / can't lose / hibernating — most value at stake first.</summary>
    public async Task<Page<RankedCustomer>> WinBackAsync(Actor actor, double? threshold, int limit, string? cursor, CancellationToken ct = default)
    {
        EnsureCanRead(actor);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        ValidateThreshold(threshold);
        return await RankAsync(db, actor, WinBackCandidates(db, threshold ?? (await SettingsAsync(db, ct)).WinBackThreshold), "stake", limit, cursor, ct);
    }

    private static readonly string[] SlippingSegments = [nameof(Models.RfmSegment.AtRisk), nameof(Models.RfmSegment.CannotLoseThem), nameof(Models.RfmSegment.Hibernating)];

    private static IQueryable<CustomerScore> WinBackCandidates(KoloDb db, double threshold) =>
        db.CustomerScores.AsNoTracking().Where(s => s.ProbabilityAlive < threshold || SlippingSegments.Contains(s.Segment!));

    private static async Task<Page<RankedCustomer>> RankAsync(KoloDb db, Actor actor, IQueryable<CustomerScore> scores, string field, int limit, string? cursor, CancellationToken ct)
    {
        if (limit is < 1 or > 200) throw ValidationFailedException.For("limit", "limit must be between 1 and 200.");
        if (cursor is not null)
        {
            // Keyset on (value, customer id), highest first.
            var parts = cursor.Split('_');
            if (parts.Length != 2 || !long.TryParse(parts[0], System.Globalization.CultureInfo.InvariantCulture, out var after) || !Guid.TryParse(parts[1], out var id))
                throw Cursors.Refused();
            scores = field switch
            {
                "clv" => scores.Where(s => s.ClvMinor < after || (s.ClvMinor == after && s.CustomerId.CompareTo(id) < 0)),
                "margin" => scores.Where(s => s.MarginMinor < after || (s.MarginMinor == after && s.CustomerId.CompareTo(id) < 0)),
                _ => scores.Where(s => s.ValueAtStakeMinor < after || (s.ValueAtStakeMinor == after && s.CustomerId.CompareTo(id) < 0)),
            };
        }
        var ordered = field switch
        {
            "clv" => scores.OrderByDescending(s => s.ClvMinor),
            "margin" => scores.OrderByDescending(s => s.MarginMinor),
            _ => scores.OrderByDescending(s => s.ValueAtStakeMinor),
        };
        var visible = db.Customers.VisibleTo(db, actor).Where(c => c.ArchivedAt == null);
        var rows = await ordered.ThenByDescending(s => s.CustomerId)
            .Join(visible, s => s.CustomerId, c => c.Id, (s, c) => new { s, c.DisplayName, c.OwnerId })
            .Take(limit + 1).ToListAsync(ct);
        long KeyOf(CustomerScore s) => field switch { "clv" => s.ClvMinor, "margin" => s.MarginMinor, _ => s.ValueAtStakeMinor };
        var next = rows.Count > limit ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{KeyOf(rows[limit - 1].s)}_{rows[limit - 1].s.CustomerId}") : null;
        return new Page<RankedCustomer>(rows.Take(limit).Select(x => new RankedCustomer(x.s.CustomerId, x.DisplayName, x.OwnerId, x.s.Segment, x.s.ProbabilityAlive,
            Amount(x.s.ClvMinor, x.s.Currency), Amount(x.s.MarginMinor, x.s.Currency), Amount(x.s.RevenueMinor, x.s.Currency),
            Amount(x.s.ValueAtStakeMinor, x.s.Currency), x.s.LastPurchaseAt)).ToList(), next);
    }

    /// <summary>
    /// One task per slipping customer for their owner ("win back"), most value first, up to <paramref name="max"/>;
    /// a customer who already has an open win-back task gets no second one, and customers without an owner are counted.
    /// </summary>
    /// <summary>A P(alive) threshold is a probability; NaN would even mean "everyone" on one engine and "no one" on the other.</summary>
    private static void ValidateThreshold(double? threshold)
    {
        if (threshold is { } t && !(t >= 0 && t <= 1)) throw ValidationFailedException.For("threshold", "The threshold is a probability between 0 and 1.");
    }

    public async Task<WinBackResult> CreateWinBackTasksAsync(Actor actor, double? threshold, int max, CancellationToken ct = default)
    {
        ValidateThreshold(threshold);
        EnsureCanRun(actor);
        if (max is < 1 or > 10_000) throw ValidationFailedException.For("max", "max must be between 1 and 10000.");
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var settings = await SettingsAsync(db, ct);
        var candidates = await WinBackCandidates(db, threshold ?? settings.WinBackThreshold)
            .Join(db.Customers.VisibleTo(db, actor).Where(c => c.ArchivedAt == null), s => s.CustomerId, c => c.Id,
                (s, c) => new { s.CustomerId, c.DisplayName, c.OwnerId, s.ValueAtStakeMinor, s.Currency, s.ProbabilityAlive, s.Segment })
            .OrderByDescending(x => x.ValueAtStakeMinor).ThenByDescending(x => x.CustomerId).Take(max).ToListAsync(ct);
        var ids = candidates.Select(c => c.CustomerId).ToList();
        var open = (await db.Tasks.Where(t => t.CustomerId != null && ids.Contains(t.CustomerId.Value) && t.RelatedType == WinBackTaskType && t.Status == TaskItemStatus.Open)
            .Select(t => t.CustomerId!.Value).ToListAsync(ct)).ToHashSet();
        var now = Now();
        int created = 0, had = 0, noOwner = 0;
        foreach (var c in candidates)
        {
            if (open.Contains(c.CustomerId)) { had++; continue; }
            if (c.OwnerId is not { } owner) { noOwner++; continue; }
            var stake = Amount(c.ValueAtStakeMinor, c.Currency);
            db.Tasks.Add(new TaskItem
            {
                Title = $"Win back {c.DisplayName}", AssigneeId = owner, CustomerId = c.CustomerId, RelatedType = WinBackTaskType,
                Notes = $"Slipping away: {(c.Segment ?? "no segment")}, P(alive) {(c.ProbabilityAlive is { } p ? p.ToString("P0", System.Globalization.CultureInfo.InvariantCulture) : "unknown")}, value at stake {stake.Amount:N2} {stake.Currency}.",
                Priority = TaskPriority.High, DueAt = now.AddDays(7), CreatedAt = now, UpdatedAt = now,
                CreatedById = actor.UserId == Guid.Empty ? null : actor.UserId,
            }.WithSortKey());
            created++;
        }
        await db.SaveChangesAsync(ct);
        return new WinBackResult(candidates.Count, created, had, noOwner);
    }
}
