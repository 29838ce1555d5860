using System.Net;
using System.Text;
using System.Text.Json;
using Kolo.Core.Analytics;
using Kolo.Core.Data;
using Kolo.Web.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using static Kolo.Web.Tests.Infrastructure.AnalyticsApi;
using static Kolo.Web.Tests.Infrastructure.OrderApi;

namespace Kolo.Web.Tests;

/// <summary>Who may read and run analytics, what bad input gets, and the scheduled recompute.</summary>
public abstract class AnalyticsAccessTests(KoloAppFixture fx) : ApiTestBase(fx)
{
    private static readonly DateOnly AsOf = new(2025, 6, 30);

    /// <summary>A customer (owned by <paramref name="ownerId"/>) with two orders in <paramref name="currency"/>.</summary>
    private async Task<Guid> BuyerAsync(HttpClient admin, string currency, Guid? ownerId = null)
    {
        var body = Person();
        if (ownerId is not null) body["ownerId"] = ownerId;
        var id = (await CreateAsync(body, admin)).Id();
        var product = await admin.CreateProductAsync(15m, currency);
        foreach (var at in new[] { "2025-03-01T10:00:00Z", "2025-05-01T10:00:00Z" })
        {
            var order = Order(id, [Line(product.Id(), 1)], currency);
            order["orderedAt"] = at;
            await admin.CreateOrderAsync(order);
        }
        return id;
    }

    private static StringContent Json(object body) => new(JsonSerializer.Serialize(body, Api.Json), Encoding.UTF8, "application/json");

    [Fact]
    public async Task Support_cannot_read_analytics_sales_cannot_run_it_and_sees_only_their_customers()
    {
        using var admin = Fx.Admin();
        var seller = await Fx.CreateUserAsync("Sales");
        var colleague = await Fx.CreateUserAsync("Sales");
        await admin.SetSettingsAsync("RON", minSupport: 0.5, minConfidence: 0.5);
        var mine = await BuyerAsync(admin, "RON", seller.Id);
        var theirs = await BuyerAsync(admin, "RON", colleague.Id);
        // A manager may run the recompute.
        var manager = await Fx.CreateUserAsync("Manager");
        using (var managerClient = manager.Client())
            Assert.Equal("Succeeded", (await managerClient.WaitForAnalyticsJobAsync(
                (await managerClient.PostJsonAsync("/api/v1/analytics/recompute", new { asOf = Day(AsOf) }, HttpStatusCode.Accepted)).Id())).Str("status"));

        var support = await Fx.CreateUserAsync("Support");
        using (var client = support.Client())
        {
            foreach (var url in new[]
                     {
                         "/api/v1/analytics/settings", "/api/v1/analytics/rfm", "/api/v1/analytics/association-rules", "/api/v1/analytics/distribution",
                         "/api/v1/analytics/assortment", "/api/v1/analytics/top-customers", "/api/v1/analytics/win-back", "/api/v1/analytics/jobs",
                         $"/api/v1/customers/{mine}/scores", $"/api/v1/customers/{mine}/recommendations",
                     })
                await client.GetJsonAsync(url, HttpStatusCode.Forbidden);
            await client.PostJsonAsync("/api/v1/analytics/recompute", new { }, HttpStatusCode.Forbidden);
            // Support still works with the customer record itself.
            await client.GetJsonAsync($"/api/v1/customers/{mine}");
        }

        using (var client = seller.Client())
        {
            await client.PostJsonAsync("/api/v1/analytics/recompute", new { asOf = Day(AsOf) }, HttpStatusCode.Forbidden);
            await client.PostJsonAsync("/api/v1/analytics/clv/fit", new { calibrationEnd = "2025-06-30", timeUnit = "Week" }, HttpStatusCode.Forbidden);
            await client.PostJsonAsync("/api/v1/analytics/win-back/tasks", new { }, HttpStatusCode.Forbidden);
            await client.PutJsonAsync("/api/v1/analytics/settings", new { currency = "RON" }, HttpStatusCode.Forbidden);
            // Reading is allowed, for the customers the seller may see.
            var score = await client.ScoresAsync(mine);
            Assert.Equal(2, score.GetProperty("orders").GetInt32());
            Assert.Equal(30.00m, score.Money("revenue", "RON"));
            await client.GetJsonAsync($"/api/v1/customers/{theirs}/scores", HttpStatusCode.NotFound);
            await client.GetJsonAsync($"/api/v1/customers/{theirs}/recommendations", HttpStatusCode.NotFound);
            await client.GetJsonAsync($"/api/v1/customers/{mine}/recommendations");
            Assert.Equal([mine], (await client.GetJsonAsync("/api/v1/analytics/top-customers?by=margin")).Items().Select(i => i.GetProperty("customerId").GetGuid()));
            // The charts count the seller's own customer only, as the customer list the grid links to does.
            var grid = await client.GetJsonAsync("/api/v1/analytics/rfm");
            Assert.Equal(1, grid.GetProperty("cells").EnumerateArray().Sum(c => c.GetProperty("customers").GetInt32()));
            Assert.Equal(1, grid.GetProperty("segments").EnumerateArray().Sum(c => c.GetProperty("customers").GetInt32()));
            Assert.Equal(3_000, grid.GetProperty("cells").EnumerateArray().Sum(c => c.GetProperty("revenueMinor").GetInt64()));
            var assortment = await client.GetJsonAsync("/api/v1/analytics/assortment?by=segment");
            Assert.Equal(3_000, assortment.GetProperty("rowRevenueMinor").EnumerateArray().Sum(r => r.GetInt64()));
        }
        // A manager's grid counts both buyers (and any other customer scored in this database).
        using (var managerClient = manager.Client())
        {
            var grid = await managerClient.GetJsonAsync("/api/v1/analytics/rfm");
            Assert.True(grid.GetProperty("cells").EnumerateArray().Sum(c => c.GetProperty("customers").GetInt32()) >= 2);
            var assortment = await managerClient.GetJsonAsync("/api/v1/analytics/assortment?by=segment");
            Assert.True(assortment.GetProperty("rowRevenueMinor").EnumerateArray().Sum(r => r.GetInt64()) >= 6_000);
        }
        // Marketing runs analytics too.
        var marketing = await Fx.CreateUserAsync("Marketing");
        using (var client = marketing.Client())
            await client.WaitForAnalyticsJobAsync((await client.PostJsonAsync("/api/v1/analytics/recompute", new { asOf = Day(AsOf) }, HttpStatusCode.Accepted)).Id());
        using (var anonymous = Fx.Anonymous())
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/v1/analytics/rfm")).StatusCode);
    }

    [Fact]
    public async Task Settings_need_a_current_ETag_and_valid_values_and_bad_queries_name_their_parameter()
    {
        using var admin = Fx.Admin();
        await admin.SetSettingsAsync("RON");
        string etag;
        using (var read = await admin.GetAsync("/api/v1/analytics/settings"))
        {
            var body = await read.ExpectAsync(HttpStatusCode.OK);
            Assert.Equal("RON", body.Str("currency"));
            etag = read.ETag();
        }
        var valid = new { currency = "RON", horizonMonths = 24, annualDiscountRateBasisPoints = 800, predictionDays = 30, winBackThreshold = 0.25,
            interactionCosts = new Dictionary<string, long> { ["call"] = 250 }, minSupport = 0.05, minConfidence = 0.4, recomputeHours = 0 };
        string newer;
        using (var ok = await admin.SendRawAsync(HttpMethod.Put, "/api/v1/analytics/settings", JsonSerializer.Serialize(valid, Api.Json), etag))
        {
            var body = await ok.ExpectAsync(HttpStatusCode.OK);
            Assert.Equal(24, body.GetProperty("horizonMonths").GetInt32());
            Assert.Equal(250, body.GetProperty("interactionCosts").GetProperty("Call").GetInt64()); // the type's own spelling
            newer = ok.ETag();
            Assert.NotEqual(etag, newer);
        }
        using (var stale = await admin.SendRawAsync(HttpMethod.Put, "/api/v1/analytics/settings", JsonSerializer.Serialize(valid, Api.Json), etag))
            await stale.ExpectAsync(HttpStatusCode.PreconditionFailed);
        using (var garbage = await admin.SendRawAsync(HttpMethod.Put, "/api/v1/analytics/settings", JsonSerializer.Serialize(valid, Api.Json), "\"not-a-version\""))
            await garbage.ExpectAsync(HttpStatusCode.PreconditionFailed);
        using (var read = await admin.GetAsync("/api/v1/analytics/settings"))
        {
            Assert.Equal(30, (await read.ExpectAsync(HttpStatusCode.OK)).GetProperty("predictionDays").GetInt32());
            Assert.Equal(newer, read.ETag());
        }
        var manager = await Fx.CreateUserAsync("Manager");
        using (var client = manager.Client())
            await client.PutJsonAsync("/api/v1/analytics/settings", valid, HttpStatusCode.Forbidden);

        // Every invalid field is named at once.
        using (var bad = await admin.PutAsync("/api/v1/analytics/settings", Json(new
               {
                   currency = "ron", horizonMonths = 0, annualDiscountRateBasisPoints = 10_001, predictionDays = 0, winBackThreshold = 1.5,
                   minSupport = 0, minConfidence = -0.5, recomputeHours = -1,
               })))
            Assert.Equal(["annualDiscountRateBasisPoints", "currency", "horizonMonths", "minConfidence", "minSupport", "predictionDays", "recomputeHours", "winBackThreshold"],
                (await bad.ExpectValidationProblemAsync()).Keys.Order(StringComparer.Ordinal));
        using (var bad = await admin.PutAsync("/api/v1/analytics/settings", Json(new { horizonMonths = 12 })))
            Assert.Equal(["currency"], (await bad.ExpectValidationProblemAsync()).Keys);
        using (var bad = await admin.PutAsync("/api/v1/analytics/settings", Json(new { currency = "RON", interactionCosts = new Dictionary<string, long> { ["Telepathy"] = 5, ["Meeting"] = -1, ["Email"] = 10 } })))
            Assert.Equal(["interactionCosts.Meeting", "interactionCosts.Telepathy"], (await bad.ExpectValidationProblemAsync()).Keys.Order(StringComparer.Ordinal));
        // A type named twice (in two spellings), or by number, is refused; a null list of costs is none (these were 500s).
        using (var bad = await admin.PutAsync("/api/v1/analytics/settings", Json(new { currency = "RON", interactionCosts = new Dictionary<string, long> { ["Call"] = 1, ["call"] = 2, ["0"] = 3 } })))
            Assert.Equal(["interactionCosts.0", "interactionCosts.call"], (await bad.ExpectValidationProblemAsync()).Keys.Order(StringComparer.Ordinal));
        using (var none = await admin.SendRawAsync(HttpMethod.Put, "/api/v1/analytics/settings", """{"currency":"RON","predictionDays":30,"interactionCosts":null}"""))
            await none.ExpectAsync(HttpStatusCode.OK);
        // Thresholds are probabilities: NaN and 2 are refused, not read as "everyone".
        foreach (var url in new[] { "/api/v1/analytics/win-back?threshold=2", "/api/v1/analytics/win-back?threshold=NaN" })
            using (var bad = await admin.GetAsync(url))
                Assert.Equal(["threshold"], (await bad.ExpectValidationProblemAsync()).Keys);
        // Nothing of the refused requests was stored.
        Assert.Equal(30, (await admin.GetJsonAsync("/api/v1/analytics/settings")).GetProperty("predictionDays").GetInt32());

        // A fit: the holdout must end after the calibration period; the calibration end is required.
        foreach (var (body, field) in new (object, string)[]
                 {
                     (new { calibrationEnd = "2025-06-30", holdoutEnd = "2025-01-31", timeUnit = "Week" }, "holdoutEnd"),
                     (new { calibrationEnd = "2025-06-30", holdoutEnd = "2025-06-30", timeUnit = "Day" }, "holdoutEnd"),
                     (new { timeUnit = "Week" }, "calibrationEnd"),
                 })
        {
            using var response = await admin.PostAsync("/api/v1/analytics/clv/fit", Json(body));
            Assert.Equal([field], (await response.ExpectValidationProblemAsync()).Keys);
        }
        // A fit with no purchases before the calibration end is a failed job that says why.
        var failed = await admin.WaitForAnalyticsJobAsync((await admin.PostJsonAsync("/api/v1/analytics/clv/fit", new { calibrationEnd = "1990-01-31", timeUnit = "Week" }, HttpStatusCode.Accepted)).Id());
        Assert.Equal("Failed", failed.Str("status"));
        Assert.Contains("No purchases in RON", failed.Str("error"), StringComparison.Ordinal);

        foreach (var (url, field) in new[]
                 {
                     ("/api/v1/customers?segment=Sleepy", "segment"), ("/api/v1/customers?sort=-value", "sort"), ("/api/v1/customers?minProbabilityAlive=2", "minProbabilityAlive"),
                     ("/api/v1/analytics/top-customers?by=revenue", "by"), ("/api/v1/analytics/top-customers?limit=201", "limit"),
                     ("/api/v1/analytics/assortment?by=region", "by"), ("/api/v1/analytics/distribution?bins=1", "bins"),
                     ("/api/v1/analytics/win-back?limit=0", "limit"), ("/api/v1/analytics/win-back?cursor=nonsense", "cursor"),
                     ("/api/v1/analytics/jobs?kind=Nope", "kind"),
                 })
        {
            using var response = await admin.GetAsync(url);
            Assert.Equal([field], (await response.ExpectValidationProblemAsync()).Keys);
        }
        await admin.GetJsonAsync($"/api/v1/analytics/jobs/{Guid.CreateVersion7()}", HttpStatusCode.NotFound);
        await admin.GetJsonAsync($"/api/v1/customers/{Guid.CreateVersion7()}/scores", HttpStatusCode.NotFound);
        // A customer added since the last recompute has no scores yet.
        await admin.GetJsonAsync($"/api/v1/customers/{(await CreateAsync(Person(), admin)).Id()}/scores", HttpStatusCode.NotFound);
    }

    /// <summary>The real clock moved on by a fixed time: the scheduler's "later" without waiting for it.</summary>
    private sealed class ShiftedClock(TimeSpan shift) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => TimeProvider.System.GetUtcNow() + shift;
    }

    [Fact]
    public async Task The_schedule_queues_one_recompute_when_the_last_is_older_than_the_interval_and_the_worker_runs_it()
    {
        using var admin = Fx.Admin();
        await admin.SetSettingsAsync("BGN", recomputeHours: 0);
        await BuyerAsync(admin, "BGN");
        // A recompute now, so the running worker (on the real clock) finds a recent one and schedules nothing itself.
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        await admin.RecomputeAsync(today);
        var services = Fx.Factory.Services;
        var db = services.GetRequiredService<IDbContextFactory<KoloDb>>();
        // The scheduler two hours from now (AnalyticsJobRunner as the worker uses it; Kolo:AnalyticsPollSeconds cannot be
        // set through the test fixture, so the runner's own check is called).
        var later = new AnalyticsJobRunner(db, new ShiftedClock(TimeSpan.FromHours(2)));
        Assert.False(await later.ScheduleIfDueAsync()); // recomputeHours 0: only on demand
        await admin.SetSettingsAsync("BGN", recomputeHours: 3);
        Assert.False(await later.ScheduleIfDueAsync()); // the last recompute is 2 h old, the interval 3 h

        await admin.SetSettingsAsync("BGN", recomputeHours: 1);
        var before = (await admin.GetJsonAsync("/api/v1/analytics/jobs?kind=Scores&limit=100")).EnumerateArray().Select(j => j.Id()).ToHashSet();
        Assert.True(await later.ScheduleIfDueAsync());
        Assert.False(await later.ScheduleIfDueAsync()); // one is queued: not a second
        Assert.False(await services.GetRequiredService<AnalyticsJobRunner>().ScheduleIfDueAsync()); // nor now, on the real clock
        var queued = (await admin.GetJsonAsync("/api/v1/analytics/jobs?kind=Scores&limit=100")).EnumerateArray().Where(j => !before.Contains(j.Id())).ToList();
        var job = Assert.Single(queued);
        Assert.Equal(JsonValueKind.Null, job.GetProperty("asOf").ValueKind); // "today", when it runs

        // The worker picks it up on its next poll (every 10 s by default) and computes as of today.
        var done = await admin.WaitForAnalyticsJobAsync(job.Id(), 120);
        Assert.True(done.Str("status") == "Succeeded", done.ToString());
        Assert.Equal(Day(today), done.GetProperty("result").Str("asOf")[..10]);
        Assert.Single((await admin.GetJsonAsync("/api/v1/analytics/jobs?kind=Scores&limit=100")).EnumerateArray(), j => !before.Contains(j.Id()));
        await admin.SetSettingsAsync("BGN", recomputeHours: 0);
    }
}

[Collection("analytics-sqlite")]
public sealed class SqliteAnalyticsAccessTests(SqliteFixture fx) : AnalyticsAccessTests(fx);

[Collection("analytics-postgres")]
public sealed class PostgresAnalyticsAccessTests(PostgresFixture fx) : AnalyticsAccessTests(fx);
