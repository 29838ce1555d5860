using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Kolo.Core.Customers;
using Kolo.Core.Data;
using Kolo.Web.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Kolo.Web.Tests;

/// <summary>Create, read, change (with ETags), validation, archive and restore, history.</summary>
public abstract class CustomerApiTests(KoloAppFixture fx) : ApiTestBase(fx)
{
    [Fact]
    public async Task Create_answers_201_with_Location_and_ETag_and_GET_returns_the_same_version()
    {
        using var admin = Fx.Admin();
        var body = Person("Olena", Unique.Name());
        body["birthDate"] = "1988-04-12";
        body["status"] = "Lead";
        body["annualIncome"] = new { amount = 123456.78m, currency = "UAH" };
        body["addresses"] = new[] { new { label = "home", line1 = "Khreshchatyk 1", city = "Kyiv", country = "ua" } };
        using var response = await admin.PostAsJsonAsync("/api/v1/customers", body, Api.Json);
        var created = await response.ExpectAsync(HttpStatusCode.Created);
        var id = created.Id();
        Assert.Equal($"/api/v1/customers/{id}", response.Headers.Location?.OriginalString);
        var etag = response.ETag();
        Assert.Matches("^\"[0-9a-f]{32}\"$", etag);

        Assert.Equal($"Olena {body["lastName"]}", created.Str("displayName"));
        Assert.Equal("Lead", created.Str("status"));
        Assert.Equal("1988-04-12", created.Str("birthDate"));
        Assert.Equal(123456.78m, created.GetProperty("annualIncome").GetProperty("amount").GetDecimal());
        Assert.Equal("UA", created.GetProperty("addresses")[0].Str("country"));

        var (read, readETag) = await GetWithETagAsync(admin, id);
        Assert.Equal(etag, readETag);
        Assert.Equal(created.Str("displayName"), read.Str("displayName"));
        Assert.Equal(((dynamic[])body["emails"]!)[0].address, read.GetProperty("emails")[0].Str("address"));
    }

    [Fact]
    public async Task A_254_character_email_is_stored_and_found_and_a_cursor_of_another_sort_is_a_400()
    {
        using var admin = Fx.Admin();
        var local = Unique.Word(10) + new string('x', 180);
        var address = $"{local}@example.com";
        var body = Person();
        body["emails"] = new[] { new { address } };
        var created = await CreateAsync(body);
        var found = await admin.GetJsonAsync($"/api/v1/customers?q={Uri.EscapeDataString(address)}");
        Assert.Equal([created.Id()], found.Items().Select(i => i.Id()));

        var page = await admin.GetJsonAsync("/api/v1/customers?limit=1");
        using var wrongSort = await admin.GetAsync($"/api/v1/customers?sort=createdAt&cursor={page.Str("nextCursor")}");
        Assert.Equal(["cursor"], (await wrongSort.ExpectValidationProblemAsync()).Keys);
    }

    [Fact]
    public async Task A_required_custom_field_does_not_stop_kolo_creating_a_prospect_from_a_call()
    {
        using var admin = Fx.Admin();
        var key = "card" + Unique.Word(6);
        var field = await admin.PostJsonAsync("/api/v1/custom-fields", new { key, label = "Loyalty card", type = "Text", required = true }, HttpStatusCode.Created);
        try
        {
            // A person must fill it in; a call from an unknown number still becomes a contact with a new prospect.
            using (var refused = await admin.PostAsJsonAsync("/api/v1/customers", Person(), Api.Json))
                Assert.Contains($"customFields.{key}", (await refused.ExpectValidationProblemAsync()).Keys);
            var call = await admin.PostJsonAsync("/api/v1/interactions", new
            {
                type = "Call", phone = Unique.Phone(), name = "Nina " + Unique.Name(), externalSource = "pbx", externalId = "c-" + Unique.Word(10),
            }, HttpStatusCode.Created);
            Assert.True(call.GetProperty("customerCreated").GetBoolean());
        }
        finally
        {
            using var archived = await admin.DeleteAsync($"/api/v1/custom-fields/{field.Id()}");
        }
    }

    [Fact]
    public async Task Unknown_id_is_404_problem()
    {
        using var admin = Fx.Admin();
        using var response = await admin.GetAsync($"/api/v1/customers/{Guid.CreateVersion7()}");
        await response.ExpectAsync(HttpStatusCode.NotFound);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Phones_are_stored_in_E164_with_Ukraine_as_the_default_region()
    {
        var digits = Unique.SubscriberDigits();
        var other = Unique.SubscriberDigits();
        var body = Person();
        body["phones"] = new object[]
        {
            new { number = $"(050) {digits[..3]}-{digits[3..5]}-{digits[5..]}", label = "mobile" },
            new { number = $"+38 067 {other}", label = "work" },
        };
        var created = await CreateAsync(body);
        var phones = created.GetProperty("phones").EnumerateArray().Select(p => p.Str("number")).ToList();
        Assert.Equal([$"+38050{digits}", $"+38067{other}"], phones);
        Assert.Equal("mobile", created.GetProperty("phones")[0].Str("label"));
    }

    [Fact]
    public async Task Patch_requires_If_Match_refuses_a_stale_ETag_and_returns_a_new_ETag()
    {
        using var admin = Fx.Admin();
        var created = await CreateAsync(Person());
        var id = created.Id();
        var (_, etag) = await GetWithETagAsync(admin, id);

        using (var missing = await admin.PatchAsync($"/api/v1/customers/{id}", new { source = "fair" }, ifMatch: null))
        {
            await missing.ExpectAsync((HttpStatusCode)428);
            Assert.Equal("application/problem+json", missing.Content.Headers.ContentType?.MediaType);
        }

        string newETag;
        using (var ok = await admin.PatchAsync($"/api/v1/customers/{id}", new { source = "fair" }, etag))
        {
            var updated = await ok.ExpectAsync(HttpStatusCode.OK);
            Assert.Equal("fair", updated.Str("source"));
            newETag = ok.ETag();
            Assert.NotEqual(etag, newETag);
            // Fields not in the body are left as they were.
            Assert.Equal(created.Str("lastName"), updated.Str("lastName"));
            Assert.Equal(created.GetProperty("emails").GetRawText(), updated.GetProperty("emails").GetRawText());
        }

        using (var stale = await admin.PatchAsync($"/api/v1/customers/{id}", new { source = "web" }, etag))
        {
            await stale.ExpectAsync(HttpStatusCode.PreconditionFailed);
            Assert.Equal("application/problem+json", stale.Content.Headers.ContentType?.MediaType);
        }
        using (var garbage = await admin.PatchAsync($"/api/v1/customers/{id}", new { source = "web" }, "\"not-a-version\""))
            await garbage.ExpectAsync(HttpStatusCode.PreconditionFailed);

        var (read, readETag) = await GetWithETagAsync(admin, id);
        Assert.Equal("fair", read.Str("source"));
        Assert.Equal(newETag, readETag);
    }

    [Fact]
    public async Task Archive_with_a_stale_If_Match_is_412_and_leaves_the_customer_active()
    {
        using var admin = Fx.Admin();
        var created = await CreateAsync(Person());
        var (_, etag) = await GetWithETagAsync(admin, created.Id());
        using (var patch = await admin.PatchAsync($"/api/v1/customers/{created.Id()}", new { source = "phone" }, etag))
            await patch.ExpectAsync(HttpStatusCode.OK);
        using var request = new HttpRequestMessage(HttpMethod.Delete, $"/api/v1/customers/{created.Id()}");
        request.Headers.TryAddWithoutValidation("If-Match", etag);
        using var response = await admin.SendAsync(request);
        await response.ExpectAsync(HttpStatusCode.PreconditionFailed);
        Assert.Equal(JsonValueKind.Null, (await admin.GetJsonAsync($"/api/v1/customers/{created.Id()}")).GetProperty("archivedAt").ValueKind);
    }

    [Fact]
    public async Task Archive_with_an_If_Match_that_names_no_version_is_412_not_ignored()
    {
        using var admin = Fx.Admin();
        var created = await CreateAsync(Person());
        using var request = new HttpRequestMessage(HttpMethod.Delete, $"/api/v1/customers/{created.Id()}");
        request.Headers.TryAddWithoutValidation("If-Match", "\"not-a-version\"");
        using var response = await admin.SendAsync(request);
        await response.ExpectAsync(HttpStatusCode.PreconditionFailed);
        Assert.Equal(JsonValueKind.Null, (await admin.GetJsonAsync($"/api/v1/customers/{created.Id()}")).GetProperty("archivedAt").ValueKind);
    }

    [Fact]
    public async Task A_write_refused_by_a_unique_index_is_recognised_as_a_conflict_on_this_engine()
    {
        // Two people creating the same tag at the same moment: the second insert hits the unique index.
        var key = "race-" + Guid.NewGuid().ToString("N");
        var factory = Fx.Factory.Services.GetRequiredService<IDbContextFactory<KoloDb>>();
        await using (var first = await factory.CreateDbContextAsync())
        {
            first.Tags.Add(new Tag { Name = key, NameKey = key, CreatedAt = DateTime.UtcNow });
            await first.SaveChangesAsync();
        }
        await using var second = await factory.CreateDbContextAsync();
        second.Tags.Add(new Tag { Name = key, NameKey = key, CreatedAt = DateTime.UtcNow });
        var error = await Assert.ThrowsAsync<DbUpdateException>(() => second.SaveChangesAsync());
        Assert.True(error.IsUniqueViolation(), error.InnerException?.Message);
    }

    [Fact]
    public async Task Invalid_fields_are_each_named_in_a_400_problem()
    {
        using var admin = Fx.Admin();
        var body = Person();
        body["emails"] = new object[] { new { address = "not-an-email" } };
        body["phones"] = new object[] { new { number = "12" } };
        body["annualIncome"] = new { amount = 10, currency = "hryvnia" };
        body["householdSize"] = 0;
        using var response = await admin.PostAsJsonAsync("/api/v1/customers", body, Api.Json);
        var errors = await response.ExpectValidationProblemAsync();
        Assert.Contains("emails[0].address", errors.Keys);
        Assert.Contains("annualIncome.currency", errors.Keys);
        Assert.Contains("householdSize", errors.Keys);

        // Phone validity is a domain rule, checked once the annotations pass.
        var badPhone = Person();
        badPhone["phones"] = new object[] { new { number = "+380 50 123" } };
        using var phoneResponse = await admin.PostAsJsonAsync("/api/v1/customers", badPhone, Api.Json);
        var phoneErrors = await phoneResponse.ExpectValidationProblemAsync();
        Assert.Equal(["phones[0].number"], phoneErrors.Keys);

        var lowerCurrency = Person();
        lowerCurrency["acquisitionCost"] = new { amount = 5, currency = "uah" };
        using var currencyResponse = await admin.PostAsJsonAsync("/api/v1/customers", lowerCurrency, Api.Json);
        Assert.Contains("acquisitionCost.currency", (await currencyResponse.ExpectValidationProblemAsync()).Keys);

        var noName = new Dictionary<string, object?> { ["kind"] = "Person", ["emails"] = new[] { new { address = Unique.Email() } } };
        using var nameResponse = await admin.PostAsJsonAsync("/api/v1/customers", noName, Api.Json);
        Assert.Contains("lastName", (await nameResponse.ExpectValidationProblemAsync()).Keys);
    }

    [Fact]
    public async Task A_bad_enum_value_is_a_400_naming_the_field()
    {
        using var admin = Fx.Admin();
        var body = Person();
        body["status"] = "Millionaire";
        using var response = await admin.PostAsJsonAsync("/api/v1/customers", body, Api.Json);
        Assert.Contains("status", (await response.ExpectValidationProblemAsync()).Keys);
        // The API speaks names: a number is not taken for whichever value it happens to be.
        body["status"] = 2;
        using (var number = await admin.PostAsJsonAsync("/api/v1/customers", body, Api.Json))
            Assert.Contains("status", (await number.ExpectValidationProblemAsync()).Keys);

        var created = await CreateAsync(Person());
        var (_, etag) = await GetWithETagAsync(admin, created.Id());
        using var patch = await admin.PatchAsync($"/api/v1/customers/{created.Id()}", new { gender = "Robot" }, etag);
        Assert.Contains("gender", (await patch.ExpectValidationProblemAsync()).Keys);
    }

    [Fact]
    public async Task Malformed_JSON_is_a_400_problem_without_internals()
    {
        using var admin = Fx.Admin();
        using var post = await admin.SendRawAsync(HttpMethod.Post, "/api/v1/customers", "{\"firstName\": \"Ann\", ");
        Assert.NotEmpty(await post.ExpectValidationProblemAsync());

        using var wrongType = await admin.SendRawAsync(HttpMethod.Post, "/api/v1/customers", "{\"firstName\": \"Ann\", \"householdSize\": \"many\"}");
        Assert.Contains("householdSize", (await wrongType.ExpectValidationProblemAsync()).Keys);

        var created = await CreateAsync(Person());
        var (_, etag) = await GetWithETagAsync(admin, created.Id());
        using var patch = await admin.SendRawAsync(HttpMethod.Patch, $"/api/v1/customers/{created.Id()}", "{\"source\": ", etag, "application/merge-patch+json");
        Assert.Contains("body", (await patch.ExpectValidationProblemAsync()).Keys);

        // A browser-style Accept header must not switch to a developer error page either.
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/customers") { Content = new StringContent("{oops", System.Text.Encoding.UTF8, "application/json") };
        request.Headers.TryAddWithoutValidation("Accept", "text/html");
        using var html = await admin.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, html.StatusCode);
        Api.AssertNoInternals(await html.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Patch_with_an_unknown_field_is_a_400_naming_it_and_changes_nothing()
    {
        using var admin = Fx.Admin();
        var created = await CreateAsync(Person());
        var (_, etag) = await GetWithETagAsync(admin, created.Id());
        using var response = await admin.PatchAsync($"/api/v1/customers/{created.Id()}", new { source = "x", favouriteColour = "green" }, etag);
        var errors = await response.ExpectValidationProblemAsync();
        Assert.Equal(["favouriteColour"], errors.Keys);
        var (read, readETag) = await GetWithETagAsync(admin, created.Id());
        Assert.Equal(etag, readETag);
        Assert.Equal(JsonValueKind.Null, read.GetProperty("source").ValueKind);

        using var badEmail = await admin.PatchAsync($"/api/v1/customers/{created.Id()}", new { emails = new[] { new { address = "a@b" } } }, etag);
        Assert.Contains("emails[0].address", (await badEmail.ExpectValidationProblemAsync()).Keys);
    }

    [Fact]
    public async Task Patch_is_recorded_in_the_audit_log_with_who_when_and_old_and_new_values()
    {
        using var admin = Fx.Admin();
        var oldLast = Unique.Name();
        var newLast = Unique.Name();
        var created = await CreateAsync(Person(lastName: oldLast));
        var id = created.Id();
        var (_, etag) = await GetWithETagAsync(admin, id);
        var before = DateTime.UtcNow.AddSeconds(-5);
        using (var patch = await admin.PatchAsync($"/api/v1/customers/{id}", new { lastName = newLast, status = "Customer" }, etag))
            await patch.ExpectAsync(HttpStatusCode.OK);

        var me = await admin.GetJsonAsync("/api/v1/me");
        var audit = await admin.GetJsonAsync($"/api/v1/audit?entityType=customer&entityId={id}");
        var entries = audit.Items().ToList();
        Assert.Equal(["updated", "created"], entries.Select(e => e.Str("action")));
        var update = entries[0];
        Assert.Equal(me.GetProperty("userId").GetGuid(), update.GetProperty("userId").GetGuid());
        Assert.Equal("Administrator", update.Str("userName"));
        Assert.InRange(update.GetProperty("at").GetDateTime().ToUniversalTime(), before, DateTime.UtcNow.AddSeconds(5));
        var changes = update.GetProperty("changes").EnumerateArray().ToDictionary(c => c.Str("field"));
        Assert.Equal(oldLast, changes["lastName"].Str("old"));
        Assert.Equal(newLast, changes["lastName"].Str("new"));
        Assert.Equal("Prospect", changes["status"].Str("old"));
        Assert.Equal("Customer", changes["status"].Str("new"));
        Assert.Equal(2, changes.Count);

        // The customer's own history endpoint shows the same.
        var history = await admin.GetJsonAsync($"/api/v1/customers/{id}/history");
        Assert.Equal(entries[0].Id(), history.Items().First().Id());
    }

    [Fact]
    public async Task Archive_hides_from_the_default_list_and_restore_brings_it_back()
    {
        using var admin = Fx.Admin();
        var word = Unique.Name();
        var keep = await CreateAsync(Person(lastName: word));
        var gone = await CreateAsync(Person(lastName: word));
        var url = $"/api/v1/customers?q={word}";
        Assert.Equal(2, Ids(await admin.GetJsonAsync(url)).Count);

        using (var archive = await admin.DeleteAsync($"/api/v1/customers/{gone.Id()}"))
        {
            var archived = await archive.ExpectAsync(HttpStatusCode.OK);
            Assert.NotEqual(JsonValueKind.Null, archived.GetProperty("archivedAt").ValueKind);
        }
        Assert.Equal([keep.Id()], Ids(await admin.GetJsonAsync(url)));
        Assert.Equal([gone.Id()], Ids(await admin.GetJsonAsync(url + "&archived=true")));
        // Nothing is deleted: the record still reads.
        var read = await admin.GetJsonAsync($"/api/v1/customers/{gone.Id()}");
        Assert.NotEqual(JsonValueKind.Null, read.GetProperty("archivedAt").ValueKind);

        using (var restore = await admin.PostAsync($"/api/v1/customers/{gone.Id()}/restore", null))
        {
            var restored = await restore.ExpectAsync(HttpStatusCode.OK);
            Assert.Equal(JsonValueKind.Null, restored.GetProperty("archivedAt").ValueKind);
        }
        Assert.Equal(2, Ids(await admin.GetJsonAsync(url)).Count);
        Assert.Empty(Ids(await admin.GetJsonAsync(url + "&archived=true")));

        var actions = (await admin.GetJsonAsync($"/api/v1/audit?entityType=customer&entityId={gone.Id()}")).Items().Select(e => e.Str("action"));
        Assert.Equal(["restored", "archived", "created"], actions);
    }
}

[Collection("sqlite")]
public sealed class SqliteCustomerApiTests(SqliteFixture fx) : CustomerApiTests(fx);

[Collection("postgres")]
public sealed class PostgresCustomerApiTests(PostgresFixture fx) : CustomerApiTests(fx);
