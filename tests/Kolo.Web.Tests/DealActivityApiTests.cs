using System.Net;
using System.Text.Json;
using Kolo.Web.Tests.Infrastructure;

namespace Kolo.Web.Tests;

/// <summary>Deals at risk (idle too long), activity that clears it, and visit reports (POST /api/v1/visit-reports) whose next steps become tasks.</summary>
public abstract class DealActivityApiTests(KoloAppFixture fx) : ApiTestBase(fx)
{
    private sealed record Setup(TestPipeline Pipeline, TestUser Rep, Guid CustomerId, int AtRiskDays);

    private async Task<Setup> SetupAsync()
    {
        using var admin = Fx.Admin();
        var p = await admin.CreatePipelineAsync();
        var rep = await Fx.CreateUserAsync("Sales");
        var customer = Person();
        customer["ownerId"] = rep.Id;
        var days = (await admin.GetJsonAsync("/api/v1/sales/settings")).GetProperty("atRiskDays").GetInt32();
        return new Setup(p, rep, (await CreateAsync(customer)).Id(), days);
    }

    private static async Task<Guid> DealAsync(HttpClient client, Setup s) => (await client.CreateDealAsync(SalesApi.Deal(s.CustomerId, s.Pipeline.Id, 1_000))).Id();

    private static async Task<bool> AtRiskAsync(HttpClient client, Guid dealId) =>
        (await client.GetDealAsync(dealId)).Deal.GetProperty("atRisk").GetBoolean();

    [Fact]
    public async Task An_idle_deal_is_at_risk_until_an_interaction_about_it()
    {
        var s = await SetupAsync();
        using var client = s.Rep.Client();
        var fresh = await DealAsync(client, s);
        var idle = await DealAsync(client, s);
        var alsoIdle = await DealAsync(client, s);
        var now = TimelineApi.Now();
        await Fx.SetLastActivityAsync(idle, now.AddDays(-s.AtRiskDays - 5));
        await Fx.SetLastActivityAsync(alsoIdle, now.AddDays(-s.AtRiskDays - 5));

        Assert.False(await AtRiskAsync(client, fresh));
        Assert.True(await AtRiskAsync(client, idle));
        var listUrl = $"/api/v1/deals?pipelineId={s.Pipeline.Id}";
        Assert.Equal(new[] { idle, alsoIdle }.Order(), Ids(await client.GetJsonAsync(listUrl + "&atRisk=true")).Order());
        Assert.Equal([fresh], Ids(await client.GetJsonAsync(listUrl + "&atRisk=false")));

        // A contact that was itself long ago is activity, but not recent enough.
        var old = now.AddDays(-s.AtRiskDays - 1);
        await client.RecordAsync(new { customerId = s.CustomerId, type = "Call", subject = "Old call", occurredAt = TimelineApi.Iso(old), relatedType = "deal", relatedId = idle });
        var (deal, _) = await client.GetDealAsync(idle);
        Assert.True(deal.GetProperty("atRisk").GetBoolean());
        Assert.Equal(old, deal.GetProperty("lastActivityAt").GetDateTime().ToUniversalTime());

        // A call about the deal today clears it; a contact with the customer about nothing in particular does not touch other deals.
        await client.RecordAsync(new { customerId = s.CustomerId, type = "Call", subject = "Follow-up", relatedType = "deal", relatedId = idle });
        await client.RecordAsync(new { customerId = s.CustomerId, type = "Note", subject = "General chat" });
        Assert.False(await AtRiskAsync(client, idle));
        Assert.True(await AtRiskAsync(client, alsoIdle));
        Assert.Equal([alsoIdle], Ids(await client.GetJsonAsync(listUrl + "&atRisk=true")));

        // An older contact recorded later does not make the deal look idle again.
        await client.RecordAsync(new { customerId = s.CustomerId, type = "Email", subject = "Back-dated", occurredAt = TimelineApi.Iso(old), relatedType = "deal", relatedId = idle });
        Assert.False(await AtRiskAsync(client, idle));
    }

    [Fact]
    public async Task A_visit_report_logs_the_visit_makes_a_task_per_next_step_and_clears_the_risk()
    {
        var s = await SetupAsync();
        using var client = s.Rep.Client();
        var deal = await DealAsync(client, s);
        await Fx.SetLastActivityAsync(deal, TimelineApi.Now().AddDays(-s.AtRiskDays - 3));
        Assert.True(await AtRiskAsync(client, deal));
        var due = TimelineApi.Now().AddDays(2);

        var report = await client.PostJsonAsync("/api/v1/visit-reports", new
        {
            customerId = s.CustomerId, dealId = deal, outcome = "Demo went well", notes = "They want a pilot for two depots.", sentiment = "Positive",
            nextSteps = new object[] { new { title = "Send the pilot offer", dueAt = TimelineApi.Iso(due) }, new { title = "Book a call with their CFO" } },
        }, HttpStatusCode.Created);

        var visitId = report.GetProperty("interactionId").GetGuid();
        var visit = await client.GetJsonAsync($"/api/v1/interactions/{visitId}");
        Assert.Equal(("Visit", "Visit", "Visit: Demo went well"), (visit.Str("type"), visit.Str("channel"), visit.Str("subject")));
        Assert.Equal(("Demo went well", "Positive", s.CustomerId), (visit.Str("outcome"), visit.Str("sentiment"), visit.GetProperty("customerId").GetGuid()));
        Assert.Equal(("deal", deal), (visit.Str("relatedType"), visit.GetProperty("relatedId").GetGuid()));
        Assert.Contains("pilot", visit.Str("body"), StringComparison.Ordinal);

        var taskIds = report.GetProperty("taskIds").EnumerateArray().Select(t => t.GetGuid()).ToList();
        Assert.Equal(2, taskIds.Count);
        var tasks = new List<JsonElement>();
        foreach (var id in taskIds) tasks.Add((await client.GetTaskAsync(id)).Task);
        Assert.Equal(["Send the pilot offer", "Book a call with their CFO"], tasks.Select(t => t.Str("title")));
        Assert.Equal(due, tasks[0].GetProperty("dueAt").GetDateTime().ToUniversalTime());
        Assert.Equal(JsonValueKind.Null, tasks[1].GetProperty("dueAt").ValueKind);
        Assert.All(tasks, t =>
        {
            Assert.Equal((s.Rep.Id, s.CustomerId), (t.GetProperty("assigneeId").GetGuid(), t.GetProperty("customerId").GetGuid()));
            Assert.Equal(("deal", deal), (t.Str("relatedType"), t.GetProperty("relatedId").GetGuid()));
        });

        Assert.False(await AtRiskAsync(client, deal));
        Assert.Equal([visitId], (await client.TimelineAsync(s.CustomerId, "&kind=interaction")).Select(e => e.Id()));
        Assert.Equal(taskIds.Order(), (await client.TimelineAsync(s.CustomerId, "&kind=task")).Select(e => e.Id()).Order());
    }

    [Fact]
    public async Task A_visit_without_a_deal_ties_its_tasks_to_the_visit_and_bad_reports_record_nothing()
    {
        var s = await SetupAsync();
        using var client = s.Rep.Client();
        var report = await client.PostJsonAsync("/api/v1/visit-reports",
            new { customerId = s.CustomerId, outcome = "Introduced ourselves", nextSteps = new[] { new { title = "Send the catalogue" } } }, HttpStatusCode.Created);
        var visitId = report.GetProperty("interactionId").GetGuid();
        var task = (await client.GetTaskAsync(Assert.Single(report.GetProperty("taskIds").EnumerateArray()).GetGuid())).Task;
        Assert.Equal(("interaction", visitId), (task.Str("relatedType"), task.GetProperty("relatedId").GetGuid()));

        foreach (var (body, field) in new (object, string)[]
                 {
                     (new { customerId = s.CustomerId, outcome = "Fine", nextSteps = new[] { new { title = " " } } }, "nextSteps[0].title"),
                     (new { customerId = s.CustomerId, nextSteps = Array.Empty<object>() }, "outcome"),
                     (new { outcome = "Fine" }, "customerId"),
                 })
        {
            using var response = await client.SendRawAsync(HttpMethod.Post, "/api/v1/visit-reports", JsonSerializer.Serialize(body, Api.Json));
            Assert.Contains(field, (await response.ExpectValidationProblemAsync()).Keys);
        }
        Assert.Equal([visitId], (await client.TimelineAsync(s.CustomerId, "&kind=interaction")).Select(e => e.Id()));
        Assert.Single(await client.TimelineAsync(s.CustomerId, "&kind=task"));
    }
}

[Collection("sqlite")]
public sealed class SqliteDealActivityApiTests(SqliteFixture fx) : DealActivityApiTests(fx);

[Collection("postgres")]
public sealed class PostgresDealActivityApiTests(PostgresFixture fx) : DealActivityApiTests(fx);
