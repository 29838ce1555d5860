using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Kolo.E2E;

/// <summary>Scenario 6: the customer list on a phone-sized screen.</summary>
public sealed class PhoneTests(KoloFixture kolo, ITestOutputHelper output) : UiTest(kolo, output)
{
    [Fact]
    public Task The_customer_list_is_usable_on_a_phone() => InBrowserAsync(async page =>
    {
        var suffix = UniqueSuffix();
        var lastName = "Mobilenko" + suffix;
        var id = await Kolo.CreatePersonAsync("Iryna", lastName, $"iryna.{suffix}@example.com", UniquePhone());

        await SignInAsync(page);
        await GoToAsync(page, "/customers");
        await Expect(Heading(page)).ToHaveTextAsync("Customers");
        await Expect(SearchBox(page)).ToBeInViewportAsync();
        await Expect(CustomerRows(page).First).ToBeInViewportAsync();

        // Nothing pushes the page sideways: a phone user should not have to scroll horizontally to reach controls.
        var overflow = await page.EvaluateAsync<int>("() => document.documentElement.scrollWidth - window.innerWidth");
        Assert.True(overflow <= 1, $"The page is {overflow}px wider than the 390px screen.");

        await SearchBox(page).TapAsync();
        await SearchBox(page).PressSequentiallyAsync(lastName, new() { Delay = 60 });
        var link = page.GetByRole(AriaRole.Link, new() { Name = $"Iryna {lastName}", Exact = true });
        await Expect(link).ToBeInViewportAsync();
        await link.TapAsync();
        await Expect(page).ToHaveURLAsync(new Regex($"/customers/{id}$"));
        await Expect(Heading(page)).ToHaveTextAsync($"Iryna {lastName}");
    }, width: 390, height: 844, mobile: true);
}
