using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using Kolo.Core.Data;
using Kolo.Core.Platform;
using Kolo.Core.Timeline;

namespace Kolo.Bench;

/// <summary>
/// The timeline benchmark: GET /api/v1/customers/{id}/timeline on the heavy customer's first page, on a deep page
/// of it, and on first pages of random ordinary customers, each beside the same statements run raw.
/// </summary>
public static partial class Runner
{
    public static async Task RunTimelineAsync(Options options)
    {
        if (options.Provider != DatabaseProvider.Postgres) throw new BenchException("run-timeline runs on PostgreSQL only.");
        var requests = Math.Max(1, options.Int("requests", 1000));
        var warmup = options.Int("warmup", 100);
        var seed = options.Int("seed", 7);
        var depth = options.Int("depth", 5000);
        var dll = FindWebDll(options.Optional("web-dll"));
        var logSql = options.Flag("log-sql");

        await using var raw = await TimelineSql.OpenAsync(options.Connection);
        var heavy = await raw.HeavyCustomerAsync();
        var random = new Random(seed);
        var total = warmup + requests;
        var ordinary = await raw.SampleCustomersAsync(heavy, total, random);
        Console.WriteLine($"Heavy customer {heavy}; {ordinary.Distinct().Count():N0} distinct ordinary customers; " +
                          $"{requests:N0} measured requests per operation after {warmup:N0} warm-up requests.");

        var temp = Directory.CreateTempSubdirectory("kolo-bench-");
        var port = FreePort();
        var logPath = Path.Combine(temp.FullName, "kolo-web.log");
        using var app = StartApp(dll, DatabaseProvider.Postgres, options.Connection, port, temp.FullName, logPath, logSql);
        try
        {
            using var http = new HttpClient(new System.Net.Http.SocketsHttpHandler { PooledConnectionLifetime = Timeout.InfiniteTimeSpan, UseCookies = false })
            {
                BaseAddress = new Uri($"http://127.0.0.1:{port}"),
            };
            var started = Stopwatch.StartNew();
            await WaitForHealthAsync(http, app, logPath);
            Console.WriteLine($"Kolo.Web is up on port {port} after {started.Elapsed.TotalSeconds:N1} s.");
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", await GetTokenAsync(http));

            // Walk the heavy customer's timeline page by page through the API to the page that starts near entry
            // `depth`; that page's cursor is the deep page's input.
            var walk = Stopwatch.StartNew();
            string? deepCursor = null;
            var entries = 0;
            var kinds = new Dictionary<string, int>();
            while (entries < depth)
            {
                var page = Parse(await GetAsync(http, TimelineUrl(heavy, deepCursor)));
                foreach (var k in page.Kinds) kinds[k] = kinds.GetValueOrDefault(k) + 1;
                entries += page.Ids.Count;
                if (page.NextCursor is null) throw new BenchException($"The heavy customer's timeline ends after {entries:N0} entries, before {depth:N0}.");
                deepCursor = page.NextCursor;
            }
            Console.WriteLine($"Walked {entries:N0} entries of the heavy customer's timeline in {walk.Elapsed.TotalSeconds:N1} s " +
                              $"({string.Join(", ", kinds.OrderBy(k => k.Key, StringComparer.Ordinal).Select(k => $"{k.Value:N0} {k.Key}"))}); the deep page starts after entry {entries:N0}.");

            var first = new Measurement("heavy p1", $"GET /api/v1/customers/{{heavy}}/timeline (first {TimelineSql.Limit})");
            var deep = new Measurement("heavy deep", $"the same, cursor after entry {entries:N0}");
            var small = new Measurement("ordinary", "first page of a random ordinary customer");
            var me = new Measurement("auth only", "GET /api/v1/me (no customer query)");
            var mismatches = 0;
            var pageSizes = new List<int>();
            for (var i = 0; i < total; i++)
            {
                var measured = i >= warmup;
                var apiFirst = i % 2 == 0;
                foreach (var (m, customer, cursor) in new[] { (first, heavy, (string?)null), (deep, heavy, deepCursor), (small, ordinary[i], null) })
                {
                    TimelinePage? apiPage = null, rawPage = null;
                    for (var side = 0; side < 2; side++)
                    {
                        var sw = Stopwatch.StartNew();
                        if ((side == 0) == apiFirst)
                        {
                            var body = await GetAsync(http, TimelineUrl(customer, cursor));
                            sw.Stop();
                            apiPage = Parse(body);
                            if (measured) m.Api.Add(sw.Elapsed.TotalMilliseconds);
                        }
                        else
                        {
                            rawPage = await raw.PageAsync(customer, cursor);
                            sw.Stop();
                            if (measured) m.Raw.Add(sw.Elapsed.TotalMilliseconds);
                        }
                    }
                    if (!apiPage!.Ids.SequenceEqual(rawPage!.Ids) || apiPage.NextCursor != rawPage.NextCursor) mismatches++;
                    if (m == small && measured) pageSizes.Add(apiPage.Ids.Count);
                }

                var swMe = Stopwatch.StartNew();
                await GetAsync(http, "/api/v1/me");
                swMe.Stop();
                if (measured) me.Api.Add(swMe.Elapsed.TotalMilliseconds);
            }

            Console.WriteLine();
            Console.WriteLine($"PostgreSQL, {await raw.CountAsync("interactions"):N0} interactions, {await raw.CountAsync("tasks"):N0} tasks, " +
                              $"{await raw.CountAsync("audit_entries"):N0} audit entries; {requests:N0} sequential requests each over loopback (times in ms):");
            PrintTable([first, deep, small, me]);
            Console.WriteLine($"Ordinary customers' first pages held {pageSizes.Average():N1} entries on average (min {pageSizes.Min()}, max {pageSizes.Max()}).");
            Console.WriteLine(mismatches == 0
                ? "Every API page matched the raw SQL's (same entries in the same order, same next cursor)."
                : $"WARNING: {mismatches} API pages differed from the raw SQL's.");

            if (options.Flag("explain"))
            {
                foreach (var (label, customer, cursor) in new[] { ("heavy customer, first page", heavy, (string?)null), ("heavy customer, deep page", heavy, deepCursor), ("ordinary customer, first page", ordinary[warmup], null) })
                {
                    Console.WriteLine($"\nPlans for the {label}:");
                    Console.WriteLine(await raw.ExplainAsync(customer, cursor));
                }
            }
        }
        finally
        {
            if (!app.HasExited) app.Kill(entireProcessTree: true);
            await app.WaitForExitAsync();
            if (logSql)
            {
                SummariseSqlLog(logPath);
                PrintDistinctSql(logPath);
            }
            temp.Delete(recursive: true);
        }
    }

    private static string TimelineUrl(Guid customer, string? cursor) =>
        $"/api/v1/customers/{customer}/timeline?limit={TimelineSql.Limit}" + (cursor is null ? "" : $"&cursor={Uri.EscapeDataString(cursor)}");

    private static TimelinePage Parse(byte[] body)
    {
        using var doc = JsonDocument.Parse(body);
        var items = doc.RootElement.GetProperty("items").EnumerateArray().ToList();
        var next = doc.RootElement.GetProperty("nextCursor");
        return new TimelinePage(
            items.Select(i => i.GetProperty("id").GetGuid()).ToList(),
            items.Select(i => i.GetProperty("kind").GetString()!).ToList(),
            next.ValueKind == JsonValueKind.Null ? null : next.GetString());
    }

    /// <summary>With --log-sql: each distinct statement the app ran, in full, once (parameters are shown as names only).</summary>
    private static void PrintDistinctSql(string logPath)
    {
        var lines = File.ReadAllLines(logPath);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        Console.WriteLine("\nDistinct statements the app ran:");
        for (var i = 0; i < lines.Length; i++)
        {
            if (!ExecutedCommand().IsMatch(lines[i])) continue;
            var sql = string.Join('\n', lines.Skip(i + 1).TakeWhile(l => l.StartsWith("      ", StringComparison.Ordinal)).Select(l => l[6..]));
            if (seen.Add(sql)) Console.WriteLine($"-- {lines[i].Trim()}\n{sql}\n");
        }
    }
}

public sealed record TimelinePage(List<Guid> Ids, List<string> Kinds, string? NextCursor);

/// <summary>
/// The statements behind one timeline page, as EF Core runs them for TimelineService.GetAsync (captured with
/// --log-sql), prepared on one open connection: the customer-visibility check, the interactions page with its
/// users, customer name, attachments and agreement tasks, the tasks page, the record-changes page, and the user
/// names of the merged page.
/// </summary>
public sealed class TimelineSql : IAsyncDisposable
{
    public const int Limit = 50;

    private const string InteractionColumns = """
        i."Id", i."ArchivedAt", i."Body", i."Channel", i."CreatedAt", i."CreatedById", i."CustomerId", i."Direction", i."ExternalId",
        i."ExternalSource", i."OccurredAt", i."Outcome", i."RelatedId", i."RelatedType", i."Sentiment", i."Subject", i."Type", i."UserId", i."Version"
        """;

    private const string TaskColumns = """
        t."Id", t."AssigneeId", t."CompletedAt", t."CompletedById", t."CreatedAt", t."CreatedById", t."CustomerId", t."DueAt", t."EmailReminder",
        t."Notes", t."Outcome", t."Priority", t."RelatedId", t."RelatedType", t."RemindAt", t."ReminderSentAt", t."SortDueAt", t."SourceInteractionId",
        t."Status", t."Title", t."UpdatedAt", t."Version"
        """;

    private const string AuditColumns = """a."Id", a."Action", a."At", a."EntityId", a."EntityType", a."UserId", a."UserName", a."Changes" """;

    // Without a cursor the keyset condition is left out, as in the sources (two variants each).
    private static string InteractionsSql(bool after) => $"""
        SELECT {InteractionColumns}
        FROM interactions AS i
        WHERE i."CustomerId" = @customer AND i."ArchivedAt" IS NULL{(after ? """ AND i."OccurredAt" <= @at AND (i."OccurredAt" < @at OR (i."OccurredAt" = @at AND i."Id" < @id))""" : "")}
        ORDER BY i."OccurredAt" DESC, i."Id" DESC
        LIMIT @limit
        """;

    private static string TasksSql(bool after) => $"""
        SELECT {TaskColumns}
        FROM tasks AS t
        WHERE t."CustomerId" = @customer{(after ? """ AND t."CreatedAt" <= @at AND (t."CreatedAt" < @at OR (t."CreatedAt" = @at AND t."Id" < @id))""" : "")}
        ORDER BY t."CreatedAt" DESC, t."Id" DESC
        LIMIT @limit
        """;

    private static string ChangesSql(bool after) => $"""
        SELECT {AuditColumns}
        FROM audit_entries AS a
        WHERE a."EntityType" = 'customer' AND a."EntityId" = @customer{(after ? """ AND a."At" <= @at AND (a."At" < @at OR (a."At" = @at AND a."Id" < @id))""" : "")}
        ORDER BY a."At" DESC, a."Id" DESC
        LIMIT @limit
        """;

    // ViewsAsync and the final name lookup read whole users and customers (ToDictionaryAsync over entities).
    private const string VisibleSql = """SELECT EXISTS (SELECT 1 FROM customers AS c WHERE c."Id" = @customer)""";
    private const string UsersSql = """SELECT a.* FROM "AspNetUsers" AS a WHERE a."Id" = ANY (@ids)""";
    private const string CustomersSql = """SELECT c.* FROM customers AS c WHERE c."Id" = ANY (@ids)""";
    private const string AttachmentsSql = """
        SELECT a."InteractionId", a."Id", a."FileName", a."ContentType", a."Size", a."CreatedAt"
        FROM attachments AS a WHERE a."InteractionId" = ANY (@ids)
        """;
    private const string AgreementTasksSql = """
        SELECT t."SourceInteractionId", t."Id" FROM tasks AS t
        WHERE t."SourceInteractionId" IS NOT NULL AND t."SourceInteractionId" = ANY (@ids)
        """;

    private readonly Npgsql.NpgsqlConnection _connection;
    private readonly Dictionary<string, Npgsql.NpgsqlCommand> _commands = new(StringComparer.Ordinal);

    private TimelineSql(Npgsql.NpgsqlConnection connection) => _connection = connection;

    public static async Task<TimelineSql> OpenAsync(string connectionString)
    {
        var connection = new Npgsql.NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        var sql = new TimelineSql(connection);
        foreach (var after in new[] { false, true })
        {
            await sql.AddAsync(InteractionsSql(after), after);
            await sql.AddAsync(TasksSql(after), after);
            await sql.AddAsync(ChangesSql(after), after);
        }
        await sql.AddAsync(VisibleSql, false, limit: false);
        foreach (var s in new[] { UsersSql, CustomersSql, AttachmentsSql, AgreementTasksSql }) await sql.AddAsync(s, null, limit: false);
        return sql;
    }

    private async Task AddAsync(string text, bool? after, bool limit = true)
    {
        var cmd = new Npgsql.NpgsqlCommand(text, _connection);
        if (after is null) cmd.Parameters.Add(new Npgsql.NpgsqlParameter("ids", NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Uuid) { Value = Array.Empty<Guid>() });
        else
        {
            cmd.Parameters.Add(new Npgsql.NpgsqlParameter("customer", NpgsqlTypes.NpgsqlDbType.Uuid) { Value = Guid.Empty });
            if (after == true)
            {
                cmd.Parameters.Add(new Npgsql.NpgsqlParameter("at", NpgsqlTypes.NpgsqlDbType.TimestampTz) { Value = DateTime.UnixEpoch });
                cmd.Parameters.Add(new Npgsql.NpgsqlParameter("id", NpgsqlTypes.NpgsqlDbType.Uuid) { Value = Guid.Empty });
            }
            if (limit) cmd.Parameters.Add(new Npgsql.NpgsqlParameter("limit", NpgsqlTypes.NpgsqlDbType.Integer) { Value = Limit + 1 });
        }
        await cmd.PrepareAsync();
        _commands[text] = cmd;
    }

    public async Task<Guid> HeavyCustomerAsync()
    {
        await using var cmd = new Npgsql.NpgsqlCommand(Generator.HeavyCustomerSql, _connection);
        return await cmd.ExecuteScalarAsync() as Guid? ?? throw new BenchException("The database has no customers; run generate and generate-timeline first.");
    }

    public async Task<long> CountAsync(string table)
    {
        // The planner's estimate: exact after VACUUM (ANALYZE), and instant.
        await using var cmd = new Npgsql.NpgsqlCommand("SELECT reltuples::bigint FROM pg_class WHERE relname = @t", _connection);
        cmd.Parameters.AddWithValue("t", table);
        return (long)(await cmd.ExecuteScalarAsync() ?? 0L);
    }

    /// <summary>Random customers other than the heavy one, uniformly (so some have few or no interactions).</summary>
    public async Task<List<Guid>> SampleCustomersAsync(Guid heavy, int count, Random random)
    {
        var ids = new List<Guid>();
        await using (var cmd = new Npgsql.NpgsqlCommand("""SELECT "Id" FROM customers WHERE "ArchivedAt" IS NULL AND "Id" <> @heavy ORDER BY "Id" """, _connection))
        {
            cmd.Parameters.AddWithValue("heavy", heavy);
            await using var r = await cmd.ExecuteReaderAsync();
            while (await r.ReadAsync()) ids.Add(r.GetGuid(0));
        }
        if (ids.Count == 0) throw new BenchException("The database has only one customer; run generate first.");
        return Enumerable.Range(0, count).Select(_ => ids[random.Next(ids.Count)]).ToList();
    }

    private Npgsql.NpgsqlCommand Get(string text) => _commands[text];

    /// <summary>One timeline page, the way TimelineService builds it; returns the page's ids in order and the next cursor.</summary>
    public async Task<TimelinePage> PageAsync(Guid customer, string? cursor)
    {
        var errors = new ValidationErrors();
        var before = KeysetCursor.Decode(cursor, errors);
        errors.ThrowIfAny();
        var after = before is not null;

        var visible = Get(VisibleSql);
        visible.Parameters[0].Value = customer;
        if (await visible.ExecuteScalarAsync() is not true) throw new BenchException($"Customer {customer} not found.");

        var entries = new List<(DateTime At, Guid Id, string Kind, Guid? User, bool HasName)>(3 * (Limit + 1));
        var values = new object[40];

        // Interactions, then what ViewsAsync adds to them.
        var interactionIds = new List<Guid>();
        var interactionUsers = new HashSet<Guid>();
        var interactionCustomers = new HashSet<Guid>();
        await using (var r = await Run(InteractionsSql(after), customer, before))
        {
            while (await r.ReadAsync())
            {
                r.GetValues(values);
                var id = r.GetGuid(0);
                var user = r.IsDBNull(17) ? (Guid?)null : r.GetGuid(17);
                interactionIds.Add(id);
                interactionCustomers.Add(r.GetGuid(6));
                if (user is { } u) interactionUsers.Add(u);
                entries.Add((r.GetDateTime(10), id, "interaction", user, true));
            }
        }
        var names = new Dictionary<Guid, string>();
        if (interactionIds.Count > 0)
        {
            await ReadUsersAsync(interactionUsers, names, values);
            await Drain(Get(CustomersSql), interactionCustomers.ToArray(), values);
            await Drain(Get(AttachmentsSql), interactionIds.ToArray(), values);
            await Drain(Get(AgreementTasksSql), interactionIds.ToArray(), values);
        }

        await using (var r = await Run(TasksSql(after), customer, before))
        {
            while (await r.ReadAsync())
            {
                r.GetValues(values);
                entries.Add((r.GetDateTime(4), r.GetGuid(0), "task", r.GetGuid(1), false));
            }
        }
        await using (var r = await Run(ChangesSql(after), customer, before))
        {
            while (await r.ReadAsync())
            {
                r.GetValues(values);
                entries.Add((r.GetDateTime(2), r.GetGuid(0), "change", null, true));
            }
        }

        var ordered = entries.OrderByDescending(e => e.At).ThenByDescending(e => e.Id).ToList();
        var page = ordered.Take(Limit).ToList();
        var next = ordered.Count > Limit ? KeysetCursor.Encode(page[^1].At, page[^1].Id) : null;
        // Interaction entries already carry their user's name (null only for an unknown user); tasks need a lookup.
        var missing = page.Where(e => e.User is { } u && (!e.HasName || !names.ContainsKey(u))).Select(e => e.User!.Value).ToHashSet();
        if (missing.Count > 0) await ReadUsersAsync(missing, null, values);
        return new TimelinePage(page.Select(e => e.Id).ToList(), page.Select(e => e.Kind).ToList(), next);
    }

    private async Task ReadUsersAsync(HashSet<Guid> ids, Dictionary<Guid, string>? names, object[] values)
    {
        if (ids.Count == 0) return;
        var cmd = Get(UsersSql);
        cmd.Parameters[0].Value = ids.ToArray();
        await using var r = await cmd.ExecuteReaderAsync();
        var idOrdinal = r.GetOrdinal("Id");
        while (await r.ReadAsync())
        {
            var row = new object[r.FieldCount];
            r.GetValues(row);
            names?.TryAdd(r.GetGuid(idOrdinal), (string)r["DisplayName"]);
        }
    }

    private static async Task Drain(Npgsql.NpgsqlCommand cmd, Guid[] ids, object[] values)
    {
        cmd.Parameters[0].Value = ids;
        await using var r = await cmd.ExecuteReaderAsync();
        while (await r.ReadAsync())
        {
            var row = r.FieldCount <= values.Length ? values : new object[r.FieldCount];
            r.GetValues(row);
        }
    }

    private async Task<Npgsql.NpgsqlDataReader> Run(string text, Guid customer, (DateTime At, Guid Id)? before)
    {
        var cmd = Get(text);
        cmd.Parameters["customer"].Value = customer;
        if (before is { } b)
        {
            cmd.Parameters["at"].Value = b.At;
            cmd.Parameters["id"].Value = b.Id;
        }
        return await cmd.ExecuteReaderAsync();
    }

    /// <summary>EXPLAIN (ANALYZE, BUFFERS) of the three source queries for this page.</summary>
    public async Task<string> ExplainAsync(Guid customer, string? cursor)
    {
        var before = KeysetCursor.Decode(cursor, new ValidationErrors());
        var after = before is not null;
        var sb = new System.Text.StringBuilder();
        foreach (var text in new[] { InteractionsSql(after), TasksSql(after), ChangesSql(after) })
        {
            await using var cmd = new Npgsql.NpgsqlCommand("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + text, _connection);
            foreach (Npgsql.NpgsqlParameter p in Get(text).Parameters) cmd.Parameters.Add(p.Clone());
            cmd.Parameters["customer"].Value = customer;
            if (before is { } b)
            {
                cmd.Parameters["at"].Value = b.At;
                cmd.Parameters["id"].Value = b.Id;
            }
            await using var r = await cmd.ExecuteReaderAsync();
            while (await r.ReadAsync()) sb.AppendLine(r.GetString(0));
            sb.AppendLine();
        }
        return sb.ToString().TrimEnd();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var cmd in _commands.Values) await cmd.DisposeAsync();
        await _connection.DisposeAsync();
    }
}
