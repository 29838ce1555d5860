using Kolo.Core.Customers;
using Kolo.Core.Platform;
using Kolo.Core.Timeline;
using Kolo.Web.Platform;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;

namespace Kolo.Web.Timeline;

public static class TimelineEndpoints
{
    private static readonly IReadOnlySet<string> InteractionFields = new HashSet<string>
        { "subject", "body", "outcome", "sentiment", "occurredAt", "channel", "direction" };

    public static void MapTimelineEndpoints(this IEndpointRouteBuilder app)
    {
        // Every signed-in role; the services allow only what the caller's customers permit.
        app.MapGet("/api/v1/customers/{id:guid}/timeline", async (Guid id, string? kind, string? channel, int? limit, string? cursor, HttpContext http, TimelineService timeline) =>
            {
                var errors = new ValidationErrors();
                var parsedChannel = QueryValues.Enum<ContactChannel>(channel, "channel", errors);
                errors.ThrowIfAny();
                var kinds = (kind ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                var page = await timeline.GetAsync(http.User.ToActor(), id,
                    new TimelineQuery { Kinds = kinds, Channel = parsedChannel, Limit = limit ?? 50, Cursor = cursor }, http.RequestAborted);
                return Results.Ok(page);
            })
            .RequireAuthorization().WithTags("Timeline")
            .WithSummary("Everything about a customer, newest first: interactions, tasks, record changes (kind=interaction,task,change; channel; cursor paging).");

        var group = app.MapGroup("/api/v1/interactions").WithTags("Timeline").RequireAuthorization();

        group.MapPost("", async (InteractionInput input, HttpContext http, InteractionService interactions) =>
            {
                RequestValidation.Validate(input);
                var result = await interactions.RecordAsync(http.User.ToActor(), input, http.RequestAborted);
                ETags.Set(http.Response, result.Interaction.Version);
                return result.Created
                    ? Results.Created($"/api/v1/interactions/{result.Interaction.Id}", result)
                    : Results.Ok(result);
            })
            .WithSummary("Record a contact. With externalId the same event is stored once (200 on a repeat); without customerId the customer is found by e-mail or phone, or a prospect is created (customerCreated).");

        group.MapGet("/{id:guid}", async (Guid id, HttpContext http, InteractionService interactions) =>
            {
                var interaction = await interactions.GetAsync(http.User.ToActor(), id, http.RequestAborted);
                ETags.Set(http.Response, interaction.Version);
                return Results.Ok(interaction);
            })
            .WithSummary("One interaction with its attachments.");

        group.MapPatch("/{id:guid}", async (Guid id, HttpContext http, InteractionService interactions, IOptions<JsonOptions> json) =>
            {
                var version = ETags.RequiredIfMatch(http.Request, out var refusal);
                if (refusal is not null) return refusal;
                var (input, fields) = await RequestValidation.ReadPatchAsync<InteractionInput>(http.Request, InteractionFields, json.Value.SerializerOptions);
                var interaction = await interactions.UpdateAsync(http.User.ToActor(), id, version!.Value, input, fields, http.RequestAborted);
                ETags.Set(http.Response, interaction.Version);
                return Results.Ok(interaction);
            })
            .Accepts<InteractionInput>("application/merge-patch+json", "application/json")
            .WithSummary("Correct subject, body, outcome, sentiment, time, channel or direction. Requires If-Match.");

        group.MapDelete("/{id:guid}", async (Guid id, HttpContext http, InteractionService interactions) =>
            {
                await interactions.ArchiveAsync(http.User.ToActor(), id, http.RequestAborted);
                return Results.NoContent();
            })
            .WithSummary("Archive an interaction (who recorded it, managers, admins); it leaves the timeline, nothing is deleted.");

        group.MapPost("/{id:guid}/attachments", async (Guid id, IFormFile file, HttpContext http, InteractionService interactions) =>
            {
                await using var stream = file.OpenReadStream();
                var attachment = await interactions.AddAttachmentAsync(http.User.ToActor(), id, file.FileName, file.ContentType, stream, http.RequestAborted);
                return Results.Created($"/api/v1/attachments/{attachment.Id}", attachment);
            })
            .DisableAntiforgery()
            .WithSummary("Attach a document (multipart field 'file', at most 10 MB).");

        group.MapGet("/negative-feedback", async (int? limit, string? cursor, HttpContext http, InteractionService interactions) =>
                Results.Ok(await interactions.NegativeFeedbackAsync(http.User.ToActor(), limit ?? 50, cursor, http.RequestAborted)))
            .RequireAuthorization(Policies.AdminOrManager)
            .WithSummary("Recent negative feedback across customers, newest first (managers and admins).");

        app.MapGet("/api/v1/attachments/{id:guid}", async (Guid id, HttpContext http, InteractionService interactions) =>
            {
                var (info, content) = await interactions.GetAttachmentAsync(http.User.ToActor(), id, http.RequestAborted);
                // Always a download: a stored HTML or SVG file must never render inside Kolo's origin.
                http.Response.Headers.XContentTypeOptions = "nosniff";
                return Results.File(content, "application/octet-stream", info.FileName);
            })
            .RequireAuthorization().WithTags("Timeline")
            .WithSummary("Download an attachment (only users who may see its customer).");
    }
}
