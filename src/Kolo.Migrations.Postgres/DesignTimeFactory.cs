using Kolo.Core.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace Kolo.Migrations.Postgres;

/// <summary>Lets <c>dotnet ef migrations add X --project src/Kolo.Migrations.Postgres</c> build the PostgreSQL model.</summary>
public sealed class DesignTimeFactory : IDesignTimeDbContextFactory<KoloDb>
{
    public KoloDb CreateDbContext(string[] args)
    {
        var options = new DbContextOptionsBuilder<KoloDb>();
        DatabaseSetup.Configure(options, DatabaseProvider.Postgres, "Host=localhost;Database=kolo_design");
        return new KoloDb(options.Options);
    }
}
