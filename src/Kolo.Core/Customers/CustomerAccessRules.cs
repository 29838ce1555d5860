using Kolo.Core.Data;
using Kolo.Core.Platform;

namespace Kolo.Core.Customers;

/// <summary>
/// Who may see and change which customers. Admin and Manager: everything. Sales: the customers they own (or their
/// team's, or all, when a Manager or Admin grants it). Marketing: reads all, changes tags, consents, status and
/// source. Support: reads all, changes contact data only.
/// </summary>
public static class CustomerAccessRules
{
    /// <summary>True when the actor sees every customer (everyone but a Sales user limited to their own or their team's).</summary>
    public static bool SeesAllCustomers(Actor actor) => actor.Role != UserRole.Sales || actor.CustomerAccess == CustomerAccess.All;

    public static IQueryable<Customer> VisibleTo(this IQueryable<Customer> customers, KoloDb db, Actor actor)
    {
        if (SeesAllCustomers(actor)) return customers;
        if (actor.CustomerAccess == CustomerAccess.Team && actor.Team is { } team)
        {
            var teamMembers = db.Users.Where(u => u.Team == team).Select(u => (Guid?)u.Id);
            return customers.Where(c => c.OwnerId == actor.UserId || teamMembers.Contains(c.OwnerId));
        }
        return customers.Where(c => c.OwnerId == actor.UserId);
    }

    public static void EnsureCanCreate(Actor actor)
    {
        if (actor.Role == UserRole.Support) throw new ForbiddenException("Support users cannot create customers.");
    }

    public static void EnsureCanEdit(Actor actor, IEnumerable<string> fields)
    {
        var allowed = actor.Role switch
        {
            UserRole.Support => CustomerFields.ContactData,
            UserRole.Marketing => CustomerFields.MarketingData,
            _ => CustomerFields.All,
        };
        var refused = fields.Where(f => !allowed.Contains(f)).ToList();
        if (refused.Count > 0)
            throw new ForbiddenException($"A {actor.Role} user cannot change: {string.Join(", ", refused)}.");
    }

    /// <summary>Links between customers: the roles that may change the profile (not Support or Marketing).</summary>
    public static void EnsureCanEditLinks(Actor actor)
    {
        if (actor.Role is UserRole.Support or UserRole.Marketing)
            throw new ForbiddenException($"A {actor.Role} user cannot change links between customers.");
    }

    /// <summary>Archive, restore and merge: Admin, Manager, and Sales for the customers they can see.</summary>
    public static void EnsureCanArchive(Actor actor)
    {
        if (actor.Role is UserRole.Support or UserRole.Marketing)
            throw new ForbiddenException($"A {actor.Role} user cannot archive, restore or merge customers.");
    }
}
