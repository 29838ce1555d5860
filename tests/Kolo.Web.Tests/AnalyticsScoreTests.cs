using System.Net;
using System.Text.Json;
using Kolo.Web.Tests.Infrastructure;
using static Kolo.Web.Tests.Infrastructure.AnalyticsApi;
using static Kolo.Web.Tests.Infrastructure.OrderApi;

namespace Kolo.Web.Tests;

/// <summary>
/// RFM scores, segments and profitability on a hand-made example whose every figure is worked out below by hand; the
/// R×F grid, the assortment matrix, the customer list's score filters and sorts, the rankings and the win-back list.
/// </summary>
public abstract class AnalyticsScoreTests(KoloAppFixture fx) : ApiTestBase(fx)
{
    private static readonly DateOnly AsOf = new(2025, 6, 30);

    /// <summary>
    /// What the example must give for each customer, A–K. How it follows from the orders in <see cref="BuildExampleAsync"/>:
    /// <para>
    /// Ten buyers, so NTILE(5) makes groups of two; equal values all take the lowest score any of them got (Rfm.QuintileScores).
    /// Recency in days, oldest first: J 300, I 200 | H 150, G 100 | F 60, D 45, E 45 | C 12, B 5, A 2. D and E straddle the
    /// third and fourth group, so both get R = 3 and C alone R = 4: R = J1 I1 H2 G2 F3 D3 E3 C4 B5 A5.
    /// Orders (frequency): B, E, H, J 1 | D, G 2 | C 3 | A 4 | F 5 | I 6. The four 1s take positions 0–3 (groups 1–2: all
    /// F = 1), the two 2s positions 4–5 (group 3), C and A positions 6–7 (group 4), F and I group 5: nobody has F = 2.
    /// Revenue: J 8 B 10 | E 40 F 45 G 45 | C 83.50 | D 105 H 120 | A 125 I 150; F and G tie across groups 2–3, both M = 2.
    /// </para>
    /// Segments from the R×F map: A (5,4) Champions, B (5,1) New, C (4,4) Loyal, D (3,3) Need attention, E (3,1) About to
    /// sleep, F (3,5) Loyal, G (2,3) At risk, H (2,1) Hibernating, I (1,5) Can't lose them, J (1,1) Lost; K bought nothing.
    /// Margin = revenue − cost of goods − cost to serve − acquisition cost (revenue is already net of discounts).
    /// </summary>
    private static readonly Expected[] Table =
    [
        new('A', 2, 4, 4, 5, 4, 5, "Champions", 125.00m, 5.00m, 36.00m, 3.00m, 30.00m, 56.00m),
        new('B', 5, 1, 1, 5, 1, 1, "New", 10.00m, 0m, 4.00m, 0m, 0m, 6.00m),
        new('C', 12, 3, 2, 4, 4, 3, "Loyal", 83.50m, 1.50m, 18.00m, 0m, 0m, 65.50m),
        new('D', 45, 2, 2, 3, 3, 4, "NeedAttention", 105.00m, 0m, 10.00m, 20.00m, 0m, 75.00m),
        new('E', 45, 1, 1, 3, 1, 2, "AboutToSleep", 40.00m, 0m, 16.00m, 0m, 0m, 24.00m),
        new('F', 60, 5, 5, 3, 5, 2, "Loyal", 45.00m, 0m, 20.00m, 0m, 0m, 25.00m),
        new('G', 100, 2, 2, 2, 3, 2, "AtRisk", 45.00m, 0m, 18.00m, 0m, 0m, 27.00m),
        new('H', 150, 1, 1, 2, 1, 4, "Hibernating", 120.00m, 0m, 0m, 1.50m, 0m, 118.50m),
        new('I', 200, 6, 6, 1, 5, 5, "CannotLoseThem", 150.00m, 0m, 60.00m, 0m, 0m, 90.00m),
        new('J', 300, 1, 1, 1, 1, 1, "Lost", 8.00m, 2.00m, 4.00m, 0m, 12.00m, -8.00m),
        new('K', null, 0, 0, null, null, null, null, 0m, 0m, 0m, 1.50m, 5.00m, -6.50m),
    ];

    private sealed record Expected(char Key, int? RecencyDays, int Orders, int PurchaseDays, int? R, int? F, int? M, string? Segment,
        decimal Revenue, decimal Discounts, decimal CostOfGoods, decimal CostToServe, decimal Acquisition, decimal Margin);

    private sealed record Example(string Currency, string LastName, Dictionary<char, Guid> Customers)
    {
        public Guid this[char key] => Customers[key];
        public char KeyOf(Guid id) => Customers.Single(c => c.Value == id).Key;
    }

    /// <summary>Costs per interaction type, in minor units: a call 1.50, a meeting 20.00; e-mails cost nothing.</summary>
    private static readonly Dictionary<string, long> InteractionCosts = new() { ["Call"] = 150, ["Meeting"] = 2000 };

    private static DateTime At(int daysBeforeAsOf, int hour = 10) => AsOf.ToDateTime(new TimeOnly(hour, 0), DateTimeKind.Utc).AddDays(-daysBeforeAsOf);

    /// <summary>
    /// Customers A–K sharing one new last name, with orders in <paramref name="currency"/> through the API (G's through an
    /// orders file, for a dated return), interactions and acquisition costs; plus what must not count: a cancelled
    /// order, a quote, an order after the as-of day, an order in another currency, a call after the as-of day.
    /// </summary>
    private async Task<Example> BuildExampleAsync(HttpClient admin, string currency, IReadOnlyDictionary<char, Guid>? owners = null)
    {
        var lastName = Unique.Name(12);
        var tag = Unique.Word(6).ToUpperInvariant();
        // Tea: 10.00 (cost 4.00) and 25.00 (cost 10.00); cups: 40.00 with no known cost.
        async Task<JsonElement> Product(string sku, string category, decimal price, decimal? cost) =>
            await admin.PostJsonAsync("/api/v1/products", new { sku = $"{tag}-{sku}", name = $"{sku} {tag}", category, listPrice = price, unitCost = cost, currency }, HttpStatusCode.Created);
        var p1 = (await Product("TEA-S", "Tea", 10.00m, 4.00m)).Id();
        var p2 = (await Product("TEA-L", "Tea", 25.00m, 10.00m)).Id();
        var p3 = (await Product("CUP", "Cups", 40.00m, null)).Id();

        var ids = new Dictionary<char, Guid>();
        foreach (var key in "ABCDEFHIJK")
        {
            var body = Person(null, lastName);
            if (owners?.GetValueOrDefault(key) is { } owner && owner != Guid.Empty) body["ownerId"] = owner;
            body["acquisitionCost"] = key switch
            {
                'A' => new { amount = 30.00m, currency },
                'B' => new { amount = 50.00m, currency = currency == "EUR" ? "USD" : "EUR" }, // another currency: not counted
                'J' => new { amount = 12.00m, currency },
                'K' => new { amount = 5.00m, currency },
                _ => null,
            };
            ids[key] = (await CreateAsync(body, admin)).Id();
        }

        async Task<JsonElement> Buy(char key, DateTime at, params Dictionary<string, object?>[] lines)
        {
            var order = Order(ids[key], lines, currency);
            order["orderedAt"] = TimelineApi.Iso(at);
            return await admin.CreateOrderAsync(order);
        }
        await Buy('A', At(2), Line(p2, 2, discount: 5.00m));
        await Buy('A', At(50), Line(p1, 3));
        await Buy('A', At(120), Line(p3, 1));
        await Buy('A', At(165), Line(p1, 1));
        await Buy('A', At(-1), Line(p3, 1)); // after the as-of day
        await Buy('B', At(5), Line(p1, 1));
        var cancelled = await Buy('B', At(1), Line(p3, 2));
        await admin.StatusAsync(cancelled.Id(), "Cancelled");
        await Buy('C', At(12), Line(p2, 1));
        await Buy('C', At(89, 9), Line(p1, 2, discount: 1.50m));
        await Buy('C', At(89, 17), Line(p3, 1)); // the same day: one purchase day, two orders
        await Buy('D', At(45), Line(p3, 2));
        await Buy('D', At(130), Line(p2, 1));
        await Buy('E', At(45), Line(p1, 4));
        var quote = Order(ids['E'], [Line(p3, 5)], currency, quote: true);
        quote["orderedAt"] = TimelineApi.Iso(At(3));
        await admin.CreateOrderAsync(quote);
        foreach (var days in new[] { 60, 90, 120, 150, 179 }) await Buy('F', At(days), Line(p1, 1, unitPrice: 9.00m));
        await Buy('H', At(150), Line(p3, 3));
        var other = Order(ids['H'], [Line(p3, 1, unitPrice: 40.00m)], currency == "EUR" ? "USD" : "EUR");
        other["orderedAt"] = TimelineApi.Iso(At(10));
        await admin.CreateOrderAsync(other);
        foreach (var days in new[] { 200, 230, 260, 290, 320, 350 }) await Buy('I', At(days), Line(p2, 1));
        await Buy('J', At(300), Line(p1, 1, discount: 2.00m));

        // G comes from an orders file: 2 × 10.00 and 2 × 25.00 bought, then one 25.00 returned (a dated cancellation:
        // its id starts with C, and the purchases' ids must not).
        var g = $"{tag}-G";
        await admin.ImportOrdersAsync(
        [
            new OrderRow($"O{tag}-G1", g, At(250), $"{tag}-TEA-S", "", 2, 10.00m),
            new OrderRow($"O{tag}-G2", g, At(100), $"{tag}-TEA-L", "", 2, 25.00m),
            new OrderRow($"C{tag}-G3", g, At(95), $"{tag}-TEA-L", "", -1, 25.00m),
        ], currency);
        var gOrder = (await admin.GetJsonAsync($"/api/v1/orders?q=O{tag}-G1")).Items().Single();
        ids['G'] = gOrder.GetProperty("customerId").GetGuid();
        var (_, etag) = await GetWithETagAsync(admin, ids['G']);
        object patch = owners?.GetValueOrDefault('G') is { } gOwner && gOwner != Guid.Empty ? new { lastName, ownerId = gOwner } : new { lastName };
        using (var patched = await admin.PatchAsync($"/api/v1/customers/{ids['G']}", patch, etag))
            await patched.ExpectAsync(HttpStatusCode.OK);

        async Task Contact(char key, string type, DateTime at) =>
            await admin.RecordAsync(new { customerId = ids[key], type, subject = $"{type} with {key}", occurredAt = TimelineApi.Iso(at) });
        await Contact('A', "Call", At(20));
        await Contact('A', "Call", At(70));
        await Contact('A', "Email", At(30)); // no cost set for e-mails
        await Contact('D', "Meeting", At(60));
        await Contact('D', "Call", At(-2)); // after the as-of day
        await Contact('H', "Call", At(140));
        await Contact('K', "Call", At(10));
        return new Example(currency, lastName, ids);
    }

    [Fact]
    public async Task Hand_made_example_gives_the_hand_computed_RFM_scores_segments_and_profitability()
    {
        using var admin = Fx.Admin();
        await admin.SetSettingsAsync("CHF", interactionCosts: InteractionCosts);
        var x = await BuildExampleAsync(admin, "CHF");
        var result = await admin.RecomputeAsync(AsOf);
        Assert.Equal(10, result.GetProperty("buyers").GetInt32());
        Assert.Equal("2025-06-30", result.Str("asOf")[..10]);
        // No lifetime-value model was fitted on CHF orders: a fit on another currency (CDNOW's USD) must not be used.
        Assert.Equal(JsonValueKind.Null, result.GetProperty("fitJobId").ValueKind);

        foreach (var e in Table)
        {
            var s = await admin.ScoresAsync(x[e.Key]);
            var who = $"customer {e.Key}: {s}";
            Assert.True(e.RecencyDays == s.IntOrNull("recencyDays"), who);
            Assert.True(e.Orders == s.GetProperty("orders").GetInt32(), who);
            Assert.True(e.PurchaseDays == s.GetProperty("purchaseDays").GetInt32(), who);
            Assert.True((e.R, e.F, e.M) == (s.IntOrNull("recencyScore"), s.IntOrNull("frequencyScore"), s.IntOrNull("monetaryScore")), who);
            Assert.True(e.Segment == s.StrOrNull("segment"), who);
            Assert.True(e.Revenue == s.Money("revenue", "CHF"), who);
            Assert.True(e.Discounts == s.Money("discounts", "CHF"), who);
            Assert.True(e.CostOfGoods == s.Money("costOfGoods", "CHF"), who);
            Assert.True(e.CostToServe == s.Money("costToServe", "CHF"), who);
            Assert.True(e.Acquisition == s.Money("acquisitionCost", "CHF"), who);
            Assert.True(e.Margin == s.Money("margin", "CHF"), who);
            // Every first purchase is less than a year old: the value at stake is the revenue of one (12-month) horizon.
            Assert.True(e.Revenue == s.Money("valueAtStake", "CHF"), who);
            Assert.True(s.DoubleOrNull("probabilityAlive") is null && s.DoubleOrNull("expectedPurchases") is null, who);
            Assert.True(s.Money("clv", "CHF") == 0m && s.GetProperty("expectedOrderValue").ValueKind == JsonValueKind.Null, who);
            Assert.Equal("2025-06-30", s.Str("asOf")[..10]);
        }
        var c = await admin.ScoresAsync(x['C']);
        Assert.StartsWith("2025-06-18", c.Str("lastPurchaseAt"), StringComparison.Ordinal);
        Assert.StartsWith("2025-04-02", c.Str("firstPurchaseAt"), StringComparison.Ordinal);

        // The R×F grid: one customer in each of ten cells; the segments' totals (Loyal = C + F).
        var grid = await admin.GetJsonAsync("/api/v1/analytics/rfm");
        Assert.Equal("CHF", grid.Str("currency"));
        var cells = grid.GetProperty("cells").EnumerateArray()
            .Select(cell => (R: cell.GetProperty("recencyScore").GetInt32(), F: cell.GetProperty("frequencyScore").GetInt32(), N: cell.GetProperty("customers").GetInt32(),
                Revenue: cell.GetProperty("revenueMinor").GetInt64(), Segment: cell.Str("segment"))).ToList();
        var expectedCells = Table.Where(e => e.R is not null).Select(e => (R: e.R!.Value, F: e.F!.Value, N: 1, Revenue: (long)(e.Revenue * 100), e.Segment!))
            .OrderByDescending(t => t.R).ThenByDescending(t => t.F).ToList();
        Assert.Equal(expectedCells, cells);
        var segments = grid.GetProperty("segments").EnumerateArray().ToDictionary(s => s.Str("segment"));
        Assert.Equal(9, segments.Count);
        Assert.Equal(2, segments["Loyal"].GetProperty("customers").GetInt32());
        Assert.Equal(12_850, segments["Loyal"].GetProperty("revenueMinor").GetInt64());
        Assert.Equal(9_050, segments["Loyal"].GetProperty("marginMinor").GetInt64());
        Assert.Equal("Loyal", grid.GetProperty("segments")[0].Str("segment")); // the largest first

        // Assortment: each segment's revenue by category (purchases only, the return is not a sale of cups or tea).
        // Loyal: C bought tea 25.00 + 18.50 and a cup 40.00, F tea 45.00 → tea 88.50 / 128.50; Champions (A): tea 85 / 125.
        var assortment = await admin.GetJsonAsync("/api/v1/analytics/assortment?by=segment");
        Assert.Equal(["Champions", "Loyal", "New", "NeedAttention", "AboutToSleep", "AtRisk", "CannotLoseThem", "Hibernating", "Lost"],
            assortment.GetProperty("rows").EnumerateArray().Select(r => r.GetString()));
        // Tea sold 476.50 in all (A 85, B 10, C 43.50, D 25, E 40, F 45, G 70, I 150, J 8), cups 280: tea comes first.
        Assert.Equal(["Tea", "Cups"], assortment.GetProperty("categories").EnumerateArray().Select(r => r.GetString()));
        var shares = assortment.GetProperty("shares");
        Assert.Equal(85.0 / 125, shares[0][0].GetDouble(), 1e-9);
        Assert.Equal(88.5 / 128.5, shares[1][0].GetDouble(), 1e-9);
        Assert.Equal(40.0 / 128.5, shares[1][1].GetDouble(), 1e-9);
        Assert.Equal(0.0, shares[7][0].GetDouble()); // Hibernating (H) bought only cups
        Assert.Equal(12_850, assortment.GetProperty("rowRevenueMinor")[1].GetInt64());
        // G's row is its purchases: 20.00 + 50.00, the 25.00 return not subtracted from a category.
        Assert.Equal(7_000, assortment.GetProperty("rowRevenueMinor")[5].GetInt64());
    }

    [Fact]
    public async Task Customer_list_filters_by_segment_and_walks_margin_and_clv_orders_with_a_cursor()
    {
        using var admin = Fx.Admin();
        await admin.SetSettingsAsync("NOK", interactionCosts: InteractionCosts);
        var x = await BuildExampleAsync(admin, "NOK");
        await admin.RecomputeAsync(AsOf);

        // Only the example's customers buy in NOK, so they are the only ones with a segment at all.
        var loyal = await admin.GetJsonAsync("/api/v1/customers?segment=Loyal&sort=-margin");
        Assert.Equal([x['C'], x['F']], Ids(loyal));
        Assert.All(loyal.Items(), i => Assert.Equal("Loyal", i.Str("segment")));
        Assert.Equal([65.50m, 25.00m], loyal.Items().Select(i => i.Money("margin", "NOK")));
        Assert.Equal([x['I']], Ids(await admin.GetJsonAsync("/api/v1/customers?segment=cannotlosethem")));
        Assert.Empty(Ids(await admin.GetJsonAsync("/api/v1/customers?segment=Promising")));
        using (var unknown = await admin.GetAsync("/api/v1/customers?segment=Sleepy"))
            Assert.Contains("segment", (await unknown.ExpectValidationProblemAsync()).Keys);

        // By margin, highest first, four to a page: the cursor carries on where the page stopped.
        var byMargin = Table.OrderByDescending(e => e.Margin).Select(e => x[e.Key]).ToList();
        var walked = await admin.AllPagesAsync($"/api/v1/customers?q={x.LastName}&sort=-margin", 4);
        Assert.Equal(byMargin, walked.Select(i => i.Id()));
        Assert.Equal(Table.OrderByDescending(e => e.Margin).Select(e => e.Margin), walked.Select(i => i.Money("margin", "NOK")));
        Assert.Equal(Enumerable.Reverse(byMargin), (await admin.AllPagesAsync($"/api/v1/customers?q={x.LastName}&sort=margin", 3)).Select(i => i.Id()));

        // No model was fitted on NOK orders: every CLV is 0, so the order is the tie-break on the id alone; paging through
        // eleven equal keys must still give each customer exactly once.
        var byClv = await admin.AllPagesAsync($"/api/v1/customers?q={x.LastName}&sort=-clv", 4);
        Assert.Equal(x.Customers.Values.Order(), byClv.Select(i => i.Id()).Order());
        Assert.All(byClv, i => Assert.Equal(0m, i.Money("clv", "NOK")));
        Assert.Equal(byClv.Select(i => i.Id()), (await admin.AllPagesAsync($"/api/v1/customers?q={x.LastName}&sort=-clv", 11)).Select(i => i.Id()));

        // The ranking by margin: the example's top three are the top three of the database (nobody else has NOK revenue).
        var top = await admin.GetJsonAsync("/api/v1/analytics/top-customers?by=margin&limit=2");
        Assert.Equal([x['H'], x['I']], top.Items().Select(i => i.GetProperty("customerId").GetGuid()));
        var next = await admin.GetJsonAsync($"/api/v1/analytics/top-customers?by=margin&limit=2&cursor={Uri.EscapeDataString(top.Str("nextCursor"))}");
        Assert.Equal([x['D'], x['C']], next.Items().Select(i => i.GetProperty("customerId").GetGuid()));
        Assert.Equal([75.00m, 65.50m], next.Items().Select(i => i.Money("margin", "NOK")));
    }

    [Fact]
    public async Task Win_back_lists_slipping_customers_by_value_at_stake_and_makes_one_task_per_owner()
    {
        using var admin = Fx.Admin();
        var seller = await Fx.CreateUserAsync("Sales");
        var other = await Fx.CreateUserAsync("Sales");
        // A (a champion) and H belong to one seller, I to another; G (imported) has no owner.
        await admin.SetSettingsAsync("PLN", interactionCosts: InteractionCosts);
        var x = await BuildExampleAsync(admin, "PLN", new Dictionary<char, Guid> { ['A'] = seller.Id, ['H'] = seller.Id, ['I'] = other.Id });
        await admin.RecomputeAsync(AsOf);

        // Slipping: At risk (G), Can't lose them (I), Hibernating (H); no P(alive) without a PLN fit, so the threshold
        // selects nobody more. Most value at stake first: I 150, H 120, G 45.
        foreach (var url in new[] { "/api/v1/analytics/win-back", "/api/v1/analytics/win-back?threshold=0.99" })
        {
            var list = await admin.AllPagesAsync(url, 2);
            Assert.Equal([x['I'], x['H'], x['G']], list.Select(i => i.GetProperty("customerId").GetGuid()));
            Assert.Equal([150.00m, 120.00m, 45.00m], list.Select(i => i.Money("valueAtStake", "PLN")));
            Assert.Equal(["CannotLoseThem", "Hibernating", "AtRisk"], list.Select(i => i.Str("segment")));
            Assert.Equal([other.Id, seller.Id, (Guid?)null], list.Select(i => i.GuidOrNull("ownerId")));
        }
        // A seller sees only the slipping customers they own.
        using (var sellerClient = seller.Client())
            Assert.Equal([x['H']], (await sellerClient.GetJsonAsync("/api/v1/analytics/win-back")).Items().Select(i => i.GetProperty("customerId").GetGuid()));

        using (var sellerClient = seller.Client())
            await sellerClient.PostJsonAsync("/api/v1/analytics/win-back/tasks", new { }, HttpStatusCode.Forbidden);
        var manager = await Fx.CreateUserAsync("Manager");
        using var managerClient = manager.Client();
        using (var bad = await managerClient.PostAsync("/api/v1/analytics/win-back/tasks", JsonContent(new { max = 0 })))
            Assert.Contains("max", (await bad.ExpectValidationProblemAsync()).Keys);

        var first = await managerClient.PostJsonAsync("/api/v1/analytics/win-back/tasks", new { }, HttpStatusCode.OK);
        Assert.Equal((3, 2, 0, 1), (first.GetProperty("candidates").GetInt32(), first.GetProperty("tasksCreated").GetInt32(),
            first.GetProperty("alreadyHadTask").GetInt32(), first.GetProperty("withoutOwner").GetInt32()));
        foreach (var (key, owner) in new[] { ('I', other.Id), ('H', seller.Id) })
        {
            var tasks = (await admin.GetJsonAsync($"/api/v1/tasks?customer={x[key]}")).Items().ToList();
            var task = Assert.Single(tasks);
            Assert.Equal(owner, task.GetProperty("assigneeId").GetGuid());
            Assert.Equal("win-back", task.Str("relatedType"));
            Assert.Equal("Open", task.Str("status"));
            Assert.Equal("High", task.Str("priority"));
            Assert.StartsWith("Win back ", task.Str("title"), StringComparison.Ordinal);
        }
        Assert.Empty((await admin.GetJsonAsync($"/api/v1/tasks?customer={x['G']}")).Items());
        Assert.Empty((await admin.GetJsonAsync($"/api/v1/tasks?customer={x['A']}")).Items());

        // Again: nobody gets a second task; the owner-less customer is still counted.
        var again = await managerClient.PostJsonAsync("/api/v1/analytics/win-back/tasks", new { threshold = 0.3 }, HttpStatusCode.OK);
        Assert.Equal((3, 0, 2, 1), (again.GetProperty("candidates").GetInt32(), again.GetProperty("tasksCreated").GetInt32(),
            again.GetProperty("alreadyHadTask").GetInt32(), again.GetProperty("withoutOwner").GetInt32()));
        Assert.Single((await admin.GetJsonAsync($"/api/v1/tasks?customer={x['I']}")).Items());
        // max takes the most valuable first.
        var one = await managerClient.PostJsonAsync("/api/v1/analytics/win-back/tasks", new { max = 1 }, HttpStatusCode.OK);
        Assert.Equal((1, 0, 1, 0), (one.GetProperty("candidates").GetInt32(), one.GetProperty("tasksCreated").GetInt32(),
            one.GetProperty("alreadyHadTask").GetInt32(), one.GetProperty("withoutOwner").GetInt32()));
    }

    private static StringContent JsonContent(object body) =>
        new(JsonSerializer.Serialize(body, Api.Json), System.Text.Encoding.UTF8, "application/json");
}

[Collection("analytics-sqlite")]
public sealed class SqliteAnalyticsScoreTests(SqliteFixture fx) : AnalyticsScoreTests(fx);

[Collection("analytics-postgres")]
public sealed class PostgresAnalyticsScoreTests(PostgresFixture fx) : AnalyticsScoreTests(fx);
