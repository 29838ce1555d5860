using System.Net;
using System.Text.Json;
using Kolo.Web.Tests.Infrastructure;

namespace Kolo.Web.Tests;

/// <summary>GET /api/v1/board: a column per stage with its count, total and weighted total, the first deals, and paging on.</summary>
public abstract class DealBoardApiTests(KoloAppFixture fx) : ApiTestBase(fx)
{
    private sealed record Column(string Stage, int Count, decimal Total, decimal Weighted);

    private static List<Column> ColumnsOf(JsonElement board) => board.GetProperty("columns").EnumerateArray()
        .Select(c => new Column(c.GetProperty("stage").Str("name"), c.GetProperty("count").GetInt32(), c.Dec("total"), c.Dec("weighted"))).ToList();

    private static JsonElement ColumnOf(JsonElement board, string stage) =>
        board.GetProperty("columns").EnumerateArray().Single(c => c.GetProperty("stage").Str("name") == stage);

    [Fact]
    public async Task Columns_count_total_and_weigh_their_deals_and_page_soonest_close_first()
    {
        using var admin = Fx.Admin();
        var p = await admin.CreatePipelineAsync();
        var rep = await Fx.CreateUserAsync("Sales");
        var other = await Fx.CreateUserAsync("Sales");
        var customer = (await CreateAsync(Person())).Id();

        async Task<Guid> DealAsync(decimal amount, string stage, TestUser owner, string? close, int? probability = null)
        {
            var body = SalesApi.Deal(customer, p.Id, amount, p[stage]);
            body["ownerId"] = owner.Id;
            body["expectedCloseDate"] = close;
            body["probability"] = probability;
            return (await admin.CreateDealAsync(body)).Id();
        }

        var a1 = await DealAsync(1_000, "A", rep, "2027-01-10");
        var a2 = await DealAsync(2_000, "A", rep, "2027-01-05");
        var a3 = await DealAsync(3_000, "A", rep, null, probability: 90);     // no close date: last
        var a4 = await DealAsync(500, "A", other, "2027-01-20");
        await DealAsync(4_000, "B", rep, "2027-02-01");
        var won = await DealAsync(700, "A", rep, null);
        await admin.MovedAsync(won, p["Won"], "Signed");
        var lost = await DealAsync(300, "B", rep, "2027-01-15");
        await admin.MovedAsync(lost, p["Lost"], "No budget");
        // Won long ago: the board is about work in progress, closed columns show the last 90 days.
        var old = await DealAsync(10_000, "A", rep, null);
        await admin.MovedAsync(old, p["Won"], "Signed");
        await Fx.SetClosedAtAsync(old, DateTime.UtcNow.AddDays(-100));

        var board = await admin.GetJsonAsync($"/api/v1/board?pipelineId={p.Id}&limit=2");
        Assert.Equal(p.Id, board.GetProperty("pipeline").Id());
        Assert.Equal(
        [
            // 20 % of 1,000 + 2,000 + 500 and 90 % of 3,000.
            new Column("A", 4, 6_500, 200 + 400 + 100 + 2_700),
            new Column("B", 1, 4_000, 2_400),
            new Column("C", 0, 0, 0),
            new Column("Won", 1, 700, 700),
            new Column("Lost", 1, 300, 0),
        ], ColumnsOf(board));

        var a = ColumnOf(board, "A");
        Assert.Equal([a2, a1], a.GetProperty("deals").EnumerateArray().Select(d => d.Id()));
        var next = a.Str("nextCursor");
        var rest = await admin.GetJsonAsync($"/api/v1/deals?stageId={p["A"]}&limit=2&cursor={Uri.EscapeDataString(next)}");
        Assert.Equal([a4, a3], Ids(rest));
        Assert.Equal(JsonValueKind.Null, rest.GetProperty("nextCursor").ValueKind);
        Assert.Equal(JsonValueKind.Null, ColumnOf(board, "B").GetProperty("nextCursor").ValueKind);
        Assert.Equal([a2, a1, a4, a3], (await admin.AllPagesAsync($"/api/v1/deals?stageId={p["A"]}", 3)).Select(d => d.Id()));

        // Filters narrow the counts and totals too.
        Assert.Equal(
        [
            new Column("A", 1, 500, 100), new Column("B", 0, 0, 0), new Column("C", 0, 0, 0), new Column("Won", 0, 0, 0), new Column("Lost", 0, 0, 0),
        ], ColumnsOf(await admin.GetJsonAsync($"/api/v1/board?pipelineId={p.Id}&owner={other.Id}")));
        Assert.Equal(
        [
            new Column("A", 2, 1_500, 300), new Column("B", 0, 0, 0), new Column("C", 0, 0, 0), new Column("Won", 0, 0, 0), new Column("Lost", 1, 300, 0),
        ], ColumnsOf(await admin.GetJsonAsync($"/api/v1/board?pipelineId={p.Id}&closeFrom=2027-01-06&closeTo=2027-01-31")));

        // A move shows at once: A loses the deal, B gains it.
        await admin.MovedAsync(a1, p["B"]);
        var moved = ColumnsOf(await admin.GetJsonAsync($"/api/v1/board?pipelineId={p.Id}"));
        Assert.Equal(new Column("A", 3, 5_500, 200 + 400 + 2_700 + 100 - 200), moved[0]);
        Assert.Equal(new Column("B", 2, 5_000, 3_000), moved[1]);

        await admin.GetJsonAsync($"/api/v1/board?pipelineId={Guid.NewGuid()}", HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task The_board_shows_one_currency_at_a_time_and_lists_the_others()
    {
        using var admin = Fx.Admin();
        var p = await admin.CreatePipelineAsync();
        var customer = (await CreateAsync(Person())).Id();
        foreach (var (amount, currency) in new[] { (1_000m, "UAH"), (2_000m, "EUR"), (3_000m, "EUR"), (4_000m, "PLN") })
        {
            var body = SalesApi.Deal(customer, p.Id, amount);
            body["currency"] = currency;
            await admin.CreateDealAsync(body);
        }
        // The sales currency (UAH) by default; amounts in other currencies are never added to it.
        var board = await admin.GetJsonAsync($"/api/v1/board?pipelineId={p.Id}");
        Assert.Equal("UAH", board.Str("currency"));
        Assert.Equal(["EUR", "PLN", "UAH"], board.GetProperty("currencies").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal((1, 1_000m), (ColumnOf(board, "A").GetProperty("count").GetInt32(), ColumnOf(board, "A").Dec("total")));
        var euro = await admin.GetJsonAsync($"/api/v1/board?pipelineId={p.Id}&currency=eur");
        Assert.Equal("EUR", euro.Str("currency"));
        Assert.Equal((2, 5_000m), (ColumnOf(euro, "A").GetProperty("count").GetInt32(), ColumnOf(euro, "A").Dec("total")));
        Assert.All(ColumnOf(euro, "A").GetProperty("deals").EnumerateArray(), d => Assert.Equal("EUR", d.Str("currency")));
        // The deal list filters the same way (the board's "more" pages).
        Assert.Equal(2, Ids(await admin.GetJsonAsync($"/api/v1/deals?pipelineId={p.Id}&currency=EUR")).Count);
        using var bad = await admin.GetAsync($"/api/v1/board?pipelineId={p.Id}&currency=EURO");
        Assert.Contains("currency", (await bad.ExpectValidationProblemAsync()).Keys);
    }

    [Fact]
    public async Task The_team_filter_keeps_the_deals_of_the_teams_members()
    {
        using var admin = Fx.Admin();
        var p = await admin.CreatePipelineAsync();
        var team = "t-" + Unique.Word(6);
        var member = await Fx.CreateUserAsync("Sales", team: team);
        var outsider = await Fx.CreateUserAsync("Sales");
        var customer = (await CreateAsync(Person())).Id();
        foreach (var (owner, amount) in new[] { (member, 1_000m), (outsider, 2_000m) })
        {
            var body = SalesApi.Deal(customer, p.Id, amount);
            body["ownerId"] = owner.Id;
            await admin.CreateDealAsync(body);
        }
        var a = ColumnOf(await admin.GetJsonAsync($"/api/v1/board?pipelineId={p.Id}&team={team}"), "A");
        Assert.Equal((1, 1_000m), (a.GetProperty("count").GetInt32(), a.Dec("total")));
        Assert.Equal([member.Id], a.GetProperty("deals").EnumerateArray().Select(d => d.GetProperty("ownerId").GetGuid()));
    }
}

[Collection("sqlite")]
public sealed class SqliteDealBoardApiTests(SqliteFixture fx) : DealBoardApiTests(fx);

[Collection("postgres")]
public sealed class PostgresDealBoardApiTests(PostgresFixture fx) : DealBoardApiTests(fx);
