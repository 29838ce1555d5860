using Kolo.Core.Data;
using Microsoft.EntityFrameworkCore;

namespace Kolo.Web.Tests;

/// <summary>
/// A model change (a column, an index, an index's filter) without a migration for each database is a bug: that database
/// would run on a schema other than the model's. EF compares the model with each migration project's snapshot; no
/// connection is needed.
/// </summary>
public class MigrationTests
{
    [Theory]
    [InlineData(DatabaseProvider.Sqlite, "Data Source=:memory:")]
    [InlineData(DatabaseProvider.Postgres, "Host=localhost;Database=kolo")]
    public void Each_database_has_migrations_for_the_whole_model(DatabaseProvider provider, string connection)
    {
        var options = new DbContextOptionsBuilder<KoloDb>();
        DatabaseSetup.Configure(options, provider, connection);
        using var db = new KoloDb(options.Options);
        Assert.False(db.Database.HasPendingModelChanges(), $"The model has changes that no {provider} migration makes: add one.");
    }
}
