using System.Diagnostics;
using System.Globalization;
using Kolo.Core.Analytics;
using Kolo.Core.Analytics.Models;
using Kolo.Core.Customers;
using Kolo.Core.Data;
using Kolo.Core.Integration;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Kolo.Bench;

/// <summary>
/// A time-split holdout of the next-best offers on online_retail/: the file goes through Kolo's own import engine
/// into a fresh database, the scores are recomputed as of the day before the split (so rules, segments and offers
/// see only the past), and each customer who bought both before and after the split is checked: did they buy, after
/// the split, a product among their top 5 offers that they had not bought before? Beside it, the most popular
/// products (by buyers before the split) that the customer had not bought.
/// </summary>
public static partial class Runner
{
    public const int HoldoutOffers = 5;

    private static readonly Dictionary<string, string> OnlineRetailMapping = new()
    {
        ["externalId"] = "InvoiceNo", ["sku"] = "StockCode", ["description"] = "Description", ["quantity"] = "Quantity",
        ["orderedAt"] = "InvoiceDate", ["unitPrice"] = "UnitPrice", ["customerExternalId"] = "CustomerID", ["country"] = "Country",
        // Options, as the import wizard stores them: literal values under a '$' prefix.
        ["$currency"] = "GBP", ["$cancellationPrefix"] = "C", ["$dateFormat"] = "yyyy-MM-dd HH:mm:ss",
    };

    public static async Task RunRecommendHoldoutAsync(Options options)
    {
        var server = options.Connection;
        var name = options.Optional("database") ?? "kolo_bench_recommend";
        var file = Path.GetFullPath(options.Optional("file") ?? Dataset("online_retail/online_retail.csv.gz"));
        var split = DateTime.SpecifyKind(DateTime.ParseExact(options.Optional("split") ?? "2011-09-01", "yyyy-MM-dd", CultureInfo.InvariantCulture), DateTimeKind.Utc);
        var defaults = new AnalyticsSettings();
        var minSupport = options.Double("min-support", defaults.MinSupport);
        var minConfidence = options.Double("min-confidence", defaults.MinConfidence);
        var sweep = (options.Optional("sweep") ?? "0.005,0.0025").Split(',', StringSplitOptions.RemoveEmptyEntries)
            .Select(s => double.Parse(s, CultureInfo.InvariantCulture)).Where(s => s != minSupport).ToList();
        var reuse = options.Flag("reuse");
        var keep = options.Flag("keep") || reuse;

        string cs;
        if (reuse && await HasOrdersAsync(server, name))
        {
            cs = new NpgsqlConnectionStringBuilder(server) { Database = name }.ConnectionString;
            Console.WriteLine($"Reusing the database {name}.");
        }
        else
        {
            cs = new NpgsqlConnectionStringBuilder(await RecreateDatabaseAsync(server, name)) { CommandTimeout = 30 }.ConnectionString;
            await ImportOnlineRetailAsync(cs, file);
        }
        try
        {
            await EvaluateOffersAsync(cs, split, minSupport, minConfidence, sweep);
        }
        finally
        {
            if (!keep) await DropDatabaseAsync(server, name);
        }
    }

    /// <summary>../shared/datasets/<paramref name="relative"/> next to the repository (found from here upwards by Kolo.slnx).</summary>
    private static string Dataset(string relative)
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (!File.Exists(Path.Combine(dir.FullName, "Kolo.slnx"))) continue;
                var path = Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "datasets", relative));
                if (File.Exists(path)) return path;
            }
        }
        throw new BenchException($"The public dataset {relative} was not found in ../shared/datasets next to the repository; give --file.");
    }

    private sealed class ContextFactory(DbContextOptions<KoloDb> options) : IDbContextFactory<KoloDb>
    {
        public KoloDb CreateDbContext() => new(options);
    }

    /// <summary>The file through <see cref="ImportEngine"/>, as the app's import worker runs a job the wizard queued.</summary>
    private static async Task ImportOnlineRetailAsync(string cs, string file)
    {
        var dbOptions = new DbContextOptionsBuilder<KoloDb>();
        DatabaseSetup.Configure(dbOptions, DatabaseProvider.Postgres, cs);
        var factory = new ContextFactory(dbOptions.Options);
        var now = DateTime.UtcNow;
        var job = new ImportJob
        {
            Kind = ImportKind.Orders, Status = ImportStatus.Running, FileName = Path.GetFileName(file), FileSize = new FileInfo(file).Length,
            Mapping = new Dictionary<string, string>(OnlineRetailMapping), CreatedAt = now, StartedAt = now, HeartbeatAt = now,
        };
        await using (var db = new KoloDb(dbOptions.Options))
        {
            await DatabaseSetup.MigrateAsync(db);
            db.ImportJobs.Add(job);
            await db.SaveChangesAsync();
        }
        var phones = new PhoneNormalizer();
        var engine = new ImportEngine(factory, TimeProvider.System, phones, new CustomerService(factory, TimeProvider.System, phones, []));
        Console.WriteLine($"Importing {Path.GetFileName(file)} as orders through ImportEngine ...");
        var sw = Stopwatch.StartNew();
        var lastPrint = TimeSpan.Zero;
        await engine.RunAsync(job.Id, file, j =>
        {
            if (sw.Elapsed - lastPrint < TimeSpan.FromSeconds(15)) return;
            lastPrint = sw.Elapsed;
            Console.WriteLine($"  {sw.Elapsed.TotalSeconds,6:F0} s  {j.Rows,9:N0} rows  {j.Progress,3} %");
        });
        await using (var db = new KoloDb(dbOptions.Options))
        {
            var done = await db.ImportJobs.AsNoTracking().SingleAsync(j => j.Id == job.Id);
            if (done.Status != ImportStatus.Succeeded) throw new BenchException($"The import ended {done.Status}: {done.Error}");
            Console.WriteLine($"Imported in {sw.Elapsed.TotalSeconds:F0} s: {done.Rows:N0} rows, {done.Accepted:N0} accepted, {done.Rejected:N0} rejected " +
                              $"(no customer id), {done.Created:N0} orders created; {await db.Customers.CountAsync():N0} customers, {await db.Products.CountAsync():N0} products.");
        }
    }

    private sealed record Method(string Name, Func<Guid, IReadOnlyList<(int Item, string Kind)>> Offers);

    private sealed class Score
    {
        public int Customers, WithOffers, Offers, HitCustomers, Hits, FullSlates;
        public double RecallSum;
        public int RecallCustomers;
        public readonly Dictionary<string, (int Offers, int Hits)> ByKind = [];
    }

    private static async Task EvaluateOffersAsync(string cs, DateTime split, double minSupport, double minConfidence, List<double> sweep)
    {
        var asOf = split.AddDays(-1);
        const string currency = "GBP";
        await using (var db = CommandLog.Context(cs, null))
        {
            var settings = await db.AnalyticsSettings.FirstOrDefaultAsync();
            if (settings is null) db.AnalyticsSettings.Add(settings = new AnalyticsSettings());
            settings.Currency = currency;
            settings.MinSupport = minSupport;
            settings.MinConfidence = minConfidence;
            settings.RecomputeHours = 0;
            await db.SaveChangesAsync();
        }

        // The product's own recompute as of the day before the split: RFM segments, rules and the stored offers.
        ScoresResult result;
        AnalyticsSettings current;
        var sw = Stopwatch.StartNew();
        await using (var db = CommandLog.Context(cs, null))
        {
            current = await AnalyticsService.SettingsAsync(db, CancellationToken.None);
            result = await ScoreCalculator.RecomputeAsync(db, current, null, asOf, DateTime.UtcNow, (_, _) => { }, CancellationToken.None);
        }
        Console.WriteLine($"\nRecomputed the scores as of {asOf:yyyy-MM-dd} in {sw.Elapsed.TotalSeconds:F1} s: {result.Customers:N0} customers, " +
                          $"{result.Buyers:N0} with purchases before {split:yyyy-MM-dd}, {result.Rules:N0} rules (support {minSupport}, confidence {minConfidence}).");

        await using var ctx = CommandLog.Context(cs, null);
        ctx.Database.SetCommandTimeout(TimeSpan.FromMinutes(10));
        // The recompute's inputs again, read the way it reads them, so the offers come from the same Recommender.
        var catalog = await ctx.Products.AsNoTracking().Select(p => new CatalogItem(p.Id, p.Sku, p.Name, p.Category, p.ListPriceMinor, p.Currency, p.Active)).ToListAsync();
        var index = catalog.Select((p, i) => (p.Id, i)).ToDictionary(x => x.Id, x => x.i);
        var baskets = await ScoreCalculator.BasketsAsync(ctx, currency, split, index, CancellationToken.None);
        var segments = await ctx.CustomerScores.AsNoTracking().Where(s => s.Segment != null).ToDictionaryAsync(s => s.CustomerId, s => s.Segment!);
        var stored = await ctx.CustomerScores.AsNoTracking().Where(s => s.Segment != null).Select(s => new { s.CustomerId, s.Offers }).ToListAsync();
        var rules = Apriori.Mine(baskets.Baskets, current.MinSupport, current.MinConfidence, maxItemsetSize: 3);

        var recommender = new Recommender(catalog, rules, baskets.ByCustomer);
        var differ = stored.Count(s => !recommender.For(s.CustomerId, segments[s.CustomerId], segments, ScoreCalculator.OffersPerCustomer)
            .Select(o => o.ProductId).SequenceEqual(s.Offers.Select(o => o.ProductId)));
        Console.WriteLine($"Rebuilt the recommender from the same inputs: {rules.Count:N0} rules; its {ScoreCalculator.OffersPerCustomer} offers differ from the stored ones " +
                          $"for {differ:N0} of {stored.Count:N0} customers{(differ == 0 ? " (identical)" : " — WARNING")}.");

        // What each customer bought (purchases: confirmed or later, not returns) on and after the split.
        var after = new Dictionary<Guid, HashSet<int>>();
        var rows = ctx.OrderLines.Where(l => l.ProductId != null)
            .Join(PurchaseHistory.Purchases(ctx, currency).Where(o => o.OrderedAt >= split), l => l.OrderId, o => o.Id, (l, o) => new { o.CustomerId, ProductId = l.ProductId!.Value })
            .Distinct().AsAsyncEnumerable();
        await foreach (var r in rows)
        {
            if (!after.TryGetValue(r.CustomerId, out var set)) after[r.CustomerId] = set = [];
            set.Add(index[r.ProductId]);
        }
        var before = baskets.ByCustomer;
        var evaluated = before.Keys.Where(c => before[c].Length > 0 && after.ContainsKey(c)).OrderBy(c => c).ToList();
        var buyersBefore = new int[catalog.Count];
        foreach (var items in before.Values) foreach (var i in items) buyersBefore[i]++;
        var popular = Enumerable.Range(0, catalog.Count).Where(i => catalog[i].Active && buyersBefore[i] > 0)
            .OrderByDescending(i => buyersBefore[i]).ThenBy(i => catalog[i].Sku, StringComparer.Ordinal).ToList();
        Console.WriteLine($"Split at {split:yyyy-MM-dd}: {before.Count:N0} customers bought before, {after.Count:N0} on or after, {evaluated.Count:N0} both (evaluated). " +
                          $"Most popular before: {string.Join(", ", popular.Take(HoldoutOffers).Select(i => $"{catalog[i].Sku} ({buyersBefore[i]:N0} buyers)"))}.");

        IReadOnlyList<(int, string)> Popular(Guid customer, int count, ICollection<int>? skip = null)
        {
            var bought = before[customer];
            return popular.Where(i => Array.IndexOf(bought, i) < 0 && (skip is null || !skip.Contains(i))).Take(count).Select(i => (i, "popular")).ToList();
        }
        List<(int Item, string Kind)> Kolo(Recommender rec, Guid customer, int count) =>
            rec.For(customer, segments.GetValueOrDefault(customer), segments, count).Select(o => (index[o.ProductId], o.Kind)).ToList();

        var methods = new List<Method>
        {
            new($"Kolo offers, top {HoldoutOffers} (support {minSupport})", c => Kolo(recommender, c, HoldoutOffers)),
            new($"Kolo offers as stored ({ScoreCalculator.OffersPerCustomer} per customer)", c => Kolo(recommender, c, ScoreCalculator.OffersPerCustomer)),
            new($"Kolo top {HoldoutOffers}, filled up with most popular", c =>
            {
                var offers = Kolo(recommender, c, HoldoutOffers);
                offers.AddRange(Popular(c, HoldoutOffers - offers.Count, offers.Select(o => o.Item).ToHashSet()));
                return offers;
            }),
            new($"most popular {HoldoutOffers} not yet bought (baseline)", c => Popular(c, HoldoutOffers)),
        };
        foreach (var support in sweep)
        {
            var more = Apriori.Mine(baskets.Baskets, support, current.MinConfidence, maxItemsetSize: 3);
            var rec = new Recommender(catalog, more, baskets.ByCustomer);
            methods.Insert(methods.Count - 1, new($"Kolo offers, top {HoldoutOffers} (support {support}: {more.Count:N0} rules)", c => Kolo(rec, c, HoldoutOffers)));
        }

        Console.WriteLine($"\nHoldout: {evaluated.Count:N0} customers who bought before {split:yyyy-MM-dd} and on or after it; a hit is an offered product bought after the split and not before.");
        Console.WriteLine($"  {"method",-58} {"with offers",12} {"hit rate@5",11} {"precision",10} {"prec/slot",10} {"recall@5",9}  hits by kind");
        foreach (var method in methods)
        {
            var s = new Score();
            foreach (var customer in evaluated)
            {
                var offers = method.Offers(customer);
                var bought = after[customer];
                var fresh = bought.Count(i => Array.IndexOf(before[customer], i) < 0);
                s.Customers++;
                if (offers.Count > 0) s.WithOffers++;
                if (offers.Count >= HoldoutOffers) s.FullSlates++;
                var hits = 0;
                foreach (var (item, kind) in offers)
                {
                    var hit = bought.Contains(item) && Array.IndexOf(before[customer], item) < 0;
                    if (hit) hits++;
                    var k = s.ByKind.GetValueOrDefault(kind);
                    s.ByKind[kind] = (k.Offers + 1, k.Hits + (hit ? 1 : 0));
                }
                s.Offers += offers.Count;
                s.Hits += hits;
                if (hits > 0) s.HitCustomers++;
                if (fresh > 0) { s.RecallSum += (double)hits / fresh; s.RecallCustomers++; }
            }
            var kinds = string.Join(", ", s.ByKind.OrderBy(k => k.Key, StringComparer.Ordinal).Select(k => $"{k.Key} {k.Value.Hits:N0}/{k.Value.Offers:N0}"));
            Console.WriteLine($"  {Cut(method.Name, 58),-58} {(double)s.WithOffers / s.Customers,12:P1} {(double)s.HitCustomers / s.Customers,11:P1} " +
                              $"{(s.Offers == 0 ? 0 : (double)s.Hits / s.Offers),10:P1} {(double)s.Hits / (HoldoutOffers * s.Customers),10:P1} " +
                              $"{(s.RecallCustomers == 0 ? 0 : s.RecallSum / s.RecallCustomers),9:P1}  {kinds}");
        }
        Console.WriteLine($"""

              hit rate@5: customers with at least one hit / customers evaluated. precision: hits / offers shown;
              prec/slot: hits / (5 x customers), counting empty slots as misses. recall@5: per customer, hits / products
              bought after the split that they had not bought before, averaged over customers with any such product.
            """);
    }
}
