using Kolo.Core.Customers;
using Kolo.Core.Data;
using Microsoft.EntityFrameworkCore;

namespace Kolo.Core.Timeline;

/// <summary>
/// A merge moves the source customer's interactions, attachments and tasks to the target, so the one remaining
/// record has the whole history (the source is archived and its timeline is no longer shown anywhere).
/// </summary>
public sealed class TimelineMergeParticipant : ICustomerMergeParticipant
{
    public async Task MoveAsync(KoloDb db, Guid sourceId, Guid targetId, CancellationToken ct)
    {
        await db.Interactions.Where(i => i.CustomerId == sourceId).ExecuteUpdateAsync(s => s.SetProperty(i => i.CustomerId, targetId), ct);
        await db.Attachments.Where(a => a.CustomerId == sourceId).ExecuteUpdateAsync(s => s.SetProperty(a => a.CustomerId, targetId), ct);
        await db.Tasks.Where(t => t.CustomerId == sourceId).ExecuteUpdateAsync(s => s.SetProperty(t => t.CustomerId, targetId), ct);
    }
}
