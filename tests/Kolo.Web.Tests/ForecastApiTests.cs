using System.Net;
using System.Text.Json;
using Kolo.Web.Tests.Infrastructure;

namespace Kolo.Web.Tests;

/// <summary>
/// GET /api/v1/forecast on a small example worked out by hand (the same one as Kolo.Core.Tests' ForecastingTests).
/// The example lives two years ahead, so no date is clamped to today and the numbers do not depend on the day the
/// tests run; it uses its own pipeline (its stages' history is its own) and its own rep.
/// </summary>
public abstract class ForecastApiTests(KoloAppFixture fx) : ApiTestBase(fx)
{
    private static readonly int Y = DateTime.UtcNow.Year + 2;

    private static DateTime T(int month, int day) => SalesApi.Utc(Y, month, day);

    private static string Day(int month, int day) => OrderApi.Day(new DateOnly(Y, month, day));

    private sealed record Row(DateOnly Period, int Open, decimal Pipeline, decimal Weighted, decimal BestCase, decimal Commit, decimal History, decimal Won, decimal? Target);

    private static List<Row> RowsOf(JsonElement forecast, string group) => forecast.GetProperty("rows").EnumerateArray()
        .Where(r => r.Str("group") == group)
        .Select(r => new Row(r.Date("periodStart"), r.GetProperty("openDeals").GetInt32(), r.Dec("pipeline"), r.Dec("weighted"), r.Dec("bestCase"),
            r.Dec("commit"), r.Dec("historyBased"), r.Dec("won"), r.GetProperty("target").ValueKind == JsonValueKind.Null ? null : r.Dec("target")))
        .ToList();

    /// <summary>
    /// Pipeline A 20 % → B 60 % → C 80 % → Won/Lost, every deal owned by one new rep.
    /// Closed: C1 A(1 Jan) → B(21 Jan) → Won(31 Jan), 8,000; C2 A(1 Jan) → B(11 Jan) → A(15 Jan) → Lost(20 Jan);
    /// C3 A(5 Jan) → Lost(15 Jan); C4 A(5 Jan) → Lost(25 Jan); C5 A(1 Feb) → Won(21 Feb), 2,000.
    /// So A: 5 entered, 2 won = 40 %, (30 + 20) / 2 = 25 days to win; B: 2 entered, 1 won = 50 %, 10 days; C: no history.
    /// Open: O1 A 10,000 pipeline, closes 15 May, in A since 1 Mar; O2 B 4,000 at 90 % commit, closes 5 Apr, in B since 25 Mar;
    /// O3 B 6,000 best case, closes 20 Apr, in B since 10 Mar; O4 C 5,000 commit, closes 10 Jun; O5 A 2,000 at 50 %
    /// omitted, no close date, in A since 10 Apr; and a EUR deal the forecast (in UAH) leaves out.
    /// </summary>
    private async Task<(TestPipeline Pipeline, TestUser Rep)> ExampleAsync()
    {
        using var admin = Fx.Admin();
        var p = await admin.CreatePipelineAsync();
        var rep = await Fx.CreateUserAsync("Sales");
        var customer = Person();
        customer["ownerId"] = rep.Id;
        var customerId = (await CreateAsync(customer)).Id();

        async Task<Guid> DealAsync(decimal amount, string stage, string category = "Pipeline", int? probability = null, DateOnly? close = null, string currency = "UAH")
        {
            var body = SalesApi.Deal(customerId, p.Id, amount, p[stage]);
            body["ownerId"] = rep.Id;
            body["forecastCategory"] = category;
            body["probability"] = probability;
            body["expectedCloseDate"] = close is { } c ? OrderApi.Day(c) : null;
            body["currency"] = currency;
            return (await admin.CreateDealAsync(body)).Id();
        }

        async Task ClosedAsync(decimal amount, params (string Stage, DateTime At)[] path)
        {
            var id = await DealAsync(amount, path[0].Stage);
            foreach (var (stage, _) in path.Skip(1)) await admin.MovedAsync(id, p[stage], stage is "Won" or "Lost" ? "Test outcome" : null);
            await Fx.BackdateAsync(id, path.Select(s => s.At).ToArray());
        }

        await ClosedAsync(8_000, ("A", T(1, 1)), ("B", T(1, 21)), ("Won", T(1, 31)));
        await ClosedAsync(3_000, ("A", T(1, 1)), ("B", T(1, 11)), ("A", T(1, 15)), ("Lost", T(1, 20)));
        await ClosedAsync(1_000, ("A", T(1, 5)), ("Lost", T(1, 15)));
        await ClosedAsync(1_000, ("A", T(1, 5)), ("Lost", T(1, 25)));
        await ClosedAsync(2_000, ("A", T(2, 1)), ("Won", T(2, 21)));

        await Fx.BackdateAsync(await DealAsync(10_000, "A", close: new DateOnly(Y, 5, 15)), T(3, 1));
        await Fx.BackdateAsync(await DealAsync(4_000, "B", "Commit", 90, new DateOnly(Y, 4, 5)), T(3, 25));
        await Fx.BackdateAsync(await DealAsync(6_000, "B", "BestCase", close: new DateOnly(Y, 4, 20)), T(3, 10));
        await Fx.BackdateAsync(await DealAsync(5_000, "C", "Commit", close: new DateOnly(Y, 6, 10)), T(3, 1));
        await Fx.BackdateAsync(await DealAsync(2_000, "A", "Omitted", 50), T(4, 10));
        await Fx.BackdateAsync(await DealAsync(9_000, "B", "Commit", close: new DateOnly(Y, 4, 10), currency: "EUR"), T(3, 1));
        return (p, rep);
    }

    private static readonly Row[] Monthly =
    [
        new(new DateOnly(Y, 1, 1), 0, 0, 0, 0, 0, 0, 8_000, null),
        new(new DateOnly(Y, 2, 1), 0, 0, 0, 0, 0, 0, 2_000, null),
        // History-based: O1 40 % × 10,000 on 26 Mar (1 Mar + 25 days) + O3 50 % × 6,000 on 20 Mar.
        new(new DateOnly(Y, 3, 1), 0, 0, 0, 0, 0, 7_000, 0, null),
        // O2 + O3: weighted 90 % × 4,000 + 60 % × 6,000; best case both; commit O2; history O2 50 % × 4,000 on 4 Apr.
        new(new DateOnly(Y, 4, 1), 2, 10_000, 7_200, 10_000, 4_000, 2_000, 0, null),
        // O1: 20 % × 10,000; history O5 40 % × 2,000 on 5 May (10 Apr + 25 days).
        new(new DateOnly(Y, 5, 1), 1, 10_000, 2_000, 0, 0, 800, 0, null),
        // O4: C has no history, so its default 80 % at the expected close date.
        new(new DateOnly(Y, 6, 1), 1, 5_000, 4_000, 5_000, 5_000, 4_000, 0, null),
    ];

    [Fact]
    public async Task Monthly_forecast_by_pipeline_matches_the_hand_computed_example()
    {
        var (p, _) = await ExampleAsync();
        using var admin = Fx.Admin();

        var forecast = await admin.GetJsonAsync($"/api/v1/forecast?period=month&groupBy=pipeline&from={Day(1, 1)}&to={Day(7, 1)}");
        Assert.Equal("UAH", forecast.Str("currency"));
        Assert.Equal(Monthly, RowsOf(forecast, p.Id.ToString()));
        Assert.All(forecast.GetProperty("rows").EnumerateArray().Where(r => r.Str("group") == p.Id.ToString()),
            r => Assert.Equal(p.Body.Str("name"), r.Str("groupName")));
    }

    [Fact]
    public async Task Forecast_by_owner_shows_the_reps_targets_and_by_quarter_sums_the_months()
    {
        var (_, rep) = await ExampleAsync();
        using var admin = Fx.Admin();
        await admin.PostJsonAsync("/api/v1/targets", new { userId = rep.Id, period = "Month", periodStart = Day(3, 17), amount = 50_000m }, HttpStatusCode.Created);
        await admin.PostJsonAsync("/api/v1/targets", new { userId = rep.Id, period = "Month", periodStart = Day(4, 1), amount = 30_000m }, HttpStatusCode.Created);

        var byOwner = await admin.GetJsonAsync($"/api/v1/forecast?period=month&groupBy=owner&from={Day(1, 1)}&to={Day(7, 1)}");
        var expected = Monthly.Select(r => r.Period.Month switch { 3 => r with { Target = 50_000 }, 4 => r with { Target = 30_000 }, _ => r }).ToArray();
        Assert.Equal(expected, RowsOf(byOwner, rep.Id.ToString()));
        Assert.Equal(rep.DisplayName, byOwner.GetProperty("rows").EnumerateArray().First(r => r.Str("group") == rep.Id.ToString()).Str("groupName"));

        // The rep's own view: the same numbers, and nobody else's rows.
        using var own = rep.Client();
        var mine = await own.GetJsonAsync($"/api/v1/forecast?period=month&groupBy=owner&from={Day(1, 1)}&to={Day(7, 1)}");
        Assert.Equal(expected, RowsOf(mine, rep.Id.ToString()));
        Assert.All(mine.GetProperty("rows").EnumerateArray(), r => Assert.Equal(rep.Id.ToString(), r.Str("group")));

        // from in mid-February still starts at the first quarter; monthly targets are not quarterly ones.
        var quarterly = await own.GetJsonAsync($"/api/v1/forecast?period=quarter&groupBy=owner&from={Day(2, 14)}&to={Day(7, 1)}");
        Assert.Equal(Day(1, 1), quarterly.Str("from"));
        Assert.Equal(
        [
            new Row(new DateOnly(Y, 1, 1), 0, 0, 0, 0, 0, 7_000, 10_000, null),
            new Row(new DateOnly(Y, 4, 1), 4, 25_000, 13_200, 15_000, 9_000, 6_800, 0, null),
        ], RowsOf(quarterly, rep.Id.ToString()));
    }

    [Fact]
    public async Task A_stage_default_change_moves_the_weighted_forecast_of_deals_that_follow_it()
    {
        using var admin = Fx.Admin();
        var (p, _) = await ExampleAsync();
        string etag;
        using (var get = await admin.GetAsync($"/api/v1/pipelines/{p.Id}")) etag = get.ETag();
        // B from 60 % to 40 %: O3 follows (6,000 × 40 % = 2,400), O2 keeps its 90 %.
        var stages = SalesApi.AbcStages.Select(s => SalesApi.StageBody(s.Name, s.Name == "B" ? 40 : s.Probability, s.Kind, p[s.Name])).ToList();
        using (var put = await admin.SendRawAsync(HttpMethod.Put, $"/api/v1/pipelines/{p.Id}", JsonSerializer.Serialize(new { name = p.Body.Str("name"), stages }, Api.Json), etag))
            await put.ExpectAsync(HttpStatusCode.OK);

        var forecast = await admin.GetJsonAsync($"/api/v1/forecast?period=month&groupBy=pipeline&from={Day(4, 1)}&to={Day(5, 1)}");
        Assert.Equal(3_600 + 2_400, Assert.Single(RowsOf(forecast, p.Id.ToString())).Weighted);
    }

    [Theory]
    [InlineData("period=week", "period")]
    [InlineData("groupBy=customer", "groupBy")]
    [InlineData("from=2026-02-30", "from")]
    [InlineData("to=next-month", "to")]
    [InlineData("from=2026-05-01&to=2026-04-01", "to")]
    public async Task Bad_query_values_are_400s_naming_the_parameter(string query, string field)
    {
        using var admin = Fx.Admin();
        using var response = await admin.GetAsync("/api/v1/forecast?" + query);
        Assert.Contains(field, (await response.ExpectValidationProblemAsync()).Keys);
    }
}

[Collection("sqlite")]
public sealed class SqliteForecastApiTests(SqliteFixture fx) : ForecastApiTests(fx);

[Collection("postgres")]
public sealed class PostgresForecastApiTests(PostgresFixture fx) : ForecastApiTests(fx);
