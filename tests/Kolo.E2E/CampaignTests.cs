using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Kolo.E2E;

/// <summary>
/// Campaigns (issue 9) as marketing and a manager use them: build the target segment in the rule builder, create a campaign
/// with a variant for prospects and one for customers, count the audience and read the suppressed customers by reason,
/// submit, approve as the manager, launch, and read the results page.
/// </summary>
public sealed class CampaignTests(KoloFixture kolo, ITestOutputHelper output) : UiTest(kolo, output)
{
    [Fact]
    public Task A_campaign_with_two_variants_shows_its_suppressions_then_is_submitted_approved_and_launched() => InBrowserAsync(async page =>
    {
        var suffix = UniqueSuffix();
        var source = "spring-fair-" + suffix;
        var granted = new[] { new { channel = "Email", granted = true } };
        await CustomerAsync($"Prospect{suffix}", "Prospect", $"p-{suffix}@example.com", granted, source);
        await CustomerAsync($"Customer{suffix}", "Customer", $"c-{suffix}@example.com", granted, source);
        await CustomerAsync($"NoConsent{suffix}", "Customer", $"n-{suffix}@example.com", [], source);
        await CustomerAsync($"Unsub{suffix}", "Customer", $"u-{suffix}@example.com", [new { channel = "Email", granted = false }], source);
        await CustomerAsync($"NoAddress{suffix}", "Customer", null, granted, source);
        await CustomerAsync($"Elsewhere{suffix}", "Customer", $"e-{suffix}@example.com", granted, "other-" + suffix);

        await SignInAsync(page, "marketing@kolo.local", KoloServer.DemoPassword);

        // The segment: prospects and customers who came from this test's fair, built in the rule builder.
        var segmentName = "Spring fair " + suffix;
        await GoToAsync(page, "/segments/new");
        await Field(page, "Name").FillAsync(segmentName);
        var status = page.GetByTestId("condition-0");
        await ChooseManyAsync(page, status, "Values", "Prospect");
        await ChooseManyAsync(page, status, "Values", "Customer");
        await page.GetByTestId("add-condition").ClickAsync();
        var origin = page.GetByTestId("condition-1");
        await ChooseAsync(page, origin, "Field", "Source");
        await origin.GetByLabel("Values, separated by commas").FillAsync(source);
        await Expect(page.GetByTestId("live-count")).ToHaveTextAsync("5 customers");
        await Control(page, "Save").ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex(@"/segments/[0-9a-f-]{36}$"));
        await WaitForInteractiveAsync(page);

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

        // The results page: everyone targeted, the three left out by reason (no e-mail server in this test: nothing sent yet).
        await Control(manager, "Campaign results").ClickAsync();
        await Expect(manager).ToHaveURLAsync(new Regex(@"/campaigns/[0-9a-f-]{36}/results$"));
        var funnel = manager.Locator("#res-funnel");
        await Expect(funnel.Locator("[data-stage=targeted] .res-count")).ToHaveTextAsync("5");
        await Expect(funnel.Locator("[data-stage=suppressed] .res-count")).ToHaveTextAsync("3");
        foreach (var reason in new[] { "No address: 1", "Unsubscribed: 1", "No consent: 1" })
            await Expect(manager.Locator("#res-suppressed")).ToContainTextAsync(reason);
    });

    [Fact]
    public Task The_contact_policy_page_gives_the_website_tracking_tag() => InBrowserAsync(async page =>
    {
        await SignInAsync(page, "marketing@kolo.local", KoloServer.DemoPassword);
        await GoToAsync(page, "/campaigns/contact-policy");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Website tracking" })).ToBeVisibleAsync();
        var tag = page.GetByLabel("Tag for your website");
        await Expect(tag).ToHaveValueAsync(new Regex(@"^<script src=""http://[^""]+/t/kolo\.js"" async></script>$"));
        // The tag points at a script this Kolo serves.
        var src = Regex.Match(await tag.InputValueAsync(), @"src=""([^""]+)""").Groups[1].Value;
        var script = await page.APIRequest.GetAsync(src);
        Assert.Equal(200, script.Status);
        Assert.Contains("identify", await script.TextAsync(), StringComparison.Ordinal);
    });

    private async Task<string> CustomerAsync(string lastName, string status, string? email, object[] consents, string source) =>
        (await Kolo.PostAsync("/api/v1/customers", new Dictionary<string, object?>
        {
            ["kind"] = "Person", ["firstName"] = "Mykola", ["lastName"] = lastName, ["status"] = status, ["consents"] = consents, ["source"] = source,
            ["emails"] = email is null ? Array.Empty<object>() : new[] { new { address = email, label = "work" } },
        })).GetProperty("id").GetGuid().ToString().ToUpperInvariant();

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
