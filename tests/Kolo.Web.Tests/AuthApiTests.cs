using System.Text.Json;
using System.Net;
using System.Net.Http.Json;
using Kolo.Web.Tests.Infrastructure;

namespace Kolo.Web.Tests;

public abstract class AuthApiTests(KoloAppFixture fx) : ApiTestBase(fx)
{
    [Fact]
    public async Task Token_is_issued_for_the_right_password_and_identifies_the_user()
    {
        using var anonymous = Fx.Anonymous();
        var before = DateTime.UtcNow;
        var issued = await anonymous.PostJsonAsync("/api/v1/auth/token",
            new { email = KoloAppFixture.AdminEmail, password = KoloAppFixture.AdminPassword }, HttpStatusCode.OK);
        var token = issued.Str("token");
        Assert.StartsWith("kolo_", token, StringComparison.Ordinal);
        var expiresAt = issued.GetProperty("expiresAt").GetDateTime().ToUniversalTime();
        Assert.InRange(expiresAt, before.AddHours(7.9), DateTime.UtcNow.AddHours(8.1));

        using var client = Fx.ClientWithToken(token);
        var me = await client.GetJsonAsync("/api/v1/me");
        Assert.Equal(KoloAppFixture.AdminEmail, me.Str("email"));
        Assert.Equal("Admin", me.Str("role"));
    }

    [Fact]
    public async Task Wrong_password_or_unknown_user_gets_401_without_a_token()
    {
        var user = await Fx.CreateUserAsync("Sales");
        using var anonymous = Fx.Anonymous();
        foreach (var (email, password) in new[] { (user.Email, "Wrong-pass-1"), ("nobody-" + Unique.Word() + "@test.kolo", KoloAppFixture.UserPassword) })
        {
            using var response = await anonymous.PostAsJsonAsync("/api/v1/auth/token", new { email, password });
            var body = await response.ExpectAsync(HttpStatusCode.Unauthorized);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.False(body.TryGetProperty("token", out _));
        }
    }

    [Fact]
    public async Task Repeated_failures_lock_the_account_even_for_the_right_password()
    {
        var user = await Fx.CreateUserAsync("Marketing");
        using var anonymous = Fx.Anonymous();
        for (var i = 0; i < 4; i++)
        {
            using var wrong = await anonymous.PostAsJsonAsync("/api/v1/auth/token", new { email = user.Email, password = "Wrong-pass-" + i });
            Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        }
        using (var fifth = await anonymous.PostAsJsonAsync("/api/v1/auth/token", new { email = user.Email, password = "Wrong-pass-5" }))
            Assert.NotEqual(HttpStatusCode.OK, fifth.StatusCode);

        using var right = await anonymous.PostAsJsonAsync("/api/v1/auth/token", new { email = user.Email, password = KoloAppFixture.UserPassword });
        var body = await right.ExpectAsync(HttpStatusCode.TooManyRequests);
        Assert.False(body.TryGetProperty("token", out _));

        // The admin sees the lock on the user.
        using var admin = Fx.Admin();
        var view = await admin.GetJsonAsync($"/api/v1/users/{user.Id}");
        Assert.True(view.GetProperty("lockedOut").GetBoolean());
    }

    [Fact]
    public async Task A_new_password_the_policy_refuses_changes_nothing_and_the_old_one_still_signs_in()
    {
        var user = await Fx.CreateUserAsync("Support");
        using var admin = Fx.Admin();
        using (var weak = await admin.PutAsJsonAsync($"/api/v1/users/{user.Id}",
                   new { email = user.Email, displayName = "Renamed " + Unique.Word(4), role = user.Role, password = "newpassword" }, Api.Json))
            Assert.Contains("password", (await weak.ExpectValidationProblemAsync()).Keys);
        Assert.Equal(user.DisplayName, (await admin.GetJsonAsync($"/api/v1/users/{user.Id}")).Str("displayName"));
        using var anonymous = Fx.Anonymous();
        using var signIn = await anonymous.PostAsJsonAsync("/api/v1/auth/token", new { email = user.Email, password = KoloAppFixture.UserPassword });
        await signIn.ExpectAsync(HttpStatusCode.OK);
    }

    [Fact]
    public async Task A_user_form_read_before_a_deactivation_cannot_undo_it()
    {
        var user = await Fx.CreateUserAsync("Sales");
        using var admin = Fx.Admin();
        string stale;
        using (var read = await admin.GetAsync($"/api/v1/users/{user.Id}"))
        {
            await read.ExpectAsync(HttpStatusCode.OK);
            stale = read.ETag();
        }
        using (var deactivate = await admin.SendRawAsync(HttpMethod.Put, $"/api/v1/users/{user.Id}",
                   JsonSerializer.Serialize(new { email = user.Email, displayName = user.DisplayName, role = user.Role, active = false }, Api.Json), stale))
        {
            await deactivate.ExpectAsync(HttpStatusCode.OK);
            Assert.NotEqual(stale, deactivate.ETag());
        }
        // The other admin's form still says active: its save is refused and the user stays deactivated.
        using (var undo = await admin.SendRawAsync(HttpMethod.Put, $"/api/v1/users/{user.Id}",
                   JsonSerializer.Serialize(new { email = user.Email, displayName = "Typo fixed", role = user.Role, active = true }, Api.Json), stale))
            Assert.Equal(HttpStatusCode.PreconditionFailed, undo.StatusCode);
        Assert.False((await admin.GetJsonAsync($"/api/v1/users/{user.Id}")).GetProperty("active").GetBoolean());
    }

    [Fact]
    public async Task Personal_access_token_works_until_revoked()
    {
        var user = await Fx.CreateUserAsync("Support");
        using var session = user.Client();
        var name = "ci-" + Unique.Word(6);
        var issued = await session.PostJsonAsync("/api/v1/tokens", new { name }, HttpStatusCode.Created);
        var secret = issued.Str("token");
        var id = issued.Id();

        // Listed by name and prefix, never with the secret.
        var list = await session.GetJsonAsync("/api/v1/tokens");
        var listed = Assert.Single(list.EnumerateArray(), t => t.Id() == id);
        Assert.Equal(name, listed.Str("name"));
        Assert.Equal("Personal", listed.Str("kind"));
        Assert.StartsWith(listed.Str("prefix"), secret, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, list.GetRawText(), StringComparison.Ordinal);

        using var withPat = Fx.ClientWithToken(secret);
        var me = await withPat.GetJsonAsync("/api/v1/me");
        Assert.Equal(user.Id, me.GetProperty("userId").GetGuid());
        await withPat.GetJsonAsync("/api/v1/customers");

        using (var revoke = await session.DeleteAsync($"/api/v1/tokens/{id}"))
            Assert.Equal(HttpStatusCode.NoContent, revoke.StatusCode);
        using var after = await withPat.GetAsync("/api/v1/customers");
        Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
        // The session token is a different token and keeps working.
        await session.GetJsonAsync("/api/v1/me");

        // Another user cannot revoke someone else's token.
        var other = await Fx.CreateUserAsync("Support");
        var otherToken = await session.PostJsonAsync("/api/v1/tokens", new { name = "second" }, HttpStatusCode.Created);
        using var otherClient = other.Client();
        using var refused = await otherClient.DeleteAsync($"/api/v1/tokens/{otherToken.Id()}");
        Assert.Equal(HttpStatusCode.NotFound, refused.StatusCode);
        using var stillValid = Fx.ClientWithToken(otherToken.Str("token"));
        await stillValid.GetJsonAsync("/api/v1/me");

        // Issuing and revoking are audited, by whom, without the secret.
        using var admin = Fx.Admin();
        var audit = (await admin.GetJsonAsync($"/api/v1/audit?entityType=api-token&entityId={id}")).Items().ToList();
        Assert.Equal(["revoked", "created"], audit.Select(e => e.Str("action")));
        Assert.All(audit, e => Assert.Equal(user.Id, e.GetProperty("userId").GetGuid()));
        Assert.DoesNotContain(secret, string.Join(" ", audit.Select(e => e.ToString())), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_token_request_without_email_is_a_400_naming_the_field()
    {
        using var anonymous = Fx.Anonymous();
        using var response = await anonymous.PostAsJsonAsync("/api/v1/auth/token", new { password = "x" });
        var errors = await response.ExpectValidationProblemAsync();
        Assert.Contains("email", errors.Keys);
    }
}

[Collection("sqlite")]
public sealed class SqliteAuthApiTests(SqliteFixture fx) : AuthApiTests(fx);

[Collection("postgres")]
public sealed class PostgresAuthApiTests(PostgresFixture fx) : AuthApiTests(fx);
