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

    /// <summary>The campaign channel that reaches a customer channel (phone: a call); null for none.</summary>
    public static CampaignChannel? CampaignChannelOf(ContactChannel? channel) => channel switch
    {
        ContactChannel.Email => CampaignChannel.Email,
        ContactChannel.Sms => CampaignChannel.Sms,
        ContactChannel.Phone => CampaignChannel.Call,
        ContactChannel.Web => CampaignChannel.Web,
        _ => null,
    };

    /// <summary>The customer's latest word on the channel a campaign channel needs: true granted, false withdrawn, null never asked.</summary>
    public static bool? Allows(IEnumerable<ChannelConsent> consents, CampaignChannel channel)
    {
        var wanted = CustomerChannel(channel);
        return consents.LastOrDefault(x => x.Channel == wanted)?.Granted;
    }

    /// <summary>The suppression a message gets when its customer's consent is missing now (null: it may go).</summary>
    public static SuppressionReason? Refusal(Customer customer, CampaignChannel channel) => Allows(customer.Consents, channel) switch
    {
        true => null,
        false => SuppressionReason.Unsubscribed,
        null => SuppressionReason.NoConsent,
    };

    /// <summary>
    /// Withdraws the customer's consent for a channel (an unsubscribe link, negative feedback) and records it: the consent
    /// list says when and how, the change is audited, and an interaction with negative sentiment appears on the timeline.
    /// The person behind an address said no, whichever record the message went to: every other record holding the same
    /// <paramref name="address"/> (e-mail, or phone number for SMS and calls) loses its consent for the channel too.
    /// Adds to <paramref name="db"/> without saving, so the caller commits it together with its own changes.
    /// Returns false when the customer does not exist.
    /// </summary>
    public static async Task<bool> WithdrawAsync(
        KoloDb db, Actor actor, Guid customerId, ContactChannel channel, string source, Guid? campaignId, string? reason,
        DateTime now, CancellationToken ct, string? address = null)
    {
        var customer = await db.Customers.FirstOrDefaultAsync(c => c.Id == customerId, ct);
        if (customer is null) return false;
        await WithdrawOneAsync(db, actor, customer, channel, source, campaignId, reason, now, ct);
        foreach (var other in await SharingAddressAsync(db, customer.Id, channel, address, ct))
            if (other.Consents.LastOrDefault(x => x.Channel == channel)?.Granted != false)
                await WithdrawOneAsync(db, actor, other, channel, source, campaignId, SameAddressReason(reason), now, ct);
        return true;
    }

    private static string SameAddressReason(string? reason) =>
        string.IsNullOrEmpty(reason) ? "same address as the record that opted out" : $"{reason} (same address as the record that opted out)";

    /// <summary>The other live records whose e-mail (or phone number) is exactly <paramref name="address"/>.</summary>
    private static async Task<List<Customer>> SharingAddressAsync(KoloDb db, Guid customerId, ContactChannel channel, string? address, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(address) || channel == ContactChannel.Web) return [];
        var email = channel == ContactChannel.Email;
        var wanted = email ? TextNormalizer.NormalizeEmail(address) : TextNormalizer.Digits(address);
        if (wanted.Length == 0) return [];
        // The search terms index addresses (e-mails cut to 200 characters), so this is an index lookup; the full
        // address is compared below.
        var term = email ? CustomerService.EmailSearchTerm(address) : wanted;
        var kind = email ? SearchTermKind.Email : SearchTermKind.Phone;
        var others = await db.Customers
            .Where(c => c.Id != customerId && c.MergedIntoId == null
                        && db.CustomerSearchTerms.Any(t => t.CustomerId == c.Id && t.Term == term && t.Kind == kind))
            .ToListAsync(ct);
        return others.Where(c => email
                ? c.Emails.Any(e => TextNormalizer.NormalizeEmail(e.Address) == wanted)
                : c.Phones.Any(p => TextNormalizer.Digits(p.Number) == wanted))
            .ToList();
    }

    private static async Task WithdrawOneAsync(
        KoloDb db, Actor actor, Customer customer, ContactChannel channel, string source, Guid? campaignId, string? reason,
        DateTime now, CancellationToken ct)
    {
        var customerId = customer.Id;
        var before = Audit.Text(customer.Consents.Select(x => $"{x.Channel}: {(x.Granted ? "granted" : "withdrawn")}").ToList());
        customer.Consents = [.. customer.Consents.Where(x => x.Channel != channel), new ChannelConsent { Channel = channel, Granted = false, At = now, Source = source }];
        customer.UpdatedAt = now;
        customer.Version = Guid.NewGuid();
        var after = Audit.Text(customer.Consents.Select(x => $"{x.Channel}: {(x.Granted ? "granted" : "withdrawn")}").ToList());
        db.AuditEntries.Add(Audit.Entry(actor, now, "customer", customerId, "consent-withdrawn", [new FieldChange("consents", before, after)]));
        // The opt-out stops every contact on the channel that is still waiting, of any campaign (the sender also checks).
        var campaignChannel = CampaignChannelOf(channel);
        await db.CampaignMessages.Where(m => m.CustomerId == customerId && m.Channel == campaignChannel && m.Status == MessageStatus.Queued)
            .ExecuteUpdateAsync(s => s.SetProperty(m => m.Status, MessageStatus.Suppressed).SetProperty(m => m.Reason, SuppressionReason.Unsubscribed), ct);
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
    }
}
