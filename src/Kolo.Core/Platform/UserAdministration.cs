using System.ComponentModel.DataAnnotations;
using Kolo.Core.Data;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;

namespace Kolo.Core.Platform;

public sealed class UserInput
{
    [Required, EmailAddress, StringLength(254)]
    public string Email { get; set; } = "";
    [Required, StringLength(200, MinimumLength = 1)]
    public string DisplayName { get; set; } = "";
    [Required]
    public UserRole? Role { get; set; }
    public CustomerAccess? CustomerAccess { get; set; }
    [StringLength(100)]
    public string? Team { get; set; }
    /// <summary>Required when creating; when updating, a new password replaces the old one.</summary>
    [StringLength(128)]
    public string? Password { get; set; }
    public bool? Active { get; set; }
}

/// <summary>A user as an owner picker shows it.</summary>
public sealed record UserOption(Guid Id, string DisplayName);

/// <summary>A user as the API shows it. <see cref="Version"/> is the user's concurrency stamp: the ETag a change must match.</summary>
public sealed record UserView(Guid Id, string Email, string DisplayName, UserRole Role, CustomerAccess CustomerAccess, string? Team, bool Active, DateTime CreatedAt,
    bool LockedOut, Guid Version);

/// <summary>Users and their roles. Admins manage everyone; a Manager may only widen or narrow a Sales user's customer access and team.</summary>
public sealed class UserAdministration(UserManager<User> users, KoloDb db, TimeProvider clock)
{
    public const string EntityType = "user";

    public async Task<IReadOnlyList<UserView>> ListAsync(Actor actor, string? q, CancellationToken ct = default)
    {
        if (!actor.IsAdminOrManager) throw new ForbiddenException("Only admins and managers see the user list.");
        var query = db.Users.AsNoTracking();
        if (!string.IsNullOrWhiteSpace(q))
        {
            var upper = q.Trim().ToUpperInvariant();
            query = query.Where(u => u.NormalizedEmail!.Contains(upper) || u.DisplayName.ToUpper().Contains(upper));
        }
        var now = clock.GetUtcNow();
        var rows = await query.OrderBy(u => u.DisplayName).Take(500).ToListAsync(ct);
        return rows.Select(u => ToView(u, now)).ToList();
    }

    /// <summary>Active users who can own customers, for owner pickers and filters: every signed-in user may see these names.</summary>
    public async Task<IReadOnlyList<UserOption>> ListOwnersAsync(CancellationToken ct = default) =>
        await db.Users.AsNoTracking().Where(u => u.DeactivatedAt == null).OrderBy(u => u.DisplayName)
            .Select(u => new UserOption(u.Id, u.DisplayName)).Take(1000).ToListAsync(ct);

    public async Task<UserView> GetAsync(Actor actor, Guid id, CancellationToken ct = default)
    {
        if (!actor.IsAdminOrManager && actor.UserId != id) throw new ForbiddenException("You can only see your own user.");
        var user = await db.Users.AsNoTracking().FirstOrDefaultAsync(u => u.Id == id, ct) ?? throw new NotFoundException("User", id);
        return ToView(user, clock.GetUtcNow());
    }

    public async Task<UserView> CreateAsync(Actor actor, UserInput input, CancellationToken ct = default)
    {
        if (actor.Role != UserRole.Admin) throw new ForbiddenException("Only admins create users.");
        var errors = new ValidationErrors();
        if (string.IsNullOrEmpty(input.Password)) errors.Add("password", "Enter a password.");
        if (await users.FindByEmailAsync(input.Email) is not null) errors.Add("email", "A user with this e-mail exists already.");
        errors.ThrowIfAny();
        var user = new User
        {
            UserName = input.Email.Trim(), Email = input.Email.Trim(), EmailConfirmed = true, DisplayName = input.DisplayName.Trim(),
            Role = input.Role!.Value, CustomerAccess = input.CustomerAccess ?? CustomerAccess.Own, Team = Clean(input.Team),
            CreatedAt = clock.GetUtcNow().UtcDateTime, LockoutEnabled = true,
        };
        ThrowOnFailure(await users.CreateAsync(user, input.Password!));
        db.AuditEntries.Add(Audit.Entry(actor, user.CreatedAt, EntityType, user.Id, AuditActions.Created,
            [new FieldChange("email", null, user.Email), new FieldChange("role", null, user.Role.ToString())]));
        await db.SaveChangesAsync(ct);
        return ToView(user, clock.GetUtcNow());
    }

    public async Task<UserView> UpdateAsync(Actor actor, Guid id, UserInput input, Guid? expectedVersion = null, CancellationToken ct = default)
    {
        var user = await users.FindByIdAsync(id.ToString()) ?? throw new NotFoundException("User", id);
        // Every field is replaced: a form read before someone else's change (say, a deactivation) must not undo it.
        if (expectedVersion is { } v && v != VersionOf(user)) throw new PreconditionFailedException();
        if (actor.Role == UserRole.Manager)
        {
            var onlyAccess = input.Email == user.Email && input.DisplayName == user.DisplayName && input.Role == user.Role
                             && string.IsNullOrEmpty(input.Password) && input.Active is null or true == (user.DeactivatedAt is null);
            if (!onlyAccess || user.Role != UserRole.Sales)
                throw new ForbiddenException("A manager may only change the customer access and team of Sales users.");
        }
        else if (actor.Role != UserRole.Admin) throw new ForbiddenException("Only admins and managers change users.");

        // The new password is checked before anything is saved: a refused one must not leave the user without any.
        if (!string.IsNullOrEmpty(input.Password))
            foreach (var validator in users.PasswordValidators)
                ThrowOnFailure(await validator.ValidateAsync(users, user, input.Password));
        var before = $"{user.Email}|{user.DisplayName}|{user.Role}|{user.CustomerAccess}|{user.Team}|{user.DeactivatedAt is null}";
        if (actor.UserId == id && (input.Role != UserRole.Admin || input.Active == false))
            throw ValidationFailedException.For("role", "You cannot remove your own admin role or deactivate yourself.");
        if (!string.Equals(user.Email, input.Email.Trim(), StringComparison.OrdinalIgnoreCase))
        {
            if (await users.FindByEmailAsync(input.Email) is not null) throw ValidationFailedException.For("email", "A user with this e-mail exists already.");
            ThrowOnFailure(await users.SetEmailAsync(user, input.Email.Trim()));
            ThrowOnFailure(await users.SetUserNameAsync(user, input.Email.Trim()));
        }
        user.DisplayName = input.DisplayName.Trim();
        user.Role = input.Role!.Value;
        user.CustomerAccess = input.CustomerAccess ?? user.CustomerAccess;
        user.Team = Clean(input.Team);
        var wasActive = user.DeactivatedAt is null;
        if (input.Active is { } active) user.DeactivatedAt = active ? null : user.DeactivatedAt ?? clock.GetUtcNow().UtcDateTime;
        ThrowOnFailure(await users.UpdateAsync(user));
        // The cookie's stamp validator knows nothing of DeactivatedAt (it refreshes claims, so role changes follow
        // within its interval): a new stamp is what ends a deactivated user's open UI sessions.
        if (wasActive && user.DeactivatedAt is not null) ThrowOnFailure(await users.UpdateSecurityStampAsync(user));
        if (!string.IsNullOrEmpty(input.Password))
        {
            ThrowOnFailure(await users.RemovePasswordAsync(user));
            ThrowOnFailure(await users.AddPasswordAsync(user, input.Password));
        }
        var after = $"{user.Email}|{user.DisplayName}|{user.Role}|{user.CustomerAccess}|{user.Team}|{user.DeactivatedAt is null}";
        db.AuditEntries.Add(Audit.Entry(actor, clock.GetUtcNow().UtcDateTime, EntityType, id, AuditActions.Updated,
            [new FieldChange("user", before, after)]));
        await db.SaveChangesAsync(ct);
        return ToView(user, clock.GetUtcNow());
    }

    private static void ThrowOnFailure(IdentityResult result)
    {
        if (result.Succeeded) return;
        var errors = new ValidationErrors();
        foreach (var e in result.Errors)
            errors.Add(e.Code.Contains("Password", StringComparison.Ordinal) ? "password" : e.Code.Contains("Email", StringComparison.Ordinal) || e.Code.Contains("UserName", StringComparison.Ordinal) ? "email" : "user", e.Description);
        errors.ThrowIfAny();
    }

    private static string? Clean(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();

    private static UserView ToView(User u, DateTimeOffset now) => new(
        u.Id, u.Email ?? "", u.DisplayName, u.Role, u.CustomerAccess, u.Team, u.DeactivatedAt is null, u.CreatedAt,
        u.LockoutEnd is { } end && end > now, VersionOf(u));

    private static Guid VersionOf(User u) => Guid.TryParse(u.ConcurrencyStamp, out var stamp) ? stamp : Guid.Empty;
}
