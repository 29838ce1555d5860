using System.Net;
using System.Text.Json;
using Kolo.Core.Marketing;
using Kolo.Web.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Kolo.Web.Tests;

/// <summary>Campaign editing, validation, the approval workflow, roles, If-Match, message preview and the contact policy API.</summary>
public abstract class CampaignApiTests(KoloAppFixture fx) : CampaignTestBase(fx)
{
    [Fact]
    public async Task Invalid_campaigns_are_refused_naming_each_field()
    {
        using var admin = Fx.Admin();
        var segment = await StaticSegmentAsync(await SeedCustomersAsync(1));
        var badVariant = Variant("Broken", "Segment");
        badVariant["smsText"] = null;
        badVariant["emailBody"] = "{% if customer.name %}unclosed";
        var body = CampaignBody(segment, ["Email", "Sms"], priority: 0, controlGroupPercent: 60, variants: badVariant);
        body["attributionDays"] = 0;
        body["excludeSegmentIds"] = new[] { Guid.NewGuid() };
        body["endsAt"] = FutureDay(1);
        using var response = await PostAsync(admin, "/api/v1/campaigns", body);
        var errors = await response.ExpectValidationProblemAsync();
        foreach (var field in new[] { "priority", "controlGroupPercent", "attributionDays", "excludeSegmentIds[0]", "endsAt",
                     "variants[0].segmentId", "variants[0].smsText", "variants[0].emailBody" })
            Assert.True(errors.ContainsKey(field), $"{field} missing in {string.Join(", ", errors.Keys)}");

        var none = CampaignBody(segment);
        none["channels"] = Array.Empty<string>();
        none["segmentIds"] = new[] { Guid.NewGuid() };
        using var second = await PostAsync(admin, "/api/v1/campaigns", none);
        var errors2 = await second.ExpectValidationProblemAsync();
        Assert.Contains("channels", errors2.Keys);
        Assert.Contains("segmentIds[0]", errors2.Keys);
    }

    [Fact]
    public async Task Null_lists_and_out_of_range_segment_bounds_are_400s_not_500s()
    {
        using var admin = Fx.Admin();
        var segment = await StaticSegmentAsync(await SeedCustomersAsync(1));
        var body = CampaignBody(segment);
        body["channels"] = null;
        body["callAgentIds"] = null;
        using (var response = await PostAsync(admin, "/api/v1/campaigns", body))
            Assert.Contains("channels", (await response.ExpectValidationProblemAsync()).Keys);
        foreach (var (definition, field) in new (object Definition, string Field)[]
                 {
                     (new { conditions = new object?[] { null } }, "definition.conditions[0].field"),
                     (new { includeSegmentIds = (object?)null, conditions = new[] { new { field = "age", @operator = "between", values = new[] { "3000", "" } } } },
                         "definition.conditions[0].values"),
                     (new { conditions = new[] { new { field = "clv", @operator = "between", values = new[] { "100000000000000000", "" } } } },
                         "definition.conditions[0].values"),
                 })
            using (var count = await PostAsync(admin, "/api/v1/segments/count", new { kind = "Rules", definition }))
                Assert.Contains(field, (await count.ExpectValidationProblemAsync()).Keys);
    }

    [Fact]
    public async Task A_segment_a_campaign_still_needs_is_not_archived_and_an_ended_campaign_is_not_launched()
    {
        using var admin = Fx.Admin();
        var segment = await StaticSegmentAsync(await SeedCustomersAsync(1));
        var body = CampaignBody(segment, startsAt: DateTime.UtcNow.AddDays(-3));
        body["endsAt"] = DateTime.UtcNow.AddDays(-1);
        var campaign = await CreateApprovedAsync(body);
        using (var archive = await admin.DeleteAsync($"/api/v1/segments/{segment}"))
            Assert.Contains(campaign.Str("name"), string.Join(" ", (await archive.ExpectValidationProblemAsync())["id"]), StringComparison.Ordinal);
        using (var launch = await PostAsync(admin, $"/api/v1/campaigns/{campaign.Id()}/launch", new { now = true }))
            Assert.Equal(["endsAt"], (await launch.ExpectValidationProblemAsync()).Keys);
    }

    [Fact]
    public async Task A_merge_moves_campaign_contacts_web_visits_list_memberships_and_leads_to_the_surviving_record()
    {
        var ids = await SeedCustomersAsync(2);
        var (source, target) = (ids[0], ids[1]);
        var both = await StaticSegmentAsync([source, target]);
        var onlySource = await StaticSegmentAsync([source]);
        var now = DateTime.UtcNow;
        var campaign = new Campaign { Name = "Merged " + Unique.Word(6), Status = CampaignStatus.Completed, StartsAt = now, CreatedAt = now, UpdatedAt = now };
        var visitor = "v" + Unique.Word(12);
        var lead = new Kolo.Core.Sales.Lead { LastName = "Lead", Status = Kolo.Core.Sales.LeadStatus.Qualified, CustomerId = source, CreatedAt = now, UpdatedAt = now };
        await using (var db = Db())
        {
            db.Campaigns.Add(campaign);
            db.CampaignMessages.Add(new CampaignMessage
            {
                CampaignId = campaign.Id, CustomerId = source, Channel = CampaignChannel.Email, Status = MessageStatus.Sent, PlannedAt = now, SentAt = now, CreatedAt = now,
            });
            db.WebVisitors.Add(new WebVisitor { Id = visitor, CustomerId = source, FirstSeenAt = now, LastSeenAt = now });
            db.WebVisits.Add(new WebVisit { VisitorId = visitor, CustomerId = source, Url = "https://shop.example.com/", OccurredAt = now });
            db.Leads.Add(lead);
            await db.SaveChangesAsync();
        }
        using var admin = Fx.Admin();
        await admin.PostJsonAsync($"/api/v1/customers/{target}/merge", new { sourceId = source }, HttpStatusCode.OK);

        await using var check = Db();
        Assert.Equal(target, (await check.CampaignMessages.SingleAsync(m => m.CampaignId == campaign.Id)).CustomerId);
        Assert.Equal(target, (await check.WebVisitors.SingleAsync(v => v.Id == visitor)).CustomerId);
        Assert.Equal(target, (await check.WebVisits.SingleAsync(v => v.VisitorId == visitor)).CustomerId);
        Assert.Equal(target, (await check.Leads.SingleAsync(l => l.Id == lead.Id)).CustomerId);
        Assert.Equal([target], await check.SegmentMembers.Where(m => m.SegmentId == both).Select(m => m.CustomerId).ToListAsync());
        Assert.Equal([target], await check.SegmentMembers.Where(m => m.SegmentId == onlySource).Select(m => m.CustomerId).ToListAsync());
    }

    [Fact]
    public async Task A_draft_is_created_read_listed_and_updated_with_If_Match()
    {
        using var admin = Fx.Admin();
        var segment = await StaticSegmentAsync(await SeedCustomersAsync(2));
        var body = CampaignBody(segment, ["Email", "Sms"], priority: 70, variants: [Variant("Prospects", "Prospects"), Variant("Customers", "Customers")]);
        using var created = await PostAsync(admin, "/api/v1/campaigns", body);
        var campaign = await created.ExpectAsync(HttpStatusCode.Created);
        var etag = created.ETag();
        Assert.Equal("Draft", campaign.Str("status"));
        Assert.Equal(70, campaign.GetProperty("priority").GetInt32());
        Assert.Equal(2, campaign.GetProperty("variants").GetArrayLength());
        var id = campaign.Id();

        var read = await admin.GetJsonAsync($"/api/v1/campaigns/{id}");
        Assert.Equal("Prospects", read.GetProperty("variants")[0].Str("audience"));

        var list = await admin.GetJsonAsync($"/api/v1/campaigns?q={Uri.EscapeDataString(body["name"]!.ToString()!)}&status=Draft");
        Assert.Equal([id], Ids(list));

        var variantId = read.GetProperty("variants")[0].Id();
        var changed = CampaignBody(segment, ["Sms"], priority: 80, variants: [new Dictionary<string, object?>(Variant("Prospects v2", "Prospects")) { ["id"] = variantId }]);
        using var stale = await admin.SendRawAsync(HttpMethod.Put, $"/api/v1/campaigns/{id}", JsonSerializer.Serialize(changed, Api.Json), "\"" + Guid.NewGuid().ToString("N") + "\"");
        await stale.ExpectAsync(HttpStatusCode.PreconditionFailed);
        using var updated = await admin.SendRawAsync(HttpMethod.Put, $"/api/v1/campaigns/{id}", JsonSerializer.Serialize(changed, Api.Json), etag);
        var after = await updated.ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(80, after.GetProperty("priority").GetInt32());
        Assert.Single(after.GetProperty("variants").EnumerateArray());
        Assert.Equal(variantId, after.GetProperty("variants")[0].Id());
        Assert.Equal("Prospects v2", after.GetProperty("variants")[0].Str("name"));

        // Paging: a page of one and its cursor (a second campaign, so there is a next page whichever tests ran before).
        using (var second = await PostAsync(admin, "/api/v1/campaigns", CampaignBody(segment))) await second.ExpectAsync(HttpStatusCode.Created);
        var page = await admin.GetJsonAsync("/api/v1/campaigns?limit=1&sort=Name");
        Assert.Single(page.Items());
        Assert.NotEqual(JsonValueKind.Null, page.GetProperty("nextCursor").ValueKind);
        var next = await admin.GetJsonAsync($"/api/v1/campaigns?limit=1&sort=Name&cursor={page.Str("nextCursor")}");
        Assert.NotEqual(Ids(page)[0], Ids(next)[0]);
    }

    [Fact]
    public async Task Marketing_submits_only_admins_and_managers_approve_and_sales_and_support_are_refused()
    {
        var marketing = await Fx.CreateUserAsync("Marketing", "All");
        var manager = await Fx.CreateUserAsync("Manager", "All");
        var sales = await Fx.CreateUserAsync("Sales", "All");
        var support = await Fx.CreateUserAsync("Support", "All");
        using var m = marketing.Client();
        using var boss = manager.Client();
        using var s = sales.Client();
        using var sup = support.Client();
        var segment = await StaticSegmentAsync(await SeedCustomersAsync(1));

        await s.GetJsonAsync("/api/v1/campaigns", HttpStatusCode.Forbidden);
        await sup.GetJsonAsync("/api/v1/contact-policy", HttpStatusCode.Forbidden);
        using (var r = await PostAsync(s, "/api/v1/campaigns", CampaignBody(segment))) await r.ExpectAsync(HttpStatusCode.Forbidden);

        var campaign = await m.PostJsonAsync("/api/v1/campaigns", CampaignBody(segment), HttpStatusCode.Created);
        var id = campaign.Id();
        await m.PostJsonAsync($"/api/v1/campaigns/{id}/submit", new { }, HttpStatusCode.OK);
        await m.PostJsonAsync($"/api/v1/campaigns/{id}/approve", new { }, HttpStatusCode.Forbidden);
        await s.PostJsonAsync($"/api/v1/campaigns/{id}/approve", new { }, HttpStatusCode.Forbidden);
        var noNote = await boss.PostJsonAsync($"/api/v1/campaigns/{id}/reject", new { }, HttpStatusCode.BadRequest);
        Assert.True(noNote.GetProperty("errors").TryGetProperty("note", out _));
        var rejected = await boss.PostJsonAsync($"/api/v1/campaigns/{id}/reject", new { note = "Subject too long" }, HttpStatusCode.OK);
        Assert.Equal("Draft", rejected.Str("status"));
        await m.PostJsonAsync($"/api/v1/campaigns/{id}/launch", new { }, HttpStatusCode.BadRequest);
        await m.PostJsonAsync($"/api/v1/campaigns/{id}/submit", new { }, HttpStatusCode.OK);
        var approved = await boss.PostJsonAsync($"/api/v1/campaigns/{id}/approve", new { note = "Go" }, HttpStatusCode.OK);
        Assert.Equal("Approved", approved.Str("status"));
        Assert.Equal(manager.Id, approved.GetProperty("approvedById").GetGuid());

        // An approved campaign is no longer edited.
        using (var get = await m.GetAsync($"/api/v1/campaigns/{id}"))
        {
            await get.ExpectAsync(HttpStatusCode.OK);
            using var put = await m.SendRawAsync(HttpMethod.Put, $"/api/v1/campaigns/{id}", JsonSerializer.Serialize(CampaignBody(segment), Api.Json), get.ETag());
            var errors = await put.ExpectValidationProblemAsync();
            Assert.Contains("status", errors.Keys);
        }

        // The audit trail names who did what, the rejection note included.
        var audit = await Fx.Admin().GetJsonAsync($"/api/v1/audit?entityType=campaign&entityId={id}");
        var text = audit.ToString();
        Assert.Contains("Subject too long", text);
        Assert.Contains("approved", text);
    }

    [Fact]
    public async Task Editing_a_submitted_campaign_sends_it_back_to_draft()
    {
        using var admin = Fx.Admin();
        var segment = await StaticSegmentAsync(await SeedCustomersAsync(1));
        var id = (await admin.PostJsonAsync("/api/v1/campaigns", CampaignBody(segment), HttpStatusCode.Created)).Id();
        using var submitted = await admin.PostAsync($"/api/v1/campaigns/{id}/submit", null);
        await submitted.ExpectAsync(HttpStatusCode.OK);
        using var put = await admin.SendRawAsync(HttpMethod.Put, $"/api/v1/campaigns/{id}", JsonSerializer.Serialize(CampaignBody(segment), Api.Json), submitted.ETag());
        var after = await put.ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("Draft", after.Str("status"));
        Assert.Equal(JsonValueKind.Null, after.GetProperty("submittedAt").ValueKind);
    }

    [Fact]
    public async Task Launching_now_runs_in_the_worker_and_cancelling_fails_the_queued_messages()
    {
        // Quiet hours from an hour ago to two hours ahead: the messages are planned then, so no sender takes them meanwhile.
        var utcNow = DateTime.UtcNow;
        await SetPolicyAsync(maxTotal: 10, maxEmail: 10, quietStart: utcNow.AddHours(-1).ToString("HH:mm", System.Globalization.CultureInfo.InvariantCulture),
            quietEnd: utcNow.AddHours(2).ToString("HH:mm", System.Globalization.CultureInfo.InvariantCulture), timeZone: "Etc/UTC");
        using var admin = Fx.Admin();
        var customers = await SeedCustomersAsync(5);
        var segment = await StaticSegmentAsync(customers);
        // Starts in the future: "now" launches at once anyway and moves the start; the worker runs the job.
        var campaign = await CreateApprovedAsync(CampaignBody(segment, startsAt: FutureDay(10)));
        var id = campaign.Id();
        var job = await admin.PostJsonAsync($"/api/v1/campaigns/{id}/launch", new { now = true }, HttpStatusCode.Accepted);
        await admin.PostJsonAsync($"/api/v1/campaigns/{id}/launch", new { now = true }, HttpStatusCode.BadRequest);
        var result = await WaitForJobAsync(admin, id, job.Id());
        Assert.Equal(5, result.GetProperty("reached").GetInt32());
        var running = await admin.GetJsonAsync($"/api/v1/campaigns/{id}");
        Assert.Equal("Running", running.Str("status"));
        Assert.NotEqual(JsonValueKind.Null, running.GetProperty("launchedAt").ValueKind);
        Assert.NotEqual(JsonValueKind.Null, running.GetProperty("audienceSeed").ValueKind);

        var planned = await MessagesAsync(id);
        Assert.All(planned, m => Assert.Equal(MessageStatus.Queued, m.Status));
        Assert.All(planned, m => Assert.True(m.PlannedAt > utcNow.AddHours(1.5), $"planned at {m.PlannedAt:O}, inside the quiet hours"));
        var cancelled = await admin.PostJsonAsync($"/api/v1/campaigns/{id}/cancel", new { note = "Wrong price" }, HttpStatusCode.OK);
        Assert.Equal("Cancelled", cancelled.Str("status"));
        var messages = await MessagesAsync(id);
        Assert.Equal(5, messages.Count);
        Assert.All(messages, m => Assert.Equal((MessageStatus.Failed, "cancelled"), (m.Status, m.Error)));
        await SetPolicyAsync();
    }

    [Fact]
    public async Task A_scheduled_launch_waits_for_its_start()
    {
        using var admin = Fx.Admin();
        var segment = await StaticSegmentAsync(await SeedCustomersAsync(2));
        var id = (await CreateApprovedAsync(CampaignBody(segment, startsAt: FutureDay(5)))).Id();
        var job = await admin.PostJsonAsync($"/api/v1/campaigns/{id}/launch", new { }, HttpStatusCode.Accepted);
        Assert.Equal("Scheduled", job.Str("stage"));
        // The worker polls at once when signalled; a due job would be claimed within this time.
        await Task.Delay(1500);
        var still = await admin.GetJsonAsync($"/api/v1/campaigns/{id}/jobs/{job.Id()}");
        Assert.Equal("Queued", still.Str("status"));
        Assert.Equal("Approved", (await admin.GetJsonAsync($"/api/v1/campaigns/{id}")).Str("status"));
        // Cancelling drops the scheduled launch.
        await admin.PostJsonAsync($"/api/v1/campaigns/{id}/cancel", new { }, HttpStatusCode.OK);
        Assert.Equal("Failed", (await admin.GetJsonAsync($"/api/v1/campaigns/{id}/jobs/{job.Id()}")).Str("status"));
    }

    [Fact]
    public async Task The_preview_renders_the_variant_each_customer_would_get()
    {
        using var admin = Fx.Admin();
        var ids = await SeedCustomersAsync(2, (i, c) =>
        {
            c.FirstName = i == 0 ? "Taras" : "Iryna";
            c.Status = i == 0 ? Kolo.Core.Customers.LifecycleStatus.Prospect : Kolo.Core.Customers.LifecycleStatus.Customer;
        });
        var segment = await StaticSegmentAsync(ids);
        var prospects = Variant("Welcome offer", "Prospects");
        var customers = Variant("Loyalty offer", "Customers");
        customers["emailBody"] = "<p>Thanks {{ customer.first_name }} ({{ customer.status }}) — {{ campaign.name }}</p>{% for o in offers %}{{ o.name }}{% endfor %}";
        var campaign = await admin.PostJsonAsync("/api/v1/campaigns", CampaignBody(segment, ["Email", "Sms"], variants: [prospects, customers]), HttpStatusCode.Created);
        var id = campaign.Id();

        var forProspect = await admin.PostJsonAsync($"/api/v1/campaigns/{id}/preview", new { customerId = ids[0], channel = "Email" }, HttpStatusCode.OK);
        Assert.Equal("Welcome offer", forProspect.Str("variantName"));
        Assert.Equal("Hello Taras", forProspect.Str("subject"));
        var forCustomer = await admin.PostJsonAsync($"/api/v1/campaigns/{id}/preview", new { customerId = ids[1], channel = "Email" }, HttpStatusCode.OK);
        Assert.Equal("Loyalty offer", forCustomer.Str("variantName"));
        Assert.Contains("Thanks Iryna (Customer) — " + campaign.Str("name"), forCustomer.Str("body"));
        var sms = await admin.PostJsonAsync($"/api/v1/campaigns/{id}/preview",
            new { customerId = ids[1], channel = "Sms", variantId = campaign.GetProperty("variants")[0].Id() }, HttpStatusCode.OK);
        Assert.Equal("Hi Iryna: Welcome offer", sms.Str("body"));
        await admin.PostJsonAsync($"/api/v1/campaigns/{id}/preview", new { customerId = Guid.NewGuid(), channel = "Email" }, HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task The_contact_policy_is_read_and_changed_with_If_Match()
    {
        using var admin = Fx.Admin();
        using var get = await admin.GetAsync("/api/v1/contact-policy");
        var policy = await get.ExpectAsync(HttpStatusCode.OK);
        Assert.True(policy.GetProperty("periodDays").GetInt32() > 0);
        var body = new { periodDays = 0, maxTotal = -1, maxEmail = -2, quietHoursStart = "25:00", quietHoursEnd = "09:00", timeZone = "Mars/Olympus" };
        using (var bad = await admin.SendRawAsync(HttpMethod.Put, "/api/v1/contact-policy", JsonSerializer.Serialize(body, Api.Json), get.ETag()))
        {
            var errors = await bad.ExpectValidationProblemAsync();
            foreach (var field in new[] { "periodDays", "maxTotal", "maxEmail", "quietHoursStart", "timeZone" }) Assert.Contains(field, errors.Keys);
        }
        var good = JsonSerializer.Serialize(new { periodDays = 14, maxTotal = 4, maxEmail = 3, maxSms = 1, quietHoursStart = "22:00", quietHoursEnd = "08:30", timeZone = "Europe/Kyiv" }, Api.Json);
        using (var missing = await admin.SendRawAsync(HttpMethod.Put, "/api/v1/contact-policy", good)) Assert.Equal(428, (int)missing.StatusCode);
        using (var stale = await admin.SendRawAsync(HttpMethod.Put, "/api/v1/contact-policy", good, "\"" + Guid.NewGuid().ToString("N") + "\""))
            await stale.ExpectAsync(HttpStatusCode.PreconditionFailed);
        using var ok = await admin.SendRawAsync(HttpMethod.Put, "/api/v1/contact-policy", good, get.ETag());
        var saved = await ok.ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(14, saved.GetProperty("periodDays").GetInt32());
        Assert.Equal("08:30", saved.Str("quietHoursEnd"));
        Assert.Equal(JsonValueKind.Null, saved.GetProperty("maxCall").ValueKind);
    }
}

[Collection("marketing-sqlite")]
public sealed class SqliteCampaignApiTests(SqliteFixture fx) : CampaignApiTests(fx);

[Collection("marketing-postgres")]
public sealed class PostgresCampaignApiTests(PostgresFixture fx) : CampaignApiTests(fx);
