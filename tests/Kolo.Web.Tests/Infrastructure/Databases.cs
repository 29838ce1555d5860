using Kolo.Core.Data;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Kolo.Web.Tests.Infrastructure;

/// <summary>Kolo on SQLite in a temporary data directory, as the default configuration would run it.</summary>
public sealed class SqliteFixture : KoloAppFixture
{
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "kolo-test-" + Guid.NewGuid().ToString("N")[..12]);

    public override DatabaseProvider Provider => DatabaseProvider.Sqlite;

    public override string DatabaseLocation => _dataDir;

    protected override Task<IReadOnlyDictionary<string, string>> PrepareDatabaseAsync()
    {
        Directory.CreateDirectory(_dataDir);
        return Task.FromResult<IReadOnlyDictionary<string, string>>(new Dictionary<string, string>
        {
            ["Kolo:Database:Provider"] = "Sqlite",
            ["Kolo:DataDir"] = _dataDir,
        });
    }

    protected override Task DropDatabaseAsync()
    {
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(_dataDir, recursive: true); }
        catch (IOException) { /* a leftover temp directory is harmless */ }
        return Task.CompletedTask;
    }
}

/// <summary>
/// Kolo on a fresh PostgreSQL database, created on the server named by KOLO_TEST_POSTGRES and dropped afterwards.
/// Without that variable every test of the collection fails: PostgreSQL support must never pass untested.
/// </summary>
public sealed class PostgresFixture : KoloAppFixture
{
    public const string Variable = "KOLO_TEST_POSTGRES";

    private readonly string _database = "kolo_test_" + Guid.NewGuid().ToString("N")[..12];
    private string? _serverConnection;

    public override DatabaseProvider Provider => DatabaseProvider.Postgres;

    public override string DatabaseLocation => _database;

    protected override async Task<IReadOnlyDictionary<string, string>> PrepareDatabaseAsync()
    {
        _serverConnection = Environment.GetEnvironmentVariable(Variable);
        if (string.IsNullOrWhiteSpace(_serverConnection))
            throw new InvalidOperationException(
                $"{Variable} is not set. The PostgreSQL API tests need an Npgsql connection string to the 'postgres' database " +
                "of a superuser, e.g. Host=127.0.0.1;Port=5432;Username=kolo;Database=postgres. ./test.sh starts a server and sets it.");
        await using (var connection = new NpgsqlConnection(_serverConnection))
        {
            await connection.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE \"{_database}\"", connection);
            await create.ExecuteNonQueryAsync();
        }
        var connectionString = new NpgsqlConnectionStringBuilder(_serverConnection) { Database = _database }.ConnectionString;
        return new Dictionary<string, string>
        {
            ["Kolo:Database:Provider"] = "Postgres",
            ["Kolo:Database:ConnectionString"] = connectionString,
        };
    }

    protected override async Task DropDatabaseAsync()
    {
        if (string.IsNullOrWhiteSpace(_serverConnection)) return;
        NpgsqlConnection.ClearAllPools();
        await using var connection = new NpgsqlConnection(_serverConnection);
        await connection.OpenAsync();
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{_database}\" WITH (FORCE)", connection);
        await drop.ExecuteNonQueryAsync();
    }
}

[CollectionDefinition("sqlite")]
public sealed class SqliteCollection : ICollectionFixture<SqliteFixture>;

[CollectionDefinition("postgres")]
public sealed class PostgresCollection : ICollectionFixture<PostgresFixture>;

/// <summary>Analytics reads every order of the database: its tests get databases of their own.</summary>
[CollectionDefinition("analytics-sqlite")]
public sealed class AnalyticsSqliteCollection : ICollectionFixture<SqliteFixture>;

[CollectionDefinition("analytics-postgres")]
public sealed class AnalyticsPostgresCollection : ICollectionFixture<PostgresFixture>;

/// <summary>Campaign sending processes every due message of a database: campaign tests get databases of their own.</summary>
[CollectionDefinition("marketing-sqlite")]
public sealed class MarketingSqliteCollection : ICollectionFixture<SqliteFixture>;

[CollectionDefinition("marketing-postgres")]
public sealed class MarketingPostgresCollection : ICollectionFixture<PostgresFixture>;
