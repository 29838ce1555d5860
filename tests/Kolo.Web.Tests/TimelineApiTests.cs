using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using Kolo.Web.Tests.Infrastructure;

namespace Kolo.Web.Tests;

/// <summary>GET /api/v1/customers/{id}/timeline, interactions' attachments, who may read them, and the negative-feedback list.</summary>
public abstract class TimelineApiTests(KoloAppFixture fx) : ApiTestBase(fx)
{
    private static DateTime At(JsonElement entry) => entry.GetProperty("at").GetDateTime().ToUniversalTime();

    private static Guid InteractionId(JsonElement intake) => intake.GetProperty("interaction").Id();

    /// <summary>Newest first by (at, id), the order the cursor walks.</summary>
    private static void AssertNewestFirst(List<JsonElement> entries)
    {
        for (var i = 1; i < entries.Count; i++)
        {
            var (a, b) = (entries[i - 1], entries[i]);
            Assert.True(At(a) > At(b) || (At(a) == At(b) && a.Id().CompareTo(b.Id()) > 0),
                $"Entry {i} ({At(b):O} {b.Id()}) is not older than entry {i - 1} ({At(a):O} {a.Id()}).");
        }
    }

    [Fact]
    public async Task The_timeline_shows_interactions_tasks_and_changes_newest_first_and_filters_by_kind_and_channel()
    {
        var customer = await CreateAsync(Person());
        var id = customer.Id();
        using var admin = Fx.Admin();
        var now = TimelineApi.Now();
        var call = InteractionId(await admin.RecordAsync(new { customerId = id, type = "Call", subject = "Old call", occurredAt = TimelineApi.Iso(now.AddDays(-2)) }));
        var mail = InteractionId(await admin.RecordAsync(new { customerId = id, type = "Email", subject = "Recent mail", occurredAt = TimelineApi.Iso(now.AddHours(-1)) }));
        var task = (await admin.PostJsonAsync("/api/v1/tasks", new { title = "Prepare offer", customerId = id }, HttpStatusCode.Created)).Id();
        var (_, etag) = await GetWithETagAsync(admin, id);
        using (var patch = await admin.PatchAsync($"/api/v1/customers/{id}", new { source = "fair" }, etag))
            await patch.ExpectAsync(HttpStatusCode.OK);

        var all = await admin.TimelineAsync(id);
        AssertNewestFirst(all);
        Assert.Equal(["change", "task", "change", "interaction", "interaction"], all.Select(e => e.Str("kind")));
        Assert.Equal([task, mail, call], all.Where(e => e.Str("kind") != "change").Select(e => e.Id()));
        Assert.Equal(["Updated", "Created"], all.Where(e => e.Str("kind") == "change").Select(e => e.Str("title")), StringComparer.OrdinalIgnoreCase);
        Assert.Equal("Prepare offer", all[1].Str("title"));
        Assert.Equal("Recent mail", all[3].Str("title"));
        Assert.Equal("Email", all[3].Str("channel"));

        Assert.Equal([mail, call], (await admin.TimelineAsync(id, "&kind=interaction")).Select(e => e.Id()));
        Assert.Equal([task], (await admin.TimelineAsync(id, "&kind=task")).Select(e => e.Id()));
        Assert.Equal(["change", "change"], (await admin.TimelineAsync(id, "&kind=change")).Select(e => e.Str("kind")));
        Assert.Equal([task, mail, call], (await admin.TimelineAsync(id, "&kind=interaction,task")).Select(e => e.Id()));
        // A channel filter keeps the contacts on that channel; kinds without a channel drop out.
        Assert.Equal([call], (await admin.TimelineAsync(id, "&channel=Phone")).Select(e => e.Id()));
        Assert.Equal([mail], (await admin.TimelineAsync(id, "&channel=email")).Select(e => e.Id()));
        Assert.Empty(await admin.TimelineAsync(id, "&kind=task&channel=Phone"));
    }

    [Fact]
    public async Task Cursor_paging_walks_every_entry_once_even_when_many_share_a_timestamp()
    {
        var customer = await CreateAsync(Person());
        var id = customer.Id();
        using var admin = Fx.Admin();
        var task = await admin.PostJsonAsync("/api/v1/tasks", new { title = "Tied task", customerId = id }, HttpStatusCode.Created);
        // Interactions at exactly the task's creation time tie across sources; others tie among themselves.
        // (The stored time, read back: PostgreSQL keeps microseconds.)
        var taskTime = (await admin.GetJsonAsync($"/api/v1/tasks/{task.Id()}")).GetProperty("createdAt").GetDateTime().ToUniversalTime();
        var tied = TimelineApi.Now().AddHours(-3);
        var expected = new HashSet<Guid> { task.Id() };
        for (var i = 0; i < 3; i++)
            expected.Add(InteractionId(await admin.RecordAsync(new { customerId = id, type = "Note", subject = $"With the task {i}", occurredAt = taskTime.ToString("O") })));
        for (var i = 0; i < 6; i++)
            expected.Add(InteractionId(await admin.RecordAsync(new { customerId = id, type = "Call", subject = $"Tied {i}", occurredAt = TimelineApi.Iso(tied) })));
        for (var i = 0; i < 3; i++)
            expected.Add(InteractionId(await admin.RecordAsync(new { customerId = id, type = "Visit", subject = $"Day {i}", occurredAt = TimelineApi.Iso(tied.AddDays(-1 - i)) })));
        expected.Add((await admin.PostJsonAsync("/api/v1/tasks", new { title = "Later task", customerId = id }, HttpStatusCode.Created)).Id());

        var whole = await admin.TimelineAsync(id);
        AssertNewestFirst(whole);
        Assert.Equal(3, whole.Count(e => At(e) == taskTime && e.Str("kind") == "interaction"));
        Assert.Superset(expected, whole.Select(e => e.Id()).ToHashSet());
        Assert.Equal(expected.Count + 1, whole.Count); // and the change entry of the customer's creation

        foreach (var limit in new[] { 1, 2, 3, 5 })
        {
            var walked = await admin.AllPagesAsync($"/api/v1/customers/{id}/timeline", limit);
            Assert.Equal(whole.Select(e => e.Id()), walked.Select(e => e.Id()));
        }
        var filtered = await admin.AllPagesAsync($"/api/v1/customers/{id}/timeline?channel=Phone", 4);
        Assert.Equal(whole.Where(e => e.Str("kind") == "interaction" && e.Str("type") == "Call").Select(e => e.Id()), filtered.Select(e => e.Id()));
    }

    [Fact]
    public async Task An_archived_interaction_leaves_the_timeline_but_is_kept()
    {
        var customer = await CreateAsync(Person());
        using var admin = Fx.Admin();
        var kept = InteractionId(await admin.RecordAsync(new { customerId = customer.Id(), type = "Call", subject = "Kept" }));
        var archived = InteractionId(await admin.RecordAsync(new { customerId = customer.Id(), type = "Call", subject = "Mistake", sentiment = "Negative" }));
        using (var delete = await admin.DeleteAsync($"/api/v1/interactions/{archived}"))
            await delete.ExpectAsync(HttpStatusCode.NoContent);

        Assert.Equal([kept], (await admin.TimelineAsync(customer.Id(), "&kind=interaction")).Select(e => e.Id()));
        var stored = await admin.GetJsonAsync($"/api/v1/interactions/{archived}");
        Assert.NotEqual(JsonValueKind.Null, stored.GetProperty("archivedAt").ValueKind);
        var negative = await admin.AllPagesAsync("/api/v1/interactions/negative-feedback", 200);
        Assert.DoesNotContain(archived, negative.Select(i => i.Id()));
    }

    [Fact]
    public async Task Bad_timeline_queries_are_400_naming_the_parameter_and_unknown_customers_404()
    {
        var customer = await CreateAsync(Person());
        using var admin = Fx.Admin();
        async Task<IReadOnlyDictionary<string, string[]>> Refused(string query)
        {
            using var response = await admin.GetAsync($"/api/v1/customers/{customer.Id()}/timeline?{query}");
            return await response.ExpectValidationProblemAsync();
        }

        Assert.Contains("kind", (await Refused("kind=orders")).Keys);
        Assert.Contains("kind", (await Refused("kind=interaction,bogus")).Keys);
        Assert.Contains("channel", (await Refused("channel=Fax")).Keys);
        Assert.Contains("channel", (await Refused("channel=1")).Keys);
        Assert.Contains("cursor", (await Refused("cursor=not-a-cursor!")).Keys);
        Assert.Contains("cursor", (await Refused("cursor=" + Convert.ToBase64String("x:y"u8.ToArray()))).Keys);
        // A time part too large for a long (a tampered cursor) is a 400 too, not a 500.
        Assert.Contains("cursor", (await Refused("cursor=" + Convert.ToBase64String("99999999999999999999:0"u8.ToArray()).TrimEnd('='))).Keys);
        Assert.Contains("limit", (await Refused("limit=0")).Keys);
        Assert.Contains("limit", (await Refused("limit=201")).Keys);
        await admin.GetJsonAsync($"/api/v1/customers/{Guid.NewGuid()}/timeline", HttpStatusCode.NotFound);
        using var anonymous = Fx.Anonymous();
        using var unauthenticated = await anonymous.GetAsync($"/api/v1/customers/{customer.Id()}/timeline");
        Assert.Equal(HttpStatusCode.Unauthorized, unauthenticated.StatusCode);
    }

    [Fact]
    public async Task Sales_cannot_read_another_owners_timeline_interactions_attachments_or_tasks()
    {
        var owner = await Fx.CreateUserAsync("Sales");
        var other = await Fx.CreateUserAsync("Sales");
        var body = Person();
        body["ownerId"] = owner.Id;
        var customer = await CreateAsync(body);
        using var admin = Fx.Admin();
        var intake = await admin.RecordAsync(new { customerId = customer.Id(), type = "Agreement", subject = "Discount", dueAt = TimelineApi.Iso(TimelineApi.Now().AddDays(7)) });
        var interactionId = InteractionId(intake);
        var taskId = intake.GetProperty("interaction").GetProperty("taskId").GetGuid();
        Guid attachmentId;
        using (var upload = await admin.UploadAsync(interactionId, "secret terms"u8.ToArray(), "terms.txt", "text/plain"))
            attachmentId = (await upload.ExpectAsync(HttpStatusCode.Created)).Id();
        var ownTask = (await admin.PostJsonAsync("/api/v1/tasks", new { title = "Owner's follow-up", customerId = customer.Id(), assigneeId = owner.Id }, HttpStatusCode.Created)).Id();

        // The owner sees all of it.
        using (var ownerClient = owner.Client())
        {
            Assert.Contains(interactionId, (await ownerClient.TimelineAsync(customer.Id())).Select(e => e.Id()));
            await ownerClient.GetJsonAsync($"/api/v1/interactions/{interactionId}");
            using var download = await ownerClient.GetAsync($"/api/v1/attachments/{attachmentId}");
            Assert.Equal(HttpStatusCode.OK, download.StatusCode);
            await ownerClient.GetJsonAsync($"/api/v1/tasks/{ownTask}");
        }

        using var client = other.Client();
        await client.GetJsonAsync($"/api/v1/customers/{customer.Id()}/timeline", HttpStatusCode.NotFound);
        await client.GetJsonAsync($"/api/v1/interactions/{interactionId}", HttpStatusCode.NotFound);
        using (var download = await client.GetAsync($"/api/v1/attachments/{attachmentId}"))
        {
            await download.ExpectAsync(HttpStatusCode.NotFound);
            Assert.NotEqual("application/octet-stream", download.Content.Headers.ContentType?.MediaType);
        }
        using (var upload = await client.UploadAsync(interactionId, [1, 2, 3], "x.bin"))
            await upload.ExpectAsync(HttpStatusCode.NotFound);
        using (var patch = await client.PatchAsync($"/api/v1/interactions/{interactionId}", new { subject = "Changed" }, $"\"{intake.GetProperty("interaction").GetProperty("version").GetGuid():N}\""))
            await patch.ExpectAsync(HttpStatusCode.NotFound);
        await client.GetJsonAsync($"/api/v1/tasks/{taskId}", HttpStatusCode.NotFound);
        await client.GetJsonAsync($"/api/v1/tasks/{ownTask}", HttpStatusCode.NotFound);
        Assert.Empty((await client.GetJsonAsync($"/api/v1/tasks?customer={customer.Id()}")).Items());
        using (var complete = await client.PostAsync($"/api/v1/tasks/{ownTask}/complete", null))
            await complete.ExpectAsync(HttpStatusCode.NotFound);
        Assert.Equal("Open", (await admin.GetJsonAsync($"/api/v1/tasks/{ownTask}")).Str("status"));
        Assert.Equal("Discount", (await admin.GetJsonAsync($"/api/v1/interactions/{interactionId}")).Str("subject"));
    }

    [Fact]
    public async Task An_attachment_downloads_as_the_same_bytes_and_size_is_limited()
    {
        var customer = await CreateAsync(Person());
        using var admin = Fx.Admin();
        var interactionId = InteractionId(await admin.RecordAsync(new { customerId = customer.Id(), type = "Letter", subject = "Signed contract" }));
        var content = RandomNumberGenerator.GetBytes(300_000);

        JsonElement created;
        using (var upload = await admin.UploadAsync(interactionId, content, "contract.pdf"))
        {
            created = await upload.ExpectAsync(HttpStatusCode.Created);
            Assert.Equal($"/api/v1/attachments/{created.Id()}", upload.Headers.Location?.OriginalString);
        }
        Assert.Equal("contract.pdf", created.Str("fileName"));
        Assert.Equal(content.Length, created.GetProperty("size").GetInt64());
        var listed = Assert.Single((await admin.GetJsonAsync($"/api/v1/interactions/{interactionId}")).GetProperty("attachments").EnumerateArray());
        Assert.Equal(created.Id(), listed.Id());

        using (var download = await admin.GetAsync($"/api/v1/attachments/{created.Id()}"))
        {
            Assert.Equal(HttpStatusCode.OK, download.StatusCode);
            Assert.Equal(content, await download.Content.ReadAsByteArrayAsync());
            // Always a download, never rendered in Kolo's origin.
            Assert.Equal("attachment", download.Content.Headers.ContentDisposition?.DispositionType);
            Assert.Equal("contract.pdf", download.Content.Headers.ContentDisposition?.FileNameStar ?? download.Content.Headers.ContentDisposition?.FileName);
            Assert.Equal("application/octet-stream", download.Content.Headers.ContentType?.MediaType);
            Assert.Equal("nosniff", download.Headers.GetValues("X-Content-Type-Options").Single());
        }

        // Exactly 10 MB is accepted; one byte more is refused, and so is an empty file.
        var limit = 10 * 1024 * 1024;
        using (var largest = await admin.UploadAsync(interactionId, new byte[limit], "largest.bin"))
            Assert.Equal(limit, (await largest.ExpectAsync(HttpStatusCode.Created)).GetProperty("size").GetInt64());
        using (var tooLarge = await admin.UploadAsync(interactionId, new byte[limit + 1], "too-large.bin"))
            Assert.Contains("file", (await tooLarge.ExpectValidationProblemAsync()).Keys);
        using (var empty = await admin.UploadAsync(interactionId, [], "empty.txt"))
            Assert.Contains("file", (await empty.ExpectValidationProblemAsync()).Keys);
        Assert.Equal(2, (await admin.GetJsonAsync($"/api/v1/interactions/{interactionId}")).GetProperty("attachments").GetArrayLength());
        await admin.GetJsonAsync($"/api/v1/attachments/{Guid.NewGuid()}", HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Managers_see_recent_negative_feedback_newest_first_and_Sales_is_refused()
    {
        var manager = await Fx.CreateUserAsync("Manager");
        var customer = await CreateAsync(Person());
        using var admin = Fx.Admin();
        var now = TimelineApi.Now();
        var oldest = InteractionId(await admin.RecordAsync(new { customerId = customer.Id(), type = "Call", sentiment = "Negative", subject = "Late delivery", occurredAt = TimelineApi.Iso(now.AddHours(-3)) }));
        var newest = InteractionId(await admin.RecordAsync(new { customerId = customer.Id(), type = "Email", sentiment = "Negative", subject = "Broken item", occurredAt = TimelineApi.Iso(now.AddHours(-1)) }));
        var middle = InteractionId(await admin.RecordAsync(new { customerId = customer.Id(), type = "Chat", sentiment = "Negative", subject = "Rude courier", occurredAt = TimelineApi.Iso(now.AddHours(-2)) }));
        var positive = InteractionId(await admin.RecordAsync(new { customerId = customer.Id(), type = "Call", sentiment = "Positive", subject = "Thanks", occurredAt = TimelineApi.Iso(now.AddMinutes(-30)) }));

        using var client = manager.Client();
        var all = await client.AllPagesAsync("/api/v1/interactions/negative-feedback", 2);
        Assert.Equal([newest, middle, oldest], all.Where(i => i.GetProperty("customerId").GetGuid() == customer.Id()).Select(i => i.Id()));
        Assert.DoesNotContain(positive, all.Select(i => i.Id()));
        Assert.All(all, i => Assert.Equal("Negative", i.Str("sentiment")));
        var first = all.First(i => i.Id() == newest);
        Assert.Equal(customer.Str("displayName"), first.Str("customerName"));

        foreach (var role in new[] { "Sales", "Support" })
        {
            var user = await Fx.CreateUserAsync(role);
            using var refused = user.Client();
            await refused.GetJsonAsync("/api/v1/interactions/negative-feedback", HttpStatusCode.Forbidden);
        }
    }
}

[Collection("sqlite")]
public sealed class SqliteTimelineApiTests(SqliteFixture fx) : TimelineApiTests(fx);

[Collection("postgres")]
public sealed class PostgresTimelineApiTests(PostgresFixture fx) : TimelineApiTests(fx);
