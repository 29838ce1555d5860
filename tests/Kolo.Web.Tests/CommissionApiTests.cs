using System.Net;
using System.Text.Json;
using Kolo.Web.Tests.Infrastructure;

namespace Kolo.Web.Tests;

/// <summary>
/// GET /api/v1/commissions on a hand-computed example: one new rep with a plan of 5 % up to the target, 8 % from
/// 100 %, 10 % from 150 %, a monthly target of 100,000, and deals won (then dated) in the months of last year.
/// </summary>
public abstract class CommissionApiTests(KoloAppFixture fx) : ApiTestBase(fx)
{
    private static readonly int Y = DateTime.UtcNow.Year - 1;

    private static string Day(int month, int day) => OrderApi.Day(new DateOnly(Y, month, day));

    private sealed record Line(DateOnly Period, decimal Won, decimal? Target, double? Attainment, string? Plan, decimal Pay);

    private static List<Line> LinesOf(JsonElement lines, Guid userId) => lines.EnumerateArray().Where(l => l.GetProperty("userId").GetGuid() == userId)
        .Select(l => new Line(l.Date("periodStart"), l.Dec("won"), l.GetProperty("target").ValueKind == JsonValueKind.Null ? null : l.Dec("target"),
            l.GetProperty("attainment").ValueKind == JsonValueKind.Null ? null : Math.Round(l.GetProperty("attainment").GetDouble(), 6),
            l.GetProperty("plan").ValueKind == JsonValueKind.Null ? null : l.Str("plan"), l.Dec("pay")))
        .ToList();

    private sealed class Seller(KoloAppFixture fx, HttpClient admin, TestPipeline pipeline, TestUser rep, Guid customerId)
    {
        /// <summary>A deal of the rep, closed (won unless said otherwise) on the given day of last year.</summary>
        public async Task CloseAsync(decimal amount, int month, int day, bool won = true, string currency = "UAH")
        {
            var body = SalesApi.Deal(customerId, pipeline.Id, amount);
            body["ownerId"] = rep.Id;
            body["currency"] = currency;
            var id = (await admin.CreateDealAsync(body)).Id();
            await admin.MovedAsync(id, pipeline[won ? "Won" : "Lost"], won ? "Signed" : "Went elsewhere");
            await fx.SetClosedAtAsync(id, SalesApi.Utc(Y, month, day, 14));
        }
    }

    private async Task<Seller> SellerAsync(HttpClient admin, TestPipeline pipeline, TestUser rep)
    {
        var customer = Person();
        customer["ownerId"] = rep.Id;
        return new Seller(Fx, admin, pipeline, rep, (await CreateAsync(customer)).Id());
    }

    [Fact]
    public async Task Pay_per_month_follows_the_tiers_at_several_attainments()
    {
        using var admin = Fx.Admin();
        var p = await admin.CreatePipelineAsync();
        var rep = await Fx.CreateUserAsync("Sales");
        var planName = "Tiered " + Unique.Word(6);
        await admin.PostJsonAsync("/api/v1/commission-plans", new
        {
            name = planName, userId = rep.Id, baseRateBasisPoints = 500,
            tiers = new[] { new { fromAttainmentPercent = 150, rateBasisPoints = 1_000 }, new { fromAttainmentPercent = 100, rateBasisPoints = 800 } },
        }, HttpStatusCode.Created);
        foreach (var month in new[] { 1, 2, 3, 4, 6 })
            await admin.PostJsonAsync("/api/v1/targets", new { userId = rep.Id, period = "Month", periodStart = Day(month, 1), amount = 100_000m }, HttpStatusCode.Created);

        var seller = await SellerAsync(admin, p, rep);
        await seller.CloseAsync(80_000, 1, 10);
        await seller.CloseAsync(60_000, 2, 3);
        await seller.CloseAsync(40_000, 2, 27);
        await seller.CloseAsync(120_000, 3, 15);
        await seller.CloseAsync(50_000, 3, 16, won: false);           // lost: earns nothing
        await seller.CloseAsync(50_000, 3, 17, currency: "EUR");      // not in the sales currency
        await seller.CloseAsync(200_000, 4, 30);
        await seller.CloseAsync(10_000, 5, 1);
        await seller.CloseAsync(70_000, 7, 1);                        // after the range

        var lines = await admin.GetJsonAsync($"/api/v1/commissions?period=month&from={Day(1, 1)}&to={Day(7, 1)}");
        Assert.Equal(
        [
            // 80 %: 80,000 × 5 %.
            new Line(new DateOnly(Y, 1, 1), 80_000, 100_000, 0.8, planName, 4_000),
            // Exactly 100 % (two deals): 100,000 × 5 %, no accelerator yet.
            new Line(new DateOnly(Y, 2, 1), 100_000, 100_000, 1.0, planName, 5_000),
            // 120 %: 5,000 + 20,000 × 8 %.
            new Line(new DateOnly(Y, 3, 1), 120_000, 100_000, 1.2, planName, 6_600),
            // 200 %: 5,000 + 50,000 × 8 % + 50,000 × 10 %.
            new Line(new DateOnly(Y, 4, 1), 200_000, 100_000, 2.0, planName, 14_000),
            // No target: the base rate on everything.
            new Line(new DateOnly(Y, 5, 1), 10_000, null, null, planName, 500),
            new Line(new DateOnly(Y, 6, 1), 0, 100_000, 0, planName, 0),
        ], LinesOf(lines, rep.Id));

        var targets = (await admin.GetJsonAsync($"/api/v1/targets?from={Day(3, 1)}&to={Day(4, 1)}")).EnumerateArray()
            .Single(t => t.GetProperty("userId").ValueKind != JsonValueKind.Null && t.GetProperty("userId").GetGuid() == rep.Id);
        Assert.Equal(120_000m, targets.Dec("won"));
        Assert.Equal(1.2, targets.GetProperty("attainment").GetDouble(), 6);
    }

    [Fact]
    public async Task A_rep_without_a_plan_of_their_own_takes_their_teams_and_sees_only_their_own_lines()
    {
        using var admin = Fx.Admin();
        var p = await admin.CreatePipelineAsync();
        var team = "team-" + Unique.Word(6);
        var member = await Fx.CreateUserAsync("Sales", team: team);
        var other = await Fx.CreateUserAsync("Sales", team: team);
        var teamPlan = "Team " + Unique.Word(6);
        var personal = "Personal " + Unique.Word(6);
        await admin.PostJsonAsync("/api/v1/commission-plans", new { name = teamPlan, team, baseRateBasisPoints = 300 }, HttpStatusCode.Created);
        await admin.PostJsonAsync("/api/v1/commission-plans", new { name = personal, userId = other.Id, baseRateBasisPoints = 700 }, HttpStatusCode.Created);
        await (await SellerAsync(admin, p, member)).CloseAsync(10_000, 1, 20);
        await (await SellerAsync(admin, p, other)).CloseAsync(10_000, 1, 21);

        using var client = member.Client();
        var mine = await client.GetJsonAsync($"/api/v1/commissions?period=month&from={Day(1, 1)}&to={Day(2, 1)}");
        Assert.Equal([new Line(new DateOnly(Y, 1, 1), 10_000, null, null, teamPlan, 300)], LinesOf(mine, member.Id));
        Assert.All(mine.EnumerateArray(), l => Assert.Equal(member.Id, l.GetProperty("userId").GetGuid()));

        // The personal plan comes before the team's.
        var all = await admin.GetJsonAsync($"/api/v1/commissions?period=month&from={Day(1, 1)}&to={Day(2, 1)}");
        Assert.Equal([new Line(new DateOnly(Y, 1, 1), 10_000, null, null, personal, 700)], LinesOf(all, other.Id));

        // Reps neither set plans nor targets.
        using var plan = await client.PostAsync("/api/v1/commission-plans",
            JsonContent(new { name = "Mine", userId = member.Id, baseRateBasisPoints = 5_000 }));
        await plan.ExpectAsync(HttpStatusCode.Forbidden);
        using var target = await client.PostAsync("/api/v1/targets", JsonContent(new { userId = member.Id, periodStart = Day(1, 1), amount = 1m }));
        await target.ExpectAsync(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task Plans_and_queries_are_validated()
    {
        using var admin = Fx.Admin();
        using (var bad = await admin.PostAsync("/api/v1/commission-plans", JsonContent(new
               {
                   name = "Bad " + Unique.Word(5), baseRateBasisPoints = 500,
                   tiers = new[] { new { fromAttainmentPercent = 100, rateBasisPoints = 20_000 }, new { fromAttainmentPercent = 100, rateBasisPoints = 800 } },
               })))
        {
            var errors = await bad.ExpectValidationProblemAsync();
            Assert.Contains("tiers[0].rateBasisPoints", errors.Keys);
            Assert.Contains("tiers", errors.Keys);
        }
        using (var bad = await admin.PostAsync("/api/v1/targets", JsonContent(new { periodStart = Day(1, 1), amount = 1m })))
            Assert.Contains("userId", (await bad.ExpectValidationProblemAsync()).Keys);
        foreach (var (query, field) in new[] { ("period=year", "period"), ("from=2025-1-1", "from"), ("to=31.12.2025", "to"), ($"from={Day(3, 1)}&to={Day(2, 1)}", "to") })
        {
            using var response = await admin.GetAsync("/api/v1/commissions?" + query);
            Assert.Contains(field, (await response.ExpectValidationProblemAsync()).Keys);
        }
    }

    private static StringContent JsonContent(object body) =>
        new(JsonSerializer.Serialize(body, Api.Json), System.Text.Encoding.UTF8, "application/json");
}

[Collection("sqlite")]
public sealed class SqliteCommissionApiTests(SqliteFixture fx) : CommissionApiTests(fx);

[Collection("postgres")]
public sealed class PostgresCommissionApiTests(PostgresFixture fx) : CommissionApiTests(fx);
