using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Kolo.Web.Tests.Infrastructure;

namespace Kolo.Web.Tests;

/// <summary>Duplicate detection on create (409), the duplicates endpoint, and merging.</summary>
public abstract class DuplicateApiTests(KoloAppFixture fx) : ApiTestBase(fx)
{
    private async Task<(JsonElement Body, IReadOnlyList<string> Reasons)> ExpectConflictAsync(Dictionary<string, object?> body, Guid existing)
    {
        using var admin = Fx.Admin();
        using var response = await admin.PostAsJsonAsync("/api/v1/customers", body, Api.Json);
        var problem = await response.ExpectAsync(HttpStatusCode.Conflict);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var candidate = Assert.Single(problem.GetProperty("candidates").EnumerateArray(), c => c.GetProperty("customer").Id() == existing);
        return (problem, candidate.GetProperty("reasons").EnumerateArray().Select(r => r.GetString()!).ToList());
    }

    private async Task<List<Guid>> FindByLastNameAsync(string lastName)
    {
        using var admin = Fx.Admin();
        return Ids(await admin.GetJsonAsync($"/api/v1/customers?q={lastName}&limit=500"));
    }

    [Fact]
    public async Task Same_email_in_another_case_is_a_409_with_the_candidate()
    {
        var email = Unique.Email();
        var first = Person();
        first["emails"] = new[] { new { address = email } };
        var existing = await CreateAsync(first);

        var again = Person();
        again["emails"] = new[] { new { address = Unique.Email() }, new { address = "  " + email.ToUpperInvariant() } };
        var (problem, reasons) = await ExpectConflictAsync(again, existing.Id());
        Assert.Contains(reasons, r => r.Contains("e-mail", StringComparison.OrdinalIgnoreCase) && r.Contains(email, StringComparison.Ordinal));
        Assert.Equal(0, problem.GetProperty("hiddenMatches").GetInt32());
        Assert.Empty(await FindByLastNameAsync((string)again["lastName"]!));

        var confirmed = await CreateAsync(again, allowDuplicate: true);
        Assert.NotEqual(existing.Id(), confirmed.Id());
    }

    [Fact]
    public async Task Same_phone_written_differently_is_a_409()
    {
        var digits = Unique.SubscriberDigits();
        var first = Person();
        first["phones"] = new[] { new { number = $"050{digits}" } };
        var existing = await CreateAsync(first);

        var again = Person();
        again["phones"] = new[] { new { number = $"+38 (050) {digits[..3]} {digits[3..]}" } };
        var (_, reasons) = await ExpectConflictAsync(again, existing.Id());
        Assert.Contains(reasons, r => r.Contains("phone", StringComparison.OrdinalIgnoreCase) && r.Contains($"+38050{digits}", StringComparison.Ordinal));
        await CreateAsync(again, allowDuplicate: true);
    }

    [Fact]
    public async Task Similar_name_and_same_birth_date_is_a_409_but_a_different_date_is_not()
    {
        var last = Unique.Name(9);
        var first = Person("Oleksandr", last);
        first["birthDate"] = "1984-02-29";
        var existing = await CreateAsync(first);

        // A typo in the first name, words in the other order, different contacts.
        var again = Person(last, "Oleksander");
        again["birthDate"] = "1984-02-29";
        var (_, reasons) = await ExpectConflictAsync(again, existing.Id());
        Assert.Contains("Similar name and same birth date", reasons);

        var otherDate = Person("Oleksander", last);
        otherDate["birthDate"] = "1984-03-01";
        await CreateAsync(otherDate);

        var differentName = Person("Mariia", last);
        differentName["birthDate"] = "1984-02-29";
        await CreateAsync(differentName);
    }

    [Fact]
    public async Task Similar_name_and_same_city_is_a_409_but_another_city_is_not()
    {
        var last = Unique.Name(9);
        var city = Unique.Name(8) + "sk";
        var first = Person("Kateryna", last);
        first["addresses"] = new[] { new { city } };
        var existing = await CreateAsync(first);

        var again = Person("Katerina", last);
        again["addresses"] = new[] { new { city = city.ToUpperInvariant() } };
        var (_, reasons) = await ExpectConflictAsync(again, existing.Id());
        Assert.Contains("Similar name and same city", reasons);

        var elsewhere = Person("Katerina", last);
        elsewhere["addresses"] = new[] { new { city = Unique.Name(8) + "grad" } };
        await CreateAsync(elsewhere);
    }

    [Fact]
    public async Task Duplicates_endpoint_lists_likely_duplicates_with_reasons()
    {
        using var admin = Fx.Admin();
        var email = Unique.Email();
        var last = Unique.Name(9);
        var a = Person("Bohdan", last);
        a["emails"] = new[] { new { address = email } };
        a["birthDate"] = "1990-01-15";
        var original = await CreateAsync(a);

        var b = Person("Bohdan", last);
        b["emails"] = new[] { new { address = email } };
        b["birthDate"] = "1990-01-15";
        var copy = await CreateAsync(b, allowDuplicate: true);
        var unrelated = await CreateAsync(Person());

        var duplicates = await admin.GetJsonAsync($"/api/v1/customers/{original.Id()}/duplicates");
        var candidate = Assert.Single(duplicates.EnumerateArray());
        Assert.Equal(copy.Id(), candidate.GetProperty("customer").Id());
        var reasons = candidate.GetProperty("reasons").EnumerateArray().Select(r => r.GetString()!).ToList();
        Assert.Contains(reasons, r => r.StartsWith("Same e-mail", StringComparison.Ordinal));
        Assert.Contains("Similar name and same birth date", reasons);

        Assert.Empty((await admin.GetJsonAsync($"/api/v1/customers/{unrelated.Id()}/duplicates")).EnumerateArray());
        await admin.GetJsonAsync($"/api/v1/customers/{Guid.CreateVersion7()}/duplicates", HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Merge_moves_links_and_tags_unites_contacts_and_archives_the_source()
    {
        using var admin = Fx.Admin();
        var last = Unique.Name(9);
        var sharedPhone = Unique.Phone();
        var tagT = "mt-" + Unique.Word(6);
        var tagS = "ms-" + Unique.Word(6);
        var targetEmail = Unique.Email();
        var sourceEmail = Unique.Email();

        var t = Person("Ivan", last);
        t["emails"] = new[] { new { address = targetEmail, label = "work" } };
        t["phones"] = new[] { new { number = sharedPhone, label = "mobile" } };
        t["tags"] = new[] { tagT };
        t["source"] = "web";
        var target = await CreateAsync(t);

        var s = Person("Ivan-Petro", last);
        s["emails"] = new[] { new { address = sourceEmail, label = "home" } };
        var otherDigits = Unique.SubscriberDigits();
        s["phones"] = new object[] { new { number = "+38" + sharedPhone, label = "old" }, new { number = "+38063" + otherDigits, label = "home" } };
        s["tags"] = new[] { tagS, tagT };
        s["source"] = "fair";
        s["birthDate"] = "1979-05-05";
        var source = await CreateAsync(s, allowDuplicate: true);

        var child = await CreateAsync(Person());
        var employer = await CreateAsync(new Dictionary<string, object?> { ["kind"] = "Company", ["companyName"] = Unique.Name() + " LLC" });
        await admin.PostJsonAsync($"/api/v1/customers/{source.Id()}/links", new { customerId = child.Id(), type = "ParentOf" }, HttpStatusCode.Created);
        await admin.PostJsonAsync($"/api/v1/customers/{source.Id()}/links", new { customerId = employer.Id(), type = "EmployeeOf" }, HttpStatusCode.Created);
        // A link between the two records themselves makes no sense after the merge.
        await admin.PostJsonAsync($"/api/v1/customers/{source.Id()}/links", new { customerId = target.Id(), type = "Spouse" }, HttpStatusCode.Created);

        var merged = await admin.PostJsonAsync($"/api/v1/customers/{target.Id()}/merge",
            new { sourceId = source.Id(), takeFromSource = new[] { "firstName" } }, HttpStatusCode.OK);

        Assert.Equal(target.Id(), merged.Id());
        Assert.Equal("Ivan-Petro", merged.Str("firstName"));          // taken from the source
        Assert.Equal("web", merged.Str("source"));                    // the target's value wins by default
        Assert.Equal("1979-05-05", merged.Str("birthDate"));          // the target had none
        Assert.Equal([targetEmail, sourceEmail], merged.GetProperty("emails").EnumerateArray().Select(e => e.Str("address")));
        Assert.Equal(["+38" + sharedPhone, "+38063" + otherDigits], merged.GetProperty("phones").EnumerateArray().Select(p => p.Str("number")));
        Assert.Equal(new[] { tagS, tagT }.Order(StringComparer.Ordinal), merged.GetProperty("tags").EnumerateArray().Select(x => x.GetString()!).Order(StringComparer.Ordinal));

        var links = (await admin.GetJsonAsync($"/api/v1/customers/{target.Id()}/links")).EnumerateArray()
            .ToDictionary(l => l.GetProperty("otherCustomerId").GetGuid(), l => l.Str("relation"));
        Assert.Equal(2, links.Count);
        Assert.Equal("child", links[child.Id()]);
        Assert.Equal("employer", links[employer.Id()]);
        var childLinks = (await admin.GetJsonAsync($"/api/v1/customers/{child.Id()}/links")).EnumerateArray().ToList();
        Assert.Equal(target.Id(), Assert.Single(childLinks).GetProperty("otherCustomerId").GetGuid());
        Assert.Empty((await admin.GetJsonAsync($"/api/v1/customers/{source.Id()}/links")).EnumerateArray());

        var oldRecord = await admin.GetJsonAsync($"/api/v1/customers/{source.Id()}");
        Assert.Equal(target.Id(), oldRecord.GetProperty("mergedIntoId").GetGuid());
        Assert.NotEqual(JsonValueKind.Null, oldRecord.GetProperty("archivedAt").ValueKind);
        Assert.DoesNotContain(source.Id(), await FindByLastNameAsync(last));
        Assert.Contains(target.Id(), Ids(await admin.GetJsonAsync($"/api/v1/customers?q={Uri.EscapeDataString(sourceEmail)}")));
        Assert.Contains(target.Id(), Ids(await admin.GetJsonAsync($"/api/v1/customers?tag={tagS}")));
        // The source keeps its own data (nothing is lost) and is listed among the archived.
        Assert.Equal([source.Id()], Ids(await admin.GetJsonAsync($"/api/v1/customers?tag={tagS}&archived=true")));

        var targetAudit = (await admin.GetJsonAsync($"/api/v1/audit?entityType=customer&entityId={target.Id()}")).Items().First();
        Assert.Equal("merged", targetAudit.Str("action"));
        var changes = targetAudit.GetProperty("changes").EnumerateArray().ToDictionary(c => c.Str("field"));
        Assert.Contains(source.Id().ToString(), changes["mergedFrom"].Str("new"), StringComparison.Ordinal);
        Assert.Equal("Ivan", changes["firstName"].Str("old"));
        Assert.Equal("Ivan-Petro", changes["firstName"].Str("new"));
        var sourceAudit = (await admin.GetJsonAsync($"/api/v1/audit?entityType=customer&entityId={source.Id()}")).Items().First();
        Assert.Equal("merged-into", sourceAudit.Str("action"));
        Assert.Equal(target.Id().ToString(), sourceAudit.GetProperty("changes")[0].Str("new"));

        // A merged record is finished: it cannot be merged again, restored or changed.
        using (var again = await admin.PostAsJsonAsync($"/api/v1/customers/{target.Id()}/merge", new { sourceId = source.Id() }))
            Assert.Contains("sourceId", (await again.ExpectValidationProblemAsync()).Keys);
        using (var restore = await admin.PostAsync($"/api/v1/customers/{source.Id()}/restore", null))
            await restore.ExpectValidationProblemAsync();
    }

    [Fact]
    public async Task Merge_refuses_merging_a_customer_into_itself_and_unknown_fields()
    {
        using var admin = Fx.Admin();
        var c = await CreateAsync(Person());
        var other = await CreateAsync(Person());
        using (var self = await admin.PostAsJsonAsync($"/api/v1/customers/{c.Id()}/merge", new { sourceId = c.Id() }))
            Assert.Contains("sourceId", (await self.ExpectValidationProblemAsync()).Keys);
        using (var unknown = await admin.PostAsJsonAsync($"/api/v1/customers/{c.Id()}/merge", new { sourceId = other.Id(), takeFromSource = new[] { "shoeSize" } }))
            Assert.Contains("takeFromSource", (await unknown.ExpectValidationProblemAsync()).Keys);
        using (var missing = await admin.PostAsJsonAsync($"/api/v1/customers/{c.Id()}/merge", new { }))
            Assert.Contains("sourceId", (await missing.ExpectValidationProblemAsync()).Keys);
        // Nothing happened to the other record.
        Assert.Equal(JsonValueKind.Null, (await admin.GetJsonAsync($"/api/v1/customers/{other.Id()}")).GetProperty("mergedIntoId").ValueKind);
    }
}

[Collection("sqlite")]
public sealed class SqliteDuplicateApiTests(SqliteFixture fx) : DuplicateApiTests(fx);

[Collection("postgres")]
public sealed class PostgresDuplicateApiTests(PostgresFixture fx) : DuplicateApiTests(fx);
