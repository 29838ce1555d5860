using System.Globalization;
using System.IO.Compression;
using System.Net;
using System.Text.Json;
using CsvHelper;
using Microsoft.EntityFrameworkCore;
using Kolo.Web.Tests.Infrastructure;
using static Kolo.Web.Tests.Infrastructure.AnalyticsApi;
using Microsoft.Extensions.DependencyInjection;

namespace Kolo.Web.Tests;

/// <summary>
/// The public datasets through the product's own import and analytics: CDNOW's lifetime-value fit must give the
/// published parameters (Fader, Hardie &amp; Lee 2005; Fader &amp; Hardie 2013); Online Retail's buyers, segments, offers
/// and rules must agree with what a plain read of the file gives. (Groceries: <see cref="AnalyticsRulesTests"/>.)
/// </summary>
public abstract class AnalyticsDatasetTests(KoloAppFixture fx) : ApiTestBase(fx)
{
    private static readonly SemaphoreSlim CdnowOnce = new(1, 1);

    /// <summary>Imports cdnow/cdnowElog.csv once per database (orders in USD, one per row) and makes USD the analysed currency.</summary>
    protected async Task ImportCdnowAsync(HttpClient admin)
    {
        var mapping = new { customerExternalId = "masterid", orderedAt = "date", quantity = "cds", lineTotal = "sales" };
        var options = new { currency = "USD", dateFormat = "yyyyMMdd", defaultSku = "CDNOW-CD", externalIdFromRow = "true", customerIdPrefix = "cdnow-" };
        var job = await admin.ImportAsync(await File.ReadAllBytesAsync(ImportApi.Dataset("cdnow/cdnowElog.csv")), "cdnowElog.csv", "orders", mapping, options);
        Assert.Equal("Succeeded", job.Str("status"));
        await admin.PutJsonAsync("/api/v1/analytics/settings", new { currency = "USD", horizonMonths = 12, annualDiscountRateBasisPoints = 1000, predictionDays = 90, winBackThreshold = 0.3, minSupport = 0.01, minConfidence = 0.2, recomputeHours = 0 }, HttpStatusCode.OK);
    }

    [Fact]
    public async Task Cdnow_scores_as_of_the_calibration_end_give_the_models_predictions_per_customer()
    {
        using var admin = Fx.Admin();
        await ImportCdnowAsync(admin);
        var fit = await admin.WaitForAnalyticsJobAsync((await admin.PostJsonAsync("/api/v1/analytics/clv/fit", new { calibrationEnd = "1997-09-30", timeUnit = "Week" }, HttpStatusCode.Accepted)).Id());
        Assert.Equal("Succeeded", fit.Str("status"));
        var scores = await admin.WaitForAnalyticsJobAsync((await admin.PostJsonAsync("/api/v1/analytics/recompute", new { asOf = "1997-09-30" }, HttpStatusCode.Accepted)).Id());
        Assert.True(scores.Str("status") == "Succeeded", scores.ToString());
        Assert.Equal(2_357, scores.GetProperty("result").GetProperty("buyers").GetInt32());

        // The sample's customer 1 (master id 4): x = 2, t_x = 30.43, T = 38.86 weeks; at the fitted parameters
        // P(alive) = 0.7266 (computed independently to 40 digits when the model was written).
        Guid id;
        await using (var db = await Fx.Factory.Services.GetRequiredService<Microsoft.EntityFrameworkCore.IDbContextFactory<Kolo.Core.Data.KoloDb>>().CreateDbContextAsync())
            id = db.Customers.Single(c => c.ExternalId == "cdnow-4").Id;
        var score = await admin.GetJsonAsync($"/api/v1/customers/{id}/scores");
        Assert.Equal(0.7266, score.GetProperty("probabilityAlive").GetDouble(), 0.001);
        Assert.Equal(3, score.GetProperty("purchaseDays").GetInt32());
        Assert.False(string.IsNullOrEmpty(score.Str("segment")));
        Assert.True(score.GetProperty("clv").GetProperty("amount").GetDecimal() > 0);
        Assert.Equal("USD", score.GetProperty("clv").Str("currency"));

        // The customer list sorted by CLV, 100 to a page, and the CLV ranking, 150 to a page, walk the same keyset
        // (CLV, then id, both descending) from different page boundaries: the first 300 customers must agree.
        var list = new List<JsonElement>();
        string? cursor = null;
        for (var page = 0; page < 3; page++)
        {
            var body = await admin.GetJsonAsync("/api/v1/customers?sort=-clv&limit=100" + (cursor is null ? "" : $"&cursor={Uri.EscapeDataString(cursor)}"));
            list.AddRange(body.Items());
            cursor = body.Str("nextCursor");
        }
        var ranked = new List<JsonElement>();
        cursor = null;
        for (var page = 0; page < 2; page++)
        {
            var body = await admin.GetJsonAsync("/api/v1/analytics/top-customers?by=clv&limit=150" + (cursor is null ? "" : $"&cursor={Uri.EscapeDataString(cursor)}"));
            ranked.AddRange(body.Items());
            cursor = body.Str("nextCursor");
        }
        Assert.Equal(300, list.Select(i => i.Id()).Distinct().Count());
        Assert.Equal(ranked.Select(r => r.GetProperty("customerId").GetGuid()), list.Select(i => i.Id()));
        var clvs = list.Select(i => i.GetProperty("clv").GetProperty("amount").GetDecimal()).ToList();
        Assert.Equal(ranked.Select(r => r.GetProperty("clv").GetProperty("amount").GetDecimal()), clvs);
        Assert.True(clvs.Zip(clvs.Skip(1)).All(p => p.First >= p.Second), "The list is not in descending CLV order.");
        Assert.True(clvs[0] > clvs[^1]);
        Assert.Equal(clvs[0], (await admin.GetJsonAsync($"/api/v1/customers/{list[0].Id()}/scores")).GetProperty("clv").GetProperty("amount").GetDecimal());
        // minClv (minor units) keeps exactly the customers at or above it: here the first 300 and their ties.
        var floor = (long)(clvs[^1] * 100);
        var above = await admin.AllPagesAsync($"/api/v1/customers?sort=-clv&minClv={floor}", 200);
        Assert.Equal(list.Select(i => i.Id()), above.Take(300).Select(i => i.Id()));
        Assert.All(above.Skip(300), i => Assert.Equal(clvs[^1], i.GetProperty("clv").GetProperty("amount").GetDecimal()));

        // Win-back at a threshold: exactly the customers whose P(alive) is below it or who sit in a slipping segment
        // (checked here against every stored score), most value at stake first.
        string[] slipping = ["AtRisk", "CannotLoseThem", "Hibernating"];
        List<(Guid Id, double? Alive, string? Segment)> all;
        await using (var db = await Fx.Factory.Services.GetRequiredService<Microsoft.EntityFrameworkCore.IDbContextFactory<Kolo.Core.Data.KoloDb>>().CreateDbContextAsync())
            all = db.CustomerScores.Select(s => new { s.CustomerId, s.ProbabilityAlive, s.Segment }).AsEnumerable().Select(s => (s.CustomerId, s.ProbabilityAlive, s.Segment)).ToList();
        var rfm = (await admin.GetJsonAsync("/api/v1/analytics/rfm")).GetProperty("segments").EnumerateArray().ToList();
        foreach (var threshold in new[] { 0.0, 0.2, 0.5 })
        {
            var expected = all.Where(s => s.Alive < threshold || slipping.Contains(s.Segment)).Select(s => s.Id).Order().ToList();
            var winBack = await admin.AllPagesAsync(string.Create(CultureInfo.InvariantCulture, $"/api/v1/analytics/win-back?threshold={threshold}"), 200);
            Assert.Equal(expected, winBack.Select(w => w.GetProperty("customerId").GetGuid()).Order());
            var stakes = winBack.Select(w => w.GetProperty("valueAtStake").GetProperty("amount").GetDecimal()).ToList();
            Assert.True(stakes.Zip(stakes.Skip(1)).All(p => p.First >= p.Second), "The win-back list is not by value at stake.");
            if (threshold == 0)
                Assert.Equal(rfm.Where(r => slipping.Contains(r.Str("segment"))).Sum(r => r.GetProperty("customers").GetInt32()), winBack.Count);
        }
        Assert.True(all.Count(s => s.Alive < 0.5) > all.Count(s => s.Alive < 0.2), "The thresholds select the same customers.");
    }

    [Fact]
    public async Task Scores_use_the_fit_of_the_analysed_currency_only()
    {
        using var admin = Fx.Admin();
        await ImportCdnowAsync(admin);
        var fit = await admin.WaitForAnalyticsJobAsync((await admin.PostJsonAsync("/api/v1/analytics/clv/fit", new { calibrationEnd = "1997-09-30", timeUnit = "Week" }, HttpStatusCode.Accepted)).Id());
        Assert.Equal("Succeeded", fit.Str("status"));
        Assert.True(fit.GetProperty("result").GetProperty("bgNbdConverged").GetBoolean());

        // A repeat buyer in SGD, where no model was ever fitted: no P(alive), no CLV — CDNOW's USD fit is not theirs.
        var customer = (await CreateAsync(Person(), admin)).Id();
        var product = await admin.CreateProductAsync(20m, "SGD");
        foreach (var day in new[] { "2025-01-10", "2025-02-10", "2025-03-10" })
        {
            var order = OrderApi.Order(customer, [OrderApi.Line(product.Id(), 1)], "SGD");
            order["orderedAt"] = day + "T10:00:00Z";
            await admin.CreateOrderAsync(order);
        }
        await admin.SetSettingsAsync("SGD");
        var sgd = await admin.RecomputeAsync(new DateOnly(2025, 6, 30));
        Assert.Equal(JsonValueKind.Null, sgd.GetProperty("fitJobId").ValueKind);
        var score = await admin.ScoresAsync(customer);
        Assert.Equal(3, score.GetProperty("purchaseDays").GetInt32());
        Assert.Equal(JsonValueKind.Null, score.GetProperty("probabilityAlive").ValueKind);
        Assert.Equal(0m, score.Money("clv", "SGD"));

        // Back on USD the fit applies again.
        await admin.SetSettingsAsync("USD");
        var usd = await admin.RecomputeAsync(new DateOnly(1997, 9, 30));
        Assert.Equal(fit.Id(), usd.GetProperty("fitJobId").GetGuid());
        Assert.Equal(JsonValueKind.Null, (await admin.ScoresAsync(customer)).GetProperty("segment").ValueKind);
    }

    [Fact]
    public async Task Cdnow_fit_gives_the_published_BG_NBD_and_Gamma_Gamma_parameters_and_a_holdout_table()
    {
        using var admin = Fx.Admin();
        await ImportCdnowAsync(admin);
        var queued = await admin.PostJsonAsync("/api/v1/analytics/clv/fit", new { calibrationEnd = "1997-09-30", timeUnit = "Week", holdoutEnd = "1998-06-30" }, HttpStatusCode.Accepted);
        var job = await admin.WaitForAnalyticsJobAsync(queued.Id());
        Assert.True(job.Str("status") == "Succeeded", job.ToString());
        var result = job.GetProperty("result");
        // Fader, Hardie & Lee (2005): 2,357 customers, r = 0.243, alpha = 4.414, a = 0.793, b = 2.426, LL = -9582.4.
        Assert.Equal(2_357, result.GetProperty("customers").GetInt32());
        var bg = result.GetProperty("bgNbd");
        Assert.Equal(0.243, bg.GetProperty("r").GetDouble(), 0.001);
        Assert.Equal(4.414, bg.GetProperty("alpha").GetDouble(), 0.01);
        Assert.Equal(0.793, bg.GetProperty("a").GetDouble(), 0.002);
        Assert.Equal(2.426, bg.GetProperty("b").GetDouble(), 0.01);
        Assert.Equal(-9582.4, result.GetProperty("bgNbdLogLikelihood").GetDouble(), 0.1);
        // Fader & Hardie (2013), Gamma-Gamma on the 946 repeat buyers: p = 6.25, q = 3.74, gamma = 15.44.
        Assert.Equal(946, result.GetProperty("gammaGammaCustomers").GetInt32());
        var gg = result.GetProperty("gammaGamma");
        Assert.Equal(6.25, gg.GetProperty("p").GetDouble(), 0.01);
        Assert.Equal(3.74, gg.GetProperty("q").GetDouble(), 0.01);
        Assert.Equal(15.44, gg.GetProperty("gamma").GetDouble(), 0.02);
        var holdout = result.GetProperty("holdout").EnumerateArray().ToList();
        Assert.Equal(["0", "1", "2", "3", "4", "5", "6", "7+"], holdout.Select(h => h.Str("frequency")));
        Assert.Equal(2_357, holdout.Sum(h => h.GetProperty("customers").GetInt32()));
        // Customers with no calibration repeats made 0.24 repeat purchases each in the 39-week holdout (FHL 2005, fig. 3 area).
        Assert.InRange(holdout[0].GetProperty("predictedMean").GetDouble(), 0.1, 0.4);
        var totalActual = holdout.Sum(h => h.GetProperty("actualTotal").GetInt32());
        var totalPredicted = holdout.Sum(h => h.GetProperty("predictedTotal").GetDouble());
        Assert.InRange(totalPredicted / totalActual, 0.8, 1.2);
    }

    [Fact]
    public async Task Online_retail_through_the_import_gives_buyers_segments_offers_and_rules_that_the_file_confirms()
    {
        // Read independently of the importer: purchases are invoices not starting with C, of rows with a customer id.
        var path = ImportApi.Dataset("online_retail/online_retail.csv.gz");
        var baskets = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        var bought = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        await using (var gz = new GZipStream(File.OpenRead(path), CompressionMode.Decompress))
        using (var reader = new StreamReader(gz))
        using (var csv = new CsvReader(reader, CultureInfo.InvariantCulture))
        {
            await csv.ReadAsync();
            csv.ReadHeader();
            while (await csv.ReadAsync())
            {
                var customer = csv.GetField("CustomerID");
                var invoice = csv.GetField("InvoiceNo")!;
                if (string.IsNullOrEmpty(customer) || invoice.StartsWith('C')) continue;
                var sku = csv.GetField("StockCode")!.Trim();
                customer = customer.Split('.')[0];
                if (!baskets.TryGetValue(invoice, out var basket)) baskets[invoice] = basket = new HashSet<string>(StringComparer.Ordinal);
                basket.Add(sku);
                if (!bought.TryGetValue(customer, out var items)) bought[customer] = items = new HashSet<string>(StringComparer.Ordinal);
                items.Add(sku);
            }
        }
        // The usual figures after the RFM cleaning (the dataset's README): 4,339 customers, 18,536 invoices.
        Assert.Equal((4_339, 18_536), (bought.Count, baskets.Count));

        using var admin = Fx.Admin();
        await admin.SetSettingsAsync("GBP", minSupport: 0.01, minConfidence: 0.3);
        var job = await admin.ImportAsync(await File.ReadAllBytesAsync(path), "online_retail.csv.gz", "orders", new
        {
            externalId = "InvoiceNo", sku = "StockCode", description = "Description", quantity = "Quantity", orderedAt = "InvoiceDate",
            unitPrice = "UnitPrice", customerExternalId = "CustomerID", country = "Country",
        }, new { currency = "GBP", cancellationPrefix = "C", dateFormat = "yyyy-MM-dd HH:mm:ss" }, timeoutSeconds: 1200);
        Assert.True(job.Str("status") == "Succeeded", job.ToString());
        var result = await admin.RecomputeAsync(new DateOnly(2011, 12, 9));

        // Buyers: every customer with a purchase in GBP, less those all of whose purchases came back whole (a C invoice
        // cancelling every line they bought; counted from the lines' returned quantities), and nobody else (no other test
        // buys in GBP).
        int wholeReturners;
        await using (var db = await Fx.Factory.Services.GetRequiredService<Microsoft.EntityFrameworkCore.IDbContextFactory<Kolo.Core.Data.KoloDb>>().CreateDbContextAsync())
        {
            var purchases = db.Orders.Where(o => o.Currency == "GBP" && (o.Status == Kolo.Core.Orders.OrderStatus.Confirmed
                || o.Status == Kolo.Core.Orders.OrderStatus.Shipped || o.Status == Kolo.Core.Orders.OrderStatus.Delivered));
            wholeReturners = await Microsoft.EntityFrameworkCore.EntityFrameworkQueryableExtensions.CountAsync(db.Customers, c =>
                purchases.Any(o => o.CustomerId == c.Id)
                && !purchases.Any(o => o.CustomerId == c.Id && db.OrderLines.Any(l => l.OrderId == o.Id && l.ReturnedQuantity < l.Quantity)));
        }
        // The file cancels every purchase of a few customers (a big order cancelled the same day, say).
        Assert.InRange(wholeReturners, 2, 100);
        var buyers = bought.Count - wholeReturners;
        Assert.Equal(buyers, result.GetProperty("buyers").GetInt32());
        var grid = await admin.GetJsonAsync("/api/v1/analytics/rfm");
        Assert.Equal(buyers, grid.GetProperty("cells").EnumerateArray().Sum(c => c.GetProperty("customers").GetInt32()));
        var segments = grid.GetProperty("segments").EnumerateArray().ToList();
        Assert.Equal(buyers, segments.Sum(s => s.GetProperty("customers").GetInt32()));
        Assert.True(segments.Count >= 8, $"Only {segments.Count} segments on 4,339 customers.");
        // The list's segment filter finds exactly the grid's count (the smallest segment, to keep the walk short).
        var smallest = segments.MinBy(s => s.GetProperty("customers").GetInt32());
        Assert.Equal(smallest.GetProperty("customers").GetInt32(), (await admin.AllPagesAsync($"/api/v1/customers?segment={smallest.Str("segment")}", 500)).Count);

        // Offers: never a product the customer bought (checked for every customer against the file), and for some
        // customers there are offers at all.
        List<(string ExternalId, List<Kolo.Core.Analytics.Offer> Offers, Guid Id)> offered;
        await using (var db = await Fx.Factory.Services.GetRequiredService<Microsoft.EntityFrameworkCore.IDbContextFactory<Kolo.Core.Data.KoloDb>>().CreateDbContextAsync())
            offered = db.CustomerScores.AsNoTracking().Join(db.Customers.AsNoTracking(), s => s.CustomerId, c => c.Id, (s, c) => new { c.ExternalId, s.Offers, s.CustomerId }).AsEnumerable()
                .Where(x => x.ExternalId is not null && bought.ContainsKey(x.ExternalId) && x.Offers.Count > 0).Select(x => (x.ExternalId!, x.Offers, x.CustomerId)).ToList();
        Assert.True(offered.Count > 1_000, $"Only {offered.Count} customers have offers.");
        foreach (var (externalId, offers, _) in offered)
            Assert.DoesNotContain(offers, o => bought[externalId].Contains(o.Sku));
        // The file's products have no category, so every offer is a cross-sell.
        Assert.All(offered, x => Assert.All(x.Offers, o => Assert.Equal("cross-sell", o.Kind)));
        foreach (var (externalId, offers, id) in offered.Take(20))
        {
            var api = await admin.RecommendationsAsync(id);
            Assert.Equal(offers.Select(o => o.Sku), api.Select(o => o.Str("sku")));
            Assert.All(api, o => Assert.StartsWith(o.Str("kind") == "cross-sell" ? "bought " : "buys ", o.Str("reason"), StringComparison.Ordinal));
        }

        // Rules: support and confidence of every rule, counted again over the file's invoices.
        var rules = await admin.GetJsonAsync("/api/v1/analytics/association-rules?minSupport=0.02&minConfidence=0.5");
        Assert.Equal(baskets.Count, rules.GetProperty("baskets").GetInt32());
        var list = rules.GetProperty("rules").EnumerateArray().ToList();
        Assert.NotEmpty(list);
        foreach (var rule in list)
        {
            var x = rule.GetProperty("antecedent").EnumerateArray().Select(p => p.Str("sku")).ToList();
            var y = rule.GetProperty("consequent").Str("sku");
            var withX = baskets.Values.Count(b => x.All(b.Contains));
            var together = baskets.Values.Count(b => b.Contains(y) && x.All(b.Contains));
            var withY = baskets.Values.Count(b => b.Contains(y));
            Assert.Equal(together, rule.GetProperty("count").GetInt32());
            Assert.Equal((double)together / baskets.Count, rule.GetProperty("support").GetDouble(), 1e-12);
            Assert.Equal((double)together / withX, rule.GetProperty("confidence").GetDouble(), 1e-12);
            Assert.Equal((double)together / withX / ((double)withY / baskets.Count), rule.GetProperty("lift").GetDouble(), 1e-9);
            Assert.True(together >= 0.02 * baskets.Count && together >= 0.5 * withX);
        }
    }
}

[Collection("analytics-sqlite")]
public sealed class SqliteAnalyticsDatasetTests(SqliteFixture fx) : AnalyticsDatasetTests(fx);

[Collection("analytics-postgres")]
public sealed class PostgresAnalyticsDatasetTests(PostgresFixture fx) : AnalyticsDatasetTests(fx);
