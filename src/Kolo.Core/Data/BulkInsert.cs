using System.Buffers;
using System.Collections;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;
using SQLitePCL;

namespace Kolo.Core.Data;

/// <summary>
/// Inserts new records in bulk — binary COPY on PostgreSQL, one prepared INSERT per table bound by position on SQLite — instead of
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
        var sql = $"INSERT INTO {Quote(table.Name)} ({string.Join(", ", table.Columns.Select(c => Quote(c.Name)))}) " +
                  $"VALUES ({string.Join(", ", table.Columns.Select((_, i) => "@p" + i))})";
        await using var command = connection.CreateCommand();
        command.Transaction = (SqliteTransaction)db.Database.CurrentTransaction!.GetDbTransaction();
        command.CommandText = sql;
        // The type mappings make the parameters as EF would (Guid and DateTime as text, enums converted); later rows only change values.
        var parameters = table.Columns.Select((c, i) => c.Mapping.CreateParameter(command, "@p" + i, null)).ToArray();
        var binds = table.Columns.Select((c, i) => PositionalBindOf(c, (SqliteParameter)parameters[i])).ToArray();
        if (binds.All(b => b is not null))
        {
            InsertByPosition(connection, sql, table, binds.Select(b => b!.Value).ToArray(), entries, db.Database.GetCommandTimeout() ?? connection.DefaultTimeout, ct);
            return;
        }
        command.Parameters.AddRange(parameters);
        await command.PrepareAsync(ct);
        foreach (var entry in entries)
        {
            for (var i = 0; i < parameters.Length; i++) parameters[i].Value = table.Columns[i].ProviderValue(entry) ?? DBNull.Value;
            await command.ExecuteNonQueryAsync(ct);
        }
    }

    /// <summary>How a column's values are bound to SQLite by position, in Microsoft.Data.Sqlite's own form.</summary>
    private enum PositionalBind { Integer, Boolean, Real, Text, GuidText, DateTimeText, DateOnlyText }

    /// <summary>
    /// Null for a column whose provider type needs Microsoft.Data.Sqlite's conversion (decimal, DateTimeOffset, Real
    /// dates, blobs…): its table keeps the parameter path.
    /// </summary>
    private static PositionalBind? PositionalBindOf(Column column, SqliteParameter parameter)
    {
        var type = column.Json is not null ? typeof(string) : column.Mapping.Converter?.ProviderClrType ?? column.Mapping.ClrType;
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type == typeof(double) || type == typeof(float)) return PositionalBind.Real;
        if (parameter.SqliteType == SqliteType.Real || parameter.SqliteType == SqliteType.Blob) return null;
        if (type == typeof(string)) return PositionalBind.Text;
        if (type == typeof(long) || type == typeof(int) || type == typeof(short) || type == typeof(byte)) return PositionalBind.Integer;
        if (type == typeof(bool)) return PositionalBind.Boolean;
        if (type == typeof(Guid)) return PositionalBind.GuidText;
        if (type == typeof(DateTime)) return PositionalBind.DateTimeText;
        if (type == typeof(DateOnly)) return PositionalBind.DateOnlyText;
        return null;
    }

    /// <summary>
    /// Microsoft.Data.Sqlite looks each parameter up by name and builds a reader on every execution — three quarters
    /// of an import's writing time on SQLite. This binds the same values by position to one prepared statement.
    /// </summary>
    private static void InsertByPosition(SqliteConnection connection, string sql, Table table, PositionalBind[] binds, List<object> entries, int timeoutSeconds, CancellationToken ct)
    {
        var busyMilliseconds = timeoutSeconds <= 0 ? int.MaxValue : timeoutSeconds * 1000L;
        var handle = connection.Handle!;
        SqliteException.ThrowExceptionForRC(raw.sqlite3_prepare_v2(handle, sql, out var statement), handle);
        using (statement)
        {
            foreach (var entry in entries)
            {
                ct.ThrowIfCancellationRequested();
                for (var i = 0; i < binds.Length; i++)
                {
                    var value = table.Columns[i].ProviderValue(entry);
                    var rc = value is null ? raw.sqlite3_bind_null(statement, i + 1) : Bind(statement, i + 1, binds[i], value);
                    SqliteException.ThrowExceptionForRC(rc, handle);
                }
                var step = raw.sqlite3_step(statement);
                // As Microsoft.Data.Sqlite does: a busy database is retried until the command timeout (0: no limit).
                for (var waited = 0L; step is raw.SQLITE_BUSY or raw.SQLITE_LOCKED && waited < busyMilliseconds; waited += 50)
                {
                    raw.sqlite3_reset(statement);
                    Thread.Sleep(50);
                    step = raw.sqlite3_step(statement);
                }
                if (step != raw.SQLITE_DONE) SqliteException.ThrowExceptionForRC(step, handle);
                raw.sqlite3_reset(statement);
            }
        }
    }

    // The text forms are Microsoft.Data.Sqlite's (SqliteValueBinder); BulkInsertTests compares the stored rows with SaveChanges'.
    private static int Bind(sqlite3_stmt statement, int index, PositionalBind bind, object value) => bind switch
    {
        PositionalBind.Integer => raw.sqlite3_bind_int64(statement, index, Convert.ToInt64(value, CultureInfo.InvariantCulture)),
        PositionalBind.Boolean => raw.sqlite3_bind_int64(statement, index, (bool)value ? 1 : 0),
        PositionalBind.Real => BindReal(statement, index, Convert.ToDouble(value, CultureInfo.InvariantCulture)),
        PositionalBind.Text => BindText(statement, index, (string)value),
        PositionalBind.GuidText => BindText(statement, index, ((Guid)value).ToString().ToUpperInvariant()),
        PositionalBind.DateTimeText => BindText(statement, index, ((DateTime)value).ToString(@"yyyy\-MM\-dd HH\:mm\:ss.FFFFFFF", CultureInfo.InvariantCulture)),
        PositionalBind.DateOnlyText => BindText(statement, index, ((DateOnly)value).ToString(@"yyyy\-MM\-dd", CultureInfo.InvariantCulture)),
        _ => throw new ArgumentOutOfRangeException(nameof(bind)),
    };

    private static int BindReal(sqlite3_stmt statement, int index, double value) =>
        double.IsNaN(value) ? throw new InvalidOperationException("Cannot store 'NaN' values.") : raw.sqlite3_bind_double(statement, index, value);

    [ThreadStatic] private static byte[]? _textBuffer;

    /// <summary>UTF-8 through one reused buffer per thread (SQLite copies the bound text).</summary>
    private static int BindText(sqlite3_stmt statement, int index, string value)
    {
        var needed = Encoding.UTF8.GetMaxByteCount(value.Length);
        if (_textBuffer is null || _textBuffer.Length < needed) _textBuffer = new byte[Math.Max(needed, 4096)];
        var length = Encoding.UTF8.GetBytes(value, _textBuffer);
        // An empty span may pin no memory, and SQLite stores a null pointer as NULL: "" goes through the terminated form.
        return length == 0 ? raw.sqlite3_bind_text(statement, index, "") : raw.sqlite3_bind_text(statement, index, _textBuffer.AsSpan(0, length));
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
