using Kolo.Core.Analytics.Models;
using Kolo.Core.Data;
using Kolo.Core.Orders;
using Kolo.Core.Platform;
using Microsoft.EntityFrameworkCore;

namespace Kolo.Core.Analytics;

public sealed record ScoresResult(DateTime AsOf, int Customers, int Buyers, int Rules, Guid? FitJobId, double Seconds);

/// <summary>
/// Recomputes every customer's score as of a day in a few grouped queries (purchases, returns, costs, interactions,
/// baskets), computes RFM, the model predictions, profitability and the offers in memory, and replaces the scores
/// and the mined rules in one transaction with bulk inserts. Nothing is queried per customer.
/// </summary>
public static class ScoreCalculator
{
    public const int OffersPerCustomer = 3;

    public static async Task<ScoresResult> RecomputeAsync(KoloDb db, AnalyticsSettings settings, (Guid JobId, ClvFitResult Fit)? fit, DateTime asOf, DateTime now,
        Action<int, string> progress, CancellationToken ct)
    {
        var started = System.Diagnostics.Stopwatch.StartNew();
        var currency = settings.Currency;
        var asOfDay = asOf.Date;
        var end = asOfDay.AddDays(1);
        db.Database.SetCommandTimeout(TimeSpan.FromMinutes(30));

        progress(5, "Reading purchases");
        var history = (await PurchaseHistory.ReadAsync(db, currency, asOfDay, ct)).ToDictionary(h => h.CustomerId);

        progress(20, "Reading returns, costs and interactions");
        var returns = await db.Orders.Where(o => o.Status == OrderStatus.Returned && o.Currency == currency && o.OrderedAt < end)
            .GroupBy(o => o.CustomerId).Select(g => new { g.Key, Total = g.Sum(o => o.TotalMinor), Discount = g.Sum(o => o.DiscountMinor) })
            .ToDictionaryAsync(x => x.Key, ct);
        var discounts = await PurchaseHistory.Purchases(db, currency).Where(o => o.OrderedAt < end)
            .GroupBy(o => o.CustomerId).Select(g => new { g.Key, Discount = g.Sum(o => o.DiscountMinor) })
            .ToDictionaryAsync(x => x.Key, x => x.Discount, ct);
        var counted = db.Orders.Where(o => (o.Status == OrderStatus.Confirmed || o.Status == OrderStatus.Shipped || o.Status == OrderStatus.Delivered
                                            || o.Status == OrderStatus.Returned) && o.Currency == currency && o.OrderedAt < end);
        var costs = await db.OrderLines.Join(counted, l => l.OrderId, o => o.Id, (l, o) => new { l, o })
            .Join(db.Products.Where(p => p.UnitCostMinor != null && p.Currency == currency), x => x.l.ProductId, p => p.Id, (x, p) => new { x.o.CustomerId, x.o.Status, x.l.Quantity, Cost = p.UnitCostMinor!.Value })
            .GroupBy(x => x.CustomerId)
            .Select(g => new { g.Key, Cost = g.Sum(x => (x.Status == OrderStatus.Returned ? -1L : 1L) * x.Quantity * x.Cost) })
            .ToDictionaryAsync(x => x.Key, x => x.Cost, ct);
        var interactionCosts = InteractionCosts(settings);
        var serve = new Dictionary<Guid, long>();
        if (interactionCosts.Count > 0)
        {
            var types = interactionCosts.Keys.ToList();
            await foreach (var x in db.Interactions.Where(i => i.OccurredAt < end && types.Contains(i.Type))
                               .GroupBy(i => new { i.CustomerId, i.Type }).Select(g => new { g.Key.CustomerId, g.Key.Type, Count = g.Count() })
                               .AsAsyncEnumerable().WithCancellation(ct))
                serve[x.CustomerId] = serve.GetValueOrDefault(x.CustomerId) + x.Count * interactionCosts[x.Type];
        }

        progress(35, "Mining association rules");
        var catalog = await db.Products.AsNoTracking().Select(p => new CatalogItem(p.Id, p.Sku, p.Name, p.Category, p.ListPriceMinor, p.Currency, p.Active))
            .ToListAsync(ct);
        var index = catalog.Select((p, i) => (p.Id, i)).ToDictionary(x => x.Id, x => x.i);
        var baskets = await BasketsAsync(db, currency, end, index, ct);
        var rules = Apriori.Mine(baskets.Baskets, settings.MinSupport, settings.MinConfidence, maxItemsetSize: 3, ct);

        progress(55, "Scoring");
        var customers = await db.Customers.AsNoTracking().Where(c => c.ArchivedAt == null)
            .Select(c => new { c.Id, c.AcquisitionCostMinor, c.AcquisitionCostCurrency }).ToListAsync(ct);
        var buyers = customers.Where(c => history.ContainsKey(c.Id)).Select(c => history[c.Id]).ToList();
        var recency = Rfm.QuintileScores(buyers.Select(b => (asOfDay - b.Last).TotalDays).ToList(), higherIsBetter: false);
        var frequency = Rfm.QuintileScores(buyers.Select(b => (double)b.Orders).ToList(), higherIsBetter: true);
        var revenueOf = (Guid id) => history.TryGetValue(id, out var h) ? h.GrossTotal + (returns.TryGetValue(id, out var r) ? r.Total : 0) : 0;
        var monetary = Rfm.QuintileScores(buyers.Select(b => (double)revenueOf(b.CustomerId)).ToList(), higherIsBetter: true);
        var rfm = new Dictionary<Guid, (int R, int F, int M)>(buyers.Count);
        for (var i = 0; i < buyers.Count; i++) rfm[buyers[i].CustomerId] = (recency[i], frequency[i], monetary[i]);

        var digits = Money.MinorDigits(currency);
        var scale = Math.Pow(10, digits);
        var unitDays = fit is { } f ? PurchaseHistory.UnitDays(f.Fit.TimeUnit) : 1;
        var stepLength = 30 / unitDays;
        var monthlyDiscount = Math.Pow(1 + settings.AnnualDiscountRateBasisPoints / 10_000.0, 1.0 / 12) - 1;
        var recommender = new Recommender(catalog, rules, baskets.ByCustomer, currency);

        var scores = new List<object>(customers.Count);
        foreach (var c in customers)
        {
            var s = new CustomerScore { CustomerId = c.Id, AsOf = asOfDay, Currency = currency, ComputedAt = now };
            s.AcquisitionCostMinor = c.AcquisitionCostCurrency == currency ? c.AcquisitionCostMinor ?? 0 : 0;
            s.CostToServeMinor = serve.GetValueOrDefault(c.Id);
            if (history.TryGetValue(c.Id, out var h))
            {
                s.Orders = h.Orders;
                s.PurchaseDays = h.Days.Count;
                s.FirstPurchaseAt = h.First;
                s.LastPurchaseAt = h.Last;
                s.RecencyDays = (int)(asOfDay - h.Last).TotalDays;
                var (r, fScore, m) = rfm[c.Id];
                (s.RecencyScore, s.FrequencyScore, s.MonetaryScore) = (r, fScore, m);
                s.Segment = Rfm.Segment(r, fScore).ToString();
                s.RevenueMinor = revenueOf(c.Id);
                s.DiscountsMinor = discounts.GetValueOrDefault(c.Id) + (returns.TryGetValue(c.Id, out var ret) ? ret.Discount : 0);
                s.CostOfGoodsMinor = costs.GetValueOrDefault(c.Id);
                var tenureYears = Math.Max(1, (asOfDay - h.First).TotalDays / 365.25);
                s.ValueAtStakeMinor = (long)Math.Round(s.RevenueMinor / tenureYears * settings.HorizonMonths / 12.0);
                if (fit is { } model && model.Fit.BgNbdConverged)
                {
                    var repeat = h.Repeat(asOfDay, unitDays);
                    var p = model.Fit.BgNbd;
                    s.ProbabilityAlive = BgNbd.ProbabilityAlive(p, repeat);
                    s.ExpectedPurchases = BgNbd.ConditionalExpectedPurchases(p, repeat, settings.PredictionDays / unitDays);
                    // A spend model that did not converge, or with q <= 1 (an infinite mean), predicts nothing.
                    if (model.Fit.GammaGamma is { Q: > 1 } gg && model.Fit.GammaGammaConverged)
                    {
                        var mean = h.MeanRepeatValue(digits);
                        var value = mean is > 0 ? GammaGamma.ConditionalExpectedAverageValue(gg, new SpendStats(h.Days.Count - 1, mean.Value))
                                                : GammaGamma.PopulationMeanValue(gg);
                        s.ExpectedOrderValueMinor = (long)Math.Round(value * scale);
                        s.ClvMinor = (long)Math.Round(Clv.Value(p, repeat, value, settings.HorizonMonths, stepLength, monthlyDiscount) * scale);
                    }
                }
            }
            else if (costs.TryGetValue(c.Id, out var cogs)) s.CostOfGoodsMinor = cogs;
            s.MarginMinor = s.RevenueMinor - s.CostOfGoodsMinor - s.CostToServeMinor - s.AcquisitionCostMinor;
            scores.Add(s);
        }
        var segments = scores.Cast<CustomerScore>().Where(s => s.Segment is not null).ToDictionary(s => s.CustomerId, s => s.Segment!);
        foreach (CustomerScore s in scores) s.Offers = recommender.For(s.CustomerId, s.Segment, segments, OffersPerCustomer);

        progress(80, "Saving scores");
        var stored = rules.Select(r => (object)new StoredRule
        {
            Antecedent = r.Antecedent.Select(i => catalog[i].Id).ToList(), Consequent = catalog[r.Consequent].Id,
            Count = r.Count, Support = r.Support, Confidence = r.Confidence, Lift = r.Lift, MinedAt = now,
        }).ToList();
        await using (var tx = await db.Database.BeginTransactionAsync(ct))
        {
            await db.CustomerScores.ExecuteDeleteAsync(ct);
            await db.AssociationRules.ExecuteDeleteAsync(ct);
            await BulkInsert.WriteAsync(db, scores, ct);
            await BulkInsert.WriteAsync(db, stored, ct);
            await tx.CommitAsync(ct);
        }
        return new ScoresResult(asOfDay, customers.Count, buyers.Count, rules.Count, fit?.JobId, started.Elapsed.TotalSeconds);
    }

    private static Dictionary<Timeline.InteractionType, long> InteractionCosts(AnalyticsSettings settings)
    {
        var costs = new Dictionary<Timeline.InteractionType, long>();
        foreach (var (type, cost) in settings.InteractionCosts)
            if (Enum.TryParse<Timeline.InteractionType>(type, true, out var t) && long.TryParse(cost, out var minor) && minor > 0) costs[t] = minor;
        return costs;
    }

    public sealed record BasketData(List<int[]> Baskets, Dictionary<Guid, int[]> ByCustomer);

    /// <summary>The distinct products of each purchase (an order's basket) and each customer's distinct products, read in one stream.</summary>
    public static async Task<BasketData> BasketsAsync(KoloDb db, string currency, DateTime end, Dictionary<Guid, int> index, CancellationToken ct)
    {
        var rows = db.OrderLines.Where(l => l.ProductId != null)
            .Join(PurchaseHistory.Purchases(db, currency).Where(o => o.OrderedAt < end), l => l.OrderId, o => o.Id, (l, o) => new { o.CustomerId, l.OrderId, ProductId = l.ProductId!.Value })
            .OrderBy(x => x.CustomerId).ThenBy(x => x.OrderId)
            .AsAsyncEnumerable();
        var baskets = new List<int[]>();
        var byCustomer = new Dictionary<Guid, int[]>();
        var basket = new HashSet<int>();
        var bought = new HashSet<int>();
        Guid? order = null, customer = null;
        await foreach (var row in rows.WithCancellation(ct))
        {
            if (order != row.OrderId)
            {
                if (basket.Count > 0) baskets.Add([.. basket]);
                basket.Clear();
                order = row.OrderId;
            }
            if (customer != row.CustomerId)
            {
                if (customer is { } done) byCustomer[done] = [.. bought];
                bought.Clear();
                customer = row.CustomerId;
            }
            if (!index.TryGetValue(row.ProductId, out var item)) continue;
            basket.Add(item);
            bought.Add(item);
        }
        if (basket.Count > 0) baskets.Add([.. basket]);
        if (customer is { } last) byCustomer[last] = [.. bought];
        return new BasketData(baskets, byCustomer);
    }
}

public sealed record CatalogItem(Guid Id, string Sku, string Name, string? Category, long ListPriceMinor, string Currency, bool Active);
