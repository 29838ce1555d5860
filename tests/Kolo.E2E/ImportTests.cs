using System.Text;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Kolo.E2E;

/// <summary>The import wizard end to end: a small CSV of customers, one bad row, progress to 100 %, and the customers in the list.</summary>
public sealed class ImportTests(KoloFixture kolo, ITestOutputHelper output) : UiTest(kolo, output)
{
    [Fact]
    public Task A_small_CSV_imported_through_the_wizard_reaches_100_percent_and_its_customers_appear() => InBrowserAsync(async page =>
    {
        var suffix = UniqueSuffix();
        string[] lastNames = [$"Bondar{suffix}", $"Shevchuk{suffix}", $"Melnyk{suffix}", $"Tkachenko{suffix}"];
        // Headers the wizard's suggestion maps by name (externalId, firstName, lastName, email, phone, city).
        var csv = new StringBuilder("externalId,firstName,lastName,email,phone,city\n");
        for (var i = 0; i < lastNames.Length; i++)
            csv.Append($"e2e-{suffix}-{i},Iryna,{lastNames[i]},{lastNames[i].ToLowerInvariant()}@example.com,{UniquePhone()},Poltava\n");
        // Line 6: an e-mail address without a domain, which the import rejects while keeping the others.
        csv.Append($"e2e-{suffix}-bad,Taras,Broken{suffix},not-an-email,{UniquePhone()},Poltava\n");
        var fileName = $"customers-{suffix}.csv";

        await SignInAsync(page);
        await page.GetByRole(AriaRole.Link, new() { Name = "Import", Exact = true }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex("/imports$"));
        await Expect(Heading(page)).ToHaveTextAsync("Import");
        await WaitForInteractiveAsync(page);

        // Step 1: what and which file.
        await ChooseAsync(page, "What to import", "Customers");
        await page.Locator("input[type=file]").SetInputFilesAsync(new FilePayload
        {
            Name = fileName, MimeType = "text/csv", Buffer = Encoding.UTF8.GetBytes(csv.ToString()),
        });
        // Uploaded: the file is named beside the button and the wizard can go on.
        await Expect(page.GetByText(fileName, new() { Exact = true })).ToBeVisibleAsync();
        await Expect(Control(page, "Next")).ToBeEnabledAsync();
        await Control(page, "Next").ClickAsync();

        // Step 2: the suggested mapping, accepted as it is.
        await Expect(page.GetByText("Columns matched by their names")).ToBeVisibleAsync();
        await Control(page, "Next").ClickAsync();

        // Step 3: the preview already names the bad row's problem.
        await Expect(page.GetByText("'not-an-email' is not a valid e-mail address")).ToBeVisibleAsync();
        await Control(page, "Start import").ClickAsync();

        // Step 4: progress to 100 %, then the summary with the counts.
        var progress = page.GetByRole(AriaRole.Progressbar, new() { Name = "Import progress" });
        await Expect(progress).ToHaveAttributeAsync("aria-valuenow", "100", new() { Timeout = 60_000 });
        await Expect(page.GetByText("Import finished")).ToBeVisibleAsync();
        await Expect(page.GetByText("5 rows: 4 accepted, 1 rejected; 4 created, 0 updated, 0 unchanged.")).ToBeVisibleAsync();
        var rejects = Control(page, "Download rejected rows (CSV)");
        await Expect(rejects).ToBeVisibleAsync();
        var download = await page.RunAndWaitForDownloadAsync(() => rejects.ClickAsync());
        var rejected = await File.ReadAllTextAsync(await download.PathAsync());
        Assert.Contains("not-an-email", rejected, StringComparison.Ordinal);
        Assert.StartsWith("line,reason,raw", rejected, StringComparison.Ordinal);
        Assert.Matches(@"\n6,", rejected);

        // The imported customers are in the list.
        await Control(page, "Open Customers").ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex("/customers$"));
        await WaitForInteractiveAsync(page);
        await Expect(CustomerRows(page).First).ToBeVisibleAsync();
        await SearchBox(page).PressSequentiallyAsync(lastNames[1], new() { Delay = 40 });
        await Expect(CustomerRows(page)).ToHaveCountAsync(1);
        await Expect(page.GetByRole(AriaRole.Link, new() { Name = $"Iryna {lastNames[1]}", Exact = true })).ToBeVisibleAsync();
    });

    [Fact]
    public Task Export_on_the_customer_list_downloads_what_the_filtered_list_shows() => InBrowserAsync(async page =>
    {
        var suffix = UniqueSuffix();
        await Kolo.CreatePersonAsync("Halyna", "Exportenko" + suffix, $"halyna.{suffix}@example.com", UniquePhone());
        await Kolo.CreatePersonAsync("Roman", "Exportenko" + suffix, $"roman.{suffix}@example.com", UniquePhone());

        await SignInAsync(page);
        await GoToAsync(page, "/customers");
        await Expect(CustomerRows(page).First).ToBeVisibleAsync();
        await SearchBox(page).PressSequentiallyAsync("Exportenko" + suffix, new() { Delay = 40 });
        await Expect(CustomerRows(page)).ToHaveCountAsync(2);

        await page.GetByRole(AriaRole.Button, new() { Name = "Export" }).ClickAsync();
        var csvItem = page.GetByRole(AriaRole.Menuitem, new() { Name = "CSV" }).Or(page.GetByRole(AriaRole.Link, new() { Name = "CSV", Exact = true })).First;
        var download = await page.RunAndWaitForDownloadAsync(() => csvItem.ClickAsync());
        Assert.Equal("customers.csv", download.SuggestedFilename);
        var lines = (await File.ReadAllTextAsync(await download.PathAsync())).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        // The header and exactly the two customers the search shows, not the whole demo list.
        Assert.StartsWith("id,externalId,kind,firstName,lastName", lines[0], StringComparison.Ordinal);
        Assert.Equal(3, lines.Length);
        Assert.All(lines.Skip(1), l => Assert.Contains("Exportenko" + suffix, l, StringComparison.Ordinal));
        // The page is still the list (the download did not navigate away).
        await Expect(CustomerRows(page)).ToHaveCountAsync(2);
    });

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
        if (tag == "INPUT") await Expect(select).ToHaveValueAsync(option);
        else await Expect(select).ToContainTextAsync(option);
    }
}
