using System.Globalization;
using Kolo.Core.Orders;
using Kolo.Core.Platform;
using Kolo.Web.Platform;

namespace Kolo.Web.Orders;

public static class OrderEndpoints
{
    public static void MapOrderEndpoints(this IEndpointRouteBuilder app)
    {
        // Everyone signed in may read the orders of the customers they see; OrderService keeps Marketing and Support
        // from creating or changing them.
        var group = app.MapGroup("/api/v1/orders").WithTags("Orders").RequireAuthorization();

        group.MapGet("", async ([AsParameters] OrderListRequest request, HttpContext http, OrderService orders) =>
                Results.Ok(await orders.ListAsync(http.User.ToActor(), request.ToQuery(), http.RequestAborted)))
            .WithSummary("Quotes, orders and returns, newest first: customer, status, owner, from/to, q (number prefix), cursor paging.");

        group.MapGet("/{id:guid}", async (Guid id, HttpContext http, OrderService orders) =>
            {
                var order = await orders.GetAsync(http.User.ToActor(), id, http.RequestAborted);
                ETags.Set(http.Response, order.Version);
                return Results.Ok(order);
            });

        group.MapPost("", async (OrderInput input, HttpContext http, OrderService orders) =>
            {
                RequestValidation.Validate(input);
                var order = await orders.CreateAsync(http.User.ToActor(), input, http.RequestAborted);
                ETags.Set(http.Response, order.Version);
                return Results.Created($"/api/v1/orders/{order.Id}", order);
            })
            .WithSummary("Create a quote (quote=true) or a confirmed order. The regular-customer rule may add a discount (with its reason).");

        group.MapPost("/{id:guid}/convert", async (Guid id, HttpContext http, OrderService orders) =>
            {
                var order = await orders.ConvertAsync(http.User.ToActor(), id, ETags.OptionalIfMatch(http.Request), http.RequestAborted);
                ETags.Set(http.Response, order.Version);
                return Results.Ok(order);
            })
            .WithSummary("Turn a quote into a confirmed order.");

        group.MapPost("/{id:guid}/status", async (Guid id, StatusInput input, HttpContext http, OrderService orders) =>
            {
                RequestValidation.Validate(input);
                var order = await orders.SetStatusAsync(http.User.ToActor(), id, ETags.OptionalIfMatch(http.Request), input, http.RequestAborted);
                ETags.Set(http.Response, order.Version);
                return Results.Ok(order);
            })
            .WithSummary("Mark an order Shipped, Delivered or Cancelled.");

        group.MapPost("/{id:guid}/returns", async (Guid id, ReturnInput input, HttpContext http, OrderService orders) =>
            {
                RequestValidation.Validate(input);
                var returned = await orders.ReturnAsync(http.User.ToActor(), id, input, ETags.OptionalIfMatch(http.Request), http.RequestAborted);
                ETags.Set(http.Response, returned.Version);
                return Results.Created($"/api/v1/orders/{returned.Id}", returned);
            })
            .WithSummary("Record a (partial) return: which lines and how many came back. Creates a return record with negative totals.");

        group.MapGet("/schedule", async (string? from, string? to, string? status, Guid? owner, HttpContext http, FulfilmentService fulfilment, TimeProvider clock) =>
            {
                var errors = new ValidationErrors();
                var today = DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime);
                var start = ParseDate(from, "from", errors) ?? today;
                var end = ParseDate(to, "to", errors) ?? start.AddDays(14);
                var parsedStatus = ParseStatus(status, errors);
                errors.ThrowIfAny();
                return Results.Ok(await fulfilment.ScheduleAsync(http.User.ToActor(), start, end, parsedStatus, owner, http.RequestAborted));
            })
            .WithSummary("Delivery schedule by promised day (from, to: yyyy-MM-dd, default the next 14 days; status; owner).");

        group.MapGet("/on-time-rate", async (string? from, string? to, HttpContext http, FulfilmentService fulfilment, TimeProvider clock) =>
            {
                var errors = new ValidationErrors();
                var today = DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime);
                var start = ParseDate(from, "from", errors) ?? today.AddDays(-90);
                var end = ParseDate(to, "to", errors) ?? today.AddDays(1);
                errors.ThrowIfAny();
                return Results.Ok(await fulfilment.OnTimeRateAsync(http.User.ToActor(), start, end, http.RequestAborted));
            })
            .WithSummary("Share of delivered orders that arrived by their promised date (default: promises of the last 90 days).");

        var policy = app.MapGroup("/api/v1/regular-customer-policy").WithTags("Orders").RequireAuthorization();
        policy.MapGet("", async (HttpContext http, OrderService orders) =>
            {
                var p = await orders.GetPolicyAsync(http.RequestAborted);
                ETags.Set(http.Response, p.Version);
                return Results.Ok(p);
            })
            .WithSummary("The regular-customer rule: at least minOrders orders in the last months → a discount or a reminder task.");
        policy.MapPut("", async (RegularCustomerPolicy input, HttpContext http, OrderService orders) =>
            {
                var version = ETags.RequiredIfMatch(http.Request, out var refusal);
                if (refusal is not null) return refusal;
                var p = await orders.SetPolicyAsync(http.User.ToActor(), version!.Value, input, http.RequestAborted);
                ETags.Set(http.Response, p.Version);
                return Results.Ok(p);
            })
            .RequireAuthorization(Policies.Admin)
            .WithSummary("Change the rule (admins; If-Match): active, minOrders, months, discountBasisPoints, action ApplyDiscount|RemindOwner.");
    }

    internal static DateOnly? ParseDate(string? text, string field, ValidationErrors errors)
    {
        if (string.IsNullOrEmpty(text)) return null;
        if (DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d)) return d;
        errors.Add(field, "Use a date like 2026-01-31.");
        return null;
    }

    internal static OrderStatus? ParseStatus(string? text, ValidationErrors errors) => QueryValues.Enum<OrderStatus>(text, "status", errors);
}

public sealed record OrderListRequest(Guid? Customer, string? Status, Guid? Owner, DateTime? From, DateTime? To, string? Q, int? Limit, string? Cursor, string? Sort = null)
{
    public OrderQuery ToQuery()
    {
        var errors = new ValidationErrors();
        var status = OrderEndpoints.ParseStatus(Status, errors);
        errors.ThrowIfAny();
        return new OrderQuery
        {
            CustomerId = Customer, Status = status, OwnerId = Owner, From = From?.ToUniversalTime(), To = To?.ToUniversalTime(),
            Q = Q, Sort = Sort, Limit = Limit ?? 50, Cursor = Cursor,
        };
    }
}

/// <summary>Raises the fulfilment warnings every few minutes (each warning once, on any number of nodes).</summary>
public sealed class FulfilmentWorker(FulfilmentService fulfilment, Microsoft.Extensions.Options.IOptions<KoloOptions> options, ILogger<FulfilmentWorker> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(Math.Max(1, options.Value.FulfilmentCheckSeconds)));
        do
        {
            try { await fulfilment.RaiseWarningsAsync(options.Value.DeliveryWarningDays, stoppingToken); }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                log.LogError(e, "Raising delivery warnings failed; trying again on the next tick");
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}
