using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Kolo.Core.Data;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Kolo.Bench;

/// <summary>
/// The import/export benchmark: the database's own bulk load of the two generated CSV files (PostgreSQL COPY, the
/// sqlite3 shell's .import) into plain tables with the files' columns, then the same files through the real Kolo.Web
/// (POST /api/v1/imports, polled to the end) on a fresh database, then the export endpoints beside the database's
/// own CSV export. Everything runs one step at a time, in one run, on the same files.
/// </summary>
public static partial class Runner
{
    private const string RawDatabase = "kolo_bench_import_raw";
    private const string AppDatabase = "kolo_bench_import_app";

    /// <summary>The raw tables: the files' columns with the types and lengths of the Kolo columns they go into; no keys or indexes.</summary>
    private static string RawTablesSql(DatabaseProvider provider)
    {
        var ts = provider == DatabaseProvider.Postgres ? "timestamp" : "TEXT";
        return $"""
            CREATE TABLE raw_customers (external_id varchar(100), kind varchar(12), first_name varchar(100), last_name varchar(100),
                company_name varchar(200), email varchar(320), phone varchar(40), address varchar(200), city varchar(100), region varchar(100),
                postal_code varchar(20), country varchar(2), birth_date date, status varchar(12), source varchar(100), language varchar(10));
            CREATE TABLE raw_order_lines (order_number varchar(40), customer_id varchar(100), ordered_at {ts}, sku varchar(64),
                description varchar(500), quantity integer, unit_price numeric(14,2), currency varchar(3), channel varchar(40),
                payment_method varchar(40));
            """;
    }

    /// <summary>
    /// Keys, indexes and foreign keys equivalent to what Kolo keeps on the same data (customers by external id, name,
    /// status, city, birth date, e-mail and phone; order lines by order, customer and time, product), created before
    /// the load as Kolo's are, so the "keyed" raw load shows what the database itself needs to index the rows.
    /// </summary>
    private static string RawKeysSql() => """
        ALTER TABLE raw_customers ADD PRIMARY KEY (external_id);
        CREATE INDEX raw_customers_name ON raw_customers (last_name, first_name);
        CREATE INDEX raw_customers_status ON raw_customers (status, last_name);
        CREATE INDEX raw_customers_city ON raw_customers (city, last_name);
        CREATE INDEX raw_customers_birth ON raw_customers (birth_date);
        CREATE INDEX raw_customers_email ON raw_customers (email);
        CREATE INDEX raw_customers_phone ON raw_customers (phone);
        ALTER TABLE raw_order_lines ADD FOREIGN KEY (customer_id) REFERENCES raw_customers (external_id);
        CREATE INDEX raw_order_lines_order ON raw_order_lines (order_number);
        CREATE INDEX raw_order_lines_customer ON raw_order_lines (customer_id, ordered_at);
        CREATE INDEX raw_order_lines_time ON raw_order_lines (ordered_at);
        CREATE INDEX raw_order_lines_sku ON raw_order_lines (sku);
        """;

    /// <summary>SQLite cannot add keys to a table: the keyed tables are declared with them.</summary>
    private static string SqliteKeyedTablesSql() => RawTablesSql(DatabaseProvider.Sqlite)
        .Replace("external_id varchar(100),", "external_id varchar(100) PRIMARY KEY,", StringComparison.Ordinal)
        .Replace("customer_id varchar(100),", "customer_id varchar(100) REFERENCES raw_customers (external_id),", StringComparison.Ordinal)
        + "\n" + string.Join("\n", RawKeysSql().Split('\n').Where(l => l.StartsWith("CREATE INDEX", StringComparison.Ordinal)));

    private sealed class Step(string name, long rows)
    {
        public string Name { get; } = name;
        public long Rows { get; set; } = rows;
        public double? Raw { get; set; }
        public double? RawKeyed { get; set; }
        public double? Kolo { get; set; }
        public string Note { get; set; } = "";
    }

    public static async Task RunImportAsync(Options options)
    {
        var provider = options.Provider;
        var files = Path.GetFullPath(options.Get("files"));
        var work = Directory.CreateDirectory(options.Optional("work") ?? files).FullName;
        var customersFile = Path.Combine(files, ImportFiles.CustomersFile);
        var linesFile = Path.Combine(files, ImportFiles.OrderLinesFile);
        foreach (var f in new[] { customersFile, linesFile })
            if (!File.Exists(f)) throw new BenchException($"{f} is missing: run generate-import-files --out {files} first.");
        var keep = options.Flag("keep");
        var server = provider == DatabaseProvider.Postgres ? options.Connection : null;

        Console.WriteLine("Counting the files' rows ...");
        var (customerRows, _) = CountCsv(customersFile);
        var (lineRows, orders) = CountCsv(linesFile);
        Console.WriteLine($"{customerRows:N0} customers ({new FileInfo(customersFile).Length / 1e6:N0} MB), {lineRows:N0} order lines in {orders:N0} orders ({new FileInfo(linesFile).Length / 1e6:N0} MB).");

        var steps = new[]
        {
            new Step("import customers", customerRows), new Step("import order lines", lineRows),
            new Step("export customers", customerRows), new Step("export orders", lineRows),
        };
        var exports = new List<string>();
        double? storedReload = null;
        try
        {
            if (!options.Flag("skip-raw"))
            {
                Console.WriteLine($"\n== Raw bulk load ({(provider == DatabaseProvider.Postgres ? "COPY ... FROM STDIN (FORMAT csv, HEADER)" : "sqlite3 .import --csv")})");
                if (provider == DatabaseProvider.Postgres)
                {
                    var raw = await RecreateDatabaseAsync(server!, RawDatabase);
                    await using var c = new NpgsqlConnection(raw);
                    await c.OpenAsync();
                    await using (var cmd = new NpgsqlCommand(RawTablesSql(provider), c)) await cmd.ExecuteNonQueryAsync();
                    steps[0].Raw = await TimedAsync("COPY raw_customers", () => PgCopyInAsync(c, "raw_customers", customersFile));
                    steps[1].Raw = await TimedAsync("COPY raw_order_lines", () => PgCopyInAsync(c, "raw_order_lines", linesFile));
                    await CheckCountAsync(c, "raw_customers", customerRows);
                    await CheckCountAsync(c, "raw_order_lines", lineRows);
                    var outC = Path.Combine(work, "raw-customers.csv");
                    var outL = Path.Combine(work, "raw-order-lines.csv");
                    exports.AddRange([outC, outL]);
                    steps[2].Raw = await TimedAsync("COPY raw_customers TO STDOUT", () => PgCopyOutAsync(c, "raw_customers", outC));
                    steps[3].Raw = await TimedAsync("COPY raw_order_lines TO STDOUT", () => PgCopyOutAsync(c, "raw_order_lines", outL));
                    await using (var cmd = new NpgsqlCommand("DROP TABLE raw_order_lines; DROP TABLE raw_customers; " + RawTablesSql(provider) + RawKeysSql(), c))
                        await cmd.ExecuteNonQueryAsync();
                    steps[0].RawKeyed = await TimedAsync("COPY raw_customers (keyed)", () => PgCopyInAsync(c, "raw_customers", customersFile));
                    steps[1].RawKeyed = await TimedAsync("COPY raw_order_lines (keyed)", () => PgCopyInAsync(c, "raw_order_lines", linesFile));
                }
                else
                {
                    var db = Path.Combine(work, "raw.db");
                    DeleteSqlite(db);
                    // The app runs SQLite in WAL mode, so the raw load does too.
                    await Sqlite3Async(db, $"PRAGMA journal_mode=WAL;\n{RawTablesSql(provider)}");
                    steps[0].Raw = await TimedAsync(".import raw_customers", () => Sqlite3Async(db, $".import --csv --skip 1 '{customersFile}' raw_customers"));
                    steps[1].Raw = await TimedAsync(".import raw_order_lines", () => Sqlite3Async(db, $".import --csv --skip 1 '{linesFile}' raw_order_lines"));
                    await using (var c = new SqliteConnection($"Data Source={db}"))
                    {
                        await c.OpenAsync();
                        await CheckCountAsync(c, "raw_customers", customerRows);
                        await CheckCountAsync(c, "raw_order_lines", lineRows);
                    }
                    SqliteConnection.ClearAllPools();
                    var outC = Path.Combine(work, "raw-customers.csv");
                    var outL = Path.Combine(work, "raw-order-lines.csv");
                    exports.AddRange([outC, outL]);
                    steps[2].Raw = await TimedAsync("sqlite3 .mode csv raw_customers", () => Sqlite3Async(db, $".headers on\n.mode csv\n.output '{outC}'\nSELECT * FROM raw_customers;"));
                    steps[3].Raw = await TimedAsync("sqlite3 .mode csv raw_order_lines", () => Sqlite3Async(db, $".headers on\n.mode csv\n.output '{outL}'\nSELECT * FROM raw_order_lines;"));
                    DeleteSqlite(db);
                    await Sqlite3Async(db, $"PRAGMA journal_mode=WAL;\n{SqliteKeyedTablesSql()}");
                    steps[0].RawKeyed = await TimedAsync(".import raw_customers (keyed)", () => Sqlite3Async(db, $"PRAGMA foreign_keys=ON;\n.import --csv --skip 1 '{customersFile}' raw_customers"));
                    steps[1].RawKeyed = await TimedAsync(".import raw_order_lines (keyed)", () => Sqlite3Async(db, $"PRAGMA foreign_keys=ON;\n.import --csv --skip 1 '{linesFile}' raw_order_lines"));
                    if (!keep) DeleteSqlite(db);
                }
            }

            if (!options.Flag("skip-kolo"))
            {
                Console.WriteLine("\n== Kolo.Web on a fresh database");
                string appConnection;
                string? appDb = null;
                if (provider == DatabaseProvider.Postgres) appConnection = await RecreateDatabaseAsync(server!, AppDatabase);
                else
                {
                    appDb = Path.Combine(work, "kolo.db");
                    DeleteSqlite(appDb);
                    appConnection = $"Data Source={appDb}";
                }
                await RunKoloAsync(options, provider, appConnection, work, customersFile, linesFile, steps, exports);
                if (!options.Flag("skip-stored"))
                    storedReload = await ReloadStoredRowsAsync(provider, server, appConnection, appDb, work, keep);
                if (appDb is not null && !keep) { SqliteConnection.ClearAllPools(); DeleteSqlite(appDb); }
            }
        }
        finally
        {
            if (!keep)
            {
                foreach (var f in exports) File.Delete(f);
                if (server is not null)
                {
                    await DropDatabaseAsync(server, RawDatabase);
                    await DropDatabaseAsync(server, AppDatabase);
                    await DropDatabaseAsync(server, StoredDatabase);
                }
            }
        }

        Console.WriteLine();
        Console.WriteLine($"{provider}: {customerRows:N0} customers, {lineRows:N0} order lines in {orders:N0} orders (seconds; rows/s = file rows / seconds):");
        Console.WriteLine($"{"step",-20} {"rows",12} {"raw s",9} {"raw rows/s",12} {"keyed s",9} {"Kolo s",9} {"Kolo rows/s",12} {"Kolo/raw",9} {"/keyed",8}  note");
        foreach (var s in steps)
        {
            string Rate(double? sec) => sec is { } x && x > 0 ? (s.Rows / x).ToString("N0", CultureInfo.InvariantCulture) : "-";
            string Sec(double? sec) => sec is { } x ? x.ToString("F1", CultureInfo.InvariantCulture) : "-";
            var ratio = s.Raw is { } r && s.Kolo is { } k && r > 0 ? $"{(Stopped(s) ? "~" : "")}{k / r:F2}x" : "-";
            var keyed = s.RawKeyed is { } rk && s.Kolo is { } k2 && rk > 0 ? $"{(Stopped(s) ? "~" : "")}{k2 / rk:F2}x" : "-";
            Console.WriteLine($"{s.Name,-20} {s.Rows,12:N0} {Sec(s.Raw),9} {Rate(s.Raw),12} {Sec(s.RawKeyed),9} {Sec(s.Kolo),9} {Rate(s.Kolo),12} {ratio,9} {keyed,8}  {s.Note}");
        }
        if (steps[0].Kolo is { } ic && steps[1].Kolo is { } il && steps[2].Kolo is { } ec && steps[3].Kolo is { } eo)
            Console.WriteLine($"Kolo export vs Kolo import: customers {ec:F1} s vs {ic:F1} s ({ic / ec:F1}x faster), order lines {eo:F1} s vs {il:F1} s ({il / eo:F1}x faster).");
        if (steps[0].Raw is { } rc && steps[1].Raw is { } rl && steps[0].Kolo is { } kc && steps[1].Kolo is { } kl)
            Console.WriteLine($"Import, both files: raw {rc + rl:F1} s, Kolo {kc + kl:F1} s = {(kc + kl) / (rc + rl):F2}x the raw time (target: at most 2x).");
        if (steps[0].RawKeyed is { } kc2 && steps[1].RawKeyed is { } kl2 && steps[0].Kolo is { } k0 && steps[1].Kolo is { } k1)
            Console.WriteLine($"Import, both files, into keyed tables: raw {kc2 + kl2:F1} s, Kolo {k0 + k1:F1} s = {(k0 + k1) / (kc2 + kl2):F2}x.");
        if (storedReload is { } sr && steps[0].Kolo is { } s0 && steps[1].Kolo is { } s1)
            Console.WriteLine($"Import, both files, against the database's bulk load of exactly the rows Kolo stored into Kolo's own tables: raw {sr:F1} s, Kolo {s0 + s1:F1} s = {(s0 + s1) / sr:F2}x.");
    }

    private const string StoredDatabase = "kolo_bench_import_stored";

    /// <summary>What an import writes: the rows of these tables, parents first.</summary>
    private static readonly string[] StoredTables = ["customers", "customer_search_terms", "products", "orders", "order_lines", "audit_entries"];

    /// <summary>
    /// The database's own bulk load of exactly the rows Kolo's imports stored (customers with their search terms, products,
    /// orders, lines and audit entries) into a fresh database migrated like Kolo's, so every key, index and foreign key is
    /// the same: PostgreSQL binary COPY of each table, SQLite INSERT … SELECT from the attached import database; one
    /// transaction. The rows are read out before the clock starts.
    /// </summary>
    private static async Task<double> ReloadStoredRowsAsync(DatabaseProvider provider, string? server, string appConnection, string? appDb, string work, bool keep)
    {
        Console.WriteLine("\n== Bulk load of the rows Kolo stored, into freshly migrated tables");
        if (provider == DatabaseProvider.Postgres)
        {
            var files = new List<string>();
            await using (var app = new NpgsqlConnection(appConnection))
            {
                await app.OpenAsync();
                foreach (var table in StoredTables)
                {
                    var path = Path.Combine(work, $"stored-{table}.bin");
                    files.Add(path);
                    await using var file = File.Create(path);
                    await using var copy = await app.BeginRawBinaryCopyAsync($"COPY {table} TO STDOUT (FORMAT BINARY)");
                    await copy.CopyToAsync(file);
                }
            }
            var stored = await RecreateDatabaseAsync(server!, StoredDatabase);
            await MigrateAsync(provider, stored);
            try
            {
                await using var c = new NpgsqlConnection(stored);
                await c.OpenAsync();
                return await TimedAsync("COPY (binary) of the stored rows", async () =>
                {
                    await using var tx = await c.BeginTransactionAsync();
                    foreach (var (table, path) in StoredTables.Zip(files))
                    {
                        await using var file = File.OpenRead(path);
                        await using var copy = await c.BeginRawBinaryCopyAsync($"COPY {table} FROM STDIN (FORMAT BINARY)");
                        await file.CopyToAsync(copy);
                    }
                    await tx.CommitAsync();
                });
            }
            finally
            {
                if (!keep) foreach (var f in files) File.Delete(f);
            }
        }
        var db = Path.Combine(work, "stored.db");
        DeleteSqlite(db);
        await MigrateAsync(provider, $"Data Source={db}");
        SqliteConnection.ClearAllPools();
        var copies = string.Join("\n", StoredTables.Select(t => $"INSERT INTO main.{t} SELECT * FROM src.{t};"));
        var seconds = await TimedAsync("INSERT … SELECT of the stored rows", () =>
            Sqlite3Async(db, $"PRAGMA journal_mode=WAL;\nPRAGMA foreign_keys=ON;\nATTACH '{appDb}' AS src;\nBEGIN;\n{copies}\nCOMMIT;"));
        if (!keep) DeleteSqlite(db);
        return seconds;
    }

    private static async Task MigrateAsync(DatabaseProvider provider, string connection)
    {
        var options = new Microsoft.EntityFrameworkCore.DbContextOptionsBuilder<KoloDb>();
        DatabaseSetup.Configure(options, provider, connection);
        await using var db = new KoloDb(options.Options);
        await DatabaseSetup.MigrateAsync(db);
    }

    private static async Task RunKoloAsync(Options options, DatabaseProvider provider, string connection, string work,
        string customersFile, string linesFile, Step[] steps, List<string> exports)
    {
        var dll = FindWebDll(options.Optional("web-dll"));
        var temp = Directory.CreateTempSubdirectory("kolo-bench-");
        var port = FreePort();
        var logPath = Path.Combine(temp.FullName, "kolo-web.log");
        var logSql = options.Flag("log-sql");
        var maxSeconds = options.Int("max-seconds", 0);
        using var app = StartApp(dll, provider, connection, port, temp.FullName, logPath, logSql);
        try
        {
            using var http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = Timeout.InfiniteTimeSpan, UseCookies = false })
            {
                BaseAddress = new Uri($"http://127.0.0.1:{port}"),
                Timeout = Timeout.InfiniteTimeSpan,
            };
            var started = Stopwatch.StartNew();
            await WaitForHealthAsync(http, app, logPath);
            Console.WriteLine($"Kolo.Web is up on port {port} after {started.Elapsed.TotalSeconds:N1} s (migrations included).");
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", await GetTokenAsync(http));

            steps[0].Kolo = await ImportThroughApiAsync(http, "customers", customersFile, ImportFiles.CustomerMapping, steps[0], maxSeconds);
            // A stopped job keeps running in the app (one job at a time per node), so nothing after it would be
            // measured alone: the app is stopped and the later Kolo steps are left out.
            if (Stopped(steps[0])) return;
            steps[1].Kolo = await ImportThroughApiAsync(http, "orders", linesFile, ImportFiles.OrderMapping, steps[1], maxSeconds);
            if (Stopped(steps[1])) return;

            await using (var raw = await RawSql.OpenAsync(provider, connection))
            {
                var counts = new List<string>();
                foreach (var table in new[] { "customers", "orders", "order_lines", "products", "customer_search_terms", "audit_entries" })
                {
                    await using var cmd = raw.Connection.CreateCommand();
                    cmd.CommandText = $"SELECT COUNT(*) FROM {table}";
                    counts.Add($"{table} {Convert.ToInt64(await cmd.ExecuteScalarAsync(), CultureInfo.InvariantCulture):N0}");
                }
                Console.WriteLine($"Kolo's database after the imports: {string.Join(", ", counts)}.");
            }

            var outC = Path.Combine(work, "kolo-customers.csv");
            var outO = Path.Combine(work, "kolo-orders.csv");
            exports.AddRange([outC, outO]);
            (steps[2].Kolo, var rowsC) = await ExportThroughApiAsync(http, "customers", outC);
            (steps[3].Kolo, var rowsO) = await ExportThroughApiAsync(http, "orders", outO);
            steps[2].Note = $"Kolo wrote {rowsC:N0} rows";
            steps[3].Note = $"Kolo wrote {rowsO:N0} rows";
        }
        finally
        {
            if (!app.HasExited) app.Kill(entireProcessTree: true);
            await app.WaitForExitAsync();
            if (logSql) SummariseSqlLog(logPath);
            temp.Delete(recursive: true);
        }
    }

    private static bool Stopped(Step step) => step.Note.StartsWith("STOPPED", StringComparison.Ordinal);

    /// <summary>Uploads the file and polls the job to its end: the time is from the first byte sent to the job's end.</summary>
    private static async Task<double> ImportThroughApiAsync(HttpClient http, string kind, string path, Dictionary<string, string> mapping, Step step, int maxSeconds)
    {
        var sw = Stopwatch.StartNew();
        string id;
        await using (var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan))
        {
            using var form = new MultipartFormDataContent();
            var content = new StreamContent(file, 1 << 16);
            content.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
            form.Add(content, "file", Path.GetFileName(path));
            form.Add(new StringContent(kind), "kind");
            form.Add(new StringContent(JsonSerializer.Serialize(mapping)), "mapping");
            form.Add(new StringContent("false"), "dryRun");
            using var response = await http.PostAsync("/api/v1/imports", form);
            var body = await response.Content.ReadAsStringAsync();
            if (response.StatusCode != HttpStatusCode.Accepted)
                throw new BenchException($"POST /api/v1/imports ({kind}) answered {(int)response.StatusCode}: {body}");
            id = JsonDocument.Parse(body).RootElement.GetProperty("id").ToString();
        }
        var uploaded = sw.Elapsed.TotalSeconds;
        Console.WriteLine($"Uploaded {Path.GetFileName(path)} as {kind} import {id} in {uploaded:F1} s; polling ...");
        var lastPrint = TimeSpan.Zero;
        while (true)
        {
            await Task.Delay(500);
            var body = await GetAsync(http, $"/api/v1/imports/{id}");
            using var doc = JsonDocument.Parse(body);
            var job = doc.RootElement;
            var s = job.GetProperty("status");
            var status = s.ValueKind == JsonValueKind.Number ? ((Kolo.Core.Integration.ImportStatus)s.GetInt32()).ToString() : s.GetString()!;
            int Count(string name) => job.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt32() : 0;
            var done = status.Equals("Succeeded", StringComparison.OrdinalIgnoreCase) || status.Equals("Failed", StringComparison.OrdinalIgnoreCase);
            if (done || sw.Elapsed - lastPrint > TimeSpan.FromSeconds(15))
            {
                lastPrint = sw.Elapsed;
                Console.WriteLine($"  {sw.Elapsed.TotalSeconds,7:F1} s  {status,-9} {Count("progress"),3} %  rows {Count("rows"):N0}  " +
                                  $"({Count("rows") / Math.Max(0.001, sw.Elapsed.TotalSeconds):N0} rows/s)  created {Count("created"):N0}  rejected {Count("rejected"):N0}");
            }
            if (!done && maxSeconds > 0 && sw.Elapsed.TotalSeconds > maxSeconds && Count("rows") > 0)
            {
                // Too slow to wait for: the time is the rate so far, extrapolated to the whole file.
                var estimate = sw.Elapsed.TotalSeconds * step.Rows / Count("rows");
                step.Note = $"STOPPED after {sw.Elapsed.TotalSeconds:F0} s at {Count("rows"):N0} rows; time extrapolated from that rate";
                Console.WriteLine($"  --max-seconds reached: {Count("rows"):N0} of {step.Rows:N0} rows; at this rate the file takes about {estimate:F0} s.");
                return estimate;
            }
            if (!done) continue;
            var seconds = sw.Elapsed.TotalSeconds;
            if (status.Equals("Failed", StringComparison.OrdinalIgnoreCase))
                throw new BenchException($"The {kind} import failed: {Encoding.UTF8.GetString(body)}");
            if (Count("rows") != step.Rows || Count("rejected") != 0)
                Console.WriteLine($"  WARNING: the job read {Count("rows"):N0} rows (the file has {step.Rows:N0}) and rejected {Count("rejected"):N0}.");
            step.Note = $"upload {uploaded:F1} s; created {Count("created"):N0}, rejected {Count("rejected"):N0}";
            return seconds;
        }
    }

    /// <summary>Streams the export to a file: the time is from the request to the last byte written.</summary>
    private static async Task<(double Seconds, long Rows)> ExportThroughApiAsync(HttpClient http, string what, string path)
    {
        var sw = Stopwatch.StartNew();
        using var response = await http.GetAsync($"/api/v1/exports/{what}?format=csv", HttpCompletionOption.ResponseHeadersRead);
        if (response.StatusCode != HttpStatusCode.OK)
            throw new BenchException($"GET /api/v1/exports/{what} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        await using (var body = await response.Content.ReadAsStreamAsync())
        await using (var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 20))
            await body.CopyToAsync(file, 1 << 20);
        var seconds = sw.Elapsed.TotalSeconds;
        var (rows, _) = CountCsv(path);
        Console.WriteLine($"GET /api/v1/exports/{what}?format=csv: {rows:N0} rows, {new FileInfo(path).Length / 1e6:N0} MB in {seconds:F1} s ({rows / seconds:N0} rows/s)");
        return (seconds, rows);
    }

    /// <summary>Data rows of a CSV file (records, honouring quotes) and how often the first field changes (orders in a lines file).</summary>
    private static (long Rows, long Groups) CountCsv(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan);
        var buffer = new byte[1 << 20];
        long records = 0, groups = 0;
        bool quoted = false, inFirst = true;
        var first = new List<byte>(64);
        byte[] previous = [];
        int n;
        while ((n = stream.Read(buffer, 0, buffer.Length)) > 0)
        {
            for (var i = 0; i < n; i++)
            {
                var b = buffer[i];
                if (b == (byte)'"') quoted = !quoted;
                else if (!quoted && b == (byte)',') inFirst = false;
                else if (!quoted && b == (byte)'\n')
                {
                    records++;
                    if (records > 1 && !first.SequenceEqual(previous)) { groups++; previous = [.. first]; }
                    first.Clear();
                    inFirst = true;
                    continue;
                }
                if (inFirst && b != (byte)'\r') first.Add(b);
            }
        }
        return (Math.Max(0, records - 1), groups);
    }

    private static async Task<double> TimedAsync(string what, Func<Task> action)
    {
        var sw = Stopwatch.StartNew();
        await action();
        var seconds = sw.Elapsed.TotalSeconds;
        Console.WriteLine($"{what}: {seconds:F1} s");
        return seconds;
    }

    // Npgsql passes text-format COPY data only as text, so the file goes through a decoder; the server's parsing
    // and writing of the rows, not this, is what takes the time.
    private static async Task PgCopyInAsync(NpgsqlConnection c, string table, string path)
    {
        using var file = new StreamReader(path, new UTF8Encoding(false), false, 1 << 20);
        await using var copy = await c.BeginTextImportAsync($"COPY {table} FROM STDIN (FORMAT csv, HEADER)");
        var buffer = new char[1 << 16];
        int n;
        while ((n = await file.ReadAsync(buffer)) > 0) await copy.WriteAsync(buffer.AsMemory(0, n));
    }

    private static async Task PgCopyOutAsync(NpgsqlConnection c, string table, string path)
    {
        await using var file = new StreamWriter(path, false, new UTF8Encoding(false), 1 << 20);
        using var copy = await c.BeginTextExportAsync($"COPY {table} TO STDOUT (FORMAT csv, HEADER)");
        var buffer = new char[1 << 16];
        int n;
        while ((n = await copy.ReadAsync(buffer)) > 0) await file.WriteAsync(buffer.AsMemory(0, n));
    }

    private static async Task CheckCountAsync(System.Data.Common.DbConnection c, string table, long expected)
    {
        await using var cmd = c.CreateCommand();
        cmd.CommandText = $"SELECT COUNT(*) FROM {table}";
        var count = Convert.ToInt64(await cmd.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
        if (count != expected) throw new BenchException($"{table} holds {count:N0} rows after the raw load, the file {expected:N0}.");
    }

    /// <summary>Runs a script in the sqlite3 shell (on PATH, or --sqlite3) against a database file.</summary>
    private static async Task Sqlite3Async(string db, string script)
    {
        var info = new ProcessStartInfo("sqlite3") { RedirectStandardInput = true, RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        info.ArgumentList.Add("-bail");
        info.ArgumentList.Add(db);
        using var p = Process.Start(info) ?? throw new BenchException("Could not start sqlite3.");
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEndAsync();
        await p.StandardInput.WriteLineAsync(script);
        p.StandardInput.Close();
        await p.WaitForExitAsync();
        var errors = await stderr;
        _ = await stdout;
        if (p.ExitCode != 0 || errors.Length > 0) throw new BenchException($"sqlite3 failed ({p.ExitCode}): {errors}");
    }

    private static void DeleteSqlite(string db)
    {
        foreach (var suffix in new[] { "", "-wal", "-shm", "-journal" }) File.Delete(db + suffix);
    }

    /// <summary>Drops and creates a database on the server the --connection string points at; returns its connection string.</summary>
    private static async Task<string> RecreateDatabaseAsync(string server, string name)
    {
        await DropDatabaseAsync(server, name);
        await using (var c = new NpgsqlConnection(server))
        {
            await c.OpenAsync();
            await using var cmd = new NpgsqlCommand($"CREATE DATABASE {name}", c);
            await cmd.ExecuteNonQueryAsync();
        }
        // No command timeout: a keyed COPY of ten million rows takes minutes.
        return new NpgsqlConnectionStringBuilder(server) { Database = name, CommandTimeout = 0 }.ConnectionString;
    }

    private static async Task DropDatabaseAsync(string server, string name)
    {
        NpgsqlConnection.ClearAllPools();
        await using var c = new NpgsqlConnection(server);
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand($"DROP DATABASE IF EXISTS {name} WITH (FORCE)", c);
        await cmd.ExecuteNonQueryAsync();
    }
}
