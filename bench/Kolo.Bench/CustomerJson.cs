using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Kolo.Core.Customers;
using Kolo.Core.Data;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace Kolo.Bench;

/// <summary>
/// The JSON columns (emails, phones, addresses, consents) in the format EF Core writes for owned collections mapped
/// with ToJson: CLR property names, nulls written out, enums by their converter, times in EF's text form. Writing it
/// here instead of through EF is what makes a million rows load in a minute; <see cref="VerifyAgainstEfAsync"/>
/// proves the output is the same as EF's.
/// </summary>
public static class CustomerJson
{
    /// <summary>EF writes DateTime inside JSON in the provider's own text form; <see cref="VerifyAgainstEfAsync"/> pins it.</summary>
    public static DatabaseProvider Provider { get; set; } = DatabaseProvider.Sqlite;

    public static string Emails(Customer c) => Array(c.Emails, static (w, e) =>
    {
        w.WriteString("Address", e.Address);
        String(w, "Label", e.Label);
    });

    public static string Phones(Customer c) => Array(c.Phones, static (w, p) =>
    {
        w.WriteString("Label", p.Label);
        w.WriteString("Number", p.Number);
    });

    public static string Addresses(Customer c) => Array(c.Addresses, static (w, a) =>
    {
        String(w, "City", a.City);
        String(w, "Country", a.Country);
        String(w, "Label", a.Label);
        String(w, "Line1", a.Line1);
        String(w, "Line2", a.Line2);
        String(w, "PostalCode", a.PostalCode);
        String(w, "Region", a.Region);
    });

    public static string Consents(Customer c) => Array(c.Consents, static (w, x) =>
    {
        if (Provider == DatabaseProvider.Postgres) w.WriteString("At", x.At);
        else w.WriteString("At", x.At.ToString("yyyy-MM-dd HH:mm:ss.FFFFFFF", CultureInfo.InvariantCulture));
        w.WriteString("Channel", x.Channel.ToString());
        w.WriteBoolean("Granted", x.Granted);
        String(w, "Source", x.Source);
    });

    public static string CustomFields(Customer c) => JsonSerializer.Serialize(c.CustomFields, JsonSerializerOptions.Default);

    private static void String(Utf8JsonWriter w, string name, string? value)
    {
        if (value is null) w.WriteNull(name);
        else w.WriteString(name, value);
    }

    [ThreadStatic] private static ArrayBufferWriter<byte>? _buffer;

    private static string Array<T>(List<T> items, Action<Utf8JsonWriter, T> write)
    {
        var buffer = _buffer ??= new ArrayBufferWriter<byte>(1024);
        buffer.ResetWrittenCount();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartArray();
            foreach (var item in items)
            {
                w.WriteStartObject();
                write(w, item);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>
    /// Saves a few sample customers through EF into an in-memory SQLite database and compares EF's JSON text with
    /// ours, so a change in EF's format (or in the model) stops the generator instead of loading unreadable rows.
    /// </summary>
    public static async Task VerifyAgainstEfAsync(IEnumerable<Customer> samples)
    {
        await using var connection = new SqliteConnection("Data Source=:memory:");
        await connection.OpenAsync();
        var options = new DbContextOptionsBuilder<KoloDb>();
        options.UseSqlite(connection);
        await using (var db = new KoloDb(options.Options))
        {
            await db.Database.EnsureCreatedAsync();
            db.Customers.AddRange(samples);
            await db.SaveChangesAsync();
        }
        await using (var db = new KoloDb(options.Options))
        {
            foreach (var expected in await db.Customers.AsNoTracking().ToListAsync())
            {
                await using var cmd = connection.CreateCommand();
                cmd.CommandText = """SELECT "Emails", "Phones", "Addresses", "Consents", "CustomFields" FROM customers WHERE "Id" = $id""";
                cmd.Parameters.AddWithValue("$id", expected.Id.ToString().ToUpperInvariant());
                await using var r = await cmd.ExecuteReaderAsync();
                if (!await r.ReadAsync()) throw new BenchException("JSON check: EF did not save the sample customer.");
                Compare("Emails", r.GetString(0), Emails(expected));
                Compare("Phones", r.GetString(1), Phones(expected));
                Compare("Addresses", r.GetString(2), Addresses(expected));
                Compare("Consents", r.GetString(3), Consents(expected));
                Compare("CustomFields", r.GetString(4), CustomFields(expected));
            }
        }
    }

    /// <summary>
    /// PostgreSQL: saves sample customers through EF inside a transaction that is rolled back, and compares EF's
    /// jsonb with ours as JSON values (jsonb keeps neither key order nor escaping, so text would not compare).
    /// </summary>
    public static async Task VerifyAgainstEfPostgresAsync(string connectionString, IEnumerable<Customer> samples)
    {
        var options = new DbContextOptionsBuilder<KoloDb>();
        DatabaseSetup.Configure(options, DatabaseProvider.Postgres, connectionString);
        await using var db = new KoloDb(options.Options);
        await using var tx = await db.Database.BeginTransactionAsync();
        var list = samples.ToList();
        db.Customers.AddRange(list);
        await db.SaveChangesAsync();
        var connection = db.Database.GetDbConnection();
        foreach (var expected in list)
        {
            await using var cmd = connection.CreateCommand();
            cmd.Transaction = db.Database.CurrentTransaction!.GetDbTransaction();
            cmd.CommandText = """SELECT "Emails"::text, "Phones"::text, "Addresses"::text, "Consents"::text, "CustomFields" FROM customers WHERE "Id" = @id""";
            var p = cmd.CreateParameter();
            p.ParameterName = "@id";
            p.Value = expected.Id;
            cmd.Parameters.Add(p);
            await using var r = await cmd.ExecuteReaderAsync();
            if (!await r.ReadAsync()) throw new BenchException("JSON check: EF did not save the sample customer.");
            CompareJson("Emails", r.GetString(0), Emails(expected));
            CompareJson("Phones", r.GetString(1), Phones(expected));
            CompareJson("Addresses", r.GetString(2), Addresses(expected));
            CompareJson("Consents", r.GetString(3), Consents(expected));
            Compare("CustomFields", r.GetString(4), CustomFields(expected));
        }
        await tx.RollbackAsync();
    }

    private static void CompareJson(string column, string ef, string ours)
    {
        if (!System.Text.Json.Nodes.JsonNode.DeepEquals(System.Text.Json.Nodes.JsonNode.Parse(ef), System.Text.Json.Nodes.JsonNode.Parse(ours)))
            throw new BenchException($"JSON check: column {column} differs from EF's format.\n  EF:   {ef}\n  ours: {ours}");
    }

    private static void Compare(string column, string ef, string ours)
    {
        if (!string.Equals(ef, ours, StringComparison.Ordinal))
            throw new BenchException($"JSON check: column {column} differs from EF's format.\n  EF:   {ef}\n  ours: {ours}");
    }
}
