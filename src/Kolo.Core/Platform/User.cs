using Microsoft.AspNetCore.Identity;

namespace Kolo.Core.Platform;

public enum UserRole { Admin, Manager, Sales, Marketing, Support }

/// <summary>Which customers a Sales user sees: their own, their team's, or all. Other roles see all.</summary>
public enum CustomerAccess { Own, Team, All }

public sealed class User : IdentityUser<Guid>
{
    public User() => Id = Guid.CreateVersion7();

    public string DisplayName { get; set; } = "";
    public UserRole Role { get; set; } = UserRole.Sales;
    public CustomerAccess CustomerAccess { get; set; } = CustomerAccess.Own;
    public string? Team { get; set; }
    public string? Culture { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime? DeactivatedAt { get; set; }
}

/// <summary>Who is acting: everything a service needs to decide what the caller may see and do.</summary>
public sealed record Actor(Guid UserId, string Name, UserRole Role, CustomerAccess CustomerAccess, string? Team)
{
    /// <summary>Used by start-up work (migrations, demo data) that no person performs.</summary>
    public static readonly Actor System = new(Guid.Empty, "system", UserRole.Admin, CustomerAccess.All, null);

    public bool IsAdminOrManager => Role is UserRole.Admin or UserRole.Manager;

    public static Actor From(User user) =>
        new(user.Id, user.DisplayName.Length > 0 ? user.DisplayName : user.Email ?? user.UserName ?? "", user.Role, user.CustomerAccess, user.Team);
}
