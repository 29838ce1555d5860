using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Kolo.Core.Data;
using Kolo.Web.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Kolo.Web.Tests;

/// <summary>The segments API: validation that names each field, roles, If-Match, the list, and static lists from a CSV.</summary>
public abstract class SegmentApiTests(KoloAppFixture fx) : ApiTestBase(fx)
{
    private static object Rules(string name, params object[] conditions) => new { name, kind = "Rules", definition = new { match = "All", conditions } };

    [Fact]
    public async Task Validation_names_every_invalid_field()
    {
        using var admin = Fx.Admin();
        var body = new
        {
            name = "",
            kind = "Rules",
            definition = new
            {
                match = "All",
                conditions = new object[]
                {
                    new { field = "status", @operator = "in", values = new[] { "Customer" } },
                    new { field = "shoeSize", @operator = "in", values = new[] { "42" } },
                    new { field = "status", @operator = "between", values = new[] { "1", "2" } },
                    new { field = "status", @operator = "in", values = new[] { "Nobody" } },
                    new { field = "age", @operator = "between", values = new[] { "40", "30" } },
                    new { field = "custom", @operator = "equals", values = new[] { "x" } },
                    new { field = "createdAt", @operator = "between", values = Array.Empty<string>() },
                    new { field = "lastPurchase", @operator = "before", values = new[] { "soon" } },
                    new { field = "clv", @operator = "between", values = new[] { "many", "" } },
                    new { field = "tag", @operator = "any", values = new[] { "not-a-guid" } },
                },
            },
        };
        using var response = await admin.SendRawAsync(HttpMethod.Post, "/api/v1/segments", JsonSerializer.Serialize(body, Api.Json));
        var errors = await response.ExpectValidationProblemAsync();
        Assert.Contains("name", errors.Keys);
        foreach (var key in new[] { "definition.conditions[1].field", "definition.conditions[2].operator", "definition.conditions[3].values", "definition.conditions[4].values",
                     "definition.conditions[5].key", "definition.conditions[6].from", "definition.conditions[7].values", "definition.conditions[8].values", "definition.conditions[9].values" })
            Assert.True(errors.ContainsKey(key), $"{key} missing from {string.Join(", ", errors.Keys)}");
        Assert.DoesNotContain("definition.conditions[0].values", errors.Keys);
        // The live count validates the same way.
        using var count = await admin.SendRawAsync(HttpMethod.Post, "/api/v1/segments/count", JsonSerializer.Serialize(new { kind = "Rules", body.definition }, Api.Json));
        Assert.Contains("definition.conditions[1].field", (await count.ExpectValidationProblemAsync()).Keys);
    }

    [Fact]
    public async Task Marketing_manages_segments_sales_and_support_are_refused()
    {
        var marketing = await Fx.CreateUserAsync("Marketing");
        var sales = await Fx.CreateUserAsync("Sales", "All");
        var support = await Fx.CreateUserAsync("Support");
        using var m = marketing.Client();
        var created = await m.PostJsonAsync("/api/v1/segments", Rules("M " + Unique.Word(), new { field = "status", @operator = "in", values = new[] { "Lead" } }), HttpStatusCode.Created);
        await m.GetJsonAsync($"/api/v1/segments/{created.Id()}/members");
        foreach (var user in new[] { sales, support })
        {
            using var c = user.Client();
            await c.GetJsonAsync("/api/v1/segments", HttpStatusCode.Forbidden);
            await c.GetJsonAsync($"/api/v1/segments/{created.Id()}", HttpStatusCode.Forbidden);
            await c.GetJsonAsync($"/api/v1/segments/{created.Id()}/members", HttpStatusCode.Forbidden);
            await c.PostJsonAsync("/api/v1/segments", Rules("X"), HttpStatusCode.Forbidden);
            await c.PostJsonAsync("/api/v1/segments/count", new { kind = "Rules", definition = new { } }, HttpStatusCode.Forbidden);
        }
        using var anonymous = Fx.Anonymous();
        await anonymous.GetJsonAsync("/api/v1/segments", HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Update_needs_the_current_version_and_archive_restore_round_trip()
    {
        using var admin = Fx.Admin();
        var name = "V " + Unique.Word();
        using var created = await admin.SendRawAsync(HttpMethod.Post, "/api/v1/segments", JsonSerializer.Serialize(Rules(name), Api.Json));
        var body = await created.ExpectAsync(HttpStatusCode.Created);
        var etag = created.ETag();
        var id = body.Id();
        Assert.Equal($"/api/v1/segments/{id}", created.Headers.Location?.ToString());
        var update = JsonSerializer.Serialize(Rules(name + " 2", new { field = "kind", @operator = "in", values = new[] { "Company" } }), Api.Json);
        using (var missing = await admin.SendRawAsync(HttpMethod.Put, $"/api/v1/segments/{id}", update))
            Assert.Equal(HttpStatusCode.PreconditionRequired, missing.StatusCode);
        using (var ok = await admin.SendRawAsync(HttpMethod.Put, $"/api/v1/segments/{id}", update, etag))
        {
            var updated = await ok.ExpectAsync(HttpStatusCode.OK);
            Assert.Equal(name + " 2", updated.Str("name"));
            Assert.NotEqual(etag, ok.ETag());
        }
        using (var stale = await admin.SendRawAsync(HttpMethod.Put, $"/api/v1/segments/{id}", update, etag))
            await stale.ExpectAsync(HttpStatusCode.PreconditionFailed);
        using (var archived = await admin.DeleteAsync($"/api/v1/segments/{id}"))
            await archived.ExpectAsync(HttpStatusCode.NoContent);
        Assert.DoesNotContain(id, Ids(await admin.GetJsonAsync("/api/v1/segments?limit=500&q=" + Uri.EscapeDataString(name))));
        Assert.Contains(id, Ids(await admin.GetJsonAsync("/api/v1/segments?limit=500&includeArchived=true&q=" + Uri.EscapeDataString(name))));
        await admin.PostJsonAsync($"/api/v1/segments/{id}/restore", new { }, HttpStatusCode.OK);
        Assert.Contains(id, Ids(await admin.GetJsonAsync("/api/v1/segments?limit=500&q=" + Uri.EscapeDataString(name))));
        var audit = await admin.GetJsonAsync($"/api/v1/audit?entityType=segment&entityId={id}");
        Assert.True(audit.Items().Count() >= 4, audit.ToString());
    }

    [Fact]
    public async Task List_searches_sorts_and_pages()
    {
        using var admin = Fx.Admin();
        var word = Unique.Word(8);
        var ids = new List<Guid>();
        foreach (var n in new[] { "c", "a", "e", "b", "d" })
            ids.Add((await admin.PostJsonAsync("/api/v1/segments", Rules($"{word} {n}"), HttpStatusCode.Created)).Id());
        var names = new List<string>();
        string? cursor = null;
        do
        {
            var page = await admin.GetJsonAsync($"/api/v1/segments?q={word.ToUpperInvariant()}&sort=name&limit=2" + (cursor is null ? "" : "&cursor=" + cursor));
            names.AddRange(page.Items().Select(i => i.Str("name")));
            cursor = page.GetProperty("nextCursor").GetString();
        } while (cursor is not null);
        Assert.Equal(new[] { "a", "b", "c", "d", "e" }.Select(n => $"{word} {n}"), names);
        var updated = new List<Guid>();
        cursor = null;
        do
        {
            var page = await admin.GetJsonAsync($"/api/v1/segments?q={word}&sort=updated&limit=3" + (cursor is null ? "" : "&cursor=" + cursor));
            updated.AddRange(Ids(page));
            cursor = page.GetProperty("nextCursor").GetString();
        } while (cursor is not null);
        Assert.Equal(Enumerable.Reverse(ids), updated);
        using var bad = await admin.GetAsync("/api/v1/segments?sort=size");
        Assert.Contains("sort", (await bad.ExpectValidationProblemAsync()).Keys);
    }

    [Fact]
    public async Task Static_list_from_a_csv_of_ids_emails_and_external_ids_reports_rejected_rows()
    {
        using var admin = Fx.Admin();
        var a = await CreateAsync(Person());
        var b = await CreateAsync(Person());
        var c = await CreateAsync(Person());
        // External ids come from imports; set one the way an import would leave it.
        var external = "EXT-" + Unique.Word(8);
        var factory = Fx.Factory.Services.GetRequiredService<IDbContextFactory<KoloDb>>();
        await using (var db = await factory.CreateDbContextAsync())
            await db.Customers.Where(x => x.Id == c.Id()).ExecuteUpdateAsync(u => u.SetProperty(x => x.ExternalId, external));
        var bEmail = b.GetProperty("emails")[0].Str("address");
        var list = await admin.PostJsonAsync("/api/v1/segments", new { name = "List " + Unique.Word(), kind = "Static" }, HttpStatusCode.Created);
        var csv = $"id\n{a.Id()}\n\"{bEmail.ToUpperInvariant()}\"\n{external}\nnobody@example.invalid\n{Guid.NewGuid()}\n\n{a.Id()}\n";
        using var content = new MultipartFormDataContent();
        var file = new ByteArrayContent(Encoding.UTF8.GetBytes(csv));
        file.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
        content.Add(file, "file", "members.csv");
        using var response = await admin.PostAsync($"/api/v1/segments/{list.Id()}/members/import", content);
        var result = await response.ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(3, result.GetProperty("added").GetInt32());
        var rejected = result.GetProperty("rejected").EnumerateArray().ToList();
        Assert.Equal(2, rejected.Count);
        Assert.Equal(5, rejected[0].GetProperty("row").GetInt32());
        Assert.Equal("nobody@example.invalid", rejected[0].Str("value"));
        Assert.Equal(6, rejected[1].GetProperty("row").GetInt32());
        var members = Ids(await admin.GetJsonAsync($"/api/v1/segments/{list.Id()}/members"));
        Assert.Equal(new[] { a.Id(), b.Id(), c.Id() }.Order(), members.Order());
        // The live count of the list being edited counts its members (and what the edit includes).
        var live = await admin.PostJsonAsync($"/api/v1/segments/count?segmentId={list.Id()}", new { kind = "Static", definition = new { } }, HttpStatusCode.OK);
        Assert.Equal(3, live.GetProperty("count").GetInt32());
        // The same file again adds nobody; a plain text/csv body works too.
        using var again = await admin.SendRawAsync(HttpMethod.Post, $"/api/v1/segments/{list.Id()}/members/import", csv, contentType: "text/csv");
        var second = await again.ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(0, second.GetProperty("added").GetInt32());
        Assert.Equal(3, second.GetProperty("alreadyMembers").GetInt32());
        // A rule segment has no list.
        var rules = await admin.PostJsonAsync("/api/v1/segments", Rules("R " + Unique.Word()), HttpStatusCode.Created);
        using var refused = await admin.SendRawAsync(HttpMethod.Post, $"/api/v1/segments/{rules.Id()}/members", JsonSerializer.Serialize(new { customerIds = new[] { a.Id() } }, Api.Json));
        Assert.Contains("kind", (await refused.ExpectValidationProblemAsync()).Keys);
        // Archived customers are not members.
        using (var archive = await admin.DeleteAsync($"/api/v1/customers/{a.Id()}")) Assert.True(archive.IsSuccessStatusCode);
        Assert.Equal(2, (await admin.GetJsonAsync($"/api/v1/segments/{list.Id()}/count")).GetProperty("count").GetInt32());
    }
}

[Collection("sqlite")]
public sealed class SqliteSegmentApiTests(SqliteFixture fx) : SegmentApiTests(fx);

[Collection("postgres")]
public sealed class PostgresSegmentApiTests(PostgresFixture fx) : SegmentApiTests(fx);
