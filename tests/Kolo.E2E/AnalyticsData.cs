using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace Kolo.E2E;

/// <summary>
/// Arranges what the analytics scenarios stand on, through the API because none of them is about it: CDNOW's purchase
/// log imported as USD orders with USD as the analysed currency, and — for the scenarios that only read scores — a fit
/// and a recompute as of the dataset's last day. Done once per server; every step is idempotent, so tests may run in
/// any order and each can still do its own part through the UI.
/// </summary>
internal static class AnalyticsData
{
    /// <summary>CDNOW's calibration period ends here (Fader, Hardie &amp; Lee 2005) ...</summary>
    public const string CalibrationEnd = "1997-09-30";

    /// <summary>... and its 39-week holdout, the last day of the dataset, here.</summary>
    public const string HoldoutEnd = "1998-06-30";

    /// <summary>The customers CDNOW's 1/10th sample holds, all of whom bought in the first quarter of 1997.</summary>
    public const int CdnowCustomers = 2_357;

    private static readonly ConcurrentDictionary<Uri, Lazy<Task>> Imported = new();
    private static readonly SemaphoreSlim ScoresLock = new(1, 1);

    /// <summary>
    /// cdnow/cdnowElog.csv through the product's own order import (one order per row, customers created from the
    /// master id as "cdnow-&lt;id&gt;"), then the analytics settings: USD analysed, no scheduled recompute (it would
    /// rescore as of today under the tests' feet), and a minimum support low enough for a rule seen in a handful of
    /// baskets among CDNOW's ~6,900 to count.
    /// </summary>
    public static Task EnsureCdnowAsync(KoloFixture kolo) =>
        Imported.GetOrAdd(kolo.BaseUrl, _ => new Lazy<Task>(() => ImportCdnowAsync(kolo))).Value;

    private static async Task ImportCdnowAsync(KoloFixture kolo)
    {
        using var http = await kolo.AdminApiAsync();
        using var form = new MultipartFormDataContent();
        form.Add(new StringContent("orders"), "kind");
        form.Add(new StringContent(JsonSerializer.Serialize(new { customerExternalId = "masterid", orderedAt = "date", quantity = "cds", lineTotal = "sales" })), "mapping");
        form.Add(new StringContent(JsonSerializer.Serialize(new
        {
            currency = "USD", dateFormat = "yyyyMMdd", defaultSku = "CDNOW-CD", externalIdFromRow = "true", customerIdPrefix = "cdnow-",
        })), "options");
        var file = new ByteArrayContent(await File.ReadAllBytesAsync(Dataset("cdnow/cdnowElog.csv")));
        file.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        form.Add(file, "file", "cdnowElog.csv");
        using var response = await http.PostAsync(new Uri("/api/v1/imports", UriKind.Relative), form);
        var queued = await ReadAsync(response, "POST /api/v1/imports");
        var job = await PollAsync(http, $"/api/v1/imports/{queued.GetProperty("id").GetGuid()}", TimeSpan.FromMinutes(5));
        if (job.GetProperty("status").GetString() != "Succeeded") throw new InvalidOperationException($"The CDNOW import did not succeed: {job}");

        using var settings = await http.PutAsJsonAsync(new Uri("/api/v1/analytics/settings", UriKind.Relative), new
        {
            currency = "USD", horizonMonths = 12, annualDiscountRateBasisPoints = 1000, predictionDays = 90, winBackThreshold = 0.3,
            minSupport = 0.0001, minConfidence = 0.2, recomputeHours = 0,
        });
        await ReadAsync(settings, "PUT /api/v1/analytics/settings");
    }

    /// <summary>
    /// Makes sure the stored scores are as of <see cref="HoldoutEnd"/>, in USD, computed with CDNOW's fit: fits (with the
    /// holdout) unless the last fit is CDNOW's, and recomputes unless the last recompute is as of that day with that fit.
    /// </summary>
    public static async Task EnsureScoresAsync(KoloFixture kolo)
    {
        await EnsureCdnowAsync(kolo);
        await ScoresLock.WaitAsync();
        try
        {
            using var http = await kolo.AdminApiAsync();
            // A recompute uses the fit that finished last, which must be CDNOW's (the demo data queues a fit in UAH at startup).
            var fit = await LastSucceededAsync(http, "ClvFit");
            if (fit is not { } f || f.GetProperty("result").GetProperty("currency").GetString() != "USD"
                || Day(f.GetProperty("result").GetProperty("calibrationEnd")) != CalibrationEnd)
            {
                await RunJobAsync(http, "/api/v1/analytics/clv/fit", new { calibrationEnd = CalibrationEnd, timeUnit = "Week", holdoutEnd = HoldoutEnd });
                fit = await LastSucceededAsync(http, "ClvFit");
            }
            // The stored scores are the last recompute's: they must be as of CDNOW's last day, in USD, with that fit.
            var scores = (await LastSucceededAsync(http, "Scores"))?.GetProperty("result");
            var grid = await GetAsync(http, "/api/v1/analytics/rfm");
            var fitId = fit!.Value.GetProperty("id").GetString();
            if (scores is not { } sc || grid.GetProperty("currency").GetString() != "USD" || Day(sc.GetProperty("asOf")) != HoldoutEnd
                || sc.GetProperty("fitJobId").GetString() != fitId)
                await RecomputeAsync(kolo, HoldoutEnd);
        }
        finally
        {
            ScoresLock.Release();
        }
    }

    /// <summary>The analytics job of <paramref name="kind"/> that succeeded last, if any.</summary>
    private static async Task<JsonElement?> LastSucceededAsync(HttpClient http, string kind)
    {
        var jobs = await GetAsync(http, $"/api/v1/analytics/jobs?kind={kind}&limit=100");
        return jobs.EnumerateArray().Where(j => j.GetProperty("status").GetString() == "Succeeded")
            .OrderByDescending(j => j.GetProperty("finishedAt").GetDateTime()).Select(j => (JsonElement?)j).FirstOrDefault();
    }

    /// <summary>A date of the API as yyyy-MM-dd; null stays null.</summary>
    private static string? Day(JsonElement date) =>
        date.ValueKind == JsonValueKind.Null ? null : date.GetDateTime().ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Recomputes every score as of <paramref name="asOf"/> (yyyy-MM-dd) and waits for it.</summary>
    public static async Task RecomputeAsync(KoloFixture kolo, string asOf)
    {
        using var http = await kolo.AdminApiAsync();
        await RunJobAsync(http, "/api/v1/analytics/recompute", new { asOf });
    }

    private static async Task RunJobAsync(HttpClient http, string path, object body)
    {
        using var response = await http.PostAsJsonAsync(new Uri(path, UriKind.Relative), body);
        var queued = await ReadAsync(response, "POST " + path);
        var job = await PollAsync(http, $"/api/v1/analytics/jobs/{queued.GetProperty("id").GetGuid()}", TimeSpan.FromMinutes(5));
        if (job.GetProperty("status").GetString() != "Succeeded") throw new InvalidOperationException($"POST {path} gave a job that did not succeed: {job}");
    }

    /// <summary>Asks for a job until it has succeeded or failed.</summary>
    private static async Task<JsonElement> PollAsync(HttpClient http, string path, TimeSpan timeout)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var job = await GetAsync(http, path);
            if (job.GetProperty("status").GetString() is "Succeeded" or "Failed") return job;
            if (clock.Elapsed > timeout) throw new TimeoutException($"{path} did not finish within {timeout.TotalSeconds:0} s: {job}");
            await Task.Delay(250);
        }
    }

    public static async Task<JsonElement> GetAsync(HttpClient http, string path)
    {
        using var response = await http.GetAsync(new Uri(path, UriKind.Relative));
        return await ReadAsync(response, "GET " + path);
    }

    /// <summary>Changes fields of a customer with a JSON merge patch, sending the ETag its GET gave as If-Match.</summary>
    public static async Task PatchCustomerAsync(KoloFixture kolo, Guid id, object patch)
    {
        using var http = await kolo.AdminApiAsync();
        using var current = await http.GetAsync(new Uri($"/api/v1/customers/{id}", UriKind.Relative));
        await ReadAsync(current, $"GET /api/v1/customers/{id}");
        using var request = new HttpRequestMessage(HttpMethod.Patch, new Uri($"/api/v1/customers/{id}", UriKind.Relative))
        {
            Content = JsonContent.Create(patch),
        };
        request.Headers.IfMatch.Add(current.Headers.ETag ?? throw new InvalidOperationException($"GET /api/v1/customers/{id} sent no ETag."));
        using var response = await http.SendAsync(request);
        await ReadAsync(response, $"PATCH /api/v1/customers/{id}");
    }

    private static async Task<JsonElement> ReadAsync(HttpResponseMessage response, string what)
    {
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"{what} answered {(int)response.StatusCode}: {text}");
        using var json = JsonDocument.Parse(text);
        return json.RootElement.Clone();
    }

    /// <summary>A public dataset by its folder under ../shared/datasets (next to the repository).</summary>
    private static string Dataset(string relative)
    {
        var path = Path.GetFullPath(Path.Combine(KoloServer.RepositoryRoot().FullName, "..", "shared", "datasets", relative));
        if (!File.Exists(path))
            throw new InvalidOperationException($"The public dataset {relative} is missing: expected it at {path} (../shared/datasets next to the repository).");
        return path;
    }
}
