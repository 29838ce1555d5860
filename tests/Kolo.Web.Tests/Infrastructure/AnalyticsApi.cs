using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;

namespace Kolo.Web.Tests.Infrastructure;

/// <summary>Calls the analytics tests share: settings, recompute jobs, scores, and orders files for the import.</summary>
public static class AnalyticsApi
{
    /// <summary>
    /// Replaces the analytics settings. Tests of one collection share the settings row, so every test sets all of
    /// them before it adds its data; recomputeHours is 0 so the scheduler never recomputes behind a test's back (until
    /// a row exists the default, every 24 hours, applies as soon as there are orders).
    /// </summary>
    public static Task<JsonElement> SetSettingsAsync(this HttpClient admin, string currency, double minSupport = 0.01, double minConfidence = 0.2,
        object? interactionCosts = null, double winBackThreshold = 0.3, int horizonMonths = 12, int recomputeHours = 0) =>
        admin.PutJsonAsync("/api/v1/analytics/settings", new
        {
            currency, horizonMonths, annualDiscountRateBasisPoints = 1000, predictionDays = 90, winBackThreshold,
            interactionCosts = interactionCosts ?? new Dictionary<string, long>(), minSupport, minConfidence, recomputeHours,
        }, HttpStatusCode.OK);

    public static async Task<JsonElement> WaitForAnalyticsJobAsync(this HttpClient client, Guid id, int timeoutSeconds = 180)
    {
        var until = DateTime.UtcNow.AddSeconds(timeoutSeconds);
        while (true)
        {
            var job = await client.GetJsonAsync($"/api/v1/analytics/jobs/{id}");
            if (job.Str("status") is "Succeeded" or "Failed") return job;
            Assert.True(DateTime.UtcNow < until, $"The analytics job did not finish in {timeoutSeconds} s: {job}");
            await Task.Delay(200);
        }
    }

    /// <summary>Queues a recompute as of <paramref name="asOf"/>, waits for it, and returns its result (it must succeed).</summary>
    public static async Task<JsonElement> RecomputeAsync(this HttpClient client, DateOnly asOf)
    {
        var queued = await client.PostJsonAsync("/api/v1/analytics/recompute", new { asOf = OrderApi.Day(asOf) }, HttpStatusCode.Accepted);
        var job = await client.WaitForAnalyticsJobAsync(queued.Id());
        Assert.True(job.Str("status") == "Succeeded", job.ToString());
        return job.GetProperty("result");
    }

    public static Task<JsonElement> ScoresAsync(this HttpClient client, Guid customerId) =>
        client.GetJsonAsync($"/api/v1/customers/{customerId}/scores");

    public static async Task<List<JsonElement>> RecommendationsAsync(this HttpClient client, Guid customerId) =>
        (await client.GetJsonAsync($"/api/v1/customers/{customerId}/recommendations")).EnumerateArray().ToList();

    /// <summary>A money field ({amount, currency}) of a response, checked for the currency.</summary>
    public static decimal Money(this JsonElement e, string property, string currency)
    {
        var money = e.GetProperty(property);
        Assert.Equal(currency, money.Str("currency"));
        return money.GetProperty("amount").GetDecimal();
    }

    public static double? DoubleOrNull(this JsonElement e, string property) =>
        e.GetProperty(property).ValueKind == JsonValueKind.Null ? null : e.GetProperty(property).GetDouble();

    public static int? IntOrNull(this JsonElement e, string property) =>
        e.GetProperty(property).ValueKind == JsonValueKind.Null ? null : e.GetProperty(property).GetInt32();

    public static string? StrOrNull(this JsonElement e, string property) =>
        e.GetProperty(property).ValueKind == JsonValueKind.Null ? null : e.GetProperty(property).GetString();

    /// <summary>One line of an orders file: order id, customer id, date, SKU, description, quantity, unit price.</summary>
    public sealed record OrderRow(string Order, string Customer, DateTime At, string Sku, string Description, int Quantity, decimal UnitPrice);

    /// <summary>The mapping of <see cref="OrdersCsv"/>'s columns to the import's order fields.</summary>
    public static readonly object OrdersMapping = new
    {
        externalId = "order", customerExternalId = "customer", orderedAt = "date", sku = "sku", description = "item", quantity = "qty", unitPrice = "price",
    };

    /// <summary>An orders CSV (RFC 4180, every text quoted so labels keep their spaces exactly).</summary>
    public static byte[] OrdersCsv(IEnumerable<OrderRow> rows)
    {
        static string Q(string s) => "\"" + s.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
        var csv = new StringBuilder("order,customer,date,sku,item,qty,price\n");
        foreach (var r in rows)
            csv.Append(CultureInfo.InvariantCulture, $"{Q(r.Order)},{Q(r.Customer)},{r.At:yyyy-MM-dd'T'HH:mm:ss'Z'},{Q(r.Sku)},{Q(r.Description)},{r.Quantity},{r.UnitPrice}\n");
        return Encoding.UTF8.GetBytes(csv.ToString());
    }

    /// <summary>Imports orders in <paramref name="currency"/> (returns are orders whose id starts with C) and expects every row accepted.</summary>
    public static async Task<JsonElement> ImportOrdersAsync(this HttpClient admin, IReadOnlyCollection<OrderRow> rows, string currency, int timeoutSeconds = 300)
    {
        var job = await admin.ImportAsync(OrdersCsv(rows), "orders.csv", "orders", OrdersMapping, new { currency, cancellationPrefix = "C" }, timeoutSeconds: timeoutSeconds);
        Assert.True(job.Str("status") == "Succeeded", job.ToString());
        Assert.True(job.Int("accepted") == rows.Count, job.ToString());
        return job;
    }
}
