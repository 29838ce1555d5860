using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Kolo.Web.Tests.Infrastructure;

namespace Kolo.Web.Tests;

/// <summary>/api/v1/products: the catalogue, its filters and paging, If-Match, and who may change it.</summary>
public abstract class ProductApiTests(KoloAppFixture fx) : ApiTestBase(fx)
{
    private static object Body(string sku, string name, decimal listPrice = 10m, string? category = null, bool active = true, string currency = "UAH") =>
        new { sku, name, category, listPrice, unitCost = 4.5m, currency, active };

    [Fact]
    public async Task Creating_answers_201_with_Location_and_ETag_and_the_SKU_is_unique()
    {
        using var admin = Fx.Admin();
        var sku = "SKU-" + Unique.Word(8).ToUpperInvariant();
        using var response = await admin.PostAsJsonAsync("/api/v1/products", new { sku = $"  {sku} ", name = " Blue mug ", category = "Kitchen", listPrice = 12.345m, unitCost = 4.5m, currency = "UAH" }, Api.Json);
        var product = await response.ExpectAsync(HttpStatusCode.Created);
        Assert.Equal($"/api/v1/products/{product.Id()}", response.Headers.Location?.OriginalString);
        Assert.Equal($"\"{product.GetProperty("version").GetGuid():N}\"", response.ETag());
        Assert.Equal(sku, product.Str("sku"));
        Assert.Equal("Blue mug", product.Str("name"));
        Assert.Equal(12.35m, product.Dec("listPrice"));   // kept in kopiykas, half away from zero
        Assert.Equal(4.5m, product.Dec("unitCost"));
        Assert.True(product.GetProperty("active").GetBoolean());

        using var get = await admin.GetAsync($"/api/v1/products/{product.Id()}");
        Assert.Equal(sku, (await get.ExpectAsync(HttpStatusCode.OK)).Str("sku"));
        Assert.Equal(response.ETag(), get.ETag());

        using (var again = await admin.PostAsJsonAsync("/api/v1/products", Body(sku, "Another mug"), Api.Json))
            Assert.Contains("sku", (await again.ExpectValidationProblemAsync()).Keys);
        // The SKU is compared exactly: another case is another SKU.
        await admin.PostJsonAsync("/api/v1/products", Body(sku.ToLowerInvariant(), "Lower-case mug"), HttpStatusCode.Created);

        foreach (var (body, field) in new (object, string)[]
                 {
                     (new { name = "No SKU", listPrice = 1m, currency = "UAH" }, "sku"),
                     (new { sku = "X-" + Unique.Word(6), listPrice = 1m, currency = "UAH" }, "name"),
                     (new { sku = "X-" + Unique.Word(6), name = "n", listPrice = -1m, currency = "UAH" }, "listPrice"),
                     (new { sku = "X-" + Unique.Word(6), name = "n", listPrice = 1m, currency = "uah" }, "currency"),
                     (new { sku = "X-" + Unique.Word(6), name = "n", listPrice = 1m }, "currency"),
                 })
        {
            using var refused = await admin.PostAsJsonAsync("/api/v1/products", body, Api.Json);
            Assert.Contains(field, (await refused.ExpectValidationProblemAsync()).Keys);
        }
        using var missing = await admin.GetAsync($"/api/v1/products/{Guid.NewGuid()}");
        await missing.ExpectAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task The_list_filters_by_prefix_category_and_activity_and_pages_by_SKU()
    {
        using var admin = Fx.Admin();
        var prefix = "L" + Unique.Word(6).ToUpperInvariant() + "-";
        var category = "Cat " + Unique.Word(6);
        var other = "Cat " + Unique.Word(6);
        var nameWord = "Zq" + Unique.Word(8);
        var skus = new List<string>();
        for (var i = 0; i < 7; i++)
        {
            var sku = $"{prefix}{i:D2}";
            skus.Add(sku);
            await admin.PostJsonAsync("/api/v1/products", Body(sku, i == 3 ? nameWord + " special" : "Item " + i, category: i < 5 ? category : other, active: i != 4), HttpStatusCode.Created);
        }
        var active = skus.Where((_, i) => i != 4).ToList();

        async Task<List<string>> Skus(string query) =>
            (await admin.AllPagesAsync("/api/v1/products?" + query, 2)).Select(p => p.Str("sku")).ToList();

        Assert.Equal(active, await Skus($"q={prefix}"));
        Assert.Equal(skus, await Skus($"q={prefix}&includeInactive=true"));
        Assert.Equal([skus[4]], await Skus($"q={prefix}&includeInactive=false"));
        Assert.Equal([skus[0], skus[1], skus[2], skus[3]], await Skus($"category={Uri.EscapeDataString(category)}"));
        Assert.Equal([skus[0], skus[1], skus[2], skus[3], skus[4]], await Skus($"category={Uri.EscapeDataString(category)}&includeInactive=true"));
        Assert.Equal([skus[5], skus[6]], await Skus($"q={prefix}&category={Uri.EscapeDataString(other)}"));
        Assert.Equal([skus[3]], await Skus($"q={nameWord}"));   // a name prefix finds it too
        Assert.Equal([skus[2]], await Skus($"q={prefix}02"));
        foreach (var limit in new[] { 1, 3, 6 })
            Assert.Equal(active, (await admin.AllPagesAsync($"/api/v1/products?q={prefix}", limit)).Select(p => p.Str("sku")));

        var categories = (await admin.GetJsonAsync("/api/v1/products/categories")).EnumerateArray().Select(c => c.GetString()).ToList();
        Assert.Contains(category, categories);
        Assert.Contains(other, categories);

        foreach (var limit in new[] { 0, 501 })
        {
            using var bad = await admin.GetAsync($"/api/v1/products?limit={limit}");
            Assert.Contains("limit", (await bad.ExpectValidationProblemAsync()).Keys);
        }
    }

    [Fact]
    public async Task The_list_sorts_by_SKU_name_or_price_either_way_and_pages_through_ties()
    {
        using var admin = Fx.Admin();
        var prefix = "S" + Unique.Word(6).ToUpperInvariant() + "-";
        // Names and prices out of SKU order, with a tie in each, so paging must continue past equal keys.
        var rows = new[] { ("C", "Mug", 30m), ("A", "Bowl", 10m), ("D", "Cup", 30m), ("B", "Mug", 20m), ("E", "Apron", 5m) };
        var id = new Dictionary<string, string>();
        foreach (var (sku, name, price) in rows)
            id[sku] = (await admin.PostJsonAsync("/api/v1/products", Body(prefix + sku, name, price), HttpStatusCode.Created)).Str("sku")[prefix.Length..];

        async Task<string> Order(string sort, int limit) =>
            string.Concat((await admin.AllPagesAsync($"/api/v1/products?q={prefix}&sort={sort}", limit)).Select(p => p.Str("sku")[prefix.Length..]));

        foreach (var limit in new[] { 1, 2, 5 })
        {
            Assert.Equal("ABCDE", await Order("sku", limit));
            Assert.Equal("EDCBA", await Order("-sku", limit));
            // Equal names or prices keep one order (by id: creation order here) in both directions.
            Assert.Equal("EADCB", await Order("name", limit));
            Assert.Equal("BCDAE", await Order("-name", limit));
            Assert.Equal("EABCD", await Order("price", limit));
            Assert.Equal("DCBAE", await Order("-price", limit));
        }
        using (var bad = await admin.GetAsync("/api/v1/products?sort=stock"))
            Assert.Contains("sort", (await bad.ExpectValidationProblemAsync()).Keys);
        // A cursor belongs to its sort: another sort's cursor is refused, not misread.
        var first = await admin.GetJsonAsync($"/api/v1/products?q={prefix}&sort=name&limit=1");
        using (var mixed = await admin.GetAsync($"/api/v1/products?q={prefix}&sort=price&cursor={Uri.EscapeDataString(first.Str("nextCursor"))}"))
            Assert.Contains("cursor", (await mixed.ExpectValidationProblemAsync()).Keys);
    }

    [Fact]
    public async Task Put_requires_If_Match_refuses_a_stale_version_and_keeps_the_SKU()
    {
        var manager = await Fx.CreateUserAsync("Manager");
        using var client = manager.Client();
        var sku = "PUT-" + Unique.Word(8).ToUpperInvariant();
        using var created = await client.PostAsJsonAsync("/api/v1/products", Body(sku, "Kettle", 100m, "Kitchen"), Api.Json);
        var product = await created.ExpectAsync(HttpStatusCode.Created);
        var etag = created.ETag();
        var url = $"/api/v1/products/{product.Id()}";
        string Json(object body) => JsonSerializer.Serialize(body, Api.Json);

        using (var noHeader = await client.SendRawAsync(HttpMethod.Put, url, Json(Body(sku, "Kettle 2", 120m))))
            await noHeader.ExpectAsync((HttpStatusCode)428);
        string next;
        using (var ok = await client.SendRawAsync(HttpMethod.Put, url, Json(Body(sku, "Steel kettle", 120.5m, "Kitchen", active: false)), etag))
        {
            var body = await ok.ExpectAsync(HttpStatusCode.OK);
            Assert.Equal("Steel kettle", body.Str("name"));
            Assert.Equal(120.5m, body.Dec("listPrice"));
            Assert.False(body.GetProperty("active").GetBoolean());
            next = ok.ETag();
            Assert.NotEqual(etag, next);
        }
        using (var stale = await client.SendRawAsync(HttpMethod.Put, url, Json(Body(sku, "Lost update")), etag))
            await stale.ExpectAsync(HttpStatusCode.PreconditionFailed);
        using (var otherSku = await client.SendRawAsync(HttpMethod.Put, url, Json(Body(sku + "-NEW", "Steel kettle", 120.5m)), next))
            Assert.Contains("sku", (await otherSku.ExpectValidationProblemAsync()).Keys);
        using (var invalid = await client.SendRawAsync(HttpMethod.Put, url, Json(new { sku, name = "", listPrice = 1m, currency = "UAH" }), next))
            Assert.Contains("name", (await invalid.ExpectValidationProblemAsync()).Keys);
        using (var notFound = await client.SendRawAsync(HttpMethod.Put, $"/api/v1/products/{Guid.NewGuid()}", Json(Body(sku, "x")), next))
            await notFound.ExpectAsync(HttpStatusCode.NotFound);

        using var read = await client.GetAsync(url);
        var current = await read.ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(sku, current.Str("sku"));
        Assert.Equal("Steel kettle", current.Str("name"));
        Assert.Equal(next, read.ETag());
        // Changes are audited.
        var audit = await Fx.Admin().GetJsonAsync($"/api/v1/audit?entityType=product&entityId={product.Id()}");
        Assert.Contains(audit.Items().SelectMany(e => e.GetProperty("changes").EnumerateArray()), c => c.Str("field") == "name" && c.Str("new") == "Steel kettle");
    }

    [Theory]
    [InlineData("Sales")]
    [InlineData("Support")]
    [InlineData("Marketing")]
    public async Task Only_managers_and_admins_change_the_catalogue_but_everyone_reads_it(string role)
    {
        using var admin = Fx.Admin();
        var existing = await admin.CreateProductAsync(5m);
        var user = await Fx.CreateUserAsync(role);
        using var client = user.Client();
        using (var create = await client.PostAsJsonAsync("/api/v1/products", Body("NO-" + Unique.Word(8), "Not allowed"), Api.Json))
            await create.ExpectAsync(HttpStatusCode.Forbidden);
        using var get = await client.GetAsync($"/api/v1/products/{existing.Id()}");
        await get.ExpectAsync(HttpStatusCode.OK);
        using (var put = await client.SendRawAsync(HttpMethod.Put, $"/api/v1/products/{existing.Id()}",
                   JsonSerializer.Serialize(Body(existing.Str("sku"), "Renamed"), Api.Json), get.ETag()))
            await put.ExpectAsync(HttpStatusCode.Forbidden);
        Assert.Single(await client.AllPagesAsync($"/api/v1/products?q={existing.Str("sku")}", 10));
        using var anonymous = Fx.Anonymous();
        using var unauthenticated = await anonymous.GetAsync("/api/v1/products");
        Assert.Equal(HttpStatusCode.Unauthorized, unauthenticated.StatusCode);
    }
}

[Collection("sqlite")]
public sealed class SqliteProductApiTests(SqliteFixture fx) : ProductApiTests(fx);

[Collection("postgres")]
public sealed class PostgresProductApiTests(PostgresFixture fx) : ProductApiTests(fx);
