using Kolo.Core.Analytics.Models;
using Kolo.Core.Data;
using Kolo.Core.Orders;
using Microsoft.EntityFrameworkCore;

namespace Kolo.Core.Analytics;

/// <summary>One customer's purchases as the models see them: days with a purchase (purchases on one day count once).</summary>
public sealed class PurchaseDays(Guid customerId)
{
    public Guid CustomerId { get; } = customerId;
    public List<DateTime> Days { get; } = [];
    /// <summary>The day totals in minor units, in the order of <see cref="Days"/>.</summary>
    public List<long> Totals { get; } = [];
    public int Orders { get; set; }

    /// <summary>What the customer's purchases came to before their returns (returns are subtracted from revenue separately).</summary>
    public long GrossTotal { get; set; }

    public DateTime First => Days[0];
    public DateTime Last => Days[^1];

    /// <summary>x, t_x and T in the time unit (days or weeks) as of the end of <paramref name="asOfDay"/>.</summary>
    public RepeatStats Repeat(DateTime asOfDay, double unitDays) =>
        new(Days.Count - 1, (Last - First).TotalDays / unitDays, (asOfDay - First).TotalDays / unitDays);

    /// <summary>The mean value of the repeat transactions (the first purchase excluded), in major units; null without repeats.</summary>
    public double? MeanRepeatValue(int minorDigits)
    {
        if (Days.Count < 2) return null;
        double sum = 0;
        for (var i = 1; i < Totals.Count; i++) sum += Totals[i];
        return sum / (Totals.Count - 1) / Math.Pow(10, minorDigits);
    }
}

/// <summary>The purchase history read for the models, set-based: one grouped query streamed in customer order.</summary>
public static class PurchaseHistory
{
    /// <summary>Orders that are purchases: confirmed and later, not cancelled, not returns, not quotes.</summary>
    public static IQueryable<Order> Purchases(KoloDb db, string currency) =>
        db.Orders.Where(o => (o.Status == OrderStatus.Confirmed || o.Status == OrderStatus.Shipped || o.Status == OrderStatus.Delivered)
                             && o.Currency == currency);

    /// <summary>
    /// The purchases before <paramref name="end"/> that returns recorded before <paramref name="end"/> bring goods back
    /// from, keyed by customer and purchase day: each with its total, what came back (the return lines' totals, negative)
    /// and whether every line came back whole. A return line points at the line it returns; returns are few, so this is
    /// read whole.
    /// </summary>
    private static async Task<Dictionary<(Guid Customer, DateTime Day), List<(long Gross, long Back, bool Whole)>>> ReturnedAsync(
        KoloDb db, string currency, DateTime end, CancellationToken ct)
    {
        var returnLines = db.OrderLines.Where(rl => rl.ReturnOfLineId != null)
            .Join(db.Orders.Where(r => r.Status == OrderStatus.Returned && r.OrderedAt < end), rl => rl.OrderId, r => r.Id, (rl, r) => rl);
        var rows = await returnLines
            .Join(db.OrderLines, rl => rl.ReturnOfLineId, l => (Guid?)l.Id, (rl, l) => new { l.Id, l.OrderId, l.Quantity, Back = rl.Quantity, BackTotal = rl.LineTotalMinor })
            .Join(Purchases(db, currency).Where(o => o.OrderedAt < end), x => x.OrderId, o => o.Id, (x, o) => new
            {
                LineId = x.Id, x.OrderId, x.Quantity, x.Back, x.BackTotal, o.CustomerId, Day = o.OrderedAt.Date, o.TotalMinor,
                Lines = db.OrderLines.Count(l => l.OrderId == o.Id),
            })
            .ToListAsync(ct);
        var result = new Dictionary<(Guid, DateTime), List<(long, long, bool)>>();
        foreach (var order in rows.GroupBy(r => r.OrderId))
        {
            var first = order.First();
            var linesBack = order.GroupBy(r => r.LineId).Count(l => l.Sum(r => (long)r.Back) >= l.First().Quantity);
            var key = (first.CustomerId, DateTime.SpecifyKind(first.Day, DateTimeKind.Utc));
            if (!result.TryGetValue(key, out var list)) result[key] = list = [];
            list.Add((first.TotalMinor, order.Sum(r => r.BackTotal), linesBack == first.Lines));
        }
        return result;
    }

    /// <summary>A day's orders and total less what came back: an order returned whole is no purchase; one returned in part counts what was kept.</summary>
    private static (int Orders, long Kept) Net(int orders, long total, List<(long Gross, long Back, bool Whole)>? returned)
    {
        foreach (var (gross, back, whole) in returned ?? [])
        {
            if (whole) { total -= gross; orders--; }
            else total += back;
        }
        return (orders, total);
    }

    /// <summary>
    /// Each customer's purchase days up to and including <paramref name="throughDay"/> (a date, UTC). An order that came
    /// back whole (returned, or cancelled in the source system) is no purchase: it adds no day, no order and no spend; one
    /// that came back in part counts with what was kept.
    /// </summary>
    public static async Task<List<PurchaseDays>> ReadAsync(KoloDb db, string currency, DateTime throughDay, CancellationToken ct)
    {
        var end = throughDay.Date.AddDays(1);
        var returned = await ReturnedAsync(db, currency, end, ct);
        var rows = Purchases(db, currency).Where(o => o.OrderedAt < end)
            .GroupBy(o => new { o.CustomerId, Day = o.OrderedAt.Date })
            .Select(g => new { g.Key.CustomerId, g.Key.Day, Total = g.Sum(o => o.TotalMinor), Orders = g.Count() })
            .OrderBy(x => x.CustomerId).ThenBy(x => x.Day)
            .AsAsyncEnumerable();
        var result = new List<PurchaseDays>();
        PurchaseDays? current = null;
        await foreach (var row in rows.WithCancellation(ct))
        {
            if (current is null || current.CustomerId != row.CustomerId) result.Add(current = new PurchaseDays(row.CustomerId));
            current.GrossTotal += row.Total;
            var day = DateTime.SpecifyKind(row.Day, DateTimeKind.Utc);
            var (orders, kept) = Net(row.Orders, row.Total, returned.GetValueOrDefault((row.CustomerId, day)));
            if (orders <= 0) continue;
            current.Days.Add(day);
            current.Totals.Add(kept);
            current.Orders += orders;
        }
        // A customer all of whose purchases came back bought nothing.
        return result.Where(h => h.Days.Count > 0).ToList();
    }

    /// <summary>
    /// Distinct purchase days per customer strictly after <paramref name="afterDay"/> and through <paramref name="throughDay"/>
    /// (orders returned whole by then do not count).
    /// </summary>
    public static async Task<Dictionary<Guid, int>> DaysBetweenAsync(KoloDb db, string currency, DateTime afterDay, DateTime throughDay, CancellationToken ct)
    {
        var start = afterDay.Date.AddDays(1);
        var end = throughDay.Date.AddDays(1);
        var returned = await ReturnedAsync(db, currency, end, ct);
        var rows = Purchases(db, currency).Where(o => o.OrderedAt >= start && o.OrderedAt < end)
            .GroupBy(o => new { o.CustomerId, Day = o.OrderedAt.Date })
            .Select(g => new { g.Key.CustomerId, g.Key.Day, Total = g.Sum(o => o.TotalMinor), Orders = g.Count() })
            .AsAsyncEnumerable();
        var days = new Dictionary<Guid, int>();
        await foreach (var row in rows.WithCancellation(ct))
            if (Net(row.Orders, row.Total, returned.GetValueOrDefault((row.CustomerId, DateTime.SpecifyKind(row.Day, DateTimeKind.Utc)))).Orders > 0)
                days[row.CustomerId] = days.GetValueOrDefault(row.CustomerId) + 1;
        return days;
    }

    public static double UnitDays(TimeUnit unit) => unit == TimeUnit.Week ? 7 : 1;
}
