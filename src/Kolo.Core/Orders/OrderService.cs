using System.Globalization;
using System.ComponentModel.DataAnnotations;
using Kolo.Core.Catalog;
using Kolo.Core.Customers;
using Kolo.Core.Data;
using Kolo.Core.Platform;
using Kolo.Core.Tasks;
using Kolo.Core.Timeline;
using Microsoft.EntityFrameworkCore;

namespace Kolo.Core.Orders;

public sealed class OrderLineInput
{
    /// <summary>The product by id, or by <see cref="Sku"/>.</summary>
    public Guid? ProductId { get; set; }
    [StringLength(64)] public string? Sku { get; set; }
    [StringLength(500)] public string? Description { get; set; }
    [Range(1, 1_000_000)] public int Quantity { get; set; } = 1;
    /// <summary>Price per unit in the order's currency; the product's list price when omitted.</summary>
    [Range(0, 1_000_000_000)] public decimal? UnitPrice { get; set; }
    /// <summary>Discount on the whole line, as an amount.</summary>
    [Range(0, 1_000_000_000)] public decimal? Discount { get; set; }
    [StringLength(200)] public string? Purpose { get; set; }
}

public sealed class OrderInput
{
    [Required] public Guid? CustomerId { get; set; }
    /// <summary>True: a quote (becomes an order with convert). False: a confirmed order.</summary>
    public bool Quote { get; set; }
    [StringLength(40)] public string? Number { get; set; }
    [StringLength(40)] public string? Channel { get; set; }
    [StringLength(40)] public string? PaymentMethod { get; set; }
    [Required, RegularExpression("^[A-Z]{3}$", ErrorMessage = "Use a three-letter ISO 4217 code, e.g. UAH.")]
    public string? Currency { get; set; }
    public DateTime? OrderedAt { get; set; }
    public DateOnly? PromisedDeliveryDate { get; set; }
    public Guid? OwnerId { get; set; }
    [StringLength(2000)] public string? Notes { get; set; }
    [StringLength(100)] public string? ExternalId { get; set; }
    [Required, MinLength(1, ErrorMessage = "An order needs at least one line.")]
    public List<OrderLineInput>? Lines { get; set; }
}

public sealed class ReturnLineInput
{
    [Required] public Guid? LineId { get; set; }
    [Range(1, 1_000_000)] public int Quantity { get; set; }
}

public sealed class ReturnInput
{
    [Required, MinLength(1, ErrorMessage = "Say which lines come back.")] public List<ReturnLineInput>? Lines { get; set; }
    [StringLength(300)] public string? Reason { get; set; }
}

public sealed class StatusInput
{
    /// <summary>Shipped, Delivered or Cancelled.</summary>
    [Required] public OrderStatus? Status { get; set; }
    /// <summary>When it happened; now when omitted.</summary>
    public DateTime? At { get; set; }
}

public sealed record OrderLineView(Guid Id, int LineNo, Guid? ProductId, string Sku, string Description, int Quantity,
    decimal UnitPrice, decimal Discount, decimal LineTotal, string? Purpose, int ReturnedQuantity, Guid? ReturnOfLineId);

public sealed record OrderView(
    Guid Id, string Number, Guid CustomerId, string? CustomerName, OrderStatus Status, string? Channel, string? PaymentMethod,
    string Currency, DateTime OrderedAt, DateOnly? PromisedDeliveryDate, DateTime? ConfirmedAt, DateTime? ShippedAt,
    DateTime? DeliveredAt, DateTime? CancelledAt, decimal Subtotal, decimal Discount, decimal Total, decimal PolicyDiscount,
    string? PolicyDiscountReason, Guid? ReturnOfOrderId, string? ReturnReason, string? ExternalId, Guid? OwnerId,
    string? Notes, bool Late, IReadOnlyList<OrderLineView> Lines, DateTime CreatedAt, Guid Version);

public sealed record OrderQuery
{
    public Guid? CustomerId { get; init; }
    public OrderStatus? Status { get; init; }
    public Guid? OwnerId { get; init; }
    public DateTime? From { get; init; }
    public DateTime? To { get; init; }
    public string? Q { get; init; }
    /// <summary>-orderedAt (default, newest first), orderedAt, number or -number.</summary>
    public string? Sort { get; init; }
    public int Limit { get; init; } = 50;
    public string? Cursor { get; init; }
}

/// <summary>Totals of an order from its lines, in minor units: the one place this arithmetic lives.</summary>
public static class OrderTotals
{
    public static void Apply(Order order)
    {
        foreach (var line in order.Lines)
        {
            var sign = order.Status == OrderStatus.Returned ? -1 : 1;
            line.LineTotalMinor = sign * (line.Quantity * line.UnitPriceMinor - line.DiscountMinor);
        }
        var sign2 = order.Status == OrderStatus.Returned ? -1 : 1;
        order.SubtotalMinor = sign2 * order.Lines.Sum(l => l.Quantity * l.UnitPriceMinor);
        order.DiscountMinor = sign2 * (order.Lines.Sum(l => l.DiscountMinor) + order.PolicyDiscountMinor);
        order.TotalMinor = order.SubtotalMinor - order.DiscountMinor;
    }

    /// <summary>Basis points of an amount, rounded half away from zero to the minor unit.</summary>
    public static long Percent(long minor, int basisPoints) =>
        (long)Math.Round(minor * (decimal)basisPoints / 10_000m, MidpointRounding.AwayFromZero);
}

/// <summary>Quotes, orders, returns and their life cycle, with the regular-customer rule and the customer's status.</summary>
public sealed class OrderService(IDbContextFactory<KoloDb> dbFactory, TimeProvider clock)
{
    public const string EntityType = "order";

    public async Task<OrderView> GetAsync(Actor actor, Guid id, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var order = await VisibleOrders(db, actor).AsNoTracking().Include(o => o.Lines).FirstOrDefaultAsync(o => o.Id == id, ct)
            ?? throw new NotFoundException("Order", id);
        return (await ViewsAsync(db, [order], ct))[0];
    }

    /// <summary>
    /// Newest first (or oldest first, or by number either way), keyset-paged on indexed keys; filters by customer, status,
    /// owner, date range and number prefix.
    /// </summary>
    public async Task<Page<OrderView>> ListAsync(Actor actor, OrderQuery query, CancellationToken ct = default)
    {
        var errors = new ValidationErrors();
        if (query.Limit is < 1 or > 500) errors.Add("limit", "Limit must be between 1 and 500.");
        var sort = string.IsNullOrWhiteSpace(query.Sort) ? "-orderedAt" : query.Sort.Trim();
        if (sort is not ("-orderedAt" or "orderedAt" or "number" or "-number"))
            errors.Add("sort", "Sort by orderedAt or number, with a leading '-' for descending.");
        errors.ThrowIfAny();
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var q = Filter(VisibleOrders(db, actor).AsNoTracking(), query);
        if (!string.IsNullOrEmpty(query.Cursor))
        {
            var (key, id) = Cursors.Decode(query.Cursor, sort);
            q = sort switch
            {
                "number" => q.Where(o => o.Number.CompareTo(key) > 0),
                "-number" => q.Where(o => o.Number.CompareTo(key) < 0),
                "orderedAt" => OrderedAfter(q, Cursors.Time(key), id),
                _ => OrderedBefore(q, Cursors.Time(key), id),
            };
        }
        q = sort switch
        {
            "number" => q.OrderBy(o => o.Number),
            "-number" => q.OrderByDescending(o => o.Number),
            "orderedAt" => q.OrderBy(o => o.OrderedAt).ThenBy(o => o.Id),
            _ => q.OrderByDescending(o => o.OrderedAt).ThenByDescending(o => o.Id),
        };
        var rows = await q.Take(query.Limit + 1).Include(o => o.Lines).AsSplitQuery().ToListAsync(ct);
        var last = rows.Count > query.Limit ? rows[query.Limit - 1] : null;
        var next = last is null ? null
            : Cursors.Encode(sort, sort.EndsWith("number", StringComparison.Ordinal) ? last.Number : last.OrderedAt.Ticks.ToString(CultureInfo.InvariantCulture), last.Id);
        return new Page<OrderView>(await ViewsAsync(db, rows.Take(query.Limit).ToList(), ct), next);
    }

    private static IQueryable<Order> OrderedAfter(IQueryable<Order> q, DateTime at, Guid id) =>
        q.Where(o => o.OrderedAt >= at && (o.OrderedAt > at || o.Id.CompareTo(id) > 0));

    private static IQueryable<Order> OrderedBefore(IQueryable<Order> q, DateTime at, Guid id) =>
        q.Where(o => o.OrderedAt <= at && (o.OrderedAt < at || o.Id.CompareTo(id) < 0));

    /// <summary>The list's filters, shared with the export so both return the same rows.</summary>
    public static IQueryable<Order> Filter(IQueryable<Order> q, OrderQuery query)
    {
        if (query.CustomerId is { } customer) q = q.Where(o => o.CustomerId == customer);
        if (query.Status is { } status) q = q.Where(o => o.Status == status);
        if (query.OwnerId is { } owner) q = q.Where(o => o.OwnerId == owner);
        if (query.From is { } from) q = q.Where(o => o.OrderedAt >= from);
        if (query.To is { } to) q = q.Where(o => o.OrderedAt < to);
        if (!string.IsNullOrWhiteSpace(query.Q))
        {
            var prefix = query.Q.Trim();
            var hi = TextNormalizer.PrefixUpperBound(prefix);
            q = q.Where(o => o.Number.CompareTo(prefix) >= 0 && o.Number.CompareTo(hi) < 0);
        }
        return q;
    }

    public async Task<OrderView> CreateAsync(Actor actor, OrderInput input, CancellationToken ct = default)
    {
        EnsureCanSell(actor);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var errors = new ValidationErrors();
        var customer = await db.Customers.VisibleTo(db, actor).FirstOrDefaultAsync(c => c.Id == input.CustomerId, ct);
        if (customer is null) errors.Add("customerId", "No such customer.");
        else if (customer.MergedIntoId is not null) errors.Add("customerId", "This customer was merged into another record; use that one.");
        // Checked as they will be stored (trimmed; blank means none), so a padded copy is refused here, not by the index.
        var number = Clean(input.Number);
        var externalId = Clean(input.ExternalId);
        if (number is not null && await db.Orders.AnyAsync(o => o.Number == number, ct)) errors.Add("number", "An order with this number exists already.");
        if (externalId is not null && await db.Orders.AnyAsync(o => o.ExternalId == externalId, ct)) errors.Add("externalId", "An order with this external id exists already.");
        // An unknown owner would be stored (there is no foreign key) and break the tasks made for it later.
        if (input.OwnerId is { } ownerId && !await db.Users.AnyAsync(u => u.Id == ownerId && u.DeactivatedAt == null, ct))
            errors.Add("ownerId", "No active user has this id.");
        var lines = await BuildLinesAsync(db, input.Lines ?? [], input.Currency!, errors, ct);
        errors.ThrowIfAny();

        var now = Now();
        var order = new Order
        {
            Number = number ?? await NextNumberAsync(db, input.Quote, ct), CustomerId = customer!.Id,
            Status = input.Quote ? OrderStatus.Quote : OrderStatus.Confirmed, Channel = Clean(input.Channel),
            PaymentMethod = Clean(input.PaymentMethod), Currency = input.Currency!, OrderedAt = input.OrderedAt?.ToUniversalTime() ?? now,
            PromisedDeliveryDate = input.PromisedDeliveryDate, ConfirmedAt = input.Quote ? null : now,
            OwnerId = input.OwnerId ?? customer.OwnerId ?? NullIfSystem(actor), Notes = Clean(input.Notes), ExternalId = externalId,
            CreatedAt = now, UpdatedAt = now, Lines = lines,
        };
        foreach (var line in lines) line.OrderId = order.Id;
        await ApplyRegularCustomerPolicyAsync(db, actor, order, now, ct);
        OrderTotals.Apply(order);
        db.Orders.Add(order);
        if (order.Status != OrderStatus.Quote) PromoteToCustomer(db, actor, customer, now);
        db.AuditEntries.Add(Audit.Entry(actor, now, EntityType, order.Id, AuditActions.Created,
            [new FieldChange("number", null, order.Number), new FieldChange("status", null, order.Status.ToString()),
             new FieldChange("total", null, Money.FromMinor(order.TotalMinor, order.Currency).ToString(System.Globalization.CultureInfo.InvariantCulture))]));
        await db.SaveChangesAsync(ct);
        return (await ViewsAsync(db, [order], ct))[0];
    }

    /// <summary>A quote becomes a confirmed order in one step; its lines, prices and number stay.</summary>
    public async Task<OrderView> ConvertAsync(Actor actor, Guid id, Guid? expectedVersion, CancellationToken ct = default)
    {
        EnsureCanSell(actor);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var order = await LoadAsync(db, actor, id, expectedVersion, ct);
        if (order.Status != OrderStatus.Quote) throw ValidationFailedException.For("status", "Only a quote can be converted into an order.");
        var now = Now();
        order.Status = OrderStatus.Confirmed;
        order.ConfirmedAt = now;
        var customer = await db.Customers.FirstAsync(c => c.Id == order.CustomerId, ct);
        PromoteToCustomer(db, actor, customer, now);
        await SaveAsync(db, actor, order, "converted", [new FieldChange("status", nameof(OrderStatus.Quote), nameof(OrderStatus.Confirmed))], ct);
        return (await ViewsAsync(db, [order], ct))[0];
    }

    /// <summary>Shipped, delivered or cancelled, in that order of life; a shipped order cannot be cancelled.</summary>
    public async Task<OrderView> SetStatusAsync(Actor actor, Guid id, Guid? expectedVersion, StatusInput input, CancellationToken ct = default)
    {
        EnsureCanSell(actor);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var order = await LoadAsync(db, actor, id, expectedVersion, ct);
        var at = input.At?.ToUniversalTime() ?? Now();
        var from = order.Status;
        var allowed = (from, input.Status) switch
        {
            (OrderStatus.Confirmed, OrderStatus.Shipped) => true,
            (OrderStatus.Confirmed or OrderStatus.Shipped, OrderStatus.Delivered) => true,
            (OrderStatus.Quote or OrderStatus.Confirmed, OrderStatus.Cancelled) => true,
            _ => false,
        };
        if (!allowed) throw ValidationFailedException.For("status", $"A {from} order cannot become {input.Status}.");
        // Its return record already took the returned goods off the customer's purchases: cancelling the order as well
        // would refund them twice.
        if (input.Status == OrderStatus.Cancelled && order.Lines.Any(l => l.ReturnedQuantity > 0))
            throw ValidationFailedException.For("status", "Part of this order has come back already; record a return of the rest instead of cancelling it.");
        order.Status = input.Status!.Value;
        switch (order.Status)
        {
            case OrderStatus.Shipped: order.ShippedAt = at; break;
            case OrderStatus.Delivered: order.ShippedAt ??= at; order.DeliveredAt = at; break;
            case OrderStatus.Cancelled: order.CancelledAt = at; break;
        }
        await SaveAsync(db, actor, order, "status", [new FieldChange("status", from.ToString(), order.Status.ToString())], ct);
        return (await ViewsAsync(db, [order], ct))[0];
    }

    /// <summary>Records goods coming back: a return record with negative totals, and the returned counts on the order.</summary>
    public async Task<OrderView> ReturnAsync(Actor actor, Guid id, ReturnInput input, Guid? expectedVersion = null, CancellationToken ct = default)
    {
        EnsureCanSell(actor);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var order = await LoadAsync(db, actor, id, expectedVersion, ct);
        var errors = new ValidationErrors();
        if (order.Status is not (OrderStatus.Confirmed or OrderStatus.Shipped or OrderStatus.Delivered))
            errors.Add("status", "Only a confirmed, shipped or delivered order can be returned.");
        var now = Now();
        var returned = new Order
        {
            Number = await NextReturnNumberAsync(db, order.Number, ct), CustomerId = order.CustomerId, Status = OrderStatus.Returned,
            Currency = order.Currency, OrderedAt = now, ReturnOfOrderId = order.Id, ReturnReason = Clean(input.Reason),
            OwnerId = order.OwnerId, Channel = order.Channel, PaymentMethod = order.PaymentMethod, CreatedAt = now, UpdatedAt = now,
        };
        var lineNo = 0;
        var returnedNetBefore = ReturnedNet(order);
        foreach (var (r, i) in (input.Lines ?? []).Select((r, i) => (r, i)))
        {
            var line = order.Lines.FirstOrDefault(l => l.Id == r.LineId);
            if (line is null) { errors.Add($"lines[{i}].lineId", "This order has no such line."); continue; }
            if (r.Quantity > line.Quantity - line.ReturnedQuantity)
            {
                errors.Add($"lines[{i}].quantity", $"At most {line.Quantity - line.ReturnedQuantity} of this line can still come back.");
                continue;
            }
            // The refund is proportional: the line's discount is returned with the goods. Each return takes the
            // difference of the cumulative shares, so returning a whole line in parts refunds exactly its total.
            var discount = DiscountShare(line.DiscountMinor, line.ReturnedQuantity + r.Quantity, line.Quantity)
                - DiscountShare(line.DiscountMinor, line.ReturnedQuantity, line.Quantity);
            line.ReturnedQuantity += r.Quantity;
            returned.Lines.Add(new OrderLine
            {
                OrderId = returned.Id, LineNo = ++lineNo, ProductId = line.ProductId, Sku = line.Sku, Description = line.Description,
                Quantity = r.Quantity, UnitPriceMinor = line.UnitPriceMinor, DiscountMinor = discount, ReturnOfLineId = line.Id, Purpose = line.Purpose,
            });
        }
        errors.ThrowIfAny();
        // The regular-customer discount came off the whole order: it comes back in proportion to the goods' net value,
        // by the same cumulative shares, so a refund never exceeds what was paid.
        var orderNet = order.Lines.Sum(l => l.Quantity * l.UnitPriceMinor - l.DiscountMinor);
        returned.PolicyDiscountMinor = DiscountShare(order.PolicyDiscountMinor, ReturnedNet(order), orderNet)
            - DiscountShare(order.PolicyDiscountMinor, returnedNetBefore, orderNet);
        OrderTotals.Apply(returned);
        db.Orders.Add(returned);
        db.AuditEntries.Add(Audit.Entry(actor, now, EntityType, returned.Id, AuditActions.Created,
            [new FieldChange("returnOf", null, order.Number), new FieldChange("lines", null, returned.Lines.Count.ToString(System.Globalization.CultureInfo.InvariantCulture))]));
        var fullyReturned = order.Lines.All(l => l.ReturnedQuantity >= l.Quantity);
        await SaveAsync(db, actor, order, "returned",
            [new FieldChange("returned", null, fullyReturned ? "all" : "part"), new FieldChange("returnNumber", null, returned.Number)], ct);
        return (await ViewsAsync(db, [returned], ct))[0];
    }

    /// <summary>The part of a discount that belongs to <paramref name="part"/> of <paramref name="whole"/>, rounded down.</summary>
    private static long DiscountShare(long discount, long part, long whole) =>
        whole <= 0 ? 0 : (long)(discount * (decimal)part / whole);

    /// <summary>The net value (after line discounts) of what has come back from an order so far.</summary>
    private static long ReturnedNet(Order order) => order.Lines.Sum(l =>
        l.ReturnedQuantity * l.UnitPriceMinor - DiscountShare(l.DiscountMinor, l.ReturnedQuantity, l.Quantity));

    public async Task<RegularCustomerPolicy> GetPolicyAsync(CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.RegularCustomerPolicies.AsNoTracking().SingleAsync(ct);
    }

    public async Task<RegularCustomerPolicy> SetPolicyAsync(Actor actor, Guid expectedVersion, RegularCustomerPolicy input, CancellationToken ct = default)
    {
        if (actor.Role != UserRole.Admin) throw new ForbiddenException("Only admins set the regular-customer policy.");
        var errors = new ValidationErrors();
        if (input.MinOrders is < 1 or > 1000) errors.Add("minOrders", "Between 1 and 1000 orders.");
        if (input.Months is < 1 or > 120) errors.Add("months", "Between 1 and 120 months.");
        if (input.DiscountBasisPoints is < 0 or > 10_000) errors.Add("discountBasisPoints", "Between 0 and 10000 (100 %).");
        // JSON accepts an enum as any number; an undefined one would be stored and act as "remind".
        if (!Enum.IsDefined(input.Action)) errors.Add("action", "ApplyDiscount or RemindOwner.");
        errors.ThrowIfAny();
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var policy = await db.RegularCustomerPolicies.SingleAsync(ct);
        if (policy.Version != expectedVersion) throw new PreconditionFailedException();
        var before = $"{policy.Active}|{policy.MinOrders}|{policy.Months}|{policy.DiscountBasisPoints}|{policy.Action}";
        (policy.Active, policy.MinOrders, policy.Months, policy.DiscountBasisPoints, policy.Action) =
            (input.Active, input.MinOrders, input.Months, input.DiscountBasisPoints, input.Action);
        policy.Version = Guid.NewGuid();
        db.AuditEntries.Add(Audit.Entry(actor, Now(), "regular-customer-policy", Guid.Empty, AuditActions.Updated,
            [new FieldChange("policy", before, $"{policy.Active}|{policy.MinOrders}|{policy.Months}|{policy.DiscountBasisPoints}|{policy.Action}")]));
        await db.SaveChangesAsync(ct);
        return policy;
    }

    /// <summary>
    /// The customer has at least N orders (not quotes, cancellations or returns) in the last M months: discount this
    /// order, or remind the owner to offer it — whichever the admin chose.
    /// </summary>
    private static async Task ApplyRegularCustomerPolicyAsync(KoloDb db, Actor actor, Order order, DateTime now, CancellationToken ct)
    {
        var policy = await db.RegularCustomerPolicies.AsNoTracking().SingleAsync(ct);
        if (!policy.Active) return;
        var since = order.OrderedAt.AddMonths(-policy.Months);
        var previous = await db.Orders.CountAsync(o => o.CustomerId == order.CustomerId && o.OrderedAt >= since
            && (o.Status == OrderStatus.Confirmed || o.Status == OrderStatus.Shipped || o.Status == OrderStatus.Delivered), ct);
        if (previous < policy.MinOrders) return;
        var percent = (policy.DiscountBasisPoints / 100m).ToString("0.##", System.Globalization.CultureInfo.InvariantCulture);
        var reason = $"Regular customer: {previous} orders in the last {policy.Months} months (policy: {policy.MinOrders}) → {percent} % off";
        if (policy.Action == RegularCustomerAction.ApplyDiscount)
        {
            var subtotal = order.Lines.Sum(l => l.Quantity * l.UnitPriceMinor - l.DiscountMinor);
            order.PolicyDiscountMinor = OrderTotals.Percent(subtotal, policy.DiscountBasisPoints);
            order.PolicyDiscountReason = reason;
        }
        else if (order.OwnerId is { } owner)
        {
            db.Tasks.Add(new TaskItem
            {
                Title = $"Offer the regular-customer discount on {order.Number}", Notes = reason, AssigneeId = owner,
                CustomerId = order.CustomerId, RelatedType = "order", RelatedId = order.Id, Priority = TaskPriority.High,
                DueAt = now.AddDays(1), CreatedAt = now, UpdatedAt = now, CreatedById = actor.UserId == Guid.Empty ? null : actor.UserId,
            }.WithSortKey());
        }
    }

    /// <summary>A prospect, lead or lapsed customer who buys is a customer.</summary>
    internal static void PromoteToCustomer(KoloDb db, Actor actor, Customer customer, DateTime now)
    {
        if (Promote(actor, customer, now) is { } audit) db.AuditEntries.Add(audit);
    }

    /// <summary>Makes the customer a customer (first order); returns the audit entry to store, or null when it already was one.</summary>
    internal static AuditEntry? Promote(Actor actor, Customer customer, DateTime now)
    {
        if (customer.Status == LifecycleStatus.Customer) return null;
        var audit = Audit.Entry(actor, now, CustomerService.EntityType, customer.Id, AuditActions.Updated,
            [new FieldChange(CustomerFields.Status, customer.Status.ToString(), nameof(LifecycleStatus.Customer))]);
        customer.Status = LifecycleStatus.Customer;
        customer.UpdatedAt = now;
        customer.Version = Guid.NewGuid();
        return audit;
    }

    private async Task<List<OrderLine>> BuildLinesAsync(KoloDb db, List<OrderLineInput> inputs, string currency, ValidationErrors errors, CancellationToken ct)
    {
        var ids = inputs.Where(l => l.ProductId != null).Select(l => l.ProductId!.Value).ToList();
        var skus = inputs.Where(l => l.ProductId == null && l.Sku != null).Select(l => l.Sku!.Trim()).ToList();
        var products = await db.Products.AsNoTracking().Where(p => ids.Contains(p.Id) || skus.Contains(p.Sku)).ToListAsync(ct);
        var lines = new List<OrderLine>();
        foreach (var (l, i) in inputs.Select((l, i) => (l, i)))
        {
            var product = l.ProductId is { } pid ? products.FirstOrDefault(p => p.Id == pid) : products.FirstOrDefault(p => p.Sku == l.Sku?.Trim());
            if (product is null && (l.ProductId is not null || l.UnitPrice is null))
            {
                errors.Add($"lines[{i}].productId", "No such product; give a known product, or a SKU, description and unit price.");
                continue;
            }
            if (product is not null && l.UnitPrice is null && product.Currency != currency)
                errors.Add($"lines[{i}].unitPrice", $"The product is priced in {product.Currency}; give the price in {currency}.");
            var unit = l.UnitPrice is { } price ? Money.ToMinor(price, currency) : product?.ListPriceMinor ?? 0;
            var discount = l.Discount is { } d ? Money.ToMinor(d, currency) : 0;
            if (discount > unit * l.Quantity) errors.Add($"lines[{i}].discount", "The discount is larger than the line.");
            lines.Add(new OrderLine
            {
                LineNo = i + 1, ProductId = product?.Id, Sku = product?.Sku ?? l.Sku?.Trim() ?? "",
                Description = Clean(l.Description) ?? product?.Name ?? "", Quantity = l.Quantity, UnitPriceMinor = unit,
                DiscountMinor = discount, Purpose = Clean(l.Purpose),
            });
        }
        return lines;
    }

    private static async Task<string> NextNumberAsync(KoloDb db, bool quote, CancellationToken ct)
    {
        // Readable, sortable and unique without a sequence (which SQLite lacks): Q/SO-yyyyMMdd-<random>.
        for (var attempt = 0; ; attempt++)
        {
            var number = $"{(quote ? "Q" : "SO")}-{DateTime.UtcNow:yyyyMMdd}-{Random.Shared.Next(100_000, 999_999)}";
            if (attempt > 5 || !await db.Orders.AnyAsync(o => o.Number == number, ct)) return number;
        }
    }

    private static async Task<string> NextReturnNumberAsync(KoloDb db, string orderNumber, CancellationToken ct)
    {
        // Numbers hold 40 characters: a long order number gives up its end so "-R" and the count still fit (up to 9999).
        var prefix = orderNumber[..Math.Min(orderNumber.Length, 34)] + "-R";
        var count = await db.Orders.CountAsync(o => o.Number.StartsWith(prefix), ct);
        return $"{prefix}{count + 1}";
    }

    private static async Task<Order> LoadAsync(KoloDb db, Actor actor, Guid id, Guid? expectedVersion, CancellationToken ct)
    {
        var order = await VisibleOrders(db, actor).Include(o => o.Lines).FirstOrDefaultAsync(o => o.Id == id, ct)
            ?? throw new NotFoundException("Order", id);
        if (expectedVersion is { } v && order.Version != v) throw new PreconditionFailedException();
        return order;
    }

    private async Task SaveAsync(KoloDb db, Actor actor, Order order, string action, List<FieldChange> changes, CancellationToken ct)
    {
        order.UpdatedAt = Now();
        order.Version = Guid.NewGuid();
        db.AuditEntries.Add(Audit.Entry(actor, order.UpdatedAt, EntityType, order.Id, action, changes));
        try { await db.SaveChangesAsync(ct); }
        catch (DbUpdateConcurrencyException) { throw new PreconditionFailedException(); }
    }

    /// <summary>Orders of the customers the caller may see.</summary>
    public static IQueryable<Order> VisibleOrders(KoloDb db, Actor actor)
    {
        if (actor.Role != UserRole.Sales || actor.CustomerAccess == CustomerAccess.All) return db.Orders;
        var customers = db.Customers.VisibleTo(db, actor).Select(c => c.Id);
        return db.Orders.Where(o => customers.Contains(o.CustomerId));
    }

    private static void EnsureCanSell(Actor actor)
    {
        if (actor.Role is UserRole.Marketing or UserRole.Support)
            throw new ForbiddenException($"A {actor.Role} user cannot create or change orders.");
    }

    internal static async Task<IReadOnlyList<OrderView>> ViewsAsync(KoloDb db, List<Order> rows, CancellationToken ct)
    {
        if (rows.Count == 0) return [];
        var names = await DisplayNames.OfCustomersAsync(db, rows.Select(r => r.CustomerId).Distinct().ToList(), ct);
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        return rows.Select(o => new OrderView(
            o.Id, o.Number, o.CustomerId, names.GetValueOrDefault(o.CustomerId), o.Status, o.Channel, o.PaymentMethod, o.Currency,
            o.OrderedAt, o.PromisedDeliveryDate, o.ConfirmedAt, o.ShippedAt, o.DeliveredAt, o.CancelledAt,
            Money.FromMinor(o.SubtotalMinor, o.Currency), Money.FromMinor(o.DiscountMinor, o.Currency), Money.FromMinor(o.TotalMinor, o.Currency),
            Money.FromMinor(o.PolicyDiscountMinor, o.Currency), o.PolicyDiscountReason, o.ReturnOfOrderId, o.ReturnReason, o.ExternalId,
            o.OwnerId, o.Notes, IsLate(o, today),
            o.Lines.OrderBy(l => l.LineNo).Select(l => new OrderLineView(l.Id, l.LineNo, l.ProductId, l.Sku, l.Description, l.Quantity,
                Money.FromMinor(l.UnitPriceMinor, o.Currency), Money.FromMinor(l.DiscountMinor, o.Currency), Money.FromMinor(l.LineTotalMinor, o.Currency),
                l.Purpose, l.ReturnedQuantity, l.ReturnOfLineId)).ToList(),
            o.CreatedAt, o.Version)).ToList();
    }

    /// <summary>Promised, not yet delivered, and the promised day has passed.</summary>
    public static bool IsLate(Order o, DateOnly today) =>
        o.PromisedDeliveryDate is { } promised && promised < today && o.Status is OrderStatus.Confirmed or OrderStatus.Shipped;

    private DateTime Now() => clock.GetUtcNow().UtcDateTime;

    private static Guid? NullIfSystem(Actor actor) => actor.UserId == Guid.Empty ? null : actor.UserId;

    private static string? Clean(string? text) => string.IsNullOrWhiteSpace(text) ? null : text.Trim();
}
