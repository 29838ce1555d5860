using Kolo.Core.Customers;
using Kolo.Core.Data;
using Kolo.Core.Platform;
using Kolo.Core.Tasks;
using Kolo.Core.Timeline;
using Microsoft.EntityFrameworkCore;

namespace Kolo.Core.Orders;

public sealed record DeliveryDay(DateOnly Date, IReadOnlyList<OrderView> Orders);

public sealed record OnTimeRate(int Delivered, int OnTime, double? Rate);

/// <summary>Promised delivery dates: the schedule, the early warnings that turn into tasks once, and the on-time rate.</summary>
public sealed class FulfilmentService(IDbContextFactory<KoloDb> dbFactory, TimeProvider clock)
{
    /// <summary>Orders with a promised date in [from, to), by day; open ones only unless a status is given.</summary>
    public async Task<IReadOnlyList<DeliveryDay>> ScheduleAsync(Actor actor, DateOnly from, DateOnly to, OrderStatus? status, Guid? ownerId, CancellationToken ct = default)
    {
        if (to <= from || to.DayNumber - from.DayNumber > 92) throw ValidationFailedException.For("to", "Give a range of 1 to 92 days.");
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var q = OrderService.VisibleOrders(db, actor).AsNoTracking()
            .Where(o => o.PromisedDeliveryDate >= from && o.PromisedDeliveryDate < to);
        q = status is { } s ? q.Where(o => o.Status == s) : q.Where(o => o.Status == OrderStatus.Confirmed || o.Status == OrderStatus.Shipped || o.Status == OrderStatus.Delivered);
        if (ownerId is { } owner) q = q.Where(o => o.OwnerId == owner);
        var rows = await q.OrderBy(o => o.PromisedDeliveryDate).ThenBy(o => o.Number).Take(2000).Include(o => o.Lines).AsSplitQuery().ToListAsync(ct);
        var views = await OrderService.ViewsAsync(db, rows, ct);
        return views.GroupBy(v => v.PromisedDeliveryDate!.Value).Select(g => new DeliveryDay(g.Key, g.ToList())).ToList();
    }

    /// <summary>Orders with a promise delivered in [from, to), and how many arrived by the promised day.</summary>
    public async Task<OnTimeRate> OnTimeRateAsync(Actor actor, DateOnly from, DateOnly to, CancellationToken ct = default)
    {
        if (to <= from) throw ValidationFailedException.For("to", "The end of the range must come after its start.");
        var (start, end) = (from.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc), to.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc));
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        // By delivery time: an early delivery counts the day it arrives, not when its promise falls due.
        var delivered = await OrderService.VisibleOrders(db, actor).AsNoTracking()
            .Where(o => o.Status == OrderStatus.Delivered && o.DeliveredAt >= start && o.DeliveredAt < end && o.PromisedDeliveryDate != null)
            .Select(o => new { o.PromisedDeliveryDate, o.DeliveredAt }).ToListAsync(ct);
        var onTime = delivered.Count(o => DateOnly.FromDateTime(o.DeliveredAt!.Value) <= o.PromisedDeliveryDate);
        return new OnTimeRate(delivered.Count, onTime, delivered.Count == 0 ? null : (double)onTime / delivered.Count);
    }

    /// <summary>
    /// Confirmed orders due within <paramref name="warnDays"/> days and not shipped, and open orders past their date:
    /// each becomes a task for the order's owner once. Claimed with a conditional update, so once across nodes too.
    /// </summary>
    public async Task<int> RaiseWarningsAsync(int warnDays, CancellationToken ct = default)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        var today = DateOnly.FromDateTime(now);
        var horizon = today.AddDays(warnDays);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var dueSoon = await db.Orders.AsNoTracking()
            .Where(o => o.Status == OrderStatus.Confirmed && o.PromisedDeliveryDate >= today && o.PromisedDeliveryDate <= horizon && o.DueSoonWarnedAt == null)
            // Most urgent first, 500 per run.
            .OrderBy(o => o.PromisedDeliveryDate).ThenBy(o => o.Id)
            .Select(o => new { o.Id, o.Number, o.CustomerId, o.OwnerId, o.PromisedDeliveryDate }).Take(500).ToListAsync(ct);
        var late = await db.Orders.AsNoTracking()
            .Where(o => (o.Status == OrderStatus.Confirmed || o.Status == OrderStatus.Shipped) && o.PromisedDeliveryDate < today && o.LateWarnedAt == null)
            .OrderBy(o => o.PromisedDeliveryDate).ThenBy(o => o.Id)
            .Select(o => new { o.Id, o.Number, o.CustomerId, o.OwnerId, o.PromisedDeliveryDate }).Take(500).ToListAsync(ct);
        var fallbackOwner = await db.Users.Where(u => u.Role == UserRole.Admin && u.DeactivatedAt == null).OrderBy(u => u.CreatedAt).Select(u => (Guid?)u.Id).FirstOrDefaultAsync(ct);
        var raised = 0;
        foreach (var (order, isLate) in dueSoon.Select(o => (o, false)).Concat(late.Select(o => (o, true))))
        {
            await using var tx = await db.Database.BeginTransactionAsync(ct);
            var claimed = isLate
                ? await db.Orders.Where(o => o.Id == order.Id && o.LateWarnedAt == null).ExecuteUpdateAsync(s => s.SetProperty(o => o.LateWarnedAt, now), ct)
                : await db.Orders.Where(o => o.Id == order.Id && o.DueSoonWarnedAt == null).ExecuteUpdateAsync(s => s.SetProperty(o => o.DueSoonWarnedAt, now), ct);
            if (claimed == 0 || (order.OwnerId ?? fallbackOwner) is not { } assignee) continue;
            db.Tasks.Add(new TaskItem
            {
                Title = isLate ? $"Order {order.Number} is past its promised date {order.PromisedDeliveryDate:yyyy-MM-dd}"
                               : $"Order {order.Number} is due {order.PromisedDeliveryDate:yyyy-MM-dd} and not shipped",
                AssigneeId = assignee, CustomerId = order.CustomerId, RelatedType = "order", RelatedId = order.Id,
                Priority = isLate ? TaskPriority.Urgent : TaskPriority.High, DueAt = now, RemindAt = now, CreatedAt = now, UpdatedAt = now,
            }.WithSortKey());
            await db.SaveChangesAsync(ct);
            await tx.CommitAsync(ct);
            raised++;
        }
        return raised;
    }
}

/// <summary>A customer's orders, quotes and returns on its timeline.</summary>
public sealed class OrderTimelineSource : ITimelineSource
{
    public string Kind => "order";
    public bool HasChannel => false;

    public async Task<IReadOnlyList<TimelineEntry>> ReadAsync(KoloDb db, Guid customerId, TimelinePosition? before, ContactChannel? channel, int limit, CancellationToken ct)
    {
        var q = db.Orders.AsNoTracking().Where(o => o.CustomerId == customerId);
        if (before is { } b) q = q.Where(o => o.OrderedAt <= b.At && (o.OrderedAt < b.At || o.Id.CompareTo(b.Id) < 0));
        var rows = await q.OrderByDescending(o => o.OrderedAt).ThenByDescending(o => o.Id).Take(limit)
            .Select(o => new { o.Id, o.Number, o.OrderedAt, o.Status, o.TotalMinor, o.Currency, o.OwnerId, Lines = o.Lines.Count }).ToListAsync(ct);
        return rows.Select(o => new TimelineEntry
        {
            Kind = Kind, Id = o.Id, At = o.OrderedAt, Title = o.Number, Status = o.Status.ToString(), UserId = o.OwnerId,
            Summary = $"{Money.FromMinor(o.TotalMinor, o.Currency).ToString(System.Globalization.CultureInfo.InvariantCulture)} {o.Currency}",
            Details = new Dictionary<string, object?> { ["total"] = Money.FromMinor(o.TotalMinor, o.Currency), ["currency"] = o.Currency, ["lines"] = o.Lines },
        }).ToList();
    }
}

/// <summary>When two customer records merge, the source's orders belong to the target.</summary>
public sealed class OrderMergeParticipant : ICustomerMergeParticipant
{
    public Task MoveAsync(KoloDb db, Guid sourceId, Guid targetId, CancellationToken ct) =>
        db.Orders.Where(o => o.CustomerId == sourceId).ExecuteUpdateAsync(s => s.SetProperty(o => o.CustomerId, targetId), ct);
}
