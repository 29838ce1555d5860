using Kolo.Core.Data;
using Kolo.Core.Orders;
using Kolo.Core.Platform;
using Microsoft.EntityFrameworkCore;

namespace Kolo.Core.Marketing;

/// <summary>How far the messages of a campaign (or of one variant) got: every stage counted once per message.</summary>
public sealed record CampaignFunnel(
    int Targeted, int Suppressed, IReadOnlyDictionary<SuppressionReason, int> SuppressedByReason, int Queued, int Sent, int Delivered, int Opened,
    int Clicked, int Responded, int Converted, int Unsubscribed, int Bounced, int Failed);

/// <summary>What one group (the contacted or the control group) bought within the attribution window.</summary>
public sealed record GroupOutcome(int Customers, int Converted, decimal ConversionRate, decimal Revenue, decimal Margin, decimal RevenuePerCustomer, decimal MarginPerCustomer);

/// <summary>
/// Results of a campaign or one of its variants. <see cref="IncrementalRevenue"/> and <see cref="IncrementalMargin"/> are
/// (treated mean − control mean) × treated count; <see cref="Roi"/> = (incremental margin − cost) / cost. Both are null
/// without a control group (nothing to compare with) and ROI also without any cost.
/// </summary>
public sealed record ResultFigures(
    Guid? VariantId, string Name, CampaignFunnel Funnel, GroupOutcome Treated, GroupOutcome Control, bool ControlIsCampaignWide,
    decimal? IncrementalRevenue, decimal? IncrementalMargin, decimal FixedCost, decimal MessageCost, decimal Cost, decimal? Roi,
    IReadOnlyDictionary<CampaignChannel, int> SentByChannel);

/// <summary>Conversions (first attributed orders) on one day, contacted and control.</summary>
public sealed record ConversionDay(DateOnly Day, int Treated, int Control);

/// <summary>
/// <see cref="OtherCurrencyOrders"/>: orders placed in an attribution window but in another currency than the campaign's
/// (<see cref="OtherCurrencies"/>); there is no exchange rate to count them in, so they are reported, not counted.
/// </summary>
public sealed record CampaignResultsView(
    Guid CampaignId, string Name, CampaignStatus Status, string Currency, int AttributionDays, int ControlGroupPercent, DateTime ComputedAt,
    ResultFigures Total, IReadOnlyList<ResultFigures> Variants, IReadOnlyList<ConversionDay> ConversionsByDay,
    int OtherCurrencyOrders, IReadOnlyList<string> OtherCurrencies);

/// <summary>
/// Campaign results as a handful of aggregate queries over the campaign's messages and the orders of its customers
/// (nothing is read per message, so a million messages is a few grouped scans).
///
/// Attribution: an order (confirmed, shipped or delivered — not a quote, not cancelled — in the campaign currency) counts
/// for a contacted customer when it was placed in [SentAt, SentAt + AttributionDays), and for a control-group customer in
/// [PlannedAt, PlannedAt + AttributionDays) — the time they would have been contacted. Returns of an attributed order
/// subtract from it whenever they come back. Margin is revenue minus cost of goods (line quantity × the product's unit
/// cost; products without a unit cost add none). Cost is the fixed cost plus each channel's unit cost per sent message;
/// a variant carries the fixed cost in proportion to its share of the sent messages.
/// </summary>
public static class CampaignResults
{
    private static readonly OrderStatus[] Purchases = [OrderStatus.Confirmed, OrderStatus.Shipped, OrderStatus.Delivered];

    /// <summary>Statuses a conversion may raise to Converted (status is the furthest stage reached, never lowered).</summary>
    private static readonly MessageStatus[] BeforeConverted =
        [MessageStatus.Sent, MessageStatus.Delivered, MessageStatus.Opened, MessageStatus.Clicked, MessageStatus.Responded];

    // Member-initialised (not positional) so EF can compose further queries over them.
    private sealed class Anchored
    {
        public Guid MessageId { get; init; }
        public Guid? VariantId { get; init; }
        public Guid CustomerId { get; init; }
        public bool Control { get; init; }
        public DateTime Anchor { get; init; }
    }

    private sealed class AttributedOrder
    {
        public Guid MessageId { get; init; }
        public DateTime OrderedAt { get; init; }
        public Guid? VariantId { get; init; }
        public Guid CustomerId { get; init; }
        public bool Control { get; init; }
        public Guid OrderId { get; init; }
        public long TotalMinor { get; init; }
        public string Currency { get; init; } = "";
    }

    /// <summary>The messages that open an attribution window: every sent message, and the control group at its planned time.</summary>
    private static IQueryable<Anchored> Anchors(KoloDb db, Guid campaignId, bool unstampedOnly) =>
        db.CampaignMessages.Where(m => m.CampaignId == campaignId && (m.SentAt != null || (m.Status == MessageStatus.Suppressed && m.Reason == SuppressionReason.ControlGroup)))
            .Where(m => !unstampedOnly || m.ConvertedAt == null)
            .Select(m => new Anchored { MessageId = m.Id, VariantId = m.VariantId, CustomerId = m.CustomerId, Control = m.SentAt == null, Anchor = m.SentAt ?? m.PlannedAt });

    private static IQueryable<AttributedOrder> Attributed(KoloDb db, Campaign campaign, bool unstampedOnly = false, bool otherCurrencies = false)
    {
        var days = campaign.AttributionDays;
        var currency = campaign.Currency;
        var orders = otherCurrencies ? db.Orders.Where(o => o.Currency != currency) : db.Orders.Where(o => o.Currency == currency);
        return from a in Anchors(db, campaign.Id, unstampedOnly)
               join o in orders on a.CustomerId equals o.CustomerId
               where Purchases.Contains(o.Status) && o.OrderedAt >= a.Anchor && o.OrderedAt < a.Anchor.AddDays(days)
               select new AttributedOrder { MessageId = a.MessageId, OrderedAt = o.OrderedAt, VariantId = a.VariantId, CustomerId = a.CustomerId, Control = a.Control, OrderId = o.Id, TotalMinor = o.TotalMinor, Currency = o.Currency };
    }

    /// <summary>
    /// Stamps ConvertedAt (the first attributed order) on messages not stamped yet, and raises a contacted message's status
    /// to Converted. Two set-based updates; safe to run any number of times on any node.
    /// </summary>
    public static async Task<int> StampConversionsAsync(KoloDb db, Campaign campaign, CancellationToken ct)
    {
        var id = campaign.Id;
        // One grouped join (UPDATE … FROM), not a correlated lookup per message: the first attributed order per message.
        var first = Attributed(db, campaign, unstampedOnly: true).GroupBy(x => x.MessageId).Select(g => new { MessageId = g.Key, At = g.Min(x => x.OrderedAt) });
        var stamped = await db.CampaignMessages.Where(m => m.CampaignId == id && m.ConvertedAt == null)
            .Join(first, m => m.Id, f => f.MessageId, (m, f) => new { m, f })
            .ExecuteUpdateAsync(s => s.SetProperty(x => x.m.ConvertedAt, x => (DateTime?)x.f.At), ct);
        if (stamped > 0)
            await db.CampaignMessages.Where(m => m.CampaignId == id && m.ConvertedAt != null && m.SentAt != null && BeforeConverted.Contains(m.Status))
                .ExecuteUpdateAsync(s => s.SetProperty(m => m.Status, MessageStatus.Converted), ct);
        return stamped;
    }

    public static async Task<CampaignResultsView> ComputeAsync(KoloDb db, Campaign campaign, DateTime now, CancellationToken ct)
    {
        var id = campaign.Id;
        var currency = campaign.Currency;
        // Nothing here depends on the ConvertedAt stamps (the periodic job writes them for the message list): results are
        // read-only and current to the last order.

        // 1. The funnel: one grouped scan of the campaign's messages.
        var counts = await db.CampaignMessages.Where(m => m.CampaignId == id)
            .GroupBy(m => new { m.VariantId, m.Channel, m.Reason })
            .Select(g => new Counts(g.Key.VariantId, g.Key.Channel, g.Key.Reason,
                g.Count(),
                g.Count(m => m.Status == MessageStatus.Suppressed),
                g.Count(m => m.Status == MessageStatus.Queued || m.Status == MessageStatus.Sending),
                g.Count(m => m.SentAt != null),
                // A later event implies the earlier stage (an opened e-mail was delivered; a click means it was seen).
                g.Count(m => m.DeliveredAt != null || m.OpenedAt != null || m.ClickedAt != null),
                g.Count(m => m.OpenedAt != null || m.ClickedAt != null),
                g.Count(m => m.ClickedAt != null),
                g.Count(m => m.RespondedAt != null),
                g.Count(m => m.UnsubscribedAt != null),
                g.Count(m => m.BouncedAt != null),
                g.Count(m => m.Status == MessageStatus.Failed)))
            .ToListAsync(ct);

        // 2. Attribution: revenue of attributed orders, their returns, and cost of goods of both — grouped by variant and group.
        var attributed = Attributed(db, campaign);
        var orders = await attributed.GroupBy(x => new { x.VariantId, x.Control })
            .Select(g => new { g.Key.VariantId, g.Key.Control, Converted = g.Select(x => x.CustomerId).Distinct().Count(), Revenue = g.Sum(x => x.TotalMinor) })
            .ToListAsync(ct);
        var returns = await (from x in attributed
                             join r in db.Orders on x.OrderId equals r.ReturnOfOrderId
                             where r.Status == OrderStatus.Returned
                             group r.TotalMinor by new { x.VariantId, x.Control } into g
                             select new { g.Key.VariantId, g.Key.Control, Revenue = g.Sum() }).ToListAsync(ct);
        var costed = db.Products.Where(p => p.UnitCostMinor != null && p.Currency == currency);
        var goods = await (from x in attributed
                           join l in db.OrderLines on x.OrderId equals l.OrderId
                           join p in costed on l.ProductId equals p.Id
                           group (long)l.Quantity * p.UnitCostMinor!.Value by new { x.VariantId, x.Control } into g
                           select new { g.Key.VariantId, g.Key.Control, Cost = g.Sum() }).ToListAsync(ct);
        var returnedGoods = await (from x in attributed
                                   join r in db.Orders on x.OrderId equals r.ReturnOfOrderId
                                   join l in db.OrderLines on r.Id equals l.OrderId
                                   join p in costed on l.ProductId equals p.Id
                                   where r.Status == OrderStatus.Returned
                                   group (long)l.Quantity * p.UnitCostMinor!.Value by new { x.VariantId, x.Control } into g
                                   select new { g.Key.VariantId, g.Key.Control, Cost = g.Sum() }).ToListAsync(ct);

        // 3. Conversions over days (first attributed order per customer), contacted and control.
        var daily = await attributed.GroupBy(x => new { x.MessageId, x.Control }).Select(g => new { g.Key.Control, First = g.Min(x => x.OrderedAt) })
            .GroupBy(x => new { x.First.Date, x.Control })
            .Select(g => new { Day = g.Key.Date, g.Key.Control, Count = g.Count() })
            .ToListAsync(ct);

        var money = new Dictionary<(Guid?, bool), (int Converted, long Revenue, long Cogs)>();
        void Add(Guid? v, bool control, int converted, long revenue, long cogs)
        {
            var cur = money.GetValueOrDefault((v, control));
            money[(v, control)] = (cur.Converted + converted, cur.Revenue + revenue, cur.Cogs + cogs);
        }
        foreach (var o in orders) Add(o.VariantId, o.Control, o.Converted, o.Revenue, 0);
        foreach (var r in returns) Add(r.VariantId, r.Control, 0, r.Revenue, 0);
        foreach (var g in goods) Add(g.VariantId, g.Control, 0, 0, g.Cost);
        foreach (var g in returnedGoods) Add(g.VariantId, g.Control, 0, 0, -g.Cost);

        var variantNames = campaign.Variants.OrderBy(v => v.SortOrder).ToList();
        var variantIds = variantNames.Select(v => (Guid?)v.Id).ToList();
        // Messages of a variant deleted since (or planned without one) still count in the total; they get a row of their own.
        foreach (var v in counts.Select(c => c.VariantId).Concat(money.Keys.Select(k => k.Item1)).Distinct())
            if (!variantIds.Contains(v)) variantIds.Add(v);

        var fixedShares = SplitFixedCost(campaign.FixedCostMinor, variantIds.Select(v => counts.Where(c => c.VariantId == v).Sum(c => c.Sent)).ToList());
        var campaignControl = Outcome(counts.Where(c => c.Reason == SuppressionReason.ControlGroup).Sum(c => c.Suppressed),
            money.Where(k => k.Key.Item2).Select(k => k.Value).ToList(), currency);

        var variants = new List<ResultFigures>();
        for (var i = 0; i < variantIds.Count; i++)
        {
            var v = variantIds[i];
            var name = variantNames.FirstOrDefault(x => x.Id == v)?.Name ?? "—";
            var mine = counts.Where(c => c.VariantId == v).ToList();
            var control = Outcome(mine.Where(c => c.Reason == SuppressionReason.ControlGroup).Sum(c => c.Suppressed),
                money.Where(k => k.Key.Item1 == v && k.Key.Item2).Select(k => k.Value).ToList(), currency);
            // A variant whose customers were not held out (the draw left none) is compared with the whole control group.
            var wide = control.Customers == 0;
            variants.Add(Figures(v, name, mine, money.Where(k => k.Key.Item1 == v && !k.Key.Item2).Select(k => k.Value).ToList(),
                wide ? campaignControl : control, wide, fixedShares[i], campaign, currency));
        }
        var total = Figures(null, campaign.Name, counts, money.Where(k => !k.Key.Item2).Select(k => k.Value).ToList(), campaignControl, false,
            campaign.FixedCostMinor, campaign, currency);

        // Orders the windows hold in other currencies (a customer has one message per campaign, so one window each).
        var other = await Attributed(db, campaign, otherCurrencies: true).GroupBy(x => x.Currency)
            .Select(g => new { Currency = g.Key, Orders = g.Count() }).ToListAsync(ct);

        var days = daily.GroupBy(d => DateOnly.FromDateTime(d.Day)).OrderBy(g => g.Key)
            .Select(g => new ConversionDay(g.Key, g.Where(x => !x.Control).Sum(x => x.Count), g.Where(x => x.Control).Sum(x => x.Count))).ToList();
        return new CampaignResultsView(campaign.Id, campaign.Name, campaign.Status, currency, campaign.AttributionDays, campaign.ControlGroupPercent, now,
            // Messages planned without a variant (a control group drawn before variants were chosen, say) get a row only
            // when some of them were sent; otherwise they are in the total alone.
            total, variants.Where(v => v.VariantId is not null || v.Funnel.Sent > 0).ToList(), days,
            other.Sum(o => o.Orders), other.Select(o => o.Currency).Order(StringComparer.Ordinal).ToList());
    }

    private sealed record Counts(Guid? VariantId, CampaignChannel? Channel, SuppressionReason? Reason, int Targeted, int Suppressed, int Queued, int Sent,
        int Delivered, int Opened, int Clicked, int Responded, int Unsubscribed, int Bounced, int Failed);

    /// <summary>
    /// The fixed cost in proportion to sent messages, in whole minor units that add up to the fixed cost exactly (largest
    /// remainder). Nothing sent: an even split.
    /// </summary>
    public static long[] SplitFixedCost(long fixedCost, IReadOnlyList<int> sent)
    {
        var result = new long[sent.Count];
        if (sent.Count == 0) return result;
        long total = sent.Sum();
        var weights = total == 0 ? sent.Select(_ => 1L).ToList() : sent.Select(s => (long)s).ToList();
        var weightSum = weights.Sum();
        var remainders = new decimal[sent.Count];
        for (var i = 0; i < sent.Count; i++)
        {
            var exact = (decimal)fixedCost * weights[i] / weightSum;
            result[i] = (long)decimal.Floor(exact);
            remainders[i] = exact - result[i];
        }
        var left = fixedCost - result.Sum();
        foreach (var i in Enumerable.Range(0, sent.Count).OrderByDescending(i => remainders[i]).ThenBy(i => i).Take((int)left)) result[i]++;
        return result;
    }

    private static GroupOutcome Outcome(int customers, List<(int Converted, long Revenue, long Cogs)> rows, string currency)
    {
        var converted = rows.Sum(r => r.Converted);
        var revenue = Money.FromMinor(rows.Sum(r => r.Revenue), currency);
        var margin = Money.FromMinor(rows.Sum(r => r.Revenue - r.Cogs), currency);
        return new GroupOutcome(customers, converted, customers == 0 ? 0 : Math.Round((decimal)converted / customers, 4),
            revenue, margin, customers == 0 ? 0 : Math.Round(revenue / customers, 4), customers == 0 ? 0 : Math.Round(margin / customers, 4));
    }

    private static ResultFigures Figures(Guid? variantId, string name, List<Counts> counts, List<(int Converted, long Revenue, long Cogs)> treatedMoney,
        GroupOutcome control, bool controlIsCampaignWide, long fixedCostMinor, Campaign campaign, string currency)
    {
        var byReason = counts.Where(c => c.Reason is not null && c.Suppressed > 0).GroupBy(c => c.Reason!.Value)
            .ToDictionary(g => g.Key, g => g.Sum(c => c.Suppressed));
        var funnel = new CampaignFunnel(counts.Sum(c => c.Targeted), counts.Sum(c => c.Suppressed), byReason, counts.Sum(c => c.Queued), counts.Sum(c => c.Sent),
            counts.Sum(c => c.Delivered), counts.Sum(c => c.Opened), counts.Sum(c => c.Clicked), counts.Sum(c => c.Responded), treatedMoney.Sum(m => m.Converted),
            counts.Sum(c => c.Unsubscribed), counts.Sum(c => c.Bounced), counts.Sum(c => c.Failed));
        var sentByChannel = counts.Where(c => c.Channel is not null && c.Sent > 0).GroupBy(c => c.Channel!.Value).ToDictionary(g => g.Key, g => g.Sum(c => c.Sent));
        var messageCostMinor = sentByChannel.Sum(kv => kv.Value * UnitCost(campaign, kv.Key));
        var treated = Outcome(funnel.Sent, treatedMoney, currency);
        var fixedCost = Money.FromMinor(fixedCostMinor, currency);
        var messageCost = Money.FromMinor(messageCostMinor, currency);
        var cost = fixedCost + messageCost;
        decimal? incrementalRevenue = null, incrementalMargin = null, roi = null;
        if (control.Customers > 0 && treated.Customers > 0)
        {
            // Exact arithmetic on the sums (not the rounded means): (Rt/Nt − Rc/Nc) × Nt = Rt − Rc × Nt / Nc.
            incrementalRevenue = Math.Round(treated.Revenue - control.Revenue * treated.Customers / control.Customers, 2);
            incrementalMargin = Math.Round(treated.Margin - control.Margin * treated.Customers / control.Customers, 2);
            if (cost > 0) roi = Math.Round((incrementalMargin.Value - cost) / cost, 4);
        }
        return new ResultFigures(variantId, name, funnel, treated, control, controlIsCampaignWide, incrementalRevenue, incrementalMargin, fixedCost, messageCost, cost, roi,
            sentByChannel);
    }

    public static long UnitCost(Campaign campaign, CampaignChannel channel) => channel switch
    {
        CampaignChannel.Email => campaign.EmailCostMinor,
        CampaignChannel.Sms => campaign.SmsCostMinor,
        CampaignChannel.Call => campaign.CallCostMinor,
        _ => campaign.WebCostMinor,
    };
}
