using Kolo.Core.Sales;
using Kolo.Web.Marketing;
using Kolo.Web.Sales;
using Kolo.Core.Analytics;
using Kolo.Web.Analytics;
using System.Text.Json.Serialization;
using Kolo.Core.Catalog;
using Kolo.Core.Customers;
using Kolo.Core.Orders;
using Kolo.Web.Catalog;
using Kolo.Web.Orders;
using Kolo.Core.Integration;
using Kolo.Web.Integration;
using Kolo.Core.Data;
using Kolo.Core.Platform;
using Kolo.Web.Components;
using Kolo.Core.Tasks;
using Kolo.Core.Timeline;
using Kolo.Web.Customers;
using Kolo.Web.Tasks;
using Kolo.Web.Timeline;
using Kolo.Web.Platform;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Localization;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using MudBlazor.Services;
using Scalar.AspNetCore;

// Settings and static assets come from the build output, so the host starts the same from any working directory.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.WebHost.UseStaticWebAssets();
if (string.IsNullOrEmpty(builder.Configuration["urls"]) && string.IsNullOrEmpty(builder.Configuration["ASPNETCORE_URLS"]) && string.IsNullOrEmpty(builder.Configuration["Kestrel:Endpoints:Http:Url"]))
    builder.WebHost.UseUrls("http://localhost:5080");

var kolo = builder.Configuration.GetSection(KoloOptions.Section).Get<KoloOptions>() ?? new KoloOptions();
builder.Services.Configure<KoloOptions>(builder.Configuration.GetSection(KoloOptions.Section));
var connectionString = kolo.ResolveConnectionString();

// Sign-in cookies stay valid across restarts: the keys live with the data. Several nodes share one DataDir volume.
builder.Services.AddDataProtection().SetApplicationName("Kolo").PersistKeysToFileSystem(new DirectoryInfo(Path.Combine(Path.GetFullPath(kolo.DataDir), "keys")));
builder.Services.AddDbContextFactory<KoloDb>(o => DatabaseSetup.Configure(o, kolo.Database.Provider, connectionString));
builder.Services.AddSingleton<TimeProvider>(new MicrosecondClock());
builder.Services.AddSingleton(new PhoneNormalizer(kolo.PhoneRegion));
builder.Services.AddSingleton<CustomerService>();
builder.Services.AddSingleton<TagService>();
builder.Services.AddSingleton<CustomFieldService>();
builder.Services.AddSingleton<AuditService>();
builder.Services.AddSingleton<ApiTokenService>();
builder.Services.AddScoped<UserAdministration>();
builder.Services.AddSingleton<InteractionService>();
builder.Services.AddSingleton<TimelineService>();
builder.Services.AddSingleton<ITimelineSource, InteractionTimelineSource>();
builder.Services.AddSingleton<ITimelineSource, TaskTimelineSource>();
builder.Services.AddSingleton<ITimelineSource, ChangeTimelineSource>();
builder.Services.AddSingleton<ICustomerMergeParticipant, TimelineMergeParticipant>();
builder.Services.AddSingleton<TaskService>();
builder.Services.AddSingleton<NotificationService>();
builder.Services.AddSingleton<HandOverService>();
builder.Services.AddSingleton<IEmailSender>(new SmtpEmailSender(kolo.Smtp));
builder.Services.AddSingleton<ReminderService>();
builder.Services.AddHostedService<ReminderWorker>();
builder.Services.AddSingleton<ProductService>();
builder.Services.AddSingleton<OrderService>();
builder.Services.AddSingleton<FulfilmentService>();
builder.Services.AddSingleton<ITimelineSource, OrderTimelineSource>();
builder.Services.AddSingleton<ICustomerMergeParticipant, OrderMergeParticipant>();
builder.Services.AddHostedService<FulfilmentWorker>();
// Import and export: jobs run in the background on whichever node claims them.
builder.Services.Configure<ImportRunnerOptions>(builder.Configuration.GetSection(ImportRunnerOptions.Section));
builder.Services.AddSingleton<ImportService>();
builder.Services.AddSingleton<ImportEngine>();
builder.Services.AddSingleton<ImportSignal>();
builder.Services.AddSingleton<ExportService>();
builder.Services.AddHostedService<ImportRunner>();
// Analytics: scores, model fits and rules, computed by background jobs.
builder.Services.AddSingleton<AnalyticsService>();
builder.Services.AddSingleton<AnalyticsJobRunner>();
builder.Services.AddSingleton<AnalyticsSignal>();
builder.Services.AddHostedService<AnalyticsWorker>();
// Sales: pipelines, deals, leads, forecasts, targets and commissions.
builder.Services.AddSingleton<PipelineService>();
builder.Services.AddSingleton<DealService>();
builder.Services.AddSingleton<LeadService>();
builder.Services.AddSingleton<VisitReportService>();
builder.Services.AddSingleton<SalesPlanningService>();
builder.Services.AddSingleton<ITimelineSource, DealTimelineSource>();
builder.Services.AddSingleton<ICustomerMergeParticipant, DealMergeParticipant>();
builder.Services.AddSingleton<ICustomerMergeParticipant, Kolo.Core.Marketing.MarketingMergeParticipant>();
// Marketing: campaign delivery, unsubscribe links and tracking.
builder.AddCampaignSending(kolo);

builder.Services.AddSingleton<Kolo.Core.Marketing.CampaignResponseService>();
builder.Services.AddHostedService<Kolo.Web.Marketing.ConversionStampWorker>();
builder.Services.AddSingleton<Kolo.Core.Marketing.CampaignService>();
builder.Services.AddSingleton<Kolo.Core.Marketing.ContactPolicyService>();
builder.Services.AddSingleton<Kolo.Core.Marketing.CampaignJobRunner>();
builder.Services.AddSingleton<Kolo.Web.Marketing.CampaignSignal>();
builder.Services.AddHostedService<Kolo.Web.Marketing.CampaignWorker>();
// Marketing: segments.
builder.Services.AddSingleton<Kolo.Core.Marketing.SegmentService>();

builder.Services.AddIdentityCore<User>(o =>
    {
        o.User.RequireUniqueEmail = true;
        o.Password.RequiredLength = 8;
        o.Password.RequireNonAlphanumeric = false;
        o.Lockout.MaxFailedAccessAttempts = 5;
        o.Lockout.DefaultLockoutTimeSpan = TimeSpan.FromMinutes(5);
        o.Lockout.AllowedForNewUsers = true;
    })
    .AddEntityFrameworkStores<KoloDb>()
    .AddSignInManager()
    .AddClaimsPrincipalFactory<KoloClaimsPrincipalFactory>()
    .AddDefaultTokenProviders();

const string smartScheme = "Kolo";
builder.Services.AddAuthentication(o =>
    {
        o.DefaultScheme = smartScheme;
        o.DefaultChallengeScheme = smartScheme;
    })
    .AddPolicyScheme(smartScheme, "Cookie or bearer token", o => o.ForwardDefaultSelector = http =>
        http.Request.Headers.Authorization.ToString().StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
            ? ApiTokenAuthenticationHandler.SchemeName
            : IdentityConstants.ApplicationScheme)
    .AddScheme<AuthenticationSchemeOptions, ApiTokenAuthenticationHandler>(ApiTokenAuthenticationHandler.SchemeName, null)
    .AddCookie(IdentityConstants.ApplicationScheme, o =>
    {
        o.LoginPath = "/login";
        // A signed-in user opening a page their role may not see gets a page that says so (the default path does not exist).
        o.AccessDeniedPath = "/access-denied";
        o.Cookie.Name = "kolo.auth";
        o.ExpireTimeSpan = TimeSpan.FromDays(14);
        o.SlidingExpiration = true;
        // An API call without credentials gets a status code, not a redirect to the sign-in page.
        o.Events.OnRedirectToLogin = ctx => ApiAware(ctx, StatusCodes.Status401Unauthorized);
        o.Events.OnRedirectToAccessDenied = ctx => ApiAware(ctx, StatusCodes.Status403Forbidden);
        o.Events.OnValidatePrincipal = SecurityStampValidator.ValidatePrincipalAsync;
    });
builder.Services.Configure<SecurityStampValidatorOptions>(o => o.ValidationInterval = TimeSpan.FromMinutes(1));
builder.Services.AddAuthorizationBuilder()
    .SetFallbackPolicy(new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build())
    .AddPolicy(Policies.Admin, p => p.RequireRole(nameof(UserRole.Admin)))
    .AddPolicy(Policies.AdminOrManager, p => p.RequireRole(nameof(UserRole.Admin), nameof(UserRole.Manager)));
builder.Services.AddCascadingAuthenticationState();

// Enums are names in both directions: a number ("kind": 9) is refused rather than read as whatever value it happens to be.
builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.Converters.Add(new JsonStringEnumConverter(allowIntegerValues: false)));
builder.Services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
builder.Services.AddProblemDetails();
builder.Services.AddExceptionHandler<KoloExceptionHandler>();
builder.Services.AddOpenApi();
builder.Services.AddHealthChecks().AddCheck<DatabaseHealthCheck>("database");

builder.Services.AddLocalization();
builder.Services.AddMudServices();
builder.Services.AddRazorComponents().AddInteractiveServerComponents();
builder.Services.AddKoloUi();

var app = builder.Build();

app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseRequestLocalization(o =>
{
    o.SetDefaultCulture("en").AddSupportedCultures(PlatformEndpoints.Cultures).AddSupportedUICultures(PlatformEndpoints.Cultures);
    o.RequestCultureProviders = [new CookieRequestCultureProvider(), new AcceptLanguageHeaderRequestCultureProvider()];
});
app.UseAuthentication();
app.UseAuthorization();
app.UseRateLimiter();
app.UseAntiforgery();

app.MapStaticAssets().AllowAnonymous();
app.MapOpenApi().AllowAnonymous();
app.MapScalarApiReference("/api/docs", o => o.WithTitle("Kolo API").WithOpenApiRoutePattern("/openapi/{documentName}.json")).AllowAnonymous();
app.MapHealthChecks("/health").AllowAnonymous();
app.MapCustomerEndpoints();
app.MapPlatformEndpoints();
app.MapTimelineEndpoints();
app.MapTaskEndpoints();
app.MapProductEndpoints();
app.MapOrderEndpoints();
app.MapAnalyticsEndpoints();
app.MapSalesEndpoints();
app.MapSegmentEndpoints();
app.MapImportEndpoints();
app.MapCampaignSendingEndpoints();
Kolo.Web.Marketing.ResultsEndpoints.MapCampaignResultsEndpoints(app);
Kolo.Web.Marketing.CampaignEndpoints.MapCampaignEndpoints(app);
app.MapRazorComponents<App>().AddInteractiveServerRenderMode();

await StartupTasks.RunAsync(app.Services, app.Logger);
app.Lifetime.ApplicationStarted.Register(() =>
{
    foreach (var url in app.Urls) Console.WriteLine($"Kolo is running at {url} ({kolo.Database.Provider}). Sign in as {kolo.Admin.Email}.");
});
await app.RunAsync();

static Task ApiAware(Microsoft.AspNetCore.Authentication.RedirectContext<Microsoft.AspNetCore.Authentication.Cookies.CookieAuthenticationOptions> ctx, int status)
{
    if (ctx.Request.Path.StartsWithSegments("/api"))
    {
        ctx.Response.StatusCode = status;
        return Task.CompletedTask;
    }
    ctx.Response.Redirect(ctx.RedirectUri);
    return Task.CompletedTask;
}

/// <summary>The host, for WebApplicationFactory in the API tests.</summary>
public partial class Program;

/// <summary><c>GET /health</c>: healthy only when the database answers.</summary>
internal sealed class DatabaseHealthCheck(IDbContextFactory<KoloDb> dbFactory) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.Database.CanConnectAsync(ct) ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy("The database does not answer.");
    }
}
