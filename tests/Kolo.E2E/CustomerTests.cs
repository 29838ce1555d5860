using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Kolo.E2E;

/// <summary>Scenarios 2–4: create a customer through the form, find it by typing in search, edit it and read its history.</summary>
public sealed partial class CustomerTests(KoloFixture kolo, ITestOutputHelper output) : UiTest(kolo, output)
{
    [GeneratedRegex(@"/customers/([0-9a-fA-F-]{36})$")]
    private static partial Regex CardUrl();

    [Fact]
    public Task The_tags_page_searches_and_sorts_its_tags() => InBrowserAsync(async page =>
    {
        var suffix = UniqueSuffix();
        var (apple, zebra) = ("apple-" + suffix, "zebra-" + suffix);
        foreach (var name in new[] { zebra, apple }) await Kolo.PostAsync("/api/v1/tags", new { name });
        await SignInAsync(page);
        await GoToAsync(page, "/admin/tags");
        await WaitForInteractiveAsync(page);
        await Field(page, "Search").FillAsync(suffix);
        var rows = page.GetByRole(AriaRole.Row).Filter(new() { HasText = suffix });
        await Expect(rows).ToHaveCountAsync(2);
        // By name first; a click on the header turns the order round.
        await Expect(rows.First).ToContainTextAsync(apple);
        await page.GetByRole(AriaRole.Columnheader).GetByText("Tag", new() { Exact = true }).ClickAsync();
        await Expect(rows.First).ToContainTextAsync(zebra);
        await Field(page, "Search").FillAsync("zebra-" + suffix);
        await Expect(rows).ToHaveCountAsync(1);
    });

    [Fact]
    public Task Leaving_a_form_with_typed_text_asks_first_and_staying_keeps_it() => InBrowserAsync(async page =>
    {
        var lastName = "Unsaved" + UniqueSuffix();
        await SignInAsync(page);
        await GoToAsync(page, "/customers/new");
        await WaitForInteractiveAsync(page);
        await Field(page, "Last name").FillAsync(lastName);
        await Control(page, "Cancel").ClickAsync();
        var dialog = page.GetByRole(AriaRole.Dialog);
        await Expect(dialog).ToContainTextAsync("Leave without saving?");
        // Staying keeps what was typed.
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Cancel", Exact = true }).ClickAsync();
        await Expect(dialog).ToBeHiddenAsync();
        await Expect(page).ToHaveURLAsync(new Regex("/customers/new$"));
        await Expect(Field(page, "Last name")).ToHaveValueAsync(lastName);
        // Leaving goes.
        await Control(page, "Cancel").ClickAsync();
        await page.GetByRole(AriaRole.Dialog).GetByRole(AriaRole.Button, new() { Name = "Leave", Exact = true }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex("/customers$"));
    });

    [Fact]
    public Task A_customer_created_through_the_form_is_found_by_typing_in_search() => InBrowserAsync(async page =>
    {
        var suffix = UniqueSuffix();
        var firstName = "Marta";
        var lastName = "Testova" + suffix;
        var displayName = $"{firstName} {lastName}";
        var email = $"marta.{suffix}@example.com";

        await SignInAsync(page);
        await GoToAsync(page, "/customers");
        await Control(page, "New customer").ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex("/customers/new$"));
        await WaitForInteractiveAsync(page);

        await Field(page, "First name").FillAsync(firstName);
        await Field(page, "Last name").FillAsync(lastName);
        await Field(page, "E-mail").FillAsync(email);
        await Field(page, "Phone").FillAsync(UniquePhone());
        await Field(page, "City").FillAsync("Lviv");
        await Control(page, "Save").ClickAsync();

        // Saved: the app shows the new customer's card.
        await Expect(page).ToHaveURLAsync(CardUrl());
        await Expect(Heading(page)).ToHaveTextAsync(displayName);
        await Expect(page.GetByText(email).First).ToBeVisibleAsync();
        var cardUrl = page.Url;

        // Find it again by typing part of its name into the search box, as a person would.
        await GoToAsync(page, "/customers");
        await Expect(CustomerRows(page).First).ToBeVisibleAsync();
        await SearchBox(page).PressSequentiallyAsync(lastName[..^2], new() { Delay = 60 });
        // The list narrows to this customer alone (120 demo customers would otherwise fill the page).
        await Expect(CustomerRows(page)).ToHaveCountAsync(1);
        var link = page.GetByRole(AriaRole.Link, new() { Name = displayName, Exact = true });
        await Expect(link).ToBeVisibleAsync();

        await link.ClickAsync();
        await Expect(page).ToHaveURLAsync(cardUrl);
        await Expect(Heading(page)).ToHaveTextAsync(displayName);
    });

    [Fact]
    public Task Editing_the_last_name_shows_on_the_card_and_in_the_history() => InBrowserAsync(async page =>
    {
        var suffix = UniqueSuffix();
        var oldLastName = "Koval" + suffix;
        var newLastName = "Kovalenko" + suffix;
        var id = await Kolo.CreatePersonAsync("Oksana", oldLastName, $"oksana.{suffix}@example.com", UniquePhone());

        await SignInAsync(page);
        await GoToAsync(page, $"/customers/{id}");
        await Expect(Heading(page)).ToHaveTextAsync($"Oksana {oldLastName}");

        await Control(page, "Edit").ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex($"/customers/{id}/edit$"));
        await WaitForInteractiveAsync(page);
        var lastName = Field(page, "Last name");
        // The form loads the record before it can be edited; typing earlier would be overwritten.
        await Expect(lastName).ToHaveValueAsync(oldLastName);
        await lastName.FillAsync(newLastName);
        await Control(page, "Save").ClickAsync();

        await Expect(page).ToHaveURLAsync(new Regex($"/customers/{id}$"));
        await Expect(Heading(page)).ToHaveTextAsync($"Oksana {newLastName}");

        await page.GetByRole(AriaRole.Tab, new() { Name = "History" }).ClickAsync();
        await Expect(page.GetByText($"Last name: {oldLastName} → {newLastName}")).ToBeVisibleAsync();
    });
}
