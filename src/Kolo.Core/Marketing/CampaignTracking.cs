using Kolo.Core.Customers;
using Kolo.Core.Data;
using Kolo.Core.Platform;
using Kolo.Core.Timeline;
using Microsoft.EntityFrameworkCore;

namespace Kolo.Core.Marketing;

/// <summary>What the unsubscribe page shows about the message its link came from.</summary>
public sealed record UnsubscribeTarget(Guid MessageId, string CampaignName, CampaignChannel Channel, bool AlreadyUnsubscribed);

/// <summary>A click: where to send the browser, and the token that lets the website's snippet identify the visitor.</summary>
public sealed record ClickTarget(string Url, string VisitorToken);

/// <summary>A page view reported by the website snippet.</summary>
public sealed record CollectInput(string? VisitorId, string? Url, string? Title, string? Referrer, string? Token, string? Email);

/// <summary>A web message for the visitor, delivered by the collect answer.</summary>
public sealed record WebMessageView(Guid Id, string Html);

public sealed record BounceInput(string? MessageId, string? Address, string? Reason);

/// <summary>
/// Everything that comes back from a message: unsubscribes, opens, clicks, website visits and bounces. The public
/// entry points take a signed token and answer "not found" for anything that does not verify, without saying why.
/// </summary>
public sealed class CampaignTracking(IDbContextFactory<KoloDb> dbFactory, MessageTokens tokens, TimeProvider clock, PublicUrl publicUrl, CampaignSendingOptions options)
{
    /// <summary>Who records an unsubscribe made through a link: the customer, not a user.</summary>
    private static readonly Actor LinkActor = new(Guid.Empty, "unsubscribe link", UserRole.Admin, CustomerAccess.All, null);

    private static readonly MessageStatus[] ReachedStatuses = [MessageStatus.Sent, MessageStatus.Delivered];

    public async Task<UnsubscribeTarget?> FindUnsubscribeAsync(string token, CancellationToken ct = default)
    {
        if (await tokens.VerifyAsync(token, TokenPurpose.Unsubscribe, null, ct) is not { } id) return null;
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.CampaignMessages.AsNoTracking().Where(m => m.Id == id)
            .Join(db.Campaigns, m => m.CampaignId, c => c.Id, (m, c) => new { m.Id, c.Name, m.Channel, m.UnsubscribedAt })
            .Select(x => new UnsubscribeTarget(x.Id, x.Name, x.Channel ?? CampaignChannel.Email, x.UnsubscribedAt != null))
            .FirstOrDefaultAsync(ct);
    }

    /// <summary>
    /// Withdraws the consent of the message's channel and marks the message Unsubscribed. Idempotent: a second click (or a
    /// mail client's one-click POST after the page's) changes nothing. False when the token does not verify.
    /// </summary>
    public async Task<bool> UnsubscribeAsync(string token, string source, CancellationToken ct = default)
    {
        if (await tokens.VerifyAsync(token, TokenPurpose.Unsubscribe, null, ct) is not { } id) return false;
        var now = clock.GetUtcNow().UtcDateTime;
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var message = await db.CampaignMessages.AsNoTracking().FirstOrDefaultAsync(m => m.Id == id, ct);
        if (message is null) return false;
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        // The conditional update decides who records it when two requests race.
        var first = await db.CampaignMessages.Where(m => m.Id == id && m.UnsubscribedAt == null)
            .ExecuteUpdateAsync(s => s.SetProperty(m => m.UnsubscribedAt, now).SetProperty(m => m.Status, MessageStatus.Unsubscribed), ct);
        if (first == 0) return true;
        var channel = MarketingConsent.CustomerChannel(message.Channel ?? CampaignChannel.Email);
        await MarketingConsent.WithdrawAsync(db, LinkActor, message.CustomerId, channel, source, message.CampaignId, "unsubscribed", now, ct, message.Address);
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return true;
    }

    /// <summary>The open pixel: the first open is recorded; the status only moves forward.</summary>
    public async Task<bool> OpenAsync(string token, CancellationToken ct = default)
    {
        if (await tokens.VerifyAsync(token, TokenPurpose.Open, null, ct) is not { } id) return false;
        var now = clock.GetUtcNow().UtcDateTime;
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        await db.CampaignMessages.Where(m => m.Id == id && m.OpenedAt == null).ExecuteUpdateAsync(s => s.SetProperty(m => m.OpenedAt, now), ct);
        await db.CampaignMessages.Where(m => m.Id == id && ReachedStatuses.Contains(m.Status))
            .ExecuteUpdateAsync(s => s.SetProperty(m => m.Status, MessageStatus.Opened), ct);
        return true;
    }

    /// <summary>A tracked link: records the first click (a click is also an open) and returns the signed target.</summary>
    public async Task<ClickTarget?> ClickAsync(string token, string? url, CancellationToken ct = default)
    {
        if (string.IsNullOrEmpty(url) || !Uri.TryCreate(url, UriKind.Absolute, out var target) || target.Scheme is not ("http" or "https")) return null;
        if (await tokens.VerifyAsync(token, TokenPurpose.Click, url, ct) is not { } id) return null;
        var now = clock.GetUtcNow().UtcDateTime;
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        if (!await db.CampaignMessages.AnyAsync(m => m.Id == id, ct)) return null;
        await db.CampaignMessages.Where(m => m.Id == id && m.ClickedAt == null).ExecuteUpdateAsync(s => s.SetProperty(m => m.ClickedAt, now), ct);
        await db.CampaignMessages.Where(m => m.Id == id && m.OpenedAt == null).ExecuteUpdateAsync(s => s.SetProperty(m => m.OpenedAt, now), ct);
        MessageStatus[] before = [.. ReachedStatuses, MessageStatus.Opened];
        await db.CampaignMessages.Where(m => m.Id == id && before.Contains(m.Status))
            .ExecuteUpdateAsync(s => s.SetProperty(m => m.Status, MessageStatus.Clicked), ct);
        return new ClickTarget(url, await tokens.SignAsync(id, TokenPurpose.Visitor, null, ct));
    }

    /// <summary>
    /// A page view from the website snippet: records the visit, identifies the visitor (a click token, or an e-mail from a
    /// form that matches one customer), back-fills the visitor's earlier anonymous visits, and hands over the customer's
    /// due web messages (each exactly once: it is marked Sent and Delivered by a conditional update before it is returned).
    /// </summary>
    public async Task<IReadOnlyList<WebMessageView>?> CollectAsync(CollectInput input, CancellationToken ct = default)
    {
        var visitorId = input.VisitorId?.Trim();
        if (string.IsNullOrEmpty(visitorId) || visitorId.Length > 64 || string.IsNullOrWhiteSpace(input.Url)) return null;
        var now = clock.GetUtcNow().UtcDateTime;
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        Guid? customerId = null;
        Guid? messageId = null;
        if (!string.IsNullOrEmpty(input.Token) && await tokens.VerifyAsync(input.Token, TokenPurpose.Visitor, null, ct) is { } mid)
        {
            var m = await db.CampaignMessages.AsNoTracking().Where(x => x.Id == mid).Select(x => new { x.Id, x.CustomerId }).FirstOrDefaultAsync(ct);
            if (m is not null) (customerId, messageId) = (m.CustomerId, m.Id);
        }
        if (customerId is null && !string.IsNullOrWhiteSpace(input.Email))
        {
            var email = input.Email.Trim().ToLowerInvariant();
            var matches = await db.Customers.AsNoTracking().Where(c => c.ArchivedAt == null && c.Emails.Any(e => e.Address == email))
                .Select(c => c.Id).Take(2).ToListAsync(ct);
            // Two customers with the address: do not guess.
            if (matches.Count == 1) customerId = matches[0];
        }

        var visitor = await db.WebVisitors.FirstOrDefaultAsync(v => v.Id == visitorId, ct);
        if (visitor is null)
        {
            visitor = new WebVisitor { Id = visitorId, FirstSeenAt = now };
            db.WebVisitors.Add(visitor);
        }
        visitor.LastSeenAt = now;
        if (customerId is not null) visitor.CustomerId = customerId;
        db.WebVisits.Add(new WebVisit
        {
            VisitorId = visitorId, CustomerId = visitor.CustomerId, Url = Trim(input.Url, 2000), Title = TrimOrNull(input.Title, 500),
            Referrer = TrimOrNull(input.Referrer, 2000), CampaignMessageId = messageId, OccurredAt = now,
        });
        try { await db.SaveChangesAsync(ct); }
        catch (DbUpdateException)
        {
            // The same new visitor reported twice at once: the other request created it; count this view there.
            db.ChangeTracker.Clear();
            db.WebVisits.Add(new WebVisit { VisitorId = visitorId, CustomerId = customerId, Url = Trim(input.Url, 2000), Title = TrimOrNull(input.Title, 500), OccurredAt = now });
            await db.SaveChangesAsync(ct);
        }
        if (visitor.CustomerId is not { } customer) return [];
        if (customerId is not null)
            await db.WebVisits.Where(v => v.VisitorId == visitorId && v.CustomerId == null).ExecuteUpdateAsync(s => s.SetProperty(v => v.CustomerId, customer), ct);
        // Anyone can type an e-mail address into a form: personal messages go only to a browser that once came through a
        // signed link of that customer (unless the operator trusts form e-mails).
        if (!options.WebMessagesAfterFormIdentify
            && !await db.WebVisits.AnyAsync(v => v.VisitorId == visitorId && v.CampaignMessageId != null
                && db.CampaignMessages.Any(m => m.Id == v.CampaignMessageId && m.CustomerId == customer), ct))
            return [];
        return await DeliverWebMessagesAsync(db, customer, now, ct);
    }

    private async Task<IReadOnlyList<WebMessageView>> DeliverWebMessagesAsync(KoloDb db, Guid customerId, DateTime now, CancellationToken ct)
    {
        var pending = await db.CampaignMessages.AsNoTracking()
            .Where(m => m.CustomerId == customerId && m.Channel == CampaignChannel.Web && m.Status == MessageStatus.Queued && m.PlannedAt <= now
                && db.Campaigns.Any(c => c.Id == m.CampaignId && c.Status == CampaignStatus.Running && (c.EndsAt == null || c.EndsAt > now)))
            .OrderBy(m => m.PlannedAt).Take(5).ToListAsync(ct);
        if (pending.Count == 0) return [];
        var customer = await db.Customers.AsNoTracking().FirstAsync(c => c.Id == customerId, ct);
        var score = await db.CustomerScores.AsNoTracking().FirstOrDefaultAsync(s => s.CustomerId == customerId, ct);
        var campaignIds = pending.Select(m => m.CampaignId).Distinct().ToList();
        var campaigns = await db.Campaigns.AsNoTracking().Include(c => c.Variants).Where(c => campaignIds.Contains(c.Id)).ToDictionaryAsync(c => c.Id, ct);
        var key = await tokens.KeyAsync(ct);
        var result = new List<WebMessageView>();
        foreach (var m in pending)
        {
            var campaign = campaigns[m.CampaignId];
            var variant = campaign.Variants.FirstOrDefault(v => v.Id == m.VariantId) ?? campaign.Variants.OrderBy(v => v.SortOrder).FirstOrDefault();
            if (variant is null) continue;
            if (MarketingConsent.Refusal(customer, CampaignChannel.Web) is { } refusal)
            {
                // Opted out since the audience was built: the message is not shown, and says why.
                await db.CampaignMessages.Where(x => x.Id == m.Id && x.Status == MessageStatus.Queued)
                    .ExecuteUpdateAsync(s => s.SetProperty(x => x.Status, MessageStatus.Suppressed).SetProperty(x => x.Reason, refusal), ct);
                continue;
            }
            var unsubscribe = MessageTokens.Sign(key, m.Id, TokenPurpose.Unsubscribe);
            var rendered = MessageTemplates.Render(variant, CampaignChannel.Web, MessageTemplates.DataFor(customer, score, campaign.Name, $"{publicUrl.Value}/u/{unsubscribe}"));
            if (rendered is null) continue;
            var won = await db.CampaignMessages.Where(x => x.Id == m.Id && x.Status == MessageStatus.Queued)
                .ExecuteUpdateAsync(s => s.SetProperty(x => x.Status, MessageStatus.Delivered).SetProperty(x => x.SentAt, now)
                    .SetProperty(x => x.DeliveredAt, now).SetProperty(x => x.Attempts, x => x.Attempts + 1), ct);
            if (won == 1) result.Add(new WebMessageView(m.Id, rendered.Body));
        }
        return result;
    }

    /// <summary>
    /// A bounce reported by a bounce processor: by the Message-ID the message went out with, else the latest sent message to
    /// the address. False when nothing matches.
    /// </summary>
    public async Task<bool> BounceAsync(BounceInput input, CancellationToken ct = default)
    {
        var errors = new ValidationErrors();
        if (string.IsNullOrWhiteSpace(input.MessageId) && string.IsNullOrWhiteSpace(input.Address)) errors.Add("messageId", "Give the Message-ID or the address that bounced.");
        errors.ThrowIfAny();
        var now = clock.GetUtcNow().UtcDateTime;
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        Guid? id;
        if (!string.IsNullOrWhiteSpace(input.MessageId))
        {
            var providerId = input.MessageId.Trim().Trim('<', '>');
            id = await db.CampaignMessages.Where(m => m.ProviderId == providerId).Select(m => (Guid?)m.Id).FirstOrDefaultAsync(ct);
        }
        else
        {
            var address = input.Address!.Trim();
            id = await db.CampaignMessages.Where(m => m.Address == address && m.SentAt != null && m.Channel == CampaignChannel.Email)
                .OrderByDescending(m => m.SentAt).Select(m => (Guid?)m.Id).FirstOrDefaultAsync(ct);
        }
        if (id is null) return false;
        var reason = Trim(string.IsNullOrWhiteSpace(input.Reason) ? "bounced" : input.Reason.Trim(), 1000);
        await db.CampaignMessages.Where(m => m.Id == id && m.BouncedAt == null)
            .ExecuteUpdateAsync(s => s.SetProperty(m => m.BouncedAt, now).SetProperty(m => m.Status, MessageStatus.Bounced).SetProperty(m => m.Error, reason), ct);
        return true;
    }

    private static string Trim(string s, int max) => s.Length > max ? s[..max] : s;

    private static string? TrimOrNull(string? s, int max) => string.IsNullOrWhiteSpace(s) ? null : Trim(s, max);
}

/// <summary>A customer's campaign messages on the timeline, at the time they went out (with every later event in the details).</summary>
public sealed class CampaignMessageTimelineSource : ITimelineSource
{
    public string Kind => "campaign-message";
    public bool HasChannel => true;

    public async Task<IReadOnlyList<TimelineEntry>> ReadAsync(KoloDb db, Guid customerId, TimelinePosition? before, ContactChannel? channel, int limit, CancellationToken ct)
    {
        // At when it went out, or when the server refused it (a bounce at send time has no SentAt).
        var q = db.CampaignMessages.AsNoTracking().Where(m => m.CustomerId == customerId && (m.SentAt != null || m.BouncedAt != null));
        if (channel is { } ch)
        {
            CampaignChannel[] matching = [.. Enum.GetValues<CampaignChannel>().Where(c => MarketingConsent.CustomerChannel(c) == ch)];
            q = q.Where(m => m.Channel != null && matching.Contains(m.Channel.Value));
        }
        if (before is { } b) q = q.Where(m => (m.SentAt ?? m.BouncedAt) <= b.At && ((m.SentAt ?? m.BouncedAt) < b.At || ((m.SentAt ?? m.BouncedAt) == b.At && m.Id.CompareTo(b.Id) < 0)));
        var rows = await q.OrderByDescending(m => m.SentAt ?? m.BouncedAt).ThenByDescending(m => m.Id).Take(limit)
            .Join(db.Campaigns, m => m.CampaignId, c => c.Id, (m, c) => new { m, c.Name }).ToListAsync(ct);
        return rows.OrderByDescending(r => r.m.SentAt ?? r.m.BouncedAt).ThenByDescending(r => r.m.Id).Select(r => new TimelineEntry
        {
            Kind = Kind, Id = r.m.Id, At = (r.m.SentAt ?? r.m.BouncedAt)!.Value, Title = r.Name, Status = r.m.Status.ToString(),
            Channel = r.m.Channel is { } c ? MarketingConsent.CustomerChannel(c) : null, Type = r.m.Channel?.ToString(), Direction = "Outbound",
            Summary = r.m.Error,
            Details = new Dictionary<string, object?>
            {
                ["campaignId"] = r.m.CampaignId, ["address"] = r.m.Address, ["sentAt"] = r.m.SentAt, ["deliveredAt"] = r.m.DeliveredAt,
                ["openedAt"] = r.m.OpenedAt, ["clickedAt"] = r.m.ClickedAt, ["respondedAt"] = r.m.RespondedAt, ["unsubscribedAt"] = r.m.UnsubscribedAt,
                ["bouncedAt"] = r.m.BouncedAt, ["taskId"] = r.m.TaskId,
            },
        }).ToList();
    }
}

/// <summary>The identified visitor's page views on the customer's timeline.</summary>
public sealed class WebVisitTimelineSource : ITimelineSource
{
    public string Kind => "web-visit";
    public bool HasChannel => true;

    public async Task<IReadOnlyList<TimelineEntry>> ReadAsync(KoloDb db, Guid customerId, TimelinePosition? before, ContactChannel? channel, int limit, CancellationToken ct)
    {
        if (channel is not null and not ContactChannel.Web) return [];
        var q = db.WebVisits.AsNoTracking().Where(v => v.CustomerId == customerId);
        if (before is { } b) q = q.Where(v => v.OccurredAt <= b.At && (v.OccurredAt < b.At || (v.OccurredAt == b.At && v.Id.CompareTo(b.Id) < 0)));
        var rows = await q.OrderByDescending(v => v.OccurredAt).ThenByDescending(v => v.Id).Take(limit).ToListAsync(ct);
        return rows.Select(v => new TimelineEntry
        {
            Kind = Kind, Id = v.Id, At = v.OccurredAt, Title = v.Title ?? v.Url, Summary = v.Url, Channel = ContactChannel.Web, Direction = "Inbound",
            Details = new Dictionary<string, object?> { ["url"] = v.Url, ["referrer"] = v.Referrer, ["campaignMessageId"] = v.CampaignMessageId, ["visitorId"] = v.VisitorId },
        }).ToList();
    }
}
