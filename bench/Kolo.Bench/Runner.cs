using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Kolo.Core.Customers;
using Kolo.Core.Data;

namespace Kolo.Bench;

/// <summary>
/// Starts the real Kolo.Web on the database, then measures, one request at a time over loopback, the two read
/// endpoints beside the raw SQL that produces the same result, in the same run and on the same inputs.
/// </summary>
public static partial class Runner
{
    internal const string AdminPassword = "Bench-pass-2026";

    public static async Task RunAsync(Options options)
    {
        var provider = options.Provider;
        var requests = Math.Max(1, options.Int("requests", 2000));
        var warmup = options.Int("warmup", 200);
        var seed = options.Int("seed", 7);
        var dll = FindWebDll(options.Optional("web-dll"));
        var logSql = options.Flag("log-sql");

        await using var raw = await RawSql.OpenAsync(provider, options.Connection);
        Console.WriteLine("Reading customer ids ...");
        var ids = await ReadIdsAsync(raw);
        if (ids.Count == 0) throw new BenchException("The database has no customers; run generate first.");
        var random = new Random(seed);
        var total = warmup + requests;
        var idInputs = Enumerable.Range(0, total).Select(_ => ids[random.Next(ids.Count)]).ToList();
        var queries = await SearchInputsAsync(raw, ids, random, total);
        Console.WriteLine($"{ids.Count:N0} customers; {requests:N0} measured requests per operation after {warmup:N0} warm-up requests.");
        Console.WriteLine($"Sample queries: {string.Join(", ", queries.Skip(warmup).Take(12).Select(q => $"'{q}'"))}");

        var temp = Directory.CreateTempSubdirectory("kolo-bench-");
        var port = FreePort();
        var logPath = Path.Combine(temp.FullName, "kolo-web.log");
        using var app = StartApp(dll, provider, options.Connection, port, temp.FullName, logPath, logSql);
        try
        {
            using var http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = Timeout.InfiniteTimeSpan, UseCookies = false })
            {
                BaseAddress = new Uri($"http://127.0.0.1:{port}"),
            };
            var started = Stopwatch.StartNew();
            await WaitForHealthAsync(http, app, logPath);
            Console.WriteLine($"Kolo.Web is up on port {port} after {started.Elapsed.TotalSeconds:N1} s.");
            var token = await GetTokenAsync(http);
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);

            await CheckReadBackAsync(http, raw, ids[ids.Count / 2]);

            var search = new Measurement("search", "GET /api/v1/customers?q=<prefix>");
            var byId = new Measurement("by id", "GET /api/v1/customers/{id}");
            var me = new Measurement("auth only", "GET /api/v1/me (no customer query)");
            var mismatches = 0;
            for (var i = 0; i < total; i++)
            {
                var measured = i >= warmup;
                // Alternate which side goes first so neither always finds the other's pages in the cache.
                var apiFirst = i % 2 == 0;
                var q = queries[i];
                var words = CustomerService.SearchWords(q);
                var (lo, hi) = (words[0], TextNormalizer.PrefixUpperBound(words[0]));
                List<Guid>? apiIds = null, rawIds = null;
                for (var side = 0; side < 2; side++)
                {
                    if ((side == 0) == apiFirst)
                    {
                        var sw = Stopwatch.StartNew();
                        var body = await GetAsync(http, $"/api/v1/customers?q={Uri.EscapeDataString(q)}");
                        sw.Stop();
                        if (measured) search.Api.Add(sw.Elapsed.TotalMilliseconds);
                        apiIds = ItemIds(body);
                    }
                    else
                    {
                        var sw = Stopwatch.StartNew();
                        rawIds = await raw.SearchAsync(lo, hi);
                        sw.Stop();
                        if (measured) search.Raw.Add(sw.Elapsed.TotalMilliseconds);
                    }
                }
                if (!apiIds!.SequenceEqual(rawIds!)) mismatches++;

                var id = idInputs[i];
                string? apiName = null, rawName = null;
                for (var side = 0; side < 2; side++)
                {
                    if ((side == 0) == apiFirst)
                    {
                        var sw = Stopwatch.StartNew();
                        var body = await GetAsync(http, $"/api/v1/customers/{id}");
                        sw.Stop();
                        if (measured) byId.Api.Add(sw.Elapsed.TotalMilliseconds);
                        apiName = JsonDocument.Parse(body).RootElement.GetProperty("displayName").GetString();
                    }
                    else
                    {
                        var sw = Stopwatch.StartNew();
                        rawName = await raw.ByIdAsync(id);
                        sw.Stop();
                        if (measured) byId.Raw.Add(sw.Elapsed.TotalMilliseconds);
                    }
                }
                if (apiName != rawName) mismatches++;

                var swMe = Stopwatch.StartNew();
                await GetAsync(http, "/api/v1/me");
                swMe.Stop();
                if (measured) me.Api.Add(swMe.Elapsed.TotalMilliseconds);
            }

            Console.WriteLine();
            Console.WriteLine($"{provider}, {ids.Count:N0} customers, {requests:N0} sequential requests each over loopback (times in ms):");
            PrintTable([search, byId, me]);
            Console.WriteLine(mismatches == 0
                ? "Every API answer matched the raw SQL's (same ids in the same order; same customer)."
                : $"WARNING: {mismatches} API answers differed from the raw SQL's.");

            if (options.Flag("explain"))
            {
                foreach (var q in new[] { queries[warmup], "sh", "o", "olena.sh" })
                {
                    var w = CustomerService.SearchWords(q)[0];
                    Console.WriteLine($"\nPlan of the search query for q='{q}':");
                    Console.WriteLine(await raw.ExplainSearchAsync(w, TextNormalizer.PrefixUpperBound(w)));
                }
            }
        }
        finally
        {
            if (!app.HasExited) app.Kill(entireProcessTree: true);
            await app.WaitForExitAsync();
            if (logSql) SummariseSqlLog(logPath);
            temp.Delete(recursive: true);
        }
    }

    private sealed class Measurement(string name, string what)
    {
        public string Name { get; } = name;
        public string What { get; } = what;
        public List<double> Api { get; } = [];
        public List<double> Raw { get; } = [];
    }

    private static void PrintTable(IEnumerable<Measurement> rows)
    {
        Console.WriteLine($"{"operation",-10} {"API p50",8} {"p95",7} {"p99",7}  {"raw p50",8} {"p95",7} {"p99",7}  {"API/raw p50",11} {"p95",6}");
        foreach (var m in rows)
        {
            var (a50, a95, a99) = (Percentile(m.Api, 50), Percentile(m.Api, 95), Percentile(m.Api, 99));
            var sb = new StringBuilder();
            sb.Append(CultureInfo.InvariantCulture, $"{m.Name,-10} {a50,8:F2} {a95,7:F2} {a99,7:F2}  ");
            if (m.Raw.Count > 0)
            {
                var (r50, r95, r99) = (Percentile(m.Raw, 50), Percentile(m.Raw, 95), Percentile(m.Raw, 99));
                sb.Append(CultureInfo.InvariantCulture, $"{r50,8:F2} {r95,7:F2} {r99,7:F2}  {a50 / r50,10:F1}x {a95 / r95,5:F1}x");
            }
            else sb.Append(CultureInfo.InvariantCulture, $"{"-",8} {"-",7} {"-",7}  {"-",11} {"-",6}");
            sb.Append("   ").Append(m.What);
            Console.WriteLine(sb.ToString());
        }
    }

    /// <summary>Nearest-rank percentile.</summary>
    private static double Percentile(List<double> values, int p)
    {
        var sorted = values.Order().ToList();
        var rank = (int)Math.Ceiling(p / 100.0 * sorted.Count);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Count - 1)];
    }

    private static async Task<List<Guid>> ReadIdsAsync(RawSql raw)
    {
        await using var cmd = raw.Connection.CreateCommand();
        cmd.CommandText = """SELECT "Id" FROM customers WHERE "ArchivedAt" IS NULL ORDER BY "Id" """;
        var ids = new List<Guid>();
        await using var r = await cmd.ExecuteReaderAsync();
        while (await r.ReadAsync()) ids.Add(r.GetValue(0) is Guid g ? g : Guid.Parse(r.GetString(0)));
        return ids;
    }

    /// <summary>
    /// What people type: the first 2 to 4 letters of a real last or first name, or the start of a real e-mail
    /// address (its local part up to the dot and a few letters more), from customers picked with the fixed seed.
    /// </summary>
    private static async Task<List<string>> SearchInputsAsync(RawSql raw, List<Guid> ids, Random random, int count)
    {
        await using var cmd = raw.Connection.CreateCommand();
        cmd.CommandText = """SELECT "FirstName", "LastName", "CompanyName", "Emails" FROM customers WHERE "Id" = @id""";
        var p = cmd.CreateParameter();
        p.ParameterName = "@id";
        cmd.Parameters.Add(p);
        var queries = new List<string>(count);
        while (queries.Count < count)
        {
            p.Value = raw.Id(ids[random.Next(ids.Count)]);
            string? first, last, company, email;
            await using (var r = await cmd.ExecuteReaderAsync())
            {
                if (!await r.ReadAsync()) continue;
                first = r.IsDBNull(0) ? null : r.GetString(0);
                last = r.IsDBNull(1) ? null : r.GetString(1);
                company = r.IsDBNull(2) ? null : r.GetString(2);
                email = JsonDocument.Parse(r.GetString(3)).RootElement.EnumerateArray().Select(e => e.GetProperty("Address").GetString()).FirstOrDefault();
            }
            var roll = random.NextDouble();
            var name = roll < 0.4 ? last ?? company : roll < 0.7 ? first ?? company : null;
            if (name is not null)
                queries.Add(name[..Math.Min(name.Length, random.Next(2, 5))].ToLowerInvariant());
            else if (email is not null)
            {
                var local = email[..email.IndexOf('@', StringComparison.Ordinal)];
                var dot = local.IndexOf('.', StringComparison.Ordinal);
                queries.Add(dot > 0 ? local[..Math.Min(local.Length, dot + 1 + random.Next(1, 4))] : local[..Math.Min(local.Length, random.Next(4, 7))]);
            }
        }
        return queries;
    }

    private static string FindWebDll(string? given)
    {
        if (given is not null) return File.Exists(given) ? Path.GetFullPath(given) : throw new BenchException($"No such file: {given}");
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "src", "Kolo.Web", "bin", "Release", "net10.0", "Kolo.Web.dll");
                if (File.Exists(candidate)) return candidate;
            }
        }
        throw new BenchException("Kolo.Web.dll not found: build it first (dotnet build Kolo.slnx -c Release) or pass --web-dll.");
    }

    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private static Process StartApp(string dll, DatabaseProvider provider, string connection, int port, string dataDir, string logPath, bool logSql)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = Path.GetDirectoryName(dll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(dll);
        info.ArgumentList.Add("--urls");
        info.ArgumentList.Add($"http://127.0.0.1:{port}");
        info.Environment["Kolo__Database__Provider"] = provider.ToString();
        info.Environment["Kolo__Database__ConnectionString"] = connection;
        info.Environment["Kolo__Admin__Password"] = AdminPassword;
        info.Environment["Kolo__SeedDemo"] = "false";
        info.Environment["Kolo__DataDir"] = dataDir;
        info.Environment["Logging__LogLevel__Default"] = "Warning";
        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        if (logSql) info.Environment["Logging__LogLevel__Microsoft.EntityFrameworkCore.Database.Command"] = "Information";
        var log = new StreamWriter(logPath) { AutoFlush = true };
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        void Write(object? sender, DataReceivedEventArgs e)
        {
            if (e.Data is null) return;
            lock (log) log.WriteLine(e.Data);
        }
        process.OutputDataReceived += Write;
        process.ErrorDataReceived += Write;
        process.Exited += (_, _) => { lock (log) log.Flush(); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task WaitForHealthAsync(HttpClient http, Process app, string logPath)
    {
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (DateTime.UtcNow < deadline)
        {
            if (app.HasExited)
                throw new BenchException($"Kolo.Web exited with code {app.ExitCode}:\n{Tail(logPath)}");
            try
            {
                using var response = await http.GetAsync("/health");
                if (response.IsSuccessStatusCode) return;
            }
            catch (HttpRequestException) { }
            await Task.Delay(250);
        }
        throw new BenchException($"Kolo.Web did not answer /health within 3 minutes:\n{Tail(logPath)}");
    }

    private static string Tail(string path)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            return string.Join('\n', reader.ReadToEnd().Split('\n').TakeLast(40));
        }
        catch (IOException) { return "(no log)"; }
    }

    private static async Task<string> GetTokenAsync(HttpClient http)
    {
        using var response = await http.PostAsJsonAsync("/api/v1/auth/token", new { email = "admin@kolo.local", password = AdminPassword });
        if (!response.IsSuccessStatusCode)
            throw new BenchException($"Sign-in failed ({(int)response.StatusCode}). A database used before must have admin@kolo.local with the password {AdminPassword}.");
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return doc.RootElement.GetProperty("token").GetString()!;
    }

    private static async Task<byte[]> GetAsync(HttpClient http, string url)
    {
        using var response = await http.GetAsync(url);
        var body = await response.Content.ReadAsByteArrayAsync();
        if (response.StatusCode != HttpStatusCode.OK)
            throw new BenchException($"GET {url} answered {(int)response.StatusCode}: {Encoding.UTF8.GetString(body)}");
        return body;
    }

    private static List<Guid> ItemIds(byte[] body)
    {
        using var doc = JsonDocument.Parse(body);
        return doc.RootElement.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("id").GetGuid()).ToList();
    }

    /// <summary>A generated customer read through the API must carry the JSON columns the generator wrote.</summary>
    private static async Task CheckReadBackAsync(HttpClient http, RawSql raw, Guid id)
    {
        var body = await GetAsync(http, $"/api/v1/customers/{id}");
        using var doc = JsonDocument.Parse(body);
        var c = doc.RootElement;
        bool NonEmpty(string name) => c.GetProperty(name).GetArrayLength() > 0;
        if (!NonEmpty("emails") || !NonEmpty("phones") || !NonEmpty("addresses") || !NonEmpty("consents"))
            throw new BenchException($"The API reads generated customer {id} without its contact data: {Encoding.UTF8.GetString(body)}");
        var name = await raw.ByIdAsync(id);
        if (c.GetProperty("displayName").GetString() != name) throw new BenchException($"The API's name of {id} differs from the database's.");
        Console.WriteLine($"Read back through the API: {c.GetProperty("displayName").GetString()}, {c.GetProperty("emails")[0].GetProperty("address").GetString()}, " +
                          $"{c.GetProperty("phones")[0].GetProperty("number").GetString()}, {c.GetProperty("addresses")[0].GetProperty("city").GetString()}, " +
                          $"consent at {c.GetProperty("consents")[0].GetProperty("at").GetString()}");
    }

    [GeneratedRegex(@"Executed DbCommand \((\d+)ms\)")]
    private static partial Regex ExecutedCommand();

    /// <summary>With --log-sql: how many statements of each kind the app ran and how long the database took for them.</summary>
    private static void SummariseSqlLog(string logPath)
    {
        var lines = File.ReadAllLines(logPath);
        var stats = new Dictionary<string, (int Count, long Ms)>();
        for (var i = 0; i < lines.Length; i++)
        {
            var m = ExecutedCommand().Match(lines[i]);
            if (!m.Success) continue;
            var sql = lines.Skip(i + 1).FirstOrDefault(l => !string.IsNullOrWhiteSpace(l))?.Trim() ?? "";
            var from = lines.Skip(i + 1).Take(4).FirstOrDefault(l => l.TrimStart().StartsWith("FROM", StringComparison.Ordinal))?.Trim() ?? "";
            var key = $"{(sql.Length > 50 ? sql[..50] : sql)} | {from}";
            var (count, ms) = stats.GetValueOrDefault(key);
            stats[key] = (count + 1, ms + long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture));
        }
        Console.WriteLine("\nStatements the app ran (EF command log; timings are whole milliseconds, so small ones read 0):");
        foreach (var (key, (count, ms)) in stats.OrderByDescending(s => s.Value.Count))
            Console.WriteLine($"{count,8:N0} x  total {ms,7:N0} ms  {key}");
    }
}
