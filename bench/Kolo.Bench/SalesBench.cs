using System.Diagnostics;
using Kolo.Core.Customers;
using Kolo.Core.Data;
using Kolo.Core.Orders;
using Kolo.Core.Platform;
using Kolo.Core.Sales;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Kolo.Bench;

/// <summary>
/// The sales benchmark: a fresh PostgreSQL database with --open open deals and --closed closed deals (with their stage
/// histories) over --customers customers and 20 sales reps, written with the bulk writer; then the board's first page and
/// the forecast, as the endpoints compute them (the services, in process), each --requests times, p50/p95 beside the raw
/// SQL of the same aggregates measured in the same run.
/// </summary>
public static class SalesBench
{
    private const string Database = "kolo_bench_sales";

    public static async Task RunAsync(Options options)
    {
        var server = options.Connection;
        var openCount = options.Int("open", 100_000);
        var closedCount = options.Int("closed", 1_000_000);
        var customerCount = options.Int("customers", 100_000);
        var requests = options.Int("requests", 200);
        var random = new Random(options.Int("seed", 2026));
        var now = DateTime.UtcNow;

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
            Pipeline pipeline;
            List<Guid> reps;
            await using (var db = factory.CreateDbContext())
            {
                await DatabaseSetup.MigrateAsync(db);
                pipeline = PipelineService.DefaultPipeline(now);
                db.Pipelines.Add(pipeline);
                var users = Enumerable.Range(0, 20).Select(i => new User
                {
                    UserName = $"rep{i}@bench", Email = $"rep{i}@bench", DisplayName = $"Rep {i}", Role = UserRole.Sales, Team = $"Team {i % 4}",
                    CustomerAccess = CustomerAccess.Own, CreatedAt = now, SecurityStamp = Guid.NewGuid().ToString(),
                }).ToList();
                db.Users.AddRange(users);
                db.SalesSettings.Add(new SalesSettings { Currency = "UAH" });
                await db.SaveChangesAsync();
                reps = users.Select(u => u.Id).ToList();
            }
            var stages = pipeline.Stages.OrderBy(s => s.Position).ToList();
            var open = stages.Where(s => s.Kind == StageKind.Open).ToList();
            var won = stages.Single(s => s.Kind == StageKind.Won);
            var lost = stages.Single(s => s.Kind == StageKind.Lost);

            var sample = new SampleCustomers(7);
            var customers = new List<Guid>(customerCount);
            foreach (var chunk in Enumerable.Range(0, customerCount).Chunk(50_000))
            {
                var batch = chunk.Select(i => { var c = sample.Next(now); c.OwnerId = reps[i % reps.Count]; return c; }).ToList();
                customers.AddRange(batch.Select(c => c.Id));
                await BenchDb.WriteAsync(factory, batch);
            }
            var deals = 0;
            var changes = 0;
            foreach (var chunk in Enumerable.Range(0, openCount + closedCount).Chunk(50_000))
            {
                var records = new List<object>();
                foreach (var i in chunk)
                {
                    var isOpen = i < openCount;
                    var owner = reps[random.Next(reps.Count)];
                    var created = now.AddDays(-(isOpen ? random.Next(1, 120) : random.Next(30, 1100)));
                    // Closed deals walk 1–4 open stages, then win (30 %) or lose; open deals walk up to their current stage.
                    var depth = random.Next(1, open.Count + 1);
                    var path = open.Take(depth).ToList();
                    var final = isOpen ? path[^1] : random.NextDouble() < 0.3 ? won : lost;
                    if (!isOpen) path.Add(final);
                    var deal = new Deal
                    {
                        Name = $"Deal {i}", CustomerId = customers[random.Next(customers.Count)], PipelineId = pipeline.Id, StageId = final.Id,
                        AmountMinor = random.Next(1_000, 500_000) * 100L, Currency = "UAH", Probability = PipelineService.EffectiveProbability(final, null),
                        ForecastCategory = (ForecastCategory)random.Next(4), OwnerId = owner, CreatedAt = created, UpdatedAt = created,
                        Status = final.Kind switch { StageKind.Won => DealStatus.Won, StageKind.Lost => DealStatus.Lost, _ => DealStatus.Open },
                        ExpectedCloseDate = DateOnly.FromDateTime(isOpen ? now.AddDays(random.Next(-10, 180)) : created.AddDays(random.Next(10, 120))),
                    };
                    var at = created;
                    foreach (var stage in path)
                    {
                        var left = at.AddDays(random.Next(2, 30));
                        var isLast = stage == path[^1];
                        records.Add(new DealStageChange { DealId = deal.Id, StageId = stage.Id, EnteredAt = at, LeftAt = isLast && isOpen ? null : isLast ? at : left, ByName = "bench" });
                        changes++;
                        if (!isLast) at = left;
                    }
                    deal.StageEnteredAt = at;
                    deal.LastActivityAt = isOpen ? now.AddDays(-random.Next(0, 40)) : at;
                    deal.ClosedAt = isOpen ? null : at;
                    records.Add(deal);
                    deals++;
                }
                await BenchDb.WriteAsync(factory, records);
            }
            await using (var db = factory.CreateDbContext()) await db.Database.ExecuteSqlRawAsync("ANALYZE");
            Console.WriteLine($"Loaded {customerCount:N0} customers, {deals:N0} deals ({openCount:N0} open), {changes:N0} stage stays in {sw.Elapsed.TotalSeconds:F1} s.");

            var clock = TimeProvider.System;
            var dealService = new DealService(factory, clock, new OrderService(factory, clock));
            var planning = new SalesPlanningService(factory, clock);
            var admin = new Actor(Guid.Empty, "bench", UserRole.Admin, CustomerAccess.All, null);
            var rep = new Actor(reps[0], "Rep 0", UserRole.Sales, CustomerAccess.Own, "Team 0");
            await using var raw = new NpgsqlConnection(cs);
            await raw.OpenAsync();
            var results = new List<(string Name, List<double> Kolo, List<double> Raw)>
            {
                ("board (manager)", await TimeAsync(requests, () => dealService.BoardAsync(admin, null, new DealQuery(), 20)), await TimeAsync(requests, () => RawBoardAsync(raw, pipeline, stages, null))),
                ("board (sales rep)", await TimeAsync(requests, () => dealService.BoardAsync(rep, null, new DealQuery(), 20)), await TimeAsync(requests, () => RawBoardAsync(raw, pipeline, stages, rep.UserId))),
                ("forecast by owner", await TimeAsync(requests, () => planning.ForecastAsync(admin, PeriodKind.Month, "owner", null, null)), await TimeAsync(requests, () => RawForecastAsync(raw))),
            };
            Console.WriteLine($"\nPostgreSQL, {openCount:N0} open + {closedCount:N0} closed deals; {requests} requests each after 10 warm-up (ms):");
            Console.WriteLine($"{"operation",-20} {"Kolo p50",9} {"p95",8}  {"raw p50",8} {"p95",8}  {"Kolo/raw p95",12}");
            foreach (var (name, kolo, rawTimes) in results)
                Console.WriteLine($"{name,-20} {P(kolo, 50),9:F1} {P(kolo, 95),8:F1}  {P(rawTimes, 50),8:F1} {P(rawTimes, 95),8:F1}  {P(kolo, 95) / P(rawTimes, 95),11:F1}x");
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

    /// <summary>The same aggregates and first pages the board shows, as hand-written SQL (the database's own cost).</summary>
    private static async Task RawBoardAsync(NpgsqlConnection c, Pipeline pipeline, List<Stage> stages, Guid? owner)
    {
        var ownerFilter = owner is null ? "" : " AND \"OwnerId\" = @owner";
        await using (var totals = new NpgsqlCommand($"""
            SELECT "StageId", count(*), sum("AmountMinor"), sum("AmountMinor" * "Probability") FROM deals
            WHERE "ArchivedAt" IS NULL AND "PipelineId" = @p AND "Currency" = 'UAH' AND ("Status" = 'Open' OR "ClosedAt" >= @since){ownerFilter}
            GROUP BY "StageId"
            """, c))
        {
            totals.Parameters.AddWithValue("p", pipeline.Id);
            totals.Parameters.AddWithValue("since", DateTime.UtcNow.AddDays(-90));
            if (owner is { } o) totals.Parameters.AddWithValue("owner", o);
            await using var r = await totals.ExecuteReaderAsync();
            while (await r.ReadAsync()) { }
        }
        foreach (var stage in stages)
        {
            await using var page = new NpgsqlCommand($"""
                SELECT * FROM deals WHERE "StageId" = @s AND "ArchivedAt" IS NULL AND "Currency" = 'UAH' AND ("Status" = 'Open' OR "ClosedAt" >= @since){ownerFilter}
                ORDER BY COALESCE("ExpectedCloseDate", DATE '9999-12-31'), "Id" LIMIT 21
                """, c);
            page.Parameters.AddWithValue("s", stage.Id);
            page.Parameters.AddWithValue("since", DateTime.UtcNow.AddDays(-90));
            if (owner is { } o) page.Parameters.AddWithValue("owner", o);
            await using var r = await page.ExecuteReaderAsync();
            while (await r.ReadAsync()) { }
        }
    }

    /// <summary>The forecast's aggregates in SQL: open deals by month and owner (weighted, best case, commit), won by month and owner.</summary>
    private static async Task RawForecastAsync(NpgsqlConnection c)
    {
        await using (var open = new NpgsqlCommand("""
            SELECT date_trunc('month', "ExpectedCloseDate"), "OwnerId", count(*), sum("AmountMinor"), sum("AmountMinor" * "Probability"),
                   sum(CASE WHEN "ForecastCategory" IN ('BestCase', 'Commit') THEN "AmountMinor" ELSE 0 END),
                   sum(CASE WHEN "ForecastCategory" = 'Commit' THEN "AmountMinor" ELSE 0 END)
            FROM deals WHERE "ArchivedAt" IS NULL AND "Status" = 'Open' AND "Currency" = 'UAH' GROUP BY 1, 2
            """, c))
        await using (var r = await open.ExecuteReaderAsync()) while (await r.ReadAsync()) { }
        await using (var history = new NpgsqlCommand("""
            SELECT "StageId", date_trunc('day', "StageEnteredAt"), "OwnerId", sum("AmountMinor") FROM deals
            WHERE "ArchivedAt" IS NULL AND "Status" = 'Open' AND "Currency" = 'UAH' GROUP BY 1, 2, 3
            """, c))
        await using (var r = await history.ExecuteReaderAsync()) while (await r.ReadAsync()) { }
        await using var wonCmd = new NpgsqlCommand("""
            SELECT date_trunc('month', "ClosedAt"), "OwnerId", sum("AmountMinor") FROM deals
            WHERE "ArchivedAt" IS NULL AND "Status" = 'Won' AND "Currency" = 'UAH' AND "ClosedAt" >= @from GROUP BY 1, 2
            """, c);
        wonCmd.Parameters.AddWithValue("from", DateTime.UtcNow.AddMonths(-4));
        await using var w = await wonCmd.ExecuteReaderAsync();
        while (await w.ReadAsync()) { }
    }

    private static async Task<List<double>> TimeAsync(int requests, Func<Task> action)
    {
        for (var i = 0; i < 10; i++) await action();
        var times = new List<double>(requests);
        for (var i = 0; i < requests; i++)
        {
            var sw = Stopwatch.StartNew();
            await action();
            times.Add(sw.Elapsed.TotalMilliseconds);
        }
        return times;
    }

    private static double P(List<double> values, int p)
    {
        var sorted = values.Order().ToList();
        return sorted[Math.Clamp((int)Math.Ceiling(p / 100.0 * sorted.Count) - 1, 0, sorted.Count - 1)];
    }
}
