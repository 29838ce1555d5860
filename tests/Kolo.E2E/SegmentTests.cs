using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Kolo.E2E;

/// <summary>
/// Segments (issue 9) as a marketer builds one: a rule segment made in the rule builder, whose live count follows each
/// edit, saved, and its members read on the members tab. The API only arranges the customers.
/// </summary>
public sealed class SegmentTests(KoloFixture kolo, ITestOutputHelper output) : UiTest(kolo, output)
{
    [Fact]
    public Task A_segment_built_in_the_rule_builder_shows_its_live_count_and_members() => InBrowserAsync(async page =>
    {
        var suffix = UniqueSuffix();
        var source = "fair-" + suffix;
        // Three leads and one customer from this test's trade fair; only the leads belong in the segment.
        var leads = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            var last = $"Fairgoer{suffix}{(char)('a' + i)}";
            await Kolo.PostAsync("/api/v1/customers", new
            {
                kind = "Person", firstName = "Olena", lastName = last, source, status = i < 3 ? "Lead" : "Customer",
                emails = new[] { new { address = $"{suffix}{i}@example.com", label = "work" } },
            });
            if (i < 3) leads.Add("Olena " + last);
        }

        await SignInAsync(page);
        await GoToAsync(page, "/segments");
        await Expect(Heading(page)).ToHaveTextAsync("Segments");
        await Control(page, "New segment").ClickAsync();
        await Expect(Heading(page)).ToHaveTextAsync("New segment");
        await WaitForInteractiveAsync(page);
        var name = "Fair leads " + suffix;
        await Field(page, "Name").FillAsync(name);

        // The first condition is the lifecycle status: choose Lead.
        var first = page.GetByTestId("condition-0");
        await ChooseManyAsync(page, first, "Values", "Lead");
        var count = page.GetByTestId("live-count");
        await Expect(count).ToHaveTextAsync(new Regex(@"^\d[\d,]* customers$"));

        // Add a second condition on the source: the live count drops to this test's three leads.
        await page.GetByTestId("add-condition").ClickAsync();
        var second = page.GetByTestId("condition-1");
        await ChooseOneAsync(page, second, "Field", "Source");
        // Typed key by key, with a pause after the comma while the live count re-renders the page: the field keeps
        // what was typed (comma included) and both values count.
        var values = second.GetByLabel("Values, separated by commas");
        await values.PressSequentiallyAsync("no-such-fair, ");
        await Expect(count).ToHaveTextAsync("0 customers");
        await values.PressSequentiallyAsync(source);
        await Expect(values).ToHaveValueAsync("no-such-fair, " + source);
        await Expect(count).ToHaveTextAsync("3 customers");

        await Control(page, "Save").ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex(@"/segments/[0-9a-f-]{36}$"));
        await Expect(Heading(page)).ToHaveTextAsync(name);
        await WaitForInteractiveAsync(page);
        await Expect(count).ToHaveTextAsync("3 customers");

        // The members tab lists exactly the three leads.
        await page.GetByRole(AriaRole.Tab, new() { Name = "Members" }).ClickAsync();
        var members = page.GetByTestId("member-name");
        await Expect(members).ToHaveCountAsync(3);
        Assert.Equal(leads.Order(StringComparer.Ordinal), (await members.AllInnerTextsAsync()).Select(t => t.Trim()).Order(StringComparer.Ordinal));

        // The list finds it by name, and counting it there gives the same figure.
        await GoToAsync(page, "/segments");
        await Field(page, "Search").FillAsync(suffix);
        var row = page.GetByRole(AriaRole.Row).Filter(new() { HasText = name });
        await Expect(row).ToHaveCountAsync(1);
        // Wait for the search to have replaced the list (only the header and this row left): a click on a row of the
        // list being replaced would be lost.
        await Expect(page.GetByRole(AriaRole.Row).Filter(new() { HasNotText = name })).ToHaveCountAsync(1);
        await row.GetByRole(AriaRole.Button, new() { Name = "Count now" }).ClickAsync();
        await Expect(row.GetByTestId("segment-count")).ToHaveTextAsync("3");
    });

    /// <summary>Picks one option of the MudSelect labelled <paramref name="label"/> inside <paramref name="scope"/>.</summary>
    private static async Task ChooseOneAsync(IPage page, ILocator scope, string label, string option)
    {
        await scope.GetByRole(AriaRole.Combobox, new() { NameRegex = new Regex($@"^\s*{Regex.Escape(label)}\s*$") }).First.ClickAsync();
        await page.GetByRole(AriaRole.Option, new() { Name = option, Exact = true }).Filter(new() { Visible = true }).First.ClickAsync();
    }

    /// <summary>Ticks options of a multi-select, then closes its list.</summary>
    private static async Task ChooseManyAsync(IPage page, ILocator scope, string label, params string[] options)
    {
        await scope.GetByRole(AriaRole.Combobox, new() { NameRegex = new Regex($@"^\s*{Regex.Escape(label)}\s*$") }).First.ClickAsync();
        foreach (var option in options)
            await page.GetByRole(AriaRole.Option, new() { Name = option, Exact = true }).Filter(new() { Visible = true }).First.ClickAsync();
        await page.Keyboard.PressAsync("Escape");
    }
}
