using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Kolo.E2E;

/// <summary>
/// Timeline and tasks: log a contact on the card, keep active content in a body inert, keep an agreement through
/// "My tasks", see negative feedback, and get a reminder in the bell. Each test has its own customer.
/// </summary>
public sealed class TimelineTests(KoloFixture kolo, ITestOutputHelper output) : UiTest(kolo, output)
{
    [Fact]
    public Task A_call_logged_on_the_card_is_the_first_entry_of_the_timeline() => InBrowserAsync(async page =>
    {
        var customer = await NewCustomerAsync("Petro");
        var subject = "Called about the renewal " + UniqueSuffix();

        await SignInAsync(page);
        await OpenCardAsync(page, customer);

        // Two clicks: "Log call", then "Save" (typing the subject in between).
        await Control(page, "Log call").ClickAsync();
        await Field(page, "Subject").FillAsync(subject);
        await Control(page, "Save").ClickAsync();
        await Expect(TimelineEntries(page).First).ToContainTextAsync(subject);

        // Stored, not only shown: it is still on top after a reload, and the server holds it as a call.
        await OpenCardAsync(page, customer);
        await Expect(TimelineEntries(page).First).ToContainTextAsync(subject);
        var newest = await NewestInteractionAsync(customer.Id);
        Assert.Equal(subject, newest.GetProperty("title").GetString());
        Assert.Equal("Call", newest.GetProperty("type").GetString());
    });

    [Fact]
    public Task A_script_in_a_body_is_not_executed_in_the_browser() => InBrowserAsync(async page =>
    {
        var customer = await NewCustomerAsync("Ivan");
        var subject = "Message from the web form " + UniqueSuffix();
        // What another system might post: markup with every usual way of running script.
        const string body = """<p>hello</p><img src=x onerror="window.__xss=1"><script>window.__xss=2</script><a href="javascript:window.__xss=3">link</a>""";
        await Kolo.PostAsync("/api/v1/interactions", new { customerId = customer.Id, type = "Web", direction = "Inbound", subject, body });

        var dialogs = new List<string>();
        page.Dialog += (_, dialog) =>
        {
            lock (dialogs) dialogs.Add($"{dialog.Type}: {dialog.Message}");
            _ = dialog.DismissAsync();
        };

        await SignInAsync(page);
        await OpenCardAsync(page, customer);
        var entry = TimelineEntries(page).Filter(new() { HasText = subject }).First;
        await Expect(entry.GetByText("hello", new() { Exact = true })).ToBeVisibleAsync();

        // Let the broken image finish failing: had its onerror survived, it would have run by now.
        await page.WaitForFunctionAsync("() => Array.from(document.images).every(i => i.complete)");
        var link = entry.GetByText("link", new() { Exact = true });
        if (await link.CountAsync() > 0)
        {
            await link.First.ClickAsync();
            // A kept javascript: URL would have run instead of navigating; a harmless link leaves us on the card.
            await Expect(page).ToHaveURLAsync(CardUrl(customer.Id));
        }

        Assert.Equal("undefined", await page.EvaluateAsync<string>("() => typeof window.__xss"));
        // Nothing active reached the page at all.
        await Expect(entry.Locator("script")).ToHaveCountAsync(0);
        await Expect(entry.Locator("[onerror]")).ToHaveCountAsync(0);
        await Expect(entry.Locator("a[href^='javascript:' i]")).ToHaveCountAsync(0);
        lock (dialogs) Assert.True(dialogs.Count == 0, "The page opened dialogs: " + string.Join("; ", dialogs));
    });

    [Fact]
    public Task An_agreement_becomes_a_task_in_My_tasks_and_completing_it_logs_the_call() => InBrowserAsync(async page =>
    {
        var customer = await NewCustomerAsync("Olena");
        var suffix = UniqueSuffix();
        var subject = "Send the signed contract " + suffix;
        var outcome = "Contract handed to the courier " + suffix;
        var due = DateTime.Today.AddDays(3);

        await SignInAsync(page);
        await OpenCardAsync(page, customer);
        await Control(page, "Record agreement").ClickAsync();
        await Field(page, "Subject").FillAsync(subject);
        await FillDateAsync(page, "Due date", due);
        await Control(page, "Save").ClickAsync();
        await Expect(TimelineEntries(page).Filter(new() { HasText = subject }).First).ToBeVisibleAsync();

        // The agreement's task, found the way a person does: through the navigation.
        await page.GetByRole(AriaRole.Link, new() { NameRegex = new Regex(@"^\s*My tasks") }).First.ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex(@"/tasks/?$"));
        await Expect(Heading(page)).ToHaveTextAsync("My tasks");
        await WaitForInteractiveAsync(page);
        await Tab(page, "Upcoming").ClickAsync();
        var row = TaskRow(page, subject);
        await Expect(row).ToContainTextAsync(customer.Name);

        await row.GetByRole(AriaRole.Button, new() { Name = "Complete", Exact = true }).ClickAsync();
        await Field(page, "Outcome").FillAsync(outcome);
        await ChooseAsync(page, "Record as", "Call");
        await Control(page, "Complete task").ClickAsync();
        await Expect(Control(page, "Complete task")).ToBeHiddenAsync();

        await Tab(page, "Done").ClickAsync();
        await Expect(page.GetByText(subject).Filter(new() { Visible = true }).First).ToBeVisibleAsync();

        // The call that completed it is the newest contact on the customer's timeline, with its outcome.
        await OpenCardAsync(page, customer);
        var first = TimelineEntries(page).First;
        await Expect(first).ToContainTextAsync(outcome);
        await Expect(first.GetByText("Call", new() { Exact = true })).ToBeVisibleAsync();
        var newest = await NewestInteractionAsync(customer.Id);
        Assert.Equal("Call", newest.GetProperty("type").GetString());
        Assert.Equal(outcome, newest.GetProperty("summary").GetString());

        // The due date typed in the form is the task's (a day either way for the time zone the UI converts from).
        var tasks = await Kolo.GetAsync($"/api/v1/tasks?customer={customer.Id}");
        var task = Assert.Single(tasks.GetProperty("items").EnumerateArray());
        Assert.Equal("Done", task.GetProperty("status").GetString());
        var dueAt = task.GetProperty("dueAt").GetDateTime();
        Assert.InRange((dueAt.Date - due).TotalDays, -1, 1);
    });

    [Fact]
    public Task Negative_feedback_shows_on_the_card_and_a_manager_sees_it_on_the_feedback_page() => InBrowserAsync(async page =>
    {
        var customer = await NewCustomerAsync("Halyna");
        var suffix = UniqueSuffix();
        var subject = "Complained about a late delivery " + suffix;
        await Kolo.PostAsync("/api/v1/interactions", new
        {
            customerId = customer.Id, type = "Call", direction = "Inbound", subject, sentiment = "Negative", outcome = "Promised a call back",
        });
        // A manager of this test's own: the demo manager's language is switched by another test.
        var email = $"manager.{suffix}@example.com";
        const string password = "Manager-pass-2026";
        await Kolo.PostAsync("/api/v1/users", new { email, displayName = "Feedback Manager " + suffix, role = "Manager", password });

        await SignInAsync(page, email, password);
        await OpenCardAsync(page, customer);
        var entry = TimelineEntries(page).Filter(new() { HasText = subject }).First;
        await Expect(entry.GetByText("Negative feedback", new() { Exact = true })).ToBeVisibleAsync();

        await page.GetByRole(AriaRole.Link, new() { Name = "Feedback", Exact = true }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex(@"/feedback/?$"));
        await Expect(Heading(page)).ToHaveTextAsync("Negative feedback");
        await Expect(page.GetByText(subject).First).ToBeVisibleAsync();
        await WaitForInteractiveAsync(page);
        await page.GetByRole(AriaRole.Link, new() { Name = customer.Name }).First.ClickAsync();
        await Expect(page).ToHaveURLAsync(CardUrl(customer.Id));
    });

    [Fact]
    public Task A_reminder_appears_in_the_notifications_bell_at_its_time() => InBrowserAsync(async page =>
    {
        var customer = await NewCustomerAsync("Mykola");
        var title = "Call back about the invoice " + UniqueSuffix();

        await SignInAsync(page);
        await GoToAsync(page, "/customers");
        // Assigned to the admin (the caller); the fixture's server looks for due reminders every second.
        var created = System.Diagnostics.Stopwatch.StartNew();
        await Kolo.PostAsync("/api/v1/tasks", new
        {
            title, customerId = customer.Id, dueAt = DateTime.UtcNow.AddHours(1), remindAt = DateTime.UtcNow.AddSeconds(2),
        });

        // The reminder job has sent it...
        await EventuallyAsync(async () => (await UnreadNotificationTitlesAsync()).Contains(title), TimeSpan.FromSeconds(20),
            $"the reminder \"{title}\" among the admin's unread notifications");
        Output.WriteLine($"The reminder due in 2 s arrived {created.Elapsed.TotalSeconds:0.0} s after the task was created.");

        // ...and the bell, opened on the page that was already there, lists it with a link to the customer.
        await page.GetByRole(AriaRole.Button, new() { Name = "Notifications" }).First.ClickAsync();
        var notification = page.GetByText(title).Filter(new() { Visible = true }).First;
        await Expect(notification).ToBeVisibleAsync();
        var link = page.Locator("a").Filter(new() { HasText = title, Visible = true }).First;
        await Expect(link).ToHaveAttributeAsync("href", new Regex($"/customers/{customer.Id}$"));

        await Control(page, "Mark all read").ClickAsync();
        await EventuallyAsync(async () => (await UnreadNotificationTitlesAsync()).Count == 0, TimeSpan.FromSeconds(10),
            "no unread notifications after \"Mark all read\"");
    });

    private sealed record TestCustomer(Guid Id, string Name);

    private async Task<TestCustomer> NewCustomerAsync(string firstName)
    {
        var suffix = UniqueSuffix();
        var lastName = "Chronik" + suffix;
        var id = await Kolo.CreatePersonAsync(firstName, lastName, $"{firstName.ToLowerInvariant()}.{suffix}@example.com", UniquePhone());
        return new TestCustomer(id, $"{firstName} {lastName}");
    }

    private static Regex CardUrl(Guid id) => new($"/customers/{id}$");

    /// <summary>Opens the card; the Timeline tab is the one shown first.</summary>
    private static async Task OpenCardAsync(IPage page, TestCustomer customer)
    {
        await GoToAsync(page, $"/customers/{customer.Id}");
        await Expect(Heading(page)).ToHaveTextAsync(customer.Name);
        await Expect(page.GetByRole(AriaRole.Tab, new() { Name = "Timeline", Exact = true })).ToHaveAttributeAsync("aria-selected", "true");
    }

    /// <summary>The timeline's own entries, newest first (not the items of a list inside an entry's body).</summary>
    private static ILocator TimelineEntries(IPage page) =>
        page.GetByRole(AriaRole.List, new() { Name = "Timeline", Exact = true }).Locator("xpath=./li");

    /// <summary>A tab by its name, which may be followed by a count ("Upcoming 3").</summary>
    private static ILocator Tab(IPage page, string name) =>
        page.GetByRole(AriaRole.Tab, new() { NameRegex = new Regex($@"^\s*{Regex.Escape(name)}\b") }).First;

    /// <summary>
    /// The visible task row showing <paramref name="text"/>: the nearest element around that text that holds a
    /// "Complete" button, whether the tasks are table rows, list items or cards.
    /// </summary>
    private static ILocator TaskRow(IPage page, string text) =>
        page.GetByText(text).Filter(new() { Visible = true }).First
            .Locator("xpath=ancestor::*[.//button[@aria-label='Complete' or normalize-space(.)='Complete']][1]");

    private async Task<List<string>> UnreadNotificationTitlesAsync()
    {
        var page = await Kolo.GetAsync("/api/v1/notifications?unread=true");
        return page.GetProperty("items").EnumerateArray().Select(n => n.GetProperty("title").GetString() ?? "").ToList();
    }

    /// <summary>
    /// Asks the server until <paramref name="condition"/> holds, for something that happens in the background (a
    /// reminder job) where no page element can be waited on; fails after <paramref name="timeout"/>.
    /// </summary>
    private static async Task EventuallyAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > timeout) throw new TimeoutException($"Waited {timeout.TotalSeconds:0} s for {what}.");
            await Task.Delay(250);
        }
    }

    /// <summary>The customer's newest interaction on the timeline, as the API returns it.</summary>
    private async Task<JsonElement> NewestInteractionAsync(Guid customerId)
    {
        var timeline = await Kolo.GetAsync($"/api/v1/customers/{customerId}/timeline?kind=interaction&limit=1");
        return timeline.GetProperty("items")[0];
    }

    /// <summary>
    /// Types a date into the input labelled <paramref name="label"/>: ISO for a native date input, else the English
    /// short date a MudDatePicker parses, committed by leaving the field.
    /// </summary>
    private static async Task FillDateAsync(IPage page, string label, DateTime date)
    {
        var input = Field(page, label);
        if (await input.GetAttributeAsync("type") == "date")
        {
            await input.FillAsync(date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
            return;
        }
        await input.FillAsync(date.ToString("MM/dd/yyyy", CultureInfo.InvariantCulture));
        await input.PressAsync("Tab");
    }

    /// <summary>Picks <paramref name="option"/> in the select labelled <paramref name="label"/>: a native select or a MudSelect.</summary>
    private static async Task ChooseAsync(IPage page, string label, string option)
    {
        var select = page.GetByRole(AriaRole.Combobox, new() { NameRegex = new Regex($@"^\s*{Regex.Escape(label)}\s*\*?\s*$") }).First;
        var tag = await select.EvaluateAsync<string>("e => e.tagName");
        if (tag == "SELECT")
        {
            await select.SelectOptionAsync(new SelectOptionValue { Label = option });
            return;
        }
        await select.ClickAsync();
        await page.GetByRole(AriaRole.Option, new() { Name = option, Exact = true }).Filter(new() { Visible = true }).First.ClickAsync();
        // A MudSelect shows its choice as the text of a div, or (with ToStringFunc) as the value of a read-only input.
        if (tag == "INPUT") await Expect(select).ToHaveValueAsync(option);
        else await Expect(select).ToContainTextAsync(option);
    }
}
