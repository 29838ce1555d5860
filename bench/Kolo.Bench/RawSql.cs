using System.Data.Common;
using Kolo.Core.Data;
using Microsoft.Data.Sqlite;
using Npgsql;
using NpgsqlTypes;

namespace Kolo.Bench;

/// <summary>
/// The SQL behind the two measured endpoints, run directly over ADO.NET on one open connection with prepared
/// commands: the floor the API is compared against. The statements are the ones EF Core generates for
/// CustomerService.ListAsync (relevance branch, then the page's tags) and GetAsync (customer with its tags),
/// captured from EF's command log, with the column lists written out.
/// </summary>
public sealed class RawSql : IAsyncDisposable
{
    public const int PageSize = 50;

    /// <summary>Every customers column, as EF selects them for a whole entity.</summary>
    private static readonly string[] ColumnNames =
    [
        "Id", "AcquisitionCostCurrency", "AcquisitionCostMinor", "AnnualIncomeCurrency", "AnnualIncomeMinor", "ArchivedAt",
        "ArchivedById", "BirthDate", "CityKey", "CompanyName", "CreatedAt", "CustomFields", "DisplayName", "FirstName", "Gender",
        "HouseholdSize", "Kind", "LastName", "MaritalStatus", "MergedIntoId", "OwnerId", "PreferredChannel", "PreferredLanguage",
        "PropertyNotes", "SortName", "Source", "Status", "UpdatedAt", "Version", "Addresses", "Consents", "Emails", "Phones",
    ];

    private static string Columns(string alias) => string.Join(", ", ColumnNames.Select(c => $"\"{alias}\".\"{c}\""));

    /// <summary>ListAsync's relevance query: walk the term index from the prefix, a customer's first matching term only.</summary>
    public static readonly string SearchSql = $"""
        SELECT "c"."Term", {Columns("c2")}
        FROM "customer_search_terms" AS "c"
        INNER JOIN (
            SELECT {Columns("c1")}
            FROM "customers" AS "c1"
            WHERE "c1"."ArchivedAt" IS NULL
        ) AS "c2" ON "c"."CustomerId" = "c2"."Id"
        WHERE "c"."Term" >= @lo AND "c"."Term" < @hi AND NOT EXISTS (
            SELECT 1
            FROM "customer_search_terms" AS "c0"
            WHERE "c0"."CustomerId" = "c"."CustomerId" AND "c0"."Term" >= @lo AND "c0"."Term" < "c"."Term")
        ORDER BY "c"."Term", "c"."CustomerId"
        LIMIT @p
        """;

    private static string PageTagsSql(DatabaseProvider provider) => $"""
        SELECT "c"."CustomerId", "t"."Name"
        FROM "customer_tags" AS "c"
        INNER JOIN "tags" AS "t" ON "c"."TagId" = "t"."Id"
        WHERE "c"."CustomerId" {(provider == DatabaseProvider.Postgres ? "= ANY(@ids)" : $"IN ({string.Join(", ", Enumerable.Range(0, PageSize).Select(i => $"@ids{i}"))})")}
        """;

    /// <summary>GetAsync: the customer by primary key with its tags (EF's Include is the same LEFT JOIN).</summary>
    public static readonly string ByIdSql = $"""
        SELECT {Columns("c2")}, "t"."Name"
        FROM "customers" AS "c2"
        LEFT JOIN "customer_tags" AS "ct" ON "ct"."CustomerId" = "c2"."Id"
        LEFT JOIN "tags" AS "t" ON "t"."Id" = "ct"."TagId"
        WHERE "c2"."Id" = @id
        ORDER BY "ct"."TagId"
        """;

    private readonly DatabaseProvider _provider;
    private readonly DbConnection _connection;
    private DbCommand _search = null!, _pageTags = null!, _byId = null!;

    private RawSql(DatabaseProvider provider, DbConnection connection)
    {
        _provider = provider;
        _connection = connection;
    }

    public DbConnection Connection => _connection;

    public static async Task<RawSql> OpenAsync(DatabaseProvider provider, string connectionString)
    {
        DbConnection connection = provider == DatabaseProvider.Postgres ? new NpgsqlConnection(connectionString) : new SqliteConnection(connectionString);
        await connection.OpenAsync();
        var raw = new RawSql(provider, connection);
        raw._search = raw.Command(SearchSql, ("lo", ""), ("hi", ""), ("p", PageSize + 1));
        if (provider == DatabaseProvider.Postgres)
        {
            raw._pageTags = raw.Command(PageTagsSql(provider));
            raw._pageTags.Parameters.Add(new NpgsqlParameter("ids", NpgsqlDbType.Array | NpgsqlDbType.Uuid) { Value = Array.Empty<Guid>() });
        }
        else
        {
            raw._pageTags = raw.Command(PageTagsSql(provider), Enumerable.Range(0, PageSize).Select(i => ($"ids{i}", (object)"")).ToArray());
        }
        raw._byId = raw.Command(ByIdSql, ("id", provider == DatabaseProvider.Postgres ? Guid.Empty : ""));
        foreach (var cmd in new[] { raw._search, raw._pageTags, raw._byId }) await cmd.PrepareAsync();
        return raw;
    }

    private DbCommand Command(string sql, params (string Name, object Value)[] parameters)
    {
        var cmd = _connection.CreateCommand();
        cmd.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            var p = cmd.CreateParameter();
            p.ParameterName = "@" + name;
            p.Value = value;
            cmd.Parameters.Add(p);
        }
        return cmd;
    }

    public object Id(Guid id) => _provider == DatabaseProvider.Postgres ? id : id.ToString().ToUpperInvariant();

    /// <summary>One search page: the matching customers (all columns read) and their tags. Returns the ids in order.</summary>
    public async Task<List<Guid>> SearchAsync(string lo, string hi)
    {
        _search.Parameters[0].Value = lo;
        _search.Parameters[1].Value = hi;
        var ids = new List<Guid>(PageSize + 1);
        var values = new object[34];
        await using (var r = await _search.ExecuteReaderAsync())
        {
            while (await r.ReadAsync())
            {
                r.GetValues(values);
                ids.Add(values[1] is Guid g ? g : Guid.Parse((string)values[1]));
            }
        }
        if (ids.Count > PageSize) ids.RemoveAt(PageSize);
        if (ids.Count == 0) return ids;
        if (_provider == DatabaseProvider.Postgres)
            _pageTags.Parameters[0].Value = ids.ToArray();
        else
            for (var i = 0; i < PageSize; i++) _pageTags.Parameters[i].Value = i < ids.Count ? Id(ids[i]) : DBNull.Value;
        await using (var r = await _pageTags.ExecuteReaderAsync())
            while (await r.ReadAsync()) r.GetValues(values);
        return ids;
    }

    /// <summary>One customer with its tags; returns its display name (null when missing).</summary>
    public async Task<string?> ByIdAsync(Guid id)
    {
        _byId.Parameters[0].Value = Id(id);
        string? name = null;
        var values = new object[34];
        await using var r = await _byId.ExecuteReaderAsync();
        while (await r.ReadAsync())
        {
            r.GetValues(values);
            name = (string)values[12];
        }
        return name;
    }

    /// <summary>The database's plan for the search query with these bounds (EXPLAIN ANALYZE / EXPLAIN QUERY PLAN).</summary>
    public async Task<string> ExplainSearchAsync(string lo, string hi)
    {
        await using var cmd = Command(
            (_provider == DatabaseProvider.Postgres ? "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " : "EXPLAIN QUERY PLAN ") + SearchSql,
            ("lo", lo), ("hi", hi), ("p", PageSize + 1));
        var lines = new List<string>();
        await using var r = await cmd.ExecuteReaderAsync();
        while (await r.ReadAsync())
            lines.Add(_provider == DatabaseProvider.Postgres ? r.GetString(0) : $"{r.GetValue(0)} {r.GetValue(1)} {r.GetValue(3)}");
        return string.Join('\n', lines);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var cmd in new[] { _search, _pageTags, _byId }) if (cmd is not null) await cmd.DisposeAsync();
        await _connection.DisposeAsync();
    }
}
