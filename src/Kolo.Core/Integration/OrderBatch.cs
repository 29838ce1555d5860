using Kolo.Core.Catalog;
using Kolo.Core.Customers;
using Kolo.Core.Data;
using Kolo.Core.Orders;
using Kolo.Core.Platform;
using Microsoft.EntityFrameworkCore;

namespace Kolo.Core.Integration;

/// <summary>
/// Orders from order lines. Rows sharing an order id are one order, committed whole with its customer and products.
/// An order id already in the database counts as unchanged (an imported order is a record of the past: re-importing
/// does not rewrite it). An unknown customer or product is created. With the cancellationPrefix option, an order
/// whose id starts with the prefix is a return (status Returned, negative totals); each of its lines points at the
/// line of the customer's most recent order up to that time with the same SKU, whose returned count goes up (up to
/// the quantity bought), and the return points at the order of its first such line.
/// </summary>
internal sealed class OrderBatch(ColumnMap map, Actor actor, TimeProvider clock, CustomerService customers, DateTime? jobStartedAt) : BatchProcessor(map)
{
    // Orders this job created in an earlier batch: a later row of theirs (a file not sorted by order) is added to them.
    // After a takeover the set starts empty, so an order created since the job started counts as the job's own too.
    private readonly HashSet<string> _createdThisRun = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Product> _products = new(StringComparer.Ordinal);

    // Customers the previous batch created or promoted. The engine prepares a batch while the one before it is still
    // being written, so these are not in the database yet when this batch looks its customers up.
    private Dictionary<string, Customer> _createdBefore = new(StringComparer.Ordinal), _createdNow = new(StringComparer.Ordinal);
    private HashSet<Guid> _promotedBefore = [], _promotedNow = [];

    public override bool GroupsRows => true;

    public override string? KeyOf(ImportRow row) =>
        Map.Flag("externalIdFromRow") ? row.RowId : ImportValues.NormalizeId(Map.Text(row, "externalId"));

    private sealed record Line(ImportRow Row, string Customer, DateTime OrderedAt, string Sku, string Description, int Quantity,
        long UnitMinor, long DiscountMinor, string Currency, string? Country, string? Channel, string? Payment, OrderStatus Status);

    private sealed record Candidate(OrderLine Line, Guid CustomerId, DateTime OrderedAt, Guid OrderId);

    /// <summary>A return: its number starts with the cancellation prefix, or its status says Returned.</summary>
    private bool IsReturn(string key, OrderStatus? status) =>
        status == OrderStatus.Returned || Map.Option("cancellationPrefix") is { } p && key.StartsWith(p, StringComparison.Ordinal);

    /// <summary>A return points at lines of earlier orders and changes their returned count: those must be committed.</summary>
    public override bool DependsOnPreviousBatch(List<ImportRow> rows) =>
        (Map.Option("cancellationPrefix") is not null || Map.Has("status")) && rows.Any(r => KeyOf(r) is { } key && IsReturn(key, StatusOf(r)));

    /// <summary>The row's status by name, or null when the column is unmapped or empty or the value is not a status name (Parse rejects it).</summary>
    private OrderStatus? StatusOf(ImportRow row) =>
        Map.Text(row, "status") is { } text && text.All(char.IsAsciiLetter) && Enum.TryParse<OrderStatus>(text, ignoreCase: true, out var status) ? status : null;

    /// <summary>Counts as a purchase: makes its customer a customer.</summary>
    private static bool IsPurchase(OrderStatus status) => status is OrderStatus.Confirmed or OrderStatus.Shipped or OrderStatus.Delivered;

    public override async Task ProcessAsync(KoloDb db, List<ImportRow> rows, BatchResult result, CancellationToken ct)
    {
        (_createdBefore, _createdNow) = (_createdNow, new Dictionary<string, Customer>(StringComparer.Ordinal));
        (_promotedBefore, _promotedNow) = (_promotedNow, []);
        var now = clock.GetUtcNow().UtcDateTime;
        var groups = new Dictionary<string, List<Line>>(StringComparer.Ordinal);
        foreach (var row in rows)
        {
            try
            {
                var key = KeyOf(row) ?? throw new RowRejectedException("externalId is empty: the row belongs to no order.");
                var line = Parse(row, key);
                if (!groups.TryGetValue(key, out var lines)) groups[key] = lines = [];
                else if (lines[0].Customer != line.Customer)
                    throw new RowRejectedException($"Order {key} belongs to customer {lines[0].Customer}, but this row names customer {line.Customer}.");
                else if (lines[0].Currency != line.Currency)
                    throw new RowRejectedException($"Order {key} is in {lines[0].Currency}, but this row is in {line.Currency}.");
                else if (lines[0].Status != line.Status)
                    throw new RowRejectedException($"Order {key} is {lines[0].Status}, but this row says {line.Status}.");
                lines.Add(line);
            }
            catch (RowRejectedException e) { result.Reject(row, e.Message); }
        }
        if (groups.Count == 0) return;

        var keys = groups.Keys.ToList();
        var known = await db.Orders.AsNoTracking().Where(o => EF.Parameter(keys).Contains(o.ExternalId!) || EF.Parameter(keys).Contains(o.Number))
            .Select(o => new { o.Id, o.ExternalId, o.Number, o.CreatedAt }).ToListAsync(ct);
        var appendTo = new Dictionary<string, Guid>(StringComparer.Ordinal);
        foreach (var o in known)
        {
            var key = o.ExternalId is { } x && groups.ContainsKey(x) ? x : o.Number;
            if (!groups.Remove(key, out var lines)) continue;
            if (o.ExternalId != key)
                foreach (var l in lines) result.Reject(l.Row, $"Order number {key} is used by another order.");
            else if (_createdThisRun.Contains(key) || o.CreatedAt >= jobStartedAt) { groups[key] = lines; appendTo[key] = o.Id; }
            else result.Unchanged++;
        }
        if (groups.Count == 0) return;

        var buyers = groups.Values.Where(g => IsPurchase(g[0].Status)).Select(g => g[0].Customer).ToHashSet(StringComparer.Ordinal);
        var customerMap = await CustomersAsync(db, groups.Values.Select(g => g[0]), buyers, result, now, ct);
        var productMap = await ProductsAsync(db, groups.Values.SelectMany(g => g), result, now, ct);
        var appendIds = appendTo.Values.ToList();
        var appended = await db.Orders.Include(o => o.Lines).Where(o => EF.Parameter(appendIds).Contains(o.Id)).ToDictionaryAsync(o => o.ExternalId!, StringComparer.Ordinal, ct);

        var returns = new List<(Order Order, List<Line> Lines)>();
        var promoted = new List<Guid>();
        var newOrders = new List<Order>();
        foreach (var (key, lines) in groups)
        {
            var first = lines[0];
            var customer = customerMap[first.Customer];
            var status = first.Status;
            var isReturn = status == OrderStatus.Returned;
            if (appended.TryGetValue(key, out var stored) && stored.Status != status)
            {
                // Later rows of an order this job created: a sale cannot become a return, nor the other way round.
                foreach (var l in lines) result.Reject(l.Row, $"Order {key} is {stored.Status}, but this row says {status}.");
                appended.Remove(key);
                continue;
            }
            if (!appended.TryGetValue(key, out var order))
            {
                // The file gives one date: a shipped, delivered or cancelled order took that step on it as far as Kolo knows.
                order = new Order
                {
                    Number = key, ExternalId = key, CustomerId = customer.Id, Currency = first.Currency, OrderedAt = first.OrderedAt, Status = status,
                    ConfirmedAt = IsPurchase(status) ? first.OrderedAt : null,
                    ShippedAt = status is OrderStatus.Shipped or OrderStatus.Delivered ? first.OrderedAt : null,
                    DeliveredAt = status == OrderStatus.Delivered ? first.OrderedAt : null,
                    CancelledAt = status == OrderStatus.Cancelled ? first.OrderedAt : null,
                    ReturnReason = isReturn ? "Cancelled in the source system" : null, Channel = first.Channel, PaymentMethod = first.Payment,
                    OwnerId = customer.OwnerId, CreatedAt = now, UpdatedAt = now,
                };
                newOrders.Add(order);
            }
            else
            {
                order.UpdatedAt = now;
                order.Version = Guid.NewGuid();
                result.NewRecords.Add(Audit.Entry(actor, now, OrderService.EntityType, order.Id, AuditActions.Updated,
                    [new FieldChange("lines", Count(order.Lines.Count), Count(order.Lines.Count + lines.Count)), new FieldChange("source", null, "import")]));
            }
            var lineNo = order.Lines.Count == 0 ? 0 : order.Lines.Max(l => l.LineNo);
            foreach (var l in lines)
            {
                var product = productMap[l.Sku];
                var orderLine = new OrderLine
                {
                    OrderId = order.Id, LineNo = ++lineNo, ProductId = product.Id, Sku = l.Sku,
                    Description = l.Description.Length > 0 ? l.Description : product.Name,
                    Quantity = l.Quantity, UnitPriceMinor = l.UnitMinor, DiscountMinor = l.DiscountMinor,
                };
                order.Lines.Add(orderLine);
                // A line found through a stored order's navigation with its key already set would be taken for an
                // existing row: say it is new.
                if (appended.ContainsKey(key)) db.OrderLines.Add(orderLine);
            }
            if (isReturn) returns.Add((order, lines));
            else if (IsPurchase(order.Status) && OrderService.Promote(actor, customer, now) is { } promotion)
            {
                result.NewRecords.Add(promotion);
                promoted.Add(customer.Id);
                _promotedNow.Add(customer.Id);
            }
        }

        if (promoted.Count > 0)
        {
            var version = Guid.NewGuid();
            result.Updates.Add((target, token) => target.Customers.Where(c => EF.Parameter(promoted).Contains(c.Id)).ExecuteUpdateAsync(s => s
                .SetProperty(c => c.Status, LifecycleStatus.Customer).SetProperty(c => c.UpdatedAt, now).SetProperty(c => c.Version, version), token));
        }
        // Stored orders whose goods a return of this batch brings back: audited and given a new version, as the API's
        // return does, so a client holding the old ETag cannot record the same goods coming back again.
        var returnedFrom = await LinkReturnsAsync(db, returns, newOrders, ct);
        foreach (var (orderId, returnNumber) in returnedFrom)
            result.NewRecords.Add(Audit.Entry(actor, now, OrderService.EntityType, orderId, "returned",
                [new FieldChange("returnNumber", null, returnNumber), new FieldChange("source", null, "import")]));
        if (returnedFrom.Count > 0)
        {
            // An order this batch adds lines to is tracked and gets its new version with those lines.
            var touched = returnedFrom.Select(r => r.OrderId).Where(id => appended.Values.All(o => o.Id != id)).Distinct().ToList();
            var version = Guid.NewGuid();
            result.Updates.Add((target, token) => target.Orders.Where(o => EF.Parameter(touched).Contains(o.Id)).ExecuteUpdateAsync(s => s
                .SetProperty(o => o.UpdatedAt, now).SetProperty(o => o.Version, version), token));
        }
        foreach (var order in newOrders)
        {
            OrderTotals.Apply(order);
            result.NewRecords.Add(order);
            result.NewRecords.AddRange(order.Lines);
            result.NewRecords.Add(Audit.Entry(actor, now, OrderService.EntityType, order.Id, AuditActions.Created,
                [new FieldChange("number", null, order.Number), new FieldChange("status", null, order.Status.ToString()),
                 new FieldChange("total", null, Money.FromMinor(order.TotalMinor, order.Currency).ToString(System.Globalization.CultureInfo.InvariantCulture)),
                 new FieldChange("source", null, "import")]));
            _createdThisRun.Add(order.ExternalId!);
            result.Created++;
        }
        foreach (var order in appended.Values)
        {
            OrderTotals.Apply(order);
            result.Updated++;
        }
    }

    public override void Validate(ImportRow row) => Parse(row, KeyOf(row) ?? throw new RowRejectedException("externalId is empty: the row belongs to no order."));

    private const int MaxQuantity = 1_000_000;

    private Line Parse(ImportRow row, string key)
    {
        var m = Map;
        if (key.Length > 40) throw new RowRejectedException("The order id is longer than 40 characters.");
        var customer = ImportValues.NormalizeId(m.Text(row, "customerExternalId"))
            ?? throw new RowRejectedException("customerExternalId is empty: the row has no customer id.");
        if (m.Option("customerIdPrefix") is { } prefix) customer = prefix + customer;
        if (customer.Length > 100) throw new RowRejectedException("customerExternalId is longer than 100 characters.");
        var orderedAt = m.Date(row, "orderedAt") ?? throw new RowRejectedException("orderedAt is empty.");
        var sku = m.Text(row, "sku") ?? m.Option("defaultSku") ?? throw new RowRejectedException("sku is empty.");
        if (sku.Length > 64) throw new RowRejectedException("sku is longer than 64 characters.");
        var description = m.Exact(row, "description") ?? "";
        if (description.Length > 500) throw new RowRejectedException("description is longer than 500 characters.");
        var quantity = m.Integer(row, "quantity", MaxQuantity) ?? throw new RowRejectedException("quantity is empty.");
        var status = m.Text(row, "status") is { } statusText
            ? StatusOf(row) ?? throw new RowRejectedException($"status '{statusText}' is not one of {string.Join(", ", Enum.GetNames<OrderStatus>())}.")
            : (OrderStatus?)null;
        var isReturn = IsReturn(key, status);
        var effective = isReturn ? OrderStatus.Returned : status ?? OrderStatus.Confirmed;
        if (quantity == 0) throw new RowRejectedException("quantity is 0.");
        if (quantity < 0 && !isReturn)
            throw new RowRejectedException("quantity is negative on an order that is not a cancellation.");
        quantity = Math.Abs(quantity);
        var currency = m.Currency(row);
        long unit, discount = 0;
        if (m.Decimal(row, "unitPrice") is { } price)
        {
            if (price < 0) throw new RowRejectedException("unitPrice is negative.");
            unit = Money.ToMinor(price, currency);
            // A return's discount is given back with it: the file may write it with either sign.
            if (m.Decimal(row, "discount") is { } lineDiscount)
            {
                discount = Math.Abs(Money.ToMinor(lineDiscount, currency));
                if (lineDiscount < 0 && !isReturn) throw new RowRejectedException("discount is negative.");
                if (discount > unit * quantity) throw new RowRejectedException("discount is more than the line's amount.");
            }
        }
        else if (m.Decimal(row, "lineTotal", ColumnMap.MaxLineTotal) is { } total)
        {
            if (total < 0 && !isReturn) throw new RowRejectedException("lineTotal is negative on an order that is not a cancellation.");
            // Only the line's amount is known: the unit price is rounded up to the minor unit and the difference
            // (less than one minor unit per item) is the line's discount, so the line total is exactly the file's.
            var totalMinor = Math.Abs(Money.ToMinor(total, currency));
            unit = (totalMinor + quantity - 1) / quantity;
            if (unit > Money.ToMinor(ColumnMap.MaxAmount, currency))
                throw new RowRejectedException($"lineTotal '{total.ToString(System.Globalization.CultureInfo.InvariantCulture)}' is too large: at most {(ColumnMap.MaxAmount * quantity).ToString("0", System.Globalization.CultureInfo.InvariantCulture)}.");
            discount = unit * quantity - totalMinor;
        }
        else throw new RowRejectedException("unitPrice and lineTotal are both empty.");
        return new Line(row, customer, orderedAt, sku, description, quantity, unit, discount, currency,
            m.Text(row, "country"), Cut(m.Text(row, "channel")), Cut(m.Text(row, "paymentMethod")), effective);
    }

    private static string? Cut(string? text) => text is { Length: > 40 } ? text[..40] : text;

    /// <summary>The customers of the batch's orders by external id, creating those not yet known.</summary>
    private async Task<Dictionary<string, Customer>> CustomersAsync(KoloDb db, IEnumerable<Line> firstLines, HashSet<string> buyers, BatchResult result, DateTime now, CancellationToken ct)
    {
        var byId = new Dictionary<string, Line>(StringComparer.Ordinal);
        foreach (var l in firstLines) byId.TryAdd(l.Customer, l);
        var ids = byId.Keys.ToList();
        // Untracked: the only change to them, the first order's promotion, is one set-based update.
        var stored = await db.Customers.AsNoTracking().Where(c => EF.Parameter(ids).Contains(c.ExternalId!))
            .Select(c => new { Customer = new Customer { Id = c.Id, ExternalId = c.ExternalId, OwnerId = c.OwnerId, Status = c.Status }, c.MergedIntoId })
            .ToListAsync(ct);
        // A customer merged into another stands for the record it was merged into: the orders go there, as the API
        // requires. Merges may chain (the survivor merged again later), so they are followed to the end.
        var mergedInto = stored.Where(c => c.MergedIntoId is not null).ToDictionary(c => c.Customer.Id, c => c.MergedIntoId!.Value);
        var survivors = new Dictionary<Guid, Customer>();
        for (var next = mergedInto.Values.Distinct().ToList(); next.Count > 0;)
        {
            var targets = await db.Customers.AsNoTracking().Where(c => EF.Parameter(next).Contains(c.Id))
                .Select(c => new { Customer = new Customer { Id = c.Id, ExternalId = c.ExternalId, OwnerId = c.OwnerId, Status = c.Status }, c.MergedIntoId })
                .ToListAsync(ct);
            next = [];
            foreach (var t in targets)
            {
                if (t.MergedIntoId is not { } further) survivors[t.Customer.Id] = t.Customer;
                else if (mergedInto.TryAdd(t.Customer.Id, further)) next.Add(further);
            }
        }
        Customer Survivor(Customer c)
        {
            var id = c.Id;
            while (mergedInto.TryGetValue(id, out var to)) id = to;
            return survivors.GetValueOrDefault(id) ?? c;
        }
        var found = stored.ToDictionary(c => c.Customer.ExternalId!, c => Survivor(c.Customer), StringComparer.Ordinal);
        foreach (var c in found.Values.Where(c => _promotedBefore.Contains(c.Id))) c.Status = LifecycleStatus.Customer;
        foreach (var (id, line) in byId.Where(x => !found.ContainsKey(x.Key)))
        {
            if (_createdBefore.TryGetValue(id, out var created))
            {
                found[id] = created;
                continue;
            }
            // The file names the customer only by id: the name shows that id until someone enters the real one.
            var customer = new Customer
            {
                // A customer only when one of their orders here is a purchase (not a quote, cancellation or return).
                ExternalId = id, Kind = CustomerKind.Person, LastName = "#" + id, CreatedAt = now, UpdatedAt = now,
                Status = buyers.Contains(id) ? LifecycleStatus.Customer : LifecycleStatus.Prospect,
                Addresses = ImportValues.Country(line.Country) is { } country ? [new PostalAddress { Country = country }] : [],
            };
            customer.RefreshDerivedFields();
            result.NewRecords.Add(customer);
            result.NewRecords.AddRange(customers.BuildSearchTerms(customer));
            result.NewRecords.Add(Audit.Entry(actor, now, CustomerService.EntityType, customer.Id, AuditActions.Created,
                Audit.Diff(new Dictionary<string, string?>(), CustomerService.Snapshot(customer))));
            found[id] = customer;
            // A copy: the record itself is being written while the next batch reads this one.
            _createdNow[id] = new Customer { Id = customer.Id, ExternalId = id, OwnerId = customer.OwnerId, Status = customer.Status };
        }
        return found;
    }

    /// <summary>The batch's products by SKU, creating those not yet known from the first line that names them.</summary>
    private async Task<Dictionary<string, Product>> ProductsAsync(KoloDb db, IEnumerable<Line> lines, BatchResult result, DateTime now, CancellationToken ct)
    {
        var bySku = new Dictionary<string, Line>(StringComparer.Ordinal);
        foreach (var l in lines) bySku.TryAdd(l.Sku, l);
        // Products are looked up once per job: every batch of a large file names mostly the same ones.
        var skus = bySku.Keys.Where(sku => !_products.ContainsKey(sku)).ToList();
        if (skus.Count > 0)
            foreach (var p in await db.Products.AsNoTracking().Where(p => EF.Parameter(skus).Contains(p.Sku)).ToListAsync(ct))
                _products[p.Sku] = p;
        foreach (var (sku, line) in bySku.Where(x => !_products.ContainsKey(x.Key)))
        {
            var name = line.Description.Trim();
            var product = new Product
            {
                Sku = sku, Name = name.Length == 0 ? sku : name[..Math.Min(300, name.Length)], ListPriceMinor = line.UnitMinor,
                Currency = line.Currency, CreatedAt = now, UpdatedAt = now,
            };
            result.NewRecords.Add(product);
            result.NewRecords.Add(Audit.Entry(actor, now, ProductService.EntityType, product.Id, AuditActions.Created, [new FieldChange("sku", null, sku)]));
            _products[sku] = product;
        }
        return _products;
    }

    private static string Count(int n) => n.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Points each return line at the purchase it brings back; answers the stored (earlier) orders touched, with the return's number.</summary>
    private static async Task<HashSet<(Guid OrderId, string ReturnNumber)>> LinkReturnsAsync(KoloDb db, List<(Order Order, List<Line> Lines)> returns, List<Order> newOrders, CancellationToken ct)
    {
        var touched = new HashSet<(Guid, string)>();
        if (returns.Count == 0) return touched;
        var customerIds = returns.Select(r => r.Order.CustomerId).Distinct().ToList();
        var skus = returns.SelectMany(r => r.Order.Lines).Select(l => l.Sku).Distinct().ToList();
        var orders = db.Orders.Where(o => EF.Parameter(customerIds).Contains(o.CustomerId) && o.Status != OrderStatus.Returned
                                          && o.Status != OrderStatus.Quote && o.Status != OrderStatus.Cancelled);
        var stored = await db.OrderLines.Where(l => EF.Parameter(skus).Contains(l.Sku))
            .Join(orders, l => l.OrderId, o => o.Id, (l, o) => new { Line = l, o.CustomerId, o.OrderedAt })
            .ToListAsync(ct);
        var storedOrders = stored.Select(x => x.Line.OrderId).ToHashSet();
        var candidates = stored.Select(x => new Candidate(x.Line, x.CustomerId, x.OrderedAt, x.Line.OrderId))
            .Concat(newOrders.Where(o => IsPurchase(o.Status) && customerIds.Contains(o.CustomerId))
                .SelectMany(o => o.Lines.Select(l => new Candidate(l, o.CustomerId, o.OrderedAt, o.Id))))
            .ToLookup(c => (c.CustomerId, c.Line.Sku));
        foreach (var (order, _) in returns.OrderBy(r => r.Order.OrderedAt))
        {
            foreach (var line in order.Lines.Where(l => l.ReturnOfLineId is null))
            {
                var match = candidates[(order.CustomerId, line.Sku)].Where(c => c.OrderedAt <= order.OrderedAt)
                    .OrderByDescending(c => c.OrderedAt).ThenByDescending(c => c.Line.Quantity - c.Line.ReturnedQuantity).FirstOrDefault();
                if (match is null) continue;
                line.ReturnOfLineId = match.Line.Id;
                match.Line.ReturnedQuantity += Math.Min(line.Quantity, Math.Max(0, match.Line.Quantity - match.Line.ReturnedQuantity));
                order.ReturnOfOrderId ??= match.OrderId;
                if (storedOrders.Contains(match.OrderId)) touched.Add((match.OrderId, order.Number));
            }
        }
        return touched;
    }
}
