using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Kolo.Web.Tests.Infrastructure;

/// <summary>Calls the product, order and fulfilment tests share.</summary>
public static class OrderApi
{
    /// <summary>A product with a unique SKU (as the admin unless a client is given).</summary>
    public static Task<JsonElement> CreateProductAsync(this HttpClient client, decimal listPrice, string currency = "UAH", string? category = null, string? sku = null, string? name = null, bool active = true) =>
        client.PostJsonAsync("/api/v1/products",
            new { sku = sku ?? "T-" + Unique.Word(10).ToUpperInvariant(), name = name ?? "Product " + Unique.Word(6), category, listPrice, unitCost = listPrice / 2, currency, active },
            HttpStatusCode.Created);

    /// <summary>A line of <paramref name="quantity"/> of a product, with an optional unit price and discount.</summary>
    public static Dictionary<string, object?> Line(Guid productId, int quantity, decimal? unitPrice = null, decimal? discount = null, string? purpose = null) => new()
    {
        ["productId"] = productId, ["quantity"] = quantity, ["unitPrice"] = unitPrice, ["discount"] = discount, ["purpose"] = purpose,
    };

    public static Dictionary<string, object?> Order(Guid customerId, IEnumerable<object> lines, string currency = "UAH", bool quote = false) => new()
    {
        ["customerId"] = customerId, ["quote"] = quote, ["currency"] = currency, ["lines"] = lines.ToList(),
        ["channel"] = "web", ["paymentMethod"] = "card",
    };

    public static Task<JsonElement> CreateOrderAsync(this HttpClient client, object body) =>
        client.PostJsonAsync("/api/v1/orders", body, HttpStatusCode.Created);

    public static async Task<(JsonElement Order, string ETag)> GetOrderAsync(this HttpClient client, Guid id)
    {
        using var response = await client.GetAsync($"/api/v1/orders/{id}");
        var body = await response.ExpectAsync(HttpStatusCode.OK);
        return (body, response.ETag());
    }

    public static async Task<HttpResponseMessage> SetStatusAsync(this HttpClient client, Guid id, string status, string? ifMatch = null, DateTime? at = null) =>
        await client.SendRawAsync(HttpMethod.Post, $"/api/v1/orders/{id}/status",
            JsonSerializer.Serialize(new { status, at = at is { } a ? TimelineApi.Iso(a) : null }, Api.Json), ifMatch);

    public static async Task<JsonElement> StatusAsync(this HttpClient client, Guid id, string status, DateTime? at = null)
    {
        using var response = await client.SetStatusAsync(id, status, null, at);
        return await response.ExpectAsync(HttpStatusCode.OK);
    }

    public static async Task<HttpResponseMessage> ReturnAsync(this HttpClient client, Guid orderId, params (Guid LineId, int Quantity)[] lines) =>
        await client.PostAsJsonAsync($"/api/v1/orders/{orderId}/returns",
            new { lines = lines.Select(l => new { lineId = l.LineId, quantity = l.Quantity }), reason = "Damaged in transit" }, Api.Json);

    public static decimal Dec(this JsonElement e, string property) => e.GetProperty(property).GetDecimal();

    public static List<JsonElement> Lines(this JsonElement order) => order.GetProperty("lines").EnumerateArray().ToList();

    /// <summary>A yyyy-MM-dd date the API reads.</summary>
    public static string Day(DateOnly d) => d.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);

    public static DateOnly Today() => DateOnly.FromDateTime(DateTime.UtcNow);
}
