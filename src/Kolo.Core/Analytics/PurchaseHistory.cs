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

    /// <summary>Each customer's purchase days up to and including <paramref name="throughDay"/> (a date, UTC).</summary>
    public static async Task<List<PurchaseDays>> ReadAsync(KoloDb db, string currency, DateTime throughDay, CancellationToken ct)
    {
        var end = throughDay.Date.AddDays(1);
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
            current.Days.Add(DateTime.SpecifyKind(row.Day, DateTimeKind.Utc));
            current.Totals.Add(row.Total);
            current.Orders += row.Orders;
        }
        return result;
    }

    /// <summary>Distinct purchase days per customer strictly after <paramref name="afterDay"/> and through <paramref name="throughDay"/>.</summary>
    public static async Task<Dictionary<Guid, int>> DaysBetweenAsync(KoloDb db, string currency, DateTime afterDay, DateTime throughDay, CancellationToken ct)
    {
        var start = afterDay.Date.AddDays(1);
        var end = throughDay.Date.AddDays(1);
        return await Purchases(db, currency).Where(o => o.OrderedAt >= start && o.OrderedAt < end)
            .GroupBy(o => new { o.CustomerId, Day = o.OrderedAt.Date })
            .Select(g => g.Key.CustomerId)
            .GroupBy(id => id)
            .Select(g => new { CustomerId = g.Key, Days = g.Count() })
            .ToDictionaryAsync(x => x.CustomerId, x => x.Days, ct);
    }

    public static double UnitDays(TimeUnit unit) => unit == TimeUnit.Week ? 7 : 1;
}
