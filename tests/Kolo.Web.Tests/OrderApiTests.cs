using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Kolo.Web.Tests.Infrastructure;
using static Kolo.Web.Tests.Infrastructure.OrderApi;

namespace Kolo.Web.Tests;

/// <summary>/api/v1/orders: totals, quotes, status changes, returns, the customer's lifecycle, validation and visibility.</summary>
public abstract class OrderApiTests(KoloAppFixture fx) : ApiTestBase(fx)
{
    private async Task<Guid> CustomerAsync(Guid? ownerId = null, string status = "Prospect")
    {
        var body = Person();
        body["status"] = status;
        if (ownerId is not null) body["ownerId"] = ownerId;
        return (await CreateAsync(body)).Id();
    }

    [Fact]
    public async Task Totals_and_discounts_are_computed_in_minor_units_and_shown_as_amounts()
    {
        using var admin = Fx.Admin();
        var customer = await CustomerAsync();

        // UAH, three lines: 2 × 12.50 − 1.00 = 24.00; 1 × 99.99 (list price) = 99.99; 10 × 0.35 − 0.50 = 3.00.
        var mug = await admin.CreateProductAsync(12.50m);
        var lamp = await admin.CreateProductAsync(99.99m);
        var pen = await admin.CreateProductAsync(0.40m);
        var order = await admin.CreateOrderAsync(Order(customer, [Line(mug.Id(), 2, discount: 1m, purpose: "gift"), Line(lamp.Id(), 1), Line(pen.Id(), 10, unitPrice: 0.35m, discount: 0.5m)]));
        Assert.Equal("Confirmed", order.Str("status"));
        Assert.Equal("UAH", order.Str("currency"));
        Assert.Equal([24.00m, 99.99m, 3.00m], order.Lines().Select(l => l.Dec("lineTotal")));
        Assert.Equal([12.50m, 99.99m, 0.35m], order.Lines().Select(l => l.Dec("unitPrice")));
        Assert.Equal([1, 2, 3], order.Lines().Select(l => l.GetProperty("lineNo").GetInt32()));
        Assert.Equal(mug.Str("sku"), order.Lines()[0].Str("sku"));
        Assert.Equal(mug.Str("name"), order.Lines()[0].Str("description"));
        Assert.Equal("gift", order.Lines()[0].Str("purpose"));
        Assert.Equal(128.49m, order.Dec("subtotal"));
        Assert.Equal(1.50m, order.Dec("discount"));
        Assert.Equal(126.99m, order.Dec("total"));
        Assert.Equal(0m, order.Dec("policyDiscount"));
        Assert.Equal("web", order.Str("channel"));
        Assert.Equal("card", order.Str("paymentMethod"));

        // Amounts finer than the minor unit round half away from zero: 3 × 1.005 → 1.01 each.
        var rounded = await admin.CreateOrderAsync(Order(customer, [Line(mug.Id(), 3, unitPrice: 1.005m, discount: 0.004m)]));
        Assert.Equal(1.01m, rounded.Lines()[0].Dec("unitPrice"));
        Assert.Equal(0m, rounded.Lines()[0].Dec("discount"));
        Assert.Equal(3.03m, rounded.Dec("total"));

        // JPY has no minor unit: 3 × ¥1,234 − ¥100 = ¥3,602; ¥0.5 rounds up to a whole yen.
        var yenProduct = await admin.CreateProductAsync(1234m, "JPY");
        var yen = await admin.CreateOrderAsync(Order(customer, [Line(yenProduct.Id(), 3, discount: 100m), Line(yenProduct.Id(), 1, unitPrice: 10.5m)], "JPY"));
        Assert.Equal([3602m, 11m], yen.Lines().Select(l => l.Dec("lineTotal")));
        Assert.Equal(3713m, yen.Dec("subtotal"));
        Assert.Equal(100m, yen.Dec("discount"));
        Assert.Equal(3613m, yen.Dec("total"));

        // KWD has three decimals: 2 × 1.235 − 0.005 = 2.465; 1 × 0.999 = 0.999 → 3.464.
        var kwdProduct = await admin.CreateProductAsync(1.235m, "KWD");
        var kwd = await admin.CreateOrderAsync(Order(customer, [Line(kwdProduct.Id(), 2, discount: 0.005m), Line(kwdProduct.Id(), 1, unitPrice: 0.999m)], "KWD"));
        Assert.Equal([2.465m, 0.999m], kwd.Lines().Select(l => l.Dec("lineTotal")));
        Assert.Equal(3.469m, kwd.Dec("subtotal"));
        Assert.Equal(0.005m, kwd.Dec("discount"));
        Assert.Equal(3.464m, kwd.Dec("total"));

        // Read back, the same amounts.
        var (read, _) = await admin.GetOrderAsync(kwd.Id());
        Assert.Equal(3.464m, read.Dec("total"));
        Assert.Equal(3.469m, read.Dec("subtotal"));

        // A product priced in another currency needs an explicit price in the order's currency.
        using var mixed = await admin.PostAsJsonAsync("/api/v1/orders", Order(customer, [Line(yenProduct.Id(), 1)]), Api.Json);
        Assert.Contains("lines[0].unitPrice", (await mixed.ExpectValidationProblemAsync()).Keys);
    }

    [Fact]
    public async Task A_quote_becomes_an_order_in_one_step_keeping_its_number_lines_and_prices()
    {
        using var admin = Fx.Admin();
        var customer = await CustomerAsync();
        var product = await admin.CreateProductAsync(50m);
        var quoteBody = Order(customer, [Line(product.Id(), 4, unitPrice: 45m, discount: 10m), Line(product.Id(), 1)], quote: true);
        quoteBody["number"] = "Q-" + Unique.Word(8).ToUpperInvariant();
        quoteBody["promisedDeliveryDate"] = Day(Today().AddDays(30));
        var quote = await admin.CreateOrderAsync(quoteBody);
        Assert.Equal("Quote", quote.Str("status"));
        Assert.Equal(JsonValueKind.Null, quote.GetProperty("confirmedAt").ValueKind);
        Assert.Equal(220m, quote.Dec("total"));
        // A quote alone does not make a prospect a customer.
        Assert.Equal("Prospect", (await admin.GetJsonAsync($"/api/v1/customers/{customer}")).Str("status"));

        var (stored, etag) = await admin.GetOrderAsync(quote.Id());
        using (var stale = await admin.SendRawAsync(HttpMethod.Post, $"/api/v1/orders/{quote.Id()}/convert", "", "\"" + Guid.NewGuid().ToString("N") + "\""))
            await stale.ExpectAsync(HttpStatusCode.PreconditionFailed);
        Assert.Equal("Quote", (await admin.GetOrderAsync(quote.Id())).Order.Str("status"));

        JsonElement order;
        string next;
        using (var convert = await admin.SendRawAsync(HttpMethod.Post, $"/api/v1/orders/{quote.Id()}/convert", "", etag))
        {
            order = await convert.ExpectAsync(HttpStatusCode.OK);
            next = convert.ETag();
        }
        Assert.NotEqual(etag, next);
        Assert.Equal(quote.Id(), order.Id());
        Assert.Equal("Confirmed", order.Str("status"));
        Assert.NotEqual(JsonValueKind.Null, order.GetProperty("confirmedAt").ValueKind);
        Assert.Equal(quote.Str("number"), order.Str("number"));
        Assert.Equal(stored.GetProperty("orderedAt").GetDateTime(), order.GetProperty("orderedAt").GetDateTime());
        Assert.Equal(Day(Today().AddDays(30)), order.Str("promisedDeliveryDate"));
        Assert.Equal(quote.Lines().Select(l => (l.Id(), l.Str("sku"), l.GetProperty("quantity").GetInt32(), l.Dec("unitPrice"), l.Dec("discount"), l.Dec("lineTotal"))),
            order.Lines().Select(l => (l.Id(), l.Str("sku"), l.GetProperty("quantity").GetInt32(), l.Dec("unitPrice"), l.Dec("discount"), l.Dec("lineTotal"))));
        Assert.Equal((quote.Dec("subtotal"), quote.Dec("discount"), quote.Dec("total")), (order.Dec("subtotal"), order.Dec("discount"), order.Dec("total")));

        // Converting makes the prospect a customer; converting twice is refused.
        Assert.Equal("Customer", (await admin.GetJsonAsync($"/api/v1/customers/{customer}")).Str("status"));
        using (var twice = await admin.PostAsync($"/api/v1/orders/{quote.Id()}/convert", null))
            Assert.Contains("status", (await twice.ExpectValidationProblemAsync()).Keys);
        var direct = await admin.CreateOrderAsync(Order(customer, [Line(product.Id(), 1)]));
        using (var confirmed = await admin.PostAsync($"/api/v1/orders/{direct.Id()}/convert", null))
            Assert.Contains("status", (await confirmed.ExpectValidationProblemAsync()).Keys);
        using (var missing = await admin.PostAsync($"/api/v1/orders/{Guid.NewGuid()}/convert", null))
            await missing.ExpectAsync(HttpStatusCode.NotFound);
        var audit = await admin.GetJsonAsync($"/api/v1/audit?entityType=order&entityId={quote.Id()}");
        Assert.Contains(audit.Items(), e => e.Str("action") == "converted");
    }

    [Fact]
    public async Task Status_changes_follow_the_life_of_an_order()
    {
        using var admin = Fx.Admin();
        var customer = await CustomerAsync();
        var product = await admin.CreateProductAsync(10m);
        async Task<Guid> NewOrder(bool quote = false) => (await admin.CreateOrderAsync(Order(customer, [Line(product.Id(), 1)], quote: quote))).Id();
        async Task Refused(Guid id, string status)
        {
            using var response = await admin.SetStatusAsync(id, status);
            Assert.Contains("status", (await response.ExpectValidationProblemAsync()).Keys);
        }

        // confirmed → shipped → delivered, with the times given.
        var shippedAt = TimelineApi.Now().AddDays(-2);
        var deliveredAt = TimelineApi.Now().AddDays(-1);
        var a = await NewOrder();
        var shipped = await admin.StatusAsync(a, "Shipped", shippedAt);
        Assert.Equal("Shipped", shipped.Str("status"));
        Assert.Equal(shippedAt, shipped.GetProperty("shippedAt").GetDateTime().ToUniversalTime());
        await Refused(a, "Cancelled");   // a shipped order cannot be cancelled
        await Refused(a, "Shipped");
        await Refused(a, "Confirmed");
        var delivered = await admin.StatusAsync(a, "Delivered", deliveredAt);
        Assert.Equal(deliveredAt, delivered.GetProperty("deliveredAt").GetDateTime().ToUniversalTime());
        Assert.Equal(shippedAt, delivered.GetProperty("shippedAt").GetDateTime().ToUniversalTime());
        foreach (var s in new[] { "Shipped", "Cancelled", "Delivered", "Quote", "Returned" }) await Refused(a, s);

        // confirmed → delivered directly also records when it left.
        var b = await NewOrder();
        var direct = await admin.StatusAsync(b, "Delivered", deliveredAt);
        Assert.Equal(deliveredAt, direct.GetProperty("shippedAt").GetDateTime().ToUniversalTime());
        Assert.Equal(deliveredAt, direct.GetProperty("deliveredAt").GetDateTime().ToUniversalTime());

        // A quote or a confirmed order can be cancelled; a quote cannot be shipped; nothing follows a cancellation.
        var q = await NewOrder(quote: true);
        await Refused(q, "Shipped");
        await Refused(q, "Delivered");
        Assert.NotEqual(JsonValueKind.Null, (await admin.StatusAsync(q, "Cancelled")).GetProperty("cancelledAt").ValueKind);
        var c = await NewOrder();
        Assert.Equal("Cancelled", (await admin.StatusAsync(c, "Cancelled")).Str("status"));
        foreach (var s in new[] { "Shipped", "Delivered", "Cancelled" }) await Refused(c, s);
        using (var convert = await admin.PostAsync($"/api/v1/orders/{q}/convert", null))
            Assert.Contains("status", (await convert.ExpectValidationProblemAsync()).Keys);

        // If-Match is checked when given: a stale version is refused and changes nothing.
        var d = await NewOrder();
        var (_, etag) = await admin.GetOrderAsync(d);
        using (var ok = await admin.SetStatusAsync(d, "Shipped", etag))
            await ok.ExpectAsync(HttpStatusCode.OK);
        using (var stale = await admin.SetStatusAsync(d, "Delivered", etag))
            await stale.ExpectAsync(HttpStatusCode.PreconditionFailed);
        Assert.Equal("Shipped", (await admin.GetOrderAsync(d)).Order.Str("status"));

        using (var bad = await admin.PostAsJsonAsync($"/api/v1/orders/{d}/status", new { status = "Lost" }, Api.Json))
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        using (var none = await admin.PostAsJsonAsync($"/api/v1/orders/{d}/status", new { }, Api.Json))
            Assert.Contains("status", (await none.ExpectValidationProblemAsync()).Keys);
    }

    [Fact]
    public async Task A_partial_return_is_a_record_with_negative_totals_and_counts_against_the_order()
    {
        using var admin = Fx.Admin();
        var customer = await CustomerAsync();
        var product = await admin.CreateProductAsync(20m);
        var other = await admin.CreateProductAsync(7.5m);
        // 3 × 20.00 − 3.00 = 57.00; 2 × 7.50 = 15.00
        var order = await admin.CreateOrderAsync(Order(customer, [Line(product.Id(), 3, discount: 3m), Line(other.Id(), 2)]));
        var (l1, l2) = (order.Lines()[0].Id(), order.Lines()[1].Id());

        // One of the first line comes back, with its share of the line's discount.
        JsonElement first;
        using (var response = await admin.ReturnAsync(order.Id(), (l1, 1)))
        {
            first = await response.ExpectAsync(HttpStatusCode.Created);
            Assert.Equal($"/api/v1/orders/{first.Id()}", response.Headers.Location?.OriginalString);
        }
        Assert.Equal("Returned", first.Str("status"));
        Assert.Equal(order.Id(), first.GetProperty("returnOfOrderId").GetGuid());
        Assert.Equal(order.Str("number") + "-R1", first.Str("number"));
        Assert.Equal("Damaged in transit", first.Str("returnReason"));
        Assert.Equal(customer, first.GetProperty("customerId").GetGuid());
        var returnLine = Assert.Single(first.Lines());
        Assert.Equal(l1, returnLine.GetProperty("returnOfLineId").GetGuid());
        Assert.Equal(1, returnLine.GetProperty("quantity").GetInt32());
        Assert.Equal(20m, returnLine.Dec("unitPrice"));
        Assert.Equal(1m, returnLine.Dec("discount"));
        Assert.Equal(-19m, returnLine.Dec("lineTotal"));
        Assert.Equal(-20m, first.Dec("subtotal"));
        Assert.Equal(-1m, first.Dec("discount"));
        Assert.Equal(-19m, first.Dec("total"));

        var (afterFirst, _) = await admin.GetOrderAsync(order.Id());
        Assert.Equal([1, 0], afterFirst.Lines().Select(l => l.GetProperty("returnedQuantity").GetInt32()));
        Assert.Equal("Confirmed", afterFirst.Str("status"));
        Assert.Equal(72m, afterFirst.Dec("total"));   // the order itself keeps what was sold

        // More than remains is refused, naming the line; nothing changes.
        using (var tooMany = await admin.ReturnAsync(order.Id(), (l2, 1), (l1, 3)))
        {
            var errors = await tooMany.ExpectValidationProblemAsync();
            Assert.Equal(["lines[1].quantity"], errors.Keys);
        }
        using (var unknownLine = await admin.ReturnAsync(order.Id(), (Guid.NewGuid(), 1)))
            Assert.Contains("lines[0].lineId", (await unknownLine.ExpectValidationProblemAsync()).Keys);
        using (var noLines = await admin.PostAsJsonAsync($"/api/v1/orders/{order.Id()}/returns", new { lines = Array.Empty<object>() }, Api.Json))
            Assert.Contains("lines", (await noLines.ExpectValidationProblemAsync()).Keys);
        using (var zero = await admin.ReturnAsync(order.Id(), (l1, 0)))
            Assert.Contains("lines[0].quantity", (await zero.ExpectValidationProblemAsync()).Keys);
        using (var nullLine = await admin.SendRawAsync(HttpMethod.Post, $"/api/v1/orders/{order.Id()}/returns", "{\"lines\":[null]}"))
            Assert.Equal(["lines[0]"], (await nullLine.ExpectValidationProblemAsync()).Keys);
        Assert.Equal([1, 0], (await admin.GetOrderAsync(order.Id())).Order.Lines().Select(l => l.GetProperty("returnedQuantity").GetInt32()));

        // Cancelling the partly returned order would take the returned goods off the purchases a second time.
        using (var cancel = await admin.SetStatusAsync(order.Id(), "Cancelled"))
            Assert.Equal(["status"], (await cancel.ExpectValidationProblemAsync()).Keys);
        // A return based on a version older than the first return is refused.
        using (var stale = await admin.SendRawAsync(HttpMethod.Post, $"/api/v1/orders/{order.Id()}/returns",
                   $"{{\"lines\":[{{\"lineId\":\"{l2}\",\"quantity\":1}}]}}", $"\"{order.GetProperty("version").GetGuid():N}\""))
            Assert.Equal(HttpStatusCode.PreconditionFailed, stale.StatusCode);

        // A second return up to the remainder works: the other two of line 1 and both of line 2.
        JsonElement second;
        using (var response = await admin.ReturnAsync(order.Id(), (l1, 2), (l2, 2)))
            second = await response.ExpectAsync(HttpStatusCode.Created);
        Assert.Equal(order.Str("number") + "-R2", second.Str("number"));
        Assert.Equal([l1, l2], second.Lines().Select(l => l.GetProperty("returnOfLineId").GetGuid()));
        Assert.Equal([-38m, -15m], second.Lines().Select(l => l.Dec("lineTotal")));
        Assert.Equal(-53m, second.Dec("total"));
        // Everything that was paid came back, to the minor unit.
        Assert.Equal(order.Dec("total"), -(first.Dec("total") + second.Dec("total")));
        Assert.Equal([3, 2], (await admin.GetOrderAsync(order.Id())).Order.Lines().Select(l => l.GetProperty("returnedQuantity").GetInt32()));
        using (var nothingLeft = await admin.ReturnAsync(order.Id(), (l2, 1)))
            Assert.Contains("lines[0].quantity", (await nothingLeft.ExpectValidationProblemAsync()).Keys);

        // Returns are listed with their order's customer.
        var listed = await admin.AllPagesAsync($"/api/v1/orders?customer={customer}&status=Returned", 10);
        Assert.Equal([second.Id(), first.Id()], listed.Select(o => o.Id()));

        // A quote, a cancelled order and a return cannot be returned.
        var quote = await admin.CreateOrderAsync(Order(customer, [Line(product.Id(), 2)], quote: true));
        using (var fromQuote = await admin.ReturnAsync(quote.Id(), (quote.Lines()[0].Id(), 1)))
            Assert.Contains("status", (await fromQuote.ExpectValidationProblemAsync()).Keys);
        Assert.Equal(0, (await admin.GetOrderAsync(quote.Id())).Order.Lines()[0].GetProperty("returnedQuantity").GetInt32());
        using (var ofReturn = await admin.ReturnAsync(first.Id(), (first.Lines()[0].Id(), 1)))
            Assert.Contains("status", (await ofReturn.ExpectValidationProblemAsync()).Keys);
    }

    [Fact]
    public async Task A_return_of_an_order_with_a_forty_character_number_gets_a_number_that_fits()
    {
        using var admin = Fx.Admin();
        var product = await admin.CreateProductAsync(5m);
        var body = Order(await CustomerAsync(), [Line(product.Id(), 2)]);
        var number = ("L" + Unique.Word(12).ToUpperInvariant()).PadRight(40, '9');
        body["number"] = number;
        var order = await admin.CreateOrderAsync(body);
        string[] numbers = new string[2];
        for (var i = 0; i < 2; i++)
            using (var response = await admin.ReturnAsync(order.Id(), (order.Lines()[0].Id(), 1)))
                numbers[i] = (await response.ExpectAsync(HttpStatusCode.Created)).Str("number");
        Assert.Equal([number[..34] + "-R1", number[..34] + "-R2"], numbers);
    }

    [Fact]
    public async Task Returning_a_discounted_line_one_by_one_refunds_exactly_the_line_total()
    {
        using var admin = Fx.Admin();
        var customer = await CustomerAsync();
        var product = await admin.CreateProductAsync(1m);
        // 3 × 1.00 − 0.10 = 2.90: a discount that does not split evenly over three units.
        var order = await admin.CreateOrderAsync(Order(customer, [Line(product.Id(), 3, discount: 0.10m)]));
        var line = order.Lines()[0].Id();
        var refunds = new List<decimal>();
        for (var i = 0; i < 3; i++)
        {
            using var response = await admin.ReturnAsync(order.Id(), (line, 1));
            refunds.Add((await response.ExpectAsync(HttpStatusCode.Created)).Dec("total"));
        }
        Assert.Equal(-2.90m, refunds.Sum());
        Assert.All(refunds, r => Assert.InRange(r, -0.97m, -0.96m));
    }

    [Fact]
    public async Task Concurrent_returns_of_the_same_goods_let_only_one_through()
    {
        using var admin = Fx.Admin();
        var customer = await CustomerAsync();
        var product = await admin.CreateProductAsync(5m);
        var order = await admin.CreateOrderAsync(Order(customer, [Line(product.Id(), 2)]));
        var line = order.Lines()[0].Id();
        var attempts = await Task.WhenAll(Enumerable.Range(0, 4).Select(async _ =>
        {
            using var client = Fx.Admin();
            using var response = await client.ReturnAsync(order.Id(), (line, 2));
            return response.StatusCode;
        }));
        Assert.Equal(1, attempts.Count(s => s == HttpStatusCode.Created));
        // The others lost the race: refused as stale or conflicting, or as too many once the first had committed.
        Assert.All(attempts.Where(s => s != HttpStatusCode.Created),
            s => Assert.Contains(s, new[] { HttpStatusCode.PreconditionFailed, HttpStatusCode.Conflict, HttpStatusCode.BadRequest }));
        Assert.Equal(2, (await admin.GetOrderAsync(order.Id())).Order.Lines()[0].GetProperty("returnedQuantity").GetInt32());
        Assert.Single(await admin.AllPagesAsync($"/api/v1/orders?customer={customer}&status=Returned", 10));
    }

    [Fact]
    public async Task A_first_confirmed_order_makes_a_prospect_a_customer_and_is_audited()
    {
        using var admin = Fx.Admin();
        var product = await admin.CreateProductAsync(3m);
        var prospect = await CustomerAsync();
        var lead = await CustomerAsync(status: "Lead");
        var quoted = await CustomerAsync();

        await admin.CreateOrderAsync(Order(quoted, [Line(product.Id(), 1)], quote: true));
        Assert.Equal("Prospect", (await admin.GetJsonAsync($"/api/v1/customers/{quoted}")).Str("status"));

        foreach (var id in new[] { prospect, lead })
        {
            var before = (await admin.GetJsonAsync($"/api/v1/customers/{id}")).Str("status");
            await admin.CreateOrderAsync(Order(id, [Line(product.Id(), 1)]));
            Assert.Equal("Customer", (await admin.GetJsonAsync($"/api/v1/customers/{id}")).Str("status"));
            var audit = await admin.GetJsonAsync($"/api/v1/audit?entityType=customer&entityId={id}");
            var change = Assert.Single(audit.Items().SelectMany(e => e.GetProperty("changes").EnumerateArray()), c => c.Str("field") == "status" && c.Str("new") == "Customer");
            Assert.Equal(before, change.Str("old"));
        }

        // A second order changes nothing more.
        await admin.CreateOrderAsync(Order(prospect, [Line(product.Id(), 1)]));
        var again = await admin.GetJsonAsync($"/api/v1/audit?entityType=customer&entityId={prospect}");
        Assert.Single(again.Items().SelectMany(e => e.GetProperty("changes").EnumerateArray()), c => c.Str("field") == "status" && c.Str("new") == "Customer");
    }

    [Fact]
    public async Task Invalid_orders_are_refused_naming_the_fields()
    {
        using var admin = Fx.Admin();
        var customer = await CustomerAsync();
        var product = await admin.CreateProductAsync(10m);
        async Task<IReadOnlyDictionary<string, string[]>> Refused(object body)
        {
            using var response = await admin.PostAsJsonAsync("/api/v1/orders", body, Api.Json);
            return await response.ExpectValidationProblemAsync();
        }

        Assert.Contains("lines", (await Refused(Order(customer, []))).Keys);
        Assert.Contains("lines", (await Refused(new { customerId = customer, currency = "UAH" })).Keys);
        Assert.Contains("customerId", (await Refused(new { currency = "UAH", lines = new[] { Line(product.Id(), 1) } })).Keys);
        Assert.Contains("customerId", (await Refused(Order(Guid.NewGuid(), [Line(product.Id(), 1)]))).Keys);
        Assert.Contains("lines[1].productId", (await Refused(Order(customer, [Line(product.Id(), 1), Line(Guid.NewGuid(), 1)]))).Keys);
        Assert.Contains("lines[0].productId", (await Refused(Order(customer, [new { sku = "NO-SUCH-" + Unique.Word(6), quantity = 1 }]))).Keys);
        foreach (var currency in new[] { "uah", "UA", "EURO", "" })
            Assert.Contains("currency", (await Refused(Order(customer, [Line(product.Id(), 1)], currency))).Keys);
        Assert.Contains("currency", (await Refused(new { customerId = customer, lines = new[] { Line(product.Id(), 1) } })).Keys);
        Assert.Contains("lines[0].discount", (await Refused(Order(customer, [Line(product.Id(), 2, discount: 20.01m)]))).Keys);
        Assert.Contains("lines[1].discount", (await Refused(Order(customer, [Line(product.Id(), 1), Line(product.Id(), 1, unitPrice: 5m, discount: 5.01m)]))).Keys);
        Assert.Contains("lines[0].quantity", (await Refused(Order(customer, [Line(product.Id(), 0)]))).Keys);
        Assert.Contains("lines[0].unitPrice", (await Refused(Order(customer, [Line(product.Id(), 1, unitPrice: -1m)]))).Keys);

        var unknownOwner = Order(customer, [Line(product.Id(), 1)]);
        unknownOwner["ownerId"] = Guid.NewGuid();
        Assert.Equal(["ownerId"], (await Refused(unknownOwner)).Keys);
        var manager = await Fx.CreateUserAsync("Manager");
        var owned = Order(customer, [Line(product.Id(), 1)]);
        owned["ownerId"] = manager.Id;
        Assert.Equal(manager.Id, (await admin.CreateOrderAsync(owned)).GetProperty("ownerId").GetGuid());

        // A discount as large as the line is allowed: a free line.
        var free = await admin.CreateOrderAsync(Order(customer, [Line(product.Id(), 2, discount: 20m)]));
        Assert.Equal(0m, free.Dec("total"));

        // A line needs no catalogue product when it has a SKU, a description and a price.
        var adHoc = await admin.CreateOrderAsync(Order(customer, [new { sku = "SERVICE", description = "Installation", quantity = 1, unitPrice = 150m }]));
        Assert.Equal(JsonValueKind.Null, adHoc.Lines()[0].GetProperty("productId").ValueKind);
        Assert.Equal(150m, adHoc.Dec("total"));
        // A line by SKU finds the product.
        var bySku = await admin.CreateOrderAsync(Order(customer, [new { sku = product.Str("sku"), quantity = 2 }]));
        Assert.Equal(product.Id(), bySku.Lines()[0].GetProperty("productId").GetGuid());
        Assert.Equal(20m, bySku.Dec("total"));

        // Number and external id are unique.
        var number = "SO-T-" + Unique.Word(8).ToUpperInvariant();
        var externalId = "ext-" + Unique.Word(10);
        var withIds = Order(customer, [Line(product.Id(), 1)]);
        withIds["number"] = number;
        withIds["externalId"] = externalId;
        var created = await admin.CreateOrderAsync(withIds);
        Assert.Equal(number, created.Str("number"));
        Assert.Equal(externalId, created.Str("externalId"));
        var sameNumber = Order(customer, [Line(product.Id(), 1)]);
        sameNumber["number"] = number;
        Assert.Equal(["number"], (await Refused(sameNumber)).Keys);
        var paddedNumber = Order(customer, [Line(product.Id(), 1)]);
        paddedNumber["number"] = $"  {number} ";
        Assert.Equal(["number"], (await Refused(paddedNumber)).Keys);
        var sameExternal = Order(customer, [Line(product.Id(), 1)]);
        sameExternal["externalId"] = externalId;
        Assert.Equal(["externalId"], (await Refused(sameExternal)).Keys);
        var paddedExternal = Order(customer, [Line(product.Id(), 1)]);
        paddedExternal["externalId"] = $" {externalId}  ";
        Assert.Equal(["externalId"], (await Refused(paddedExternal)).Keys);

        // Generated numbers are unique and say whether it is a quote.
        var generated = await admin.CreateOrderAsync(Order(customer, [Line(product.Id(), 1)]));
        Assert.StartsWith("SO-", generated.Str("number"), StringComparison.Ordinal);
        var blank = Order(customer, [Line(product.Id(), 1)], quote: true);
        blank["number"] = "   ";
        Assert.StartsWith("Q-", (await admin.CreateOrderAsync(blank)).Str("number"), StringComparison.Ordinal);

        using var unknown = await admin.GetAsync($"/api/v1/orders/{Guid.NewGuid()}");
        await unknown.ExpectAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task The_list_filters_by_customer_status_and_number_prefix_newest_first()
    {
        using var admin = Fx.Admin();
        var customer = await CustomerAsync();
        var product = await admin.CreateProductAsync(1m);
        var prefix = "LST-" + Unique.Word(6).ToUpperInvariant();
        var start = TimelineApi.Now().AddDays(-10);
        var ids = new List<Guid>();
        for (var i = 0; i < 5; i++)
        {
            var body = Order(customer, [Line(product.Id(), 1)], quote: i == 2);
            body["number"] = $"{prefix}-{i}";
            body["orderedAt"] = TimelineApi.Iso(start.AddDays(i));
            ids.Add((await admin.CreateOrderAsync(body)).Id());
        }
        var newestFirst = Enumerable.Reverse(ids).ToList();
        Assert.Equal(newestFirst, (await admin.AllPagesAsync($"/api/v1/orders?customer={customer}", 2)).Select(o => o.Id()));
        Assert.Equal(newestFirst, (await admin.AllPagesAsync($"/api/v1/orders?q={prefix}", 3)).Select(o => o.Id()));
        Assert.Equal([ids[2]], (await admin.AllPagesAsync($"/api/v1/orders?customer={customer}&status=quote", 10)).Select(o => o.Id()));
        Assert.Equal([ids[3]], (await admin.AllPagesAsync($"/api/v1/orders?q={prefix}-3", 10)).Select(o => o.Id()));
        var from = Uri.EscapeDataString(TimelineApi.Iso(start.AddDays(1)));
        var to = Uri.EscapeDataString(TimelineApi.Iso(start.AddDays(3)));
        Assert.Equal([ids[2], ids[1]], (await admin.AllPagesAsync($"/api/v1/orders?customer={customer}&from={from}&to={to}", 10)).Select(o => o.Id()));
        // Oldest first, and by number either way, page by page.
        foreach (var limit in new[] { 1, 2, 5 })
        {
            Assert.Equal(ids, (await admin.AllPagesAsync($"/api/v1/orders?customer={customer}&sort=orderedAt", limit)).Select(o => o.Id()));
            Assert.Equal(ids, (await admin.AllPagesAsync($"/api/v1/orders?q={prefix}&sort=number", limit)).Select(o => o.Id()));
            Assert.Equal(newestFirst, (await admin.AllPagesAsync($"/api/v1/orders?q={prefix}&sort=-number", limit)).Select(o => o.Id()));
        }
        var byNumber = await admin.GetJsonAsync($"/api/v1/orders?q={prefix}&sort=number&limit=1");
        using (var mixed = await admin.GetAsync($"/api/v1/orders?q={prefix}&cursor={Uri.EscapeDataString(byNumber.Str("nextCursor"))}"))
            Assert.Contains("cursor", (await mixed.ExpectValidationProblemAsync()).Keys);
        foreach (var (query, field) in new[] { ("status=Lost", "status"), ("status=1", "status"), ("limit=0", "limit"), ("cursor=%21%21", "cursor"), ("sort=total", "sort") })
        {
            using var response = await admin.GetAsync($"/api/v1/orders?{query}");
            Assert.Contains(field, (await response.ExpectValidationProblemAsync()).Keys);
        }
    }

    [Fact]
    public async Task Orders_are_on_the_customer_timeline_and_move_with_a_merge()
    {
        using var admin = Fx.Admin();
        var target = await CustomerAsync();
        var source = await CustomerAsync();
        var product = await admin.CreateProductAsync(12.5m);
        var targetOrder = await admin.CreateOrderAsync(Order(target, [Line(product.Id(), 1)]));
        var sourceQuote = await admin.CreateOrderAsync(Order(source, [Line(product.Id(), 2)], quote: true));
        var sourceOrder = await admin.CreateOrderAsync(Order(source, [Line(product.Id(), 4, discount: 0.5m)]));
        JsonElement returned;
        using (var r = await admin.ReturnAsync(sourceOrder.Id(), (sourceOrder.Lines()[0].Id(), 1)))
            returned = await r.ExpectAsync(HttpStatusCode.Created);

        var entries = await admin.TimelineAsync(source, "&kind=order");
        Assert.Equal([returned.Id(), sourceOrder.Id(), sourceQuote.Id()], entries.Select(e => e.Id()));
        var entry = entries[1];
        Assert.Equal("order", entry.Str("kind"));
        Assert.Equal(sourceOrder.Str("number"), entry.Str("title"));
        Assert.Equal("Confirmed", entry.Str("status"));
        Assert.Equal("49.5 UAH", entry.Str("summary"));
        Assert.Equal("Returned", entries[0].Str("status"));
        Assert.Equal("-12.38 UAH", entries[0].Str("summary"));   // 12.50 less a quarter of the 0.50 line discount
        Assert.Equal([targetOrder.Id()], (await admin.TimelineAsync(target, "&kind=order")).Select(e => e.Id()));

        await admin.PostJsonAsync($"/api/v1/customers/{target}/merge", new { sourceId = source }, HttpStatusCode.OK);
        var merged = await admin.TimelineAsync(target, "&kind=order");
        Assert.Equal([returned.Id(), sourceOrder.Id(), sourceQuote.Id(), targetOrder.Id()], merged.Select(e => e.Id()));
        foreach (var id in new[] { sourceOrder.Id(), sourceQuote.Id(), returned.Id() })
            Assert.Equal(target, (await admin.GetOrderAsync(id)).Order.GetProperty("customerId").GetGuid());
        Assert.Equal(4, (await admin.AllPagesAsync($"/api/v1/orders?customer={target}", 10)).Count);
        Assert.Empty(await admin.AllPagesAsync($"/api/v1/orders?customer={source}", 10));
        // The merged-away record takes no new orders.
        using var toSource = await admin.PostAsJsonAsync("/api/v1/orders", Order(source, [Line(product.Id(), 1)]), Api.Json);
        Assert.Contains("customerId", (await toSource.ExpectValidationProblemAsync()).Keys);
    }

    [Fact]
    public async Task A_sales_user_sees_and_sells_only_to_their_own_customers()
    {
        var seller = await Fx.CreateUserAsync("Sales");
        var colleague = await Fx.CreateUserAsync("Sales");
        using var admin = Fx.Admin();
        var mine = await CustomerAsync(seller.Id);
        var theirs = await CustomerAsync(colleague.Id);
        var product = await admin.CreateProductAsync(9m);
        var promised = Today().AddDays(40);
        using var client = seller.Client();

        var mineBody = Order(mine, [Line(product.Id(), 1)]);
        mineBody["promisedDeliveryDate"] = Day(promised);
        var myOrder = await client.CreateOrderAsync(mineBody);
        Assert.Equal(seller.Id, myOrder.GetProperty("ownerId").GetGuid());
        var theirBody = Order(theirs, [Line(product.Id(), 1)]);
        theirBody["promisedDeliveryDate"] = Day(promised);
        var theirOrder = await admin.CreateOrderAsync(theirBody);
        Assert.Equal(colleague.Id, theirOrder.GetProperty("ownerId").GetGuid());   // the customer's owner by default

        using (var other = await client.GetAsync($"/api/v1/orders/{theirOrder.Id()}"))
            await other.ExpectAsync(HttpStatusCode.NotFound);
        using (var convert = await client.PostAsync($"/api/v1/orders/{theirOrder.Id()}/convert", null))
            await convert.ExpectAsync(HttpStatusCode.NotFound);
        using (var status = await client.SetStatusAsync(theirOrder.Id(), "Cancelled"))
            await status.ExpectAsync(HttpStatusCode.NotFound);
        using (var ret = await client.ReturnAsync(theirOrder.Id(), (theirOrder.Lines()[0].Id(), 1)))
            await ret.ExpectAsync(HttpStatusCode.NotFound);
        Assert.Equal("Confirmed", (await admin.GetOrderAsync(theirOrder.Id())).Order.Str("status"));
        using (var sell = await client.PostAsJsonAsync("/api/v1/orders", Order(theirs, [Line(product.Id(), 1)]), Api.Json))
            Assert.Contains("customerId", (await sell.ExpectValidationProblemAsync()).Keys);

        var listed = (await client.AllPagesAsync("/api/v1/orders", 500)).Select(o => o.Id()).ToList();
        Assert.Contains(myOrder.Id(), listed);
        Assert.DoesNotContain(theirOrder.Id(), listed);
        Assert.Empty(await client.AllPagesAsync($"/api/v1/orders?customer={theirs}", 10));
        Assert.Contains(theirOrder.Id(), (await admin.AllPagesAsync($"/api/v1/orders?customer={theirs}", 10)).Select(o => o.Id()));

        var range = $"from={Day(promised)}&to={Day(promised.AddDays(1))}";
        var mySchedule = (await client.GetJsonAsync($"/api/v1/orders/schedule?{range}")).EnumerateArray().SelectMany(d => d.GetProperty("orders").EnumerateArray()).Select(o => o.Id()).ToList();
        Assert.Contains(myOrder.Id(), mySchedule);
        Assert.DoesNotContain(theirOrder.Id(), mySchedule);
        var byOwner = (await client.GetJsonAsync($"/api/v1/orders/schedule?{range}&owner={colleague.Id}")).EnumerateArray();
        Assert.Empty(byOwner);
        var adminSchedule = (await admin.GetJsonAsync($"/api/v1/orders/schedule?{range}")).EnumerateArray().SelectMany(d => d.GetProperty("orders").EnumerateArray()).Select(o => o.Id()).ToList();
        Assert.Contains(myOrder.Id(), adminSchedule);
        Assert.Contains(theirOrder.Id(), adminSchedule);

        // The seller works their own order through its life.
        await client.StatusAsync(myOrder.Id(), "Shipped");
        using (var ret = await client.ReturnAsync(myOrder.Id(), (myOrder.Lines()[0].Id(), 1)))
            await ret.ExpectAsync(HttpStatusCode.Created);
    }

    [Theory]
    [InlineData("Marketing")]
    [InlineData("Support")]
    public async Task Marketing_and_support_read_orders_but_cannot_create_or_change_them(string role)
    {
        using var admin = Fx.Admin();
        var customer = await CustomerAsync();
        var product = await admin.CreateProductAsync(9m);
        var quote = await admin.CreateOrderAsync(Order(customer, [Line(product.Id(), 2)], quote: true));
        var order = await admin.CreateOrderAsync(Order(customer, [Line(product.Id(), 2)]));
        var user = await Fx.CreateUserAsync(role);
        using var client = user.Client();

        using (var create = await client.PostAsJsonAsync("/api/v1/orders", Order(customer, [Line(product.Id(), 1)]), Api.Json))
            await create.ExpectAsync(HttpStatusCode.Forbidden);
        using (var convert = await client.PostAsync($"/api/v1/orders/{quote.Id()}/convert", null))
            await convert.ExpectAsync(HttpStatusCode.Forbidden);
        using (var status = await client.SetStatusAsync(order.Id(), "Shipped"))
            await status.ExpectAsync(HttpStatusCode.Forbidden);
        using (var ret = await client.ReturnAsync(order.Id(), (order.Lines()[0].Id(), 1)))
            await ret.ExpectAsync(HttpStatusCode.Forbidden);
        Assert.Equal("Quote", (await admin.GetOrderAsync(quote.Id())).Order.Str("status"));
        Assert.Equal("Confirmed", (await admin.GetOrderAsync(order.Id())).Order.Str("status"));
        Assert.Equal(order.Id(), (await client.GetOrderAsync(order.Id())).Order.Id());
    }
}

[Collection("sqlite")]
public sealed class SqliteOrderApiTests(SqliteFixture fx) : OrderApiTests(fx);

[Collection("postgres")]
public sealed class PostgresOrderApiTests(PostgresFixture fx) : OrderApiTests(fx);
