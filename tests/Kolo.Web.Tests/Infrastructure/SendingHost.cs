using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Kolo.Core.Data;
using Kolo.Core.Marketing;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using MimeKit;
using Npgsql;

namespace Kolo.Web.Tests.Infrastructure;

/// <summary>
/// A Kolo host for the sending tests, on a database of its own, wired to the test SMTP server, that can be stopped and
/// started again on the same database (a restart) with other settings.
/// </summary>
public sealed class SendingHost : IAsyncDisposable
{
    private readonly DatabaseProvider _provider;
    private readonly Dictionary<string, string> _settings;
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "kolo-send-" + Guid.NewGuid().ToString("N")[..12]);
    private readonly string _database = "kolo_send_" + Guid.NewGuid().ToString("N")[..12];
    private string? _serverConnection;
    private KoloFactory? _factory;
    private string? _adminToken;

    private SendingHost(DatabaseProvider provider, Dictionary<string, string> settings) => (_provider, _settings) = (provider, settings);

    public string DataDir => _dataDir;

    public WebApplicationFactory<Program> Factory => _factory ?? throw new InvalidOperationException("The host is stopped.");

    public IServiceProvider Services => Factory.Services;

    public IDbContextFactory<KoloDb> Db => Services.GetRequiredService<IDbContextFactory<KoloDb>>();

    public static async Task<SendingHost> StartAsync(DatabaseProvider provider, IReadOnlyDictionary<string, string>? extra = null)
    {
        var host = new SendingHost(provider, new Dictionary<string, string>());
        Directory.CreateDirectory(host._dataDir);
        host._settings["Kolo:DataDir"] = host._dataDir;
        if (provider == DatabaseProvider.Sqlite) host._settings["Kolo:Database:Provider"] = "Sqlite";
        else
        {
            host._serverConnection = Environment.GetEnvironmentVariable(PostgresFixture.Variable);
            if (string.IsNullOrWhiteSpace(host._serverConnection)) throw new InvalidOperationException($"{PostgresFixture.Variable} is not set (./test.sh sets it).");
            await using (var connection = new NpgsqlConnection(host._serverConnection))
            {
                await connection.OpenAsync();
                await using var create = new NpgsqlCommand($"CREATE DATABASE \"{host._database}\"", connection);
                await create.ExecuteNonQueryAsync();
            }
            host._settings["Kolo:Database:Provider"] = "Postgres";
            host._settings["Kolo:Database:ConnectionString"] = new NpgsqlConnectionStringBuilder(host._serverConnection) { Database = host._database }.ConnectionString;
        }
        host._settings["Kolo:Admin:Email"] = KoloAppFixture.AdminEmail;
        host._settings["Kolo:Admin:Password"] = KoloAppFixture.AdminPassword;
        host._settings["Kolo:SeedDemo"] = "false";
        host._settings["Kolo:PublicUrl"] = "https://kolo.test";
        host._settings["Kolo:Smtp:Host"] = "127.0.0.1";
        host._settings["Kolo:Smtp:Port"] = SmtpSink.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        host._settings["Kolo:Smtp:Security"] = "None";
        host._settings["Kolo:Campaigns:From"] = "news@kolo.test";
        host._settings["Kolo:Campaigns:PollSeconds"] = "1";
        host._settings["Kolo:Campaigns:RetrySeconds"] = "1";
        foreach (var (k, v) in extra ?? new Dictionary<string, string>()) host._settings[k] = v;
        await host.StartAgainAsync();
        // These tests run at any hour: without quiet hours a due message goes at once (the quiet-hours hold has its own test).
        await host.SetQuietHoursAsync(null, null);
        return host;
    }

    /// <summary>Sets the contact policy's quiet hours (UTC clock times), or none.</summary>
    public async Task SetQuietHoursAsync(TimeOnly? start, TimeOnly? end)
    {
        await using var db = await Db.CreateDbContextAsync();
        var policy = await Kolo.Core.Marketing.ContactPolicyService.LoadAsync(db, CancellationToken.None);
        (policy.QuietHoursStart, policy.QuietHoursEnd, policy.TimeZone) = (start, end, "Etc/UTC");
        await db.SaveChangesAsync();
    }

    /// <summary>Starts a new host on the same database (after <see cref="StopAsync"/>), optionally with changed settings.</summary>
    public async Task StartAgainAsync(IReadOnlyDictionary<string, string>? changes = null)
    {
        foreach (var (k, v) in changes ?? new Dictionary<string, string>()) _settings[k] = v;
        _factory = new KoloFactory(_settings);
        using var client = _factory.CreateClient();
        using var anonymous = Anonymous();
        using var response = await anonymous.PostAsJsonAsync("/api/v1/auth/token", new { email = KoloAppFixture.AdminEmail, password = KoloAppFixture.AdminPassword });
        response.EnsureSuccessStatusCode();
        _adminToken = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString();
    }

    /// <summary>A graceful stop of the host, as on a deployment: the sender hands back what it has not tried.</summary>
    public async Task StopAsync()
    {
        if (_factory is not null) await _factory.DisposeAsync();
        _factory = null;
    }

    public HttpClient Anonymous() => Factory.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });

    public HttpClient Admin()
    {
        var client = Anonymous();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", _adminToken);
        return client;
    }

    public void WakeSender() => Services.GetRequiredService<CampaignSendSignal>().Notify();

    /// <summary>Waits until <paramref name="done"/> holds for the database (polling), or fails after the timeout.</summary>
    public async Task WaitForAsync(Func<KoloDb, Task<bool>> done, string what, int seconds = 60)
    {
        var until = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            await using (var db = await Db.CreateDbContextAsync())
                if (await done(db)) return;
            if (DateTime.UtcNow > until) Assert.Fail($"Timed out waiting for {what}.");
            await Task.Delay(100);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        if (_provider == DatabaseProvider.Sqlite) SqliteConnection.ClearAllPools();
        else if (_serverConnection is not null)
        {
            NpgsqlConnection.ClearAllPools();
            await using var connection = new NpgsqlConnection(_serverConnection);
            await connection.OpenAsync();
            await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{_database}\" WITH (FORCE)", connection);
            await drop.ExecuteNonQueryAsync();
        }
        try { Directory.Delete(_dataDir, recursive: true); }
        catch (IOException) { /* a leftover temp directory is harmless */ }
    }
}

/// <summary>
/// The real SMTP server that ./test.sh starts (Debian's python3-aiosmtpd with tests/smtp/kolo_smtp_sink.py): every
/// message it accepted is a file in KOLO_TEST_SMTP_DIR. Tests find their messages by the recipient addresses they made up.
/// </summary>
public static class SmtpSink
{
    public static int Port => int.TryParse(Environment.GetEnvironmentVariable("KOLO_TEST_SMTP_PORT"), out var p) ? p
        : throw new InvalidOperationException("KOLO_TEST_SMTP_PORT is not set: run the tests with ./test.sh, which starts the test SMTP server (python3-aiosmtpd).");

    public static string Directory => Environment.GetEnvironmentVariable("KOLO_TEST_SMTP_DIR") is { Length: > 0 } d ? d
        : throw new InvalidOperationException("KOLO_TEST_SMTP_DIR is not set: run the tests with ./test.sh.");

    /// <summary>Every received message whose envelope recipient is one of <paramref name="recipients"/>.</summary>
    public static List<(string To, MimeMessage Message)> MessagesTo(IReadOnlyCollection<string> recipients)
    {
        var wanted = new HashSet<string>(recipients, StringComparer.OrdinalIgnoreCase);
        var result = new List<(string, MimeMessage)>();
        if (!System.IO.Directory.Exists(Directory)) return result;
        foreach (var file in System.IO.Directory.EnumerateFiles(Directory, "*.eml"))
        {
            string first;
            using (var reader = new StreamReader(file)) first = reader.ReadLine() ?? "";
            var to = first.StartsWith("X-Envelope-To: ", StringComparison.Ordinal) ? first["X-Envelope-To: ".Length..].Trim() : "";
            if (!wanted.Contains(to)) continue;
            result.Add((to, MimeMessage.Load(file)));
        }
        return result;
    }

    public static async Task<List<(string To, MimeMessage Message)>> WaitForAsync(IReadOnlyCollection<string> recipients, int count, int seconds = 60)
    {
        var until = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            var found = MessagesTo(recipients);
            if (found.Count >= count) return found;
            if (DateTime.UtcNow > until) Assert.Fail($"The SMTP server received {found.Count} of {count} messages.");
            await Task.Delay(100);
        }
    }
}
