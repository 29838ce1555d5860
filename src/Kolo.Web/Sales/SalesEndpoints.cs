using System.Globalization;
using Kolo.Core.Platform;
using Kolo.Core.Sales;
using Kolo.Web.Platform;

namespace Kolo.Web.Sales;

public static class SalesEndpoints
{
    public static void MapSalesEndpoints(this IEndpointRouteBuilder app)
    {
        var pipelines = app.MapGroup("/api/v1/pipelines").WithTags("Sales").RequireAuthorization();
        pipelines.MapGet("", async (bool? includeArchived, PipelineService service, HttpContext http) =>
            Results.Ok(await service.ListAsync(includeArchived ?? false, http.RequestAborted)));
        pipelines.MapGet("/{id:guid}", async (Guid id, PipelineService service, HttpContext http) =>
        {
            var p = await service.GetAsync(id, http.RequestAborted);
            ETags.Set(http.Response, p.Version);
            return Results.Ok(p);
        });
        pipelines.MapPost("", async (PipelineInput input, PipelineService service, HttpContext http) =>
            {
                RequestValidation.Validate(input);
                var p = await service.CreateAsync(http.User.ToActor(), input, http.RequestAborted);
                ETags.Set(http.Response, p.Version);
                return Results.Created($"/api/v1/pipelines/{p.Id}", p);
            })
            .WithSummary("Admins: a pipeline with its stages in order (open stages with default probabilities, one Won, one Lost).");
        pipelines.MapPut("/{id:guid}", async (Guid id, PipelineInput input, PipelineService service, HttpContext http) =>
            {
                RequestValidation.Validate(input);
                var version = ETags.RequiredIfMatch(http.Request, out var refusal);
                if (refusal is not null) return refusal;
                var p = await service.UpdateAsync(http.User.ToActor(), id, version!.Value, input, http.RequestAborted);
                ETags.Set(http.Response, p.Version);
                return Results.Ok(p);
            })
            .WithSummary("Admins: rename, reorder, add stages (keep a stage by sending its id); a stage left out is archived if it has no open deals.");

        var deals = app.MapGroup("/api/v1/deals").WithTags("Sales").RequireAuthorization();
        deals.MapGet("", async ([AsParameters] DealListRequest request, DealService service, HttpContext http) =>
                Results.Ok(await service.ListAsync(http.User.ToActor(), request.ToQuery(), http.RequestAborted)))
            .WithSummary("Deals, soonest expected close first: pipeline, stage, owner, team, customer, status, close date range, atRisk, q (name prefix), cursor paging.");
        deals.MapGet("/{id:guid}", async (Guid id, DealService service, HttpContext http) =>
        {
            var d = await service.GetAsync(http.User.ToActor(), id, http.RequestAborted);
            ETags.Set(http.Response, d.Version);
            return Results.Ok(d);
        });
        deals.MapPost("", async (DealInput input, DealService service, HttpContext http) =>
        {
            RequestValidation.Validate(input);
            var d = await service.CreateAsync(http.User.ToActor(), input, http.RequestAborted);
            ETags.Set(http.Response, d.Version);
            return Results.Created($"/api/v1/deals/{d.Id}", d);
        });
        deals.MapPut("/{id:guid}", async (Guid id, DealInput input, DealService service, HttpContext http) =>
        {
            RequestValidation.Validate(input);
            var version = ETags.RequiredIfMatch(http.Request, out var refusal);
            if (refusal is not null) return refusal;
            var d = await service.UpdateAsync(http.User.ToActor(), id, version!.Value, input, http.RequestAborted);
            ETags.Set(http.Response, d.Version);
            return Results.Ok(d);
        });
        deals.MapPost("/{id:guid}/move", async (Guid id, MoveInput input, DealService service, HttpContext http) =>
            {
                RequestValidation.Validate(input);
                var d = await service.MoveAsync(http.User.ToActor(), id, ETags.OptionalIfMatch(http.Request), input, http.RequestAborted);
                ETags.Set(http.Response, d.Version);
                return Results.Ok(d);
            })
            .WithSummary("Move to a stage of the deal's pipeline; Won and Lost need a reason. The stage history records it.");
        deals.MapGet("/{id:guid}/history", async (Guid id, DealService service, HttpContext http) =>
            Results.Ok(await service.HistoryAsync(http.User.ToActor(), id, http.RequestAborted)));
        deals.MapPost("/{id:guid}/quote", async (Guid id, DealService service, HttpContext http) =>
            {
                var quote = await service.QuoteAsync(http.User.ToActor(), id, http.RequestAborted);
                return Results.Created($"/api/v1/orders/{quote.Id}", quote);
            })
            .WithSummary("Make a quote (an order in status Quote) from the deal's product lines.");

        app.MapGet("/api/v1/board", async (Guid? pipelineId, Guid? owner, string? team, string? closeFrom, string? closeTo, string? currency, int? limit, DealService service, HttpContext http) =>
            {
                var errors = new ValidationErrors();
                var query = new DealQuery
                {
                    OwnerId = owner, Team = team, CloseFrom = Dates.Parse(closeFrom, "closeFrom", errors), CloseTo = Dates.Parse(closeTo, "closeTo", errors),
                    Currency = QueryValues.Currency(currency, "currency", errors),
                };
                errors.ThrowIfAny();
                return Results.Ok(await service.BoardAsync(http.User.ToActor(), pipelineId, query, limit ?? 20, http.RequestAborted));
            })
            .WithTags("Sales").RequireAuthorization()
            .WithSummary("The kanban board of a pipeline (the default one) in one currency (the sales currency, or currency=): per stage the count, total and weighted total, and the first deals (more with /deals?stageId=&cursor=); currencies lists the others its open deals are in.");

        var leads = app.MapGroup("/api/v1/leads").WithTags("Sales").RequireAuthorization();
        leads.MapGet("", async (string? status, Guid? owner, string? source, string? q, int? limit, string? cursor, LeadService service, HttpContext http) =>
        {
            var errors = new ValidationErrors();
            var parsed = QueryValues.Enum<LeadStatus>(status, "status", errors);
            errors.ThrowIfAny();
            return Results.Ok(await service.ListAsync(http.User.ToActor(), new LeadQuery { Status = parsed, OwnerId = owner, Source = source, Q = q, Limit = limit ?? 50, Cursor = cursor }, http.RequestAborted));
        });
        leads.MapGet("/{id:guid}", async (Guid id, LeadService service, HttpContext http) =>
        {
            var l = await service.GetAsync(http.User.ToActor(), id, http.RequestAborted);
            ETags.Set(http.Response, l.Version);
            return Results.Ok(l);
        });
        leads.MapPost("", async (LeadInput input, LeadService service, HttpContext http) =>
        {
            RequestValidation.Validate(input);
            var l = await service.CreateAsync(http.User.ToActor(), input, http.RequestAborted);
            ETags.Set(http.Response, l.Version);
            return Results.Created($"/api/v1/leads/{l.Id}", l);
        });
        leads.MapPut("/{id:guid}", async (Guid id, LeadInput input, LeadService service, HttpContext http) =>
        {
            RequestValidation.Validate(input);
            var version = ETags.RequiredIfMatch(http.Request, out var refusal);
            if (refusal is not null) return refusal;
            var l = await service.UpdateAsync(http.User.ToActor(), id, version!.Value, input, http.RequestAborted);
            ETags.Set(http.Response, l.Version);
            return Results.Ok(l);
        });
        leads.MapPost("/{id:guid}/qualify", async (Guid id, QualifyInput input, LeadService service, HttpContext http) =>
            {
                // The deal's customer is the one qualification makes (or customerId), so the deal part names none; DealInput
                // requires one, and the service sets it, so fill the gap for validation only.
                if (input.Deal is { CustomerId: null } deal) deal.CustomerId = input.CustomerId ?? Guid.Empty;
                RequestValidation.Validate(input);
                var result = await service.QualifyAsync(http.User.ToActor(), id, input, http.RequestAborted);
                return Results.Ok(result);
            })
            .WithSummary("Qualify a lead: the customer (created from the lead unless customerId is given) and the deal, in one step.");

        app.MapPost("/api/v1/visit-reports", async (VisitReportInput input, VisitReportService service, HttpContext http) =>
            {
                RequestValidation.Validate(input);
                var report = await service.RecordAsync(http.User.ToActor(), input, http.RequestAborted);
                return Results.Created($"/api/v1/interactions/{report.InteractionId}", report);
            })
            .WithTags("Sales").RequireAuthorization()
            .WithSummary("Log a visit (outcome, notes, optional deal) on the timeline; each next step becomes a task.");

        var sales = app.MapGroup("/api/v1").WithTags("Sales").RequireAuthorization();
        sales.MapGet("/forecast", async (string? period, string? groupBy, string? from, string? to, SalesPlanningService service, HttpContext http) =>
            {
                var errors = new ValidationErrors();
                var p = QueryValues.Enum<PeriodKind>(period, "period", errors) ?? PeriodKind.Month;
                var f = Dates.Parse(from, "from", errors);
                var t = Dates.Parse(to, "to", errors);
                errors.ThrowIfAny();
                return Results.Ok(await service.ForecastAsync(http.User.ToActor(), p, groupBy ?? "owner", f, t, http.RequestAborted));
            })
            .WithSummary("Per period (month|quarter) and group (owner|team|pipeline|none): weighted pipeline, best case, commit, the history-based forecast, won (actuals) and the target.");
        sales.MapGet("/targets", async (string? from, string? to, SalesPlanningService service, HttpContext http) =>
        {
            var errors = new ValidationErrors();
            var f = Dates.Parse(from, "from", errors);
            var t = Dates.Parse(to, "to", errors);
            errors.ThrowIfAny();
            return Results.Ok(await service.TargetsAsync(http.User.ToActor(), f, t, http.RequestAborted));
        });
        sales.MapPost("/targets", async (TargetInput input, SalesPlanningService service, HttpContext http) =>
        {
            RequestValidation.Validate(input);
            var t = await service.SaveTargetAsync(http.User.ToActor(), null, null, input, http.RequestAborted);
            ETags.Set(http.Response, t.Version);
            return Results.Created($"/api/v1/targets/{t.Id}", t);
        });
        sales.MapPut("/targets/{id:guid}", async (Guid id, TargetInput input, SalesPlanningService service, HttpContext http) =>
        {
            RequestValidation.Validate(input);
            var version = ETags.RequiredIfMatch(http.Request, out var refusal);
            if (refusal is not null) return refusal;
            var t = await service.SaveTargetAsync(http.User.ToActor(), id, version!.Value, input, http.RequestAborted);
            ETags.Set(http.Response, t.Version);
            return Results.Ok(t);
        });
        sales.MapGet("/commission-plans", async (SalesPlanningService service, HttpContext http) =>
            Results.Ok(await service.PlansAsync(http.User.ToActor(), http.RequestAborted)));
        sales.MapPost("/commission-plans", async (CommissionPlanInput input, SalesPlanningService service, HttpContext http) =>
        {
            RequestValidation.Validate(input);
            var p = await service.SavePlanAsync(http.User.ToActor(), null, null, input, http.RequestAborted);
            ETags.Set(http.Response, p.Version);
            return Results.Created($"/api/v1/commission-plans/{p.Id}", p);
        });
        sales.MapPut("/commission-plans/{id:guid}", async (Guid id, CommissionPlanInput input, SalesPlanningService service, HttpContext http) =>
        {
            RequestValidation.Validate(input);
            var version = ETags.RequiredIfMatch(http.Request, out var refusal);
            if (refusal is not null) return refusal;
            var p = await service.SavePlanAsync(http.User.ToActor(), id, version!.Value, input, http.RequestAborted);
            ETags.Set(http.Response, p.Version);
            return Results.Ok(p);
        });
        sales.MapGet("/commissions", async (string? period, string? from, string? to, SalesPlanningService service, HttpContext http) =>
            {
                var errors = new ValidationErrors();
                var p = QueryValues.Enum<PeriodKind>(period, "period", errors) ?? PeriodKind.Month;
                var today = DateOnly.FromDateTime(DateTime.UtcNow);
                var f = Dates.Parse(from, "from", errors) ?? new DateOnly(today.Year, 1, 1);
                var t = Dates.Parse(to, "to", errors) ?? Forecasting.NextPeriod(Forecasting.PeriodStart(today, p), p);
                if (t <= f) errors.Add("to", "to must be after from.");
                errors.ThrowIfAny();
                return Results.Ok(await service.CommissionsAsync(http.User.ToActor(), p, f, t, http.RequestAborted));
            })
            .WithSummary("Variable pay per sales rep and period: won amount, target, attainment, the plan and the pay (base rate, tiers above target).");
        sales.MapGet("/sales/dashboard", async (Guid? pipelineId, SalesPlanningService service, HttpContext http) =>
            Results.Ok(await service.DashboardAsync(http.User.ToActor(), pipelineId, http.RequestAborted)));
        sales.MapGet("/sales/settings", async (SalesPlanningService service, HttpContext http) =>
        {
            var s = await service.GetSettingsAsync(http.RequestAborted);
            ETags.Set(http.Response, s.Version);
            return Results.Ok(s);
        });
        sales.MapPut("/sales/settings", async (SalesSettingsInput input, SalesPlanningService service, HttpContext http) =>
        {
            RequestValidation.Validate(input);
            var s = await service.UpdateSettingsAsync(http.User.ToActor(), input, ETags.OptionalIfMatch(http.Request), http.RequestAborted);
            ETags.Set(http.Response, s.Version);
            return Results.Ok(s);
        });
    }
}

public sealed record DealListRequest(Guid? PipelineId, Guid? StageId, Guid? Owner, string? Team, Guid? CustomerId, string? Status,
    string? CloseFrom, string? CloseTo, bool? AtRisk, string? Q, int? Limit, string? Cursor, string? Currency = null)
{
    public DealQuery ToQuery()
    {
        var errors = new ValidationErrors();
        var status = QueryValues.Enum<DealStatus>(Status, "status", errors);
        var from = Dates.Parse(CloseFrom, "closeFrom", errors);
        var to = Dates.Parse(CloseTo, "closeTo", errors);
        var currency = QueryValues.Currency(Currency, "currency", errors);
        errors.ThrowIfAny();
        return new DealQuery
        {
            PipelineId = PipelineId, StageId = StageId, OwnerId = Owner, Team = Team, CustomerId = CustomerId, Status = status, CloseFrom = from, CloseTo = to,
            AtRisk = AtRisk, Q = Q, Limit = Limit ?? 50, Cursor = Cursor, Currency = currency,
        };
    }
}

internal static class Dates
{
    public static DateOnly? Parse(string? text, string field, ValidationErrors errors)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        if (DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d)) return d;
        errors.Add(field, $"{field} is a date like 2026-11-30.");
        return null;
    }
}
