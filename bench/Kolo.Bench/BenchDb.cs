using Kolo.Core.Data;
using Microsoft.EntityFrameworkCore;

namespace Kolo.Bench;

/// <summary>What the benchmarks that fill a database with generated records share.</summary>
public static class BenchDb
{
    /// <summary>Writes the records with Kolo's bulk writer in one transaction.</summary>
    public static async Task WriteAsync(IDbContextFactory<KoloDb> factory, IReadOnlyCollection<object> records)
    {
        await using var db = factory.CreateDbContext();
        await using var tx = await db.Database.BeginTransactionAsync();
        await BulkInsert.WriteAsync(db, records);
        await tx.CommitAsync();
    }

    /// <summary>A context factory over fixed options, as the app's DI would give one.</summary>
    public sealed class Factory(DbContextOptions<KoloDb> options) : IDbContextFactory<KoloDb>
    {
        public KoloDb CreateDbContext() => new(options);
    }
}
