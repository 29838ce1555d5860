using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Kolo.Web.Tests.Infrastructure;

namespace Kolo.Web.Tests;

/// <summary>POST /api/v1/interactions: idempotent intake, finding or creating the customer, validation, sanitising, agreements.</summary>
public abstract class InteractionIntakeApiTests(KoloAppFixture fx) : ApiTestBase(fx)
{
    private static Dictionary<string, object?> Owned(Guid ownerId)
    {
        var body = Person();
        body["ownerId"] = ownerId;
        return body;
    }

    private static string EmailOf(JsonElement customer) => customer.GetProperty("emails")[0].Str("address");

    private static string PhoneOf(JsonElement customer) => customer.GetProperty("phones")[0].Str("number");

    private static async Task<List<JsonElement>> InteractionsOnAsync(HttpClient client, Guid customerId) =>
        await client.TimelineAsync(customerId, "&kind=interaction");

    [Fact]
    public async Task The_same_external_event_posted_twice_is_stored_once()
    {
        var customer = await CreateAsync(Person());
        using var admin = Fx.Admin();
        var externalId = "call-" + Unique.Word(12);
        var first = await admin.RecordAsync(new { customerId = customer.Id(), type = "Call", subject = "Asked about delivery", externalSource = "call-center", externalId });
        Assert.True(first.GetProperty("created").GetBoolean());
        Assert.False(first.GetProperty("customerCreated").GetBoolean());
        var id = first.GetProperty("interaction").Id();

        // The repeat (a retry after a timeout, say) is recognised even if its text differs: 200, the stored one.
        var repeat = await admin.RecordAsync(new { customerId = customer.Id(), type = "Call", subject = "Asked about delivery (retry)", externalSource = "call-center", externalId }, HttpStatusCode.OK);
        Assert.False(repeat.GetProperty("created").GetBoolean());
        Assert.Equal(id, repeat.GetProperty("interaction").Id());
        Assert.Equal("Asked about delivery", repeat.GetProperty("interaction").Str("subject"));
        Assert.Equal([id], (await InteractionsOnAsync(admin, customer.Id())).Select(e => e.Id()));

        // The key is the source and the id together: another system may use the same id for its own event.
        var otherSource = await admin.RecordAsync(new { customerId = customer.Id(), type = "Web", externalSource = "website", externalId });
        Assert.NotEqual(id, otherSource.GetProperty("interaction").Id());
        Assert.Equal(2, (await InteractionsOnAsync(admin, customer.Id())).Count);
    }

    [Fact]
    public async Task A_repeat_of_an_event_stored_on_a_customer_the_caller_cannot_see_reveals_nothing()
    {
        var owner = await Fx.CreateUserAsync("Sales");
        var other = await Fx.CreateUserAsync("Sales");
        var theirs = await CreateAsync(Owned(owner.Id));
        var mine = await CreateAsync(Owned(other.Id));
        var externalId = "evt-" + Unique.Word(12);
        using (var ownerClient = owner.Client())
            await ownerClient.RecordAsync(new { customerId = theirs.Id(), type = "Call", subject = "Private matter", body = "<p>confidential</p>", externalSource = "call-center", externalId });

        using var client = other.Client();
        using var response = await client.PostAsJsonAsync("/api/v1/interactions", new { customerId = mine.Id(), type = "Call", externalSource = "call-center", externalId }, Api.Json);
        var text = await response.Content.ReadAsStringAsync();
        await response.ExpectAsync(HttpStatusCode.Forbidden);
        foreach (var secret in new[] { "Private matter", "confidential", theirs.Id().ToString(), theirs.Str("displayName") })
            Assert.DoesNotContain(secret, text, StringComparison.OrdinalIgnoreCase);
        Assert.Empty(await InteractionsOnAsync(client, mine.Id()));
    }

    [Fact]
    public async Task Concurrent_identical_events_are_stored_once()
    {
        var customer = await CreateAsync(Person());
        var externalId = "evt-" + Unique.Word(12);
        var body = new { customerId = customer.Id(), type = "Email", subject = "Order question", externalSource = "mail-gateway", externalId };
        var responses = await Task.WhenAll(Enumerable.Range(0, 4).Select(async _ =>
        {
            using var client = Fx.Admin();
            using var response = await client.PostAsJsonAsync("/api/v1/interactions", body, Api.Json);
            return (response.StatusCode, Body: await response.ReadJsonAsync());
        }));
        Assert.Single(responses, r => r.StatusCode == HttpStatusCode.Created);
        Assert.All(responses, r => Assert.True(r.StatusCode is HttpStatusCode.Created or HttpStatusCode.OK, $"{(int)r.StatusCode}: {r.Body}"));
        Assert.Single(responses.Select(r => r.Body.GetProperty("interaction").Id()).Distinct());
        using var admin = Fx.Admin();
        Assert.Single(await InteractionsOnAsync(admin, customer.Id()));
    }

    [Fact]
    public async Task Concurrent_identical_events_from_an_unknown_sender_create_one_prospect()
    {
        var email = Unique.Email();
        var externalId = "web-" + Unique.Word(12);
        var body = new { email, name = "Web Visitor", type = "Web", subject = "Contact form", externalSource = "website", externalId };
        var responses = await Task.WhenAll(Enumerable.Range(0, 3).Select(async _ =>
        {
            using var client = Fx.Admin();
            using var response = await client.PostAsJsonAsync("/api/v1/interactions", body, Api.Json);
            return (response.StatusCode, Body: await response.ReadJsonAsync());
        }));
        Assert.All(responses, r => Assert.True(r.StatusCode is HttpStatusCode.Created or HttpStatusCode.OK, $"{(int)r.StatusCode}: {r.Body}"));
        var created = Assert.Single(responses, r => r.StatusCode == HttpStatusCode.Created);
        Assert.True(created.Body.GetProperty("customerCreated").GetBoolean());
        Assert.Single(responses.Select(r => r.Body.GetProperty("interaction").GetProperty("customerId").GetGuid()).Distinct());
        // The prospects of the requests that lost the race were rolled back with their interaction.
        using var admin = Fx.Admin();
        var found = await admin.GetJsonAsync($"/api/v1/customers?q={Uri.EscapeDataString(email)}");
        Assert.Equal([created.Body.GetProperty("interaction").GetProperty("customerId").GetGuid()], Ids(found));
    }

    [Fact]
    public async Task Without_customerId_the_customer_is_found_by_email_in_any_case()
    {
        var customer = await CreateAsync(Person());
        using var admin = Fx.Admin();
        var result = await admin.RecordAsync(new { email = EmailOf(customer).ToUpperInvariant(), type = "Email", subject = "Invoice", direction = "Inbound" });
        Assert.False(result.GetProperty("customerCreated").GetBoolean());
        Assert.Equal(customer.Id(), result.GetProperty("interaction").GetProperty("customerId").GetGuid());
        Assert.Equal("Email", result.GetProperty("interaction").Str("channel"));
    }

    [Fact]
    public async Task Without_customerId_the_customer_is_found_by_phone_written_another_way()
    {
        var digits = Unique.SubscriberDigits();
        var international = Person();
        international["phones"] = new[] { new { number = "+38067" + digits } };
        var a = await CreateAsync(international);
        var otherDigits = Unique.SubscriberDigits();
        var national = Person();
        national["phones"] = new[] { new { number = "067" + otherDigits } };
        var b = await CreateAsync(national);

        using var admin = Fx.Admin();
        var spaced = $"067 {digits[..3]} {digits[3..5]} {digits[5..]}";
        var first = await admin.RecordAsync(new { phone = spaced, type = "Call", direction = "Inbound" });
        Assert.Equal(a.Id(), first.GetProperty("interaction").GetProperty("customerId").GetGuid());
        Assert.False(first.GetProperty("customerCreated").GetBoolean());
        var second = await admin.RecordAsync(new { phone = $"+38 (067) {otherDigits[..3]}-{otherDigits[3..]}", type = "Sms" });
        Assert.Equal(b.Id(), second.GetProperty("interaction").GetProperty("customerId").GetGuid());
        Assert.False(second.GetProperty("customerCreated").GetBoolean());
    }

    [Fact]
    public async Task A_merged_customer_is_followed_to_the_record_it_was_merged_into()
    {
        var target = await CreateAsync(Person());
        var source = await CreateAsync(Person());
        using var admin = Fx.Admin();
        // History recorded on the source before the merge moves with it.
        var before = await admin.RecordAsync(new { customerId = source.Id(), type = "Meeting", subject = "Before the merge" });
        var task = await admin.PostJsonAsync("/api/v1/tasks", new { title = "Source's task " + Unique.Word(5), customerId = source.Id() }, HttpStatusCode.Created);
        await admin.PostJsonAsync($"/api/v1/customers/{target.Id()}/merge", new { sourceId = source.Id() }, HttpStatusCode.OK);

        var byId = await admin.RecordAsync(new { customerId = source.Id(), type = "Note", subject = "After the merge" });
        Assert.Equal(target.Id(), byId.GetProperty("interaction").GetProperty("customerId").GetGuid());
        var byEmail = await admin.RecordAsync(new { email = EmailOf(source), type = "Email" });
        Assert.Equal(target.Id(), byEmail.GetProperty("interaction").GetProperty("customerId").GetGuid());
        Assert.False(byEmail.GetProperty("customerCreated").GetBoolean());

        var timeline = await admin.TimelineAsync(target.Id(), "&kind=interaction,task");
        Assert.Contains(before.GetProperty("interaction").Id(), timeline.Select(e => e.Id()));
        Assert.Contains(task.Id(), timeline.Select(e => e.Id()));
        Assert.Contains(byId.GetProperty("interaction").Id(), timeline.Select(e => e.Id()));
        Assert.Equal(target.Id(), (await admin.GetJsonAsync($"/api/v1/tasks/{task.Id()}")).GetProperty("customerId").GetGuid());
    }

    [Fact]
    public async Task An_unknown_contact_becomes_a_prospect_and_the_response_says_so()
    {
        var email = Unique.Email();
        var digits = Unique.SubscriberDigits();
        var lastName = Unique.Name();
        using var admin = Fx.Admin();
        var result = await admin.RecordAsync(new { email, phone = "067" + digits, name = "Olena " + lastName, type = "Call", direction = "Inbound", externalSource = "call-center", externalId = Unique.Word(16) });
        Assert.True(result.GetProperty("created").GetBoolean());
        Assert.True(result.GetProperty("customerCreated").GetBoolean());
        var customerId = result.GetProperty("interaction").GetProperty("customerId").GetGuid();

        var prospect = await admin.GetJsonAsync($"/api/v1/customers/{customerId}");
        Assert.Equal("Prospect", prospect.Str("status"));
        Assert.Equal(email, EmailOf(prospect));
        Assert.Equal("+38067" + digits, PhoneOf(prospect));
        Assert.Equal("Olena", prospect.Str("firstName"));
        Assert.Equal(lastName, prospect.Str("lastName"));

        // The next contact from the same address finds the prospect instead of creating another.
        var next = await admin.RecordAsync(new { email, type = "Email" });
        Assert.False(next.GetProperty("customerCreated").GetBoolean());
        Assert.Equal(customerId, next.GetProperty("interaction").GetProperty("customerId").GetGuid());
    }

    [Fact]
    public async Task Invalid_intake_is_a_400_naming_each_field_and_stores_nothing()
    {
        var customer = await CreateAsync(Person());
        using var admin = Fx.Admin();
        async Task<IReadOnlyDictionary<string, string[]>> Refused(object body)
        {
            using var response = await admin.PostAsJsonAsync("/api/v1/interactions", body, Api.Json);
            return await response.ExpectValidationProblemAsync();
        }

        Assert.Contains("customerId", (await Refused(new { type = "Call", subject = "Nobody" })).Keys);
        Assert.Contains("phone", (await Refused(new { type = "Call", phone = "12" })).Keys);
        Assert.Contains("dueAt", (await Refused(new { customerId = customer.Id(), type = "Call", dueAt = TimelineApi.Iso(DateTime.UtcNow.AddDays(3)) })).Keys);
        Assert.Contains("relatedId", (await Refused(new { customerId = customer.Id(), type = "Call", relatedType = "order" })).Keys);
        Assert.Contains("relatedType", (await Refused(new { customerId = customer.Id(), type = "Call", relatedType = "invoice", relatedId = Guid.NewGuid() })).Keys);
        Assert.Contains("type", (await Refused(new { customerId = customer.Id(), subject = "No type" })).Keys);
        Assert.Contains("customerId", (await Refused(new { customerId = Guid.NewGuid(), type = "Call" })).Keys);
        // Several problems at once are all named.
        var many = await Refused(new { type = "Note", phone = "not a phone", dueAt = TimelineApi.Iso(DateTime.UtcNow.AddDays(1)), relatedId = Guid.NewGuid() });
        Assert.Contains("phone", many.Keys);
        Assert.Contains("dueAt", many.Keys);
        Assert.Contains("relatedId", many.Keys);

        Assert.Empty(await InteractionsOnAsync(admin, customer.Id()));
    }

    [Fact]
    public async Task Scripts_event_handlers_and_javascript_links_are_removed_and_formatting_survives()
    {
        var customer = await CreateAsync(Person());
        using var admin = Fx.Admin();
        const string Body = "<p>Client <b>agreed</b> to <i>terms</i></p><script>alert('x')</script>" +
                            "<img src=\"x\" onerror=\"alert(1)\"><a href=\"javascript:alert(2)\">open</a><ul><li>one</li></ul>" +
                            "<div onclick=\"steal()\">click</div><iframe src=\"https://evil.example\"></iframe>";
        var result = await admin.RecordAsync(new { customerId = customer.Id(), type = "Note", body = Body });
        var id = result.GetProperty("interaction").Id();

        void AssertSafe(string? html)
        {
            Assert.NotNull(html);
            foreach (var bad in new[] { "<script", "alert('x')", "onerror", "javascript:", "onclick", "<iframe" })
                Assert.DoesNotContain(bad, html, StringComparison.OrdinalIgnoreCase);
            Assert.Contains("<b>agreed</b>", html, StringComparison.Ordinal);
            Assert.Contains("<i>terms</i>", html, StringComparison.Ordinal);
            Assert.Contains("<li>one</li>", html, StringComparison.Ordinal);
            Assert.Contains(">open</a>", html, StringComparison.Ordinal);
        }

        AssertSafe(result.GetProperty("interaction").Str("body"));
        using var get = await admin.GetAsync($"/api/v1/interactions/{id}");
        var stored = await get.ExpectAsync(HttpStatusCode.OK);
        AssertSafe(stored.Str("body"));
        var entry = Assert.Single(await InteractionsOnAsync(admin, customer.Id()));
        AssertSafe(entry.GetProperty("details").GetProperty("interaction").Str("body"));

        // A correction is cleaned the same way.
        using var patch = await admin.PatchAsync($"/api/v1/interactions/{id}", new { body = "<b>ok</b><svg onload=\"alert(3)\"></svg><script>x()</script>" }, get.ETag());
        var patched = await patch.ExpectAsync(HttpStatusCode.OK);
        Assert.Contains("<b>ok</b>", patched.Str("body"), StringComparison.Ordinal);
        Assert.DoesNotContain("onload", patched.Str("body"), StringComparison.Ordinal);
        Assert.DoesNotContain("<script", patched.Str("body"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_agreement_with_a_due_date_creates_a_task_for_the_owner_or_else_the_caller()
    {
        var owner = await Fx.CreateUserAsync("Sales");
        var owned = await CreateAsync(Owned(owner.Id));
        using var admin = Fx.Admin();
        var due = TimelineApi.Now().AddDays(5);
        var subject = "Send the offer " + Unique.Word(6);
        var result = await admin.RecordAsync(new { customerId = owned.Id(), type = "Agreement", subject, dueAt = TimelineApi.Iso(due) });
        var interaction = result.GetProperty("interaction");
        var taskId = interaction.GetProperty("taskId").GetGuid();

        var task = await admin.GetJsonAsync($"/api/v1/tasks/{taskId}");
        Assert.Equal(owner.Id, task.GetProperty("assigneeId").GetGuid());
        Assert.Equal(owned.Id(), task.GetProperty("customerId").GetGuid());
        Assert.Equal(interaction.Id(), task.GetProperty("sourceInteractionId").GetGuid());
        Assert.Equal(due, task.GetProperty("dueAt").GetDateTime().ToUniversalTime());
        Assert.Equal("Open", task.Str("status"));
        Assert.Contains(subject, task.Str("title"), StringComparison.Ordinal);
        // The owner finds it among their tasks.
        using (var ownerClient = owner.Client())
            Assert.Contains(taskId, Ids(await ownerClient.GetJsonAsync("/api/v1/tasks?assignee=me")));
        // GET of the interaction shows the same link.
        Assert.Equal(taskId, (await admin.GetJsonAsync($"/api/v1/interactions/{interaction.Id()}")).GetProperty("taskId").GetGuid());

        // A customer without an owner: the caller keeps the promise.
        var unowned = await CreateAsync(Person());
        var me = await admin.GetJsonAsync("/api/v1/me");
        var second = await admin.RecordAsync(new { customerId = unowned.Id(), type = "Agreement", subject = "Call back", dueAt = TimelineApi.Iso(due) });
        var secondTask = await admin.GetJsonAsync($"/api/v1/tasks/{second.GetProperty("interaction").GetProperty("taskId").GetGuid()}");
        Assert.Equal(me.GetProperty("userId").GetGuid(), secondTask.GetProperty("assigneeId").GetGuid());

        // An agreement without a due date is only recorded.
        var plain = await admin.RecordAsync(new { customerId = unowned.Id(), type = "Agreement", subject = "Terms" });
        Assert.Equal(JsonValueKind.Null, plain.GetProperty("interaction").GetProperty("taskId").ValueKind);
    }

    [Fact]
    public async Task Support_logs_interactions_on_any_customer_Sales_only_on_their_own()
    {
        var owner = await Fx.CreateUserAsync("Sales");
        var support = await Fx.CreateUserAsync("Support");
        var otherSales = await Fx.CreateUserAsync("Sales");
        var customer = await CreateAsync(Owned(owner.Id));

        using var supportClient = support.Client();
        var logged = await supportClient.RecordAsync(new { customerId = customer.Id(), type = "Chat", subject = "Support chat", sentiment = "Negative" });
        var interaction = logged.GetProperty("interaction");
        Assert.Equal(support.Id, interaction.GetProperty("userId").GetGuid());
        Assert.Equal(support.DisplayName, interaction.Str("userName"));
        Assert.Contains(interaction.Id(), (await supportClient.TimelineAsync(customer.Id())).Select(e => e.Id()));

        using var ownerClient = owner.Client();
        await ownerClient.RecordAsync(new { customerId = customer.Id(), type = "Call", subject = "Owner's call" });
        Assert.Equal(2, (await InteractionsOnAsync(ownerClient, customer.Id())).Count);

        using var otherClient = otherSales.Client();
        using var refused = await otherClient.PostAsJsonAsync("/api/v1/interactions", new { customerId = customer.Id(), type = "Call" }, Api.Json);
        Assert.Contains("customerId", (await refused.ExpectValidationProblemAsync()).Keys);
        Assert.Equal(2, (await InteractionsOnAsync(ownerClient, customer.Id())).Count);
    }
}

[Collection("sqlite")]
public sealed class SqliteInteractionIntakeApiTests(SqliteFixture fx) : InteractionIntakeApiTests(fx);

[Collection("postgres")]
public sealed class PostgresInteractionIntakeApiTests(PostgresFixture fx) : InteractionIntakeApiTests(fx);
