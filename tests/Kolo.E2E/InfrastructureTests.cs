using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Kolo.E2E;

/// <summary>
/// The ground the scenarios stand on: the built server runs as a process, Chromium drives it, and the sign-in form
/// posts to the server. If these fail, every scenario fails for the same reason, and these say which.
/// </summary>
public sealed class InfrastructureTests(KoloFixture kolo, ITestOutputHelper output) : UiTest(kolo, output)
{
    [Fact]
    public async Task Server_is_healthy_and_printed_how_to_sign_in()
    {
        using var http = new HttpClient { BaseAddress = Kolo.BaseUrl };
        using var response = await http.GetAsync(new Uri("/health", UriKind.Relative));
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        // The server really runs on the fresh data folder with the configured admin and demo data.
        var printed = Kolo.Server.Output;
        Assert.Contains("Created the first admin admin@kolo.local", printed, StringComparison.Ordinal);
        Assert.Contains("Seeded demo data", printed, StringComparison.Ordinal);
        // It tells the user where it runs.
        Assert.Contains(Kolo.BaseUrl.ToString().TrimEnd('/'), printed, StringComparison.Ordinal);
    }

    [Fact]
    public Task Chromium_renders_the_sign_in_page() => InBrowserAsync(async page =>
    {
        var response = await page.GotoAsync("/login");
        Assert.NotNull(response);
        Assert.Equal(200, response.Status);
        await Expect(page.GetByLabel("E-mail")).ToBeVisibleAsync();
        await Expect(page.GetByLabel("Password")).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Sign in" })).ToBeEnabledAsync();
        Assert.Contains("Chrom", await page.EvaluateAsync<string>("() => navigator.userAgent"), StringComparison.Ordinal);
    });

    [Fact]
    public Task An_app_page_sends_a_signed_out_visitor_to_sign_in() => InBrowserAsync(async page =>
    {
        await page.GotoAsync("/customers");
        await Expect(page).ToHaveURLAsync(LoginPage());
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Sign in" })).ToBeVisibleAsync();
    });

    [Fact]
    public Task A_lost_connection_shows_Kolos_reconnection_dialog_until_the_circuit_is_back() => InBrowserAsync(async page =>
    {
        await SignInAsync(page);
        await GoToAsync(page, "/customers");
        await WaitForInteractiveAsync(page);
        var dialog = page.Locator("#components-reconnect-modal");
        await Expect(dialog).ToBeHiddenAsync();

        // The network goes away and the circuit's socket with it: every reconnection attempt fails while offline.
        await page.Context.SetOfflineAsync(true);
        await page.EvaluateAsync("() => window.__kolo.sockets.forEach(s => s.close())");
        await Expect(dialog).ToBeVisibleAsync();
        // From the second attempt on, the countdown replaces the first message (Blazor keeps "show" beside "retrying").
        await Expect(dialog.GetByText(new Regex(@"^Still no connection\. Trying again in \d+ s…$"))).ToBeVisibleAsync();
        await Expect(dialog.GetByText("Connection to the server lost. Reconnecting…")).ToBeHiddenAsync();

        // Back online: the next attempt rejoins the same circuit, the dialog closes and the page works again.
        await page.Context.SetOfflineAsync(false);
        await Expect(dialog).ToBeHiddenAsync(new() { Timeout = 30_000 });
        await SearchBox(page).FillAsync("zzz-no-such-customer");
        await Expect(page.GetByText("No customers match", new() { Exact = false }).First).ToBeVisibleAsync();
    });

    [Fact]
    public Task Signing_in_as_the_admin_leaves_the_sign_in_page_with_a_session() => InBrowserAsync(async page =>
    {
        await page.GotoAsync("/login");
        await page.GetByLabel("E-mail").FillAsync(KoloServer.AdminEmail);
        await page.GetByLabel("Password").FillAsync(KoloServer.AdminPassword);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(page).Not.ToHaveURLAsync(LoginPage());

        // The cookie the form post set really authenticates: the API answers for the admin, not with 401.
        var me = await page.APIRequest.GetAsync("/api/v1/me");
        Assert.Equal(200, me.Status);
        Assert.Contains(KoloServer.AdminEmail, await me.TextAsync(), StringComparison.Ordinal);

        // And the interactive app connects its Blazor circuit after sign-in.
        await WaitForInteractiveAsync(page);
    });

    [Fact]
    public Task A_wrong_password_keeps_the_visitor_on_the_sign_in_page() => InBrowserAsync(async page =>
    {
        await page.GotoAsync("/login");
        await page.GetByLabel("E-mail").FillAsync(KoloServer.AdminEmail);
        await page.GetByLabel("Password").FillAsync("not-the-password");
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(LoginPage());
        var me = await page.APIRequest.GetAsync("/api/v1/me");
        Assert.Equal(401, me.Status);
    });
}
