using Kolo.Core.Marketing;
using Kolo.Core.Platform;
using Kolo.Web.Platform;

namespace Kolo.Web.Marketing;

public static class CampaignEndpoints
{
    public static void MapCampaignEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/campaigns").WithTags("Campaigns").RequireAuthorization();
        group.MapGet("", async (string? q, string? status, string? sort, bool? desc, bool? includeArchived, int? limit, string? cursor, CampaignService service, HttpContext http) =>
            {
                var errors = new ValidationErrors();
                var parsedStatus = QueryValues.Enum<CampaignStatus>(status, "status", errors);
                var parsedSort = QueryValues.Enum<CampaignSort>(sort, "sort", errors) ?? CampaignSort.StartsAt;
                errors.ThrowIfAny();
                return Results.Ok(await service.ListAsync(http.User.ToActor(), new CampaignQuery
                {
                    Q = q, Status = parsedStatus, Sort = parsedSort, Descending = desc ?? parsedSort != CampaignSort.Name,
                    IncludeArchived = includeArchived ?? false, Limit = limit ?? 50, Cursor = cursor,
                }, http.RequestAborted));
            })
            .WithSummary("Campaigns: q (part of the name), status, sort (StartsAt|Name|Created) and desc, cursor paging.");
        group.MapGet("/{id:guid}", async (Guid id, CampaignService service, HttpContext http) =>
        {
            var c = await service.GetAsync(http.User.ToActor(), id, http.RequestAborted);
            ETags.Set(http.Response, c.Version);
            return Results.Ok(c);
        });
        group.MapPost("", async (CampaignInput input, CampaignService service, HttpContext http) =>
            {
                RequestValidation.Validate(input);
                var c = await service.CreateAsync(http.User.ToActor(), input, http.RequestAborted);
                ETags.Set(http.Response, c.Version);
                return Results.Created($"/api/v1/campaigns/{c.Id}", c);
            })
            .WithSummary("A draft campaign with its variants (Liquid templates per channel).");
        group.MapPut("/{id:guid}", async (Guid id, CampaignInput input, CampaignService service, HttpContext http) =>
            {
                RequestValidation.Validate(input);
                var version = ETags.RequiredIfMatch(http.Request, out var refusal);
                if (refusal is not null) return refusal;
                var c = await service.UpdateAsync(http.User.ToActor(), id, version!.Value, input, http.RequestAborted);
                ETags.Set(http.Response, c.Version);
                return Results.Ok(c);
            })
            .WithSummary("Replace a draft's fields and variants (keep a variant by sending its id). A campaign waiting for approval goes back to Draft.");
        group.MapDelete("/{id:guid}", async (Guid id, CampaignService service, HttpContext http) =>
        {
            var c = await service.ArchiveAsync(http.User.ToActor(), id, ETags.OptionalIfMatch(http.Request), http.RequestAborted);
            ETags.Set(http.Response, c.Version);
            return Results.Ok(c);
        }).WithSummary("Archive a campaign that is not approved or running.");

        group.MapPost("/{id:guid}/submit", async (Guid id, CampaignService service, HttpContext http) =>
            Transition(http, await service.SubmitAsync(http.User.ToActor(), id, ETags.OptionalIfMatch(http.Request), http.RequestAborted)))
            .WithSummary("Ask for approval (Draft → PendingApproval).");
        group.MapPost("/{id:guid}/approve", async (Guid id, WorkflowNote? input, CampaignService service, HttpContext http) =>
            Transition(http, await service.ApproveAsync(http.User.ToActor(), id, ETags.OptionalIfMatch(http.Request), input?.Note, http.RequestAborted)))
            .WithSummary("Admins and managers: approve (PendingApproval → Approved).");
        group.MapPost("/{id:guid}/reject", async (Guid id, WorkflowNote? input, CampaignService service, HttpContext http) =>
            Transition(http, await service.RejectAsync(http.User.ToActor(), id, ETags.OptionalIfMatch(http.Request), input?.Note, http.RequestAborted)))
            .WithSummary("Admins and managers: send back to Draft with a note (required).");
        group.MapPost("/{id:guid}/cancel", async (Guid id, WorkflowNote? input, CampaignService service, HttpContext http) =>
            Transition(http, await service.CancelAsync(http.User.ToActor(), id, ETags.OptionalIfMatch(http.Request), input?.Note, http.RequestAborted)))
            .WithSummary("Cancel: queued messages become Failed (\"cancelled\") and stop counting against the contact policy; sent ones stay.");
        group.MapPost("/{id:guid}/launch", async (Guid id, LaunchInput? input, CampaignService service, CampaignSignal signal, HttpContext http) =>
            {
                var job = await service.LaunchAsync(http.User.ToActor(), id, ETags.OptionalIfMatch(http.Request), input?.Now ?? false, http.RequestAborted);
                signal.Notify();
                return Results.Accepted($"/api/v1/campaigns/{id}/jobs/{job.Id}", job);
            })
            .WithSummary("Launch an approved campaign: now, or at its start when that is later (now=true launches at once). 202 with the job to poll.");
        group.MapPost("/{id:guid}/preview-audience", async (Guid id, CampaignService service, CampaignSignal signal, HttpContext http) =>
            {
                var job = await service.PreviewAudienceAsync(http.User.ToActor(), id, http.RequestAborted);
                signal.Notify();
                return Results.Accepted($"/api/v1/campaigns/{id}/jobs/{job.Id}", job);
            })
            .WithSummary("Count the audience without writing anything: targeted, reached by channel and variant, suppressed by reason, cost. 202 with the job.");
        group.MapGet("/{id:guid}/jobs/{jobId:guid}", async (Guid id, Guid jobId, CampaignService service, HttpContext http) =>
            Results.Ok(await service.GetJobAsync(http.User.ToActor(), id, jobId, http.RequestAborted)));
        group.MapPost("/{id:guid}/preview", async (Guid id, PreviewInput input, CampaignService service, HttpContext http) =>
            {
                RequestValidation.Validate(input);
                return Results.Ok(await service.PreviewMessageAsync(http.User.ToActor(), id, input, http.RequestAborted));
            })
            .WithSummary("Render the message a customer would get on a channel (or a chosen variant's).");

        var policy = app.MapGroup("/api/v1/contact-policy").WithTags("Campaigns").RequireAuthorization();
        policy.MapGet("", async (ContactPolicyService service, HttpContext http) =>
        {
            var p = await service.GetAsync(http.User.ToActor(), http.RequestAborted);
            ETags.Set(http.Response, p.Version);
            return Results.Ok(p);
        }).WithSummary("How often marketing may contact one customer: per period in total and per channel, and the quiet hours.");
        policy.MapPut("", async (ContactPolicyInput input, ContactPolicyService service, HttpContext http) =>
        {
            var version = ETags.RequiredIfMatch(http.Request, out var refusal);
            if (refusal is not null) return refusal;
            var p = await service.UpdateAsync(http.User.ToActor(), version!.Value, input, http.RequestAborted);
            ETags.Set(http.Response, p.Version);
            return Results.Ok(p);
        });
    }

    private static IResult Transition(HttpContext http, CampaignView view)
    {
        ETags.Set(http.Response, view.Version);
        return Results.Ok(view);
    }
}

/// <summary>Wakes the campaign worker at once when this node queued a job.</summary>
public sealed class CampaignSignal
{
    private readonly SemaphoreSlim _signal = new(0, 1);

    public void Notify()
    {
        if (_signal.CurrentCount == 0) try { _signal.Release(); } catch (SemaphoreFullException) { /* already signalled */ }
    }

    public Task WaitAsync(TimeSpan timeout, CancellationToken ct) => _signal.WaitAsync(timeout, ct);
}

/// <summary>
/// Runs campaign jobs one at a time per node — audience previews, launches, and scheduled launches once due
/// (<c>Kolo:Marketing:JobPollSeconds</c>, default 5).
/// </summary>
public sealed class CampaignWorker(CampaignJobRunner runner, CampaignSignal signal, IConfiguration configuration, ILogger<CampaignWorker> log) : BackgroundService
{
    private static readonly TimeSpan StaleAfter = TimeSpan.FromMinutes(2);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var poll = TimeSpan.FromSeconds(Math.Max(1, configuration.GetValue("Kolo:Marketing:JobPollSeconds", 5)));
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                while (await runner.ClaimNextAsync(StaleAfter, stoppingToken) is { } job) await RunAsync(job, stoppingToken);
                await signal.WaitAsync(poll, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { return; }
            catch (Exception e)
            {
                log.LogError(e, "Looking for campaign jobs failed");
                try { await Task.Delay(poll, stoppingToken); } catch (OperationCanceledException) { return; }
            }
        }
    }

    private Task RunAsync(Kolo.Core.Marketing.CampaignJob job, CancellationToken stoppingToken) => Kolo.Web.Platform.ClaimedJob.RunAsync(
        "Campaign", job.Id, TimeSpan.FromSeconds(20), ct => runner.HeartbeatAsync(job.Id, ct), ct => runner.RunAsync(job, ct),
        e => runner.FinishAsync(job.Id, CampaignJobStatus.Failed, null, "The job stopped on an unexpected error: " + e.Message, CancellationToken.None),
        log, stoppingToken);
}
