using System.Net;
using System.Text.Json;
using Kolo.Web.Tests.Infrastructure;

namespace Kolo.Web.Tests;

/// <summary>/api/v1/pipelines: admins configure stages; updates keep stage ids, and a stage with open deals cannot go.</summary>
public abstract class SalesPipelineApiTests(KoloAppFixture fx) : ApiTestBase(fx)
{
    private static Task<HttpResponseMessage> PutAsync(HttpClient client, Guid id, object body, string? ifMatch) =>
        client.SendRawAsync(HttpMethod.Put, $"/api/v1/pipelines/{id}", JsonSerializer.Serialize(body, Api.Json), ifMatch);

    private static async Task<(JsonElement Pipeline, string ETag)> GetAsync(HttpClient client, Guid id)
    {
        using var response = await client.GetAsync($"/api/v1/pipelines/{id}");
        var body = await response.ExpectAsync(HttpStatusCode.OK);
        return (body, response.ETag());
    }

    private static List<(Guid Id, string Name, int Position, int Probability, string Kind)> StagesOf(JsonElement pipeline) =>
        pipeline.GetProperty("stages").EnumerateArray()
            .Select(s => (s.Id(), s.Str("name"), s.GetProperty("position").GetInt32(), s.GetProperty("probability").GetInt32(), s.Str("kind"))).ToList();

    [Fact]
    public async Task Stages_come_in_order_open_then_won_then_lost_with_fixed_won_and_lost_probabilities()
    {
        using var admin = Fx.Admin();
        var created = await admin.PostJsonAsync("/api/v1/pipelines", new
        {
            name = "Export " + Unique.Word(6),
            stages = new[]
            {
                SalesApi.StageBody("Lost", 40, "Lost"), SalesApi.StageBody("Lead in", 10, "Open"), SalesApi.StageBody("Won", 30, "Won"),
                SalesApi.StageBody("Offer", 55, "Open"),
            },
        }, HttpStatusCode.Created);
        Assert.Equal([("Lead in", 0, 10, "Open"), ("Offer", 1, 55, "Open"), ("Won", 2, 100, "Won"), ("Lost", 3, 0, "Lost")],
            StagesOf(created).Select(s => (s.Name, s.Position, s.Probability, s.Kind)));
        var (read, _) = await GetAsync(admin, created.Id());
        Assert.Equal(StagesOf(created), StagesOf(read));
        Assert.Contains(created.Id(), (await admin.GetJsonAsync("/api/v1/pipelines")).EnumerateArray().Select(p => p.Id()));
        Assert.False(read.GetProperty("isDefault").GetBoolean());
    }

    [Fact]
    public async Task An_update_keeps_stage_ids_and_refuses_to_remove_a_stage_with_open_deals()
    {
        using var admin = Fx.Admin();
        var p = await admin.CreatePipelineAsync();
        var customer = (await CreateAsync(Person())).Id();
        var inB = (await admin.CreateDealAsync(SalesApi.Deal(customer, p.Id, 1_000, p["B"]))).Id();
        var (_, etag) = await GetAsync(admin, p.Id);
        var name = p.Body.Str("name");

        // Rename B, swap A and C, add D, drop nothing.
        using (var put = await PutAsync(admin, p.Id, new
               {
                   name,
                   stages = new[]
                   {
                       SalesApi.StageBody("C", 80, "Open", p["C"]), SalesApi.StageBody("Bee", 65, "Open", p["B"]), SalesApi.StageBody("A", 20, "Open", p["A"]),
                       SalesApi.StageBody("D", 90, "Open"), SalesApi.StageBody("Won", 100, "Won", p["Won"]), SalesApi.StageBody("Lost", 0, "Lost", p["Lost"]),
                   },
               }, etag))
        {
            var updated = await put.ExpectAsync(HttpStatusCode.OK);
            var stages = StagesOf(updated);
            Assert.Equal(["C", "Bee", "A", "D", "Won", "Lost"], stages.Select(s => s.Name));
            Assert.Equal([0, 1, 2, 3, 4, 5], stages.Select(s => s.Position));
            Assert.Equal([p["C"], p["B"], p["A"]], stages.Take(3).Select(s => s.Id));
            Assert.DoesNotContain(stages[3].Id, p.Stages.Values);
            etag = put.ETag();
        }
        var deal = (await admin.GetDealAsync(inB)).Deal;
        Assert.Equal((p["B"], "Bee", 65), (deal.GetProperty("stageId").GetGuid(), deal.Str("stageName"), deal.GetProperty("probability").GetInt32()));

        // Leaving out Bee, which holds an open deal: refused, and nothing changes.
        object Without(string left) => new
        {
            name = name + " renamed",
            stages = new[] { ("C", 80), ("Bee", 65), ("A", 20) }.Where(s => s.Item1 != left).Select(s => SalesApi.StageBody(s.Item1, s.Item2, "Open", p[s.Item1 == "Bee" ? "B" : s.Item1]))
                .Concat([SalesApi.StageBody("Won", 100, "Won", p["Won"]), SalesApi.StageBody("Lost", 0, "Lost", p["Lost"])]).ToList(),
        };
        using (var put = await PutAsync(admin, p.Id, Without("Bee"), etag))
            Assert.Contains("stages", (await put.ExpectValidationProblemAsync()).Keys);
        var (unchanged, sameETag) = await GetAsync(admin, p.Id);
        Assert.Equal(etag, sameETag);
        Assert.Equal(name, unchanged.Str("name"));
        Assert.Equal(6, StagesOf(unchanged).Count);

        // Without its deal, Bee may go (D too); it is archived, not deleted, and the rest keep their ids.
        await admin.MovedAsync(inB, p["Lost"], "Timing");
        using (var put = await PutAsync(admin, p.Id, Without("Bee"), etag))
        {
            var updated = await put.ExpectAsync(HttpStatusCode.OK);
            Assert.Equal([(p["C"], "C"), (p["A"], "A"), (p["Won"], "Won"), (p["Lost"], "Lost")], StagesOf(updated).Select(s => (s.Id, s.Name)));
        }
        // The closed deal's history still names the stage it went through.
        Assert.Equal(["Bee", "Lost"], (await admin.GetJsonAsync($"/api/v1/deals/{inB}/history")).EnumerateArray().Select(h => h.Str("stageName")));
        // A removed stage takes no new deals.
        using (var create = await admin.SendRawAsync(HttpMethod.Post, "/api/v1/deals", JsonSerializer.Serialize(SalesApi.Deal(customer, p.Id, 1, p["B"]), Api.Json)))
            Assert.Contains("stageId", (await create.ExpectValidationProblemAsync()).Keys);
    }

    [Fact]
    public async Task Only_admins_configure_pipelines_and_stale_or_missing_If_Match_is_refused()
    {
        using var admin = Fx.Admin();
        var p = await admin.CreatePipelineAsync();
        var (_, etag) = await GetAsync(admin, p.Id);
        var body = new { name = "Renamed " + Unique.Word(4), stages = SalesApi.AbcStages.Select(s => SalesApi.StageBody(s.Name, s.Probability, s.Kind, p[s.Name])).ToList() };

        using (var manager = (await Fx.CreateUserAsync("Manager")).Client())
        {
            using var put = await PutAsync(manager, p.Id, body, etag);
            await put.ExpectAsync(HttpStatusCode.Forbidden);
            using var post = await manager.SendRawAsync(HttpMethod.Post, "/api/v1/pipelines", JsonSerializer.Serialize(body, Api.Json));
            await post.ExpectAsync(HttpStatusCode.Forbidden);
        }
        using (var put = await PutAsync(admin, p.Id, body, null)) await put.ExpectAsync((HttpStatusCode)428);
        using (var put = await PutAsync(admin, p.Id, body, etag)) await put.ExpectAsync(HttpStatusCode.OK);
        using (var put = await PutAsync(admin, p.Id, body, etag)) await put.ExpectAsync(HttpStatusCode.PreconditionFailed);
        await admin.GetJsonAsync($"/api/v1/pipelines/{Guid.NewGuid()}", HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Invalid_pipelines_are_400s_naming_the_field()
    {
        using var admin = Fx.Admin();
        var p = await admin.CreatePipelineAsync();
        var other = await admin.CreatePipelineAsync();
        object[] Stages(params (string Name, int P, string Kind)[] stages) => stages.Select(s => SalesApi.StageBody(s.Name, s.P, s.Kind)).ToArray();

        foreach (var (body, field) in new (object, string)[]
                 {
                     (new { name = "No won", stages = Stages(("A", 10, "Open"), ("B", 20, "Open"), ("Lost", 0, "Lost")) }, "stages"),
                     (new { name = "No lost", stages = Stages(("A", 10, "Open"), ("Won", 100, "Won"), ("Won 2", 100, "Won")) }, "stages"),
                     (new { name = "No open", stages = Stages(("Won", 100, "Won"), ("Lost", 0, "Lost"), ("Lost 2", 0, "Lost")) }, "stages"),
                     (new { name = "Twice", stages = Stages(("A", 10, "Open"), ("a", 20, "Open"), ("Won", 100, "Won"), ("Lost", 0, "Lost")) }, "stages"),
                     (new { name = "Short", stages = Stages(("Won", 100, "Won"), ("Lost", 0, "Lost")) }, "stages"),
                     (new { name = "Odds", stages = Stages(("A", 120, "Open"), ("Won", 100, "Won"), ("Lost", 0, "Lost")) }, "stages[0].probability"),
                     (new { name = "", stages = Stages(("A", 10, "Open"), ("Won", 100, "Won"), ("Lost", 0, "Lost")) }, "name"),
                     (new { name = "Nameless stage", stages = Stages(("", 10, "Open"), ("Won", 100, "Won"), ("Lost", 0, "Lost")) }, "stages[0].name"),
                 })
        {
            using var response = await admin.SendRawAsync(HttpMethod.Post, "/api/v1/pipelines", JsonSerializer.Serialize(body, Api.Json));
            Assert.Contains(field, (await response.ExpectValidationProblemAsync()).Keys);
        }

        // Another pipeline's stage cannot be adopted.
        var (_, etag) = await GetAsync(admin, p.Id);
        using var put = await PutAsync(admin, p.Id, new
        {
            name = "Adopting",
            stages = new[] { SalesApi.StageBody("A", 10, "Open", other["A"]), SalesApi.StageBody("Won", 100, "Won", p["Won"]), SalesApi.StageBody("Lost", 0, "Lost", p["Lost"]) },
        }, etag);
        Assert.Contains("stages[0].id", (await put.ExpectValidationProblemAsync()).Keys);
    }
}

[Collection("sqlite")]
public sealed class SqliteSalesPipelineApiTests(SqliteFixture fx) : SalesPipelineApiTests(fx);

[Collection("postgres")]
public sealed class PostgresSalesPipelineApiTests(PostgresFixture fx) : SalesPipelineApiTests(fx);
