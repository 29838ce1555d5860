using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Kolo.E2E;

/// <summary>Scenario 5: the language menu switches the whole UI, and back.</summary>
public sealed class LanguageTests(KoloFixture kolo, ITestOutputHelper output) : UiTest(kolo, output)
{
    /// <summary>The language button's name in each UI language (English is the contract; the others are its translations).</summary>
    private static readonly Regex LanguageButton = new("^(Language|Мова|Язык)$");

    /// <summary>Picks a language from the app bar's menu; the page reloads in it, showing <paramref name="heading"/>.</summary>
    private static async Task ChooseLanguageAsync(IPage page, string language, string heading)
    {
        await page.GetByRole(AriaRole.Button, new() { NameRegex = LanguageButton }).ClickAsync();
        await page.GetByRole(AriaRole.Menuitem, new() { Name = language, Exact = true }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex(@"/customers/?$"));
        await Expect(Heading(page)).ToHaveTextAsync(heading);
        // The switch reloads the page; its new circuit must be up before the menu is used again.
        await WaitForInteractiveAsync(page);
    }

    [Fact]
    public Task Switching_to_Ukrainian_and_back_translates_the_customer_list() => InBrowserAsync(async page =>
    {
        // The manager, not the admin: the chosen language is saved on the user and follows them to the next sign-in.
        await SignInAsync(page, "manager@kolo.local", KoloServer.DemoPassword);
        await GoToAsync(page, "/customers");
        await Expect(Heading(page)).ToHaveTextAsync("Customers");

        await ChooseLanguageAsync(page, "Українська", "Клієнти");
        await Expect(Control(page, "Новий клієнт")).ToBeVisibleAsync();
        await Expect(Control(page, "New customer")).ToHaveCountAsync(0);
        await Expect(page.Locator("html")).ToHaveAttributeAsync("lang", "uk");

        await ChooseLanguageAsync(page, "Русский", "Клиенты");
        await Expect(Control(page, "Новый клиент")).ToBeVisibleAsync();

        await ChooseLanguageAsync(page, "English", "Customers");
        await Expect(Control(page, "New customer")).ToBeVisibleAsync();
        await Expect(page.Locator("html")).ToHaveAttributeAsync("lang", "en");
    });

    [Fact]
    public Task A_refusal_from_the_server_is_shown_in_the_chosen_language() => InBrowserAsync(async page =>
    {
        // The sales user: no other scenario signs in as them, so their saved language touches no other test.
        await SignInAsync(page, "sales@kolo.local", KoloServer.DemoPassword);
        await GoToAsync(page, "/customers");
        await ChooseLanguageAsync(page, "Українська", "Клієнти");
        try
        {
            await Control(page, "Новий клієнт").ClickAsync();
            await Expect(page).ToHaveURLAsync(new Regex("/customers/new$"));
            await WaitForInteractiveAsync(page);
            await Field(page, "Ім'я").FillAsync("Taras" + UniqueSuffix());
            // Only the server knows a phone number is impossible: its English sentence comes back, the form shows it in Ukrainian.
            await Field(page, "Телефон").FillAsync("12345");
            await Control(page, "Зберегти").ClickAsync();
            await Expect(page.GetByText("«12345» — неправильний номер телефону").First).ToBeVisibleAsync();
            await Expect(page.GetByText("is not a valid phone number")).ToHaveCountAsync(0);
            await Expect(page).ToHaveURLAsync(new Regex("/customers/new$"));
        }
        finally
        {
            await GoToAsync(page, "/customers");
            await ChooseLanguageAsync(page, "English", "Customers");
        }
    });
}
