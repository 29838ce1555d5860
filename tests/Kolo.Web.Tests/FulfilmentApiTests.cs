using System.Net;
using System.Text.Json;
using Kolo.Core.Data;
using Kolo.Core.Orders;
using Kolo.Web.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using static Kolo.Web.Tests.Infrastructure.OrderApi;

namespace Kolo.Web.Tests;

/// <summary>
/// Promised delivery dates: early warnings that become a task once, the delivery schedule and the on-time rate.
/// The host's own warning worker may run at any time too; the tests count tasks per order, so they hold either way.
/// </summary>
public abstract class FulfilmentApiTests(KoloAppFixture fx) : ApiTestBase(fx)
{
    private FulfilmentService Fulfilment => Fx.Factory.Services.GetRequiredService<FulfilmentService>();

    private async Task<Guid> CustomerAsync(Guid? ownerId)
    {
        var body = Person();
        if (ownerId is not null) body["ownerId"] = ownerId;
        return (await CreateAsync(body)).Id();
    }

    private static async Task<JsonElement> PromisedAsync(HttpClient client, Guid customer, Guid productId, DateOnly promised, bool quote = false)
    {
        var body = Order(customer, [Line(productId, 1)], quote: quote);
        body["promisedDeliveryDate"] = Day(promised);
        return await client.CreateOrderAsync(body);
    }

    /// <summary>The tasks about an order, read straight from the database (whoever they are assigned to).</summary>
    private async Task<List<Kolo.Core.Tasks.TaskItem>> TasksOfAsync(Guid orderId)
    {
        var factory = Fx.Factory.Services.GetRequiredService<IDbContextFactory<KoloDb>>();
        await using var db = await factory.CreateDbContextAsync();
        return await db.Tasks.AsNoTracking().Where(t => t.RelatedType == "order" && t.RelatedId == orderId).ToListAsync();
    }

    [Fact]
    public async Task Early_warnings_become_one_task_for_the_owner_and_never_repeat()
    {
        using var admin = Fx.Admin();
        var owner = await Fx.CreateUserAsync("Sales");
        var customer = await CustomerAsync(owner.Id);
        var product = await admin.CreateProductAsync(10m);
        var today = Today();

        var dueTomorrow = (await PromisedAsync(admin, customer, product.Id(), today.AddDays(1))).Id();
        var dueToday = (await PromisedAsync(admin, customer, product.Id(), today)).Id();
        var dueAtHorizon = (await PromisedAsync(admin, customer, product.Id(), today.AddDays(3))).Id();
        var beyond = (await PromisedAsync(admin, customer, product.Id(), today.AddDays(4))).Id();
        var shippedSoon = (await PromisedAsync(admin, customer, product.Id(), today.AddDays(1))).Id();
        await admin.StatusAsync(shippedSoon, "Shipped");
        var quoteSoon = (await PromisedAsync(admin, customer, product.Id(), today.AddDays(1), quote: true)).Id();
        var cancelledSoon = (await PromisedAsync(admin, customer, product.Id(), today.AddDays(1))).Id();
        await admin.StatusAsync(cancelledSoon, "Cancelled");
        var late = (await PromisedAsync(admin, customer, product.Id(), today.AddDays(-2))).Id();
        var lateShipped = (await PromisedAsync(admin, customer, product.Id(), today.AddDays(-1))).Id();
        await admin.StatusAsync(lateShipped, "Shipped");
        var deliveredLate = (await PromisedAsync(admin, customer, product.Id(), today.AddDays(-3))).Id();
        await admin.StatusAsync(deliveredLate, "Delivered");

        // An order without an owner (as an import makes them) goes to the first admin.
        var ownerless = (await PromisedAsync(admin, await CustomerAsync(null), product.Id(), today.AddDays(2))).Id();
        var factory = Fx.Factory.Services.GetRequiredService<IDbContextFactory<KoloDb>>();
        await using (var db = await factory.CreateDbContextAsync())
            await db.Orders.Where(o => o.Id == ownerless).ExecuteUpdateAsync(s => s.SetProperty(o => o.OwnerId, (Guid?)null));
        var firstAdmin = (await admin.GetJsonAsync("/api/v1/me")).GetProperty("userId").GetGuid();

        // The list and the order show a late order as late.
        Assert.True((await admin.GetOrderAsync(late)).Order.GetProperty("late").GetBoolean());
        Assert.False((await admin.GetOrderAsync(dueToday)).Order.GetProperty("late").GetBoolean());

        await Fulfilment.RaiseWarningsAsync(3);
        foreach (var id in new[] { dueTomorrow, dueToday, dueAtHorizon })
        {
            var task = Assert.Single(await TasksOfAsync(id));
            Assert.Equal(owner.Id, task.AssigneeId);
            Assert.Equal(customer, task.CustomerId);
            Assert.Contains("not shipped", task.Title, StringComparison.Ordinal);
        }
        foreach (var id in new[] { late, lateShipped })
        {
            var task = Assert.Single(await TasksOfAsync(id));
            Assert.Equal(owner.Id, task.AssigneeId);
            Assert.Contains("past its promised date", task.Title, StringComparison.Ordinal);
        }
        Assert.Equal(firstAdmin, Assert.Single(await TasksOfAsync(ownerless)).AssigneeId);
        foreach (var id in new[] { beyond, shippedSoon, quoteSoon, cancelledSoon, deliveredLate })
            Assert.Empty(await TasksOfAsync(id));
        // The owner sees them in their list, as tasks about the customer.
        using var ownerClient = owner.Client();
        Assert.Equal(5, (await ownerClient.AllPagesAsync($"/api/v1/tasks?customer={customer}", 50)).Count(t => t.Str("relatedType") == "order"));

        // Again: nothing new, and completing a warning does not bring it back.
        using (var complete = await ownerClient.PostAsync($"/api/v1/tasks/{(await TasksOfAsync(dueTomorrow))[0].Id}/complete", null))
            await complete.ExpectAsync(HttpStatusCode.OK);
        await Fulfilment.RaiseWarningsAsync(3);
        await Fulfilment.RaiseWarningsAsync(30);   // a wider window now takes in the far one, once
        foreach (var id in new[] { dueTomorrow, dueToday, dueAtHorizon, late, lateShipped, ownerless, beyond })
            Assert.Single(await TasksOfAsync(id));
        await Fulfilment.RaiseWarningsAsync(30);
        Assert.Single(await TasksOfAsync(beyond));
        foreach (var id in new[] { shippedSoon, quoteSoon, cancelledSoon, deliveredLate })
            Assert.Empty(await TasksOfAsync(id));
    }

    [Fact]
    public async Task Concurrent_warning_runs_still_give_one_task_per_order()
    {
        using var admin = Fx.Admin();
        var owner = await Fx.CreateUserAsync("Sales");
        var customer = await CustomerAsync(owner.Id);
        var product = await admin.CreateProductAsync(10m);
        var ids = new List<Guid>();
        for (var i = 0; i < 6; i++) ids.Add((await PromisedAsync(admin, customer, product.Id(), Today().AddDays(i % 3))).Id());
        for (var i = 0; i < 3; i++) ids.Add((await PromisedAsync(admin, customer, product.Id(), Today().AddDays(-1 - i))).Id());

        var runs = Enumerable.Range(0, 4).Select(_ => Task.Run(() => Fulfilment.RaiseWarningsAsync(2))).ToList();
        await Task.WhenAll(runs);
        foreach (var id in ids) Assert.Single(await TasksOfAsync(id));
    }

    [Fact]
    public async Task The_schedule_groups_by_promised_day_and_filters_by_status_and_owner()
    {
        using var admin = Fx.Admin();
        var a = await Fx.CreateUserAsync("Sales");
        var b = await Fx.CreateUserAsync("Sales");
        var customerA = await CustomerAsync(a.Id);
        var customerB = await CustomerAsync(b.Id);
        var product = await admin.CreateProductAsync(10m);
        // Days far enough ahead that no other test promises anything then.
        var d = Today().AddDays(200 + Random.Shared.Next(0, 300));

        var confirmed = (await PromisedAsync(admin, customerA, product.Id(), d)).Id();
        var shipped = (await PromisedAsync(admin, customerB, product.Id(), d)).Id();
        await admin.StatusAsync(shipped, "Shipped");
        var delivered = (await PromisedAsync(admin, customerA, product.Id(), d.AddDays(1))).Id();
        await admin.StatusAsync(delivered, "Delivered");
        var cancelled = (await PromisedAsync(admin, customerA, product.Id(), d.AddDays(1))).Id();
        await admin.StatusAsync(cancelled, "Cancelled");
        var quote = (await PromisedAsync(admin, customerA, product.Id(), d.AddDays(2), quote: true)).Id();
        var outside = (await PromisedAsync(admin, customerA, product.Id(), d.AddDays(3))).Id();
        var numbers = new Dictionary<Guid, string>();
        foreach (var id in new[] { confirmed, shipped }) numbers[id] = (await admin.GetOrderAsync(id)).Order.Str("number");

        async Task<List<(string Date, List<Guid> Orders)>> Schedule(HttpClient client, string query) =>
            (await client.GetJsonAsync($"/api/v1/orders/schedule?from={Day(d)}&to={Day(d.AddDays(3))}{query}")).EnumerateArray()
                .Select(day => (day.Str("date"), day.GetProperty("orders").EnumerateArray().Select(o => o.Id()).ToList())).ToList();

        var sameDay = new[] { confirmed, shipped }.OrderBy(id => numbers[id], StringComparer.Ordinal).ToList();
        var all = await Schedule(admin, "");
        Assert.Equal([Day(d), Day(d.AddDays(1))], all.Select(x => x.Date));
        Assert.Equal(sameDay, all[0].Orders);
        Assert.Equal([delivered], all[1].Orders);
        Assert.Equal([(Day(d), [shipped])], (await Schedule(admin, "&status=shipped")).Select(x => (x.Date, x.Orders)));
        Assert.Equal([(Day(d.AddDays(1)), [cancelled])], (await Schedule(admin, "&status=Cancelled")).Select(x => (x.Date, x.Orders)));
        Assert.Equal([(Day(d.AddDays(2)), [quote])], (await Schedule(admin, "&status=Quote")).Select(x => (x.Date, x.Orders)));
        var ofA = await Schedule(admin, $"&owner={a.Id}");
        Assert.Equal([Day(d), Day(d.AddDays(1))], ofA.Select(x => x.Date));
        Assert.Equal([[confirmed], [delivered]], ofA.Select(x => x.Orders));
        Assert.Equal([[shipped]], (await Schedule(admin, $"&owner={b.Id}")).Select(x => x.Orders));
        Assert.DoesNotContain(outside, all.SelectMany(x => x.Orders));

        // A seller sees their own customers' deliveries only, whatever owner they ask for.
        using var clientA = a.Client();
        Assert.Equal([[confirmed], [delivered]], (await Schedule(clientA, "")).Select(x => x.Orders));
        Assert.Empty(await Schedule(clientA, $"&owner={b.Id}"));

        using (var defaultRange = await admin.GetAsync("/api/v1/orders/schedule"))
            await defaultRange.ExpectAsync(HttpStatusCode.OK);
        foreach (var (query, field) in new[]
                 {
                     ("from=2026-13-01", "from"), ("from=01.02.2026", "from"), ("to=tomorrow", "to"), ("from=2026-02-10&to=2026-02-10", "to"),
                     ("from=2026-02-10&to=2026-02-01", "to"), ("from=2026-01-01&to=2026-06-01", "to"), ("status=Lost", "status"),
                 })
        {
            using var response = await admin.GetAsync($"/api/v1/orders/schedule?{query}");
            Assert.Contains(field, (await response.ExpectValidationProblemAsync()).Keys);
        }
    }

    [Fact]
    public async Task The_on_time_rate_counts_deliveries_by_the_day_they_arrived()
    {
        using var admin = Fx.Admin();
        var seller = await Fx.CreateUserAsync("Sales");
        var customer = await CustomerAsync(null);
        var sellersCustomer = await CustomerAsync(seller.Id);
        var product = await admin.CreateProductAsync(10m);
        // A stretch of past promises no other test uses.
        var p = Today().AddDays(-400 - Random.Shared.Next(0, 300));
        DateTime At(DateOnly day, int hour) => day.ToDateTime(new TimeOnly(hour, 0), DateTimeKind.Utc);

        async Task Deliver(Guid c, DateOnly promised, DateTime at) =>
            await admin.StatusAsync((await PromisedAsync(admin, c, product.Id(), promised)).Id(), "Delivered", at);
        await Deliver(customer, p, At(p.AddDays(-1), 10));             // early
        await Deliver(customer, p.AddDays(1), At(p.AddDays(1), 23));   // on the promised day, late in the evening
        await Deliver(customer, p.AddDays(2), At(p.AddDays(4), 9));    // two days late
        await Deliver(sellersCustomer, p.AddDays(3), At(p.AddDays(5), 9));   // late, the seller's
        await PromisedAsync(admin, customer, product.Id(), p.AddDays(2));    // never delivered: not counted
        var shipped = (await PromisedAsync(admin, customer, product.Id(), p.AddDays(2))).Id();
        await admin.StatusAsync(shipped, "Shipped", At(p, 8));

        // Counted by the day the goods arrived: all four deliveries fall in [p-1, p+6).
        var range = $"from={Day(p.AddDays(-1))}&to={Day(p.AddDays(6))}";
        var rate = await admin.GetJsonAsync($"/api/v1/orders/on-time-rate?{range}");
        Assert.Equal(4, rate.GetProperty("delivered").GetInt32());
        Assert.Equal(2, rate.GetProperty("onTime").GetInt32());
        Assert.Equal(0.5, rate.GetProperty("rate").GetDouble(), 6);

        // An early delivery counts on the day it arrived, before its promised day has come.
        var earlyOnly = await admin.GetJsonAsync($"/api/v1/orders/on-time-rate?from={Day(p.AddDays(-1))}&to={Day(p)}");
        Assert.Equal((1, 1), (earlyOnly.GetProperty("delivered").GetInt32(), earlyOnly.GetProperty("onTime").GetInt32()));

        var firstThree = await admin.GetJsonAsync($"/api/v1/orders/on-time-rate?from={Day(p.AddDays(-1))}&to={Day(p.AddDays(5))}");
        Assert.Equal((3, 2), (firstThree.GetProperty("delivered").GetInt32(), firstThree.GetProperty("onTime").GetInt32()));
        Assert.Equal(2.0 / 3, firstThree.GetProperty("rate").GetDouble(), 6);

        using var sellerClient = seller.Client();
        var sellers = await sellerClient.GetJsonAsync($"/api/v1/orders/on-time-rate?{range}");
        Assert.Equal((1, 0, 0.0), (sellers.GetProperty("delivered").GetInt32(), sellers.GetProperty("onTime").GetInt32(), sellers.GetProperty("rate").GetDouble()));

        var none = await admin.GetJsonAsync($"/api/v1/orders/on-time-rate?from={Day(p.AddDays(-30))}&to={Day(p.AddDays(-20))}");
        Assert.Equal(0, none.GetProperty("delivered").GetInt32());
        Assert.Equal(JsonValueKind.Null, none.GetProperty("rate").ValueKind);
        using var bad = await admin.GetAsync("/api/v1/orders/on-time-rate?from=yesterday");
        Assert.Contains("from", (await bad.ExpectValidationProblemAsync()).Keys);
        using var backwards = await admin.GetAsync($"/api/v1/orders/on-time-rate?from={Day(p)}&to={Day(p.AddDays(-1))}");
        Assert.Contains("to", (await backwards.ExpectValidationProblemAsync()).Keys);
    }
}

[Collection("sqlite")]
public sealed class SqliteFulfilmentApiTests(SqliteFixture fx) : FulfilmentApiTests(fx);

[Collection("postgres")]
public sealed class PostgresFulfilmentApiTests(PostgresFixture fx) : FulfilmentApiTests(fx);
