using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Kolo.Web.Tests.Infrastructure;

namespace Kolo.Web.Tests;

/// <summary>POST /api/v1/users/{id}/hand-over and deactivating a user: everything moves, nothing else does, nothing is lost.</summary>
public abstract class HandOverApiTests(KoloAppFixture fx) : ApiTestBase(fx)
{
    private async Task<Guid> CustomerOfAsync(TestUser owner)
    {
        var body = Person();
        body["ownerId"] = owner.Id;
        return (await CreateAsync(body)).Id();
    }

    private static async Task<Guid> TaskAsync(HttpClient admin, string title, Guid assigneeId, Guid? customerId, bool done = false)
    {
        var id = (await admin.PostJsonAsync("/api/v1/tasks", new { title, assigneeId, customerId }, HttpStatusCode.Created)).Id();
        if (done)
        {
            using var complete = await admin.PostAsync($"/api/v1/tasks/{id}/complete", null);
            await complete.ExpectAsync(HttpStatusCode.OK);
        }
        return id;
    }

    private static async Task<Guid?> OwnerAsync(HttpClient admin, Guid customerId)
    {
        var customer = await admin.GetJsonAsync($"/api/v1/customers/{customerId}");
        return customer.GetProperty("ownerId").ValueKind == JsonValueKind.Null ? null : customer.GetProperty("ownerId").GetGuid();
    }

    private static async Task<Guid> AssigneeAsync(HttpClient admin, Guid taskId) =>
        (await admin.GetJsonAsync($"/api/v1/tasks/{taskId}")).GetProperty("assigneeId").GetGuid();

    private static async Task DeactivateAsync(HttpClient admin, TestUser user) =>
        await admin.PutJsonAsync($"/api/v1/users/{user.Id}",
            new { email = user.Email, displayName = user.DisplayName, role = user.Role, active = false }, HttpStatusCode.OK);

    [Fact]
    public async Task Handing_over_everything_moves_the_users_customers_and_open_tasks_and_nothing_else()
    {
        var from = await Fx.CreateUserAsync("Sales");
        var to = await Fx.CreateUserAsync("Sales");
        var colleague = await Fx.CreateUserAsync("Sales");
        var manager = await Fx.CreateUserAsync("Manager");
        var mine = new[] { await CustomerOfAsync(from), await CustomerOfAsync(from), await CustomerOfAsync(from) };
        var theirs = await CustomerOfAsync(colleague);
        using var admin = Fx.Admin();
        var openOnMine = await TaskAsync(admin, "Open on mine", from.Id, mine[0]);
        var doneOnMine = await TaskAsync(admin, "Done on mine", from.Id, mine[0], done: true);
        var openOnTheirs = await TaskAsync(admin, "Open on a colleague's customer", from.Id, theirs);
        var openWithoutCustomer = await TaskAsync(admin, "Open, no customer", from.Id, null);
        var colleaguesOnMine = await TaskAsync(admin, "Colleague's task on mine", colleague.Id, mine[1]);
        var colleaguesOnTheirs = await TaskAsync(admin, "Colleague's own", colleague.Id, theirs);

        using var client = manager.Client();
        var result = await client.PostJsonAsync($"/api/v1/users/{from.Id}/hand-over", new { toUserId = to.Id }, HttpStatusCode.OK);
        Assert.Equal(3, result.GetProperty("customers").GetInt32());
        Assert.Equal(3, result.GetProperty("tasks").GetInt32());

        foreach (var id in mine) Assert.Equal(to.Id, await OwnerAsync(admin, id));
        Assert.Equal(colleague.Id, await OwnerAsync(admin, theirs));
        // All the user's open work goes along, wherever it belongs; finished work and other people's tasks stay.
        Assert.Equal(to.Id, await AssigneeAsync(admin, openOnMine));
        Assert.Equal(to.Id, await AssigneeAsync(admin, openOnTheirs));
        Assert.Equal(to.Id, await AssigneeAsync(admin, openWithoutCustomer));
        Assert.Equal(from.Id, await AssigneeAsync(admin, doneOnMine));
        Assert.Equal(colleague.Id, await AssigneeAsync(admin, colleaguesOnMine));
        Assert.Equal(colleague.Id, await AssigneeAsync(admin, colleaguesOnTheirs));

        // Audited per customer and per task, old owner → new.
        foreach (var id in mine)
        {
            var audit = await admin.GetJsonAsync($"/api/v1/audit?entityType=customer&entityId={id}");
            var change = Assert.Single(audit.Items().SelectMany(e => e.GetProperty("changes").EnumerateArray()), c => c.Str("field") == "ownerId" && c.Str("new") == to.Id.ToString());
            Assert.Equal(from.Id.ToString(), change.Str("old"));
        }
        var taskAudit = await admin.GetJsonAsync($"/api/v1/audit?entityType=task&entityId={openOnMine}");
        Assert.Contains(taskAudit.Items().SelectMany(e => e.GetProperty("changes").EnumerateArray()),
            c => c.Str("field") == "assigneeId" && c.Str("old") == from.Id.ToString() && c.Str("new") == to.Id.ToString());

        // The receiver is told, and now sees the customers; the previous owner no longer does.
        using var toClient = to.Client();
        var notification = Assert.Single((await toClient.GetJsonAsync("/api/v1/notifications")).Items());
        Assert.Contains(from.DisplayName, notification.Str("title"), StringComparison.Ordinal);
        Assert.Contains("3", notification.Str("title"), StringComparison.Ordinal);
        Assert.Equal(3, (await toClient.GetJsonAsync("/api/v1/tasks?assignee=me&status=Open")).Items().Count());
        await toClient.GetJsonAsync($"/api/v1/customers/{mine[2]}/timeline");
        using var fromClient = from.Client();
        await fromClient.GetJsonAsync($"/api/v1/customers/{mine[2]}/timeline", HttpStatusCode.NotFound);
        using var colleagueClient = colleague.Client();
        Assert.Empty((await colleagueClient.GetJsonAsync("/api/v1/notifications")).Items());
    }

    [Fact]
    public async Task Handing_over_chosen_customers_moves_only_those_and_their_open_tasks()
    {
        var from = await Fx.CreateUserAsync("Sales");
        var to = await Fx.CreateUserAsync("Sales");
        var other = await Fx.CreateUserAsync("Sales");
        var chosen = await CustomerOfAsync(from);
        var kept = await CustomerOfAsync(from);
        var foreign = await CustomerOfAsync(other);
        using var admin = Fx.Admin();
        var onChosen = await TaskAsync(admin, "On chosen", from.Id, chosen);
        var doneOnChosen = await TaskAsync(admin, "Done on chosen", from.Id, chosen, done: true);
        var onKept = await TaskAsync(admin, "On kept", from.Id, kept);
        var loose = await TaskAsync(admin, "No customer", from.Id, null);

        // A customer the user does not own spoils the whole request: nothing moves.
        using (var refused = await admin.PostAsJsonAsync($"/api/v1/users/{from.Id}/hand-over", new { toUserId = to.Id, customerIds = new[] { chosen, foreign } }, Api.Json))
            Assert.Contains("customerIds", (await refused.ExpectValidationProblemAsync()).Keys);
        Assert.Equal(from.Id, await OwnerAsync(admin, chosen));
        Assert.Equal(other.Id, await OwnerAsync(admin, foreign));
        Assert.Equal(from.Id, await AssigneeAsync(admin, onChosen));

        var result = await admin.PostJsonAsync($"/api/v1/users/{from.Id}/hand-over", new { toUserId = to.Id, customerIds = new[] { chosen } }, HttpStatusCode.OK);
        Assert.Equal(1, result.GetProperty("customers").GetInt32());
        Assert.Equal(1, result.GetProperty("tasks").GetInt32());
        Assert.Equal(to.Id, await OwnerAsync(admin, chosen));
        Assert.Equal(from.Id, await OwnerAsync(admin, kept));
        Assert.Equal(to.Id, await AssigneeAsync(admin, onChosen));
        Assert.Equal(from.Id, await AssigneeAsync(admin, doneOnChosen));
        Assert.Equal(from.Id, await AssigneeAsync(admin, onKept));
        Assert.Equal(from.Id, await AssigneeAsync(admin, loose));
        var audit = await admin.GetJsonAsync($"/api/v1/audit?entityType=customer&entityId={kept}");
        Assert.DoesNotContain(audit.Items().SelectMany(e => e.GetProperty("changes").EnumerateArray()), c => c.Str("field") == "ownerId" && c.Str("new") == to.Id.ToString());
    }

    [Fact]
    public async Task Only_managers_hand_over_and_only_to_an_active_other_user()
    {
        var from = await Fx.CreateUserAsync("Sales");
        var to = await Fx.CreateUserAsync("Sales");
        var gone = await Fx.CreateUserAsync("Sales");
        var customer = await CustomerOfAsync(from);
        using var admin = Fx.Admin();
        await DeactivateAsync(admin, gone);

        foreach (var role in new[] { "Sales", "Support", "Marketing" })
        {
            var user = await Fx.CreateUserAsync(role);
            using var client = user.Client();
            using var refused = await client.PostAsJsonAsync($"/api/v1/users/{from.Id}/hand-over", new { toUserId = to.Id }, Api.Json);
            await refused.ExpectAsync(HttpStatusCode.Forbidden);
        }
        // Not even a user handing over their own customers.
        using (var fromClient = from.Client())
        using (var own = await fromClient.PostAsJsonAsync($"/api/v1/users/{from.Id}/hand-over", new { toUserId = to.Id }, Api.Json))
            await own.ExpectAsync(HttpStatusCode.Forbidden);

        async Task<IReadOnlyDictionary<string, string[]>> Invalid(object body)
        {
            using var response = await admin.PostAsJsonAsync($"/api/v1/users/{from.Id}/hand-over", body, Api.Json);
            return await response.ExpectValidationProblemAsync();
        }
        Assert.Contains("toUserId", (await Invalid(new { toUserId = gone.Id })).Keys);
        Assert.Contains("toUserId", (await Invalid(new { toUserId = Guid.NewGuid() })).Keys);
        Assert.Contains("toUserId", (await Invalid(new { toUserId = from.Id })).Keys);
        Assert.Contains("toUserId", (await Invalid(new { })).Keys);
        await admin.PostJsonAsync($"/api/v1/users/{Guid.NewGuid()}/hand-over", new { toUserId = to.Id }, HttpStatusCode.NotFound);
        Assert.Equal(from.Id, await OwnerAsync(admin, customer));
    }

    [Fact]
    public async Task A_deactivated_user_is_locked_out_but_their_history_remains_and_can_be_handed_over()
    {
        var leaving = await Fx.CreateUserAsync("Sales");
        var successor = await Fx.CreateUserAsync("Sales");
        var customer = await CustomerOfAsync(leaving);
        string personalToken;
        Guid interactionId, taskId;
        using (var client = leaving.Client())
        {
            interactionId = (await client.RecordAsync(new { customerId = customer, type = "Meeting", subject = "Promised a sample" })).GetProperty("interaction").Id();
            taskId = (await client.PostJsonAsync("/api/v1/tasks", new { title = "Send the sample", customerId = customer, dueAt = TimelineApi.Iso(TimelineApi.Now().AddDays(4)) }, HttpStatusCode.Created)).Id();
            personalToken = (await client.PostJsonAsync("/api/v1/tokens", new { name = "script" }, HttpStatusCode.Created)).Str("token");
        }
        using var admin = Fx.Admin();
        await DeactivateAsync(admin, leaving);

        foreach (var token in new[] { leaving.Token, personalToken })
        {
            using var blocked = Fx.ClientWithToken(token);
            using var me = await blocked.GetAsync("/api/v1/me");
            Assert.Equal(HttpStatusCode.Unauthorized, me.StatusCode);
            using var timeline = await blocked.GetAsync($"/api/v1/customers/{customer}/timeline");
            Assert.Equal(HttpStatusCode.Unauthorized, timeline.StatusCode);
        }
        using (var anonymous = Fx.Anonymous())
        using (var signIn = await anonymous.PostAsJsonAsync("/api/v1/auth/token", new { email = leaving.Email, password = KoloAppFixture.UserPassword }))
            Assert.Equal(HttpStatusCode.Unauthorized, signIn.StatusCode);

        // Their history is still there, with their name.
        var interaction = await admin.GetJsonAsync($"/api/v1/interactions/{interactionId}");
        Assert.Equal(leaving.Id, interaction.GetProperty("userId").GetGuid());
        Assert.Equal(leaving.DisplayName, interaction.Str("userName"));
        var entries = await admin.TimelineAsync(customer);
        Assert.Equal(leaving.DisplayName, entries.Single(e => e.Id() == interactionId).Str("userName"));
        Assert.Contains(entries, e => e.Id() == taskId);
        Assert.Equal(leaving.Id, await AssigneeAsync(admin, taskId));
        // No new work can be given to them.
        using (var assign = await admin.PostAsJsonAsync("/api/v1/tasks", new { title = "For the leaver", assigneeId = leaving.Id }, Api.Json))
            Assert.Contains("assigneeId", (await assign.ExpectValidationProblemAsync()).Keys);

        // Their promises are handed to a successor.
        var result = await admin.PostJsonAsync($"/api/v1/users/{leaving.Id}/hand-over", new { toUserId = successor.Id }, HttpStatusCode.OK);
        Assert.Equal(1, result.GetProperty("customers").GetInt32());
        Assert.Equal(1, result.GetProperty("tasks").GetInt32());
        using var successorClient = successor.Client();
        Assert.Equal([taskId], Ids(await successorClient.GetJsonAsync("/api/v1/tasks?assignee=me")));
        Assert.Equal(leaving.DisplayName, (await successorClient.GetJsonAsync($"/api/v1/interactions/{interactionId}")).Str("userName"));
    }
}

[Collection("sqlite")]
public sealed class SqliteHandOverApiTests(SqliteFixture fx) : HandOverApiTests(fx);

[Collection("postgres")]
public sealed class PostgresHandOverApiTests(PostgresFixture fx) : HandOverApiTests(fx);
