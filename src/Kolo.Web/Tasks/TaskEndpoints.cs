using Kolo.Core.Customers;
using Kolo.Core.Platform;
using Kolo.Core.Tasks;
using Kolo.Web.Platform;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;

namespace Kolo.Web.Tasks;

public static class TaskEndpoints
{
    public static void MapTaskEndpoints(this IEndpointRouteBuilder app)
    {
        // Every signed-in role; TaskService shows each user their own tasks and those of customers they may see.
        var group = app.MapGroup("/api/v1/tasks").WithTags("Tasks").RequireAuthorization();

        group.MapGet("", async (string? assignee, Guid? customer, string? status, DateTime? dueFrom, DateTime? dueTo, string? q, string? sort, int? limit, string? cursor, HttpContext http, TaskService tasks) =>
            {
                var actor = http.User.ToActor();
                var errors = new ValidationErrors();
                Guid? assigneeId = null;
                if (assignee == "me") assigneeId = actor.UserId;
                else if (!string.IsNullOrEmpty(assignee)) { if (Guid.TryParse(assignee, out var a)) assigneeId = a; else errors.Add("assignee", "Use a user id or 'me'."); }
                var parsedStatus = QueryValues.Enum<TaskItemStatus>(status, "status", errors);
                if (sort is not (null or "" or "dueAt" or "-completedAt")) errors.Add("sort", "Sort is dueAt (the default) or -completedAt.");
                errors.ThrowIfAny();
                return Results.Ok(await tasks.ListAsync(actor, new TaskQuery
                {
                    AssigneeId = assigneeId, CustomerId = customer, Status = parsedStatus, RecentlyCompletedFirst = sort == "-completedAt",
                    DueFrom = dueFrom?.ToUniversalTime(), DueTo = dueTo?.ToUniversalTime(), Q = q, Limit = limit ?? 50, Cursor = cursor,
                }, http.RequestAborted));
            })
            .WithSummary("Tasks by due date (no due date last), or sort=-completedAt for the latest completed first: assignee (id or 'me'), customer, status, dueFrom/dueTo, q (words in the title), cursor paging.");

        group.MapGet("/summary", async (string? timeZone, HttpContext http, TaskService tasks, TimeProvider clock) =>
            {
                TimeZoneInfo zone;
                try { zone = string.IsNullOrEmpty(timeZone) ? TimeZoneInfo.Utc : TimeZoneInfo.FindSystemTimeZoneById(timeZone); }
                catch (TimeZoneNotFoundException) { throw ValidationFailedException.For("timeZone", "Use an IANA time zone such as Europe/Kyiv."); }
                var localNow = TimeZoneInfo.ConvertTime(clock.GetUtcNow(), zone);
                var tomorrow = TimeZoneInfo.ConvertTimeToUtc(localNow.Date.AddDays(1), zone);
                return Results.Ok(await tasks.SummaryAsync(http.User.ToActor(), tomorrow, http.RequestAborted));
            })
            .WithSummary("Your open tasks: overdue, due later today, upcoming; and unread notifications (timeZone: IANA id, default UTC).");

        group.MapGet("/{id:guid}", async (Guid id, HttpContext http, TaskService tasks) =>
            {
                var task = await tasks.GetAsync(http.User.ToActor(), id, http.RequestAborted);
                ETags.Set(http.Response, task.Version);
                return Results.Ok(task);
            });

        group.MapPost("", async (TaskInput input, HttpContext http, TaskService tasks) =>
            {
                RequestValidation.Validate(input);
                var task = await tasks.CreateAsync(http.User.ToActor(), input, http.RequestAborted);
                ETags.Set(http.Response, task.Version);
                return Results.Created($"/api/v1/tasks/{task.Id}", task);
            })
            .WithSummary("Create a task (assigned to you unless assigneeId says otherwise).");

        group.MapPatch("/{id:guid}", async (Guid id, HttpContext http, TaskService tasks, IOptions<JsonOptions> json) =>
            {
                var version = ETags.RequiredIfMatch(http.Request, out var refusal);
                if (refusal is not null) return refusal;
                var (input, fields) = await RequestValidation.ReadPatchAsync<TaskInput>(http.Request, TaskFields.All, json.Value.SerializerOptions);
                var task = await tasks.UpdateAsync(http.User.ToActor(), id, version!.Value, input, fields, http.RequestAborted);
                ETags.Set(http.Response, task.Version);
                return Results.Ok(task);
            })
            .Accepts<TaskInput>("application/merge-patch+json", "application/json")
            .WithSummary("Change the fields present in the body. Requires If-Match.");

        group.MapPost("/{id:guid}/complete", async (Guid id, CompleteTaskInput? input, HttpContext http, TaskService tasks) =>
            {
                input ??= new CompleteTaskInput();
                RequestValidation.Validate(input);
                var task = await tasks.CompleteAsync(http.User.ToActor(), id, ETags.OptionalIfMatch(http.Request), input, http.RequestAborted);
                ETags.Set(http.Response, task.Version);
                return Results.Ok(task);
            })
            .WithSummary("Complete a task with an outcome; logInteraction (e.g. Call) records the contact in the same step.");

        group.MapPost("/{id:guid}/reopen", async (Guid id, HttpContext http, TaskService tasks) =>
            {
                var task = await tasks.ReopenAsync(http.User.ToActor(), id, http.RequestAborted);
                ETags.Set(http.Response, task.Version);
                return Results.Ok(task);
            });

        var notifications = app.MapGroup("/api/v1/notifications").WithTags("Tasks").RequireAuthorization();
        notifications.MapGet("", async (bool? unread, int? limit, string? cursor, HttpContext http, NotificationService service) =>
                Results.Ok(await service.ListAsync(http.User.ToActor(), unread ?? false, limit ?? 50, cursor, http.RequestAborted)))
            .WithSummary("Your in-app notifications (reminders, hand-overs), newest first.");
        notifications.MapPost("/{id:guid}/read", async (Guid id, HttpContext http, NotificationService service) =>
            {
                await service.MarkReadAsync(http.User.ToActor(), id, http.RequestAborted);
                return Results.NoContent();
            });
        notifications.MapPost("/read", async (HttpContext http, NotificationService service) =>
            {
                await service.MarkReadAsync(http.User.ToActor(), null, http.RequestAborted);
                return Results.NoContent();
            })
            .WithSummary("Mark all your notifications read.");

        app.MapPost("/api/v1/users/{id:guid}/hand-over", async (Guid id, HandOverInput input, HttpContext http, HandOverService handOver) =>
            {
                RequestValidation.Validate(input);
                return Results.Ok(await handOver.HandOverAsync(http.User.ToActor(), id, input, http.RequestAborted));
            })
            .RequireAuthorization(Policies.AdminOrManager).WithTags("Users")
            .WithSummary("Hand this user's customers (all, or customerIds) with their open tasks to toUserId, in one transaction.");
    }
}

/// <summary>Sends due reminders every few seconds; safe on several nodes (each reminder is claimed once).</summary>
public sealed class ReminderWorker(ReminderService reminders, IOptions<KoloOptions> options, ILogger<ReminderWorker> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(Math.Max(1, options.Value.ReminderIntervalSeconds)));
        do
        {
            try { await reminders.SendDueAsync(stoppingToken); }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                log.LogError(e, "Sending reminders failed; trying again on the next tick");
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}
