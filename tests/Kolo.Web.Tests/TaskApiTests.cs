using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Kolo.Core.Data;
using Kolo.Core.Tasks;
using Kolo.Web.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kolo.Web.Tests;

/// <summary>/api/v1/tasks, reminders (in-app and e-mail, each exactly once) and notifications.</summary>
public abstract class TaskApiTests(KoloAppFixture fx) : ApiTestBase(fx)
{
    // Reminder times in these tests are in the past or at least a day ahead, except in the e-mail test, which owns
    // the window of the next half hour: its shifted clock must not claim another test's reminder.

    private static async Task<JsonElement> CreateTaskAsync(HttpClient client, object body) =>
        await client.PostJsonAsync("/api/v1/tasks", body, HttpStatusCode.Created);

    private async Task<Guid> CustomerOfAsync(TestUser owner)
    {
        var body = Person();
        body["ownerId"] = owner.Id;
        return (await CreateAsync(body)).Id();
    }

    private ReminderService Reminders => Fx.Factory.Services.GetRequiredService<ReminderService>();

    private static async Task<List<JsonElement>> NotificationsAsync(HttpClient client, string query = "") =>
        await client.AllPagesAsync("/api/v1/notifications" + query, 200);

    [Fact]
    public async Task Done_tasks_list_latest_completed_first_across_pages()
    {
        var user = await Fx.CreateUserAsync("Sales");
        using var client = user.Client();
        var now = TimelineApi.Now();
        var ids = new List<Guid>();
        // Completed in an order unlike their due dates: the history follows completion, not due date.
        foreach (var days in new[] { 3, 1, 2 })
        {
            var id = (await CreateTaskAsync(client, new { title = $"Due in {days}", dueAt = TimelineApi.Iso(now.AddDays(days)) })).Id();
            using (var complete = await client.PostAsync($"/api/v1/tasks/{id}/complete", null))
                await complete.ExpectAsync(HttpStatusCode.OK);
            ids.Add(id);
        }
        var open = (await CreateTaskAsync(client, new { title = "Still open" })).Id();

        var history = await client.AllPagesAsync("/api/v1/tasks?assignee=me&status=done&sort=-completedAt", 2);
        Assert.Equal([ids[2], ids[1], ids[0]], history.Select(t => t.Id()).ToList());
        var all = await client.AllPagesAsync("/api/v1/tasks?assignee=me&sort=-completedAt", 2);
        Assert.Equal([ids[2], ids[1], ids[0], open], all.Select(t => t.Id()).ToList());
        using var bad = await client.GetAsync("/api/v1/tasks?sort=title");
        await bad.ExpectAsync(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Creating_a_task_answers_201_with_Location_and_ETag_and_validates()
    {
        var user = await Fx.CreateUserAsync("Sales");
        var customerId = await CustomerOfAsync(user);
        using var client = user.Client();
        var due = TimelineApi.Now().AddDays(3);
        using var response = await client.PostAsJsonAsync("/api/v1/tasks", new
        {
            title = "  Call about renewal  ", notes = "Mention the discount", dueAt = TimelineApi.Iso(due), remindAt = TimelineApi.Iso(due.AddHours(-2)),
            priority = "High", customerId, emailReminder = true,
        }, Api.Json);
        var task = await response.ExpectAsync(HttpStatusCode.Created);
        Assert.Equal($"/api/v1/tasks/{task.Id()}", response.Headers.Location?.OriginalString);
        Assert.Equal($"\"{task.GetProperty("version").GetGuid():N}\"", response.ETag());
        Assert.Equal("Call about renewal", task.Str("title"));
        Assert.Equal(user.Id, task.GetProperty("assigneeId").GetGuid());
        Assert.Equal(user.DisplayName, task.Str("assigneeName"));
        Assert.Equal(customerId, task.GetProperty("customerId").GetGuid());
        Assert.Equal("High", task.Str("priority"));
        Assert.Equal("Open", task.Str("status"));
        Assert.True(task.GetProperty("emailReminder").GetBoolean());
        Assert.Equal(due, task.GetProperty("dueAt").GetDateTime().ToUniversalTime());
        var (read, etag) = await client.GetTaskAsync(task.Id());
        Assert.Equal(response.ETag(), etag);
        Assert.Equal("Mention the discount", read.Str("notes"));

        async Task<IReadOnlyDictionary<string, string[]>> Refused(object body)
        {
            using var r = await client.PostAsJsonAsync("/api/v1/tasks", body, Api.Json);
            return await r.ExpectValidationProblemAsync();
        }
        Assert.Contains("title", (await Refused(new { notes = "no title" })).Keys);
        Assert.Contains("remindAt", (await Refused(new { title = "x", dueAt = TimelineApi.Iso(due), remindAt = TimelineApi.Iso(due.AddHours(1)) })).Keys);
        Assert.Contains("assigneeId", (await Refused(new { title = "x", assigneeId = Guid.NewGuid() })).Keys);
        Assert.Contains("customerId", (await Refused(new { title = "x", customerId = Guid.NewGuid() })).Keys);
        Assert.Contains("relatedId", (await Refused(new { title = "x", relatedType = "order" })).Keys);
    }

    [Fact]
    public async Task The_list_filters_by_assignee_customer_status_and_due_range_ordered_by_due_date_with_undated_last()
    {
        var user = await Fx.CreateUserAsync("Sales");
        var c1 = await CustomerOfAsync(user);
        var c2 = await CustomerOfAsync(user);
        using var client = user.Client();
        using var admin = Fx.Admin();
        var now = TimelineApi.Now();
        var undatedA = (await CreateTaskAsync(client, new { title = "Undated A", customerId = c1 })).Id();
        var in3 = (await CreateTaskAsync(client, new { title = "In 3 days", customerId = c1, dueAt = TimelineApi.Iso(now.AddDays(3)) })).Id();
        var in1 = (await CreateTaskAsync(client, new { title = "Tomorrow", customerId = c2, dueAt = TimelineApi.Iso(now.AddDays(1)) })).Id();
        var late = (await CreateTaskAsync(client, new { title = "Late", customerId = c1, dueAt = TimelineApi.Iso(now.AddDays(-1)) })).Id();
        var undatedB = (await CreateTaskAsync(client, new { title = "Undated B" })).Id();
        var done = (await CreateTaskAsync(client, new { title = "Done", customerId = c1, dueAt = TimelineApi.Iso(now.AddDays(2)) })).Id();
        using (var complete = await client.PostAsync($"/api/v1/tasks/{done}/complete", null))
            await complete.ExpectAsync(HttpStatusCode.OK);
        // Someone else's task about the user's customer: not "mine", but listed for the customer.
        var colleagues = (await CreateTaskAsync(admin, new { title = "Colleague's", customerId = c1, dueAt = TimelineApi.Iso(now.AddDays(4)) })).Id();

        var undated = new[] { undatedA, undatedB }.Order().ToList(); // ties by id
        List<Guid> expectedMine = [late, in1, done, in3, .. undated];
        Assert.Equal(expectedMine, Ids(await client.GetJsonAsync("/api/v1/tasks?assignee=me")));
        Assert.Equal(expectedMine, Ids(await admin.GetJsonAsync($"/api/v1/tasks?assignee={user.Id}")));
        Assert.Equal(expectedMine.Where(id => id != done), Ids(await client.GetJsonAsync("/api/v1/tasks?assignee=me&status=Open")));
        Assert.Equal([done], Ids(await client.GetJsonAsync("/api/v1/tasks?assignee=me&status=done")));
        Assert.Equal([late, done, in3, colleagues, undatedA], Ids(await client.GetJsonAsync($"/api/v1/tasks?customer={c1}")));
        Assert.Equal([in1], Ids(await client.GetJsonAsync($"/api/v1/tasks?customer={c2}")));
        var from = Uri.EscapeDataString(TimelineApi.Iso(now));
        var to = Uri.EscapeDataString(TimelineApi.Iso(now.AddDays(2.5)));
        Assert.Equal([in1, done], Ids(await client.GetJsonAsync($"/api/v1/tasks?assignee=me&dueFrom={from}&dueTo={to}")));
        Assert.Equal([in3, .. undated], Ids(await client.GetJsonAsync($"/api/v1/tasks?assignee=me&dueFrom={to}")));
        Assert.Equal([late], Ids(await client.GetJsonAsync($"/api/v1/tasks?assignee=me&dueTo={from}")));
        var late1 = Assert.Single((await client.GetJsonAsync($"/api/v1/tasks?assignee=me&dueTo={from}")).Items());
        Assert.True(late1.GetProperty("overdue").GetBoolean());

        // Keyset paging walks the same order, every page but the last full.
        foreach (var limit in new[] { 1, 2, 4 })
            Assert.Equal(expectedMine, (await client.AllPagesAsync("/api/v1/tasks?assignee=me", limit)).Select(t => t.Id()));
        // Words of the title, in any case, within the other filters.
        Assert.Equal(undated, Ids(await client.GetJsonAsync("/api/v1/tasks?assignee=me&q=undATED")));
        Assert.Equal([undatedA], Ids(await client.GetJsonAsync($"/api/v1/tasks?customer={c1}&q=undated")));
        Assert.Equal([in3], (await client.AllPagesAsync("/api/v1/tasks?assignee=me&q=%203%20days", 1)).Select(t => t.Id()));

        foreach (var (query, field) in new[] { ("status=Later", "status"), ("status=1", "status"), ("assignee=you", "assignee"), ("cursor=%21%21", "cursor"), ("limit=0", "limit") })
        {
            using var response = await client.GetAsync($"/api/v1/tasks?{query}");
            Assert.Contains(field, (await response.ExpectValidationProblemAsync()).Keys);
        }
    }

    [Fact]
    public async Task Patch_requires_If_Match_and_refuses_a_stale_version()
    {
        var user = await Fx.CreateUserAsync("Support");
        using var client = user.Client();
        var task = await CreateTaskAsync(client, new { title = "Original" });
        var (_, etag) = await client.GetTaskAsync(task.Id());

        using (var missing = await client.PatchAsync($"/api/v1/tasks/{task.Id()}", new { title = "No header" }, null))
            await missing.ExpectAsync((HttpStatusCode)428);
        string next;
        using (var ok = await client.PatchAsync($"/api/v1/tasks/{task.Id()}", new { title = "Renamed", priority = "Urgent" }, etag))
        {
            var body = await ok.ExpectAsync(HttpStatusCode.OK);
            Assert.Equal("Renamed", body.Str("title"));
            Assert.Equal("Urgent", body.Str("priority"));
            next = ok.ETag();
            Assert.NotEqual(etag, next);
        }
        using (var stale = await client.PatchAsync($"/api/v1/tasks/{task.Id()}", new { title = "Lost update" }, etag))
            await stale.ExpectAsync(HttpStatusCode.PreconditionFailed);
        using (var garbage = await client.PatchAsync($"/api/v1/tasks/{task.Id()}", new { title = "Lost update" }, "\"nope\""))
            await garbage.ExpectAsync(HttpStatusCode.PreconditionFailed);
        using (var unknownField = await client.PatchAsync($"/api/v1/tasks/{task.Id()}", new { status = "Done" }, next))
            await unknownField.ExpectAsync(HttpStatusCode.BadRequest);
        var (read, current) = await client.GetTaskAsync(task.Id());
        Assert.Equal("Renamed", read.Str("title"));
        Assert.Equal("Open", read.Str("status"));
        Assert.Equal(next, current);
        using (var notFound = await client.PatchAsync($"/api/v1/tasks/{Guid.NewGuid()}", new { title = "x" }, next))
            await notFound.ExpectAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Completing_with_an_outcome_logs_the_call_on_the_timeline_in_the_same_step_and_can_be_reopened()
    {
        var user = await Fx.CreateUserAsync("Sales");
        var customerId = await CustomerOfAsync(user);
        using var client = user.Client();
        var title = "Confirm delivery date " + Unique.Word(5);
        var task = await CreateTaskAsync(client, new { title, customerId, dueAt = TimelineApi.Iso(TimelineApi.Now().AddDays(1)) });
        var (_, etag) = await client.GetTaskAsync(task.Id());

        // Completing needs no If-Match; reopening undoes it; a stale If-Match is refused.
        using (var first = await client.PostAsJsonAsync($"/api/v1/tasks/{task.Id()}/complete", new { outcome = "first try" }, Api.Json))
            Assert.Equal("Done", (await first.ExpectAsync(HttpStatusCode.OK)).Str("status"));
        var reopened = await client.PostJsonAsync($"/api/v1/tasks/{task.Id()}/reopen", new { }, HttpStatusCode.OK);
        Assert.Equal("Open", reopened.Str("status"));
        Assert.Equal(JsonValueKind.Null, reopened.GetProperty("completedAt").ValueKind);
        using (var staleMatch = await client.SendRawAsync(HttpMethod.Post, $"/api/v1/tasks/{task.Id()}/complete", "{}", etag))
            await staleMatch.ExpectAsync(HttpStatusCode.PreconditionFailed);

        var (_, current) = await client.GetTaskAsync(task.Id());
        using var done = await client.SendRawAsync(HttpMethod.Post, $"/api/v1/tasks/{task.Id()}/complete",
            JsonSerializer.Serialize(new { outcome = "Delivery on Friday", logInteraction = "Call" }), current);
        var completed = await done.ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("Done", completed.Str("status"));
        Assert.Equal("Delivery on Friday", completed.Str("outcome"));
        Assert.NotEqual(JsonValueKind.Null, completed.GetProperty("completedAt").ValueKind);
        Assert.False(completed.GetProperty("overdue").GetBoolean());

        var calls = (await client.TimelineAsync(customerId, "&kind=interaction")).Where(e => e.Str("type") == "Call").ToList();
        var call = Assert.Single(calls);
        Assert.Equal(title, call.Str("title"));
        Assert.Equal("Delivery on Friday", call.Str("summary"));
        Assert.Equal(user.Id, call.GetProperty("userId").GetGuid());
        // Logged like any call: on the phone channel, so the card's channel filter finds it.
        Assert.Equal("Phone", call.Str("channel"));
        Assert.Equal([call.Id()], (await client.TimelineAsync(customerId, "&channel=Phone")).Select(e => e.Id()));
        var taskEntry = Assert.Single(await client.TimelineAsync(customerId, "&kind=task"), e => e.Id() == task.Id());
        Assert.Equal("Done", taskEntry.Str("status"));

        // Completing again is refused and logs nothing more.
        using (var twice = await client.PostAsJsonAsync($"/api/v1/tasks/{task.Id()}/complete", new { outcome = "again", logInteraction = "Call" }, Api.Json))
            Assert.Contains("status", (await twice.ExpectValidationProblemAsync()).Keys);
        Assert.Single(await client.TimelineAsync(customerId, "&kind=interaction"), e => e.Str("type") == "Call");

        var again = await client.PostJsonAsync($"/api/v1/tasks/{task.Id()}/reopen", new { }, HttpStatusCode.OK);
        Assert.Equal("Open", again.Str("status"));
        Assert.Equal(JsonValueKind.Null, again.GetProperty("completedAt").ValueKind);

        // Without a customer there is no one to log the contact with.
        var loose = await CreateTaskAsync(client, new { title = "Tidy the desk" });
        using (var refused = await client.PostAsJsonAsync($"/api/v1/tasks/{loose.Id()}/complete", new { logInteraction = "Call" }, Api.Json))
            Assert.Contains("logInteraction", (await refused.ExpectValidationProblemAsync()).Keys);
        Assert.Equal("Open", (await client.GetTaskAsync(loose.Id())).Task.Str("status"));
    }

    [Fact]
    public async Task The_summary_counts_overdue_today_and_upcoming_in_the_users_time_zone()
    {
        var user = await Fx.CreateUserAsync("Sales");
        using var client = user.Client();
        using var admin = Fx.Admin();
        var zones = new[] { "UTC", "Europe/Kyiv", "America/New_York", "America/Los_Angeles", "Asia/Kolkata", "Asia/Tokyo", "Pacific/Auckland" }
            .Select(TimeZoneInfo.FindSystemTimeZoneById).ToList();
        var now = DateTime.UtcNow;
        // The zone where it is nearest noon, so "later today" leaves hours of margin.
        var home = zones.MinBy(z => Math.Abs((TimeZoneInfo.ConvertTimeFromUtc(now, z).TimeOfDay - TimeSpan.FromHours(12)).TotalMinutes))!;
        DateTime TomorrowStart(TimeZoneInfo zone) => TimeZoneInfo.ConvertTimeToUtc(TimeZoneInfo.ConvertTimeFromUtc(now, zone).Date.AddDays(1), zone);
        var laterToday = TomorrowStart(home).AddHours(-1);

        var dues = new[] { now.AddHours(-1), now.AddMinutes(-5), laterToday, now.AddDays(3), now.AddDays(9) };
        foreach (var due in dues) await CreateTaskAsync(client, new { title = "Due " + due.ToString("O"), dueAt = due.ToString("O") });
        await CreateTaskAsync(client, new { title = "Whenever" });
        var finished = await CreateTaskAsync(client, new { title = "Finished late one", dueAt = now.AddDays(-2).ToString("O") });
        using (var complete = await client.PostAsync($"/api/v1/tasks/{finished.Id()}/complete", null))
            await complete.ExpectAsync(HttpStatusCode.OK);
        await CreateTaskAsync(admin, new { title = "Not theirs", dueAt = now.AddHours(-3).ToString("O") });

        var seen = new HashSet<(int, int)>();
        foreach (var zone in zones)
        {
            var tomorrow = TomorrowStart(zone);
            var summary = await client.GetJsonAsync($"/api/v1/tasks/summary?timeZone={Uri.EscapeDataString(zone.Id)}");
            Assert.Equal(2, summary.GetProperty("overdue").GetInt32());
            var today = dues.Count(d => d >= now && d < tomorrow);
            var upcoming = dues.Count(d => d >= tomorrow);
            Assert.True(today == summary.GetProperty("today").GetInt32(), $"today in {zone.Id}: expected {today}, got {summary}");
            Assert.True(upcoming == summary.GetProperty("upcoming").GetInt32(), $"upcoming in {zone.Id}: expected {upcoming}, got {summary}");
            seen.Add((today, upcoming));
        }
        Assert.True(seen.Count > 1, "The zones chosen should disagree about what is today.");
        var home1 = await client.GetJsonAsync($"/api/v1/tasks/summary?timeZone={Uri.EscapeDataString(home.Id)}");
        Assert.Equal(1, home1.GetProperty("today").GetInt32());
        Assert.Equal(2, home1.GetProperty("upcoming").GetInt32());
        // No zone means UTC.
        var utc = await client.GetJsonAsync("/api/v1/tasks/summary");
        Assert.Equal(dues.Count(d => d >= now && d < TomorrowStart(TimeZoneInfo.Utc)), utc.GetProperty("today").GetInt32());

        using var bad = await client.GetAsync("/api/v1/tasks/summary?timeZone=Mars%2FOlympus");
        Assert.Contains("timeZone", (await bad.ExpectValidationProblemAsync()).Keys);
    }

    [Fact]
    public async Task A_due_reminder_fires_exactly_once_even_when_several_nodes_send_at_once()
    {
        var user = await Fx.CreateUserAsync("Sales");
        using var client = user.Client();
        var now = TimelineApi.Now();
        var prefix = "Remind " + Unique.Word(6) + " ";
        var due = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            var title = prefix + "due " + i;
            due.Add(title);
            await CreateTaskAsync(client, new { title, remindAt = TimelineApi.Iso(now.AddMinutes(-1 - i)), dueAt = TimelineApi.Iso(now.AddDays(1)) });
        }
        await CreateTaskAsync(client, new { title = prefix + "future", remindAt = TimelineApi.Iso(now.AddDays(2)), dueAt = TimelineApi.Iso(now.AddDays(3)) });
        // A finished task whose reminder time has passed: nobody needs reminding of it.
        var finished = await CreateTaskAsync(client, new { title = prefix + "done" });
        using (var complete = await client.PostAsync($"/api/v1/tasks/{finished.Id()}/complete", null))
            await complete.ExpectAsync(HttpStatusCode.OK);
        var (_, etag) = await client.GetTaskAsync(finished.Id());
        using (var patch = await client.PatchAsync($"/api/v1/tasks/{finished.Id()}", new { remindAt = TimelineApi.Iso(now.AddMinutes(-10)) }, etag))
            await patch.ExpectAsync(HttpStatusCode.OK);

        // Six "nodes" at once (and the host's own background worker may join in).
        await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => Task.Run(() => Reminders.SendDueAsync())));
        await Reminders.SendDueAsync();

        var mine = (await NotificationsAsync(client)).Where(n => n.Str("title").StartsWith(prefix, StringComparison.Ordinal)).ToList();
        Assert.Equal(due.Order(StringComparer.Ordinal), mine.Select(n => n.Str("title")).Order(StringComparer.Ordinal));
        Assert.All(mine, n => Assert.Equal(JsonValueKind.Null, n.GetProperty("readAt").ValueKind));
    }

    [Fact]
    public async Task Changing_the_reminder_time_rearms_it_and_other_changes_do_not()
    {
        var user = await Fx.CreateUserAsync("Marketing");
        using var client = user.Client();
        var now = TimelineApi.Now();
        var moved = await CreateTaskAsync(client, new { title = "Moved " + Unique.Word(6), remindAt = TimelineApi.Iso(now.AddMinutes(-5)) });
        var renamed = await CreateTaskAsync(client, new { title = "Kept " + Unique.Word(6), remindAt = TimelineApi.Iso(now.AddMinutes(-5)) });
        await Reminders.SendDueAsync();
        Assert.Equal(2, (await NotificationsAsync(client)).Count);

        var (_, etag) = await client.GetTaskAsync(moved.Id());
        using (var patch = await client.PatchAsync($"/api/v1/tasks/{moved.Id()}", new { remindAt = TimelineApi.Iso(now.AddMinutes(-1)) }, etag))
            await patch.ExpectAsync(HttpStatusCode.OK);
        (_, etag) = await client.GetTaskAsync(renamed.Id());
        // The form sends the time back in whole minutes with any change: the same minute is the same reminder.
        var sameMinute = now.AddMinutes(-5).AddSeconds(-now.Second);
        using (var patch = await client.PatchAsync($"/api/v1/tasks/{renamed.Id()}", new { notes = "still the same reminder", remindAt = TimelineApi.Iso(sameMinute) }, etag))
            await patch.ExpectAsync(HttpStatusCode.OK);
        await Task.WhenAll(Reminders.SendDueAsync(), Reminders.SendDueAsync());

        var titles = (await NotificationsAsync(client)).Select(n => n.Str("title")).ToList();
        Assert.Equal(2, titles.Count(t => t == moved.Str("title")));
        Assert.Equal(1, titles.Count(t => t == renamed.Str("title")));
    }

    [Fact]
    public async Task An_email_reminder_sends_exactly_one_mail_to_the_assignee()
    {
        var user = await Fx.CreateUserAsync("Sales");
        var assignee = await Fx.CreateUserAsync("Support");
        using var client = user.Client();
        var now = TimelineApi.Now();
        // Due in ten minutes: the host's own worker (with no SMTP server) leaves it; the test's clock is 20 minutes ahead.
        var mailed = await CreateTaskAsync(client, new
        {
            title = "Mail me " + Unique.Word(6), remindAt = TimelineApi.Iso(now.AddMinutes(10)), dueAt = TimelineApi.Iso(now.AddDays(1)),
            emailReminder = true, assigneeId = assignee.Id,
        });
        var inApp = await CreateTaskAsync(client, new { title = "In-app only " + Unique.Word(6), remindAt = TimelineApi.Iso(now.AddMinutes(10)) });

        await using var smtp = new SmtpReceiver();
        var sender = new SmtpEmailSender(new SmtpOptions { Host = "127.0.0.1", Port = smtp.Port, Security = "None", From = "kolo@test.kolo" });
        var reminders = new ReminderService(Fx.Factory.Services.GetRequiredService<IDbContextFactory<KoloDb>>(),
            new ShiftedClock(TimeSpan.FromMinutes(20)), sender, NullLogger<ReminderService>.Instance);
        await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => Task.Run(() => reminders.SendDueAsync())));
        await reminders.SendDueAsync();

        var toAssignee = smtp.Messages.Where(m => m.To.Contains(assignee.Email, StringComparer.OrdinalIgnoreCase)).ToList();
        var mail = Assert.Single(toAssignee);
        Assert.Equal("kolo@test.kolo", mail.From);
        Assert.Contains(mailed.Str("title"), mail.Data, StringComparison.Ordinal);
        Assert.DoesNotContain(smtp.Messages, m => m.Data.Contains(inApp.Str("title"), StringComparison.Ordinal));
        Assert.DoesNotContain(smtp.Messages, m => m.To.Contains(user.Email, StringComparer.OrdinalIgnoreCase));
        // The in-app notifications went out too, one each.
        using var assigneeClient = assignee.Client();
        Assert.Single(await NotificationsAsync(assigneeClient), n => n.Str("title") == mailed.Str("title"));
        Assert.Single(await NotificationsAsync(client), n => n.Str("title") == inApp.Str("title"));
    }

    [Fact]
    public async Task Notifications_are_listed_newest_first_and_marked_read_one_or_all()
    {
        var user = await Fx.CreateUserAsync("Sales");
        var other = await Fx.CreateUserAsync("Sales");
        using var client = user.Client();
        var now = TimelineApi.Now();
        for (var i = 0; i < 3; i++)
            await CreateTaskAsync(client, new { title = $"Note {i} {Unique.Word(5)}", remindAt = TimelineApi.Iso(now.AddMinutes(-1)) });
        await Reminders.SendDueAsync();

        var all = await NotificationsAsync(client);
        Assert.Equal(3, all.Count);
        Assert.Equal(all.Select(n => n.Id()).OrderDescending(), all.Select(n => n.Id()));
        Assert.Equal(3, (await client.GetJsonAsync("/api/v1/tasks/summary")).GetProperty("unreadNotifications").GetInt32());
        Assert.Equal(all.Select(n => n.Id()), (await client.AllPagesAsync("/api/v1/notifications", 1)).Select(n => n.Id()));

        // Another user cannot mark them read.
        using (var otherClient = other.Client())
        {
            using var foreign = await otherClient.PostAsync($"/api/v1/notifications/{all[0].Id()}/read", null);
            Assert.True(foreign.StatusCode is HttpStatusCode.NoContent or HttpStatusCode.NotFound);
            Assert.Empty(await NotificationsAsync(otherClient));
        }
        Assert.Equal(3, (await NotificationsAsync(client, "?unread=true")).Count);

        using (var one = await client.PostAsync($"/api/v1/notifications/{all[1].Id()}/read", null))
            Assert.Equal(HttpStatusCode.NoContent, one.StatusCode);
        var unread = await NotificationsAsync(client, "?unread=true");
        Assert.Equal([all[0].Id(), all[2].Id()], unread.Select(n => n.Id()));
        Assert.NotEqual(JsonValueKind.Null, (await NotificationsAsync(client)).Single(n => n.Id() == all[1].Id()).GetProperty("readAt").ValueKind);
        Assert.Equal(2, (await client.GetJsonAsync("/api/v1/tasks/summary")).GetProperty("unreadNotifications").GetInt32());

        using (var every = await client.PostAsync("/api/v1/notifications/read", null))
            Assert.Equal(HttpStatusCode.NoContent, every.StatusCode);
        Assert.Empty(await NotificationsAsync(client, "?unread=true"));
        Assert.Equal(3, (await NotificationsAsync(client)).Count);
        Assert.Equal(0, (await client.GetJsonAsync("/api/v1/tasks/summary")).GetProperty("unreadNotifications").GetInt32());
    }

    private sealed class ShiftedClock(TimeSpan shift) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + shift;
    }
}

[Collection("sqlite")]
public sealed class SqliteTaskApiTests(SqliteFixture fx) : TaskApiTests(fx);

[Collection("postgres")]
public sealed class PostgresTaskApiTests(PostgresFixture fx) : TaskApiTests(fx);
