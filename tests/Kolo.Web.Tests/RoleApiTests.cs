using System.Net;
using System.Net.Http.Json;
using Kolo.Web.Tests.Infrastructure;

namespace Kolo.Web.Tests;

/// <summary>Every role refusal the issue lists, each next to the allowed case so the refusal is specific.</summary>
public abstract class RoleApiTests(KoloAppFixture fx) : ApiTestBase(fx)
{
    [Fact]
    public async Task Sales_sees_only_own_customers_until_a_manager_grants_all()
    {
        var sales = await Fx.CreateUserAsync("Sales");
        var otherSales = await Fx.CreateUserAsync("Sales");
        var manager = await Fx.CreateUserAsync("Manager");
        var last = Unique.Name(10);

        var mineBody = Person(null, last);
        mineBody["ownerId"] = sales.Id;
        var mine = await CreateAsync(mineBody);
        var theirsBody = Person(null, last);
        theirsBody["ownerId"] = otherSales.Id;
        var theirs = await CreateAsync(theirsBody);

        using var client = sales.Client();
        await client.GetJsonAsync($"/api/v1/customers/{mine.Id()}");
        await client.GetJsonAsync($"/api/v1/customers/{theirs.Id()}", HttpStatusCode.NotFound);
        Assert.Equal([mine.Id()], Ids(await client.GetJsonAsync($"/api/v1/customers?q={last}")));
        await client.GetJsonAsync($"/api/v1/customers/{theirs.Id()}/links", HttpStatusCode.NotFound);
        // A link from their own customer to a colleague's does not reveal the colleague's customer.
        using (var admin = Fx.Admin())
            await admin.PostJsonAsync($"/api/v1/customers/{mine.Id()}/links", new { customerId = theirs.Id(), type = "Spouse" }, HttpStatusCode.Created);
        Assert.Empty((await client.GetJsonAsync($"/api/v1/customers/{mine.Id()}/links")).EnumerateArray());
        await client.GetJsonAsync($"/api/v1/audit?entityType=customer&entityId={theirs.Id()}", HttpStatusCode.NotFound);
        using (var patch = await client.PatchAsync($"/api/v1/customers/{theirs.Id()}", new { source = "x" }, $"\"{Guid.NewGuid():N}\""))
            await patch.ExpectAsync(HttpStatusCode.NotFound);
        using (var archive = await client.DeleteAsync($"/api/v1/customers/{theirs.Id()}"))
            await archive.ExpectAsync(HttpStatusCode.NotFound);

        // A customer Sales creates is theirs without saying so.
        var own = await CreateAsync(Person(null, last), client);
        Assert.Equal(sales.Id, own.GetProperty("ownerId").GetGuid());

        // A duplicate of someone else's customer is reported without revealing it.
        var copy = Person();
        copy["emails"] = theirsBody["emails"];
        using (var conflict = await client.PostAsJsonAsync("/api/v1/customers", copy, Api.Json))
        {
            var problem = await conflict.ExpectAsync(HttpStatusCode.Conflict);
            Assert.Empty(problem.GetProperty("candidates").EnumerateArray());
            Assert.Equal(1, problem.GetProperty("hiddenMatches").GetInt32());
        }

        using (var managerClient = manager.Client())
        {
            var updated = await managerClient.PutJsonAsync($"/api/v1/users/{sales.Id}",
                new { email = sales.Email, displayName = sales.DisplayName, role = "Sales", customerAccess = "All" }, HttpStatusCode.OK);
            Assert.Equal("All", updated.Str("customerAccess"));
        }

        // The same token now sees everything: access is read per request, not frozen into the token.
        await client.GetJsonAsync($"/api/v1/customers/{theirs.Id()}");
        Assert.Equal(3, Ids(await client.GetJsonAsync($"/api/v1/customers?q={last}")).Count);
    }

    [Fact]
    public async Task Sales_with_team_access_sees_the_teams_customers_but_not_other_teams()
    {
        var team = "team-" + Unique.Word(6);
        var sales = await Fx.CreateUserAsync("Sales", "Team", team);
        var teammate = await Fx.CreateUserAsync("Sales", "Own", team);
        var outsider = await Fx.CreateUserAsync("Sales", "Own", "other-" + Unique.Word(6));
        var last = Unique.Name(10);
        var ours = Person(null, last);
        ours["ownerId"] = teammate.Id;
        var teammates = await CreateAsync(ours);
        var theirs = Person(null, last);
        theirs["ownerId"] = outsider.Id;
        var outsiders = await CreateAsync(theirs);

        using var client = sales.Client();
        Assert.Equal([teammates.Id()], Ids(await client.GetJsonAsync($"/api/v1/customers?q={last}")));
        await client.GetJsonAsync($"/api/v1/customers/{outsiders.Id()}", HttpStatusCode.NotFound);
        // The teammate with Own access does not see the team's other customers.
        using var teammateClient = teammate.Client();
        var mine = await CreateAsync(Person(null, last), client);
        await teammateClient.GetJsonAsync($"/api/v1/customers/{mine.Id()}", HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task A_manager_may_change_only_the_access_of_Sales_users()
    {
        var manager = await Fx.CreateUserAsync("Manager");
        var support = await Fx.CreateUserAsync("Support");
        var sales = await Fx.CreateUserAsync("Sales");
        using var client = manager.Client();
        await client.PutJsonAsync($"/api/v1/users/{sales.Id}",
            new { email = sales.Email, displayName = sales.DisplayName, role = "Admin", customerAccess = "All" }, HttpStatusCode.Forbidden);
        await client.PutJsonAsync($"/api/v1/users/{support.Id}",
            new { email = support.Email, displayName = support.DisplayName, role = "Support", customerAccess = "All" }, HttpStatusCode.Forbidden);
        // What a manager may do: widen a Sales user's access.
        await client.PutJsonAsync($"/api/v1/users/{sales.Id}",
            new { email = sales.Email, displayName = sales.DisplayName, role = "Sales", customerAccess = "Team", team = "Kyiv" }, HttpStatusCode.OK);
        using var admin = Fx.Admin();
        var view = await admin.GetJsonAsync($"/api/v1/users/{sales.Id}");
        Assert.Equal("Sales", view.Str("role"));
        Assert.Equal("Team", view.Str("customerAccess"));
    }

    [Fact]
    public async Task Support_reads_all_and_changes_contact_data_only()
    {
        var support = await Fx.CreateUserAsync("Support");
        var owner = await Fx.CreateUserAsync("Sales");
        var body = Person();
        body["ownerId"] = owner.Id;
        var customer = await CreateAsync(body);
        using var client = support.Client();

        var (_, etag) = await GetWithETagAsync(client, customer.Id());
        var newEmail = Unique.Email();
        string afterContact;
        using (var contact = await client.PatchAsync($"/api/v1/customers/{customer.Id()}",
                   new { emails = new[] { new { address = newEmail } }, phones = new[] { new { number = Unique.Phone() } } }, etag))
        {
            var updated = await contact.ExpectAsync(HttpStatusCode.OK);
            Assert.Equal(newEmail, updated.GetProperty("emails")[0].Str("address"));
            afterContact = contact.ETag();
        }
        using (var name = await client.PatchAsync($"/api/v1/customers/{customer.Id()}", new { lastName = "Changed" }, afterContact))
        {
            var problem = await name.ExpectAsync(HttpStatusCode.Forbidden);
            Assert.Equal("application/problem+json", name.Content.Headers.ContentType?.MediaType);
            Assert.Contains("lastName", problem.Str("detail"), StringComparison.Ordinal);
        }
        using (var mixed = await client.PatchAsync($"/api/v1/customers/{customer.Id()}", new { emails = Array.Empty<object>(), status = "Lapsed" }, afterContact))
            await mixed.ExpectAsync(HttpStatusCode.Forbidden);
        var (read, _) = await GetWithETagAsync(client, customer.Id());
        Assert.Equal(customer.Str("lastName"), read.Str("lastName"));
        Assert.Equal(newEmail, read.GetProperty("emails")[0].Str("address"));

        using (var create = await client.PostAsJsonAsync("/api/v1/customers", Person(), Api.Json))
            await create.ExpectAsync(HttpStatusCode.Forbidden);
        using (var archive = await client.DeleteAsync($"/api/v1/customers/{customer.Id()}"))
            await archive.ExpectAsync(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task Marketing_changes_marketing_fields_but_cannot_archive()
    {
        var marketing = await Fx.CreateUserAsync("Marketing");
        var customer = await CreateAsync(Person());
        using var client = marketing.Client();
        var (_, etag) = await GetWithETagAsync(client, customer.Id());
        using (var ok = await client.PatchAsync($"/api/v1/customers/{customer.Id()}", new { status = "Lead", tags = new[] { "campaign-" + Unique.Word(5) } }, etag))
            await ok.ExpectAsync(HttpStatusCode.OK);
        using (var archive = await client.DeleteAsync($"/api/v1/customers/{customer.Id()}"))
            await archive.ExpectAsync(HttpStatusCode.Forbidden);
        using (var name = await client.PatchAsync($"/api/v1/customers/{customer.Id()}", new { firstName = "X" }, etag))
            await name.ExpectAsync(HttpStatusCode.Forbidden);
        using var admin = Fx.Admin();
        var read = await admin.GetJsonAsync($"/api/v1/customers/{customer.Id()}");
        Assert.Equal(System.Text.Json.JsonValueKind.Null, read.GetProperty("archivedAt").ValueKind);
        Assert.Equal("Lead", read.Str("status"));
    }

    [Fact]
    public async Task Only_admins_create_users()
    {
        foreach (var role in new[] { "Manager", "Sales", "Support" })
        {
            var user = await Fx.CreateUserAsync(role);
            using var client = user.Client();
            var email = $"new-{Unique.Word()}@test.kolo";
            using var response = await client.PostAsJsonAsync("/api/v1/users",
                new { email, displayName = "New", role = "Admin", password = KoloAppFixture.UserPassword });
            await response.ExpectAsync(HttpStatusCode.Forbidden);
            using var anonymous = Fx.Anonymous();
            using var token = await anonymous.PostAsJsonAsync("/api/v1/auth/token", new { email, password = KoloAppFixture.UserPassword });
            Assert.Equal(HttpStatusCode.Unauthorized, token.StatusCode);
        }
        var sales = await Fx.CreateUserAsync("Sales");
        using var salesClient = sales.Client();
        await salesClient.GetJsonAsync("/api/v1/users", HttpStatusCode.Forbidden);
        await salesClient.GetJsonAsync("/api/v1/audit", HttpStatusCode.BadRequest);

        using var admin = Fx.Admin();
        using var weak = await admin.PostAsJsonAsync("/api/v1/users", new { email = $"weak-{Unique.Word()}@test.kolo", displayName = "Weak", role = "Sales", password = "short" });
        Assert.Contains("password", (await weak.ExpectValidationProblemAsync()).Keys);
    }
}

[Collection("sqlite")]
public sealed class SqliteRoleApiTests(SqliteFixture fx) : RoleApiTests(fx);

[Collection("postgres")]
public sealed class PostgresRoleApiTests(PostgresFixture fx) : RoleApiTests(fx);
