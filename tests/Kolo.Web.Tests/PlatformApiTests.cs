using System.Net;
using Kolo.Core.Data;
using Kolo.Web.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Kolo.Web.Tests;

public abstract class PlatformApiTests(KoloAppFixture fx) : ApiTestBase(fx)
{
    [Fact]
    public async Task The_host_uses_the_configured_database()
    {
        var factory = Fx.Factory.Services.GetRequiredService<IDbContextFactory<KoloDb>>();
        await using var db = await factory.CreateDbContextAsync();
        var connection = db.Database.GetDbConnection();
        if (Fx.Provider == DatabaseProvider.Postgres)
        {
            Assert.True(db.Database.IsNpgsql());
            Assert.Equal(Fx.DatabaseLocation, connection.Database);
        }
        else
        {
            Assert.True(db.Database.IsSqlite());
            Assert.Equal(Path.Combine(Fx.DatabaseLocation, "kolo.db"), connection.DataSource);
            Assert.True(File.Exists(Path.Combine(Fx.DatabaseLocation, "kolo.db")));
        }
        // The admin from configuration exists, and no demo data was seeded (Kolo:SeedDemo=false).
        Assert.True(await db.Users.AnyAsync(u => u.Email == KoloAppFixture.AdminEmail));
        Assert.False(await db.Users.AnyAsync(u => u.Email == "manager@kolo.local"));
    }

    [Fact]
    public async Task Health_answers_200_without_signing_in()
    {
        using var client = Fx.Anonymous();
        using var response = await client.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Healthy", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Interactive_pages_carry_the_reconnection_dialog_in_the_users_language()
    {
        using var client = Fx.Admin();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/customers");
        request.Headers.AcceptLanguage.ParseAdd("uk");
        using var page = await client.SendAsync(request);
        var html = WebUtility.HtmlDecode(await page.Content.ReadAsStringAsync());
        Assert.Contains("id=\"components-reconnect-modal\"", html, StringComparison.Ordinal);
        Assert.Contains("З’єднання із сервером втрачено. Відновлюємо…", html, StringComparison.Ordinal);
        // Blazor fills in the seconds inside the sentence.
        Assert.Contains("Нова спроба через <span id=\"components-seconds-to-next-attempt\"></span> с…", html, StringComparison.Ordinal);

        // The script that opens the dialog is served.
        var script = System.Text.RegularExpressions.Regex.Match(html, "src=\"([^\"]*ReconnectModal[^\"]*\\.js)\"").Groups[1].Value;
        Assert.NotEqual("", script);
        using var js = await client.GetAsync("/" + script.TrimStart('/'));
        Assert.Equal(HttpStatusCode.OK, js.StatusCode);
        Assert.Contains("components-reconnect-state-changed", await js.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // The sign-in page is a plain form with no connection to lose.
        using var anonymous = Fx.Anonymous();
        var login = await anonymous.GetStringAsync("/login");
        Assert.DoesNotContain("components-reconnect-modal", login, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenApi_document_lists_the_customer_endpoints()
    {
        using var client = Fx.Anonymous();
        var doc = await client.GetJsonAsync("/openapi/v1.json");
        var paths = doc.GetProperty("paths");
        Assert.True(paths.TryGetProperty("/api/v1/customers", out var customers));
        Assert.True(customers.TryGetProperty("get", out _));
        Assert.True(customers.TryGetProperty("post", out _));
        Assert.True(paths.TryGetProperty("/api/v1/customers/{id}", out _));
        Assert.True(paths.TryGetProperty("/api/v1/auth/token", out _));
    }

    [Theory]
    [InlineData("/api/v1/customers")]
    [InlineData("/api/v1/users")]
    [InlineData("/api/v1/audit?entityType=customer")]
    public async Task Anonymous_API_calls_get_401_not_a_redirect(string url)
    {
        using var client = Fx.Anonymous();
        using var response = await client.GetAsync(url);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task An_unknown_bearer_token_gets_401()
    {
        using var client = Fx.ClientWithToken("kolo_" + new string('0', 48));
        using var response = await client.GetAsync("/api/v1/customers");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }
}

[Collection("sqlite")]
public sealed class SqlitePlatformApiTests(SqliteFixture fx) : PlatformApiTests(fx);

[Collection("postgres")]
public sealed class PostgresPlatformApiTests(PostgresFixture fx) : PlatformApiTests(fx);
