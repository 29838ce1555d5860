using Kolo.Core.Marketing;
using Kolo.Core.Platform;
using Kolo.Web.Platform;

namespace Kolo.Web.Marketing;

/// <summary>Campaign results, the message list, responses and the agents' call list.</summary>
public static class ResultsEndpoints
{
    public static void MapCampaignResultsEndpoints(this IEndpointRouteBuilder app)
    {
        var campaigns = app.MapGroup("/api/v1/campaigns").WithTags("Campaigns").RequireAuthorization();
        campaigns.MapGet("/{id:guid}/results", async (Guid id, CampaignResponseService service, HttpContext http) =>
                Results.Ok(await service.ResultsAsync(http.User.ToActor(), id, http.RequestAborted)))
            .WithSummary("Admin, Manager, Marketing: funnel (targeted, suppressed by reason, sent … converted), attributed revenue and margin, control group, " +
                         "incremental revenue and margin, cost and ROI = (incremental margin − cost) / cost — for the campaign and per variant; conversions by day.");
        campaigns.MapGet("/{id:guid}/messages", async (Guid id, string? status, string? reason, Guid? variantId, string? channel, string? q, int? limit, string? cursor,
                CampaignResponseService service, HttpContext http) =>
            {
                var errors = new ValidationErrors();
                var query = new MessageQuery
                {
                    Status = QueryValues.Enum<MessageStatus>(status, "status", errors),
                    // Reasons are written in snake_case (pressure_cap) like the API returns them; the C# names work too.
                    Reason = QueryValues.Enum<SuppressionReason>(reason?.Replace("_", "", StringComparison.Ordinal), "reason", errors),
                    VariantId = variantId,
                    Channel = QueryValues.Enum<CampaignChannel>(channel, "channel", errors),
                    Q = q,
                    Limit = limit ?? 50,
                    Cursor = cursor,
                };
                errors.ThrowIfAny();
                return Results.Ok(await service.MessagesAsync(http.User.ToActor(), id, query, http.RequestAborted));
            })
            .WithSummary("Admin, Manager, Marketing: the campaign's messages by customer; filters status, reason, variantId, channel, q (customer name); cursor paging.");

        var messages = app.MapGroup("/api/v1/campaign-messages").WithTags("Campaigns").RequireAuthorization();
        messages.MapGet("/{id:guid}", async (Guid id, CampaignResponseService service, HttpContext http) =>
            Results.Ok(await service.GetMessageAsync(http.User.ToActor(), id, http.RequestAborted)));
        messages.MapPost("/{id:guid}/responses", async (Guid id, ResponseInput input, CampaignResponseService service, HttpContext http) =>
            {
                RequestValidation.Validate(input);
                var result = await service.RecordAsync(http.User.ToActor(), id, input, http.RequestAborted);
                return Results.Created($"/api/v1/interactions/{result.InteractionId}", result);
            })
            .WithSummary("Record a reply, a call outcome (reached, no_answer, call_back, not_interested, converted) or negative feedback (needs a reason; withdraws " +
                         "the channel's consent). Marketing for any message; an agent for their own call tasks.");

        app.MapGet("/api/v1/call-list", async (CampaignResponseService service, HttpContext http) =>
                Results.Ok(await service.CallListAsync(http.User.ToActor(), http.RequestAborted)))
            .RequireAuthorization().WithTags("Campaigns")
            .WithSummary("The caller's open call tasks of launched (not cancelled) campaigns: customer, phone, personalised script.");
    }
}
