using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

namespace Kolo.Web.Tests.Infrastructure;

/// <summary>Calls the interaction, timeline and task tests share.</summary>
public static class TimelineApi
{
    /// <summary>Records an interaction and returns the intake result ({interaction, created, customerCreated}).</summary>
    public static Task<JsonElement> RecordAsync(this HttpClient client, object body, HttpStatusCode status = HttpStatusCode.Created) =>
        client.PostJsonAsync("/api/v1/interactions", body, status);

    /// <summary>Every entry of a customer's timeline, walking the cursor with the given page size.</summary>
    public static async Task<List<JsonElement>> TimelineAsync(this HttpClient client, Guid customerId, string query = "", int limit = 200)
    {
        var entries = new List<JsonElement>();
        string? cursor = null;
        for (var pages = 0; pages < 1000; pages++)
        {
            var url = $"/api/v1/customers/{customerId}/timeline?limit={limit}{query}" + (cursor is null ? "" : $"&cursor={Uri.EscapeDataString(cursor)}");
            var page = await client.GetJsonAsync(url);
            entries.AddRange(page.Items());
            if (page.GetProperty("nextCursor").ValueKind == JsonValueKind.Null) return entries;
            cursor = page.Str("nextCursor");
        }
        throw new Xunit.Sdk.XunitException("The timeline's cursor never ended.");
    }

    /// <summary>Every page of a list endpoint that takes limit and cursor.</summary>
    public static async Task<List<JsonElement>> AllPagesAsync(this HttpClient client, string url, int limit)
    {
        var items = new List<JsonElement>();
        string? cursor = null;
        var separator = url.Contains('?', StringComparison.Ordinal) ? "&" : "?";
        for (var pages = 0; pages < 1000; pages++)
        {
            var page = await client.GetJsonAsync($"{url}{separator}limit={limit}" + (cursor is null ? "" : $"&cursor={Uri.EscapeDataString(cursor)}"));
            var batch = page.Items().ToList();
            Assert.True(batch.Count <= limit, $"A page had {batch.Count} items for limit {limit}.");
            items.AddRange(batch);
            if (page.GetProperty("nextCursor").ValueKind == JsonValueKind.Null) return items;
            Assert.Equal(limit, batch.Count); // a page before the last is full
            cursor = page.Str("nextCursor");
        }
        throw new Xunit.Sdk.XunitException("The cursor never ended.");
    }

    public static async Task<HttpResponseMessage> UploadAsync(this HttpClient client, Guid interactionId, byte[] content, string fileName, string contentType = "application/pdf")
    {
        using var form = new MultipartFormDataContent();
        var file = new ByteArrayContent(content);
        file.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        form.Add(file, "file", fileName);
        return await client.PostAsync($"/api/v1/interactions/{interactionId}/attachments", form);
    }

    public static async Task<(JsonElement Task, string ETag)> GetTaskAsync(this HttpClient client, Guid id)
    {
        using var response = await client.GetAsync($"/api/v1/tasks/{id}");
        var body = await response.ExpectAsync(HttpStatusCode.OK);
        return (body, response.ETag());
    }

    /// <summary>An instant in the ISO form the API reads, with whole seconds (both engines keep it exactly).</summary>
    public static string Iso(DateTime utc) => utc.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Now in UTC, cut to whole seconds.</summary>
    public static DateTime Now()
    {
        var now = DateTime.UtcNow;
        return new DateTime(now.Ticks - now.Ticks % TimeSpan.TicksPerSecond, DateTimeKind.Utc);
    }

    public static Guid? GuidOrNull(this JsonElement e, string property) =>
        e.GetProperty(property).ValueKind == JsonValueKind.Null ? null : e.GetProperty(property).GetGuid();
}
