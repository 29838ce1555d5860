using System.Diagnostics;
using System.Globalization;
using Kolo.Core.Analytics;
using Kolo.Core.Analytics.Models;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Kolo.Bench;

/// <summary>
/// The analytics benchmark (PostgreSQL): on a database of simulated customers and orders, times Kolo.Core's
/// lifetime-value fit, full score recomputation and rule mining, and beside each the database doing the same reads
/// (every SELECT the job ran, replayed over plain Npgsql with all values read) and a COPY of the same score rows.
/// </summary>
public static partial class Runner
{
    public const string AnalyticsCurrency = "UAH";

    public static async Task RunAnalyticsAsync(Options options)
    {
        var server = options.Connection;
        var name = options.Optional("database") ?? "kolo_bench_analytics";
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
            Console.WriteLine($"Generated {data.Customers:N0} customers ({data.Buyers:N0} buyers), {data.Products:N0} products, {data.Orders:N0} orders " +
                              $"({data.Purchases:N0} purchases, {data.Returns:N0} returns, {data.Cancelled:N0} cancelled) with {data.Lines:N0} lines in {sw.Elapsed.TotalSeconds:N0} s.");
        }
        try
        {
            // Kolo runs on the server's connection string as given (its own command timeouts), as the app would.
            var app = new NpgsqlConnectionStringBuilder(server) { Database = name }.ConnectionString;
            await MeasureAnalyticsAsync(options, cs, app);
        }
        finally
        {
            if (!keep) await DropDatabaseAsync(server, name);
        }
    }

    private static async Task<bool> HasOrdersAsync(string server, string name)
    {
        await using var c = new NpgsqlConnection(server);
        await c.OpenAsync();
        await using (var cmd = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = @n", c))
        {
            cmd.Parameters.AddWithValue("n", name);
            if (await cmd.ExecuteScalarAsync() is null) return false;
        }
        await using var db = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(server) { Database = name }.ConnectionString);
        await db.OpenAsync();
        await using var check = new NpgsqlCommand("SELECT to_regclass('orders') IS NOT NULL AND EXISTS (SELECT 1 FROM orders)", db);
        return await check.ExecuteScalarAsync() is true;
    }

    private sealed record Row(string Name, double? Kolo, double? Raw, string Note = "");

    private static async Task MeasureAnalyticsAsync(Options options, string rawCs, string appCs)
    {
        var showSql = options.Flag("show-sql");
        var rawRuns = Math.Max(1, options.Int("raw-runs", 2));
        var recomputeRuns = Math.Max(1, options.Int("recompute-runs", 2));
        var fitRuns = Math.Max(1, options.Int("fit-runs", 3));
        // --only fit,recompute,apriori: some of the steps (the recompute uses a fit, made in any case).
        var only = (options.Optional("only") ?? "fit,recompute,apriori").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet();
        await using var raw = new NpgsqlConnection(rawCs);
        await raw.OpenAsync();

        var end = await ScalarAsync<DateTime>(raw, """SELECT max("OrderedAt") FROM orders""");
        var asOf = end.Date;
        var holdoutEnd = asOf;
        var calibrationEnd = asOf.AddDays(1).AddMonths(-9).AddDays(-1);
        var counts = new List<string>();
        foreach (var table in new[] { "customers", "products", "orders", "order_lines" })
            counts.Add($"{table} {await ScalarAsync<long>(raw, $"SELECT count(*) FROM {table}"):N0}");
        Console.WriteLine($"\nDatabase: {string.Join(", ", counts)}; orders up to {end:yyyy-MM-dd HH:mm}.");

        // Reading each table once puts it in the OS cache, so neither side pays for the first read from disk.
        var warm = Stopwatch.StartNew();
        foreach (var table in new[] { "customers", "products", "orders", "order_lines" }) await ScalarAsync<long>(raw, $"SELECT count(*) FROM {table}");
        Console.WriteLine($"Warm-up (count(*) of each table): {warm.Elapsed.TotalSeconds:F1} s.");

        var log = new CommandLog();
        AnalyticsSettings settings;
        await using (var db = CommandLog.Context(appCs, null)) settings = await AnalyticsService.SettingsAsync(db, CancellationToken.None);

        // ---- BG/NBD + Gamma-Gamma fit
        Console.WriteLine($"\n== ClvFitter.FitAsync: calibration end {calibrationEnd:yyyy-MM-dd}, weeks, holdout to {holdoutEnd:yyyy-MM-dd}");
        ClvFitResult fit = null!;
        var fitTables = new List<List<Row>>();
        for (var run = 1; run <= (only.Contains("fit") ? fitRuns : 1); run++)
        {
            var fitStages = new Stages();
            await using (var sampler = new MemorySampler())
            {
                await using (var db = CommandLog.Context(appCs, log))
                    fit = await ClvFitter.FitAsync(db, settings.Currency, calibrationEnd, TimeUnit.Week, holdoutEnd, fitStages.Progress, CancellationToken.None);
                fitStages.Finish();
                Console.WriteLine($"Fit (run {run}) in {fitStages.Total:F1} s; {sampler.Summary}.");
            }
            var fitCommands = log.Take();
            if (run == 1) PrintFit(fit);
            fitStages.Print();
            if (!only.Contains("fit")) break;
            var fitRows = await ReplayAllAsync(raw, fitCommands, rawRuns, showSql && run == 1);
            var bg = fitStages.Durations.Where(d => d.Stage.Contains("BG/NBD", StringComparison.Ordinal)).Sum(d => d.Seconds);
            var gg = fitStages.Durations.Where(d => d.Stage.Contains("Gamma-Gamma", StringComparison.Ordinal)).Sum(d => d.Seconds);
            fitRows.Add(new Row($"BG/NBD maximum likelihood ({fit.Customers:N0} customers)", bg, null, "CPU only"));
            fitRows.Add(new Row($"Gamma-Gamma maximum likelihood ({fit.GammaGammaCustomers:N0})", gg, null, "CPU only"));
            fitRows.Add(new Row("fit, total", fitStages.Total, fitRows.Sum(r => r.Raw ?? 0), "raw = the same reads"));
            fitTables.Add(fitRows);
        }

        // ---- full recompute of the scores
        var recomputeTables = new List<(bool Replacing, List<Row> Rows)>();
        ScoresResult? scores = null;
        for (var run = 1; run <= (only.Contains("recompute") ? recomputeRuns : 0); run++)
        {
            var before = await ScalarAsync<long>(raw, "SELECT count(*) FROM customer_scores");
            Console.WriteLine($"\n== ScoreCalculator.RecomputeAsync as of {asOf:yyyy-MM-dd} with the fit (run {run}; customer_scores holds {before:N0} rows)");
            var stages = new Stages();
            await using (var sampler = new MemorySampler())
            {
                await using (var db = CommandLog.Context(appCs, log))
                    scores = await ScoreCalculator.RecomputeAsync(db, settings, (Guid.NewGuid(), fit), asOf, DateTime.UtcNow, stages.Progress, CancellationToken.None);
                stages.Finish();
                Console.WriteLine($"Recompute in {stages.Total:F1} s: {scores.Customers:N0} customers, {scores.Buyers:N0} buyers, {scores.Rules:N0} rules; {sampler.Summary}.");
            }
            stages.Print();
            var commands = log.Take();
            var rows = new List<Row>();
            rows.AddRange(await ReplayAllAsync(raw, commands.Where(c => c.Reader).ToList(), rawRuns, showSql));
            var nonQueries = commands.Where(c => !c.Reader).ToList();
            var saving = stages.Durations.Where(d => d.Stage.StartsWith("Saving", StringComparison.Ordinal)).Sum(d => d.Seconds);
            var stored = await ScalarAsync<long>(raw, "SELECT count(*) FROM customer_scores");
            var rules = await ScalarAsync<long>(raw, "SELECT count(*) FROM association_rules");
            var copy = await RawScoreCopyAsync(raw, before > 0);
            rows.Add(new Row($"save: DELETE x{nonQueries.Count} + COPY {stored:N0} score rows, {rules:N0} rules", saving, copy,
                $"raw = DELETE + COPY of the same rows into a twin table{(before > 0 ? " holding them" : "")}; Kolo's DELETEs {nonQueries.Sum(c => c.Seconds):F2} s"));
            var inQueries = commands.Where(c => c.Reader).Sum(c => c.Seconds);
            rows.Add(new Row("in memory between/after the reads (RFM, models, offers)", stages.Total - inQueries - saving, null, "CPU only"));
            rows.Add(new Row("recompute, total", stages.Total, rows.Sum(r => r.Raw ?? 0), "raw = the same reads + COPY"));
            recomputeTables.Add((before > 0, rows));
        }

        // ---- association rules alone
        var aprioriRows = new List<Row>();
        if (only.Contains("apriori"))
        {
            Console.WriteLine("\n== Apriori alone (the recompute's basket read, then Apriori.Mine)");
            await using var db = CommandLog.Context(appCs, log);
            var catalog = await db.Products.AsNoTracking().Select(p => new CatalogItem(p.Id, p.Sku, p.Name, p.Category, p.ListPriceMinor, p.Currency, p.Active)).ToListAsync();
            var index = catalog.Select((p, i) => (p.Id, i)).ToDictionary(x => x.Id, x => x.i);
            _ = log.Take();
            var sw = Stopwatch.StartNew();
            var baskets = await ScoreCalculator.BasketsAsync(db, settings.Currency, asOf.AddDays(1), index, CancellationToken.None);
            var read = sw.Elapsed.TotalSeconds;
            var basketRead = log.Take().Single(c => c.Reader);
            var (rawRead, _) = await BestReplayAsync(raw, basketRead, rawRuns);
            aprioriRows.Add(new Row($"basket read ({basketRead.Rows:N0} rows -> {baskets.Baskets.Count:N0} baskets)", read, rawRead));
            sw.Restart();
            var mined = Apriori.Mine(baskets.Baskets, settings.MinSupport, settings.MinConfidence, maxItemsetSize: 3);
            var mine = sw.Elapsed.TotalSeconds;
            aprioriRows.Add(new Row($"Apriori.Mine (support {settings.MinSupport}, confidence {settings.MinConfidence}, up to 3 items)", mine, null,
                $"{mined.Count:N0} rules, {mined.Count(r => r.Antecedent.Count == 2):N0} with two items on the left"));
            foreach (var r in mined.Take(3))
                Console.WriteLine($"  {string.Join(" + ", r.Antecedent.Select(i => catalog[i].Sku))} -> {catalog[r.Consequent].Sku}: support {r.Support:P2}, confidence {r.Confidence:P1}, lift {r.Lift:F2}");

            // The offers step of the recompute alone, on the same inputs (segments from the stored scores): every
            // customer's offers, then again without a segment, which leaves out the up-sell.
            var segments = await db.CustomerScores.AsNoTracking().Where(s => s.Segment != null).ToDictionaryAsync(s => s.CustomerId, s => s.Segment!);
            var ids = await db.Customers.AsNoTracking().Where(c => c.ArchivedAt == null).Select(c => c.Id).ToListAsync();
            if (segments.Count > 0)
            {
                foreach (var upSell in new[] { true, false })
                {
                    var recommender = new Recommender(catalog, mined, baskets.ByCustomer);
                    long offers = 0;
                    string memory;
                    sw.Restart();
                    await using (var sampler = new MemorySampler())
                    {
                        foreach (var id in ids) offers += recommender.For(id, upSell ? segments.GetValueOrDefault(id) : null, segments, ScoreCalculator.OffersPerCustomer).Count;
                        memory = sampler.Summary;
                    }
                    aprioriRows.Add(new Row(upSell ? $"offers: Recommender.For x {ids.Count:N0} (cross-sell + up-sell)" : "offers without the up-sell (no segment given)",
                        sw.Elapsed.TotalSeconds, null, $"{offers:N0} offers; {memory}"));
                }
            }
        }

        Console.WriteLine();
        if (fitTables.Count > 0) PrintRows($"BG/NBD + Gamma-Gamma fit{BestOfTitle(fitTables.Count)}", BestOf(fitTables));
        foreach (var group in recomputeTables.GroupBy(t => t.Replacing))
        {
            var state = group.Key ? "replacing the stored scores" : "into an empty customer_scores";
            PrintRows($"Full score recompute, {state}{BestOfTitle(group.Count())}", BestOf(group.Select(t => t.Rows).ToList()));
        }
        if (aprioriRows.Count > 0) PrintRows("Rule mining and offers", aprioriRows);
    }

    private static string BestOfTitle(int runs) => runs > 1 ? $" (best of {runs} runs for each row, Kolo and raw alike)" : "";

    /// <summary>Row by row, the fastest time each side had over the runs: other jobs on the machine only ever add time.</summary>
    private static List<Row> BestOf(List<List<Row>> tables) =>
        tables[0].Select((row, i) => row with
        {
            Kolo = tables.Select(t => t[i].Kolo).Min(),
            Raw = tables.Select(t => t[i].Raw).Min(),
        }).ToList();

    private static async Task<List<Row>> ReplayAllAsync(NpgsqlConnection raw, List<LoggedCommand> commands, int runs, bool showSql)
    {
        var rows = new List<Row>();
        foreach (var c in commands)
        {
            if (!c.Reader) continue;
            var (seconds, count) = await BestReplayAsync(raw, c, runs);
            // EF counts the final Read() that returns false as well.
            if (count != c.Rows && count != c.Rows - 1) Console.WriteLine($"  WARNING: the replay read {count:N0} rows, the app {c.Rows:N0}: {c.Summary}");
            rows.Add(new Row($"read: {c.Summary} ({count:N0} rows)", c.Seconds, seconds));
            if (showSql) Console.WriteLine($"-- {c.Summary}; app {c.Seconds:F2} s, raw {seconds:F2} s\n{c.Sql}\n");
        }
        return rows;
    }

    /// <summary>The fastest of <paramref name="runs"/> replays (a shared machine only ever makes a run slower).</summary>
    private static async Task<(double Seconds, long Rows)> BestReplayAsync(NpgsqlConnection raw, LoggedCommand c, int runs)
    {
        (double Seconds, long Rows) best = (double.MaxValue, 0);
        for (var i = 0; i < runs; i++)
        {
            var r = await CommandLog.ReplayAsync(raw, c);
            if (r.Seconds < best.Seconds) best = r;
        }
        return best;
    }

    /// <summary>
    /// The database's limit for writing the scores: the rows Kolo stored, taken out with a binary COPY, then written
    /// back with a binary COPY (after a DELETE, in one transaction, as the recompute does) into a twin of
    /// customer_scores with the same indexes and foreign key. <paramref name="full"/>: the twin holds the rows first,
    /// as customer_scores did before a second recompute.
    /// </summary>
    private static async Task<double> RawScoreCopyAsync(NpgsqlConnection raw, bool full)
    {
        var file = Path.GetTempFileName();
        try
        {
            await using (var fs = File.Create(file))
            await using (var copy = await raw.BeginRawBinaryCopyAsync("COPY customer_scores TO STDOUT (FORMAT BINARY)"))
                await copy.CopyToAsync(fs);
            await ExecAsync(raw, """
                DROP TABLE IF EXISTS bench_customer_scores;
                CREATE TABLE bench_customer_scores (LIKE customer_scores INCLUDING ALL);
                ALTER TABLE bench_customer_scores ADD FOREIGN KEY ("CustomerId") REFERENCES customers ("Id") ON DELETE CASCADE;
                """);
            if (full)
            {
                await ExecAsync(raw, "INSERT INTO bench_customer_scores SELECT * FROM customer_scores");
                await ExecAsync(raw, "VACUUM (ANALYZE) bench_customer_scores");
            }
            var sw = Stopwatch.StartNew();
            await using (var tx = await raw.BeginTransactionAsync())
            {
                await ExecAsync(raw, "DELETE FROM bench_customer_scores");
                await using (var fs = File.OpenRead(file))
                await using (var copy = await raw.BeginRawBinaryCopyAsync("COPY bench_customer_scores FROM STDIN (FORMAT BINARY)"))
                    await fs.CopyToAsync(copy);
                await tx.CommitAsync();
            }
            var seconds = sw.Elapsed.TotalSeconds;
            Console.WriteLine($"Raw: DELETE + COPY of the score rows ({new FileInfo(file).Length / 1e6:N0} MB binary) into bench_customer_scores: {seconds:F2} s.");
            await ExecAsync(raw, "DROP TABLE bench_customer_scores");
            return seconds;
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static void PrintFit(ClvFitResult fit)
    {
        var t = Generator.Truth;
        var p = fit.BgNbd;
        Console.WriteLine($"BG/NBD on {fit.Customers:N0} customers ({fit.Repeaters:N0} repeaters, {fit.RepeatPurchases:N0} repeat purchase days), converged {fit.BgNbdConverged}, LL {fit.BgNbdLogLikelihood:F1}:");
        Console.WriteLine($"  r {p.R:F4} (simulated {t.R}), alpha {p.Alpha:F4} ({t.Alpha}), a {p.A:F4} ({t.A}), b {p.B:F4} ({t.B})");
        if (fit.GammaGamma is { } gg)
            Console.WriteLine($"Gamma-Gamma on {fit.GammaGammaCustomers:N0} repeaters, converged {fit.GammaGammaConverged}, LL {fit.GammaGammaLogLikelihood:F1}:\n" +
                              $"  p {gg.P:F4} (simulated {t.P}), q {gg.Q:F4} ({t.Q}), gamma {gg.Gamma:F2} ({t.Gamma})");
        Console.WriteLine("Holdout (repeat purchase days after the calibration end, per calibration frequency):");
        Console.WriteLine($"  {"x",4} {"customers",10} {"actual",9} {"predicted",10}");
        foreach (var h in fit.Holdout) Console.WriteLine($"  {h.Frequency,4} {h.Customers,10:N0} {h.ActualMean,9:F3} {h.PredictedMean,10:F3}");
        var actual = fit.Holdout.Sum(h => h.ActualTotal);
        var predicted = fit.Holdout.Sum(h => h.PredictedTotal);
        Console.WriteLine($"  total actual {actual:N0}, predicted {predicted:N0} ({predicted / Math.Max(1, actual):P1})");
    }

    private static void PrintRows(string title, List<Row> rows)
    {
        Console.WriteLine(title);
        Console.WriteLine($"  {"step",-78} {"Kolo s",8} {"raw s",8} {"Kolo/raw",9}  note");
        foreach (var r in rows)
        {
            var ratio = r.Kolo is { } k && r.Raw is { } w && w > 0 ? (k / w).ToString("F2", CultureInfo.InvariantCulture) + "x" : "-";
            string S(double? s) => s is { } x ? x.ToString("F2", CultureInfo.InvariantCulture) : "-";
            Console.WriteLine($"  {Cut(r.Name, 78),-78} {S(r.Kolo),8} {S(r.Raw),8} {ratio,9}  {r.Note}");
        }
        Console.WriteLine();
    }

    private static string Cut(string s, int max) => s.Length <= max ? s : s[..(max - 1)] + "…";

    private static async Task<T> ScalarAsync<T>(NpgsqlConnection c, string sql)
    {
        await using var cmd = new NpgsqlCommand(sql, c) { CommandTimeout = 0 };
        return (T)(await cmd.ExecuteScalarAsync())!;
    }

    private static async Task ExecAsync(NpgsqlConnection c, string sql)
    {
        await using var cmd = new NpgsqlCommand(sql, c) { CommandTimeout = 0 };
        await cmd.ExecuteNonQueryAsync();
    }
}
