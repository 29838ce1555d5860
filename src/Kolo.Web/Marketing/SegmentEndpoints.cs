using Kolo.Core.Marketing;
using Kolo.Core.Platform;
using Kolo.Web.Platform;

namespace Kolo.Web.Marketing;

public static class SegmentEndpoints
{
    public static void MapSegmentEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/segments").WithTags("Marketing").RequireAuthorization();
        group.MapGet("", async (string? q, string? sort, bool? includeArchived, int? limit, string? cursor, SegmentService service, HttpContext http) =>
            {
                var errors = new ValidationErrors();
                var parsed = QueryValues.Enum<SegmentSort>(sort, "sort", errors);
                errors.ThrowIfAny();
                return Results.Ok(await service.ListAsync(http.User.ToActor(), new SegmentQuery
                {
                    Q = q, Sort = parsed ?? SegmentSort.Name, IncludeArchived = includeArchived ?? false, Limit = limit ?? 50, Cursor = cursor,
                }, http.RequestAborted));
            })
            .WithSummary("Segments (admins, managers, marketing): q (name contains), sort = name | updated | count, includeArchived, cursor paging.");
        group.MapGet("/{id:guid}", async (Guid id, SegmentService service, HttpContext http) =>
        {
            var s = await service.GetAsync(http.User.ToActor(), id, http.RequestAborted);
            ETags.Set(http.Response, s.Version);
            return Results.Ok(s);
        });
        group.MapPost("", async (SegmentInput input, SegmentService service, HttpContext http) =>
            {
                RequestValidation.Validate(input);
                var s = await service.CreateAsync(http.User.ToActor(), input, http.RequestAborted);
                ETags.Set(http.Response, s.Version);
                return Results.Created($"/api/v1/segments/{s.Id}", s);
            })
            .WithSummary("A rule segment (definition: match All|Any, conditions [{field, operator, values, key?, from?, to?}], includeSegmentIds, " +
                         "excludeSegmentIds) or a static list (kind Static; members added with /members or /members/import).");
        group.MapPut("/{id:guid}", async (Guid id, SegmentInput input, SegmentService service, HttpContext http) =>
        {
            RequestValidation.Validate(input);
            var version = ETags.RequiredIfMatch(http.Request, out var refusal);
            if (refusal is not null) return refusal;
            var s = await service.UpdateAsync(http.User.ToActor(), id, version!.Value, input, http.RequestAborted);
            ETags.Set(http.Response, s.Version);
            return Results.Ok(s);
        });
        group.MapDelete("/{id:guid}", async (Guid id, SegmentService service, HttpContext http) =>
            {
                await service.ArchiveAsync(http.User.ToActor(), id, archive: true, http.RequestAborted);
                return Results.NoContent();
            })
            .WithSummary("Archive a segment (refused while another segment includes or excludes it).");
        group.MapPost("/{id:guid}/restore", async (Guid id, SegmentService service, HttpContext http) =>
            Results.Ok(await service.ArchiveAsync(http.User.ToActor(), id, archive: false, http.RequestAborted)));
        group.MapGet("/{id:guid}/count", async (Guid id, SegmentService service, HttpContext http) =>
                Results.Ok(await service.CountAsync(http.User.ToActor(), id, http.RequestAborted)))
            .WithSummary("Count the members now (stored as the segment's last count).");
        group.MapPost("/count", async (SegmentCountInput input, Guid? segmentId, SegmentService service, HttpContext http) =>
                Results.Ok(await service.CountDefinitionAsync(http.User.ToActor(), input, segmentId, http.RequestAborted)))
            .WithSummary("The live count of an unsaved definition (segmentId: the segment being edited, so a static list's members count and cycles through it are refused).");
        group.MapGet("/options", async (SegmentService service, HttpContext http) => Results.Ok(await service.OptionsAsync(http.User.ToActor(), http.RequestAborted)))
            .WithSummary("The choices of the rule builder: segments, tags, owners, products, categories, campaigns, RFM segments, custom fields.");
        group.MapGet("/fields", () => Results.Ok(SegmentFields.Operators))
            .WithSummary("The fields a condition can test and the operators of each.");
        group.MapGet("/{id:guid}/members", async (Guid id, int? limit, string? cursor, SegmentService service, HttpContext http) =>
                Results.Ok(await service.MembersAsync(http.User.ToActor(), id, limit ?? 50, cursor, http.RequestAborted)))
            .WithSummary("Members in name order (keyset paged) with status, RFM segment and CLV.");
        group.MapPost("/{id:guid}/members", async (Guid id, SegmentMembersInput input, SegmentService service, HttpContext http) =>
            {
                RequestValidation.Validate(input);
                return Results.Ok(await service.AddMembersAsync(http.User.ToActor(), id, input.CustomerIds, http.RequestAborted));
            })
            .WithSummary("Add customers to a static segment by id; unknown ids are reported as rejected.");
        group.MapPost("/{id:guid}/members/remove", async (Guid id, SegmentMembersInput input, SegmentService service, HttpContext http) =>
            {
                RequestValidation.Validate(input);
                return Results.Ok(await service.RemoveMembersAsync(http.User.ToActor(), id, input.CustomerIds, http.RequestAborted));
            })
            .WithSummary("Remove customers from a static segment.");
        group.MapPost("/{id:guid}/members/import", async (Guid id, HttpRequest request, SegmentService service, HttpContext http) =>
            {
                Stream body;
                if (request.HasFormContentType)
                {
                    var form = await request.ReadFormAsync(http.RequestAborted);
                    var file = form.Files.GetFile("file") ?? throw ValidationFailedException.For("file", "Send the CSV as the multipart field 'file'.");
                    body = file.OpenReadStream();
                }
                else body = request.Body;
                await using (body)
                    return Results.Ok(await service.ImportMembersAsync(http.User.ToActor(), id, body, http.RequestAborted));
            })
            .DisableAntiforgery()
            .WithSummary("Add the customers a CSV names (multipart field 'file' or a text/csv body): one column of customer ids, e-mails or " +
                         "external ids, an optional header; rows that match no customer come back as rejected with the reason.");
    }
}
