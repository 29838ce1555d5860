using System.Net;
using System.Text.Json;
using Kolo.Core.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Kolo.Web.Tests.Infrastructure;

/// <summary>A pipeline the test made, with its stage ids by name.</summary>
public sealed record TestPipeline(Guid Id, IReadOnlyDictionary<string, Guid> Stages, JsonElement Body)
{
    public Guid this[string stage] => Stages[stage];
}

/// <summary>Calls the sales tests share. Every test makes its own pipeline, so other tests' deals never meet its numbers.</summary>
public static class SalesApi
{
    /// <summary>Open stages A (20 %), B (60 %), C (80 %), then Won and Lost.</summary>
    public static readonly (string Name, int Probability, string Kind)[] AbcStages =
        [("A", 20, "Open"), ("B", 60, "Open"), ("C", 80, "Open"), ("Won", 100, "Won"), ("Lost", 0, "Lost")];

    public static object StageBody(string name, int probability, string kind, Guid? id = null) => new { id, name, probability, kind };

    /// <summary>A pipeline with a unique name, as the admin.</summary>
    public static async Task<TestPipeline> CreatePipelineAsync(this HttpClient admin, params (string Name, int Probability, string Kind)[] stages)
    {
        if (stages.Length == 0) stages = AbcStages;
        var body = await admin.PostJsonAsync("/api/v1/pipelines",
            new { name = "P " + Unique.Word(8), stages = stages.Select(s => StageBody(s.Name, s.Probability, s.Kind)).ToList() }, HttpStatusCode.Created);
        return Of(body);
    }

    public static TestPipeline Of(JsonElement pipeline) =>
        new(pipeline.Id(), pipeline.GetProperty("stages").EnumerateArray().ToDictionary(s => s.Str("name"), s => s.Id()), pipeline);

    public static Dictionary<string, object?> Deal(Guid customerId, Guid pipelineId, decimal? amount, Guid? stageId = null, string? name = null) => new()
    {
        ["name"] = name ?? "Deal " + Unique.Word(8), ["customerId"] = customerId, ["pipelineId"] = pipelineId, ["stageId"] = stageId,
        ["amount"] = amount, ["currency"] = "UAH",
    };

    public static Task<JsonElement> CreateDealAsync(this HttpClient client, object body) =>
        client.PostJsonAsync("/api/v1/deals", body, HttpStatusCode.Created);

    public static async Task<HttpResponseMessage> MoveAsync(this HttpClient client, Guid dealId, Guid stageId, string? reason = null, string? ifMatch = null) =>
        await client.SendRawAsync(HttpMethod.Post, $"/api/v1/deals/{dealId}/move", JsonSerializer.Serialize(new { stageId, reason }, Api.Json), ifMatch);

    /// <summary>Moves a deal and asserts it moved.</summary>
    public static async Task<JsonElement> MovedAsync(this HttpClient client, Guid dealId, Guid stageId, string? reason = null)
    {
        using var response = await client.MoveAsync(dealId, stageId, reason);
        return await response.ExpectAsync(HttpStatusCode.OK);
    }

    public static async Task<(JsonElement Deal, string ETag)> GetDealAsync(this HttpClient client, Guid id)
    {
        using var response = await client.GetAsync($"/api/v1/deals/{id}");
        var body = await response.ExpectAsync(HttpStatusCode.OK);
        return (body, response.ETag());
    }

    private static IDbContextFactory<KoloDb> Db(KoloAppFixture fx) => fx.Factory.Services.GetRequiredService<IDbContextFactory<KoloDb>>();

    /// <summary>
    /// Rewrites a deal's stage history as if its moves had happened at <paramref name="entered"/> (one time per stay, in
    /// the order they were made): the API stamps moves with the current time, and the forecast learns from durations.
    /// A closed deal's last entry is also its close time.
    /// </summary>
    public static async Task BackdateAsync(this KoloAppFixture fx, Guid dealId, params DateTime[] entered)
    {
        await using var db = await Db(fx).CreateDbContextAsync();
        var stays = await db.DealStageChanges.Where(c => c.DealId == dealId).OrderBy(c => c.EnteredAt).ToListAsync();
        Assert.Equal(entered.Length, stays.Count);
        for (var i = 0; i < stays.Count; i++)
        {
            stays[i].EnteredAt = entered[i];
            stays[i].LeftAt = i + 1 < entered.Length ? entered[i + 1] : null;
        }
        var deal = await db.Deals.SingleAsync(d => d.Id == dealId);
        deal.StageEnteredAt = entered[^1];
        if (deal.Status != Kolo.Core.Sales.DealStatus.Open) deal.ClosedAt = entered[^1];
        await db.SaveChangesAsync();
    }

    /// <summary>Sets when a closed deal closed (commissions and actuals count by it).</summary>
    public static async Task SetClosedAtAsync(this KoloAppFixture fx, Guid dealId, DateTime closedAt)
    {
        await using var db = await Db(fx).CreateDbContextAsync();
        Assert.Equal(1, await db.Deals.Where(d => d.Id == dealId && d.ClosedAt != null).ExecuteUpdateAsync(s => s.SetProperty(d => d.ClosedAt, closedAt)));
    }

    /// <summary>Makes a deal look idle since <paramref name="at"/>.</summary>
    public static async Task SetLastActivityAsync(this KoloAppFixture fx, Guid dealId, DateTime at)
    {
        await using var db = await Db(fx).CreateDbContextAsync();
        Assert.Equal(1, await db.Deals.Where(d => d.Id == dealId).ExecuteUpdateAsync(s => s.SetProperty(d => d.LastActivityAt, at)));
    }

    public static DateTime Utc(int year, int month, int day, int hour = 0) => new(year, month, day, hour, 0, 0, DateTimeKind.Utc);

    public static DateOnly Date(this JsonElement e, string property) => DateOnly.Parse(e.Str(property), System.Globalization.CultureInfo.InvariantCulture);
}
