using System.ComponentModel.DataAnnotations;
using Kolo.Core.Data;
using Kolo.Core.Platform;
using Kolo.Core.Tasks;
using Microsoft.EntityFrameworkCore;

namespace Kolo.Core.Customers;

/// <summary>Another capability's open work that follows a customer to its new owner (open deals, later).</summary>
public interface IHandOverParticipant
{
    /// <summary>Moves the open records of <paramref name="customerIds"/> from one user to another; returns how many.</summary>
    Task<int> MoveAsync(KoloDb db, Guid fromUserId, Guid toUserId, IReadOnlyCollection<Guid> customerIds, CancellationToken ct);
}

public sealed class HandOverInput
{
    [Required] public Guid? ToUserId { get; set; }
    /// <summary>The customers to hand over; all of the user's customers when empty.</summary>
    public List<Guid>? CustomerIds { get; set; }
}

public sealed record HandOverResult(int Customers, int Tasks, int Other);

/// <summary>
/// Hands a user's customers, with their open tasks, to another user in one transaction, audited per record:
/// nothing of a leaving employee's promises is lost.
/// </summary>
public sealed class HandOverService(IDbContextFactory<KoloDb> dbFactory, TimeProvider clock, IEnumerable<IHandOverParticipant> participants)
{
    public async Task<HandOverResult> HandOverAsync(Actor actor, Guid fromUserId, HandOverInput input, CancellationToken ct = default)
    {
        if (!actor.IsAdminOrManager) throw new ForbiddenException("Only managers and admins hand customers over.");
        var toUserId = input.ToUserId!.Value;
        var errors = new ValidationErrors();
        if (toUserId == fromUserId) errors.Add("toUserId", "Choose another user to hand over to.");
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var users = await db.Users.Where(u => u.Id == fromUserId || u.Id == toUserId)
            .Select(u => new { u.Id, u.DisplayName, u.DeactivatedAt }).ToListAsync(ct);
        if (users.All(u => u.Id != fromUserId)) throw new NotFoundException("User", fromUserId);
        var to = users.FirstOrDefault(u => u.Id == toUserId);
        if (to is null || to.DeactivatedAt is not null) errors.Add("toUserId", "No active user has this id.");
        errors.ThrowIfAny();

        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var owned = db.Customers.Where(c => c.OwnerId == fromUserId);
        if (input.CustomerIds is { Count: > 0 } chosen) owned = owned.Where(c => chosen.Contains(c.Id));
        var customerIds = await owned.Select(c => c.Id).ToListAsync(ct);
        if (input.CustomerIds is { Count: > 0 } asked && customerIds.Count != asked.Distinct().Count())
            throw ValidationFailedException.For("customerIds", "Some of these customers are not owned by this user.");

        var all = input.CustomerIds is not { Count: > 0 };
        // All: every open task of the user goes along; some customers: only the tasks about them.
        var openTasks = db.Tasks.Where(t => t.AssigneeId == fromUserId && t.Status == TaskItemStatus.Open);
        if (!all) openTasks = openTasks.Where(t => t.CustomerId != null && customerIds.Contains(t.CustomerId.Value));
        var taskIds = await openTasks.Select(t => t.Id).ToListAsync(ct);

        var now = clock.GetUtcNow().UtcDateTime;
        var version = Guid.NewGuid();
        foreach (var batch in customerIds.Chunk(1000))
        {
            await db.Customers.Where(c => batch.Contains(c.Id)).ExecuteUpdateAsync(s => s
                .SetProperty(c => c.OwnerId, toUserId).SetProperty(c => c.UpdatedAt, now).SetProperty(c => c.Version, version), ct);
            db.AuditEntries.AddRange(batch.Select(id => Audit.Entry(actor, now, CustomerService.EntityType, id, AuditActions.Updated,
                [new FieldChange(CustomerFields.OwnerId, fromUserId.ToString(), toUserId.ToString())])));
        }
        foreach (var batch in taskIds.Chunk(1000))
        {
            await db.Tasks.Where(t => batch.Contains(t.Id)).ExecuteUpdateAsync(s => s
                .SetProperty(t => t.AssigneeId, toUserId).SetProperty(t => t.UpdatedAt, now).SetProperty(t => t.Version, version), ct);
            db.AuditEntries.AddRange(batch.Select(id => Audit.Entry(actor, now, TaskService.EntityType, id, AuditActions.Updated,
                [new FieldChange("assigneeId", fromUserId.ToString(), toUserId.ToString())])));
        }
        var other = 0;
        foreach (var participant in participants) other += await participant.MoveAsync(db, fromUserId, toUserId, customerIds, ct);

        db.AuditEntries.Add(Audit.Entry(actor, now, UserAdministration.EntityType, fromUserId, "handed-over",
            [new FieldChange("customers", null, customerIds.Count.ToString(System.Globalization.CultureInfo.InvariantCulture)),
             new FieldChange("tasks", null, taskIds.Count.ToString(System.Globalization.CultureInfo.InvariantCulture)),
             new FieldChange("toUserId", null, toUserId.ToString())]));
        if (customerIds.Count + taskIds.Count > 0)
            db.Notifications.Add(new Notification
            {
                UserId = toUserId, CreatedAt = now, Link = "/tasks",
                Title = $"{users.First(u => u.Id == fromUserId).DisplayName} handed over {customerIds.Count} customers and {taskIds.Count} open tasks to you",
            });
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return new HandOverResult(customerIds.Count, taskIds.Count, other);
    }
}
