using System.Globalization;
using System.Text.Json;
using Kolo.Core.Customers;
using Kolo.Core.Platform;
using Kolo.Web.Platform;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;

namespace Kolo.Web.Customers;

public static class CustomerEndpoints
{
    public static void MapCustomerEndpoints(this IEndpointRouteBuilder app)
    {
        // Every signed-in role may call these; the service applies the per-role rules (who sees and changes what).
        var group = app.MapGroup("/api/v1/customers").WithTags("Customers").RequireAuthorization();

        group.MapGet("", async ([AsParameters] CustomerListRequest request, HttpContext http, CustomerService customers) =>
                Results.Ok(await customers.ListAsync(http.User.ToActor(), request.ToQuery(), http.RequestAborted)))
            .WithSummary("List customers: search, filters, sorting and keyset paging.");

        group.MapGet("/{id:guid}", async (Guid id, HttpContext http, CustomerService customers) =>
            {
                var customer = await customers.GetAsync(http.User.ToActor(), id, http.RequestAborted);
                ETags.Set(http.Response, customer.Version);
                return Results.Ok(customer);
            })
            .WithSummary("Read one customer; the ETag header is the version to send back in If-Match.");

        group.MapPost("", async (CustomerInput input, bool? allowDuplicate, HttpContext http, CustomerService customers) =>
            {
                RequestValidation.Validate(input);
                var customer = await customers.CreateAsync(http.User.ToActor(), input, allowDuplicate ?? false, http.RequestAborted);
                ETags.Set(http.Response, customer.Version);
                return Results.Created($"/api/v1/customers/{customer.Id}", customer);
            })
            .WithSummary("Create a customer. 409 with the likely duplicates unless allowDuplicate=true.");

        group.MapPatch("/{id:guid}", async (Guid id, HttpContext http, CustomerService customers, IOptions<JsonOptions> json) =>
            {
                var version = ETags.RequiredIfMatch(http.Request, out var refusal);
                if (refusal is not null) return refusal;
                var (input, fields) = await RequestValidation.ReadPatchAsync<CustomerInput>(http.Request, CustomerFields.All, json.Value.SerializerOptions);
                var customer = await customers.UpdateAsync(http.User.ToActor(), id, version!.Value, input, fields, http.RequestAborted);
                ETags.Set(http.Response, customer.Version);
                return Results.Ok(customer);
            })
            .Accepts<CustomerInput>("application/merge-patch+json", "application/json")
            .WithSummary("Change the fields present in the body (JSON merge patch). Requires If-Match.");

        group.MapDelete("/{id:guid}", async (Guid id, HttpContext http, CustomerService customers) =>
            {
                var customer = await customers.ArchiveAsync(http.User.ToActor(), id, ETags.OptionalIfMatch(http.Request), http.RequestAborted);
                ETags.Set(http.Response, customer.Version);
                return Results.Ok(customer);
            })
            .WithSummary("Archive a customer (nothing is deleted; restore brings it back).");

        group.MapPost("/{id:guid}/restore", async (Guid id, HttpContext http, CustomerService customers) =>
            {
                var customer = await customers.RestoreAsync(http.User.ToActor(), id, http.RequestAborted);
                ETags.Set(http.Response, customer.Version);
                return Results.Ok(customer);
            })
            .WithSummary("Bring an archived customer back.");

        group.MapGet("/{id:guid}/links", async (Guid id, HttpContext http, CustomerService customers) =>
                Results.Ok(await customers.ListLinksAsync(http.User.ToActor(), id, http.RequestAborted)))
            .WithSummary("Links to other customers, from this customer's side.");

        group.MapPost("/{id:guid}/links", async (Guid id, LinkInput input, HttpContext http, CustomerService customers) =>
            {
                RequestValidation.Validate(input);
                var link = await customers.AddLinkAsync(http.User.ToActor(), id, input, http.RequestAborted);
                return Results.Created($"/api/v1/customers/{id}/links/{link.Id}", link);
            })
            .WithSummary("Link this customer to another: this customer is <type> of the other (e.g. ParentOf, EmployeeOf).");

        group.MapDelete("/{id:guid}/links/{linkId:guid}", async (Guid id, Guid linkId, HttpContext http, CustomerService customers) =>
            {
                await customers.RemoveLinkAsync(http.User.ToActor(), id, linkId, http.RequestAborted);
                return Results.NoContent();
            })
            .WithSummary("Remove a link (recorded in both customers' history).");

        group.MapGet("/{id:guid}/duplicates", async (Guid id, HttpContext http, CustomerService customers) =>
                Results.Ok(await customers.FindDuplicatesAsync(http.User.ToActor(), id, http.RequestAborted)))
            .WithSummary("Likely duplicates of this customer, each with the reasons.");

        group.MapPost("/{id:guid}/merge", async (Guid id, MergeInput input, HttpContext http, CustomerService customers) =>
            {
                RequestValidation.Validate(input);
                var customer = await customers.MergeAsync(http.User.ToActor(), id, input, http.RequestAborted);
                ETags.Set(http.Response, customer.Version);
                return Results.Ok(customer);
            })
            .WithSummary("Merge sourceId into this customer; takeFromSource lists the fields whose value comes from the source.");

        group.MapGet("/{id:guid}/history", async (Guid id, int? limit, Guid? cursor, HttpContext http, AuditService audit) =>
                Results.Ok(await audit.ListAsync(http.User.ToActor(), CustomerService.EntityType, id, limit ?? 50, cursor, http.RequestAborted)))
            .WithSummary("This customer's change history, newest first.");
    }
}

/// <summary>List query parameters. Enums and dates arrive as text so a bad value gets a 400 naming the parameter.</summary>
public sealed record CustomerListRequest(
    string? Q, string? Status, string? Tag, Guid? Owner, string? City, string? CreatedFrom, string? CreatedTo,
    bool? Archived, string? Sort, int? Limit, string? Cursor,
    string? Segment = null, double? MinProbabilityAlive = null, double? MaxProbabilityAlive = null, long? MinClv = null, long? MaxClv = null)
{
    public CustomerQuery ToQuery()
    {
        var errors = new ValidationErrors();
        var status = QueryValues.Enum<LifecycleStatus>(Status, "status", errors);
        var from = ParseDate(CreatedFrom, "createdFrom", errors);
        var to = ParseDate(CreatedTo, "createdTo", errors);
        var segment = QueryValues.Enum<Kolo.Core.Analytics.Models.RfmSegment>(Segment, "segment", errors);
        if (MinProbabilityAlive is < 0 or > 1) errors.Add("minProbabilityAlive", "minProbabilityAlive is between 0 and 1.");
        if (MaxProbabilityAlive is < 0 or > 1) errors.Add("maxProbabilityAlive", "maxProbabilityAlive is between 0 and 1.");
        errors.ThrowIfAny();
        return new CustomerQuery
        {
            Q = Q, Status = status, Tag = Tag, OwnerId = Owner, City = City, CreatedFrom = from, CreatedTo = to,
            Archived = Archived ?? false, Sort = Sort, Limit = Limit ?? 50, Cursor = Cursor,
            Segment = segment?.ToString(), MinProbabilityAlive = MinProbabilityAlive, MaxProbabilityAlive = MaxProbabilityAlive, MinClv = MinClv, MaxClv = MaxClv,
        };
    }

    private static DateTime? ParseDate(string? text, string field, ValidationErrors errors)
    {
        if (string.IsNullOrEmpty(text)) return null;
        if (DateTime.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var d))
            return DateTime.SpecifyKind(d, DateTimeKind.Utc);
        errors.Add(field, "Use an ISO 8601 date or time, e.g. 2026-01-31 or 2026-01-31T12:00:00Z.");
        return null;
    }
}
