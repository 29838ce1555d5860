using System.Text.Json;
using Kolo.Core.Customers;
using Kolo.Core.Data;
using Microsoft.EntityFrameworkCore;
using Kolo.Core.Platform;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;

namespace Kolo.Web.Platform;

/// <summary>Turns domain exceptions into ProblemDetails; anything unexpected becomes a 500 without internals.</summary>
public sealed class KoloExceptionHandler(IProblemDetailsService problems, ILogger<KoloExceptionHandler> log) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext http, Exception exception, CancellationToken ct)
    {
        ProblemDetails problem = exception switch
        {
            ValidationFailedException v => new HttpValidationProblemDetails(v.Errors) { Status = 400, Title = "One or more fields are invalid." },
            BadHttpRequestException { InnerException: JsonException j } => BadJson(j),
            BadHttpRequestException b => new ProblemDetails { Status = b.StatusCode, Title = "The request is not valid.", Detail = b.Message },
            JsonException j => BadJson(j),
            NotFoundException n => new ProblemDetails { Status = 404, Title = "Not found.", Detail = n.Message },
            ForbiddenException f => new ProblemDetails { Status = 403, Title = "Forbidden.", Detail = f.Message },
            PreconditionFailedException p => new ProblemDetails { Status = 412, Title = "Precondition failed.", Detail = p.Message },
            DuplicateCustomerException d => Duplicate(d),
            DbUpdateException u when u.IsUniqueViolation() => new ProblemDetails
            {
                Status = 409, Title = "Conflict.", Detail = "The same record was just created by someone else. Reload and try again.",
            },
            _ => new ProblemDetails { Status = 500, Title = "Something went wrong on our side. The error is logged." },
        };
        if (problem.Status == 500) log.LogError(exception, "Unhandled error on {Path}", http.Request.Path);
        http.Response.StatusCode = problem.Status!.Value;
        return await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = http, ProblemDetails = problem, Exception = exception });
    }

    /// <summary>Malformed JSON names the field it broke at, like any other invalid field.</summary>
    private static HttpValidationProblemDetails BadJson(JsonException j)
    {
        var path = (j.Path ?? "$").TrimStart('$').TrimStart('.');
        var field = path.Length == 0 ? "body" : path;
        return new HttpValidationProblemDetails(new Dictionary<string, string[]> { [field] = ["The value is not valid here (check the type, or the allowed values of a choice)."] })
        {
            Status = 400, Title = "One or more fields are invalid.",
        };
    }

    private static ProblemDetails Duplicate(DuplicateCustomerException d) => new()
    {
        Status = 409,
        Title = "This customer looks like one that already exists.",
        Detail = "Open the existing record, or repeat the request with ?allowDuplicate=true to create it anyway.",
        Extensions =
        {
            ["candidates"] = d.Candidates,
            ["hiddenMatches"] = d.HiddenMatches,
        },
    };
}
