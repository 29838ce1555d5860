using System.Diagnostics;
using Kolo.Core.Catalog;
using Kolo.Core.Customers;
using Kolo.Core.Data;
using Kolo.Core.Marketing;
using Kolo.Core.Orders;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Kolo.Bench;

/// <summary>
/// Campaign results at scale: a fresh PostgreSQL database with --customers customers, one campaign with --messages messages
/// (two variants, 10 % control group, 5 % suppressed otherwise, the rest sent by e-mail or SMS with opens and clicks) and
/// --orders one-line orders around the send (2 % of them partly returned). Measures the first conversion stamp (every
/// message), then the results computation as the endpoint runs it (--runs times) beside the same grouped queries written by
/// hand in SQL in the same run.
/// </summary>
public static class ResultsBench
{
    private const string Database = "kolo_bench_results";

    public static async Task RunAsync(Options options)
    {
        var server = options.Connection;
        var customerCount = options.Int("customers", 1_000_000);
        var messageCount = Math.Min(options.Int("messages", 1_000_000), customerCount);
        var orderCount = options.Int("orders", 1_000_000);
        var runs = Math.Max(1, options.Int("runs", 3));
        var random = new Random(options.Int("seed", 2026));
        var now = DateTime.UtcNow;
        var t0 = now.AddDays(-60);

        await using (var c = new NpgsqlConnection(server))
        {
            await c.OpenAsync();
            await using (var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {Database} WITH (FORCE)", c)) await drop.ExecuteNonQueryAsync();
            await using (var create = new NpgsqlCommand($"CREATE DATABASE {Database}", c)) await create.ExecuteNonQueryAsync();
        }
        var cs = new NpgsqlConnectionStringBuilder(server) { Database = Database, CommandTimeout = 0 }.ConnectionString;
        var dbOptions = new DbContextOptionsBuilder<KoloDb>();
        DatabaseSetup.Configure(dbOptions, DatabaseProvider.Postgres, cs);
        var factory = new BenchDb.Factory(dbOptions.Options);
        try
        {
            var sw = Stopwatch.StartNew();
            var products = Enumerable.Range(0, 200).Select(i => new Product
            {
                Sku = $"RB-{i:D4}", Name = $"Product {i}", ListPriceMinor = random.Next(10, 2_000) * 100L, Currency = "UAH", CreatedAt = now, UpdatedAt = now,
            }).ToList();
            foreach (var p in products) p.UnitCostMinor = p.ListPriceMinor * random.Next(30, 80) / 100;
            var campaign = new Campaign
            {
                Name = "Bench campaign", Status = CampaignStatus.Running, StartsAt = t0, Currency = "UAH", FixedCostMinor = 5_000_000, EmailCostMinor = 50, SmsCostMinor = 150,
                Channels = [CampaignChannel.Email, CampaignChannel.Sms], ControlGroupPercent = 10, AttributionDays = 14, CreatedAt = t0, UpdatedAt = t0, LaunchedAt = t0,
            };
            var variants = new[]
            {
                new CampaignVariant { CampaignId = campaign.Id, Name = "Prospects", Audience = VariantAudience.Prospects, SortOrder = 0, EmailBody = "x", SmsText = "x" },
                new CampaignVariant { CampaignId = campaign.Id, Name = "Customers", Audience = VariantAudience.Customers, SortOrder = 1, EmailBody = "x", SmsText = "x" },
            };
            campaign.Variants = [.. variants];
            await using (var db = factory.CreateDbContext())
            {
                await DatabaseSetup.MigrateAsync(db);
                db.Products.AddRange(products);
                db.Campaigns.Add(campaign);
                await db.SaveChangesAsync();
            }

            var sample = new SampleCustomers(7);
            var customers = new List<Guid>(customerCount);
            foreach (var chunk in Enumerable.Range(0, customerCount).Chunk(50_000))
            {
                var batch = chunk.Select(_ => sample.Next(now)).ToList();
                customers.AddRange(batch.Select(c => c.Id));
                await BenchDb.WriteAsync(factory, batch);
            }
            var reasons = new[] { SuppressionReason.PressureCap, SuppressionReason.NoConsent, SuppressionReason.Unsubscribed, SuppressionReason.NoAddress, SuppressionReason.OverBudget };
            foreach (var chunk in Enumerable.Range(0, messageCount).Chunk(50_000))
            {
                var batch = new List<object>(chunk.Length);
                foreach (var i in chunk)
                {
                    var roll = random.NextDouble();
                    var planned = t0.AddMinutes(random.Next(0, 24 * 60));
                    var m = new CampaignMessage { CampaignId = campaign.Id, VariantId = variants[i % 2].Id, CustomerId = customers[i], PlannedAt = planned, CreatedAt = t0 };
                    if (roll < 0.10) { m.Status = MessageStatus.Suppressed; m.Reason = SuppressionReason.ControlGroup; }
                    else if (roll < 0.15) { m.Status = MessageStatus.Suppressed; m.Reason = reasons[random.Next(reasons.Length)]; }
                    else
                    {
                        m.Channel = random.NextDouble() < 0.6 ? CampaignChannel.Email : CampaignChannel.Sms;
                        m.Status = MessageStatus.Sent;
                        m.SentAt = planned.AddSeconds(random.Next(0, 600));
                        m.Attempts = 1;
                        if (random.NextDouble() < 0.95) { m.DeliveredAt = m.SentAt.Value.AddMinutes(1); m.Status = MessageStatus.Delivered; }
                        if (m.DeliveredAt is not null && random.NextDouble() < 0.3) { m.OpenedAt = m.SentAt.Value.AddHours(2); m.Status = MessageStatus.Opened; }
                        if (m.OpenedAt is not null && random.NextDouble() < 0.25) { m.ClickedAt = m.OpenedAt.Value.AddMinutes(1); m.Status = MessageStatus.Clicked; }
                        if (random.NextDouble() < 0.01) { m.RespondedAt = m.SentAt.Value.AddDays(1); m.Status = MessageStatus.Responded; }
                    }
                    batch.Add(m);
                }
                await BenchDb.WriteAsync(factory, batch);
            }
            var number = 0;
            foreach (var chunk in Enumerable.Range(0, orderCount).Chunk(50_000))
            {
                var batch = new List<object>(chunk.Length * 2);
                foreach (var _ in chunk)
                {
                    var product = products[random.Next(products.Count)];
                    var quantity = random.Next(1, 4);
                    var at = t0.AddMinutes(random.Next(-30 * 24 * 60, 30 * 24 * 60));
                    var order = new Order
                    {
                        Number = $"B{++number:D8}", CustomerId = customers[random.Next(customers.Count)], Status = random.NextDouble() < 0.9 ? OrderStatus.Delivered : OrderStatus.Quote,
                        Currency = "UAH", OrderedAt = at, SubtotalMinor = quantity * product.ListPriceMinor, TotalMinor = quantity * product.ListPriceMinor, CreatedAt = at, UpdatedAt = at,
                    };
                    batch.Add(order);
                    batch.Add(new OrderLine { OrderId = order.Id, LineNo = 1, ProductId = product.Id, Sku = product.Sku, Description = product.Name, Quantity = quantity, UnitPriceMinor = product.ListPriceMinor, LineTotalMinor = order.TotalMinor });
                    if (order.Status == OrderStatus.Delivered && random.NextDouble() < 0.02)
                    {
                        var back = new Order
                        {
                            Number = $"B{++number:D8}", CustomerId = order.CustomerId, Status = OrderStatus.Returned, Currency = "UAH", OrderedAt = at.AddDays(10), ReturnOfOrderId = order.Id,
                            SubtotalMinor = -product.ListPriceMinor, TotalMinor = -product.ListPriceMinor, CreatedAt = at, UpdatedAt = at,
                        };
                        batch.Add(back);
                        batch.Add(new OrderLine { OrderId = back.Id, LineNo = 1, ProductId = product.Id, Sku = product.Sku, Description = product.Name, Quantity = 1, UnitPriceMinor = product.ListPriceMinor, LineTotalMinor = -product.ListPriceMinor });
                    }
                }
                await BenchDb.WriteAsync(factory, batch);
            }
            await using (var db = factory.CreateDbContext()) await db.Database.ExecuteSqlRawAsync("ANALYZE");
            Console.WriteLine($"Loaded {customerCount:N0} customers, {messageCount:N0} campaign messages, {number:N0} orders and returns in {sw.Elapsed.TotalSeconds:F1} s.");

            double stampSeconds;
            int stamped;
            await using (var db = factory.CreateDbContext())
            {
                db.Database.SetCommandTimeout(TimeSpan.FromMinutes(30));
                sw.Restart();
                stamped = await CampaignResults.StampConversionsAsync(db, campaign, CancellationToken.None);
                stampSeconds = sw.Elapsed.TotalSeconds;
            }
            Console.WriteLine($"First conversion stamp: {stamped:N0} messages converted, {stampSeconds:F2} s.");

            var kolo = new List<double>();
            var raw = new List<double>();
            CampaignResultsView? last = null;
            for (var run = 0; run < runs; run++)
            {
                await using (var db = factory.CreateDbContext())
                {
                    db.Database.SetCommandTimeout(TimeSpan.FromMinutes(30));
                    sw.Restart();
                    last = await CampaignResults.ComputeAsync(db, campaign, DateTime.UtcNow, CancellationToken.None);
                    kolo.Add(sw.Elapsed.TotalSeconds);
                }
                await using (var c = new NpgsqlConnection(cs))
                {
                    await c.OpenAsync();
                    sw.Restart();
                    await RawAsync(c, campaign);
                    raw.Add(sw.Elapsed.TotalSeconds);
                }
            }
            var k = kolo.Order().ElementAt(kolo.Count / 2);
            var r = raw.Order().ElementAt(raw.Count / 2);
            var t = last!.Total;
            Console.WriteLine($"Results: targeted {t.Funnel.Targeted:N0}, sent {t.Funnel.Sent:N0}, converted {t.Treated.Converted:N0} (control {t.Control.Converted:N0} of {t.Control.Customers:N0}), " +
                              $"incremental margin {t.IncrementalMargin:N2} {last.Currency}, cost {t.Cost:N2}, ROI {t.Roi:P1}.");
            Console.WriteLine($"Compute (median of {runs}): Kolo {k:F2} s, hand-written SQL {r:F2} s, ratio {k / r:F2}.");
        }
        finally
        {
            if (!options.Flag("keep"))
            {
                NpgsqlConnection.ClearAllPools();
                await using var c = new NpgsqlConnection(server);
                await c.OpenAsync();
                await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {Database} WITH (FORCE)", c);
                await drop.ExecuteNonQueryAsync();
            }
        }
    }

    /// <summary>The same funnel and attribution aggregates as hand-written SQL: the database's own cost of the answer.</summary>
    private static async Task RawAsync(NpgsqlConnection c, Campaign campaign)
    {
        const string anchors = """
            WITH a AS (
                SELECT "VariantId" AS v, "CustomerId" AS cid, "SentAt" IS NULL AS ctl, COALESCE("SentAt", "PlannedAt") AS t
                FROM campaign_messages
                WHERE "CampaignId" = @id AND ("SentAt" IS NOT NULL OR ("Status" = 'Suppressed' AND "Reason" = 'ControlGroup'))),
            x AS (
                SELECT a.v, a.ctl, a.cid, o."Id" AS oid, o."TotalMinor" AS total, o."OrderedAt" AS at
                FROM a JOIN orders o ON o."CustomerId" = a.cid
                WHERE o."Status" IN ('Confirmed', 'Shipped', 'Delivered') AND o."Currency" = @cur
                  AND o."OrderedAt" >= a.t AND o."OrderedAt" < a.t + make_interval(days => @days))
            """;
        string[] statements =
        [
            """
            SELECT "VariantId", "Channel", "Reason", count(*), count(*) FILTER (WHERE "Status" = 'Suppressed'), count("SentAt"),
                   count(*) FILTER (WHERE "DeliveredAt" IS NOT NULL OR "OpenedAt" IS NOT NULL OR "ClickedAt" IS NOT NULL),
                   count(*) FILTER (WHERE "OpenedAt" IS NOT NULL OR "ClickedAt" IS NOT NULL), count("ClickedAt"), count("RespondedAt"),
                   count(*) FILTER (WHERE "ConvertedAt" IS NOT NULL AND "SentAt" IS NOT NULL), count("UnsubscribedAt"), count("BouncedAt")
            FROM campaign_messages WHERE "CampaignId" = @id GROUP BY "VariantId", "Channel", "Reason"
            """,
            anchors + """ SELECT v, ctl, count(DISTINCT cid), sum(total) FROM x GROUP BY v, ctl""",
            anchors + """ SELECT x.v, x.ctl, sum(r."TotalMinor") FROM x JOIN orders r ON r."ReturnOfOrderId" = x.oid WHERE r."Status" = 'Returned' GROUP BY x.v, x.ctl""",
            anchors + """
                 SELECT x.v, x.ctl, sum(l."Quantity"::bigint * p."UnitCostMinor") FROM x JOIN order_lines l ON l."OrderId" = x.oid
                 JOIN products p ON p."Id" = l."ProductId" AND p."UnitCostMinor" IS NOT NULL AND p."Currency" = @cur GROUP BY x.v, x.ctl
                """,
            anchors + """
                 SELECT x.v, x.ctl, sum(l."Quantity"::bigint * p."UnitCostMinor") FROM x JOIN orders r ON r."ReturnOfOrderId" = x.oid AND r."Status" = 'Returned'
                 JOIN order_lines l ON l."OrderId" = r."Id" JOIN products p ON p."Id" = l."ProductId" AND p."UnitCostMinor" IS NOT NULL AND p."Currency" = @cur GROUP BY x.v, x.ctl
                """,
            anchors + """ SELECT date_trunc('day', f), ctl, count(*) FROM (SELECT cid, ctl, min(at) AS f FROM x GROUP BY cid, ctl) d GROUP BY 1, 2""",
        ];
        foreach (var sql in statements)
        {
            await using var cmd = new NpgsqlCommand(sql, c) { CommandTimeout = 0 };
            cmd.Parameters.AddWithValue("id", campaign.Id);
            cmd.Parameters.AddWithValue("cur", campaign.Currency);
            cmd.Parameters.AddWithValue("days", campaign.AttributionDays);
            await using var reader = await cmd.ExecuteReaderAsync();
            while (await reader.ReadAsync()) { }
        }
    }
}
