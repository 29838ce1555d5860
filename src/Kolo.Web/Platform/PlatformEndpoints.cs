using System.ComponentModel.DataAnnotations;
using Kolo.Core.Customers;
using Kolo.Core.Platform;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Localization;

namespace Kolo.Web.Platform;

public sealed class TokenRequest
{
    [Required, EmailAddress] public string Email { get; set; } = "";
    [Required] public string Password { get; set; } = "";
}

public sealed record TokenResponse(string Token, DateTime? ExpiresAt);

public sealed class PersonalTokenRequest
{
    [Required, StringLength(100, MinimumLength = 1)] public string Name { get; set; } = "";
    public DateTime? ExpiresAt { get; set; }
}

public static class PlatformEndpoints
{
    public static readonly string[] Cultures = ["en", "uk", "ru"];

    public static void MapPlatformEndpoints(this IEndpointRouteBuilder app)
    {
        MapAuth(app);
        MapAccount(app);

        var tokens = app.MapGroup("/api/v1/tokens").WithTags("Tokens").RequireAuthorization();
        tokens.MapGet("", async (HttpContext http, ApiTokenService service) =>
            Results.Ok(await service.ListPersonalAsync(http.User.ToActor().UserId, http.RequestAborted)))
            .WithSummary("Your personal access tokens (never the secret itself).");
        tokens.MapPost("", async (PersonalTokenRequest request, HttpContext http, ApiTokenService service) =>
        {
            RequestValidation.Validate(request);
            var issued = await service.IssuePersonalAsync(http.User.ToActor(), request.Name, request.ExpiresAt, http.RequestAborted);
            return Results.Created($"/api/v1/tokens/{issued.Id}", issued);
        }).WithSummary("Create a personal access token; the token is shown once.");
        tokens.MapDelete("/{id:guid}", async (Guid id, HttpContext http, ApiTokenService service) =>
        {
            await service.RevokeAsync(http.User.ToActor(), id, http.RequestAborted);
            return Results.NoContent();
        }).WithSummary("Revoke one of your tokens; it stops working at once.");

        var users = app.MapGroup("/api/v1/users").WithTags("Users").RequireAuthorization(Policies.AdminOrManager);
        users.MapGet("", async (string? q, HttpContext http, UserAdministration service) =>
            Results.Ok(await service.ListAsync(http.User.ToActor(), q, http.RequestAborted))).WithSummary("Users (admins and managers).");
        users.MapGet("/{id:guid}", async (Guid id, HttpContext http, UserAdministration service) =>
        {
            var user = await service.GetAsync(http.User.ToActor(), id, http.RequestAborted);
            ETags.Set(http.Response, user.Version);
            return Results.Ok(user);
        });
        users.MapPost("", async (UserInput input, HttpContext http, UserAdministration service) =>
        {
            RequestValidation.Validate(input);
            var user = await service.CreateAsync(http.User.ToActor(), input, http.RequestAborted);
            return Results.Created($"/api/v1/users/{user.Id}", user);
        }).RequireAuthorization(Policies.Admin).WithSummary("Create a user (admins).");
        users.MapPut("/{id:guid}", async (Guid id, UserInput input, HttpContext http, UserAdministration service) =>
        {
            RequestValidation.Validate(input);
            var user = await service.UpdateAsync(http.User.ToActor(), id, input, ETags.OptionalIfMatch(http.Request), http.RequestAborted);
            ETags.Set(http.Response, user.Version);
            return Results.Ok(user);
        }).WithSummary("Change a user (every field; send the ETag in If-Match to refuse a stale form: 412). Managers may only change a Sales user's customer access and team.");

        app.MapGet("/api/v1/me", (HttpContext http) =>
        {
            var actor = http.User.ToActor();
            return Results.Ok(new { actor.UserId, actor.Name, Email = http.User.Identity?.Name, actor.Role, actor.CustomerAccess, actor.Team });
        }).RequireAuthorization().WithTags("Users").WithSummary("Who the token or cookie belongs to.");

        var fields = app.MapGroup("/api/v1/custom-fields").WithTags("Custom fields").RequireAuthorization();
        fields.MapGet("", async (bool? includeArchived, CustomFieldService service, HttpContext http) =>
            Results.Ok(await service.ListAsync(includeArchived ?? false, http.RequestAborted))).WithSummary("Custom field definitions (all roles).");
        fields.MapPost("", async (CustomFieldInput input, HttpContext http, CustomFieldService service) =>
        {
            RequestValidation.Validate(input);
            var field = await service.CreateAsync(http.User.ToActor(), input, http.RequestAborted);
            ETags.Set(http.Response, field.Version);
            return Results.Created($"/api/v1/custom-fields/{field.Id}", field);
        }).RequireAuthorization(Policies.Admin).WithSummary("Define a custom field (admins).");
        fields.MapPut("/{id:guid}", async (Guid id, CustomFieldInput input, HttpContext http, CustomFieldService service) =>
        {
            var version = ETags.RequiredIfMatch(http.Request, out var refusal);
            if (refusal is not null) return refusal;
            RequestValidation.Validate(input);
            var field = await service.UpdateAsync(http.User.ToActor(), id, version!.Value, input, http.RequestAborted);
            ETags.Set(http.Response, field.Version);
            return Results.Ok(field);
        }).RequireAuthorization(Policies.Admin).WithSummary("Change a field's label, choices, required flag or order (admins; If-Match).");
        fields.MapDelete("/{id:guid}", async (Guid id, HttpContext http, CustomFieldService service) =>
        {
            await service.ArchiveAsync(http.User.ToActor(), id, http.RequestAborted);
            return Results.NoContent();
        }).RequireAuthorization(Policies.Admin).WithSummary("Archive a field (admins); stored values are kept.");

        var tags = app.MapGroup("/api/v1/tags").WithTags("Tags").RequireAuthorization();
        tags.MapGet("", async (string? q, bool? includeArchived, TagService service, HttpContext http) =>
            Results.Ok(await service.ListAsync(q, includeArchived ?? false, http.RequestAborted))).WithSummary("Tags with how many customers carry each.");
        tags.MapPost("", async (TagInput input, HttpContext http, TagService service) =>
        {
            RequestValidation.Validate(input);
            var tag = await service.CreateAsync(http.User.ToActor(), input, http.RequestAborted);
            return Results.Created($"/api/v1/tags/{tag.Id}", tag);
        }).WithSummary("Create a tag (admins, managers, marketing).");
        tags.MapDelete("/{id:guid}", async (Guid id, HttpContext http, TagService service) =>
        {
            await service.ArchiveAsync(http.User.ToActor(), id, http.RequestAborted);
            return Results.NoContent();
        }).WithSummary("Archive a tag (admins, managers, marketing); customers keep it.");

        app.MapGet("/api/v1/audit", async (string? entityType, Guid? entityId, int? limit, Guid? cursor, HttpContext http, AuditService audit) =>
                Results.Ok(await audit.ListAsync(http.User.ToActor(), entityType, entityId, limit ?? 50, cursor, http.RequestAborted)))
            .RequireAuthorization().WithTags("Audit")
            .WithSummary("Who changed what and when, old → new. Admins and managers may list everything; others one visible record.");
    }

    private static void MapAuth(IEndpointRouteBuilder app)
    {
        app.MapPost("/api/v1/auth/token", async (TokenRequest request, UserManager<User> users, SignInManager<User> signIn, ApiTokenService tokens, HttpContext http) =>
        {
            RequestValidation.Validate(request);
            var user = await users.FindByEmailAsync(request.Email);
            if (user is null || user.DeactivatedAt is not null)
                return Results.Problem(statusCode: 401, title: "Wrong e-mail or password.");
            var result = await signIn.CheckPasswordSignInAsync(user, request.Password, lockoutOnFailure: true);
            if (result.IsLockedOut)
                return Results.Problem(statusCode: 429, title: "Too many failed attempts.", detail: "This account is locked for a few minutes. Try again later.");
            if (!result.Succeeded) return Results.Problem(statusCode: 401, title: "Wrong e-mail or password.");
            var issued = await tokens.IssueSessionAsync(user.Id, http.RequestAborted);
            return Results.Ok(new TokenResponse(issued.Token, issued.ExpiresAt));
        }).AllowAnonymous().WithTags("Auth").WithSummary("Exchange e-mail and password for a bearer token (8 hours).");
    }

    /// <summary>Cookie sign-in and language for the UI: plain form posts and redirects, as browsers expect.</summary>
    private static void MapAccount(IEndpointRouteBuilder app)
    {
        app.MapPost("/account/login", async (HttpContext http, SignInManager<User> signIn, UserManager<User> users) =>
        {
            var form = await http.Request.ReadFormAsync();
            var email = form["email"].ToString();
            var returnUrl = SafeLocalUrl(form["returnUrl"].ToString());
            var user = await users.FindByEmailAsync(email);
            var error = "invalid";
            if (user is not null && user.DeactivatedAt is null)
            {
                var result = await signIn.PasswordSignInAsync(user, form["password"].ToString(), isPersistent: form["remember"] == "on", lockoutOnFailure: true);
                if (result.Succeeded)
                {
                    if (user.Culture is { } culture) SetCultureCookie(http, culture);
                    return Results.LocalRedirect(returnUrl);
                }
                if (result.IsLockedOut) error = "locked";
            }
            return Results.LocalRedirect($"/login?error={error}&returnUrl={Uri.EscapeDataString(returnUrl)}");
        }).AllowAnonymous().DisableAntiforgery().ExcludeFromDescription();

        app.MapPost("/account/logout", async (HttpContext http, SignInManager<User> signIn) =>
        {
            await signIn.SignOutAsync();
            return Results.LocalRedirect("/login");
        }).RequireAuthorization().DisableAntiforgery().ExcludeFromDescription();

        app.MapGet("/culture/{culture}", async (string culture, string? redirectUri, HttpContext http, UserManager<User> users) =>
        {
            if (!Cultures.Contains(culture)) return Results.BadRequest();
            SetCultureCookie(http, culture);
            if (http.User.Identity?.IsAuthenticated == true && await users.GetUserAsync(http.User) is { } user)
            {
                user.Culture = culture;
                await users.UpdateAsync(user);
            }
            return Results.LocalRedirect(SafeLocalUrl(redirectUri));
        }).AllowAnonymous().ExcludeFromDescription();
    }

    private static void SetCultureCookie(HttpContext http, string culture) =>
        http.Response.Cookies.Append(CookieRequestCultureProvider.DefaultCookieName,
            CookieRequestCultureProvider.MakeCookieValue(new RequestCulture(culture)),
            new CookieOptions { Expires = DateTimeOffset.UtcNow.AddYears(1), IsEssential = true, SameSite = SameSiteMode.Lax });

    private static string SafeLocalUrl(string? url) =>
        !string.IsNullOrEmpty(url) && url.StartsWith('/') && !url.StartsWith("//", StringComparison.Ordinal) && !url.StartsWith("/\\", StringComparison.Ordinal) ? url : "/";
}
