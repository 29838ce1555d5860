using System.Security.Claims;
using System.Text.Encodings.Web;
using Kolo.Core.Platform;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace Kolo.Web.Platform;

public static class KoloClaims
{
    public const string CustomerAccess = "kolo:customer-access";
    public const string Team = "kolo:team";
    public const string DisplayName = "kolo:name";

    public static IEnumerable<Claim> For(User user)
    {
        yield return new Claim(ClaimTypes.NameIdentifier, user.Id.ToString());
        yield return new Claim(ClaimTypes.Name, user.Email ?? user.UserName ?? "");
        yield return new Claim(DisplayName, user.DisplayName);
        yield return new Claim(ClaimTypes.Role, user.Role.ToString());
        yield return new Claim(CustomerAccess, user.CustomerAccess.ToString());
        if (user.Team is not null) yield return new Claim(Team, user.Team);
    }

    /// <summary>The acting user, as services need it. Every authenticated principal carries these claims.</summary>
    public static Actor ToActor(this ClaimsPrincipal principal)
    {
        var id = Guid.Parse(principal.FindFirstValue(ClaimTypes.NameIdentifier) ?? throw new InvalidOperationException("Not signed in."));
        return new Actor(
            id,
            principal.FindFirstValue(DisplayName) ?? principal.Identity?.Name ?? "",
            Enum.Parse<UserRole>(principal.FindFirstValue(ClaimTypes.Role) ?? nameof(UserRole.Support)),
            Enum.Parse<CustomerAccess>(principal.FindFirstValue(CustomerAccess) ?? nameof(Core.Platform.CustomerAccess.Own)),
            principal.FindFirstValue(Team));
    }
}

/// <summary>Puts Kolo's role and access claims into the sign-in cookie.</summary>
public sealed class KoloClaimsPrincipalFactory(UserManager<User> users, IOptions<IdentityOptions> options)
    : UserClaimsPrincipalFactory<User>(users, options)
{
    protected override async Task<ClaimsIdentity> GenerateClaimsAsync(User user)
    {
        var identity = await base.GenerateClaimsAsync(user);
        foreach (var claim in KoloClaims.For(user).Where(c => c.Type != ClaimTypes.NameIdentifier && c.Type != ClaimTypes.Name))
            identity.AddClaim(claim);
        return identity;
    }
}

/// <summary>Bearer tokens (session or personal) looked up by their hash, so revoking one takes effect at once.</summary>
public sealed class ApiTokenAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, ApiTokenService tokens)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Bearer";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return AuthenticateResult.NoResult();
        var user = await tokens.AuthenticateAsync(header["Bearer ".Length..].Trim(), Context.RequestAborted);
        if (user is null) return AuthenticateResult.Fail("The token is unknown, expired or revoked.");
        var principal = new ClaimsPrincipal(new ClaimsIdentity(KoloClaims.For(user), SchemeName));
        return AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName));
    }
}

public static class Policies
{
    public const string Admin = "Admin";
    public const string AdminOrManager = "AdminOrManager";
}
