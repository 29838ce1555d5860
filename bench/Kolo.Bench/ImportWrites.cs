using System.Diagnostics;
using Kolo.Core.Customers;
using Kolo.Core.Data;
using Kolo.Core.Platform;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Kolo.Bench;

/// <summary>
/// Where an import's time goes, without HTTP or CSV: the same new customers with their search terms written into a
/// fresh, fully indexed Kolo schema (a) through EF Core SaveChanges in batches, as the import engine commits them, and
/// (b) through the bulk path of <c>generate</c> (binary COPY on PostgreSQL, prepared INSERTs on SQLite), batch by
/// batch into the same indexes. Also times building the records (search terms, audit diff) alone.
/// </summary>
public static partial class Generator
{
    public static async Task RunImportWritesAsync(Options options)
    {
        var provider = options.Provider;
        var count = options.Int("count", 40_000);
        var batchSize = Math.Max(1, options.Int("batch", 4000));
        var now = new DateTime(2026, 11, 1, 12, 0, 0, DateTimeKind.Utc);
        CustomerJson.Provider = provider;

        var sw = Stopwatch.StartNew();
        var service = new CustomerService(null!, TimeProvider.System, new PhoneNormalizer(), []);
        var sample = new SampleCustomers(2026);
        var records = new List<(Customer Customer, List<CustomerSearchTerm> Terms, AuditEntry Audit)>(count);
        for (var i = 0; i < count; i++)
        {
            var c = sample.Next(now);
            c.ExternalId = ImportFiles.CustomerId(i);
            records.Add((c, service.BuildSearchTerms(c), Audit.Entry(Actor.System, now, CustomerService.EntityType, c.Id, AuditActions.Created,
                Audit.Diff(new Dictionary<string, string?>(), CustomerService.Snapshot(c)))));
        }
        var build = sw.Elapsed.TotalSeconds;
        var terms = records.Sum(r => r.Terms.Count);
        Console.WriteLine($"Built {count:N0} customers, {terms:N0} search terms, {count:N0} audit entries in {build:F2} s.");

        var results = new List<(string Name, double Seconds)>();
        foreach (var (name, withAudit, bulk) in new[] { ("EF SaveChanges, customers + terms", false, false), ("EF SaveChanges, + audit entries", true, false), ("bulk, customers + terms", false, true) })
        {
            var cs = await FreshDatabaseAsync(options, provider, $"kolo_bench_writes_{results.Count}");
            var dbOptions = new DbContextOptionsBuilder<KoloDb>();
            DatabaseSetup.Configure(dbOptions, provider, cs);
            await using (var db = new KoloDb(dbOptions.Options)) await DatabaseSetup.MigrateAsync(db);
            sw.Restart();
            if (bulk)
            {
                IBulkLoader loader = provider == DatabaseProvider.Postgres ? new PostgresLoader(cs) : new SqliteLoader(cs);
                await using (loader)
                {
                    await loader.OpenAsync();
                    var rows = new RowCounts();
                    foreach (var chunk in records.Chunk(batchSize))
                        await loader.WriteAsync(chunk.Select(r => (r.Customer, r.Terms)).ToList(), rows);
                    await loader.CommitAsync();
                }
            }
            else
            {
                foreach (var chunk in records.Chunk(batchSize))
                {
                    // As ImportEngine.CommitAsync: a context per batch, change detection once, one SaveChanges.
                    await using var db = new KoloDb(dbOptions.Options);
                    db.ChangeTracker.AutoDetectChangesEnabled = false;
                    foreach (var (c, t, a) in chunk)
                    {
                        db.Customers.Add(c);
                        db.CustomerSearchTerms.AddRange(t);
                        if (withAudit) db.AuditEntries.Add(a);
                    }
                    db.ChangeTracker.DetectChanges();
                    await db.SaveChangesAsync();
                }
            }
            var seconds = sw.Elapsed.TotalSeconds;
            results.Add((name, seconds));
            Console.WriteLine($"{name}: {seconds:F2} s ({count / seconds:N0} customers/s)");
            SqliteConnection.ClearAllPools();
            NpgsqlConnection.ClearAllPools();
        }
        Console.WriteLine($"\n{provider}: {count:N0} new customers ({terms:N0} search terms) in batches of {batchSize:N0}, into the indexed Kolo schema:");
        Console.WriteLine($"{"build records (terms, audit diff)",-36} {build,8:F2} s {count / build,12:N0} customers/s");
        foreach (var (name, seconds) in results)
            Console.WriteLine($"{name,-36} {seconds,8:F2} s {count / seconds,12:N0} customers/s");
        Console.WriteLine($"EF / bulk (customers + terms): {results[0].Seconds / results[2].Seconds:F1}x");
        if (!options.Flag("keep"))
            for (var i = 0; i < results.Count; i++) await DropFreshAsync(options, provider, $"kolo_bench_writes_{i}");
    }

    private static async Task<string> FreshDatabaseAsync(Options options, DatabaseProvider provider, string name)
    {
        await DropFreshAsync(options, provider, name);
        if (provider == DatabaseProvider.Sqlite)
            return $"Data Source={Path.Combine(options.Optional("work") ?? ".", name + ".db")}";
        await using var c = new NpgsqlConnection(options.Connection);
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand($"CREATE DATABASE {name}", c);
        await cmd.ExecuteNonQueryAsync();
        return new NpgsqlConnectionStringBuilder(options.Connection) { Database = name }.ConnectionString;
    }

    private static async Task DropFreshAsync(Options options, DatabaseProvider provider, string name)
    {
        if (provider == DatabaseProvider.Sqlite)
        {
            SqliteConnection.ClearAllPools();
            var path = Path.Combine(options.Optional("work") ?? ".", name + ".db");
            foreach (var suffix in new[] { "", "-wal", "-shm" }) File.Delete(path + suffix);
            return;
        }
        NpgsqlConnection.ClearAllPools();
        await using var c = new NpgsqlConnection(options.Connection);
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand($"DROP DATABASE IF EXISTS {name} WITH (FORCE)", c);
        await cmd.ExecuteNonQueryAsync();
    }
}
