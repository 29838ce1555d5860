using System.Net;
using System.Text.Json;
using Kolo.Web.Tests.Infrastructure;
using static Kolo.Web.Tests.Infrastructure.AnalyticsApi;
using static Kolo.Web.Tests.Infrastructure.OrderApi;

namespace Kolo.Web.Tests;

/// <summary>
/// Association rules (Apriori, one item on the right) mined from order baskets: a textbook basket set checked by hand,
/// the arules Groceries data through the product's import against a brute-force count, and the next best offers
/// they and the up-sell rule give.
/// </summary>
public abstract class AnalyticsRulesTests(KoloAppFixture fx) : ApiTestBase(fx)
{
    private static readonly DateOnly AsOf = new(2025, 6, 30);

    private sealed record Rule(string[] Antecedent, string Consequent, int Count, double Support, double Confidence, double Lift)
    {
        /// <summary>Everything in one string, so two reads of the same rule compare equal.</summary>
        public override string ToString() => System.FormattableString.Invariant($"{{{string.Join(", ", Antecedent)}}} → {Consequent} ({Count}, {Support:R}, {Confidence:R}, {Lift:R})");
    }

    /// <summary>The rules of the endpoint, items named by SKU.</summary>
    private static async Task<(int Baskets, List<Rule> Rules)> RulesAsync(HttpClient client, string query)
    {
        var body = await client.GetJsonAsync("/api/v1/analytics/association-rules" + query);
        var rules = body.GetProperty("rules").EnumerateArray().Select(r => new Rule(
            r.GetProperty("antecedent").EnumerateArray().Select(p => p.Str("sku")).Order(StringComparer.Ordinal).ToArray(),
            r.GetProperty("consequent").Str("sku"), r.GetProperty("count").GetInt32(), r.GetProperty("support").GetDouble(),
            r.GetProperty("confidence").GetDouble(), r.GetProperty("lift").GetDouble())).ToList();
        return (body.GetProperty("baskets").GetInt32(), rules);
    }

    private static Rule Find(List<Rule> rules, string consequent, params string[] antecedent) =>
        rules.SingleOrDefault(r => r.Consequent == consequent && r.Antecedent.SequenceEqual(antecedent.Order(StringComparer.Ordinal)))
        ?? throw new Xunit.Sdk.XunitException($"No rule {{{string.Join(", ", antecedent)}}} → {consequent} among {rules.Count}.");

    [Fact]
    public async Task Textbook_baskets_give_the_hand_counted_rules_and_thresholds_are_validated()
    {
        // Tan, Steinbach & Kumar, "Introduction to Data Mining", table 6.1: five market baskets.
        string[][] baskets =
        [
            ["bread", "milk"],
            ["bread", "diapers", "beer", "eggs"],
            ["milk", "diapers", "beer", "cola"],
            ["bread", "milk", "diapers", "beer"],
            ["bread", "milk", "diapers", "cola"],
        ];
        using var admin = Fx.Admin();
        var tag = Unique.Word(6).ToUpperInvariant();
        string Sku(string item) => $"{tag}-{item.ToUpperInvariant()}";
        await admin.SetSettingsAsync("SEK", minSupport: 0.4, minConfidence: 0.6);
        await admin.ImportOrdersAsync(baskets.SelectMany((b, i) => b.Select(item =>
            new OrderRow($"O{tag}-{i}", $"{tag}-c{i}", At(i), Sku(item), item, 1, 2.50m))).ToList(), "SEK");

        // Support >= 60 % is 3 of 5 baskets: {bread, milk}, {bread, diapers}, {milk, diapers}, {diapers, beer} — no triple
        // (bread, milk, diapers are together twice). Each pair gives two rules of confidence 3/4, except beer → diapers (3/3):
        // 8 rules at 60 % confidence, 1 at 80 %.
        var (count, rules) = await RulesAsync(admin, "?minSupport=0.6&minConfidence=0.6");
        Assert.Equal(5, count);
        Assert.Equal(8, rules.Count);
        var beerDiapers = Find(rules, Sku("diapers"), Sku("beer"));
        Assert.Equal((3, 0.6, 1.0), (beerDiapers.Count, beerDiapers.Support, beerDiapers.Confidence));
        Assert.Equal(1.0 / (4.0 / 5), beerDiapers.Lift, 1e-12);
        Assert.Equal(0.75, Find(rules, Sku("milk"), Sku("bread")).Confidence, 1e-12);
        Assert.Equal(0.75 / 0.8, Find(rules, Sku("milk"), Sku("bread")).Lift, 1e-12);
        Assert.Equal([beerDiapers.ToString()], (await RulesAsync(admin, "?minSupport=0.6&minConfidence=0.8")).Rules.Select(r => r.ToString()));

        // At 40 % (2 baskets): 8 frequent pairs give 12 rules of confidence >= 60 % (bread → beer, milk → beer, milk → cola,
        // diapers → cola have 1/2); 4 frequent triples ({bread, milk, diapers}, {bread, diapers, beer}, {milk, diapers, beer},
        // {milk, diapers, cola}) give 3 rules each (2/3 or 2/2); no 4 items are together twice. 24 rules.
        (count, rules) = await RulesAsync(admin, "?minSupport=0.4&minConfidence=0.6");
        Assert.Equal(24, rules.Count);
        var toCola = Find(rules, Sku("cola"), Sku("milk"), Sku("diapers"));
        Assert.Equal((2, 0.4), (toCola.Count, toCola.Support));
        Assert.Equal(2.0 / 3, toCola.Confidence, 1e-12);
        Assert.Equal(2.0 / 3 / 0.4, toCola.Lift, 1e-12);
        Assert.Equal(toCola, rules[0]); // the strongest lift (1.67) first
        var toBeer = Find(rules, Sku("beer"), Sku("milk"), Sku("diapers"));
        Assert.Equal(2.0 / 3 / 0.6, toBeer.Lift, 1e-12);
        Assert.Equal(1.0, Find(rules, Sku("milk"), Sku("cola")).Confidence);
        Assert.DoesNotContain(rules, r => r.Consequent == Sku("beer") && r.Antecedent.SequenceEqual([Sku("bread")])); // 2/4 = 50 %
        Assert.DoesNotContain(rules, r => r.Antecedent.Contains(Sku("eggs")) || r.Consequent == Sku("eggs"));
        Assert.All(rules.Zip(rules.Skip(1)), p => Assert.True(p.First.Lift >= p.Second.Lift));
        Assert.Equal(rules.Take(5).Select(r => r.ToString()), (await RulesAsync(admin, "?minSupport=0.4&minConfidence=0.6&limit=5")).Rules.Select(r => r.ToString()));
        // Without thresholds the settings' apply (40 %, 60 %).
        Assert.Equal(24, (await RulesAsync(admin, "")).Rules.Count);
        // The recompute mines the same rules with the settings and stores them.
        Assert.Equal(24, (await admin.RecomputeAsync(AsOf)).GetProperty("rules").GetInt32());

        foreach (var (query, fields) in new[]
                 {
                     ("?minSupport=0", new[] { "minSupport" }), ("?minSupport=1.5", new[] { "minSupport" }), ("?minConfidence=-0.1", new[] { "minConfidence" }),
                     ("?minConfidence=1.01", new[] { "minConfidence" }), ("?minSupport=-1&minConfidence=2", new[] { "minSupport", "minConfidence" }), ("?limit=0", new[] { "limit" }),
                     // NaN was a 500, and a support this small would mine nearly every itemset of a real file.
                     ("?minSupport=NaN&minConfidence=NaN", new[] { "minSupport", "minConfidence" }), ("?minSupport=0.00001", new[] { "minSupport" }),
                 })
        {
            using var response = await admin.GetAsync("/api/v1/analytics/association-rules" + query);
            Assert.Equal(fields.Order(), (await response.ExpectValidationProblemAsync()).Keys.Order());
        }
    }

    [Fact]
    public async Task Groceries_imported_as_orders_give_exactly_the_rules_of_a_brute_force_count()
    {
        var lines = await File.ReadAllLinesAsync(ImportApi.Dataset("groceries/groceries.csv"));
        var baskets = lines.Where(l => l.Length > 0).Select(l => l.Split(',').Distinct().ToArray()).ToList();
        Assert.Equal(9_835, baskets.Count);
        Assert.Contains(baskets, b => b.Contains("cream cheese ")); // the label with a trailing space, kept as it is
        var labels = baskets.SelectMany(b => b).Distinct().ToList();
        Assert.Equal(169, labels.Count);

        // One order per basket, one line per item; a hundred customers; SKUs stand for labels, the description is the label.
        using var admin = Fx.Admin();
        var tag = Unique.Word(6).ToUpperInvariant();
        var sku = labels.Select((label, i) => (label, i)).ToDictionary(x => x.label, x => $"{tag}-{x.i:D3}", StringComparer.Ordinal);
        var label = sku.ToDictionary(x => x.Value, x => x.Key, StringComparer.Ordinal);
        var rows = baskets.SelectMany((b, i) => b.Select(item => new OrderRow($"O{tag}-{i}", $"{tag}-c{i % 100}", At(i % 30), sku[item], item, 1, 1.00m))).ToList();
        Assert.Equal(43_367, rows.Count);
        await admin.SetSettingsAsync("CZK", minSupport: 0.01, minConfidence: 0.5);
        await admin.ImportOrdersAsync(rows, "CZK");

        // The brute force: every subset of up to four frequent items of every basket, counted. An itemset is a key of
        // up to four item numbers (1-based, 8 bits each: 169 labels), its items in ascending order.
        const double minSupport = 0.01, minConfidence = 0.5;
        var n = baskets.Count;
        var number = labels.Select((l, i) => (l, i)).ToDictionary(x => x.l, x => x.i + 1, StringComparer.Ordinal);
        var single = new int[labels.Count + 1];
        foreach (var basket in baskets) foreach (var item in basket) single[number[item]]++;
        var minCount = (int)Math.Ceiling(minSupport * n); // 99 baskets
        var counts = new Dictionary<long, int>();
        void Add(long key) => counts[key] = counts.GetValueOrDefault(key) + 1;
        foreach (var basket in baskets)
        {
            var f = basket.Select(i => number[i]).Where(i => single[i] >= minCount).Order().ToArray();
            for (var a = 0; a < f.Length; a++)
                for (var b = a + 1; b < f.Length; b++)
                {
                    Add(Key(f[a], f[b]));
                    for (var c = b + 1; c < f.Length; c++)
                    {
                        Add(Key(f[a], f[b], f[c]));
                        for (var d = c + 1; d < f.Length; d++) Add(Key(f[a], f[b], f[c], f[d]));
                    }
                }
        }
        var itemsets = counts.Where(c => c.Value >= minCount).ToDictionary(c => c.Key, c => c.Value);
        Assert.DoesNotContain(itemsets.Keys, k => Items(k).Length == 4); // so the recompute's limit of 3 items loses nothing
        var expected = new List<Rule>();
        foreach (var (key, together) in itemsets)
        {
            var items = Items(key);
            foreach (var y in items)
            {
                var x = items.Where(i => i != y).ToArray();
                var confidence = (double)together / (x.Length == 1 ? single[x[0]] : itemsets[Key(x)]);
                if (confidence >= minConfidence)
                    expected.Add(new Rule(x.Select(i => labels[i - 1]).ToArray(), labels[y - 1], together, (double)together / n, confidence, confidence / ((double)single[y] / n)));
            }
        }
        Assert.Equal(15, expected.Count); // the figure arules gives for Groceries at 1 % / 50 %

        var (count, rules) = await RulesAsync(admin, "?minSupport=0.01&minConfidence=0.5");
        Assert.Equal(n, count);
        var named = rules.Select(r => r with { Antecedent = r.Antecedent.Select(s => label[s]).Order(StringComparer.Ordinal).ToArray(), Consequent = label[r.Consequent] }).ToList();
        Assert.Equal(expected.Count, named.Count);
        foreach (var e in expected)
        {
            var got = Find(named, e.Consequent, e.Antecedent);
            Assert.Equal(e.Count, got.Count);
            Assert.Equal(e.Support, got.Support, 1e-12);
            Assert.Equal(e.Confidence, got.Confidence, 1e-12);
            Assert.Equal(e.Lift, got.Lift, 1e-9);
        }
        // The rule every arules tutorial shows: {citrus fruit, root vegetables} → {other vegetables}.
        var citrus = Find(named, "other vegetables", "citrus fruit", "root vegetables");
        Assert.Equal(0.0104, citrus.Support, 0.00005);
        Assert.Equal(0.586, citrus.Confidence, 0.0005);
        Assert.Equal(3.03, citrus.Lift, 0.005);
        Assert.Equal(15, (await admin.RecomputeAsync(AsOf)).GetProperty("rules").GetInt32());

        // The import kept the label with its trailing space on the order line.
        var creamBasket = baskets.FindIndex(b => b.Contains("cream cheese "));
        var order = (await admin.GetJsonAsync($"/api/v1/orders?q=O{tag}-{creamBasket}&limit=500")).Items().Single(o => o.Str("number") == $"O{tag}-{creamBasket}");
        Assert.Contains(order.Lines(), l => l.Str("description") == "cream cheese " && l.Str("sku") == sku["cream cheese "]);
    }

    private static long Key(params int[] items) => items.Aggregate(0L, (key, item) => key << 8 | (long)item);

    private static int[] Items(long key)
    {
        var items = new List<int>();
        for (; key != 0; key >>= 8) items.Insert(0, (int)(key & 0xFF));
        return [.. items];
    }

    [Fact]
    public async Task Offers_explain_the_rule_they_come_from_and_up_sell_what_the_customers_segment_bought()
    {
        using var admin = Fx.Admin();
        var tag = Unique.Word(6).ToUpperInvariant();
        async Task<JsonElement> Product(string name, string? category, decimal price) =>
            await admin.PostJsonAsync("/api/v1/products", new { sku = $"{tag}-{name.ToUpperInvariant()}", name = $"{name} {tag}", category, listPrice = price, unitCost = price / 2, currency = "DKK" }, HttpStatusCode.Created);
        var kettle = await Product("Kettle", null, 30m);
        var teapot = await Product("Teapot", null, 45m);
        var toaster = await Product("Toaster", null, 60m);
        var boots = await Product("Boots", "Shoes", 50m);
        var dearer = await Product("Walkers", "Shoes", 120m);
        var dearest = await Product("Climbers", "Shoes", 300m);

        // Ten customers, one order each on ten different days, so all have F = 1 and the two oldest are Lost (R = 1),
        // the two newest New (R = 5). Baskets (oldest first):
        //   T {kettle, boots}, U {kettle, teapot, walkers} — Lost
        //   {kettle, teapot} ×2, {kettle}, {teapot}, {toaster} ×2 — the middle segments
        //   V {climbers}, W {climbers} — New
        // Kettle is in 5 baskets, teapot in 4, both in 3: kettle → teapot has support 3/10, confidence 3/5, lift 0.6 / 0.4 = 1.5;
        // teapot → kettle confidence 3/4, lift 0.75 / 0.5 = 1.5. At 20 % / 50 % these are the only rules.
        (string Key, JsonElement[] Basket)[] plan =
        [
            ("T", [kettle, boots]), ("U", [kettle, teapot, dearer]), ("c3", [kettle, teapot]), ("c4", [kettle, teapot]), ("c5", [kettle]),
            ("c6", [teapot]), ("c7", [toaster]), ("c8", [toaster]), ("V", [dearest]), ("W", [dearest]),
        ];
        await admin.SetSettingsAsync("DKK", minSupport: 0.2, minConfidence: 0.5);
        var customers = new Dictionary<string, Guid>();
        for (var i = 0; i < plan.Length; i++)
        {
            var id = (await CreateAsync(Person(), admin)).Id();
            customers[plan[i].Key] = id;
            var order = Order(id, plan[i].Basket.Select(p => Line(p.Id(), 1)), "DKK");
            order["orderedAt"] = TimelineApi.Iso(At(100 - 10 * i));
            await admin.CreateOrderAsync(order);
        }
        await admin.RecomputeAsync(AsOf);

        var (_, rules) = await RulesAsync(admin, "");
        Assert.Equal(2, rules.Count);
        Assert.Equal(["Lost", "Lost", "New", "New"], await Task.WhenAll(new[] { "T", "U", "V", "W" }.Select(async k => (await admin.ScoresAsync(customers[k])).Str("segment"))));

        // T bought the kettle: the teapot, because of kettle → teapot; and, in shoes, the walkers that the other Lost
        // customer bought — not the climbers, dearer still but bought only by New customers.
        var offers = await admin.RecommendationsAsync(customers["T"]);
        Assert.Equal(2, offers.Count);
        var cross = offers[0];
        Assert.Equal((teapot.Id(), "cross-sell"), (cross.GetProperty("productId").GetGuid(), cross.Str("kind")));
        Assert.Equal([kettle.Str("name")], cross.GetProperty("because").EnumerateArray().Select(b => b.GetString()));
        Assert.Equal((0.6, 1.5, 0.3), (cross.GetProperty("confidence").GetDouble(), Math.Round(cross.GetProperty("lift").GetDouble(), 12), cross.GetProperty("support").GetDouble()));
        Assert.Equal($"bought {kettle.Str("name")}; 60% of buyers of {kettle.Str("name")} also bought {teapot.Str("name")}, lift 1.5", cross.Str("reason"));
        var up = offers[1];
        Assert.Equal((dearer.Id(), "up-sell"), (up.GetProperty("productId").GetGuid(), up.Str("kind")));
        Assert.Equal([boots.Str("name")], up.GetProperty("because").EnumerateArray().Select(b => b.GetString()));
        Assert.Equal(0.5, up.GetProperty("support").GetDouble()); // 1 of the 2 Lost customers bought it
        Assert.Equal($"buys {boots.Str("name")}; 50% of similar customers bought {dearer.Str("name")}, a step up in the same category", up.Str("reason"));
        // The card's scores carry the same offers.
        Assert.Equal(offers.Select(o => o.Str("reason")), (await admin.ScoresAsync(customers["T"])).GetProperty("offers").EnumerateArray().Select(o => o.Str("reason")));
        // Whoever asks in another language gets the reasons in it.
        foreach (var path in new[] { "recommendations", "scores" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/customers/{customers["T"]}/{path}");
            request.Headers.AcceptLanguage.ParseAdd("uk");
            using var response = await admin.SendAsync(request);
            var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            var ukrainian = (path == "scores" ? body.GetProperty("offers") : body).EnumerateArray().First().Str("reason");
            Assert.Equal($"купив {kettle.Str("name")}; 60% покупців {kettle.Str("name")} купили також {teapot.Str("name")}, ліфт 1,5", ukrainian);
        }
        // Until the next recompute, an offer the customer has taken up since is not offered again.
        var taken = Order(customers["T"], [Line(teapot.Id(), 1)], "DKK");
        await admin.CreateOrderAsync(taken);
        Assert.Equal([dearer.Id()], (await admin.RecommendationsAsync(customers["T"])).Select(o => o.GetProperty("productId").GetGuid()));
        Assert.Equal([dearer.Id()], (await admin.ScoresAsync(customers["T"])).GetProperty("offers").EnumerateArray().Select(o => o.GetProperty("productId").GetGuid()));

        // teapot → kettle for the customer who bought only a teapot; c5 (kettle only) gets the teapot.
        var reverse = Assert.Single(await admin.RecommendationsAsync(customers["c6"]));
        Assert.Equal(kettle.Id(), reverse.GetProperty("productId").GetGuid());
        Assert.Contains("75% of buyers of", reverse.Str("reason"), StringComparison.Ordinal);
        Assert.Equal(teapot.Id(), Assert.Single(await admin.RecommendationsAsync(customers["c5"])).GetProperty("productId").GetGuid());
        // U has the kettle and the teapot already and the dearest shoes its segment bought: nothing to offer. V and W own
        // the dearest shoes. Nobody is ever offered what they bought.
        Assert.Empty(await admin.RecommendationsAsync(customers["U"]));
        Assert.Empty(await admin.RecommendationsAsync(customers["V"]));
        for (var i = 0; i < plan.Length; i++)
        {
            var bought = plan[i].Basket.Select(p => p.Id()).ToHashSet();
            Assert.DoesNotContain(await admin.RecommendationsAsync(customers[plan[i].Key]), o => bought.Contains(o.GetProperty("productId").GetGuid()));
        }
    }

    private static DateTime At(int daysBeforeAsOf) => AsOf.ToDateTime(new TimeOnly(12, 0), DateTimeKind.Utc).AddDays(-daysBeforeAsOf);
}

[Collection("analytics-sqlite")]
public sealed class SqliteAnalyticsRulesTests(SqliteFixture fx) : AnalyticsRulesTests(fx);

[Collection("analytics-postgres")]
public sealed class PostgresAnalyticsRulesTests(PostgresFixture fx) : AnalyticsRulesTests(fx);
