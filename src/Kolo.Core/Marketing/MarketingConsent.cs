using Kolo.Core.Customers;
using Kolo.Core.Data;
using Kolo.Core.Platform;
using Kolo.Core.Timeline;
using Microsoft.EntityFrameworkCore;

namespace Kolo.Core.Marketing;

/// <summary>Consent as campaigns see it: which customer channel a campaign channel needs, and withdrawing it.</summary>
public static class MarketingConsent
{
    /// <summary>The customer channel whose consent a campaign channel needs (a call needs phone consent).</summary>
    public static ContactChannel CustomerChannel(CampaignChannel channel) => channel switch
    {
        CampaignChannel.Email => ContactChannel.Email,
        CampaignChannel.Sms => ContactChannel.Sms,
        CampaignChannel.Call => ContactChannel.Phone,
        _ => ContactChannel.Web,
    };

    /// <summary>
    /// Withdraws the customer's consent for a channel (an unsubscribe link, negative feedback) and records it: the consent
    /// list says when and how, the change is audited, and an interaction with negative sentiment appears on the timeline.
    /// Adds to <paramref name="db"/> without saving, so the caller commits it together with its own changes.
    /// Returns false when the customer does not exist.
    /// </summary>
    public static async Task<bool> WithdrawAsync(
        KoloDb db, Actor actor, Guid customerId, ContactChannel channel, string source, Guid? campaignId, string? reason,
        DateTime now, CancellationToken ct)
    {
        var customer = await db.Customers.FirstOrDefaultAsync(c => c.Id == customerId, ct);
        if (customer is null) return false;
        var before = Audit.Text(customer.Consents.Select(x => $"{x.Channel}: {(x.Granted ? "granted" : "withdrawn")}").ToList());
        customer.Consents = [.. customer.Consents.Where(x => x.Channel != channel), new ChannelConsent { Channel = channel, Granted = false, At = now, Source = source }];
        customer.UpdatedAt = now;
        customer.Version = Guid.NewGuid();
        var after = Audit.Text(customer.Consents.Select(x => $"{x.Channel}: {(x.Granted ? "granted" : "withdrawn")}").ToList());
        db.AuditEntries.Add(Audit.Entry(actor, now, "customer", customerId, "consent-withdrawn", [new FieldChange("consents", before, after)]));
        db.Interactions.Add(new Interaction
        {
            CustomerId = customerId,
            Type = channel switch { ContactChannel.Email => InteractionType.Email, ContactChannel.Sms => InteractionType.Sms, ContactChannel.Phone => InteractionType.Call, _ => InteractionType.Web },
            Channel = channel,
            Direction = InteractionDirection.Inbound,
            Subject = $"Opted out of {channel} ({source})",
            Outcome = reason,
            Sentiment = Sentiment.Negative,
            OccurredAt = now,
            RelatedType = campaignId is null ? null : "campaign",
            RelatedId = campaignId,
            CreatedAt = now,
            CreatedById = actor.UserId == Guid.Empty ? null : actor.UserId,
        });
        return true;
    }
}
