using System.Buffers;
using System.Collections;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;

namespace Kolo.Core.Data;

/// <summary>
/// Inserts new records in bulk — binary COPY on PostgreSQL, one prepared INSERT per table on SQLite — instead of
/// SaveChanges' tracked statement per row. Columns, value conversions and JSON columns come from the EF model, so the
/// rows are exactly what EF would have written (a test compares them). The records are not tracked: give every
/// row to write (an order and its lines). Runs inside the caller's transaction, so a failure leaves nothing behind.
/// </summary>
public static class BulkInsert
{
    public static async Task WriteAsync(KoloDb db, IReadOnlyCollection<object> records, CancellationToken ct = default)
    {
        if (records.Count == 0) return;
        if (db.Database.CurrentTransaction is null) throw new InvalidOperationException("Bulk inserts run inside a transaction.");
        var byType = records.GroupBy(r => db.Model.FindEntityType(r.GetType())
                                          ?? throw new InvalidOperationException($"{r.GetType().Name} is not an entity."))
            .ToDictionary(g => g.Key, g => g.ToList());
        // A return's line may point at a line of the same batch: SQLite checks foreign keys at commit, as PostgreSQL
        // does at the end of each COPY.
        if (db.Database.IsSqlite()) await db.Database.ExecuteSqlRawAsync("PRAGMA defer_foreign_keys = ON", ct);
        foreach (var type in PrincipalsFirst(byType.Keys))
        {
            var table = Table.For(type);
            if (db.Database.IsNpgsql()) await CopyAsync((NpgsqlConnection)db.Database.GetDbConnection(), table, byType[type], ct);
            else await InsertAsync(db, table, byType[type], ct);
        }
    }

    /// <summary>Entity types ordered so a table is written before the tables whose foreign keys point at it.</summary>
    private static List<IEntityType> PrincipalsFirst(IEnumerable<IEntityType> types)
    {
        var pending = types.ToList();
        var ordered = new List<IEntityType>();
        while (pending.Count > 0)
        {
            var next = pending.FirstOrDefault(t => !t.GetForeignKeys().Any(fk =>
                           fk.PrincipalEntityType != t && pending.Contains(fk.PrincipalEntityType)))
                       ?? throw new InvalidOperationException("Foreign keys form a cycle: " + string.Join(", ", pending.Select(t => t.ShortName())));
            ordered.Add(next);
            pending.Remove(next);
        }
        return ordered;
    }

    private static async Task CopyAsync(NpgsqlConnection connection, Table table, List<object> entries, CancellationToken ct)
    {
        var columns = string.Join(", ", table.Columns.Select(c => Quote(c.Name)));
        await using var writer = await connection.BeginBinaryImportAsync($"COPY {Quote(table.Name)} ({columns}) FROM STDIN (FORMAT BINARY)", ct);
        // The synchronous writes only fill Npgsql's buffer (flushing when full); per-value async calls cost more than the copy.
        foreach (var entry in entries)
        {
            ct.ThrowIfCancellationRequested();
            writer.StartRow();
            foreach (var column in table.Columns)
            {
                var value = column.ProviderValue(entry);
                if (value is null) writer.WriteNull();
                else writer.Write(value, column.PostgresType);
            }
        }
        await writer.CompleteAsync(ct);
    }

    private static async Task InsertAsync(KoloDb db, Table table, List<object> entries, CancellationToken ct)
    {
        var connection = (SqliteConnection)db.Database.GetDbConnection();
        await using var command = connection.CreateCommand();
        command.Transaction = (SqliteTransaction)db.Database.CurrentTransaction!.GetDbTransaction();
        command.CommandText = $"INSERT INTO {Quote(table.Name)} ({string.Join(", ", table.Columns.Select(c => Quote(c.Name)))}) " +
                              $"VALUES ({string.Join(", ", table.Columns.Select((_, i) => "@p" + i))})";
        // The type mappings make the parameters as EF would (Guid and DateTime as text, enums converted); later rows only change values.
        var parameters = table.Columns.Select((c, i) => c.Mapping.CreateParameter(command, "@p" + i, null)).ToArray();
        command.Parameters.AddRange(parameters);
        await command.PrepareAsync(ct);
        foreach (var entry in entries)
        {
            for (var i = 0; i < parameters.Length; i++) parameters[i].Value = table.Columns[i].ProviderValue(entry) ?? DBNull.Value;
            await command.ExecuteNonQueryAsync(ct);
        }
    }

    private static string Quote(string name) => "\"" + name.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    private static IEnumerable<object> Items(object? collection) => collection switch
    {
        null => [],
        IEnumerable items => items.Cast<object>(),
        _ => [collection],
    };

    private sealed record Table(string Name, List<Column> Columns)
    {
        private static readonly Dictionary<IEntityType, Table> Cache = [];

        public static Table For(IEntityType type)
        {
            lock (Cache)
            {
                if (Cache.TryGetValue(type, out var cached)) return cached;
                var name = type.GetTableName() ?? throw new InvalidOperationException($"{type.ShortName()} has no table.");
                var store = StoreObjectIdentifier.Table(name, type.GetSchema());
                var columns = new List<Column>();
                foreach (var property in type.GetProperties())
                {
                    if (property.GetColumnName(store) is not { } column) continue;
                    if (property.IsShadowProperty()) throw new NotSupportedException($"{type.ShortName()}.{property.Name} is a shadow property.");
                    if (property.ValueGenerated != ValueGenerated.Never && property.GetDefaultValueSql() is not null)
                        throw new NotSupportedException($"{type.ShortName()}.{property.Name} is generated by the database.");
                    columns.Add(new Column(column, property, null, property.GetRelationalTypeMapping()));
                }
                foreach (var navigation in type.GetNavigations().Where(n => n.TargetEntityType.IsMappedToJson()))
                {
                    var target = navigation.TargetEntityType;
                    var mapping = type.Model.GetRelationalModel().FindTable(name, type.GetSchema())!
                        .FindColumn(target.GetContainerColumnName()!)!.StoreTypeMapping;
                    columns.Add(new Column(target.GetContainerColumnName()!, null, navigation, mapping));
                }
                return Cache[type] = new Table(name, columns);
            }
        }
    }

    private sealed record Column(string Name, IProperty? Property, INavigation? Json, RelationalTypeMapping Mapping)
    {
        /// <summary>The store type without length or precision, as Npgsql's binary writer names types.</summary>
        public string PostgresType { get; } = Mapping.StoreType.Split('(')[0];

        // Looked up once per column: the model lookup takes a lock, too dear once per value.
        private readonly List<JsonField>? _jsonFields = Json is null ? null : JsonFields.For(Json.TargetEntityType);

        public object? ProviderValue(object entity)
        {
            if (Json is not null) return JsonOf(Json, _jsonFields!, Json.GetGetter().GetClrValueUsingContainingEntity(entity));
            var value = Property!.GetGetter().GetClrValueUsingContainingEntity(entity);
            return value is not null && Mapping.Converter is { } c ? c.ConvertToProvider(value) : value;
        }
    }

    // One buffer and writer per thread, reused for every JSON value: a bulk write makes millions of them.
    [ThreadStatic] private static ArrayBufferWriter<byte>? _jsonBuffer;
    [ThreadStatic] private static Utf8JsonWriter? _jsonWriter;

    /// <summary>An owned collection or object mapped to a JSON column, written as EF writes it (property names and value writers from the model).</summary>
    private static string? JsonOf(INavigation navigation, List<JsonField> fields, object? value)
    {
        if (value is null) return null;
        var buffer = _jsonBuffer ??= new ArrayBufferWriter<byte>(4096);
        buffer.ResetWrittenCount();
        var writer = _jsonWriter ??= new Utf8JsonWriter(buffer);
        writer.Reset(buffer);
        if (navigation.IsCollection)
        {
            writer.WriteStartArray();
            foreach (var item in Items(value)) WriteObject(writer, fields, item);
            writer.WriteEndArray();
        }
        else WriteObject(writer, fields, value);
        writer.Flush();
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static void WriteObject(Utf8JsonWriter writer, List<JsonField> fields, object item)
    {
        writer.WriteStartObject();
        foreach (var field in fields)
        {
            var value = field.Getter.GetClrValueUsingContainingEntity(item);
            if (value is null) { writer.WriteNull(field.Name); continue; }
            writer.WritePropertyName(field.Name);
            // A writer of the model type (a primitive collection) takes the value itself; otherwise the converted one.
            field.Writer.ToJson(writer, field.Converter is { } c && !field.Writer.ValueType.IsInstanceOfType(value) ? c.ConvertToProvider(value)! : value);
        }
        writer.WriteEndObject();
    }

    private sealed record JsonField(JsonEncodedText Name, IClrPropertyGetter Getter, Microsoft.EntityFrameworkCore.Storage.Json.JsonValueReaderWriter Writer, Microsoft.EntityFrameworkCore.Storage.ValueConversion.ValueConverter? Converter);

    /// <summary>The stored properties of a JSON-mapped type, looked up in the model once.</summary>
    private static class JsonFields
    {
        private static readonly Dictionary<IEntityType, List<JsonField>> Cache = [];

        public static List<JsonField> For(IEntityType type)
        {
            lock (Cache)
            {
                if (Cache.TryGetValue(type, out var cached)) return cached;
                if (type.GetNavigations().FirstOrDefault() is { } nested)
                    throw new NotSupportedException($"Nested JSON navigation {type.ShortName()}.{nested.Name} is not supported.");
                var fields = new List<JsonField>();
                foreach (var property in type.GetProperties())
                {
                    if (property.GetJsonPropertyName() is not { } name) continue; // keys and ordinals are not stored
                    var mapping = property.GetTypeMapping();
                    var json = property.GetJsonValueReaderWriter() ?? mapping.JsonValueReaderWriter
                               ?? throw new NotSupportedException($"{type.ShortName()}.{property.Name} has no JSON writer.");
                    fields.Add(new JsonField(JsonEncodedText.Encode(name), property.GetGetter(), json, mapping.Converter));
                }
                return Cache[type] = fields;
            }
        }
    }
}
