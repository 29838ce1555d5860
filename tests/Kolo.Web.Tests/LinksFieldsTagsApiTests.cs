using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Kolo.Web.Tests.Infrastructure;

namespace Kolo.Web.Tests;

/// <summary>Typed links read from both sides, admin-defined custom fields, tags.</summary>
public abstract class LinksFieldsTagsApiTests(KoloAppFixture fx) : ApiTestBase(fx)
{
    [Theory]
    [InlineData("ParentOf", "child", "parent")]
    [InlineData("EmployeeOf", "employer", "employee")]
    [InlineData("ReferredBy", "referrer", "referred")]
    [InlineData("Spouse", "spouse", "spouse")]
    [InlineData("HouseholdMember", "household-member", "household-member")]
    public async Task Links_are_shown_from_both_sides_with_the_relation_seen_from_each(string type, string fromSees, string toSees)
    {
        using var admin = Fx.Admin();
        var from = await CreateAsync(Person());
        var to = await CreateAsync(Person());
        var link = await admin.PostJsonAsync($"/api/v1/customers/{from.Id()}/links", new { customerId = to.Id(), type, note = "since 2020" }, HttpStatusCode.Created);
        Assert.Equal(type, link.Str("type"));

        var fromSide = Assert.Single((await admin.GetJsonAsync($"/api/v1/customers/{from.Id()}/links")).EnumerateArray());
        Assert.Equal(fromSees, fromSide.Str("relation"));
        Assert.Equal("outgoing", fromSide.Str("direction"));
        Assert.Equal(to.Id(), fromSide.GetProperty("otherCustomerId").GetGuid());
        Assert.Equal(to.Str("displayName"), fromSide.Str("otherCustomerName"));
        Assert.Equal("since 2020", fromSide.Str("note"));

        var toSide = Assert.Single((await admin.GetJsonAsync($"/api/v1/customers/{to.Id()}/links")).EnumerateArray());
        Assert.Equal(toSees, toSide.Str("relation"));
        Assert.Equal("incoming", toSide.Str("direction"));
        Assert.Equal(from.Id(), toSide.GetProperty("otherCustomerId").GetGuid());
        Assert.Equal(link.Id(), toSide.Id());
    }

    [Fact]
    public async Task Links_can_be_removed_from_either_side_and_bad_links_are_refused()
    {
        using var admin = Fx.Admin();
        var a = await CreateAsync(Person());
        var b = await CreateAsync(Person());
        var link = await admin.PostJsonAsync($"/api/v1/customers/{a.Id()}/links", new { customerId = b.Id(), type = "Spouse" }, HttpStatusCode.Created);

        using (var twice = await admin.PostAsJsonAsync($"/api/v1/customers/{a.Id()}/links", new { customerId = b.Id(), type = "Spouse" }))
            Assert.Contains("type", (await twice.ExpectValidationProblemAsync()).Keys);
        using (var self = await admin.PostAsJsonAsync($"/api/v1/customers/{a.Id()}/links", new { customerId = a.Id(), type = "Spouse" }))
            Assert.Contains("customerId", (await self.ExpectValidationProblemAsync()).Keys);
        using (var nobody = await admin.PostAsJsonAsync($"/api/v1/customers/{a.Id()}/links", new { customerId = Guid.CreateVersion7(), type = "Spouse" }))
            Assert.Contains("customerId", (await nobody.ExpectValidationProblemAsync()).Keys);
        using (var badType = await admin.PostAsJsonAsync($"/api/v1/customers/{a.Id()}/links", new { customerId = b.Id(), type = "BestFriend" }))
            Assert.Contains("type", (await badType.ExpectValidationProblemAsync()).Keys);

        using (var remove = await admin.DeleteAsync($"/api/v1/customers/{b.Id()}/links/{link.Id()}"))
            Assert.Equal(HttpStatusCode.NoContent, remove.StatusCode);
        Assert.Empty((await admin.GetJsonAsync($"/api/v1/customers/{a.Id()}/links")).EnumerateArray());
        Assert.Empty((await admin.GetJsonAsync($"/api/v1/customers/{b.Id()}/links")).EnumerateArray());
        var history = (await admin.GetJsonAsync($"/api/v1/audit?entityType=customer&entityId={a.Id()}")).Items().Select(e => e.Str("action"));
        Assert.Equal(["link-removed", "link-added", "created"], history);
    }

    [Fact]
    public async Task Admin_defines_custom_fields_and_values_are_validated_against_them()
    {
        using var admin = Fx.Admin();
        var suffix = Unique.Name(6);
        var text = await admin.PostJsonAsync("/api/v1/custom-fields", new { key = "card" + suffix, label = "Card " + suffix, type = "Text" }, HttpStatusCode.Created);
        var number = await admin.PostJsonAsync("/api/v1/custom-fields", new { key = "limit" + suffix, label = "Limit " + suffix, type = "Number" }, HttpStatusCode.Created);
        var date = await admin.PostJsonAsync("/api/v1/custom-fields", new { key = "since" + suffix, label = "Since " + suffix, type = "Date" }, HttpStatusCode.Created);
        var choice = await admin.PostJsonAsync("/api/v1/custom-fields", new { key = "tier" + suffix, label = "Tier " + suffix, type = "Choice", choices = new[] { "Gold", "Silver" } }, HttpStatusCode.Created);
        Assert.Equal("Choice", choice.Str("type"));
        var listed = (await admin.GetJsonAsync("/api/v1/custom-fields")).EnumerateArray().Select(f => f.Str("key")).ToList();
        Assert.Contains("tier" + suffix, listed);

        var body = Person();
        body["customFields"] = new Dictionary<string, object>
        {
            [text.Str("key")] = "  C-123  ", [number.Str("key")] = 1500.50m, [date.Str("key")] = "2024-02-29", [choice.Str("key")] = "Gold",
        };
        var created = await CreateAsync(body);
        var fields = created.GetProperty("customFields");
        Assert.Equal("C-123", fields.Str(text.Str("key")));
        Assert.Equal(JsonValueKind.Number, fields.GetProperty(number.Str("key")).ValueKind);
        Assert.Equal(1500.50m, fields.GetProperty(number.Str("key")).GetDecimal());
        Assert.Equal("2024-02-29", fields.Str(date.Str("key")));
        Assert.Equal("Gold", fields.Str(choice.Str("key")));

        var bad = Person();
        bad["customFields"] = new Dictionary<string, object>
        {
            [number.Str("key")] = "lots", [date.Str("key")] = "29.02.2024", [choice.Str("key")] = "Platinum", [text.Str("key")] = 42, ["nope" + suffix] = "x",
        };
        using var response = await admin.PostAsJsonAsync("/api/v1/customers", bad, Api.Json);
        var errors = await response.ExpectValidationProblemAsync();
        foreach (var key in new[] { number.Str("key"), date.Str("key"), choice.Str("key"), text.Str("key"), "nope" + suffix })
            Assert.Contains($"customFields.{key}", errors.Keys);

        // PATCH: change one value, clear another with null; the rest stay.
        var (_, etag) = await GetWithETagAsync(admin, created.Id());
        var patchBody = new Dictionary<string, object?> { ["customFields"] = new Dictionary<string, object?> { [choice.Str("key")] = "Silver", [text.Str("key")] = null } };
        using var patch = await admin.PatchAsync($"/api/v1/customers/{created.Id()}", patchBody, etag);
        var patched = (await patch.ExpectAsync(HttpStatusCode.OK)).GetProperty("customFields");
        Assert.Equal("Silver", patched.Str(choice.Str("key")));
        Assert.False(patched.TryGetProperty(text.Str("key"), out _));
        Assert.Equal(1500.50m, patched.GetProperty(number.Str("key")).GetDecimal());

        using var mismatch = await admin.PatchAsync($"/api/v1/customers/{created.Id()}",
            new Dictionary<string, object?> { ["customFields"] = new Dictionary<string, object?> { [date.Str("key")] = 20240229 } }, patch.ETag());
        Assert.Equal([$"customFields.{date.Str("key")}"], (await mismatch.ExpectValidationProblemAsync()).Keys);
    }

    [Fact]
    public async Task Custom_field_definitions_are_validated_and_only_admins_define_them()
    {
        using var admin = Fx.Admin();
        using (var noChoices = await admin.PostAsJsonAsync("/api/v1/custom-fields", new { key = "c" + Unique.Name(5), label = "C", type = "Choice" }))
            Assert.Contains("choices", (await noChoices.ExpectValidationProblemAsync()).Keys);
        using (var badKey = await admin.PostAsJsonAsync("/api/v1/custom-fields", new { key = "Bad Key", label = "C", type = "Text" }))
            Assert.Contains("key", (await badKey.ExpectValidationProblemAsync()).Keys);
        var key = "k" + Unique.Name(6);
        await admin.PostJsonAsync("/api/v1/custom-fields", new { key, label = "K", type = "Text" }, HttpStatusCode.Created);
        using (var again = await admin.PostAsJsonAsync("/api/v1/custom-fields", new { key, label = "K2", type = "Number" }))
            Assert.Contains("key", (await again.ExpectValidationProblemAsync()).Keys);

        foreach (var role in new[] { "Manager", "Sales", "Marketing", "Support" })
        {
            var user = await Fx.CreateUserAsync(role);
            using var client = user.Client();
            using var response = await client.PostAsJsonAsync("/api/v1/custom-fields", new { key = "x" + Unique.Name(6), label = "X", type = "Text" });
            await response.ExpectAsync(HttpStatusCode.Forbidden);
            // Everyone may read the definitions, to fill them in.
            await client.GetJsonAsync("/api/v1/custom-fields");
        }
        var keys = (await admin.GetJsonAsync("/api/v1/custom-fields")).EnumerateArray().Select(f => f.Str("key")).ToList();
        Assert.DoesNotContain(keys, k => k.StartsWith('x'));
    }

    [Fact]
    public async Task Tags_are_case_insensitive_counted_and_managed_by_allowed_roles()
    {
        using var admin = Fx.Admin();
        var name = "Vip-" + Unique.Word(6);
        var tag = await admin.PostJsonAsync("/api/v1/tags", new { name, color = "#1e88e5" }, HttpStatusCode.Created);
        using (var twice = await admin.PostAsJsonAsync("/api/v1/tags", new { name = name.ToUpperInvariant() }))
            Assert.Contains("name", (await twice.ExpectValidationProblemAsync()).Keys);
        using (var badColour = await admin.PostAsJsonAsync("/api/v1/tags", new { name = "c" + Unique.Word(), color = "blue" }))
            Assert.Contains("color", (await badColour.ExpectValidationProblemAsync()).Keys);

        var body = Person();
        body["tags"] = new[] { name.ToLowerInvariant(), name };
        var created = await CreateAsync(body);
        Assert.Equal([name], created.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));

        var listed = Assert.Single((await admin.GetJsonAsync($"/api/v1/tags?q={name[..6].ToUpperInvariant()}")).EnumerateArray());
        Assert.Equal(tag.Id(), listed.Id());
        Assert.Equal(1, listed.GetProperty("customers").GetInt32());
        Assert.Equal("#1e88e5", listed.Str("color"));

        // Removing the tag from the customer with PATCH.
        var (_, etag) = await GetWithETagAsync(admin, created.Id());
        using var patch = await admin.PatchAsync($"/api/v1/customers/{created.Id()}", new { tags = Array.Empty<string>() }, etag);
        Assert.Empty((await patch.ExpectAsync(HttpStatusCode.OK)).GetProperty("tags").EnumerateArray());
        Assert.Empty(Ids(await admin.GetJsonAsync($"/api/v1/customers?tag={name}")));

        var marketing = await Fx.CreateUserAsync("Marketing");
        using (var m = marketing.Client())
            await m.PostJsonAsync("/api/v1/tags", new { name = "m-" + Unique.Word() }, HttpStatusCode.Created);
        var sales = await Fx.CreateUserAsync("Sales");
        using (var s = sales.Client())
        {
            using var refused = await s.PostAsJsonAsync("/api/v1/tags", new { name = "s-" + Unique.Word() });
            await refused.ExpectAsync(HttpStatusCode.Forbidden);
            using var archive = await s.DeleteAsync($"/api/v1/tags/{tag.Id()}");
            await archive.ExpectAsync(HttpStatusCode.Forbidden);
        }
        using (var archive = await admin.DeleteAsync($"/api/v1/tags/{tag.Id()}"))
            Assert.Equal(HttpStatusCode.NoContent, archive.StatusCode);
        Assert.Empty((await admin.GetJsonAsync($"/api/v1/tags?q={name}")).EnumerateArray());
        Assert.Single((await admin.GetJsonAsync($"/api/v1/tags?q={name}&includeArchived=true")).EnumerateArray());
    }
}

[Collection("sqlite")]
public sealed class SqliteLinksFieldsTagsApiTests(SqliteFixture fx) : LinksFieldsTagsApiTests(fx);

[Collection("postgres")]
public sealed class PostgresLinksFieldsTagsApiTests(PostgresFixture fx) : LinksFieldsTagsApiTests(fx);
