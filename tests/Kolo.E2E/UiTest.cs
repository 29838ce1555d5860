using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Kolo.E2E;

/// <summary>
/// Base for browser tests: runs a test body in its own browser context and, when it fails, keeps a screenshot, the
/// page's HTML, a Playwright trace and the server's output so the failure can be understood without re-running it.
/// </summary>
[Collection(E2ECollection.Name)]
public abstract partial class UiTest(KoloFixture kolo, ITestOutputHelper output)
{
    protected KoloFixture Kolo { get; } = kolo;
    protected ITestOutputHelper Output { get; } = output;

    static UiTest()
    {
        // Blazor Server needs a moment to connect its circuit on a busy two-core machine; keep waits generous but bounded.
        SetDefaultExpectTimeout(15_000);
    }

    /// <summary>
    /// Counts SignalR messages on Blazor's WebSocket, so a test can tell when the circuit is up and the page reacts
    /// to input: prerendered HTML looks ready long before its event handlers exist. Keeps the sockets, so a test can
    /// drop the connection.
    /// </summary>
    private const string CircuitProbe = """
        (() => {
          const Native = window.WebSocket;
          if (!Native || Native.__koloProbe) return;
          window.__kolo = { messages: 0, last: 0, sockets: [] };
          function Probe(url, protocols) {
            const socket = protocols === undefined ? new Native(url) : new Native(url, protocols);
            if (String(url).includes('/_blazor')) {
              socket.addEventListener('message', () => { window.__kolo.messages++; window.__kolo.last = performance.now(); });
              window.__kolo.sockets.push(socket);
            }
            return socket;
          }
          Probe.prototype = Native.prototype;
          Object.assign(Probe, { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3, __koloProbe: true });
          window.WebSocket = Probe;
        })();
        """;

    /// <summary>Runs <paramref name="test"/> with a fresh page; on failure saves what the page looked like, then rethrows.</summary>
    protected async Task InBrowserAsync(Func<IPage, Task> test, int width = 1280, int height = 900, bool mobile = false,
        [CallerMemberName] string testName = "")
    {
        await using var context = await Kolo.NewContextAsync(width, height, mobile);
        context.SetDefaultTimeout(20_000);
        await context.AddInitScriptAsync(CircuitProbe);
        await context.Tracing.StartAsync(new() { Screenshots = true, Snapshots = true, Title = testName });
        var page = await context.NewPageAsync();
        var consoleErrors = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Type == "error") lock (consoleErrors) consoleErrors.Add(message.Text);
        };
        try
        {
            await test(page);
            await context.Tracing.StopAsync();
        }
        catch (Exception failure)
        {
            await SaveEvidenceAsync(context, page, testName, consoleErrors);
            Output.WriteLine($"The page was at {page.Url} when the test failed: {failure.Message}");
            throw;
        }
    }

    private async Task SaveEvidenceAsync(IBrowserContext context, IPage page, string testName, List<string> consoleErrors)
    {
        var dir = ArtifactsDirectory();
        var stem = Path.Combine(dir, $"{testName}-{DateTime.UtcNow:HHmmss}");
        try
        {
            await page.ScreenshotAsync(new() { Path = stem + ".png", FullPage = true, Timeout = 10_000 });
            await File.WriteAllTextAsync(stem + ".html", await page.ContentAsync());
            await context.Tracing.StopAsync(new() { Path = stem + ".trace.zip" });
            Output.WriteLine($"Saved {stem}.png, .html and .trace.zip (open with: pwsh bin/.../playwright.ps1 show-trace).");
        }
        catch (PlaywrightException e)
        {
            Output.WriteLine($"Could not save the page: {e.Message}");
        }
        lock (consoleErrors)
        {
            if (consoleErrors.Count > 0) Output.WriteLine("Browser console errors:\n" + string.Join('\n', consoleErrors));
        }
        var server = Kolo.Server.Output;
        Output.WriteLine("Server output (last 4000 characters):\n" + (server.Length > 4000 ? server[^4000..] : server));
        await File.WriteAllTextAsync(stem + ".server.log", server);
    }

    /// <summary>KOLO_E2E_ARTIFACTS, else test-output/e2e in the repository (where ./test.sh keeps its results).</summary>
    private static string ArtifactsDirectory()
    {
        var dir = Environment.GetEnvironmentVariable("KOLO_E2E_ARTIFACTS") is { Length: > 0 } configured
            ? configured
            : Path.Combine(KoloServer.RepositoryRoot().FullName, "test-output", "e2e");
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>Signs in through the /login form, as a person does, and waits until the app has left the sign-in page.</summary>
    protected static async Task SignInAsync(IPage page, string email = KoloServer.AdminEmail, string password = KoloServer.AdminPassword)
    {
        await page.GotoAsync("/login");
        await page.GetByLabel("E-mail").FillAsync(email);
        await page.GetByLabel("Password").FillAsync(password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(page).Not.ToHaveURLAsync(LoginPage());
        await WaitForInteractiveAsync(page);
    }

    /// <summary>Any URL of the sign-in page.</summary>
    protected static Regex LoginPage() => LoginPageRegex();

    [GeneratedRegex(@"/login(\?|$)")]
    private static partial Regex LoginPageRegex();

    /// <summary>
    /// Waits until Blazor's circuit has connected and gone quiet, so clicks and typing reach the server. The
    /// assertions that follow still auto-wait; this only keeps input from landing in prerendered, inert HTML.
    /// </summary>
    protected static async Task WaitForInteractiveAsync(IPage page)
    {
        try
        {
            await page.WaitForFunctionAsync(
                "() => window.__kolo && window.__kolo.messages >= 2 && performance.now() - window.__kolo.last > 300",
                null, new() { Timeout = 20_000, PollingInterval = 100 });
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException(
                $"{page.Url} did not become interactive: Blazor's circuit did not connect within 20 s (is this an interactive page, and is _framework/blazor.web.js served?).", e);
        }
    }

    /// <summary>Goes to an app page and waits for it to become interactive.</summary>
    protected static async Task GoToAsync(IPage page, string path)
    {
        await page.GotoAsync(path);
        await WaitForInteractiveAsync(page);
    }

    /// <summary>
    /// A form field by its visible label. Matched whole, so "Name" never finds "Last name"; a trailing "*" (how
    /// MudBlazor marks a required field) is allowed.
    /// </summary>
    protected static ILocator Field(IPage page, string label) =>
        page.GetByLabel(new Regex($@"^\s*{Regex.Escape(label)}\s*\*?\s*$")).First;

    /// <summary>
    /// Something to press, named <paramref name="name"/>: a button, or a link styled as one (a MudButton with an
    /// href renders as a link, and to a person both are the same control).
    /// </summary>
    protected static ILocator Control(IPage page, string name) =>
        page.GetByRole(AriaRole.Button, new() { Name = name, Exact = true })
            .Or(page.GetByRole(AriaRole.Link, new() { Name = name, Exact = true })).First;

    /// <summary>The page's main heading.</summary>
    protected static ILocator Heading(IPage page) => page.GetByRole(AriaRole.Heading, new() { Level = 1 });

    /// <summary>Customer list rows: table rows that carry a link (the customer's name); the header row has none.</summary>
    protected static ILocator CustomerRows(IPage page) =>
        page.GetByRole(AriaRole.Row).Filter(new() { Has = page.GetByRole(AriaRole.Link) });

    /// <summary>The /customers search box.</summary>
    protected static ILocator SearchBox(IPage page) => Field(page, "Search");

    /// <summary>A short random tag that keeps this run's records apart from the demo data and from each other.</summary>
    protected static string UniqueSuffix() =>
        string.Concat(Enumerable.Range(0, 6).Select(_ => (char)('a' + Random.Shared.Next(26))));

    /// <summary>A Ukrainian mobile number no demo customer has (Kyivstar 067 with random digits).</summary>
    protected static string UniquePhone() => $"+38067{Random.Shared.Next(1_000_000, 9_999_999)}";
}
