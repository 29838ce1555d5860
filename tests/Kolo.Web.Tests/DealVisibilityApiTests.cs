using System.Net;
using System.Text.Json;
using Kolo.Web.Tests.Infrastructure;

namespace Kolo.Web.Tests;

/// <summary>A Sales user sees their own deals only (or their team's, as their customer access says): lists, board, reads, changes, forecast.</summary>
public abstract class DealVisibilityApiTests(KoloAppFixture fx) : ApiTestBase(fx)
{
    private async Task<Guid> CustomerOfAsync(TestUser owner)
    {
        var body = Person();
        body["ownerId"] = owner.Id;
        return (await CreateAsync(body)).Id();
    }

    [Fact]
    public async Task A_reps_forecast_total_has_their_own_target_not_everyones()
    {
        using var admin = Fx.Admin();
        var p = await admin.CreatePipelineAsync();
        var (rep, other) = (await Fx.CreateUserAsync("Sales"), await Fx.CreateUserAsync("Sales"));
        var month = new DateOnly(DateTime.UtcNow.Year + 1, 5, 1);
        foreach (var (user, amount) in new[] { (rep, 1_000m), (other, 2_000m) })
            await admin.PostJsonAsync("/api/v1/targets", new { userId = user.Id, period = "Month", periodStart = OrderApi.Day(month), amount }, HttpStatusCode.Created);
        var customer = Person();
        customer["ownerId"] = rep.Id;
        var deal = SalesApi.Deal((await CreateAsync(customer)).Id(), p.Id, 500);
        deal["ownerId"] = rep.Id;
        deal["expectedCloseDate"] = OrderApi.Day(month.AddDays(9));
        await admin.CreateDealAsync(deal);

        using var client = rep.Client();
        var forecast = await client.GetJsonAsync($"/api/v1/forecast?period=Month&groupBy=none&from={OrderApi.Day(month)}&to={OrderApi.Day(month.AddMonths(1))}");
        var row = Assert.Single(forecast.GetProperty("rows").EnumerateArray());
        Assert.Equal(1_000m, row.GetProperty("target").GetDecimal());
        // The manager's total is everyone's.
        var all = await admin.GetJsonAsync($"/api/v1/forecast?period=Month&groupBy=none&from={OrderApi.Day(month)}&to={OrderApi.Day(month.AddMonths(1))}");
        Assert.True(Assert.Single(all.GetProperty("rows").EnumerateArray()).GetProperty("target").GetDecimal() >= 3_000m);
    }

    [Fact]
    public async Task A_sales_user_sees_only_their_own_deals()
    {
        using var admin = Fx.Admin();
        var p = await admin.CreatePipelineAsync();
        var team = "t-" + Unique.Word(6);
        var mine = await Fx.CreateUserAsync("Sales", team: team);
        var theirs = await Fx.CreateUserAsync("Sales");
        var teammate = await Fx.CreateUserAsync("Sales", "Team", team);
        var manager = await Fx.CreateUserAsync("Manager");
        using var me = mine.Client();
        using var them = theirs.Client();
        using var mate = teammate.Client();
        using var boss = manager.Client();
        var myCustomer = await CustomerOfAsync(mine);
        var theirCustomer = await CustomerOfAsync(theirs);
        var close = OrderApi.Today().AddDays(10);

        Dictionary<string, object?> Body(Guid customer, decimal amount, string stage)
        {
            var body = SalesApi.Deal(customer, p.Id, amount, p[stage]);
            body["expectedCloseDate"] = OrderApi.Day(close);
            return body;
        }
        var myA = (await me.CreateDealAsync(Body(myCustomer, 1_000, "A"))).Id();
        var myB = (await me.CreateDealAsync(Body(myCustomer, 2_000, "B"))).Id();
        var theirA = (await them.CreateDealAsync(Body(theirCustomer, 5_000, "A"))).Id();

        Assert.Equal(new[] { myA, myB }.Order(), Ids(await me.GetJsonAsync($"/api/v1/deals?pipelineId={p.Id}")).Order());
        Assert.Equal([theirA], Ids(await them.GetJsonAsync($"/api/v1/deals?pipelineId={p.Id}")));
        Assert.Equal(new[] { myA, myB }.Order(), Ids(await mate.GetJsonAsync($"/api/v1/deals?pipelineId={p.Id}")).Order());
        Assert.Equal(new[] { myA, myB, theirA }.Order(), Ids(await boss.GetJsonAsync($"/api/v1/deals?pipelineId={p.Id}")).Order());
        // Asking for someone else's deals by owner finds nothing rather than leaking them.
        Assert.Empty(Ids(await me.GetJsonAsync($"/api/v1/deals?owner={theirs.Id}")));

        var board = await me.GetJsonAsync($"/api/v1/board?pipelineId={p.Id}");
        var columns = board.GetProperty("columns").EnumerateArray().ToDictionary(c => c.GetProperty("stage").Str("name"));
        Assert.Equal((1, 1_000m), (columns["A"].GetProperty("count").GetInt32(), columns["A"].Dec("total")));
        Assert.Equal([myA], columns["A"].GetProperty("deals").EnumerateArray().Select(d => d.Id()));
        Assert.Equal((1, 2_000m), (columns["B"].GetProperty("count").GetInt32(), columns["B"].Dec("total")));

        // Someone else's deal does not exist for me, whatever I try.
        await me.GetJsonAsync($"/api/v1/deals/{theirA}", HttpStatusCode.NotFound);
        await me.GetJsonAsync($"/api/v1/deals/{theirA}/history", HttpStatusCode.NotFound);
        using (var move = await me.MoveAsync(theirA, p["B"])) await move.ExpectAsync(HttpStatusCode.NotFound);
        using (var quote = await me.PostAsync($"/api/v1/deals/{theirA}/quote", null)) await quote.ExpectAsync(HttpStatusCode.NotFound);
        var (their, etag) = await them.GetDealAsync(theirA);
        using (var put = await me.SendRawAsync(HttpMethod.Put, $"/api/v1/deals/{theirA}",
                   JsonSerializer.Serialize(new { name = "Mine now", customerId = theirCustomer, amount = 1m, currency = "UAH" }, Api.Json), etag))
            await put.ExpectAsync(HttpStatusCode.NotFound);
        Assert.Equal(their.Str("name"), (await them.GetDealAsync(theirA)).Deal.Str("name"));
        Assert.Equal("A", (await them.GetDealAsync(theirA)).Deal.Str("stageName"));

        // Nor can I put deals on their customers or in their name.
        using (var create = await me.SendRawAsync(HttpMethod.Post, "/api/v1/deals", JsonSerializer.Serialize(Body(theirCustomer, 1, "A"), Api.Json)))
            Assert.Contains("customerId", (await create.ExpectValidationProblemAsync()).Keys);
        var inTheirName = Body(myCustomer, 1, "A");
        inTheirName["ownerId"] = theirs.Id;
        using (var create = await me.SendRawAsync(HttpMethod.Post, "/api/v1/deals", JsonSerializer.Serialize(inTheirName, Api.Json)))
            Assert.Contains("ownerId", (await create.ExpectValidationProblemAsync()).Keys);

        // My forecast counts my deals only: 20 % of 1,000 + 60 % of 2,000.
        var period = new DateOnly(close.Year, close.Month, 1);
        var query = $"/api/v1/forecast?period=month&groupBy=pipeline&from={OrderApi.Day(period)}&to={OrderApi.Day(period.AddMonths(1))}";
        var row = Assert.Single((await me.GetJsonAsync(query)).GetProperty("rows").EnumerateArray(), r => r.Str("group") == p.Id.ToString());
        Assert.Equal((2, 3_000m, 1_400m), (row.GetProperty("openDeals").GetInt32(), row.Dec("pipeline"), row.Dec("weighted")));
        var all = Assert.Single((await boss.GetJsonAsync(query)).GetProperty("rows").EnumerateArray(), r => r.Str("group") == p.Id.ToString());
        Assert.Equal((3, 8_000m, 2_400m), (all.GetProperty("openDeals").GetInt32(), all.Dec("pipeline"), all.Dec("weighted")));
        Assert.DoesNotContain((await me.GetJsonAsync(query.Replace("groupBy=pipeline", "groupBy=owner", StringComparison.Ordinal))).GetProperty("rows").EnumerateArray(),
            r => r.Str("group") == theirs.Id.ToString());
    }

    [Fact]
    public async Task Support_and_marketing_users_do_not_work_on_deals()
    {
        using var admin = Fx.Admin();
        var p = await admin.CreatePipelineAsync();
        var customer = (await CreateAsync(Person())).Id();
        var deal = (await admin.CreateDealAsync(SalesApi.Deal(customer, p.Id, 100))).Id();
        foreach (var role in new[] { "Support", "Marketing" })
        {
            using var client = (await Fx.CreateUserAsync(role)).Client();
            using (var create = await client.SendRawAsync(HttpMethod.Post, "/api/v1/deals", JsonSerializer.Serialize(SalesApi.Deal(customer, p.Id, 100), Api.Json)))
                await create.ExpectAsync(HttpStatusCode.Forbidden);
            using (var move = await client.MoveAsync(deal, p["B"])) await move.ExpectAsync(HttpStatusCode.Forbidden);
            await client.GetJsonAsync("/api/v1/forecast", HttpStatusCode.Forbidden);
            // Nor read them: the deal screens are for sales staff, managers and admins.
            foreach (var url in new[] { "/api/v1/deals", $"/api/v1/deals/{deal}", $"/api/v1/deals/{deal}/history", "/api/v1/board" })
                await client.GetJsonAsync(url, HttpStatusCode.Forbidden);
            using (var pipeline = await client.SendRawAsync(HttpMethod.Post, "/api/v1/pipelines",
                       JsonSerializer.Serialize(new { name = "Mine", stages = SalesApi.AbcStages.Select(s => SalesApi.StageBody(s.Name, s.Probability, s.Kind)) }, Api.Json)))
                await pipeline.ExpectAsync(HttpStatusCode.Forbidden);
        }
    }
}

[Collection("sqlite")]
public sealed class SqliteDealVisibilityApiTests(SqliteFixture fx) : DealVisibilityApiTests(fx);

[Collection("postgres")]
public sealed class PostgresDealVisibilityApiTests(PostgresFixture fx) : DealVisibilityApiTests(fx);
