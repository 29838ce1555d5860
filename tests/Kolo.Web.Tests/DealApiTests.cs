using System.Net;
using System.Text.Json;
using Kolo.Web.Tests.Infrastructure;

namespace Kolo.Web.Tests;

/// <summary>/api/v1/deals: probabilities, stage moves and their history, won/lost rules, concurrency, quotes, validation, the timeline and merges.</summary>
public abstract class DealApiTests(KoloAppFixture fx) : ApiTestBase(fx)
{
    private static int Probability(JsonElement deal) => deal.GetProperty("probability").GetInt32();

    private static int? Override(JsonElement deal) =>
        deal.GetProperty("probabilityOverride").ValueKind == JsonValueKind.Null ? null : deal.GetProperty("probabilityOverride").GetInt32();

    private static async Task<string> PipelineETagAsync(HttpClient admin, Guid id)
    {
        using var response = await admin.GetAsync($"/api/v1/pipelines/{id}");
        await response.ExpectAsync(HttpStatusCode.OK);
        return response.ETag();
    }

    private static async Task SetDefaultsAsync(HttpClient admin, TestPipeline p, params (string Stage, int Probability)[] changes)
    {
        var changed = changes.ToDictionary(c => c.Stage, c => c.Probability);
        var stages = SalesApi.AbcStages.Select(s => SalesApi.StageBody(s.Name, changed.GetValueOrDefault(s.Name, s.Probability), s.Kind, p[s.Name]));
        using var put = await admin.SendRawAsync(HttpMethod.Put, $"/api/v1/pipelines/{p.Id}",
            JsonSerializer.Serialize(new { name = p.Body.Str("name"), stages }, Api.Json), await PipelineETagAsync(admin, p.Id));
        await put.ExpectAsync(HttpStatusCode.OK);
    }

    /// <summary>The body a PUT needs: the deal as read, with some fields changed.</summary>
    private static Dictionary<string, object?> PutBody(JsonElement deal, Action<Dictionary<string, object?>>? change = null)
    {
        var body = new Dictionary<string, object?>
        {
            ["name"] = deal.Str("name"), ["customerId"] = deal.GetProperty("customerId").GetGuid(), ["amount"] = deal.Dec("amount"),
            ["currency"] = deal.Str("currency"), ["probability"] = Override(deal), ["forecastCategory"] = deal.Str("forecastCategory"),
            ["expectedCloseDate"] = deal.GetProperty("expectedCloseDate").ValueKind == JsonValueKind.Null ? null : deal.Str("expectedCloseDate"),
        };
        change?.Invoke(body);
        return body;
    }

    private static Task<HttpResponseMessage> PutAsync(HttpClient client, Guid id, object body, string? ifMatch) =>
        client.SendRawAsync(HttpMethod.Put, $"/api/v1/deals/{id}", JsonSerializer.Serialize(body, Api.Json), ifMatch);

    [Fact]
    public async Task Probability_is_the_stage_default_unless_overridden_and_follows_a_changed_default()
    {
        using var admin = Fx.Admin();
        var p = await admin.CreatePipelineAsync();
        var customer = (await CreateAsync(Person())).Id();

        var follows = await admin.CreateDealAsync(SalesApi.Deal(customer, p.Id, 1_000));
        Assert.Equal(p["A"], follows.GetProperty("stageId").GetGuid());      // the first open stage when none is given
        Assert.Equal(20, Probability(follows));
        Assert.Null(Override(follows));
        Assert.Equal(200m, follows.Dec("weightedAmount"));
        var overridden = SalesApi.Deal(customer, p.Id, 1_000);
        overridden["probability"] = 70;
        var fixedAt70 = await admin.CreateDealAsync(overridden);
        Assert.Equal((70, 70), (Probability(fixedAt70), Override(fixedAt70)));
        Assert.Equal(700m, fixedAt70.Dec("weightedAmount"));
        overridden["probability"] = 0;                                        // zero is an override too, not "none"
        var fixedAt0 = await admin.CreateDealAsync(overridden);
        Assert.Equal((0, 0), (Probability(fixedAt0), Override(fixedAt0)));

        Assert.Equal(60, Probability(await admin.MovedAsync(follows.Id(), p["B"])));
        Assert.Equal(70, Probability(await admin.MovedAsync(fixedAt70.Id(), p["B"])));

        // New defaults: the deals without an override follow, the others keep theirs.
        await SetDefaultsAsync(admin, p, ("A", 25), ("B", 45));
        Assert.Equal(45, Probability((await admin.GetDealAsync(follows.Id())).Deal));
        Assert.Equal(70, Probability((await admin.GetDealAsync(fixedAt70.Id())).Deal));
        Assert.Equal(0, Probability((await admin.GetDealAsync(fixedAt0.Id())).Deal));
        Assert.Equal(450m, (await admin.GetDealAsync(follows.Id())).Deal.Dec("weightedAmount"));

        // Dropping the override hands the deal back to its stage.
        var (deal, etag) = await admin.GetDealAsync(fixedAt70.Id());
        using (var put = await PutAsync(admin, deal.Id(), PutBody(deal, b => b["probability"] = null), etag))
        {
            var updated = await put.ExpectAsync(HttpStatusCode.OK);
            Assert.Equal((45, (int?)null), (Probability(updated), Override(updated)));
        }

        // Won is 100 % and Lost 0 %, whatever the override.
        Assert.Equal(100, Probability(await admin.MovedAsync(fixedAt0.Id(), p["Won"], "Signed")));
        Assert.Equal(0, Probability(await admin.MovedAsync(follows.Id(), p["Lost"], "No budget")));
        await SetDefaultsAsync(admin, p, ("B", 50));
        Assert.Equal(0, Probability((await admin.GetDealAsync(follows.Id())).Deal));
    }

    [Fact]
    public async Task Moves_record_stage_history_and_won_or_lost_needs_a_reason()
    {
        using var admin = Fx.Admin();
        var p = await admin.CreatePipelineAsync();
        var rep = await Fx.CreateUserAsync("Sales");
        var manager = await Fx.CreateUserAsync("Manager");
        var customer = Person();
        customer["ownerId"] = rep.Id;
        var customerId = (await CreateAsync(customer)).Id();
        using var repClient = rep.Client();
        using var managerClient = manager.Client();

        var created = await repClient.CreateDealAsync(SalesApi.Deal(customerId, p.Id, 5_000));
        var id = created.Id();
        Assert.Equal(("A", "Open", rep.Id), (created.Str("stageName"), created.Str("status"), created.GetProperty("ownerId").GetGuid()));
        await repClient.MovedAsync(id, p["B"]);

        foreach (var (stage, reason) in new[] { ("Won", null), ("Won", "   "), ("Lost", null) })
        {
            using var refused = await managerClient.MoveAsync(id, p[stage], reason);
            Assert.Contains("reason", (await refused.ExpectValidationProblemAsync()).Keys);
        }
        var stillOpen = (await repClient.GetDealAsync(id)).Deal;
        Assert.Equal(("B", "Open"), (stillOpen.Str("stageName"), stillOpen.Str("status")));

        var before = DateTime.UtcNow.AddSeconds(-5);
        var won = await managerClient.MovedAsync(id, p["Won"], "  Budget approved ");
        Assert.Equal(("Won", "Won", "Budget approved"), (won.Str("stageName"), won.Str("status"), won.Str("closeReason")));
        Assert.Equal(100, Probability(won));
        Assert.Equal("Commit", won.Str("forecastCategory"));
        var closedAt = won.GetProperty("closedAt").GetDateTime().ToUniversalTime();
        Assert.InRange(closedAt, before, DateTime.UtcNow.AddSeconds(5));

        // Moving to the stage it is in changes nothing.
        await managerClient.MovedAsync(id, p["Won"], "Again");

        var history = (await repClient.GetJsonAsync($"/api/v1/deals/{id}/history")).EnumerateArray().ToList();
        Assert.Equal(["A", "B", "Won"], history.Select(h => h.Str("stageName")));
        Assert.Equal([p["A"], p["B"], p["Won"]], history.Select(h => h.GetProperty("stageId").GetGuid()));
        Assert.Equal([rep.DisplayName, rep.DisplayName, manager.DisplayName], history.Select(h => h.Str("byName")));
        DateTime Entered(int i) => history[i].GetProperty("enteredAt").GetDateTime().ToUniversalTime();
        // Each stay ends when the next begins; the last is open.
        Assert.Equal(Entered(1), history[0].GetProperty("leftAt").GetDateTime().ToUniversalTime());
        Assert.Equal(Entered(2), history[1].GetProperty("leftAt").GetDateTime().ToUniversalTime());
        Assert.Equal(JsonValueKind.Null, history[2].GetProperty("leftAt").ValueKind);
        Assert.True(Entered(0) < Entered(1) && Entered(1) < Entered(2));
        Assert.Equal(closedAt, Entered(2));
        Assert.Equal(closedAt, won.GetProperty("stageEnteredAt").GetDateTime().ToUniversalTime());

        // Reopened: open again, no close date or reason; then lost.
        var reopened = await managerClient.MovedAsync(id, p["B"]);
        Assert.Equal(("Open", JsonValueKind.Null, JsonValueKind.Null), (reopened.Str("status"), reopened.GetProperty("closedAt").ValueKind, reopened.GetProperty("closeReason").ValueKind));
        Assert.Equal(60, Probability(reopened));
        var lost = await repClient.MovedAsync(id, p["Lost"], "Chose a competitor");
        Assert.Equal(("Lost", "Chose a competitor", 0), (lost.Str("status"), lost.Str("closeReason"), Probability(lost)));
        history = (await repClient.GetJsonAsync($"/api/v1/deals/{id}/history")).EnumerateArray().ToList();
        Assert.Equal(["A", "B", "Won", "B", "Lost"], history.Select(h => h.Str("stageName")));
        Assert.Single(history, h => h.GetProperty("leftAt").ValueKind == JsonValueKind.Null);

        // Only the deal's own pipeline's stages.
        var other = await admin.CreatePipelineAsync();
        using var foreign = await repClient.MoveAsync(id, other["A"]);
        Assert.Contains("stageId", (await foreign.ExpectValidationProblemAsync()).Keys);
    }

    [Fact]
    public async Task Changing_a_deal_needs_its_current_ETag()
    {
        using var admin = Fx.Admin();
        var p = await admin.CreatePipelineAsync();
        var id = (await admin.CreateDealAsync(SalesApi.Deal((await CreateAsync(Person())).Id(), p.Id, 1_000))).Id();
        var (deal, stale) = await admin.GetDealAsync(id);

        using (var put = await PutAsync(admin, id, PutBody(deal, b => b["amount"] = 1_500m), stale))
        {
            var updated = await put.ExpectAsync(HttpStatusCode.OK);
            Assert.Equal(1_500m, updated.Dec("amount"));
            Assert.NotEqual(stale, put.ETag());
        }
        using (var put = await PutAsync(admin, id, PutBody(deal, b => b["amount"] = 9_999m), stale))
            await put.ExpectAsync(HttpStatusCode.PreconditionFailed);
        using (var put = await PutAsync(admin, id, PutBody(deal, b => b["amount"] = 9_999m), null))
            await put.ExpectAsync((HttpStatusCode)428);
        using (var move = await admin.MoveAsync(id, p["B"], null, stale))
            await move.ExpectAsync(HttpStatusCode.PreconditionFailed);
        var (current, etag) = await admin.GetDealAsync(id);
        Assert.Equal((1_500m, "A"), (current.Dec("amount"), current.Str("stageName")));

        // A PUT edits the deal, it does not move it (that would skip the history) or hand it to another customer.
        using (var put = await PutAsync(admin, id, PutBody(current, b => { b["stageId"] = p["B"]; b["customerId"] = Guid.NewGuid(); }), etag))
        {
            var errors = await put.ExpectValidationProblemAsync();
            Assert.Contains("stageId", errors.Keys);
            Assert.Contains("customerId", errors.Keys);
        }
        using (var move = await admin.MoveAsync(id, p["B"], null, etag))
            Assert.Equal("B", (await move.ExpectAsync(HttpStatusCode.OK)).Str("stageName"));
    }

    [Fact]
    public async Task Line_edits_are_saved_closed_deals_are_not_edited_and_two_moves_from_one_version_do_not_both_pass()
    {
        using var admin = Fx.Admin();
        var p = await admin.CreatePipelineAsync();
        var customer = (await CreateAsync(Person())).Id();
        var body = SalesApi.Deal(customer, p.Id, null);
        body["lines"] = new[] { new { sku = "SVC-" + Unique.Word(5), description = "Setup", quantity = 1, unitPrice = 100m, discount = 0m } };
        var id = (await admin.CreateDealAsync(body)).Id();
        var (deal, etag) = await admin.GetDealAsync(id);

        // Only the line's discount changes: saved, audited, a new version.
        var put = PutBody(deal, b =>
        {
            b["amount"] = null;
            b["lines"] = new[] { new { sku = deal.GetProperty("lines")[0].Str("sku"), description = "Setup", quantity = 1, unitPrice = 100m, discount = 10m } };
        });
        using (var response = await PutAsync(admin, id, put, etag))
        {
            Assert.Equal(90m, (await response.ExpectAsync(HttpStatusCode.OK)).Dec("amount"));
            Assert.NotEqual(etag, response.ETag());
        }
        var (saved, savedTag) = await admin.GetDealAsync(id);
        Assert.Equal((10m, 90m), (saved.GetProperty("lines")[0].Dec("discount"), saved.Dec("amount")));

        // Lines may not come to more than a deal's amount may be.
        using (var huge = await PutAsync(admin, id, PutBody(saved, b =>
               {
                   b["amount"] = null;
                   b["lines"] = new[] { new { sku = "BIG", description = "Big", quantity = 1_000_000, unitPrice = 1_000_000_000m, discount = 0m } };
               }), savedTag))
            Assert.Contains("lines[0].quantity", (await huge.ExpectValidationProblemAsync()).Keys);

        // Two moves based on the same version: the first wins, the second is refused rather than undoing it.
        var won = await admin.MoveAsync(id, p["Won"], "Signed", savedTag);
        await won.ExpectAsync(HttpStatusCode.OK);
        using (var stale = await admin.MoveAsync(id, p["B"], null, savedTag))
            await stale.ExpectAsync(HttpStatusCode.PreconditionFailed);
        var (closed, closedTag) = await admin.GetDealAsync(id);
        Assert.Equal("Won", closed.Str("status"));
        Assert.Single((await admin.GetJsonAsync($"/api/v1/deals/{id}/history")).EnumerateArray(), h => h.GetProperty("leftAt").ValueKind == JsonValueKind.Null);

        // A won deal is not edited in place (its amount is in the actuals and commissions).
        using (var edit = await PutAsync(admin, id, PutBody(closed, b => b["amount"] = 500_000m), closedTag))
            Assert.Equal(["status"], (await edit.ExpectValidationProblemAsync()).Keys);
        Assert.Equal(90m, (await admin.GetDealAsync(id)).Deal.Dec("amount"));
    }

    [Fact]
    public async Task A_stage_with_deals_keeps_its_kind_and_a_stage_is_not_listed_twice()
    {
        using var admin = Fx.Admin();
        var p = await admin.CreatePipelineAsync();
        await admin.CreateDealAsync(SalesApi.Deal((await CreateAsync(Person())).Id(), p.Id, 100, p["A"]));
        JsonElement pipeline;
        string etag;
        using (var read = await admin.GetAsync($"/api/v1/pipelines/{p.Id}"))
            (pipeline, etag) = (await read.ExpectAsync(HttpStatusCode.OK), read.ETag());
        object Stages(params (string Name, string Kind, Guid Id)[] stages) => new
        {
            name = pipeline.Str("name"), stages = stages.Select(s => SalesApi.StageBody(s.Name, 50, s.Kind, s.Id)).ToList(),
        };
        using (var kind = await admin.SendRawAsync(HttpMethod.Put, $"/api/v1/pipelines/{p.Id}",
                   JsonSerializer.Serialize(Stages(("A", "Won", p["A"]), ("B", "Open", p["B"]), ("Lost", "Lost", p["Lost"])), Api.Json), etag))
            Assert.Equal(["stages[0].kind"], (await kind.ExpectValidationProblemAsync()).Keys);
        using (var twice = await admin.SendRawAsync(HttpMethod.Put, $"/api/v1/pipelines/{p.Id}",
                   JsonSerializer.Serialize(Stages(("A", "Open", p["A"]), ("A2", "Won", p["A"]), ("Lost", "Lost", p["Lost"])), Api.Json), etag))
            Assert.Contains("stages[1].id", (await twice.ExpectValidationProblemAsync()).Keys);
    }

    [Fact]
    public async Task A_quote_is_made_once_from_the_deal_lines()
    {
        using var admin = Fx.Admin();
        var p = await admin.CreatePipelineAsync();
        var customer = (await CreateAsync(Person())).Id();
        var product = await admin.CreateProductAsync(100m);
        var sku = "SVC-" + Unique.Word(6).ToUpperInvariant();
        var body = SalesApi.Deal(customer, p.Id, null);
        body["lines"] = new object[]
        {
            new { productId = product.Id(), quantity = 2 },                                                  // at the list price
            new { sku, description = "Setup", quantity = 1, unitPrice = 250m, discount = 50m },             // not in the catalogue
        };
        var deal = await admin.CreateDealAsync(body);
        Assert.Equal(400m, deal.Dec("amount"));                                // 2 × 100 + 250 − 50: the lines' total
        Assert.Equal([200m, 200m], deal.GetProperty("lines").EnumerateArray().Select(l => l.Dec("lineTotal")));

        using var response = await admin.PostAsync($"/api/v1/deals/{deal.Id()}/quote", null);
        var quote = await response.ExpectAsync(HttpStatusCode.Created);
        Assert.Equal($"/api/v1/orders/{quote.Id()}", response.Headers.Location?.ToString());
        var (order, _) = await admin.GetOrderAsync(quote.Id());
        Assert.Equal(("Quote", customer, "UAH"), (order.Str("status"), order.GetProperty("customerId").GetGuid(), order.Str("currency")));
        Assert.Equal(400m, order.Dec("total"));
        var lines = order.Lines();
        Assert.Equal([product.Str("sku"), sku], lines.Select(l => l.Str("sku")));
        Assert.Equal(product.Id(), lines[0].GetProperty("productId").GetGuid());
        Assert.Equal((2, 100m, 0m), (lines[0].GetProperty("quantity").GetInt32(), lines[0].Dec("unitPrice"), lines[0].Dec("discount")));
        Assert.Equal(("Setup", 1, 250m, 50m), (lines[1].Str("description"), lines[1].GetProperty("quantity").GetInt32(), lines[1].Dec("unitPrice"), lines[1].Dec("discount")));
        Assert.Equal(quote.Id(), (await admin.GetDealAsync(deal.Id())).Deal.GetProperty("quoteOrderId").GetGuid());

        using (var again = await admin.PostAsync($"/api/v1/deals/{deal.Id()}/quote", null))
            Assert.Contains("quoteOrderId", (await again.ExpectValidationProblemAsync()).Keys);
        var bare = await admin.CreateDealAsync(SalesApi.Deal(customer, p.Id, 1_000));
        using (var none = await admin.PostAsync($"/api/v1/deals/{bare.Id()}/quote", null))
            Assert.Contains("lines", (await none.ExpectValidationProblemAsync()).Keys);
    }

    [Fact]
    public async Task Invalid_deals_and_query_values_are_400s_naming_the_field()
    {
        using var admin = Fx.Admin();
        var p = await admin.CreatePipelineAsync();
        var other = await admin.CreatePipelineAsync();
        var customer = (await CreateAsync(Person())).Id();
        var euroProduct = await admin.CreateProductAsync(10m, currency: "EUR");

        async Task ExpectAsync(Action<Dictionary<string, object?>> change, string field)
        {
            var body = SalesApi.Deal(customer, p.Id, 1_000);
            change(body);
            using var response = await admin.SendRawAsync(HttpMethod.Post, "/api/v1/deals", JsonSerializer.Serialize(body, Api.Json));
            Assert.Contains(field, (await response.ExpectValidationProblemAsync()).Keys);
        }
        await ExpectAsync(b => b["amount"] = null, "amount");                                   // neither an amount nor lines
        await ExpectAsync(b => b["currency"] = "uah", "currency");
        await ExpectAsync(b => b["probability"] = 101, "probability");
        await ExpectAsync(b => b["name"] = "", "name");
        await ExpectAsync(b => b["customerId"] = null, "customerId");
        await ExpectAsync(b => b["customerId"] = Guid.NewGuid(), "customerId");
        await ExpectAsync(b => b["pipelineId"] = Guid.NewGuid(), "pipelineId");
        await ExpectAsync(b => b["stageId"] = other["A"], "stageId");
        await ExpectAsync(b => b["stageId"] = p["Won"], "stageId");                              // a deal starts open
        await ExpectAsync(b => b["ownerId"] = Guid.NewGuid(), "ownerId");
        await ExpectAsync(b => b["lines"] = new object[] { new { productId = euroProduct.Id(), quantity = 1 } }, "lines[0].unitPrice");
        await ExpectAsync(b => b["lines"] = new object[] { new { quantity = 1, unitPrice = 5m } }, "lines[0].productId");
        await ExpectAsync(b => b["lines"] = new object[] { new { sku = "X-1", quantity = 1, unitPrice = 5m, discount = 6m } }, "lines[0].discount");

        foreach (var (url, field) in new[]
                 {
                     ("/api/v1/deals?closeFrom=2026-13-01", "closeFrom"), ("/api/v1/deals?closeTo=soon", "closeTo"),
                     ("/api/v1/deals?status=Pending", "status"), ("/api/v1/deals?limit=0", "limit"), ("/api/v1/deals?cursor=nonsense", "cursor"),
                     ("/api/v1/board?closeFrom=1/2/2026", "closeFrom"), ("/api/v1/board?closeTo=2026-02-30", "closeTo"), ("/api/v1/board?limit=101", "limit"),
                 })
        {
            using var response = await admin.GetAsync(url);
            Assert.Contains(field, (await response.ExpectValidationProblemAsync()).Keys);
        }
    }

    [Fact]
    public async Task Deals_are_on_the_customer_timeline_and_move_with_a_merge()
    {
        using var admin = Fx.Admin();
        var p = await admin.CreatePipelineAsync();
        var target = (await CreateAsync(Person())).Id();
        var source = (await CreateAsync(Person())).Id();
        var first = await admin.CreateDealAsync(SalesApi.Deal(target, p.Id, 1_500, name: "Fleet " + Unique.Word(5)));
        await admin.MovedAsync(first.Id(), p["Won"], "Signed in person");
        var second = await admin.CreateDealAsync(SalesApi.Deal(source, p.Id, 700, p["B"]));

        var entry = Assert.Single(await admin.TimelineAsync(target, "&kind=deal"));
        Assert.Equal(("deal", first.Id(), first.Str("name"), "Won"), (entry.Str("kind"), entry.Id(), entry.Str("title"), entry.Str("status")));
        Assert.Contains("Signed in person", entry.Str("summary"), StringComparison.Ordinal);
        Assert.Equal("Won", entry.GetProperty("details").Str("stage"));
        Assert.Equal(1_500m, entry.GetProperty("details").Dec("amount"));
        Assert.Contains(first.Id(), (await admin.TimelineAsync(target)).Where(e => e.Str("kind") == "deal").Select(e => e.Id()));
        Assert.Equal([second.Id()], (await admin.TimelineAsync(source, "&kind=deal")).Select(e => e.Id()));

        await admin.PostJsonAsync($"/api/v1/customers/{target}/merge", new { sourceId = source }, HttpStatusCode.OK);

        Assert.Equal(target, (await admin.GetDealAsync(second.Id())).Deal.GetProperty("customerId").GetGuid());
        Assert.Equal([second.Id(), first.Id()], (await admin.TimelineAsync(target, "&kind=deal")).Select(e => e.Id()));   // newest first
        Assert.Empty(await admin.TimelineAsync(source, "&kind=deal"));
        Assert.Equal(new[] { first.Id(), second.Id() }.Order(), Ids(await admin.GetJsonAsync($"/api/v1/deals?customerId={target}")).Order());
    }
}

[Collection("sqlite")]
public sealed class SqliteDealApiTests(SqliteFixture fx) : DealApiTests(fx);

[Collection("postgres")]
public sealed class PostgresDealApiTests(PostgresFixture fx) : DealApiTests(fx);
