using Kolo.Core.Analytics;
using Kolo.Web.Platform;
using Kolo.Web.Resources;
using Microsoft.Extensions.Localization;
using Microsoft.Extensions.Options;

namespace Kolo.Web.Analytics;

public static class AnalyticsEndpoints
{
    private static List<OfferView> Localized(IStringLocalizer<SharedResource> l, IEnumerable<OfferView> offers) =>
        offers.Select(o => o with { Reason = AnalyticsUi.ReasonText(l, o) }).ToList();

    public static void MapAnalyticsEndpoints(this IEndpointRouteBuilder app)
    {
        var customers = app.MapGroup("/api/v1/customers").WithTags("Analytics").RequireAuthorization();
        // The offers' reasons in the caller's language (the UI's cookie or Accept-Language), English by default.
        customers.MapGet("/{id:guid}/scores", async (Guid id, HttpContext http, AnalyticsService analytics, IStringLocalizer<SharedResource> l) =>
            {
                var scores = await analytics.ScoresAsync(http.User.ToActor(), id, http.RequestAborted);
                return Results.Ok(scores with { Offers = Localized(l, scores.Offers) });
            })
            .WithSummary("The customer's latest scores: RFM and segment, P(alive), expected purchases, CLV, profitability, offers.");
        customers.MapGet("/{id:guid}/recommendations", async (Guid id, HttpContext http, AnalyticsService analytics, IStringLocalizer<SharedResource> l) =>
                Results.Ok(Localized(l, await analytics.RecommendationsAsync(http.User.ToActor(), id, http.RequestAborted))))
            .WithSummary("Next best offers for the customer, each with its reason (an association rule or an up-sell).");

        var group = app.MapGroup("/api/v1/analytics").WithTags("Analytics").RequireAuthorization();
        group.MapGet("/settings", async (HttpContext http, AnalyticsService analytics) =>
            {
                var settings = await analytics.GetSettingsAsync(http.User.ToActor(), http.RequestAborted);
                ETags.Set(http.Response, settings.Version);
                return Results.Ok(settings);
            });
        group.MapPut("/settings", async (AnalyticsSettingsInput input, HttpContext http, AnalyticsService analytics) =>
            {
                RequestValidation.Validate(input);
                var settings = await analytics.UpdateSettingsAsync(http.User.ToActor(), input, ETags.OptionalIfMatch(http.Request), http.RequestAborted);
                ETags.Set(http.Response, settings.Version);
                return Results.Ok(settings);
            })
            .WithSummary("Currency analysed, CLV horizon and discount rate, prediction period, win-back threshold, cost per interaction type, rule thresholds, schedule.");

        group.MapPost("/clv/fit", async (ClvFitInput input, HttpContext http, AnalyticsService analytics, AnalyticsSignal signal) =>
            {
                RequestValidation.Validate(input);
                var job = await analytics.QueueFitAsync(http.User.ToActor(), input, http.RequestAborted);
                signal.Notify();
                return Results.Accepted($"/api/v1/analytics/jobs/{job.Id}", job);
            })
            .WithSummary("Fit BG/NBD and Gamma-Gamma as of calibrationEnd (timeUnit Day or Week); with holdoutEnd, compare predicted and actual repeat purchases. Returns a job.");
        group.MapPost("/recompute", async (RecomputeInput? input, HttpContext http, AnalyticsService analytics, AnalyticsSignal signal) =>
            {
                var job = await analytics.QueueRecomputeAsync(http.User.ToActor(), input ?? new RecomputeInput(), http.RequestAborted);
                signal.Notify();
                return Results.Accepted($"/api/v1/analytics/jobs/{job.Id}", job);
            })
            .WithSummary("Recompute every customer's scores (as of asOf, default today) with the latest fit. Returns a job.");
        group.MapGet("/jobs", async (string? kind, int? limit, HttpContext http, AnalyticsService analytics) =>
            {
                var errors = new Kolo.Core.Platform.ValidationErrors();
                var parsed = QueryValues.Enum<AnalyticsJobKind>(kind, "kind", errors);
                errors.ThrowIfAny();
                return Results.Ok(await analytics.RecentJobsAsync(http.User.ToActor(), parsed, limit ?? 20, http.RequestAborted));
            });
        group.MapGet("/jobs/{id:guid}", async (Guid id, HttpContext http, AnalyticsService analytics) =>
            Results.Ok(await analytics.GetJobAsync(http.User.ToActor(), id, http.RequestAborted)));

        group.MapGet("/association-rules", async (double? minSupport, double? minConfidence, int? limit, HttpContext http, AnalyticsService analytics) =>
                Results.Ok(await analytics.RulesAsync(http.User.ToActor(), minSupport, minConfidence, limit ?? 100, http.RequestAborted)))
            .WithSummary("Association rules mined from order baskets (Apriori; one product on the right), strongest lift first.");
        group.MapGet("/rfm", async (HttpContext http, AnalyticsService analytics) =>
                Results.Ok(await analytics.RfmGridAsync(http.User.ToActor(), http.RequestAborted)))
            .WithSummary("The R×F grid (customers and revenue per recency and frequency score) and the segments' totals.");
        group.MapGet("/distribution", async (int? bins, HttpContext http, AnalyticsService analytics) =>
                Results.Ok(await analytics.DistributionAsync(http.User.ToActor(), bins ?? 20, http.RequestAborted)))
            .WithSummary("CLV histogram and mean P(alive) by number of repeat purchases.");
        group.MapGet("/assortment", async (string? by, HttpContext http, AnalyticsService analytics) =>
                Results.Ok(await analytics.AssortmentAsync(http.User.ToActor(), by ?? "segment", http.RequestAborted)))
            .WithSummary("Share of revenue by product category for each segment (by=segment) or income band (by=income).");
        group.MapGet("/top-customers", async (string? by, int? limit, string? cursor, HttpContext http, AnalyticsService analytics) =>
                Results.Ok(await analytics.TopAsync(http.User.ToActor(), by ?? "clv", limit ?? 50, cursor, http.RequestAborted)))
            .WithSummary("The most valuable customers by predicted CLV (by=clv) or margin to date (by=margin).");
        group.MapGet("/win-back", async (double? threshold, int? limit, string? cursor, HttpContext http, AnalyticsService analytics) =>
                Results.Ok(await analytics.WinBackAsync(http.User.ToActor(), threshold, limit ?? 50, cursor, http.RequestAborted)))
            .WithSummary("Customers slipping away (P(alive) below the threshold, or at risk / can't lose / hibernating), most value at stake first.");
        group.MapPost("/win-back/tasks", async (WinBackTasksInput? input, HttpContext http, AnalyticsService analytics) =>
                Results.Ok(await analytics.CreateWinBackTasksAsync(http.User.ToActor(), input?.Threshold, input?.Max ?? 500, http.RequestAborted)))
            .WithSummary("Create a win-back task for the owner of each slipping customer (most value first, up to max; none twice).");
    }
}

public sealed record WinBackTasksInput(double? Threshold, int? Max);

/// <summary>Wakes the analytics worker at once when this node queued a job.</summary>
public sealed class AnalyticsSignal
{
    private readonly SemaphoreSlim _signal = new(0, 1);

    public void Notify()
    {
        if (_signal.CurrentCount == 0) try { _signal.Release(); } catch (SemaphoreFullException) { /* already signalled */ }
    }

    public Task WaitAsync(TimeSpan timeout, CancellationToken ct) => _signal.WaitAsync(timeout, ct);
}

/// <summary>
/// Runs analytics jobs one at a time per node, and queues the scheduled recompute when it is due
/// (<c>Kolo:Analytics:PollSeconds</c>, default 10).
/// </summary>
public sealed class AnalyticsWorker(AnalyticsJobRunner runner, AnalyticsSignal signal, IOptions<KoloOptions> options, ILogger<AnalyticsWorker> log) : BackgroundService
{
    private static readonly TimeSpan StaleAfter = TimeSpan.FromMinutes(2);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var poll = TimeSpan.FromSeconds(Math.Max(1, options.Value.AnalyticsPollSeconds));
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await runner.ScheduleIfDueAsync(stoppingToken);
                while (await runner.ClaimNextAsync(StaleAfter, stoppingToken) is { } job) await RunAsync(job, stoppingToken);
                await signal.WaitAsync(poll, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { return; }
            catch (Exception e)
            {
                log.LogError(e, "Looking for analytics jobs failed");
                try { await Task.Delay(poll, stoppingToken); } catch (OperationCanceledException) { return; }
            }
        }
    }

    private Task RunAsync(AnalyticsJob job, CancellationToken stoppingToken) => Kolo.Web.Platform.ClaimedJob.RunAsync(
        "Analytics", job.Id, TimeSpan.FromSeconds(20), ct => runner.HeartbeatAsync(job.Id, ct), ct => runner.RunAsync(job, ct),
        e => runner.FinishAsync(job.Id, AnalyticsJobStatus.Failed, null, "The job stopped on an unexpected error: " + e.Message, CancellationToken.None),
        log, stoppingToken);
}
