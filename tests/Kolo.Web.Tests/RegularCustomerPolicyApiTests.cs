using System.Net;
using System.Text.Json;
using Kolo.Web.Tests.Infrastructure;
using static Kolo.Web.Tests.Infrastructure.OrderApi;

namespace Kolo.Web.Tests;

/// <summary>
/// /api/v1/regular-customer-policy and what it does to new orders. The policy is one row for the whole database:
/// each test sets it and turns it off again before it ends (tests of a collection run one at a time).
/// </summary>
public abstract class RegularCustomerPolicyApiTests(KoloAppFixture fx) : ApiTestBase(fx)
{
    private const string Url = "/api/v1/regular-customer-policy";

    private static async Task<(JsonElement Policy, string ETag)> GetPolicyAsync(HttpClient client)
    {
        using var response = await client.GetAsync(Url);
        return (await response.ExpectAsync(HttpStatusCode.OK), response.ETag());
    }

    private static async Task<JsonElement> SetPolicyAsync(HttpClient admin, bool active, string action = "ApplyDiscount", int minOrders = 3, int months = 12, int discountBasisPoints = 500)
    {
        var (_, etag) = await GetPolicyAsync(admin);
        using var response = await admin.SendRawAsync(HttpMethod.Put, Url,
            JsonSerializer.Serialize(new { active, minOrders, months, discountBasisPoints, action }, Api.Json), etag);
        return await response.ExpectAsync(HttpStatusCode.OK);
    }

    private async Task<Guid> CustomerAsync(Guid? ownerId = null)
    {
        var body = Person();
        if (ownerId is not null) body["ownerId"] = ownerId;
        return (await CreateAsync(body)).Id();
    }

    /// <summary>
    /// A customer with <paramref name="recent"/> confirmed orders in the last year, plus what must not count: an order
    /// from 13 months ago, a quote, a cancelled order and a return.
    /// </summary>
    private static async Task HistoryAsync(HttpClient admin, Guid customer, Guid productId, int recent)
    {
        async Task<JsonElement> Past(DateTime at, bool quote = false)
        {
            var body = Order(customer, [Line(productId, 2)], quote: quote);
            body["orderedAt"] = TimelineApi.Iso(at);
            return await admin.CreateOrderAsync(body);
        }
        var now = TimelineApi.Now();
        JsonElement? last = null;
        for (var i = 1; i <= recent; i++) last = await Past(now.AddMonths(-i).AddDays(3));
        await Past(now.AddMonths(-13));
        await Past(now.AddDays(-5), quote: true);
        await admin.StatusAsync((await Past(now.AddDays(-4))).Id(), "Cancelled");
        if (last is { } l)
        {
            using var ret = await admin.ReturnAsync(l.Id(), (l.Lines()[0].Id(), 1));
            await ret.ExpectAsync(HttpStatusCode.Created);
        }
    }

    private static async Task<List<JsonElement>> TasksAboutAsync(HttpClient admin, Guid customer) =>
        await admin.AllPagesAsync($"/api/v1/tasks?customer={customer}", 100);

    [Fact]
    public async Task Only_an_admin_changes_the_policy_with_If_Match()
    {
        using var admin = Fx.Admin();
        var (policy, etag) = await GetPolicyAsync(admin);
        Assert.Equal($"\"{policy.GetProperty("version").GetGuid():N}\"", etag);
        foreach (var property in new[] { "active", "minOrders", "months", "discountBasisPoints", "action" })
            Assert.True(policy.TryGetProperty(property, out _), property);
        var body = JsonSerializer.Serialize(new { active = false, minOrders = 4, months = 6, discountBasisPoints = 750, action = "RemindOwner" }, Api.Json);

        foreach (var role in new[] { "Manager", "Sales" })
        {
            var user = await Fx.CreateUserAsync(role);
            using var client = user.Client();
            Assert.Equal(etag, (await GetPolicyAsync(client)).ETag);   // everyone may read the rule
            using var refused = await client.SendRawAsync(HttpMethod.Put, Url, body, etag);
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        }
        using (var noHeader = await admin.SendRawAsync(HttpMethod.Put, Url, body))
            await noHeader.ExpectAsync((HttpStatusCode)428);
        using (var wrong = await admin.SendRawAsync(HttpMethod.Put, Url, body, "\"" + Guid.NewGuid().ToString("N") + "\""))
            await wrong.ExpectAsync(HttpStatusCode.PreconditionFailed);
        foreach (var (bad, field) in new (object, string)[]
                 {
                     (new { active = true, minOrders = 0, months = 12, discountBasisPoints = 500 }, "minOrders"),
                     (new { active = true, minOrders = 3, months = 0, discountBasisPoints = 500 }, "months"),
                     (new { active = true, minOrders = 3, months = 121, discountBasisPoints = 500 }, "months"),
                     (new { active = true, minOrders = 3, months = 12, discountBasisPoints = 10_001 }, "discountBasisPoints"),
                     (new { active = true, minOrders = 3, months = 12, discountBasisPoints = -1 }, "discountBasisPoints"),
                     (new { active = true, minOrders = 3, months = 12, discountBasisPoints = 500, action = 7 }, "action"),
                 })
        {
            using var invalid = await admin.SendRawAsync(HttpMethod.Put, Url, JsonSerializer.Serialize(bad, Api.Json), etag);
            Assert.Contains(field, (await invalid.ExpectValidationProblemAsync()).Keys);
        }

        string next;
        using (var ok = await admin.SendRawAsync(HttpMethod.Put, Url, body, etag))
        {
            var changed = await ok.ExpectAsync(HttpStatusCode.OK);
            next = ok.ETag();
            Assert.NotEqual(etag, next);
            Assert.Equal((4, 6, 750, "RemindOwner"), (changed.GetProperty("minOrders").GetInt32(), changed.GetProperty("months").GetInt32(),
                changed.GetProperty("discountBasisPoints").GetInt32(), changed.Str("action")));
        }
        using (var stale = await admin.SendRawAsync(HttpMethod.Put, Url, body, etag))
            await stale.ExpectAsync(HttpStatusCode.PreconditionFailed);
        var (read, current) = await GetPolicyAsync(admin);
        Assert.Equal(next, current);
        Assert.Equal("RemindOwner", read.Str("action"));
        Assert.False(read.GetProperty("active").GetBoolean());
        var audit = await admin.GetJsonAsync("/api/v1/audit?entityType=regular-customer-policy");
        Assert.Contains(audit.Items().SelectMany(e => e.GetProperty("changes").EnumerateArray()), c => c.Str("new") == "False|4|6|750|RemindOwner");
        await SetPolicyAsync(admin, active: false);
    }

    [Fact]
    public async Task In_discount_mode_a_regular_customers_order_is_discounted_with_its_reason()
    {
        using var admin = Fx.Admin();
        var product = await admin.CreateProductAsync(3.37m);
        var regular = await CustomerAsync();
        var occasional = await CustomerAsync();
        await HistoryAsync(admin, regular, product.Id(), recent: 3);
        await HistoryAsync(admin, occasional, product.Id(), recent: 2);
        try
        {
            await SetPolicyAsync(admin, active: true, minOrders: 3, months: 12, discountBasisPoints: 500);

            // 3 × 3.37 − 0.01 = 10.10; 5 % of it is 0.505 → 0.51 (half away from zero).
            var order = await admin.CreateOrderAsync(Order(regular, [Line(product.Id(), 3, discount: 0.01m)]));
            Assert.Equal(10.11m, order.Dec("subtotal"));
            Assert.Equal(0.51m, order.Dec("policyDiscount"));
            Assert.Equal(0.52m, order.Dec("discount"));
            Assert.Equal(9.59m, order.Dec("total"));
            var reason = order.Str("policyDiscountReason");
            Assert.Contains("3 orders in the last 12 months", reason, StringComparison.Ordinal);
            Assert.Contains("5 %", reason, StringComparison.Ordinal);
            var (read, _) = await admin.GetOrderAsync(order.Id());
            Assert.Equal((0.51m, 9.59m, reason), (read.Dec("policyDiscount"), read.Dec("total"), read.Str("policyDiscountReason")));

            // Goods coming back bring their share of the policy discount back: returned in parts, the refunds add up
            // to exactly what was paid. 1 of 3: 3.37 less 17 of the 51 kopiykas (337/1010 of it) = 3.20.
            var lineId = order.Lines()[0].Id();
            JsonElement r1, r2;
            using (var response = await admin.ReturnAsync(order.Id(), (lineId, 1)))
                r1 = await response.ExpectAsync(HttpStatusCode.Created);
            using (var response = await admin.ReturnAsync(order.Id(), (lineId, 2)))
                r2 = await response.ExpectAsync(HttpStatusCode.Created);
            Assert.Equal(-3.20m, r1.Dec("total"));
            Assert.Equal(-6.39m, r2.Dec("total"));
            Assert.Equal(-9.59m, r1.Dec("total") + r2.Dec("total"));

            // Below the threshold (the old order, the quote, the cancellation and the return do not count): full price.
            var below = await admin.CreateOrderAsync(Order(occasional, [Line(product.Id(), 3, discount: 0.01m)]));
            Assert.Equal(0m, below.Dec("policyDiscount"));
            Assert.Equal(JsonValueKind.Null, below.GetProperty("policyDiscountReason").ValueKind);
            Assert.Equal(10.10m, below.Dec("total"));

            // No task in discount mode.
            Assert.DoesNotContain(await TasksAboutAsync(admin, regular), t => t.Str("relatedType") == "order");

            // A currency without minor units rounds to whole yen: 12.5 % of ¥999 = ¥124.875 → ¥125.
            await SetPolicyAsync(admin, active: true, minOrders: 3, months: 12, discountBasisPoints: 1250);
            var yenProduct = await admin.CreateProductAsync(999m, "JPY");
            var yen = await admin.CreateOrderAsync(Order(regular, [Line(yenProduct.Id(), 1)], "JPY"));
            Assert.Equal(125m, yen.Dec("policyDiscount"));
            Assert.Equal(874m, yen.Dec("total"));
            Assert.Contains("12.5 %", yen.Str("policyDiscountReason"), StringComparison.Ordinal);

            // Inactive: nothing happens, whatever the history.
            await SetPolicyAsync(admin, active: false, minOrders: 1, months: 12, discountBasisPoints: 500);
            var inactive = await admin.CreateOrderAsync(Order(regular, [Line(product.Id(), 3, discount: 0.01m)]));
            Assert.Equal(0m, inactive.Dec("policyDiscount"));
            Assert.Equal(10.10m, inactive.Dec("total"));
            Assert.Equal(JsonValueKind.Null, inactive.GetProperty("policyDiscountReason").ValueKind);
        }
        finally
        {
            await SetPolicyAsync(admin, active: false);
        }
    }

    [Fact]
    public async Task In_reminder_mode_the_owner_gets_one_task_about_the_order_and_no_discount_is_given()
    {
        using var admin = Fx.Admin();
        var owner = await Fx.CreateUserAsync("Sales");
        var product = await admin.CreateProductAsync(10m);
        var regular = await CustomerAsync(owner.Id);
        var occasional = await CustomerAsync(owner.Id);
        await HistoryAsync(admin, regular, product.Id(), recent: 3);
        await HistoryAsync(admin, occasional, product.Id(), recent: 2);
        Assert.Empty(await TasksAboutAsync(admin, regular));
        try
        {
            await SetPolicyAsync(admin, active: true, action: "RemindOwner", minOrders: 3, months: 12, discountBasisPoints: 700);
            var order = await admin.CreateOrderAsync(Order(regular, [Line(product.Id(), 2)]));
            Assert.Equal(0m, order.Dec("policyDiscount"));
            Assert.Equal(JsonValueKind.Null, order.GetProperty("policyDiscountReason").ValueKind);
            Assert.Equal(20m, order.Dec("total"));

            var task = Assert.Single(await TasksAboutAsync(admin, regular));
            Assert.Equal(owner.Id, task.GetProperty("assigneeId").GetGuid());
            Assert.Equal("order", task.Str("relatedType"));
            Assert.Equal(order.Id(), task.GetProperty("relatedId").GetGuid());
            Assert.Equal("Open", task.Str("status"));
            Assert.Contains(order.Str("number"), task.Str("title"), StringComparison.Ordinal);
            Assert.Contains("7 %", task.Str("notes"), StringComparison.Ordinal);
            // The owner sees it in their own list.
            using var ownerClient = owner.Client();
            Assert.Contains(task.Id(), (await ownerClient.AllPagesAsync("/api/v1/tasks?assignee=me", 100)).Select(t => t.Id()));

            // Below the threshold: no task.
            await admin.CreateOrderAsync(Order(occasional, [Line(product.Id(), 2)]));
            Assert.Empty(await TasksAboutAsync(admin, occasional));

            // Inactive: no task either.
            await SetPolicyAsync(admin, active: false, action: "RemindOwner");
            await admin.CreateOrderAsync(Order(regular, [Line(product.Id(), 2)]));
            Assert.Single(await TasksAboutAsync(admin, regular));
        }
        finally
        {
            await SetPolicyAsync(admin, active: false);
        }
    }
}

[Collection("sqlite")]
public sealed class SqliteRegularCustomerPolicyApiTests(SqliteFixture fx) : RegularCustomerPolicyApiTests(fx);

[Collection("postgres")]
public sealed class PostgresRegularCustomerPolicyApiTests(PostgresFixture fx) : RegularCustomerPolicyApiTests(fx);
