using Kolo.Core.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace Kolo.Migrations.Sqlite;

/// <summary>Lets <c>dotnet ef migrations add X --project src/Kolo.Migrations.Sqlite</c> build the SQLite model.</summary>
public sealed class DesignTimeFactory : IDesignTimeDbContextFactory<KoloDb>
{
    public KoloDb CreateDbContext(string[] args)
    {
        var options = new DbContextOptionsBuilder<KoloDb>();
        DatabaseSetup.Configure(options, DatabaseProvider.Sqlite, "Data Source=design.db");
        return new KoloDb(options.Options);
    }
}
