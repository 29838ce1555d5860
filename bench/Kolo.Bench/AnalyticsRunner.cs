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
        var recomputeRuns = Math.Max(1, options.Int("recompute-runs", 1));
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
        var fitStages = new Stages();
        ClvFitResult fit;
        await using (var sampler = new MemorySampler())
        {
            await using (var db = CommandLog.Context(appCs, log))
                fit = await ClvFitter.FitAsync(db, settings.Currency, calibrationEnd, TimeUnit.Week, holdoutEnd, fitStages.Progress, CancellationToken.None);
            fitStages.Finish();
            Console.WriteLine($"Fit in {fitStages.Total:F1} s; allocated {sampler.Allocated / 1e9:F2} GB, peak managed heap {sampler.PeakManagedHeap / 1e9:F2} GB, peak working set {sampler.PeakWorkingSet / 1e9:F2} GB.");
        }
        var fitCommands = log.Take();
        PrintFit(fit);
        var fitRows = new List<Row>();
        foreach (var (stage, seconds) in fitStages.Durations) Console.WriteLine($"  stage {stage,-40} {seconds,8:F2} s");
        fitRows.AddRange(await ReplayAllAsync(raw, fitCommands, rawRuns, showSql));
        var bg = fitStages.Durations.Where(d => d.Stage.Contains("BG/NBD", StringComparison.Ordinal)).Sum(d => d.Seconds);
        var gg = fitStages.Durations.Where(d => d.Stage.Contains("Gamma-Gamma", StringComparison.Ordinal)).Sum(d => d.Seconds);
        fitRows.Add(new Row($"BG/NBD maximum likelihood ({fit.Customers:N0} customers)", bg, null, "CPU only"));
        fitRows.Add(new Row($"Gamma-Gamma maximum likelihood ({fit.GammaGammaCustomers:N0})", gg, null, "CPU only"));
        fitRows.Add(new Row("fit, total", fitStages.Total, fitRows.Sum(r => r.Raw ?? 0), "raw = the same reads"));

        // ---- full recompute of the scores
        var recomputeTables = new List<List<Row>>();
        ScoresResult? scores = null;
        for (var run = 1; run <= recomputeRuns; run++)
        {
            var before = await ScalarAsync<long>(raw, "SELECT count(*) FROM customer_scores");
            Console.WriteLine($"\n== ScoreCalculator.RecomputeAsync as of {asOf:yyyy-MM-dd} with the fit (run {run}; customer_scores holds {before:N0} rows)");
            var stages = new Stages();
            await using (var sampler = new MemorySampler())
            {
                await using (var db = CommandLog.Context(appCs, log))
                    scores = await ScoreCalculator.RecomputeAsync(db, settings, (Guid.NewGuid(), fit), asOf, DateTime.UtcNow, stages.Progress, CancellationToken.None);
                stages.Finish();
                Console.WriteLine($"Recompute in {stages.Total:F1} s: {scores.Customers:N0} customers, {scores.Buyers:N0} buyers, {scores.Rules:N0} rules; " +
                                  $"allocated {sampler.Allocated / 1e9:F2} GB, peak managed heap {sampler.PeakManagedHeap / 1e9:F2} GB, peak working set {sampler.PeakWorkingSet / 1e9:F2} GB.");
            }
            foreach (var (stage, seconds) in stages.Durations) Console.WriteLine($"  stage {stage,-40} {seconds,8:F2} s");
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
            recomputeTables.Add(rows);
        }

        // ---- association rules alone
        Console.WriteLine("\n== Apriori alone (the recompute's basket read, then Apriori.Mine)");
        var aprioriRows = new List<Row>();
        await using (var db = CommandLog.Context(appCs, log))
        {
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
        }

        Console.WriteLine();
        PrintRows("BG/NBD + Gamma-Gamma fit", fitRows);
        for (var i = 0; i < recomputeTables.Count; i++) PrintRows($"Full score recompute{(recomputeTables.Count > 1 ? $" (run {i + 1})" : "")}", recomputeTables[i]);
        PrintRows("Rule mining", aprioriRows);
    }

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
            if (full) await ExecAsync(raw, "INSERT INTO bench_customer_scores SELECT * FROM customer_scores; VACUUM ANALYZE bench_customer_scores");
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
