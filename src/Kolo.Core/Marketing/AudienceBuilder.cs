using System.Text.Json;
using System.Text.Json.Serialization;
using Kolo.Core.Customers;
using Kolo.Core.Data;
using Microsoft.EntityFrameworkCore;

namespace Kolo.Core.Marketing;

/// <summary>What an audience build found: the preview shows it before launch, the launch job stores it as its result.</summary>
public sealed record AudienceSummary
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { Converters = { new JsonStringEnumConverter() } };

    /// <summary>Members of the target segments (not counting those already planned by an earlier run) that some variant is for.</summary>
    public int Targeted { get; init; }
    /// <summary>Members no variant is meant for (e.g. customers when the only variant is for prospects): not contacted, not recorded.</summary>
    public int WithoutVariant { get; init; }
    public int Reached { get; init; }
    public int Suppressed { get; init; }
    /// <summary>Key: pressure_cap, no_consent, unsubscribed, no_address, same_address, control_group, over_budget.</summary>
    public Dictionary<string, int> SuppressedByReason { get; init; } = [];
    public Dictionary<string, int> ReachedByChannel { get; init; } = [];
    public List<VariantAudienceCount> Variants { get; init; } = [];
    /// <summary>Queued messages of lower-priority campaigns this campaign takes the place of.</summary>
    public int Displaced { get; init; }
    /// <summary>Fixed cost plus the unit cost of every reached message.</summary>
    public long EstimatedCostMinor { get; init; }
    public string Currency { get; init; } = "";
    /// <summary>When the messages are planned: the start (or now), moved out of the quiet hours.</summary>
    public DateTime PlannedAt { get; init; }
    public long ElapsedMs { get; init; }
    /// <summary>Milliseconds by stage (candidates, details, contacts, decide, write), for the benchmark.</summary>
    public Dictionary<string, long> StageMs { get; init; } = [];
}

public sealed record VariantAudienceCount(Guid VariantId, string Name, int Reached, int Suppressed, int ControlGroup);

/// <summary>The launch changed under a concurrent sender or launch; the whole launch is rolled back and run again.</summary>
public sealed class AudienceConflictException(string message) : Exception(message);

/// <summary>
/// Builds a campaign's audience: for each member of the target segments the variant, the channel and whether (and why not)
/// they are contacted. Reasons are checked in this order: no_address, unsubscribed, no_consent, pressure_cap, same_address
/// (one contact per e-mail or phone number), over_budget, control_group (drawn from those who would be contacted). The
/// address and the budget go to the customers of highest CLV first.
/// Contact pressure counts a person's queued and sent messages of other campaigns (the record's own, and those that reached
/// its e-mail address or phone number through another record) planned less than PeriodDays before or
/// after this campaign's planned time — the last message placed in any PeriodDays window sees every other one in it, so no
/// window ever holds more than the cap. When there is no room a higher-priority campaign takes the place of a lower-priority
/// campaign's still-queued messages (they become pressure_cap with DisplacedByCampaignId); sent messages are never displaced
/// and equal priority is first come, first served.
/// Everything is read in batches (the candidates' ids and CLV in one query, then per batch their addresses and consents,
/// web visitors, variant segments and existing contacts) and written with the bulk writer plus one UPDATE per batch.
/// </summary>
public static class AudienceBuilder
{
    public const int BatchSize = 4000;

    private sealed record ExistingContact(Guid Id, Guid CustomerId, CampaignChannel? Channel, MessageStatus Status, DateTime PlannedAt, int Priority);

    /// <summary>What the build decided for one customer before the budget: the variant, the channel and why not (if not).</summary>
    private readonly record struct Decision(
        Guid CustomerId, long Clv, Guid VariantId, CampaignChannel? Channel, SuppressionReason? Reason, string? Address, List<ExistingContact>? Taking);

    /// <summary>Whether a customer belongs to a variant's audience (one query for a segment variant).</summary>
    public static async Task<bool> MatchesAsync(KoloDb db, CampaignVariant variant, Guid customerId, LifecycleStatus status, DateTime now, CancellationToken ct) =>
        variant.Audience switch
        {
            VariantAudience.All => true,
            VariantAudience.Prospects => IsProspect(status),
            VariantAudience.Customers => !IsProspect(status),
            _ => variant.SegmentId is { } segmentId && await db.Segments.AsNoTracking().FirstOrDefaultAsync(s => s.Id == segmentId, ct) is { } segment
                 && await (await SegmentEvaluator.QueryAsync(db, segment, now, ct)).AnyAsync(c => c.Id == customerId, ct),
        };

    private static bool IsProspect(LifecycleStatus status) => status is LifecycleStatus.Prospect or LifecycleStatus.Lead;

    /// <summary>The seed of the control-group draw: the stored one, else one derived from the campaign id (so a preview and the launch agree).</summary>
    public static int SeedOf(Campaign campaign) => campaign.AudienceSeed ?? (int)(Mix(BitConverter.ToUInt64(campaign.Id.ToByteArray(), 0)) & 0x7FFF_FFFF);

    /// <summary>A deterministic draw in [0, 10000) per customer and seed.</summary>
    public static int Draw(int seed, Guid customerId)
    {
        var bytes = customerId.ToByteArray();
        var h = Mix(BitConverter.ToUInt64(bytes, 0) ^ (ulong)(uint)seed);
        h = Mix(h ^ BitConverter.ToUInt64(bytes, 8));
        return (int)(h % 10_000);
    }

    private static ulong Mix(ulong z)
    {
        // SplitMix64's finaliser: every input bit changes about half of the output bits.
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    public static long UnitCost(Campaign c, CampaignChannel channel) => channel switch
    {
        CampaignChannel.Email => c.EmailCostMinor,
        CampaignChannel.Sms => c.SmsCostMinor,
        CampaignChannel.Call => c.CallCostMinor,
        _ => c.WebCostMinor,
    };

    private static int? Cap(ContactPolicy p, CampaignChannel channel) => channel switch
    {
        CampaignChannel.Email => p.MaxEmail,
        CampaignChannel.Sms => p.MaxSms,
        CampaignChannel.Call => p.MaxCall,
        _ => p.MaxWeb,
    };

    /// <summary>
    /// An inbox or a phone, as the search terms write its address: an SMS and a call to one number reach the same phone.
    /// Null for the web channel or no address.
    /// </summary>
    private static string? AddressKey(CampaignChannel channel, string? address) =>
        string.IsNullOrWhiteSpace(address) ? null : channel switch
        {
            CampaignChannel.Email => "email:" + CustomerService.EmailSearchTerm(address),
            CampaignChannel.Sms or CampaignChannel.Call => "phone:" + TextNormalizer.Digits(address),
            _ => null,
        };

    /// <summary>A channel and an address, written as the search terms write it.</summary>
    private static string ConsentKey(CampaignChannel channel, string address) =>
        channel + ":" + (channel == CampaignChannel.Email ? CustomerService.EmailSearchTerm(address) : TextNormalizer.Digits(address));

    /// <summary>
    /// Addresses: the e-mail addresses and phone numbers that more than one record holds (a lead and a customer, two
    /// intake records of one person), as <see cref="AddressKey"/> writes them. Withdrawn: those on which one of the records
    /// has withdrawn a channel's consent — by an opt-out, an edit or an import (<see cref="ConsentKey"/>) — and when, the
    /// latest. Shared addresses are few, so they are read once per build from the search terms.
    /// </summary>
    private static async Task<(HashSet<string> Addresses, Dictionary<string, DateTime> Withdrawn)> SharedAddressesAsync(KoloDb db, CancellationToken ct)
    {
        var shared = db.CustomerSearchTerms.Where(t => t.Kind != SearchTermKind.Name).GroupBy(t => t.Term).Where(g => g.Count() > 1).Select(g => g.Key);
        var holders = await (from t in db.CustomerSearchTerms.AsNoTracking()
                             where t.Kind != SearchTermKind.Name && shared.Contains(t.Term)
                             join c in db.Customers.AsNoTracking() on t.CustomerId equals c.Id
                             select new { t.Term, t.Kind, c.Consents }).ToListAsync(ct);
        var addresses = new HashSet<string>(StringComparer.Ordinal);
        var withdrawn = new Dictionary<string, DateTime>(StringComparer.Ordinal);
        foreach (var h in holders)
        {
            addresses.Add((h.Kind == SearchTermKind.Email ? "email:" : "phone:") + h.Term);
            foreach (var channel in h.Kind == SearchTermKind.Email ? [CampaignChannel.Email] : new[] { CampaignChannel.Sms, CampaignChannel.Call })
            {
                var wanted = MarketingConsent.CustomerChannel(channel);
                // The latest withdrawal on the address: a record that granted consent after it keeps its own word.
                if (h.Consents.LastOrDefault(x => x.Channel == wanted) is { Granted: false } no
                    && (!withdrawn.TryGetValue(channel + ":" + h.Term, out var at) || no.At > at))
                    withdrawn[channel + ":" + h.Term] = no.At;
            }
        }
        return (addresses, withdrawn);
    }

    private static string ReasonKey(SuppressionReason reason) => reason switch
    {
        SuppressionReason.PressureCap => "pressure_cap",
        SuppressionReason.NoConsent => "no_consent",
        SuppressionReason.Unsubscribed => "unsubscribed",
        SuppressionReason.NoAddress => "no_address",
        SuppressionReason.ControlGroup => "control_group",
        SuppressionReason.SameAddress => "same_address",
        _ => "over_budget",
    };

    /// <summary>
    /// Builds the audience. With <paramref name="write"/> the messages are written (and displaced ones updated) inside the
    /// caller's transaction; without it only the counts are returned.
    /// </summary>
    public static async Task<AudienceSummary> BuildAsync(
        KoloDb db, Campaign campaign, ContactPolicy policy, DateTime now, bool write, Action<int, string>? progress, CancellationToken ct)
    {
        var started = System.Diagnostics.Stopwatch.StartNew();
        var plannedAt = ContactPolicyService.OutsideQuietHours(policy, campaign.StartsAt > now ? campaign.StartsAt : now);
        var seed = SeedOf(campaign);
        var campaignId = campaign.Id;
        var variants = campaign.Variants.OrderBy(v => v.SortOrder).ToList();
        progress?.Invoke(0, "Reading the audience");
        var stageMs = new Dictionary<string, long>();
        var stage = System.Diagnostics.Stopwatch.StartNew();
        void Lap(string name)
        {
            stageMs[name] = stageMs.GetValueOrDefault(name) + stage.ElapsedMilliseconds;
            stage.Restart();
        }

        var target = await SegmentEvaluator.QueryAsync(db, campaign.SegmentIds, campaign.ExcludeSegmentIds, now, ct);
        // A re-run (after a crash) skips customers the campaign has planned already: one message per customer and campaign.
        target = target.Where(c => !db.CampaignMessages.Any(m => m.CampaignId == campaignId && m.CustomerId == c.Id));
        var candidates = await (
            from c in target
            join s in db.CustomerScores on c.Id equals s.CustomerId into scores
            from s in scores.DefaultIfEmpty()
            select new { c.Id, Clv = s == null ? 0L : s.ClvMinor }).ToListAsync(ct);
        // Read in id order: ids are time-ordered (version 7), so a batch reads neighbouring rows rather than pages all over
        // the table. One customer's decision never depends on another's except through the budget, which is settled after,
        // in CLV order.
        candidates.Sort((a, b) => a.Id.CompareTo(b.Id));
        Lap("candidates");

        var segmentVariants = new Dictionary<Guid, IQueryable<Customer>>();
        foreach (var v in variants.Where(v => v.Audience == VariantAudience.Segment && v.SegmentId is not null))
        {
            var segmentId = v.SegmentId!.Value;
            if (segmentVariants.ContainsKey(segmentId)) continue;
            var segment = await db.Segments.AsNoTracking().FirstOrDefaultAsync(s => s.Id == segmentId, ct);
            segmentVariants[segmentId] = segment is null ? db.Customers.Where(c => false) : await SegmentEvaluator.QueryAsync(db, segment, now, ct);
        }

        var hasWeb = campaign.Channels.Contains(CampaignChannel.Web);
        var windowStart = plannedAt.AddDays(-policy.PeriodDays);
        var windowEnd = plannedAt.AddDays(policy.PeriodDays);
        // Contacts of other campaigns around the planned time that count against the policy: queued, being sent or sent
        // (a cancelled message — failed without ever being claimed — and suppressed ones do not). Read once for the whole
        // window: asked per batch of customers, the database scanned the same messages again for every batch (38 s of 64 s
        // at a million customers).
        var shared = await SharedAddressesAsync(db, ct);
        Lap("shared addresses");
        var candidateIds = candidates.Select(c => c.Id).ToHashSet();
        var contactsInWindow = (await (
                from m in db.CampaignMessages
                where m.PlannedAt > windowStart && m.PlannedAt < windowEnd && m.CampaignId != campaignId
                      && m.Status != MessageStatus.Suppressed && !(m.Status == MessageStatus.Failed && m.ClaimedAt == null)
                join c in db.Campaigns on m.CampaignId equals c.Id
                select new { m.Id, m.CustomerId, m.Channel, m.Status, m.PlannedAt, m.Address, c.Priority }).ToListAsync(ct))
            .Select(x => (Contact: new ExistingContact(x.Id, x.CustomerId, x.Channel, x.Status, x.PlannedAt, x.Priority),
                          // Only a shared address can tie a contact to another record of the same person.
                          Shared: shared.Addresses.Count > 0 && x.Channel is { } ch && AddressKey(ch, x.Address) is { } key && shared.Addresses.Contains(key) ? key : null))
            .Where(x => candidateIds.Contains(x.Contact.CustomerId) || x.Shared is not null)
            .ToList();
        var existing = contactsInWindow.ToLookup(x => x.Contact.CustomerId, x => x.Contact);
        var existingByAddress = contactsInWindow.Where(x => x.Shared is not null).ToLookup(x => x.Shared!, x => x.Contact);
        Lap("contacts");
        var decisions = new List<Decision>(candidates.Count);
        var withoutVariant = 0;
        var readShare = write ? 60 : 95;

        for (var offset = 0; offset < candidates.Count; offset += BatchSize)
        {
            ct.ThrowIfCancellationRequested();
            var batch = candidates.GetRange(offset, Math.Min(BatchSize, candidates.Count - offset));
            var ids = batch.Select(c => c.Id).ToList();
            var details = (await db.Customers.AsNoTracking().Where(c => ids.Contains(c.Id))
                    .Select(c => new { c.Id, c.Status, c.PreferredChannel, c.Emails, c.Phones, c.Consents }).ToListAsync(ct))
                .ToDictionary(c => c.Id);
            var withVisitor = hasWeb
                ? (await db.WebVisitors.Where(v => v.CustomerId != null && ids.Contains(v.CustomerId.Value)).Select(v => v.CustomerId!.Value).Distinct().ToListAsync(ct)).ToHashSet()
                : [];
            Lap("details");
            var inSegment = new Dictionary<Guid, HashSet<Guid>>();
            foreach (var (segmentId, query) in segmentVariants)
                inSegment[segmentId] = (await query.Where(c => ids.Contains(c.Id)).Select(c => c.Id).ToListAsync(ct)).ToHashSet();
            Lap("segments");

            foreach (var candidate in batch)
            {
                var id = candidate.Id;
                if (!details.TryGetValue(id, out var c)) continue;
                var variant = variants.FirstOrDefault(v => v.Audience switch
                {
                    VariantAudience.All => true,
                    VariantAudience.Prospects => IsProspect(c.Status),
                    VariantAudience.Customers => !IsProspect(c.Status),
                    _ => v.SegmentId is { } s && inSegment.TryGetValue(s, out var set) && set.Contains(id),
                });
                if (variant is null) { withoutVariant++; continue; }

                string? Address(CampaignChannel ch) => ch switch
                {
                    CampaignChannel.Email => c.Emails.Select(e => e.Address).FirstOrDefault(a => !string.IsNullOrWhiteSpace(a)),
                    CampaignChannel.Sms or CampaignChannel.Call => c.Phones.Select(p => p.Number).FirstOrDefault(n => !string.IsNullOrWhiteSpace(n)),
                    _ => withVisitor.Contains(id) ? "" : null,
                };
                bool? Consent(CampaignChannel ch)
                {
                    var wanted = MarketingConsent.CustomerChannel(ch);
                    var own = c.Consents.LastOrDefault(x => x.Channel == wanted);
                    // A "no" given later through another record with the same address holds here too.
                    return own is { Granted: true } && shared.Withdrawn.Count > 0 && Address(ch) is { Length: > 0 } a
                           && shared.Withdrawn.TryGetValue(ConsentKey(ch, a), out var withdrawnAt) && withdrawnAt > own.At
                        ? false : own?.Granted;
                }

                var preferred = MarketingConsent.CampaignChannelOf(c.PreferredChannel);
                var order = preferred is { } p && campaign.Channels.Contains(p) ? campaign.Channels.Where(x => x != p).Prepend(p) : campaign.Channels;
                var addressed = order.Where(ch => Address(ch) is not null).ToList();
                var eligible = addressed.Where(ch => Consent(ch) == true).ToList();
                SuppressionReason? reason = null;
                CampaignChannel? channel = null;
                List<ExistingContact>? taking = null;
                if (addressed.Count == 0) reason = SuppressionReason.NoAddress;
                else if (eligible.Count == 0)
                {
                    reason = addressed.All(ch => Consent(ch) == false) ? SuppressionReason.Unsubscribed : SuppressionReason.NoConsent;
                    channel = addressed[0];
                }
                else
                {
                    // The person's contacts: this record's, and those that reached its addresses through their other records.
                    var contacts = existing[id].ToList();
                    foreach (var ch in shared.Addresses.Count > 0 ? addressed : [])
                        if (AddressKey(ch, Address(ch)) is { } key && shared.Addresses.Contains(key))
                            contacts.AddRange(existingByAddress[key].Where(x => x.CustomerId != id && contacts.All(y => y.Id != x.Id)));
                    // Nullable, so "no channel has room" is not mistaken for the first enum value.
                    channel = eligible.Select(ch => (CampaignChannel?)ch).FirstOrDefault(ch => HasRoom(policy, contacts, ch!.Value));
                    if (channel is null)
                    {
                        foreach (var ch in eligible)
                        {
                            if (TryDisplace(policy, contacts, ch, campaign.Priority) is { } freed) { channel = ch; taking = freed; break; }
                        }
                    }
                    if (channel is null)
                    {
                        reason = SuppressionReason.PressureCap;
                        channel = eligible[0];
                    }
                }
                var address = reason is null && channel is { } chosen && chosen != CampaignChannel.Web ? Address(chosen) : null;
                decisions.Add(new Decision(id, candidate.Clv, variant.Id, channel, reason, address, taking));
            }
            var read = Math.Min(candidates.Count, offset + BatchSize);
            progress?.Invoke((int)(read * (long)readShare / candidates.Count), $"Checked {read:N0} of {candidates.Count:N0}");
            Lap("decide");
        }

        var byValue = Enumerable.Range(0, decisions.Count).Where(i => decisions[i].Reason is null)
            .OrderByDescending(i => decisions[i].Clv).ThenBy(i => decisions[i].CustomerId).ToList();
        // One contact per address: records sharing an e-mail or a phone number (a lead and a customer, two intake records
        // of one person) reach one inbox. The most valuable record keeps the contact; the others are suppressed.
        var addresses = new HashSet<string>(StringComparer.Ordinal);
        foreach (var i in byValue)
        {
            var d = decisions[i];
            if (AddressKey(d.Channel!.Value, d.Address) is { } key && !addresses.Add(key))
                decisions[i] = d with { Reason = SuppressionReason.SameAddress, Taking = null };
        }
        Lap("addresses");

        // The budget: the most valuable customers first; a message that would pass it is suppressed (and displaces nothing).
        var spent = campaign.FixedCostMinor;
        if (campaign.BudgetMinor > 0)
        {
            foreach (var i in byValue.Where(i => decisions[i].Reason is null))
            {
                var cost = UnitCost(campaign, decisions[i].Channel!.Value);
                if (spent + cost > campaign.BudgetMinor) decisions[i] = decisions[i] with { Reason = SuppressionReason.OverBudget, Taking = null };
                else spent += cost;
            }
        }
        else spent += decisions.Where(d => d.Reason is null).Sum(d => UnitCost(campaign, d.Channel!.Value));
        Lap("budget");

        // The control group is drawn last, from exactly the customers the campaign would contact (after the contact
        // pressure and the budget), so the two groups are alike and their difference is the campaign's effect. A held-out
        // customer costs nothing and displaces no other campaign's message.
        for (var i = 0; i < decisions.Count; i++)
            if (decisions[i].Reason is null && Draw(seed, decisions[i].CustomerId) < campaign.ControlGroupPercent * 100)
            {
                spent -= UnitCost(campaign, decisions[i].Channel!.Value);
                decisions[i] = decisions[i] with { Reason = SuppressionReason.ControlGroup, Address = null, Taking = null };
            }

        var byReason = new Dictionary<string, int>();
        var byChannel = new Dictionary<string, int>();
        var variantCounts = variants.ToDictionary(v => v.Id, _ => (Reached: 0, Suppressed: 0, Control: 0));
        int reached = 0, suppressed = 0, displacedTotal = 0;
        // Two records of one person may both count the same queued message of another campaign and both take its
        // place: it is displaced once.
        var displacedIds = new HashSet<Guid>();
        for (var offset = 0; offset < decisions.Count; offset += BatchSize)
        {
            ct.ThrowIfCancellationRequested();
            var messages = new List<object>(write ? BatchSize : 0);
            var displaced = new List<Guid>();
            foreach (var d in decisions.GetRange(offset, Math.Min(BatchSize, decisions.Count - offset)))
            {
                var counts = variantCounts[d.VariantId];
                if (d.Reason is { } r)
                {
                    suppressed++;
                    byReason[ReasonKey(r)] = byReason.GetValueOrDefault(ReasonKey(r)) + 1;
                    variantCounts[d.VariantId] = r == SuppressionReason.ControlGroup
                        ? counts with { Suppressed = counts.Suppressed + 1, Control = counts.Control + 1 }
                        : counts with { Suppressed = counts.Suppressed + 1 };
                }
                else
                {
                    reached++;
                    var key = d.Channel!.Value.ToString();
                    byChannel[key] = byChannel.GetValueOrDefault(key) + 1;
                    variantCounts[d.VariantId] = counts with { Reached = counts.Reached + 1 };
                    foreach (var taken in d.Taking ?? [])
                    {
                        if (!displacedIds.Add(taken.Id)) continue;
                        displacedTotal++;
                        displaced.Add(taken.Id);
                    }
                }
                if (write)
                    messages.Add(new CampaignMessage
                    {
                        CampaignId = campaignId, VariantId = d.VariantId, CustomerId = d.CustomerId, Channel = d.Channel, PlannedAt = plannedAt, CreatedAt = now,
                        Status = d.Reason is null ? MessageStatus.Queued : MessageStatus.Suppressed, Reason = d.Reason, Address = d.Address,
                    });
            }
            if (!write) continue;
            if (displaced.Count > 0)
            {
                // Only still-queued messages are displaced: one the sender claimed meanwhile has gone out, so the plan
                // no longer holds and the launch starts over.
                var updated = await db.CampaignMessages.Where(m => displaced.Contains(m.Id) && m.Status == MessageStatus.Queued)
                    .ExecuteUpdateAsync(s => s.SetProperty(m => m.Status, MessageStatus.Suppressed)
                        .SetProperty(m => m.Reason, SuppressionReason.PressureCap)
                        .SetProperty(m => m.DisplacedByCampaignId, campaignId), ct);
                if (updated != displaced.Count)
                    throw new AudienceConflictException("A message to be displaced was sent meanwhile.");
            }
            await BulkInsert.WriteAsync(db, messages, ct);
            Lap("write");
            var written = Math.Min(decisions.Count, offset + BatchSize);
            progress?.Invoke(readShare + (int)(written * (100L - readShare) / Math.Max(1, decisions.Count)), $"Planned {written:N0} of {decisions.Count:N0}");
        }

        var summary = new AudienceSummary
        {
            Targeted = decisions.Count, WithoutVariant = withoutVariant, Reached = reached, Suppressed = suppressed,
            SuppressedByReason = byReason, ReachedByChannel = byChannel,
            Variants = variants.Select(v => new VariantAudienceCount(v.Id, v.Name, variantCounts[v.Id].Reached, variantCounts[v.Id].Suppressed, variantCounts[v.Id].Control)).ToList(),
            Displaced = displacedTotal, EstimatedCostMinor = spent, Currency = campaign.Currency, PlannedAt = plannedAt,
            ElapsedMs = started.ElapsedMilliseconds, StageMs = stageMs,
        };
        return summary;
    }

    private static bool HasRoom(ContactPolicy policy, List<ExistingContact> contacts, CampaignChannel channel) =>
        contacts.Count < policy.MaxTotal && (Cap(policy, channel) is not { } cap || contacts.Count(x => x.Channel == channel) < cap);

    /// <summary>
    /// The lower-priority queued messages whose removal makes room on <paramref name="channel"/> (lowest priority first,
    /// then the latest planned), or null when removing all of them would not be enough.
    /// </summary>
    private static List<ExistingContact>? TryDisplace(ContactPolicy policy, List<ExistingContact> contacts, CampaignChannel channel, int priority)
    {
        var movable = contacts.Where(x => x.Status == MessageStatus.Queued && x.Priority < priority)
            .OrderBy(x => x.Priority).ThenByDescending(x => x.PlannedAt).ToList();
        if (movable.Count == 0) return null;
        var cap = Cap(policy, channel);
        var needChannel = cap is { } c ? Math.Max(0, contacts.Count(x => x.Channel == channel) + 1 - c) : 0;
        var needTotal = Math.Max(0, contacts.Count + 1 - policy.MaxTotal);
        var taken = movable.Where(x => x.Channel == channel).Take(needChannel).ToList();
        if (taken.Count < needChannel) return null;
        var more = needTotal - taken.Count;
        if (more > 0)
        {
            var others = movable.Where(x => !taken.Contains(x)).Take(more).ToList();
            if (others.Count < more) return null;
            taken.AddRange(others);
        }
        return taken;
    }
}
