using Kolo.Core.Data;
using Microsoft.EntityFrameworkCore;

namespace Kolo.Core.Platform;

public sealed record IssuedToken(Guid Id, string Token, DateTime? ExpiresAt);

public sealed record ApiTokenView(Guid Id, string Name, ApiTokenKind Kind, string Prefix, DateTime CreatedAt, DateTime? ExpiresAt, DateTime? LastUsedAt, DateTime? RevokedAt);

/// <summary>Issues, lists, revokes and checks bearer tokens. The plain token is shown once; only its hash is kept.</summary>
public sealed class ApiTokenService(IDbContextFactory<KoloDb> dbFactory, TimeProvider clock)
{
    public static readonly TimeSpan SessionLifetime = TimeSpan.FromHours(8);

    public Task<IssuedToken> IssueSessionAsync(Guid userId, CancellationToken ct = default) =>
        IssueAsync(userId, "API session", ApiTokenKind.Session, Now() + SessionLifetime, ct);

    public const string EntityType = "api-token";

    /// <summary>A personal access token of the actor; audited (name and expiry, never the secret).</summary>
    public async Task<IssuedToken> IssuePersonalAsync(Actor actor, string name, DateTime? expiresAt, CancellationToken ct = default)
    {
        var errors = new ValidationErrors();
        if (string.IsNullOrWhiteSpace(name) || name.Trim().Length > 100) errors.Add("name", "Give the token a name of 1 to 100 characters.");
        if (expiresAt is { } e && e.ToUniversalTime() <= Now()) errors.Add("expiresAt", "The expiry must be in the future.");
        errors.ThrowIfAny();
        var issued = await IssueAsync(actor.UserId, name.Trim(), ApiTokenKind.Personal, expiresAt?.ToUniversalTime(), ct);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        db.AuditEntries.Add(Audit.Entry(actor, Now(), EntityType, issued.Id, AuditActions.Created,
            [new FieldChange("name", null, name.Trim()), new FieldChange("expiresAt", null, Audit.Text(issued.ExpiresAt))]));
        await db.SaveChangesAsync(ct);
        return issued;
    }

    public async Task<IReadOnlyList<ApiTokenView>> ListPersonalAsync(Guid userId, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.ApiTokens.AsNoTracking()
            .Where(t => t.UserId == userId && t.Kind == ApiTokenKind.Personal)
            .OrderByDescending(t => t.Id)
            .Select(t => new ApiTokenView(t.Id, t.Name, t.Kind, t.Prefix, t.CreatedAt, t.ExpiresAt, t.LastUsedAt, t.RevokedAt))
            .ToListAsync(ct);
    }

    public async Task RevokeAsync(Actor actor, Guid tokenId, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var token = await db.ApiTokens.FirstOrDefaultAsync(t => t.Id == tokenId && t.UserId == actor.UserId, ct)
            ?? throw new NotFoundException("Token", tokenId);
        if (token.RevokedAt is not null) return;
        token.RevokedAt = Now();
        db.AuditEntries.Add(Audit.Entry(actor, token.RevokedAt.Value, EntityType, token.Id, "revoked", [new FieldChange("name", token.Name, null)]));
        await db.SaveChangesAsync(ct);
    }

    /// <summary>The active user a token belongs to, or null when the token is unknown, expired or revoked.</summary>
    public async Task<User?> AuthenticateAsync(string token, CancellationToken ct = default)
    {
        var hash = ApiToken.Hash(token);
        var now = Now();
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var found = await db.ApiTokens.AsNoTracking()
            .Where(t => t.TokenHash == hash && t.RevokedAt == null && (t.ExpiresAt == null || t.ExpiresAt > now))
            .Join(db.Users.Where(u => u.DeactivatedAt == null), t => t.UserId, u => u.Id, (t, u) => new { t.Id, t.LastUsedAt, User = u })
            .FirstOrDefaultAsync(ct);
        if (found is null) return null;
        // Record use at most once a minute, so reads do not turn into writes.
        if (found.LastUsedAt is null || now - found.LastUsedAt > TimeSpan.FromMinutes(1))
            await db.ApiTokens.Where(t => t.Id == found.Id).ExecuteUpdateAsync(s => s.SetProperty(t => t.LastUsedAt, now), ct);
        return found.User;
    }

    private async Task<IssuedToken> IssueAsync(Guid userId, string name, ApiTokenKind kind, DateTime? expiresAt, CancellationToken ct)
    {
        var secret = ApiToken.NewSecret();
        var token = new ApiToken
        {
            UserId = userId, Name = name, Kind = kind, TokenHash = ApiToken.Hash(secret), Prefix = secret[..12],
            CreatedAt = Now(), ExpiresAt = expiresAt,
        };
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        db.ApiTokens.Add(token);
        await db.SaveChangesAsync(ct);
        return new IssuedToken(token.Id, secret, expiresAt);
    }

    private DateTime Now() => clock.GetUtcNow().UtcDateTime;
}
