using Kolo.Core.Data;

namespace Kolo.Web.Platform;

/// <summary>The <c>Kolo</c> configuration section (environment variables <c>Kolo__...</c>). Defaults need nothing set.</summary>
public sealed class KoloOptions
{
    public const string Section = "Kolo";

    /// <summary>Where the SQLite database and other local state live; <c>./data</c> by default.</summary>
    public string DataDir { get; set; } = "data";
    public DatabaseOptions Database { get; set; } = new();
    public AdminOptions Admin { get; set; } = new();
    /// <summary>Seed demo customers and users into an empty database.</summary>
    public bool SeedDemo { get; set; } = true;
    /// <summary>The region used for phone numbers written without a country code (ISO 3166-1 alpha-2).</summary>
    public string PhoneRegion { get; set; } = "UA";
    /// <summary>How often due task reminders are looked for.</summary>
    public int ReminderIntervalSeconds { get; set; } = 15;
    /// <summary>Orders due within this many days and not shipped get a warning task for their owner.</summary>
    public int DeliveryWarningDays { get; set; } = 2;
    /// <summary>How often the delivery warnings are checked.</summary>
    public int FulfilmentCheckSeconds { get; set; } = 300;
    /// <summary>How often the analytics worker looks for queued jobs and the scheduled recompute.</summary>
    public int AnalyticsPollSeconds { get; set; } = 10;
    /// <summary>SMTP server for e-mail reminders; none by default.</summary>
    public Kolo.Core.Tasks.SmtpOptions Smtp { get; set; } = new();

    public string ResolveConnectionString()
    {
        if (!string.IsNullOrWhiteSpace(Database.ConnectionString)) return Database.ConnectionString;
        if (Database.Provider == DatabaseProvider.Postgres)
            throw new InvalidOperationException("Set Kolo__Database__ConnectionString to use PostgreSQL.");
        Directory.CreateDirectory(DataDir);
        // Relative to where Kolo was started; `dotnet run --project src/Kolo.Web` starts it in the project folder.
        return $"Data Source={Path.Combine(DataDir, "kolo.db")};Pooling=True";
    }
}

public sealed class AdminOptions
{
    public string Email { get; set; } = "admin@kolo.local";
    public string? Password { get; set; }
}
