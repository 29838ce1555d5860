using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace Kolo.E2E;

/// <summary>One server and one headless Chromium shared by every end-to-end test; each test gets its own browser context.</summary>
public sealed class KoloFixture : IAsyncLifetime
{
    /// <summary>Chromium's switches for a container: no sandbox (we may run as root), no GPU, and nothing that phones home.</summary>
    private static readonly string[] ChromiumArgs =
        ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"];

    /// <summary>
    /// Settings the tests need beyond the defaults: reminders are looked for every second (instead of every 15 s), so
    /// a reminder due in two seconds reaches the bell well within a test's patience.
    /// </summary>
    private static readonly Dictionary<string, string> ServerSettings = new()
    {
        ["Kolo__ReminderIntervalSeconds"] = "1",
    };

    private KoloServer? server;
    private IPlaywright? playwright;
    private IBrowser? browser;

    public KoloServer Server => server ?? throw new InvalidOperationException("The server is not started.");
    public IBrowser Browser => browser ?? throw new InvalidOperationException("Chromium is not started.");
    public Uri BaseUrl => Server.BaseUrl;

    public static string ChromiumPath => Environment.GetEnvironmentVariable("KOLO_TEST_CHROMIUM") is { Length: > 0 } path ? path : "/usr/bin/chromium";

    public async Task InitializeAsync()
    {
        // Check the browser first: it is the cheaper failure, and a missing browser must fail the run, never skip it.
        if (!File.Exists(ChromiumPath))
            throw new InvalidOperationException(
                $"Chromium is not installed at {ChromiumPath}. Install it (apt-get install chromium) or point KOLO_TEST_CHROMIUM at a Chromium binary; ./test.sh installs it on Debian.");
        // The Playwright driver must never try to fetch browsers; we always pass an executable.
        Environment.SetEnvironmentVariable("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
        playwright = await Playwright.CreateAsync();
        browser = await playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ChromiumArgs,
        });
        server = await KoloServer.StartAsync(ServerSettings);
    }

    public async Task DisposeAsync()
    {
        if (browser is not null) await browser.CloseAsync();
        playwright?.Dispose();
        if (server is not null) await server.DisposeAsync();
    }

    /// <summary>A fresh, signed-out browser context in English, so tests do not share cookies or language.</summary>
    public Task<IBrowserContext> NewContextAsync(int width = 1280, int height = 900, bool mobile = false) =>
        Browser.NewContextAsync(new()
        {
            BaseURL = BaseUrl.ToString(),
            Locale = "en-US",
            ViewportSize = new() { Width = width, Height = height },
            IsMobile = mobile,
            HasTouch = mobile,
        });

    /// <summary>An API client signed in as the admin, for arranging data a test is not about.</summary>
    public async Task<HttpClient> AdminApiAsync()
    {
        var http = new HttpClient { BaseAddress = BaseUrl };
        using var response = await http.PostAsJsonAsync("/api/v1/auth/token", new { email = KoloServer.AdminEmail, password = KoloServer.AdminPassword });
        response.EnsureSuccessStatusCode();
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", body.RootElement.GetProperty("token").GetString());
        return http;
    }

    /// <summary>POSTs <paramref name="body"/> as JSON with the admin's token and returns the answer; anything but 2xx throws with the problem details.</summary>
    public async Task<JsonElement> PostAsync(string path, object body)
    {
        using var http = await AdminApiAsync();
        using var response = await http.PostAsJsonAsync(new Uri(path, UriKind.Relative), body);
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
            throw new InvalidOperationException($"POST {path} answered {(int)response.StatusCode}: {text}");
        using var json = JsonDocument.Parse(text);
        return json.RootElement.Clone();
    }

    /// <summary>GETs <paramref name="path"/> with the admin's token; anything but 2xx throws.</summary>
    public async Task<JsonElement> GetAsync(string path)
    {
        using var http = await AdminApiAsync();
        using var response = await http.GetAsync(new Uri(path, UriKind.Relative));
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
            throw new InvalidOperationException($"GET {path} answered {(int)response.StatusCode}: {text}");
        using var json = JsonDocument.Parse(text);
        return json.RootElement.Clone();
    }

    /// <summary>Creates a person through the API and returns its id.</summary>
    public async Task<Guid> CreatePersonAsync(string firstName, string lastName, string email, string phone)
    {
        using var http = await AdminApiAsync();
        using var response = await http.PostAsJsonAsync("/api/v1/customers", new
        {
            kind = "Person",
            firstName,
            lastName,
            emails = new[] { new { address = email, label = "work" } },
            phones = new[] { new { number = phone, label = "mobile" } },
        });
        if (!response.IsSuccessStatusCode)
            throw new InvalidOperationException($"Creating {firstName} {lastName} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return body.RootElement.GetProperty("id").GetGuid();
    }
}

[CollectionDefinition(Name)]
public sealed class E2ECollection : ICollectionFixture<KoloFixture>
{
    public const string Name = "Kolo end to end";
}
