using System.Data.Common;
using System.Diagnostics;
using System.Globalization;
using Kolo.Core.Customers;
using Kolo.Core.Data;
using Kolo.Core.Platform;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using NpgsqlTypes;

namespace Kolo.Bench;

/// <summary>
/// Creates the schema with the app's own migrations, then bulk-loads sample customers with their search terms and
/// tags: binary COPY on PostgreSQL, one transaction of prepared INSERTs on SQLite. Secondary indexes are dropped
/// for the load and re-created afterwards from their own definitions, which is much faster than maintaining them
/// row by row and leaves exactly the schema the migrations made.
/// </summary>
public static partial class Generator
{
    public static readonly string[] TagNames = ["vip", "newsletter", "wholesale", "b2b", "returning", "event-2025", "loyalty", "partner"];
    private static readonly string[] Tables = ["customers", "customer_search_terms", "customer_tags"];
    private const int Chunk = 20_000;

    public static async Task RunAsync(Options options)
    {
        var provider = options.Provider;
        var count = options.Int("count", 1_000_000);
        var seed = options.Int("seed", 2026);
        var now = new DateTime(2026, 11, 1, 12, 0, 0, DateTimeKind.Utc);

        Console.WriteLine($"Migrating the {provider} database ...");
        var dbOptions = new DbContextOptionsBuilder<KoloDb>();
        DatabaseSetup.Configure(dbOptions, provider, options.Connection);
        await using (var db = new KoloDb(dbOptions.Options))
        {
            await DatabaseSetup.MigrateAsync(db);
            if (await db.Customers.AnyAsync())
                throw new BenchException("The database already holds customers; generate into an empty database.");
        }

        await LoadCustomersAsync(provider, options.Connection, count, seed, now);
    }

    /// <summary>
    /// Bulk-loads <paramref name="count"/> sample customers (with search terms and tags) into a migrated, empty
    /// database; <paramref name="adjust"/> may change each customer before it is written (the analytics benchmark
    /// gives some an acquisition cost).
    /// </summary>
    internal static async Task LoadCustomersAsync(DatabaseProvider provider, string connection, int count, int seed, DateTime now, Action<Customer>? adjust = null)
    {
        // The same CustomerService logic the app uses builds the search terms (the method is internal to Core).
        var service = new CustomerService(null!, TimeProvider.System, new PhoneNormalizer(), []);
        var sample = new SampleCustomers(seed);
        var tagRandom = new Random(seed + 1);

        Console.WriteLine("Checking the JSON columns against EF's own output ...");
        CustomerJson.Provider = provider;
        var check = new SampleCustomers(seed + 2);
        var samples = Enumerable.Range(0, 50).Select(_ => check.Next(now)).ToList();
        if (provider == DatabaseProvider.Postgres) await CustomerJson.VerifyAgainstEfPostgresAsync(connection, samples);
        else await CustomerJson.VerifyAgainstEfAsync(samples);

        var tags = TagNames.Select(n => new Tag { Name = n, NameKey = n, CreatedAt = now }).ToList();
        var total = Stopwatch.StartNew();
        var rows = new RowCounts();
        IBulkLoader loader = provider == DatabaseProvider.Postgres
            ? new PostgresLoader(connection)
            : new SqliteLoader(connection);
        await using (loader)
        {
            await loader.OpenAsync();
            var indexes = await loader.DropSecondaryIndexesAsync(Tables);
            Console.WriteLine($"Dropped {indexes.Count} secondary indexes for the load; they come back afterwards.");
            await loader.WriteTagsAsync(tags);

            var load = Stopwatch.StartNew();
            var batch = new List<(Customer Customer, List<CustomerSearchTerm> Terms)>(Chunk);
            for (var done = 0; done < count;)
            {
                batch.Clear();
                for (var i = 0; i < Chunk && done < count; i++, done++)
                {
                    var customer = sample.Next(now);
                    adjust?.Invoke(customer);
                    // About a third of customers carry one or two tags, like a real CRM's few, popular tags.
                    if (tagRandom.NextDouble() < 0.3)
                    {
                        foreach (var tag in tags.OrderBy(_ => tagRandom.Next()).Take(tagRandom.Next(1, 3)))
                            customer.Tags.Add(new CustomerTag { CustomerId = customer.Id, TagId = tag.Id });
                    }
                    batch.Add((customer, service.BuildSearchTerms(customer)));
                }
                await loader.WriteAsync(batch, rows);
                if (done % 100_000 == 0 || done == count)
                    Console.WriteLine($"  {done,9:N0} customers  {done / load.Elapsed.TotalSeconds,9:N0} customers/s");
            }
            var loadSeconds = load.Elapsed.TotalSeconds;
            Console.WriteLine($"Loaded {rows.Customers:N0} customers, {rows.Terms:N0} search terms, {rows.Tags:N0} customer tags in {loadSeconds:N1} s " +
                              $"({rows.Customers / loadSeconds:N0} customers/s, {(rows.Customers + rows.Terms + rows.Tags) / loadSeconds:N0} rows/s).");

            var sw = Stopwatch.StartNew();
            await loader.CommitAsync();
            await loader.RecreateIndexesAsync(indexes);
            Console.WriteLine($"Committed and re-created the indexes in {sw.Elapsed.TotalSeconds:N1} s.");
            sw.Restart();
            await loader.AnalyzeAsync();
            Console.WriteLine($"{(provider == DatabaseProvider.Postgres ? "VACUUM (ANALYZE)" : "ANALYZE")} in {sw.Elapsed.TotalSeconds:N1} s.");
        }
        Console.WriteLine($"Done: {count:N0} customers in {total.Elapsed.TotalSeconds:N1} s " +
                          $"({(rows.Customers + rows.Terms + rows.Tags) / total.Elapsed.TotalSeconds:N0} rows/s overall, indexes and ANALYZE included).");
    }

    public sealed class RowCounts
    {
        public long Customers { get; set; }
        public long Terms { get; set; }
        public long Tags { get; set; }
    }

    private interface IBulkLoader : IAsyncDisposable
    {
        Task OpenAsync();
        Task<List<(string Name, string Sql)>> DropSecondaryIndexesAsync(string[] tables);
        Task WriteTagsAsync(List<Tag> tags);
        Task WriteAsync(List<(Customer Customer, List<CustomerSearchTerm> Terms)> batch, RowCounts rows);
        Task CommitAsync();
        Task RecreateIndexesAsync(List<(string Name, string Sql)> indexes);
        Task AnalyzeAsync();
    }

    /// <summary>The customers table's columns in the order both loaders write them; checked against the real table.</summary>
    private static readonly string[] CustomerColumns =
    [
        "Id", "Kind", "FirstName", "LastName", "CompanyName", "DisplayName", "SortName", "CityKey", "BirthDate", "Gender",
        "MaritalStatus", "HouseholdSize", "AnnualIncomeMinor", "AnnualIncomeCurrency", "PropertyNotes", "PreferredChannel",
        "PreferredLanguage", "Status", "Source", "AcquisitionCostMinor", "AcquisitionCostCurrency", "OwnerId", "CustomFields",
        "MergedIntoId", "CreatedAt", "UpdatedAt", "ArchivedAt", "ArchivedById", "Version", "Addresses", "Consents", "Emails", "Phones", "ExternalId",
    ];

    private static void CheckColumns(IEnumerable<string> actual)
    {
        var a = actual.Order(StringComparer.Ordinal).ToList();
        var e = CustomerColumns.Order(StringComparer.Ordinal).ToList();
        if (!a.SequenceEqual(e))
            throw new BenchException($"The customers table has columns [{string.Join(", ", a)}], the generator writes [{string.Join(", ", e)}]; update Generator.CustomerColumns.");
    }

    private static string Quoted(IEnumerable<string> columns) => string.Join(", ", columns.Select(c => $"\"{c}\""));

    /// <summary>Drops the tables' indexes that back no constraint and returns their definitions, to re-create them after a load.</summary>
    internal static async Task<List<(string Name, string Sql)>> DropPostgresSecondaryIndexesAsync(NpgsqlConnection connection, NpgsqlTransaction tx, string[] tables)
    {
        var indexes = new List<(string, string)>();
        await using (var cmd = new NpgsqlCommand("""
            SELECT i.indexname, i.indexdef FROM pg_indexes i
            WHERE i.schemaname = current_schema() AND i.tablename = ANY(@tables)
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
            """, connection, tx))
        {
            cmd.Parameters.AddWithValue("tables", tables);
            await using var r = await cmd.ExecuteReaderAsync();
            while (await r.ReadAsync()) indexes.Add((r.GetString(0), r.GetString(1)));
        }
        foreach (var (name, _) in indexes)
        {
            await using var drop = new NpgsqlCommand($"DROP INDEX \"{name}\"", connection, tx);
            await drop.ExecuteNonQueryAsync();
        }
        return indexes;
    }

    private sealed class PostgresLoader(string connectionString) : IBulkLoader
    {
        private NpgsqlConnection _connection = null!;
        private NpgsqlTransaction _tx = null!;
        private bool _committed;

        public async Task OpenAsync()
        {
            _connection = new NpgsqlConnection(connectionString);
            await _connection.OpenAsync();
            await using (var cmd = new NpgsqlCommand("SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'customers'", _connection))
            await using (var r = await cmd.ExecuteReaderAsync())
            {
                var columns = new List<string>();
                while (await r.ReadAsync()) columns.Add(r.GetString(0));
                CheckColumns(columns);
            }
            _tx = await _connection.BeginTransactionAsync();
        }

        public Task<List<(string Name, string Sql)>> DropSecondaryIndexesAsync(string[] tables) =>
            DropPostgresSecondaryIndexesAsync(_connection, _tx, tables);

        public async Task WriteTagsAsync(List<Tag> tags)
        {
            await using var w = await _connection.BeginBinaryImportAsync("""COPY tags ("Id", "Name", "NameKey", "Color", "CreatedAt", "ArchivedAt") FROM STDIN (FORMAT BINARY)""");
            foreach (var t in tags)
            {
                await w.StartRowAsync();
                await w.WriteAsync(t.Id, NpgsqlDbType.Uuid);
                await w.WriteAsync(t.Name, NpgsqlDbType.Varchar);
                await w.WriteAsync(t.NameKey, NpgsqlDbType.Varchar);
                await w.WriteNullAsync();
                await w.WriteAsync(t.CreatedAt, NpgsqlDbType.TimestampTz);
                await w.WriteNullAsync();
            }
            await w.CompleteAsync();
        }

        public async Task WriteAsync(List<(Customer Customer, List<CustomerSearchTerm> Terms)> batch, RowCounts rows)
        {
            // Customers first, then the rows that reference them, so the foreign keys hold at every COPY.
            await using (var w = await _connection.BeginBinaryImportAsync($"COPY customers ({Quoted(CustomerColumns)}) FROM STDIN (FORMAT BINARY)"))
            {
                foreach (var (c, _) in batch)
                {
                    await w.StartRowAsync();
                    await w.WriteAsync(c.Id, NpgsqlDbType.Uuid);
                    await w.WriteAsync(c.Kind.ToString(), NpgsqlDbType.Varchar);
                    await Text(w, c.FirstName);
                    await Text(w, c.LastName);
                    await Text(w, c.CompanyName);
                    await w.WriteAsync(c.DisplayName, NpgsqlDbType.Varchar);
                    await w.WriteAsync(c.SortName, NpgsqlDbType.Varchar);
                    await Text(w, c.CityKey);
                    if (c.BirthDate is { } bd) await w.WriteAsync(bd, NpgsqlDbType.Date); else await w.WriteNullAsync();
                    await Text(w, c.Gender?.ToString());
                    await Text(w, c.MaritalStatus?.ToString());
                    if (c.HouseholdSize is { } hs) await w.WriteAsync(hs, NpgsqlDbType.Integer); else await w.WriteNullAsync();
                    if (c.AnnualIncomeMinor is { } ai) await w.WriteAsync(ai, NpgsqlDbType.Bigint); else await w.WriteNullAsync();
                    await Text(w, c.AnnualIncomeCurrency);
                    await Text(w, c.PropertyNotes);
                    await Text(w, c.PreferredChannel?.ToString());
                    await Text(w, c.PreferredLanguage);
                    await w.WriteAsync(c.Status.ToString(), NpgsqlDbType.Varchar);
                    await Text(w, c.Source);
                    if (c.AcquisitionCostMinor is { } ac) await w.WriteAsync(ac, NpgsqlDbType.Bigint); else await w.WriteNullAsync();
                    await Text(w, c.AcquisitionCostCurrency);
                    await Uuid(w, c.OwnerId);
                    await w.WriteAsync(CustomerJson.CustomFields(c), NpgsqlDbType.Text);
                    await Uuid(w, c.MergedIntoId);
                    await w.WriteAsync(c.CreatedAt, NpgsqlDbType.TimestampTz);
                    await w.WriteAsync(c.UpdatedAt, NpgsqlDbType.TimestampTz);
                    if (c.ArchivedAt is { } aa) await w.WriteAsync(aa, NpgsqlDbType.TimestampTz); else await w.WriteNullAsync();
                    await Uuid(w, c.ArchivedById);
                    await w.WriteAsync(c.Version, NpgsqlDbType.Uuid);
                    await w.WriteAsync(CustomerJson.Addresses(c), NpgsqlDbType.Jsonb);
                    await w.WriteAsync(CustomerJson.Consents(c), NpgsqlDbType.Jsonb);
                    await w.WriteAsync(CustomerJson.Emails(c), NpgsqlDbType.Jsonb);
                    await w.WriteAsync(CustomerJson.Phones(c), NpgsqlDbType.Jsonb);
                    await Text(w, c.ExternalId);
                }
                rows.Customers += (long)await w.CompleteAsync();
            }
            await using (var w = await _connection.BeginBinaryImportAsync("""COPY customer_search_terms ("CustomerId", "Term", "Kind") FROM STDIN (FORMAT BINARY)"""))
            {
                foreach (var t in batch.SelectMany(b => b.Terms))
                {
                    await w.StartRowAsync();
                    await w.WriteAsync(t.CustomerId, NpgsqlDbType.Uuid);
                    await w.WriteAsync(t.Term, NpgsqlDbType.Varchar);
                    await w.WriteAsync(t.Kind.ToString(), NpgsqlDbType.Varchar);
                }
                rows.Terms += (long)await w.CompleteAsync();
            }
            await using (var w = await _connection.BeginBinaryImportAsync("""COPY customer_tags ("CustomerId", "TagId") FROM STDIN (FORMAT BINARY)"""))
            {
                foreach (var t in batch.SelectMany(b => b.Customer.Tags))
                {
                    await w.StartRowAsync();
                    await w.WriteAsync(t.CustomerId, NpgsqlDbType.Uuid);
                    await w.WriteAsync(t.TagId, NpgsqlDbType.Uuid);
                }
                rows.Tags += (long)await w.CompleteAsync();
            }
        }

        private static Task Text(NpgsqlBinaryImporter w, string? value) =>
            value is null ? w.WriteNullAsync() : w.WriteAsync(value, NpgsqlDbType.Varchar);

        private static Task Uuid(NpgsqlBinaryImporter w, Guid? value) =>
            value is { } v ? w.WriteAsync(v, NpgsqlDbType.Uuid) : w.WriteNullAsync();

        public async Task CommitAsync()
        {
            await _tx.CommitAsync();
            _committed = true;
        }

        public async Task RecreateIndexesAsync(List<(string Name, string Sql)> indexes)
        {
            await ExecAsync("SET maintenance_work_mem = '256MB'");
            foreach (var (_, sql) in indexes) await ExecAsync(sql);
        }

        public async Task AnalyzeAsync()
        {
            // VACUUM as well: a fresh COPY leaves the visibility map empty, so index-only scans would still visit
            // the heap until autovacuum gets round to the tables.
            foreach (var table in Tables.Append("tags")) await ExecAsync($"VACUUM (ANALYZE) {table}");
        }

        private async Task ExecAsync(string sql)
        {
            await using var cmd = new NpgsqlCommand(sql, _connection) { CommandTimeout = 0 };
            if (!_committed) cmd.Transaction = _tx;
            await cmd.ExecuteNonQueryAsync();
        }

        public async ValueTask DisposeAsync()
        {
            await _tx.DisposeAsync();
            await _connection.DisposeAsync();
        }
    }

    private sealed class SqliteLoader(string connectionString) : IBulkLoader
    {
        private SqliteConnection _connection = null!;
        private SqliteTransaction _tx = null!;
        private bool _committed;
        private SqliteCommand _customer = null!, _term = null!, _tag = null!;

        public async Task OpenAsync()
        {
            _connection = new SqliteConnection(connectionString);
            await _connection.OpenAsync();
            var columns = new List<string>();
            await using (var cmd = new SqliteCommand("SELECT name FROM pragma_table_info('customers')", _connection))
            await using (var r = await cmd.ExecuteReaderAsync())
                while (await r.ReadAsync()) columns.Add(r.GetString(0));
            CheckColumns(columns);
            // A big page cache makes the index rebuild after the load an in-memory sort.
            await ExecAsync("PRAGMA cache_size = -262144");
            _tx = _connection.BeginTransaction();
            _customer = Prepare($"INSERT INTO customers ({Quoted(CustomerColumns)}) VALUES ({string.Join(", ", CustomerColumns.Select((_, i) => $"$p{i}"))})", CustomerColumns.Length);
            _term = Prepare("""INSERT INTO customer_search_terms ("CustomerId", "Term", "Kind") VALUES ($p0, $p1, $p2)""", 3);
            _tag = Prepare("""INSERT INTO customer_tags ("CustomerId", "TagId") VALUES ($p0, $p1)""", 2);
        }

        private SqliteCommand Prepare(string sql, int parameters)
        {
            var cmd = new SqliteCommand(sql, _connection, _tx);
            for (var i = 0; i < parameters; i++) cmd.Parameters.Add(new SqliteParameter($"$p{i}", null));
            cmd.Prepare();
            return cmd;
        }

        public async Task<List<(string Name, string Sql)>> DropSecondaryIndexesAsync(string[] tables)
        {
            var indexes = new List<(string, string)>();
            await using (var cmd = new SqliteCommand(
                $"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ({string.Join(", ", tables.Select(t => $"'{t}'"))})",
                _connection, _tx))
            await using (var r = await cmd.ExecuteReaderAsync())
                while (await r.ReadAsync()) indexes.Add((r.GetString(0), r.GetString(1)));
            foreach (var (name, _) in indexes) await ExecAsync($"DROP INDEX \"{name}\"");
            return indexes;
        }

        public async Task WriteTagsAsync(List<Tag> tags)
        {
            await using var cmd = new SqliteCommand("""INSERT INTO tags ("Id", "Name", "NameKey", "Color", "CreatedAt", "ArchivedAt") VALUES ($id, $name, $key, NULL, $at, NULL)""", _connection, _tx);
            foreach (var t in tags)
            {
                cmd.Parameters.Clear();
                cmd.Parameters.AddWithValue("$id", SqliteGuid(t.Id));
                cmd.Parameters.AddWithValue("$name", t.Name);
                cmd.Parameters.AddWithValue("$key", t.NameKey);
                cmd.Parameters.AddWithValue("$at", SqliteTime(t.CreatedAt));
                await cmd.ExecuteNonQueryAsync();
            }
        }

        public Task WriteAsync(List<(Customer Customer, List<CustomerSearchTerm> Terms)> batch, RowCounts rows)
        {
            foreach (var (c, terms) in batch)
            {
                var values = new object?[]
                {
                    SqliteGuid(c.Id), c.Kind.ToString(), c.FirstName, c.LastName, c.CompanyName, c.DisplayName, c.SortName, c.CityKey,
                    c.BirthDate?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), c.Gender?.ToString(), c.MaritalStatus?.ToString(),
                    c.HouseholdSize, c.AnnualIncomeMinor, c.AnnualIncomeCurrency, c.PropertyNotes, c.PreferredChannel?.ToString(),
                    c.PreferredLanguage, c.Status.ToString(), c.Source, c.AcquisitionCostMinor, c.AcquisitionCostCurrency,
                    c.OwnerId is { } o ? SqliteGuid(o) : null, CustomerJson.CustomFields(c), c.MergedIntoId is { } m ? SqliteGuid(m) : null,
                    SqliteTime(c.CreatedAt), SqliteTime(c.UpdatedAt), c.ArchivedAt is { } aa ? SqliteTime(aa) : null,
                    c.ArchivedById is { } ab ? SqliteGuid(ab) : null, SqliteGuid(c.Version),
                    CustomerJson.Addresses(c), CustomerJson.Consents(c), CustomerJson.Emails(c), CustomerJson.Phones(c), c.ExternalId,
                };
                for (var i = 0; i < values.Length; i++) _customer.Parameters[i].Value = values[i] ?? DBNull.Value;
                rows.Customers += _customer.ExecuteNonQuery();
                foreach (var t in terms)
                {
                    _term.Parameters[0].Value = SqliteGuid(t.CustomerId);
                    _term.Parameters[1].Value = t.Term;
                    _term.Parameters[2].Value = t.Kind.ToString();
                    rows.Terms += _term.ExecuteNonQuery();
                }
                foreach (var t in c.Tags)
                {
                    _tag.Parameters[0].Value = SqliteGuid(t.CustomerId);
                    _tag.Parameters[1].Value = SqliteGuid(t.TagId);
                    rows.Tags += _tag.ExecuteNonQuery();
                }
            }
            return Task.CompletedTask;
        }

        /// <summary>EF Core's SQLite format for Guid: upper-case text.</summary>
        public static string SqliteGuid(Guid id) => id.ToString().ToUpperInvariant();

        /// <summary>EF Core's SQLite format for DateTime.</summary>
        public static string SqliteTime(DateTime t) => t.ToString("yyyy-MM-dd HH:mm:ss.FFFFFFF", CultureInfo.InvariantCulture);

        public async Task CommitAsync()
        {
            await _tx.CommitAsync();
            _committed = true;
        }

        public async Task RecreateIndexesAsync(List<(string Name, string Sql)> indexes)
        {
            foreach (var (_, sql) in indexes) await ExecAsync(sql);
        }

        public Task AnalyzeAsync() => ExecAsync("ANALYZE");

        private async Task ExecAsync(string sql)
        {
            await using var cmd = new SqliteCommand(sql, _connection);
            if (_tx is not null && !_committed) cmd.Transaction = _tx;
            await cmd.ExecuteNonQueryAsync();
        }

        public async ValueTask DisposeAsync()
        {
            foreach (DbCommand? cmd in new DbCommand?[] { _customer, _term, _tag }) if (cmd is not null) await cmd.DisposeAsync();
            if (_tx is not null) await _tx.DisposeAsync();
            await _connection.DisposeAsync();
        }
    }
}
