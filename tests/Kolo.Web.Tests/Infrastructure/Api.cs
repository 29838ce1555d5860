using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Kolo.Web.Tests.Infrastructure;

/// <summary>Random names, e-mails and phones, so tests sharing a database never match each other's data.</summary>
public static class Unique
{
    private const string Letters = "abcdefghijklmnopqrstuvwxyz";
    private static int _phoneCounter = RandomNumberGenerator.GetInt32(1_000_000);

    /// <summary>Lower-case letters; capitalised when used as a name.</summary>
    public static string Word(int length = 10) =>
        new(Enumerable.Range(0, length).Select(_ => Letters[RandomNumberGenerator.GetInt32(Letters.Length)]).ToArray());

    public static string Name(int length = 10)
    {
        var w = Word(length);
        return char.ToUpperInvariant(w[0]) + w[1..];
    }

    public static string Email() => $"{Word(12)}@example.com";

    /// <summary>Seven subscriber digits of a Ukrainian mobile number, different on every call in this process.</summary>
    public static string SubscriberDigits() =>
        ((Interlocked.Increment(ref _phoneCounter) * 7_919L + 1_234_567) % 9_000_000 + 1_000_000).ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>A valid Kyivstar mobile number in national form, e.g. 0671234567.</summary>
    public static string Phone() => "067" + SubscriberDigits();
}

public static class Api
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static async Task<JsonElement> ReadJsonAsync(this HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>Asserts the status, showing the body when it differs (so a failure explains itself).</summary>
    public static async Task<JsonElement> ExpectAsync(this HttpResponseMessage response, HttpStatusCode status)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"Expected {(int)status}, got {(int)response.StatusCode}: {text}");
        if ((int)response.StatusCode >= 400) AssertNoInternals(text);
        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
    }

    public static async Task<JsonElement> GetJsonAsync(this HttpClient client, string url, HttpStatusCode status = HttpStatusCode.OK)
    {
        using var response = await client.GetAsync(url);
        return await response.ExpectAsync(status);
    }

    public static async Task<JsonElement> PostJsonAsync(this HttpClient client, string url, object body, HttpStatusCode status)
    {
        using var response = await client.PostAsJsonAsync(url, body, Json);
        return await response.ExpectAsync(status);
    }

    public static async Task<JsonElement> PutJsonAsync(this HttpClient client, string url, object body, HttpStatusCode status)
    {
        using var response = await client.PutAsJsonAsync(url, body, Json);
        return await response.ExpectAsync(status);
    }

    public static Task<HttpResponseMessage> PatchAsync(this HttpClient client, string url, object body, string? ifMatch) =>
        client.SendRawAsync(HttpMethod.Patch, url, JsonSerializer.Serialize(body, Json), ifMatch, "application/merge-patch+json");

    public static async Task<HttpResponseMessage> SendRawAsync(this HttpClient client, HttpMethod method, string url, string body, string? ifMatch = null, string contentType = "application/json")
    {
        using var request = new HttpRequestMessage(method, url) { Content = new StringContent(body, Encoding.UTF8, contentType) };
        if (ifMatch is not null) request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
        return await client.SendAsync(request);
    }

    /// <summary>A 400 ProblemDetails: its content type, and the field paths it names.</summary>
    public static async Task<IReadOnlyDictionary<string, string[]>> ExpectValidationProblemAsync(this HttpResponseMessage response)
    {
        var body = await response.ExpectAsync(HttpStatusCode.BadRequest);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(400, body.GetProperty("status").GetInt32());
        return body.GetProperty("errors").Deserialize<Dictionary<string, string[]>>(Json)!;
    }

    /// <summary>No error body may carry a stack trace or exception internals.</summary>
    public static void AssertNoInternals(string body)
    {
        foreach (var marker in new[] { "   at ", ".cs:line", "StackTrace", "stackTrace", "System.", "Microsoft.", "Kolo.Core", "Kolo.Web", "Exception:" })
            Assert.False(body.Contains(marker, StringComparison.Ordinal), $"The response leaks internals ('{marker}'): {body}");
    }

    public static string ETag(this HttpResponseMessage response) =>
        response.Headers.ETag?.ToString() ?? throw new Xunit.Sdk.XunitException("The response has no ETag.");

    public static IEnumerable<JsonElement> Items(this JsonElement page) => page.GetProperty("items").EnumerateArray();

    public static string Str(this JsonElement e, string property) => e.GetProperty(property).GetString()!;

    public static Guid Id(this JsonElement e) => e.GetProperty("id").GetGuid();
}
