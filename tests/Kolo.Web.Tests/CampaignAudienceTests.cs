using System.Net;
using Kolo.Core.Customers;
using Kolo.Core.Marketing;
using Kolo.Web.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Kolo.Web.Tests;

/// <summary>
/// The audience build: every suppression reason hit on purpose, quiet hours, priority arbitration between campaigns,
/// a property test that no customer ever exceeds the caps, the control group and the budget.
/// </summary>
public abstract class CampaignAudienceTests(KoloAppFixture fx) : CampaignTestBase(fx)
{
    /// <summary>A running campaign of another team with one message per customer, written directly (as if planned earlier).</summary>
    private async Task<Guid> OtherCampaignAsync(int priority, IEnumerable<(Guid Customer, CampaignChannel Channel, MessageStatus Status, DateTime PlannedAt)> messages)
    {
        await using var db = Db();
        var now = DateTime.UtcNow;
        var campaign = new Campaign { Name = "Other " + Unique.Word(6), Status = CampaignStatus.Running, Priority = priority, StartsAt = now, CreatedAt = now, UpdatedAt = now, Channels = [CampaignChannel.Email] };
        db.Campaigns.Add(campaign);
        foreach (var (customer, channel, status, at) in messages)
            db.CampaignMessages.Add(new CampaignMessage
            {
                CampaignId = campaign.Id, CustomerId = customer, Channel = channel, Status = status, PlannedAt = at, CreatedAt = now,
                SentAt = status >= MessageStatus.Sent ? at : null,
            });
        await db.SaveChangesAsync();
        return campaign.Id;
    }

    [Fact]
    public async Task Every_reason_is_recorded_and_the_preview_counts_match_the_launch()
    {
        await SetPolicyAsync(maxTotal: 3, maxEmail: 1);
        var start = FutureDay(30);
        var noAddress = (await SeedCustomersAsync(1, (_, c) => { c.Emails = []; c.Phones = []; }))[0];
        var unsubscribed = (await SeedCustomersAsync(1, (_, c) => c.Consents = [new ChannelConsent { Channel = ContactChannel.Email, Granted = false, At = DateTime.UtcNow }]))[0];
        var noConsent = (await SeedCustomersAsync(1, (_, c) => c.Consents = [new ChannelConsent { Channel = ContactChannel.Sms, Granted = true, At = DateTime.UtcNow }]))[0];
        var pressed = (await SeedCustomersAsync(1))[0];
        // An e-mail already sent (or queued) three days before counts against the one-e-mail cap.
        await OtherCampaignAsync(99, [(pressed, CampaignChannel.Email, MessageStatus.Sent, start.AddDays(-3))]);
        // Budget 300 at 100 per e-mail: the three highest CLV are reached, the fourth is over budget.
        var valued = await SeedCustomersAsync(4);
        for (var i = 0; i < valued.Count; i++) await SetClvAsync(valued[i], 40_000 - i * 10_000);
        var segment = await StaticSegmentAsync([noAddress, unsubscribed, noConsent, pressed, .. valued]);
        var body = CampaignBody(segment, ["Email"], startsAt: start);
        body["budgetMinor"] = 300;
        body["emailCostMinor"] = 100;
        var id = (await CreateApprovedAsync(body)).Id();

        var preview = await PreviewAudienceAsync(id);
        Assert.Equal(8, preview.GetProperty("targeted").GetInt32());
        Assert.Equal(3, preview.GetProperty("reached").GetInt32());
        foreach (var reason in new[] { "no_address", "unsubscribed", "no_consent", "pressure_cap", "over_budget" })
            Assert.True(Count(preview, reason) == 1, $"{reason}: {preview}");
        Assert.Equal(300, preview.GetProperty("estimatedCostMinor").GetInt64());
        Assert.Equal(3, preview.GetProperty("reachedByChannel").GetProperty("Email").GetInt32());
        Assert.Empty(await MessagesAsync(id));

        var launched = await LaunchHereAsync(id);
        Assert.Equal(preview.GetProperty("suppressedByReason").ToString(), launched.GetProperty("suppressedByReason").ToString());
        var messages = (await MessagesAsync(id)).ToDictionary(m => m.CustomerId);
        Assert.Equal(SuppressionReason.NoAddress, messages[noAddress].Reason);
        Assert.Equal(SuppressionReason.Unsubscribed, messages[unsubscribed].Reason);
        Assert.Equal(SuppressionReason.NoConsent, messages[noConsent].Reason);
        Assert.Equal(SuppressionReason.PressureCap, messages[pressed].Reason);
        Assert.Equal(SuppressionReason.OverBudget, messages[valued[3]].Reason);
        Assert.All(valued.Take(3), v => Assert.Equal(MessageStatus.Queued, messages[v].Status));
        Assert.All(valued.Take(3), v => Assert.Contains("@example.com", messages[v].Address));
        Assert.All(messages.Values, m => Assert.Equal(start, m.PlannedAt));

        // Through the API the reason is snake_case; a second launch is refused (it is running).
        using var admin = Fx.Admin();
        await admin.PostJsonAsync($"/api/v1/campaigns/{id}/launch", new { }, HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Records_sharing_an_address_get_one_contact_and_the_most_valuable_keeps_it()
    {
        await SetPolicyAsync(maxTotal: 5, maxEmail: 5, maxSms: 5);
        var start = FutureDay(35);
        var email = Unique.Email();
        // The records that should keep the contact have the highest CLV and also come first by id, the tie-break: the
        // tests share one database, and a recompute queued by another test replaces every score while it runs.
        static Guid FirstById() => Guid.Parse("00000000-0000-7000-8000-" + Guid.NewGuid().ToString("N")[..12]);
        // The same e-mail written three ways; the same mobile number with and without spaces; and an unrelated customer.
        var sameEmail = await SeedCustomersAsync(3, (i, c) =>
        {
            c.Emails = [new EmailAddress { Address = i switch { 0 => email, 1 => email.ToUpperInvariant(), _ => " " + email + " " } }];
            if (i == 1) c.Id = FirstById();
        });
        // One number: a call to one record and an SMS to the other would ring the same phone.
        var phone = "+38067" + Unique.SubscriberDigits();
        var samePhone = await SeedCustomersAsync(2, (i, c) =>
        {
            if (i == 1) c.Id = FirstById();
            c.Emails = [];
            c.Phones = [new PhoneNumber { Number = i == 0 ? phone : phone[..6] + " " + phone[6..] }];
            if (i == 0) c.PreferredChannel = ContactChannel.Phone;
        });
        // Someone opted out of e-mail through a record outside the campaign; their other record, whose consent is older,
        // must not get it either. Another person said yes again on one record after saying no on the other: the later
        // word counts.
        var optedOutEmail = Unique.Email();
        var grantedAgainEmail = Unique.Email();
        await SeedCustomersAsync(2, (i, c) =>
        {
            c.Emails = [new EmailAddress { Address = i == 0 ? optedOutEmail : grantedAgainEmail }];
            c.Consents = [new ChannelConsent { Channel = ContactChannel.Email, Granted = false, At = DateTime.UtcNow.AddDays(-1) }];
        });
        var sibling = (await SeedCustomersAsync(1, (_, c) =>
        {
            c.Emails = [new EmailAddress { Address = optedOutEmail.ToUpperInvariant() }];
            c.Phones = [];
            c.Consents = [new ChannelConsent { Channel = ContactChannel.Email, Granted = true, At = DateTime.UtcNow.AddDays(-2) }];
        }))[0];
        var grantedAgain = (await SeedCustomersAsync(1, (_, c) => { c.Emails = [new EmailAddress { Address = grantedAgainEmail }]; c.Phones = []; }))[0];
        var other = (await SeedCustomersAsync(1))[0];
        await SetClvAsync(sameEmail[1], 50_000);
        await SetClvAsync(sameEmail[0], 10_000);
        await SetClvAsync(samePhone[1], 7_000);
        var id = (await CreateApprovedAsync(CampaignBody(await StaticSegmentAsync([.. sameEmail, .. samePhone, sibling, grantedAgain, other]), ["Email", "Sms", "Call"], startsAt: start))).Id();

        var preview = await PreviewAudienceAsync(id);
        Assert.Equal(4, preview.GetProperty("reached").GetInt32());
        Assert.Equal(3, Count(preview, "same_address"));
        Assert.Equal(1, Count(preview, "unsubscribed"));
        var launched = await LaunchHereAsync(id);
        Assert.Equal(preview.GetProperty("suppressedByReason").ToString(), launched.GetProperty("suppressedByReason").ToString());
        var messages = (await MessagesAsync(id)).ToDictionary(m => m.CustomerId);
        // The record of highest CLV keeps the contact; the others are suppressed and displace nothing.
        Assert.Equal(MessageStatus.Queued, messages[sameEmail[1]].Status);
        Assert.All(new[] { sameEmail[0], sameEmail[2], samePhone[0] }, c => Assert.Equal(SuppressionReason.SameAddress, messages[c].Reason));
        Assert.Equal((MessageStatus.Queued, CampaignChannel.Sms), (messages[samePhone[1]].Status, messages[samePhone[1]].Channel));
        Assert.Equal(CampaignChannel.Call, messages[samePhone[0]].Channel);
        Assert.Equal(SuppressionReason.Unsubscribed, messages[sibling].Reason);
        Assert.Equal((MessageStatus.Queued, CampaignChannel.Email), (messages[grantedAgain].Status, messages[grantedAgain].Channel));
        Assert.Equal(MessageStatus.Queued, messages[other].Status);
    }

    [Fact]
    public async Task Contact_pressure_counts_what_reached_the_same_address_through_another_record()
    {
        await SetPolicyAsync(maxTotal: 3, maxEmail: 1);
        var start = FutureDay(45);
        var email = Unique.Email();
        var records = await SeedCustomersAsync(2, (_, c) => c.Emails = [new EmailAddress { Address = email }]);
        var unrelated = (await SeedCustomersAsync(1))[0];
        // Another campaign e-mailed the address through the second record two days before.
        var other = await OtherCampaignAsync(99, [(records[1], CampaignChannel.Email, MessageStatus.Sent, start.AddDays(-2))]);
        await using (var db = Db())
            await db.CampaignMessages.Where(m => m.CampaignId == other).ExecuteUpdateAsync(u => u.SetProperty(m => m.Address, email.ToUpperInvariant()));
        var id = (await CreateApprovedAsync(CampaignBody(await StaticSegmentAsync([records[0], unrelated]), ["Email"], startsAt: start))).Id();
        await LaunchHereAsync(id);
        var messages = (await MessagesAsync(id)).ToDictionary(m => m.CustomerId);
        // One e-mail a week to that inbox has gone already, whichever record it went through.
        Assert.Equal(SuppressionReason.PressureCap, messages[records[0]].Reason);
        Assert.Equal(MessageStatus.Queued, messages[unrelated].Status);
    }

    [Fact]
    public async Task A_queued_message_two_records_of_one_person_both_count_is_displaced_once()
    {
        await SetPolicyAsync(maxTotal: 1, maxEmail: 1, maxSms: 1);
        var start = FutureDay(47);
        var email = Unique.Email();
        // A and B share an e-mail address; B prefers SMS and has a number of its own.
        var records = await SeedCustomersAsync(2, (i, c) =>
        {
            c.Emails = [new EmailAddress { Address = email }];
            if (i == 1) c.PreferredChannel = ContactChannel.Sms;
            else c.Phones = [];
        });
        var lower = await OtherCampaignAsync(10, [(records[1], CampaignChannel.Email, MessageStatus.Queued, start.AddDays(-1))]);
        await using (var db = Db())
            await db.CampaignMessages.Where(m => m.CampaignId == lower).ExecuteUpdateAsync(u => u.SetProperty(m => m.Address, email));
        var id = (await CreateApprovedAsync(CampaignBody(await StaticSegmentAsync(records), ["Email", "Sms"], priority: 60, startsAt: start))).Id();

        // Both records make room by displacing the same queued e-mail: the launch displaces it once and goes through.
        var preview = await PreviewAudienceAsync(id);
        Assert.Equal(1, preview.GetProperty("displaced").GetInt32());
        var launched = await LaunchHereAsync(id);
        Assert.Equal(1, launched.GetProperty("displaced").GetInt32());
        await using var check = Db();
        var displaced = await check.CampaignMessages.AsNoTracking().SingleAsync(m => m.CampaignId == lower);
        Assert.Equal((MessageStatus.Suppressed, SuppressionReason.PressureCap, (Guid?)id), (displaced.Status, displaced.Reason, displaced.DisplacedByCampaignId));
        var messages = (await MessagesAsync(id)).ToDictionary(m => m.CustomerId);
        Assert.Equal((MessageStatus.Queued, CampaignChannel.Email), (messages[records[0]].Status, messages[records[0]].Channel));
    }

    [Fact]
    public async Task The_preferred_channel_goes_first_and_a_channel_without_consent_is_skipped()
    {
        await SetPolicyAsync(maxTotal: 5, maxEmail: 5, maxSms: 5);
        var start = FutureDay(40);
        var prefersSms = (await SeedCustomersAsync(1, (_, c) => c.PreferredChannel = ContactChannel.Sms))[0];
        var noEmailConsent = (await SeedCustomersAsync(1, (_, c) => c.Consents = [new ChannelConsent { Channel = ContactChannel.Sms, Granted = true, At = DateTime.UtcNow }]))[0];
        var plain = (await SeedCustomersAsync(1))[0];
        var id = (await CreateApprovedAsync(CampaignBody(await StaticSegmentAsync([prefersSms, noEmailConsent, plain]), ["Email", "Sms"], startsAt: start))).Id();
        await LaunchHereAsync(id);
        var messages = (await MessagesAsync(id)).ToDictionary(m => m.CustomerId);
        Assert.Equal(CampaignChannel.Sms, messages[prefersSms].Channel);
        Assert.StartsWith("+380", messages[prefersSms].Address);
        Assert.Equal(CampaignChannel.Sms, messages[noEmailConsent].Channel);
        Assert.Equal(CampaignChannel.Email, messages[plain].Channel);
    }

    [Fact]
    public async Task Messages_are_planned_outside_quiet_hours()
    {
        await SetPolicyAsync(quietStart: "21:00", quietEnd: "09:00", timeZone: "Etc/UTC");
        var ids = await SeedCustomersAsync(2);
        var late = FutureDay(50, hour: 23);
        var id = (await CreateApprovedAsync(CampaignBody(await StaticSegmentAsync(ids), startsAt: late))).Id();
        var preview = await PreviewAudienceAsync(id);
        var expected = late.Date.AddDays(1).AddHours(9);
        Assert.Equal(expected, preview.GetProperty("plannedAt").GetDateTime().ToUniversalTime());
        await LaunchHereAsync(id);
        Assert.All(await MessagesAsync(id), m => Assert.Equal(expected, m.PlannedAt));

        // Quiet hours in Kyiv (UTC+2 in winter, +3 in summer): 20:00 UTC on a January day is 22:00 local → 09:00 local = 07:00 UTC.
        var policy = new ContactPolicy { QuietHoursStart = new TimeOnly(21, 0), QuietHoursEnd = new TimeOnly(9, 0), TimeZone = "Europe/Kyiv" };
        Assert.Equal(new DateTime(2027, 1, 16, 7, 0, 0, DateTimeKind.Utc), ContactPolicyService.OutsideQuietHours(policy, new DateTime(2027, 1, 15, 20, 0, 0, DateTimeKind.Utc)));
        Assert.Equal(new DateTime(2027, 1, 15, 7, 0, 0, DateTimeKind.Utc), ContactPolicyService.OutsideQuietHours(policy, new DateTime(2027, 1, 15, 3, 0, 0, DateTimeKind.Utc)));
        var noon = new DateTime(2027, 7, 15, 9, 0, 0, DateTimeKind.Utc);
        Assert.Equal(noon, ContactPolicyService.OutsideQuietHours(policy, noon));
        await SetPolicyAsync();
    }

    [Fact]
    public async Task A_higher_priority_campaign_displaces_queued_messages_of_a_lower_one_but_never_sent_ones()
    {
        await SetPolicyAsync(maxTotal: 1, maxEmail: 1, maxSms: 1);
        var start = FutureDay(60);
        var (queued, sent) = ((await SeedCustomersAsync(1))[0], (await SeedCustomersAsync(1))[0]);
        var segment = await StaticSegmentAsync([queued, sent]);

        var low = (await CreateApprovedAsync(CampaignBody(segment, ["Email", "Sms"], priority: 10, startsAt: start))).Id();
        var lowResult = await LaunchHereAsync(low);
        Assert.Equal(2, lowResult.GetProperty("reached").GetInt32());
        await using (var db = Db())
            await db.CampaignMessages.Where(m => m.CampaignId == low && m.CustomerId == sent)
                .ExecuteUpdateAsync(s => s.SetProperty(m => m.Status, MessageStatus.Sent).SetProperty(m => m.SentAt, start));

        var high = (await CreateApprovedAsync(CampaignBody(segment, ["Email", "Sms"], priority: 90, startsAt: start.AddDays(1)))).Id();
        var preview = await PreviewAudienceAsync(high);
        Assert.Equal(1, preview.GetProperty("displaced").GetInt32());
        Assert.Equal(1, preview.GetProperty("reached").GetInt32());
        var highResult = await LaunchHereAsync(high);
        Assert.Equal(1, highResult.GetProperty("displaced").GetInt32());

        var lowMessages = (await MessagesAsync(low)).ToDictionary(m => m.CustomerId);
        var highMessages = (await MessagesAsync(high)).ToDictionary(m => m.CustomerId);
        Assert.Equal((MessageStatus.Suppressed, SuppressionReason.PressureCap, high), (lowMessages[queued].Status, lowMessages[queued].Reason, lowMessages[queued].DisplacedByCampaignId!.Value));
        Assert.Equal(MessageStatus.Queued, highMessages[queued].Status);
        Assert.Equal(MessageStatus.Sent, lowMessages[sent].Status);
        Assert.Null(lowMessages[sent].DisplacedByCampaignId);
        Assert.Equal((MessageStatus.Suppressed, SuppressionReason.PressureCap), (highMessages[sent].Status, highMessages[sent].Reason));

        // Equal priority is first come: a second campaign of priority 90 does not displace the first.
        var equal = (await CreateApprovedAsync(CampaignBody(segment, ["Email"], priority: 90, startsAt: start.AddDays(2)))).Id();
        var equalResult = await LaunchHereAsync(equal);
        Assert.Equal(0, equalResult.GetProperty("reached").GetInt32());
        Assert.Equal(2, Count(equalResult, "pressure_cap"));
        Assert.Equal(MessageStatus.Queued, (await MessagesAsync(high)).Single(m => m.CustomerId == queued).Status);
        // Once the window has passed there is room again.
        var later = (await CreateApprovedAsync(CampaignBody(segment, ["Email"], priority: 5, startsAt: start.AddDays(9)))).Id();
        Assert.Equal(2, (await LaunchHereAsync(later)).GetProperty("reached").GetInt32());
    }

    [Fact]
    public async Task Property_no_customer_ever_exceeds_the_caps_in_any_window()
    {
        const int period = 7, maxTotal = 2, maxEmail = 1, maxSms = 1;
        await SetPolicyAsync(periodDays: period, maxTotal: maxTotal, maxEmail: maxEmail, maxSms: maxSms, maxCall: null);
        var random = new Random(20261124);
        var customers = await SeedCustomersAsync(30, (i, c) =>
        {
            var r = new Random(i * 7919 + 17);
            c.PreferredChannel = r.Next(4) switch { 0 => ContactChannel.Email, 1 => ContactChannel.Sms, 2 => ContactChannel.Phone, _ => null };
            c.Consents = c.Consents.Where(_ => r.Next(5) > 0).ToList();
        });
        var baseDay = FutureDay(100, hour: 10);
        var channelsPool = new[] { CampaignChannel.Email, CampaignChannel.Sms, CampaignChannel.Call };
        var campaigns = new List<Guid>();
        for (var k = 0; k < 12; k++)
        {
            var members = customers.Where(_ => random.Next(3) > 0).ToList();
            var channels = channelsPool.OrderBy(_ => random.Next()).Take(1 + random.Next(3)).Select(c => c.ToString()).ToArray();
            var start = baseDay.AddHours(random.Next(0, 24 * 20));
            var id = (await CreateApprovedAsync(CampaignBody(await StaticSegmentAsync(members), channels, priority: 1 + random.Next(100), startsAt: start))).Id();
            await LaunchHereAsync(id);
            campaigns.Add(id);
            // Some of what was queued goes out before the next launch: sent messages must never be displaced.
            await using var db = Db();
            var queued = await db.CampaignMessages.Where(m => campaigns.Contains(m.CampaignId) && m.Status == MessageStatus.Queued).Select(m => m.Id).ToListAsync();
            var toSend = queued.Where(_ => random.Next(3) == 0).ToList();
            await db.CampaignMessages.Where(m => toSend.Contains(m.Id)).ExecuteUpdateAsync(s => s.SetProperty(m => m.Status, MessageStatus.Sent));
        }

        await using var check = Db();
        var all = await check.CampaignMessages.AsNoTracking().Where(m => campaigns.Contains(m.CampaignId)).ToListAsync();
        var sentIds = all.Where(m => m.Status == MessageStatus.Sent).ToList();
        Assert.All(sentIds, m => Assert.Null(m.DisplacedByCampaignId));
        var contacts = all.Where(m => m.Status != MessageStatus.Suppressed).ToList();
        Assert.True(contacts.Count > 30, $"too few contacts to mean anything: {contacts.Count}");
        Assert.Contains(all, m => m.DisplacedByCampaignId is not null);
        foreach (var customer in contacts.GroupBy(m => m.CustomerId))
        {
            var list = customer.OrderBy(m => m.PlannedAt).ToList();
            foreach (var first in list)
            {
                // Every window [t, t + period) that starts at a contact: the densest windows start at one.
                var window = list.Where(m => m.PlannedAt >= first.PlannedAt && m.PlannedAt < first.PlannedAt.AddDays(period)).ToList();
                Assert.True(window.Count <= maxTotal, $"{customer.Key}: {window.Count} contacts from {first.PlannedAt:O}");
                Assert.True(window.Count(m => m.Channel == CampaignChannel.Email) <= maxEmail, $"{customer.Key}: e-mails from {first.PlannedAt:O}");
                Assert.True(window.Count(m => m.Channel == CampaignChannel.Sms) <= maxSms, $"{customer.Key}: SMS from {first.PlannedAt:O}");
            }
        }
        await SetPolicyAsync();
    }

    [Fact]
    public async Task The_control_group_is_a_repeatable_random_share_of_the_eligible()
    {
        await SetPolicyAsync(maxTotal: 10, maxEmail: 10);
        var customers = await SeedCustomersAsync(400);
        var id = (await CreateApprovedAsync(CampaignBody(await StaticSegmentAsync(customers), startsAt: FutureDay(70), controlGroupPercent: 20))).Id();
        var first = await PreviewAudienceAsync(id);
        var second = await PreviewAudienceAsync(id);
        var control = Count(first, "control_group");
        Assert.Equal(control, Count(second, "control_group"));
        // 20 % of 400 = 80; a binomial standard deviation is 8, so 50..110 fails about once in 10⁴ seeds.
        Assert.InRange(control, 50, 110);
        var launched = await LaunchHereAsync(id);
        Assert.Equal(control, Count(launched, "control_group"));
        var messages = await MessagesAsync(id);
        var held = messages.Where(m => m.Reason == SuppressionReason.ControlGroup).ToList();
        Assert.Equal(control, held.Count);
        Assert.All(held, m => Assert.NotNull(m.VariantId));
        Assert.All(held, m => Assert.Equal(CampaignChannel.Email, m.Channel));
        // The same seed draws the same customers.
        var seed = (await Fx.Admin().GetJsonAsync($"/api/v1/campaigns/{id}")).GetProperty("audienceSeed").GetInt32();
        Assert.All(messages, m => Assert.Equal(m.Reason == SuppressionReason.ControlGroup, AudienceBuilder.Draw(seed, m.CustomerId) < 2000));
        Assert.Equal(0, first.GetProperty("withoutVariant").GetInt32());
    }

    [Fact]
    public async Task The_control_group_is_drawn_only_from_the_customers_the_budget_would_reach()
    {
        await SetPolicyAsync(maxTotal: 10, maxEmail: 10);
        // 200 customers with distinct CLV; the budget pays for the 100 most valuable.
        var customers = await SeedCustomersAsync(200);
        for (var i = 0; i < customers.Count; i++) await SetClvAsync(customers[i], 1_000_000 - i * 1_000);
        var body = CampaignBody(await StaticSegmentAsync(customers), ["Email"], startsAt: FutureDay(75), controlGroupPercent: 20);
        body["budgetMinor"] = 10_000;
        body["emailCostMinor"] = 100;
        var id = (await CreateApprovedAsync(body)).Id();
        var launched = await LaunchHereAsync(id);
        var seed = (await Fx.Admin().GetJsonAsync($"/api/v1/campaigns/{id}")).GetProperty("audienceSeed").GetInt32();
        var reasons = (await MessagesAsync(id)).ToDictionary(m => m.CustomerId, m => m.Reason);
        var topHundred = customers.Take(100).ToHashSet();
        // Held out: exactly the top 100 the draw picks; the rest of the top 100 are contacted; the other 100 are over budget.
        Assert.All(customers, c => Assert.Equal(
            topHundred.Contains(c) ? AudienceBuilder.Draw(seed, c) < 2000 ? SuppressionReason.ControlGroup : null : SuppressionReason.OverBudget, reasons[c]));
        var control = topHundred.Count(c => AudienceBuilder.Draw(seed, c) < 2000);
        Assert.Equal((100 - control, control), (launched.GetProperty("reached").GetInt32(), Count(launched, "control_group")));
        // The held-out customers cost nothing: the estimate is what the contacted ones cost.
        Assert.Equal((100 - control) * 100L, launched.GetProperty("estimatedCostMinor").GetInt64());
        await SetPolicyAsync();
    }

    [Fact]
    public async Task Customers_no_variant_is_meant_for_are_left_out()
    {
        var ids = await SeedCustomersAsync(3, (i, c) => c.Status = i == 0 ? LifecycleStatus.Lead : LifecycleStatus.Customer);
        var id = (await CreateApprovedAsync(CampaignBody(await StaticSegmentAsync(ids), startsAt: FutureDay(80), variants: Variant("Prospects only", "Prospects")))).Id();
        var result = await LaunchHereAsync(id);
        Assert.Equal(1, result.GetProperty("targeted").GetInt32());
        Assert.Equal(2, result.GetProperty("withoutVariant").GetInt32());
        Assert.Single(await MessagesAsync(id));
    }
}

[Collection("marketing-sqlite")]
public sealed class SqliteCampaignAudienceTests(SqliteFixture fx) : CampaignAudienceTests(fx);

[Collection("marketing-postgres")]
public sealed class PostgresCampaignAudienceTests(PostgresFixture fx) : CampaignAudienceTests(fx);
