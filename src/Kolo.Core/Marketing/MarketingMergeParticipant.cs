using Kolo.Core.Customers;
using Kolo.Core.Data;
using Microsoft.EntityFrameworkCore;

namespace Kolo.Core.Marketing;

/// <summary>
/// When two customer records merge, the source's campaign contacts, website visitors and visits and static-list
/// memberships belong to the target: its timeline shows them, contact pressure counts them, a click on an old link
/// identifies the surviving record, and it stays in the lists the source was in.
/// </summary>
public sealed class MarketingMergeParticipant : ICustomerMergeParticipant
{
    public async Task MoveAsync(KoloDb db, Guid sourceId, Guid targetId, CancellationToken ct)
    {
        // One message per customer and campaign: where both records were contacted by the same campaign, the source
        // keeps its own (it stays on the archived record's history).
        await db.CampaignMessages
            .Where(m => m.CustomerId == sourceId && !db.CampaignMessages.Any(t => t.CampaignId == m.CampaignId && t.CustomerId == targetId))
            .ExecuteUpdateAsync(s => s.SetProperty(m => m.CustomerId, targetId), ct);
        await db.WebVisitors.Where(v => v.CustomerId == sourceId).ExecuteUpdateAsync(s => s.SetProperty(v => v.CustomerId, targetId), ct);
        await db.WebVisits.Where(v => v.CustomerId == sourceId).ExecuteUpdateAsync(s => s.SetProperty(v => v.CustomerId, targetId), ct);
        await db.SegmentMembers
            .Where(m => m.CustomerId == sourceId && !db.SegmentMembers.Any(t => t.SegmentId == m.SegmentId && t.CustomerId == targetId))
            .ExecuteUpdateAsync(s => s.SetProperty(m => m.CustomerId, targetId), ct);
        // Lists that held both: the target is in them already; the archived source's row would only be a duplicate.
        await db.SegmentMembers.Where(m => m.CustomerId == sourceId).ExecuteDeleteAsync(ct);
    }
}
