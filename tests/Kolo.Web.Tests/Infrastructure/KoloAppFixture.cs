using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Kolo.Core.Data;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Kolo.Web.Tests.Infrastructure;

/// <summary>
/// One Kolo host on one fresh database, shared by every test of a collection. Tests create their own
/// uniquely named data, so they never depend on what another test left behind.
/// </summary>
public abstract class KoloAppFixture : IAsyncLifetime
{
    public const string AdminEmail = "admin@kolo.local";
    public const string AdminPassword = "Admin-pass-1";
    public const string UserPassword = "User-pass-2026";

    private KoloFactory? _factory;
    private string? _adminToken;
    private readonly SemaphoreSlim _adminLock = new(1, 1);

    public abstract DatabaseProvider Provider { get; }

    public WebApplicationFactory<Program> Factory => _factory ?? throw new InvalidOperationException("The fixture is not initialised.");

    /// <summary>Where the database is: the SQLite directory or the PostgreSQL database name.</summary>
    public abstract string DatabaseLocation { get; }

    protected abstract Task<IReadOnlyDictionary<string, string>> PrepareDatabaseAsync();

    protected abstract Task DropDatabaseAsync();

    public async Task InitializeAsync()
    {
        var settings = new Dictionary<string, string>(await PrepareDatabaseAsync())
        {
            ["Kolo:Admin:Email"] = AdminEmail,
            ["Kolo:Admin:Password"] = AdminPassword,
            ["Kolo:SeedDemo"] = "false",
        };
        _factory = new KoloFactory(settings);
        // Start the host now, so migrations run once here and not inside the first test's time.
        using var client = _factory.CreateClient();
        _adminToken = await TokenAsync(AdminEmail, AdminPassword);
    }

    public async Task DisposeAsync()
    {
        if (_factory is not null) await _factory.DisposeAsync();
        await DropDatabaseAsync();
    }

    public HttpClient Anonymous() => Factory.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });

    public HttpClient ClientWithToken(string token)
    {
        var client = Anonymous();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    public HttpClient Admin() => ClientWithToken(_adminToken ?? throw new InvalidOperationException("No admin token."));

    public async Task<string> TokenAsync(string email, string password)
    {
        using var client = Anonymous();
        using var response = await client.PostAsJsonAsync("/api/v1/auth/token", new { email, password });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        return body.GetProperty("token").GetString()!;
    }

    /// <summary>Creates a user through the API as the admin, and signs them in.</summary>
    public async Task<TestUser> CreateUserAsync(string role, string customerAccess = "Own", string? team = null)
    {
        var email = $"{role.ToLowerInvariant()}-{Unique.Word(8)}@test.kolo";
        var displayName = $"{role} {Unique.Word(6)}";
        JsonElement created;
        await _adminLock.WaitAsync();
        try
        {
            using var admin = Admin();
            using var response = await admin.PostAsJsonAsync("/api/v1/users",
                new { email, displayName, role, customerAccess, team, password = UserPassword });
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            created = await response.Content.ReadFromJsonAsync<JsonElement>();
        }
        finally { _adminLock.Release(); }
        var token = await TokenAsync(email, UserPassword);
        return new TestUser(created.GetProperty("id").GetGuid(), email, displayName, role, token, this);
    }
}

public sealed record TestUser(Guid Id, string Email, string DisplayName, string Role, string Token, KoloAppFixture Fixture)
{
    public HttpClient Client() => Fixture.ClientWithToken(Token);
}

/// <summary>Configures the real Program through configuration, the way an operator would.</summary>
internal sealed class KoloFactory(IReadOnlyDictionary<string, string> settings) : WebApplicationFactory<Program>
{
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        // UseSetting goes into the host configuration, which WebApplication.CreateBuilder already sees, unlike
        // ConfigureAppConfiguration, which would apply only after Program has read its options.
        foreach (var (key, value) in settings) builder.UseSetting(key, value);
    }
}
