using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;

namespace Kolo.E2E;

/// <summary>
/// Campaigns (issue 9) as marketing and a manager use them: create a campaign with a variant for prospects and one for
/// customers, count the audience and read the suppressed customers by reason, submit, approve as the manager, launch.
/// </summary>
public sealed class CampaignTests(KoloFixture kolo, ITestOutputHelper output) : UiTest(kolo, output)
{
    [Fact]
    public Task A_campaign_with_two_variants_shows_its_suppressions_then_is_submitted_approved_and_launched() => InBrowserAsync(async page =>
    {
        var suffix = UniqueSuffix();
        var granted = new[] { new { channel = "Email", granted = true } };
        var prospect = await CustomerAsync($"Prospect{suffix}", "Prospect", $"p-{suffix}@example.com", granted);
        var customer = await CustomerAsync($"Customer{suffix}", "Customer", $"c-{suffix}@example.com", granted);
        var noConsent = await CustomerAsync($"NoConsent{suffix}", "Customer", $"n-{suffix}@example.com", []);
        var unsubscribed = await CustomerAsync($"Unsub{suffix}", "Customer", $"u-{suffix}@example.com", [new { channel = "Email", granted = false }]);
        var noAddress = await CustomerAsync($"NoAddress{suffix}", "Customer", null, granted);
        var segmentName = "Spring list " + suffix;
        // The segment is a static list written straight into the database: building segments is another screen's test.
        StaticSegment(segmentName, [prospect, customer, noConsent, unsubscribed, noAddress]);

        await SignInAsync(page, "marketing@kolo.local", KoloServer.DemoPassword);
        await GoToAsync(page, "/campaigns/new");
        var name = "Spring sale " + suffix;
        await Field(page, "Name").FillAsync(name);
        await ChooseManyAsync(page, page.Locator("body"), "Target segments", segmentName);
        await Field(page, "Control group").FillAsync("0");
        await Field(page, "Control group").PressAsync("Tab");

        await page.GetByRole(AriaRole.Tab, new() { Name = "Variants" }).ClickAsync();
        var first = page.GetByTestId("variant-0");
        await Field(page, "Variant name").FillAsync("Welcome");
        await ChooseAsync(page, first, "For", "Prospects (prospects and leads)");
        await Control(page, "Add a variant").ClickAsync();
        var second = page.GetByTestId("variant-1");
        await second.GetByLabel(new Regex(@"^\s*Variant name\s*\*?\s*$")).FillAsync("Thank you");
        await ChooseAsync(page, second, "For", "Existing customers");
        await Control(page, "Save").ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex(@"/campaigns/[0-9a-f-]{36}$"));
        await WaitForInteractiveAsync(page);
        await Expect(Heading(page)).ToHaveTextAsync(name);
        await Expect(page.GetByTestId("campaign-status")).ToHaveTextAsync("Draft");

        await page.GetByRole(AriaRole.Tab, new() { Name = "Audience preview" }).ClickAsync();
        await page.GetByTestId("run-audience").ClickAsync();
        var result = page.GetByTestId("audience-result");
        await Expect(result).ToBeVisibleAsync(new() { Timeout = 30_000 });
        await Expect(page.GetByTestId("audience-targeted")).ToHaveTextAsync("5");
        await Expect(page.GetByTestId("audience-reached")).ToHaveTextAsync("2");
        await Expect(page.GetByTestId("audience-suppressed")).ToHaveTextAsync("3");
        foreach (var (reason, count) in new[] { ("no_address", "1"), ("unsubscribed", "1"), ("no_consent", "1"), ("pressure_cap", "0"), ("control_group", "0") })
            await Expect(page.GetByTestId($"reason-{reason}").Locator("td").Last).ToHaveTextAsync(count);
        await Expect(result).ToContainTextAsync("Welcome");
        await Expect(result).ToContainTextAsync("Thank you");

        await Control(page, "Submit for approval").ClickAsync();
        await page.GetByRole(AriaRole.Dialog).GetByRole(AriaRole.Button, new() { Name = "Submit for approval" }).ClickAsync();
        await Expect(page.GetByTestId("campaign-status")).ToHaveTextAsync("Waiting for approval");
        // Marketing cannot approve its own campaign.
        await Expect(Control(page, "Approve")).ToHaveCountAsync(0);
        var url = page.Url;

        // The manager signs in on the same browser (cookies cleared: a new session) and opens the campaign.
        await page.Context.ClearCookiesAsync();
        var manager = page;
        await SignInAsync(manager, "manager@kolo.local", KoloServer.DemoPassword);
        await GoToAsync(manager, url);
        await Control(manager, "Approve").ClickAsync();
        await manager.GetByRole(AriaRole.Dialog).GetByRole(AriaRole.Button, new() { Name = "Approve" }).ClickAsync();
        await Expect(manager.GetByTestId("campaign-status")).ToHaveTextAsync("Approved");
        await Control(manager, "Launch now").ClickAsync();
        await manager.GetByRole(AriaRole.Dialog).GetByRole(AriaRole.Button, new() { Name = "Launch now" }).ClickAsync();
        // Running — or Completed already, when a sender has delivered both messages by now.
        await Expect(manager.GetByTestId("campaign-status")).ToHaveTextAsync(new Regex("^(Running|Completed)$"), new() { Timeout = 30_000 });
        await Expect(manager.GetByTestId("launch-status")).ToContainTextAsync("Launched: 2 messages planned");
    });

    private async Task<string> CustomerAsync(string lastName, string status, string? email, object[] consents) =>
        (await Kolo.PostAsync("/api/v1/customers", new Dictionary<string, object?>
        {
            ["kind"] = "Person", ["firstName"] = "Mykola", ["lastName"] = lastName, ["status"] = status, ["consents"] = consents,
            ["emails"] = email is null ? Array.Empty<object>() : new[] { new { address = email, label = "work" } },
        })).GetProperty("id").GetGuid().ToString().ToUpperInvariant();

    private void StaticSegment(string name, string[] customerIds)
    {
        using var connection = new SqliteConnection($"Data Source={Path.Combine(Kolo.Server.DataDir, "kolo.db")}");
        connection.Open();
        using var tx = connection.BeginTransaction();
        var id = Guid.NewGuid().ToString().ToUpperInvariant();
        var now = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
        using (var segment = connection.CreateCommand())
        {
            segment.CommandText = "INSERT INTO segments (Id, Name, Kind, Definition, CreatedAt, UpdatedAt, Version) VALUES ($id, $name, 'Static', '{}', $now, $now, $version)";
            segment.Parameters.AddWithValue("$id", id);
            segment.Parameters.AddWithValue("$name", name);
            segment.Parameters.AddWithValue("$now", now);
            segment.Parameters.AddWithValue("$version", Guid.NewGuid().ToString().ToUpperInvariant());
            segment.ExecuteNonQuery();
        }
        foreach (var customer in customerIds)
        {
            using var member = connection.CreateCommand();
            member.CommandText = "INSERT INTO segment_members (SegmentId, CustomerId, AddedAt) VALUES ($s, $c, $now)";
            member.Parameters.AddWithValue("$s", id);
            member.Parameters.AddWithValue("$c", customer);
            member.Parameters.AddWithValue("$now", now);
            member.ExecuteNonQuery();
        }
        tx.Commit();
    }

    /// <summary>Picks one option of the MudSelect labelled <paramref name="label"/> inside <paramref name="scope"/>.</summary>
    private static async Task ChooseAsync(IPage page, ILocator scope, string label, string option)
    {
        var select = scope.GetByRole(AriaRole.Combobox, new() { NameRegex = new Regex($@"^\s*{Regex.Escape(label)}\s*\*?\s*$") }).First;
        await select.ClickAsync();
        await page.GetByRole(AriaRole.Option, new() { Name = option, Exact = true }).Filter(new() { Visible = true }).First.ClickAsync();
        await Expect(select).ToHaveValueAsync(option);
    }

    /// <summary>Ticks an option of a multi-select MudSelect and closes its list.</summary>
    private static async Task ChooseManyAsync(IPage page, ILocator scope, string label, string option)
    {
        var select = scope.GetByRole(AriaRole.Combobox, new() { NameRegex = new Regex($@"^\s*{Regex.Escape(label)}\s*\*?\s*$") }).First;
        await select.ClickAsync();
        await page.GetByRole(AriaRole.Option, new() { Name = option }).Filter(new() { Visible = true }).First.ClickAsync();
        await page.Keyboard.PressAsync("Escape");
        await Expect(select).ToHaveValueAsync(new Regex(Regex.Escape(option)));
    }
}
