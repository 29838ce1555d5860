using System.Diagnostics;
using Kolo.Core.Analytics;
using Kolo.Core.Marketing;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Kolo.Bench;

/// <summary>
/// The segments benchmark (PostgreSQL): on the analytics data (customers, products in categories, orders, scores from a
/// real fit and recompute) plus two tags, counts typical segments through <see cref="SegmentEvaluator"/> — the query the
/// API's count, the members pages and the campaign audience start from — and beside each the same question written by
/// hand in SQL, in the same run; best of several runs each.
/// </summary>
public static partial class Runner
{
    public static async Task RunSegmentsAsync(Options options)
    {
        var server = options.Connection;
        var name = options.Optional("database") ?? "kolo_bench_segments";
        var reuse = options.Flag("reuse");
        var keep = options.Flag("keep") || reuse;
        string cs;
        if (reuse && await HasOrdersAsync(server, name))
        {
            cs = new NpgsqlConnectionStringBuilder(server) { Database = name, CommandTimeout = 0 }.ConnectionString;
            Console.WriteLine($"Reusing the database {name}.");
        }
        else
        {
            cs = await RecreateDatabaseAsync(server, name);
            var sw = Stopwatch.StartNew();
            var data = await Generator.GenerateAnalyticsAsync(cs, options.Int("customers", 1_000_000), options.Int("lines", 10_000_000),
                options.Int("products", 3000), options.Int("seed", 2026));
            Console.WriteLine($"Generated {data.Customers:N0} customers ({data.Buyers:N0} buyers), {data.Orders:N0} orders with {data.Lines:N0} lines in {sw.Elapsed.TotalSeconds:N0} s.");
        }
        try
        {
            await MeasureSegmentsAsync(options, cs);
        }
        finally
        {
            if (!keep) await DropDatabaseAsync(server, name);
        }
    }

    private static async Task MeasureSegmentsAsync(Options options, string cs)
    {
        var runs = Math.Max(1, options.Int("runs", 3));
        var showSql = options.Flag("show-sql");
        await using var raw = new NpgsqlConnection(cs);
        await raw.OpenAsync();
        var end = await ScalarAsync<DateTime>(raw, """SELECT max("OrderedAt") FROM orders""");
        var asOf = end.Date;

        // Scores as the analytics job leaves them: a fit, then a full recompute (skipped when a reused database has them).
        if (await ScalarAsync<long>(raw, "SELECT count(*) FROM customer_scores") == 0)
        {
            var sw = Stopwatch.StartNew();
            await using var db = CommandLog.Context(cs, null);
            var settings = await AnalyticsService.SettingsAsync(db, CancellationToken.None);
            var fit = await ClvFitter.FitAsync(db, settings.Currency, asOf.AddDays(1).AddMonths(-9).AddDays(-1), TimeUnit.Week, asOf, (_, _) => { }, CancellationToken.None);
            await ScoreCalculator.RecomputeAsync(db, settings, (Guid.NewGuid(), fit), asOf, DateTime.UtcNow, (_, _) => { }, CancellationToken.None);
            Console.WriteLine($"Scores computed (fit + recompute) in {sw.Elapsed.TotalSeconds:N0} s.");
        }

        // Two tags: "vip" on a tenth of the customers, "newsletter" on three tenths (by a hash of the id, so reruns agree).
        var vip = await EnsureTagAsync(raw, "bench-vip", 10);
        await EnsureTagAsync(raw, "bench-newsletter", 30);
        await ExecAsync(raw, "ANALYZE");

        // Typical choices from the data: the two largest RFM segments, the CLV median, the best-selling category.
        var labels = new List<string>();
        await using (var cmd = new NpgsqlCommand("""SELECT "Segment" FROM customer_scores WHERE "Segment" IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 2""", raw))
        await using (var r = await cmd.ExecuteReaderAsync())
            while (await r.ReadAsync()) labels.Add(r.GetString(0));
        var clvMedian = await ScalarAsync<long>(raw, """SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY "ClvMinor") FROM customer_scores WHERE "ClvMinor" > 0""");
        var category = await ScalarAsync<string>(raw, """
            SELECT p."Category" FROM order_lines l JOIN products p ON p."Id" = l."ProductId" WHERE p."Category" IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 1
            """);
        var from = asOf.AddDays(-90);
        var to = asOf.AddDays(1).AddTicks(-1);
        var clvMajor = (clvMedian / 100m).ToString(System.Globalization.CultureInfo.InvariantCulture);
        Console.WriteLine($"\nRFM segments {string.Join(", ", labels)}; CLV median {clvMajor} UAH; category {category}; period {from:yyyy-MM-dd} to {asOf:yyyy-MM-dd}.");

        var valuable = new Segment
        {
            Name = "bench: valuable customers", Kind = SegmentKind.Rules, CreatedAt = DateTime.UtcNow, UpdatedAt = DateTime.UtcNow,
            Definition = new SegmentDefinition
            {
                Conditions =
                [
                    new SegmentCondition { Field = SegmentFields.Status, Operator = SegmentFields.In, Values = ["Customer", "Lapsed"] },
                    new SegmentCondition { Field = SegmentFields.RfmSegment, Operator = SegmentFields.In, Values = labels },
                    new SegmentCondition { Field = SegmentFields.Clv, Operator = SegmentFields.Between, Values = [clvMajor, ""] },
                ],
            },
        };
        var category90 = new Segment
        {
            Name = "bench: bought the category lately", Kind = SegmentKind.Rules, CreatedAt = DateTime.UtcNow, UpdatedAt = DateTime.UtcNow,
            Definition = new SegmentDefinition { Conditions = [new SegmentCondition { Field = SegmentFields.BoughtCategory, Operator = SegmentFields.AnyOf, Values = [category], From = from, To = to }] },
        };
        var vipNotValuable = new Segment
        {
            Name = "bench: vip but not valuable", Kind = SegmentKind.Rules, CreatedAt = DateTime.UtcNow, UpdatedAt = DateTime.UtcNow,
            Definition = new SegmentDefinition
            {
                Conditions = [new SegmentCondition { Field = SegmentFields.Tag, Operator = SegmentFields.AnyOf, Values = [vip.ToString()] }],
                ExcludeSegmentIds = [valuable.Id],
            },
        };
        await using (var db = CommandLog.Context(cs, null))
        {
            db.Segments.AddRange(valuable, category90, vipNotValuable);
            await db.SaveChangesAsync();
        }

        const string active = """c."ArchivedAt" IS NULL AND c."MergedIntoId" IS NULL""";
        var valuableSql = $"""
            SELECT count(*) FROM customers c JOIN customer_scores s ON s."CustomerId" = c."Id"
            WHERE {active} AND c."Status" IN ('Customer', 'Lapsed') AND s."Segment" = ANY(@labels) AND s."ClvMinor" >= @clv
            """;
        var categorySql = $"""
            SELECT count(*) FROM customers c WHERE {active} AND EXISTS (
              SELECT 1 FROM orders o JOIN order_lines l ON l."OrderId" = o."Id" JOIN products p ON p."Id" = l."ProductId"
              WHERE o."CustomerId" = c."Id" AND o."Status" IN ('Confirmed', 'Shipped', 'Delivered') AND o."ReturnOfOrderId" IS NULL
                AND o."OrderedAt" >= @from AND o."OrderedAt" <= @to AND p."Category" = @category)
            """;
        var vipSql = $"""
            SELECT count(*) FROM customers c JOIN customer_tags t ON t."CustomerId" = c."Id" AND t."TagId" = @tag
            WHERE {active} AND NOT EXISTS (
              SELECT 1 FROM customer_scores s WHERE s."CustomerId" = c."Id"
                AND c."Status" IN ('Customer', 'Lapsed') AND s."Segment" = ANY(@labels) AND s."ClvMinor" >= @clv)
            """;
        var pageSql = $"""
            SELECT c."Id", c."SortName", c."DisplayName", c."Status", s."Segment", s."ClvMinor" FROM customers c JOIN customer_scores s ON s."CustomerId" = c."Id"
            WHERE {active} AND c."Status" IN ('Customer', 'Lapsed') AND s."Segment" = ANY(@labels) AND s."ClvMinor" >= @clv
            ORDER BY c."SortName", c."Id" LIMIT 50
            """;
        void Bind(NpgsqlCommand cmd)
        {
            cmd.Parameters.AddWithValue("labels", labels.ToArray());
            cmd.Parameters.AddWithValue("clv", clvMedian);
            cmd.Parameters.AddWithValue("from", from);
            cmd.Parameters.AddWithValue("to", to);
            cmd.Parameters.AddWithValue("category", category);
            cmd.Parameters.AddWithValue("tag", vip);
        }

        var rows = new List<Row>();
        foreach (var (segment, sql, title) in new[]
                 {
                     (valuable, valuableSql, "lifecycle + RFM + CLV (count)"),
                     (category90, categorySql, "bought the category in 90 days (count)"),
                     (vipNotValuable, vipSql, "tag, excluding the first segment (count)"),
                 })
        {
            long kolo = -1, hand = -1;
            var koloBest = double.MaxValue;
            var handBest = double.MaxValue;
            for (var run = 0; run < runs; run++)
            {
                var sw = Stopwatch.StartNew();
                await using (var db = CommandLog.Context(cs, null))
                {
                    var query = await SegmentEvaluator.QueryAsync(db, segment, DateTime.UtcNow, CancellationToken.None);
                    if (run == 0 && showSql) Console.WriteLine($"\n-- Kolo: {segment.Name}\n{query.ToQueryString()}\n");
                    kolo = await query.LongCountAsync();
                }
                koloBest = Math.Min(koloBest, sw.Elapsed.TotalSeconds);
                sw.Restart();
                await using (var cmd = new NpgsqlCommand(sql, raw) { CommandTimeout = 0 })
                {
                    Bind(cmd);
                    hand = (long)(await cmd.ExecuteScalarAsync())!;
                }
                handBest = Math.Min(handBest, sw.Elapsed.TotalSeconds);
            }
            if (kolo != hand) throw new BenchException($"{title}: Kolo counted {kolo:N0}, the hand-written SQL {hand:N0}.");
            rows.Add(new Row($"{title}: {kolo:N0} customers", koloBest, handBest));
        }

        // The first members page of the first segment, as the members tab asks for it (name order, 50 rows, with scores).
        {
            var koloBest = double.MaxValue;
            var handBest = double.MaxValue;
            for (var run = 0; run < runs; run++)
            {
                var sw = Stopwatch.StartNew();
                await using (var db = CommandLog.Context(cs, null))
                {
                    var query = await SegmentEvaluator.QueryAsync(db, valuable, DateTime.UtcNow, CancellationToken.None);
                    _ = await query.OrderBy(c => c.SortName).ThenBy(c => c.Id).Take(50)
                        .Select(c => new
                        {
                            c.Id, c.SortName, c.DisplayName, c.Status, Email = c.Emails.Select(e => e.Address).FirstOrDefault(),
                            Segment = db.CustomerScores.Where(s => s.CustomerId == c.Id).Select(s => s.Segment).FirstOrDefault(),
                            Clv = db.CustomerScores.Where(s => s.CustomerId == c.Id).Select(s => (long?)s.ClvMinor).FirstOrDefault(),
                        })
                        .ToListAsync();
                }
                koloBest = Math.Min(koloBest, sw.Elapsed.TotalSeconds);
                sw.Restart();
                await using (var cmd = new NpgsqlCommand(pageSql, raw) { CommandTimeout = 0 })
                {
                    Bind(cmd);
                    await using var r = await cmd.ExecuteReaderAsync();
                    while (await r.ReadAsync()) { }
                }
                handBest = Math.Min(handBest, sw.Elapsed.TotalSeconds);
            }
            rows.Add(new Row("lifecycle + RFM + CLV: first members page (50 by name)", koloBest, handBest));
        }

        Console.WriteLine($"\n{"segment",-62} {"Kolo s",9} {"SQL s",9} {"ratio",7}");
        foreach (var r in rows)
            Console.WriteLine($"{r.Name,-62} {r.Kolo,9:F3} {r.Raw,9:F3} {r.Kolo / r.Raw,6:F2}x");
    }

    private static async Task<Guid> EnsureTagAsync(NpgsqlConnection raw, string name, int percent)
    {
        await using (var find = new NpgsqlCommand("""SELECT "Id" FROM tags WHERE "NameKey" = @n""", raw))
        {
            find.Parameters.AddWithValue("n", name);
            if (await find.ExecuteScalarAsync() is Guid existing) return existing;
        }
        var id = Guid.CreateVersion7();
        await using (var add = new NpgsqlCommand("""INSERT INTO tags ("Id", "Name", "NameKey", "CreatedAt") VALUES (@id, @n, @n, now())""", raw))
        {
            add.Parameters.AddWithValue("id", id);
            add.Parameters.AddWithValue("n", name);
            await add.ExecuteNonQueryAsync();
        }
        await using (var tag = new NpgsqlCommand("""
            INSERT INTO customer_tags ("CustomerId", "TagId") SELECT "Id", @id FROM customers WHERE abs(hashtext("Id"::text)) % 100 < @p
            """, raw) { CommandTimeout = 0 })
        {
            tag.Parameters.AddWithValue("id", id);
            tag.Parameters.AddWithValue("p", percent);
            await tag.ExecuteNonQueryAsync();
        }
        return id;
    }
}
