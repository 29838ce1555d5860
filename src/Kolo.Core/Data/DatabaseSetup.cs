using Microsoft.EntityFrameworkCore;

namespace Kolo.Core.Data;

public enum DatabaseProvider { Sqlite, Postgres }

public sealed class DatabaseOptions
{
    public DatabaseProvider Provider { get; set; } = DatabaseProvider.Sqlite;
    /// <summary>Empty for SQLite means <c>{DataDir}/kolo.db</c>.</summary>
    public string? ConnectionString { get; set; }
}

public static class DatabaseErrors
{
    /// <summary>
    /// A unique index refused the write: two people created the same tag, link or user at the same moment.
    /// The caller should reload and retry, so it is a conflict, not a server error.
    /// </summary>
    public static bool IsUniqueViolation(this DbUpdateException e) => e.InnerException switch
    {
        Npgsql.PostgresException pg => pg.SqlState == Npgsql.PostgresErrorCodes.UniqueViolation,
        Microsoft.Data.Sqlite.SqliteException sqlite => sqlite.SqliteExtendedErrorCode is 2067 or 1555, // UNIQUE, PRIMARY KEY
        _ => false,
    };
}

public static class DatabaseSetup
{
    public const string SqliteMigrationsAssembly = "Kolo.Migrations.Sqlite";
    public const string PostgresMigrationsAssembly = "Kolo.Migrations.Postgres";

    public static void Configure(DbContextOptionsBuilder options, DatabaseProvider provider, string connectionString)
    {
        switch (provider)
        {
            case DatabaseProvider.Postgres:
                options.UseNpgsql(connectionString, o => o.MigrationsAssembly(PostgresMigrationsAssembly));
                break;
            default:
                options.UseSqlite(connectionString, o => o.MigrationsAssembly(SqliteMigrationsAssembly));
                break;
        }
    }

    /// <summary>Applies migrations; on SQLite also turns on write-ahead logging so readers never wait for a writer.</summary>
    public static async Task MigrateAsync(KoloDb db, CancellationToken ct = default)
    {
        if (db.Database.IsSqlite())
            await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", ct);
        await db.Database.MigrateAsync(ct);
    }
}
