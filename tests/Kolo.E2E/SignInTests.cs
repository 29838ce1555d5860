using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Kolo.E2E;

/// <summary>Scenario 1: signing in, and what a wrong password looks like.</summary>
public sealed class SignInTests(KoloFixture kolo, ITestOutputHelper output) : UiTest(kolo, output)
{
    [Fact]
    public Task The_admin_signs_in_and_lands_on_the_customer_list() => InBrowserAsync(async page =>
    {
        await page.GotoAsync("/login");
        await Field(page, "E-mail").FillAsync(KoloServer.AdminEmail);
        await Field(page, "Password").FillAsync(KoloServer.AdminPassword);
        await Control(page, "Sign in").ClickAsync();

        await Expect(page).ToHaveURLAsync(new Regex(@"/customers/?$"));
        await Expect(Heading(page)).ToHaveTextAsync("Customers");
        await Expect(CustomerRows(page).First).ToBeVisibleAsync();
    });

    [Fact]
    public Task A_wrong_password_shows_the_error_and_does_not_sign_in() => InBrowserAsync(async page =>
    {
        await page.GotoAsync("/login");
        await Field(page, "E-mail").FillAsync(KoloServer.AdminEmail);
        await Field(page, "Password").FillAsync("Wrong-pass-123");
        await Control(page, "Sign in").ClickAsync();

        await Expect(page.GetByText("Wrong e-mail or password.")).ToBeVisibleAsync();
        await Expect(page).ToHaveURLAsync(LoginPage());
        // Still signed out: the app sends the visitor back to sign in.
        await page.GotoAsync("/customers");
        await Expect(page).ToHaveURLAsync(LoginPage());
    });
}
