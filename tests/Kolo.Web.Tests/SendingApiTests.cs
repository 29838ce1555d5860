using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Kolo.Core.Analytics;
using Kolo.Core.Customers;
using Kolo.Core.Data;
using Kolo.Core.Marketing;
using Kolo.Web.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using MimeKit;

namespace Kolo.Web.Tests;

/// <summary>One sending host per provider, shared by the tests of a class (each test has its own campaign and customers).</summary>
public abstract class SendingHostFixture(DatabaseProvider provider) : IAsyncLifetime
{
    public SendingHost Host { get; private set; } = null!;

    public DatabaseProvider Provider => provider;

    public async Task InitializeAsync() => Host = await SendingHost.StartAsync(provider);

    public async Task DisposeAsync()
    {
        if (Host is not null) await Host.DisposeAsync();
    }
}

public sealed class SqliteSendingFixture() : SendingHostFixture(DatabaseProvider.Sqlite);

public sealed class PostgresSendingFixture() : SendingHostFixture(DatabaseProvider.Postgres);

/// <summary>What the sending tests share: customers through the API, a running campaign and its queued messages in the database.</summary>
public static class SendingSeed
{
    public const string OfferName = "Garden hose 20m";

    public const string EmailBody = """
        <html><body><p>Hello {{ customer.first_name }},</p>
        {% for offer in offers %}<p>Try {{ offer.name }}</p>{% endfor %}
        <p><a href="https://shop.example.com/offer?id=7&amp;src=mail">Shop now</a></p>
        <p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p></body></html>
        """;

    public static async Task<List<(Guid Id, string FirstName, string Email, string Phone)>> CustomersAsync(SendingHost host, int count, Func<int, string>? email = null, Guid? owner = null)
    {
        using var admin = host.Admin();
        var result = new List<(Guid, string, string, string)>();
        for (var i = 0; i < count; i++)
        {
            var first = Unique.Name();
            var address = email?.Invoke(i) ?? Unique.Email();
            var phone = Unique.Phone();
            var body = new Dictionary<string, object?>
            {
                ["kind"] = "Person", ["firstName"] = first, ["lastName"] = Unique.Name(),
                ["emails"] = new[] { new { address, label = "work" } }, ["phones"] = new[] { new { number = phone, label = "mobile" } },
                ["consents"] = new[]
                {
                    new { channel = "Email", granted = true }, new { channel = "Sms", granted = true }, new { channel = "Phone", granted = true },
                    new { channel = "Web", granted = true },
                },
            };
            if (owner is not null) body["ownerId"] = owner;
            var created = await admin.PostJsonAsync("/api/v1/customers", body, HttpStatusCode.Created);
            result.Add((created.Id(), first, address, created.GetProperty("phones")[0].GetProperty("number").GetString()!));
        }
        return result;
    }

    /// <summary>A running campaign with one variant and one queued message per customer on <paramref name="channel"/>.</summary>
    public static async Task<(Campaign Campaign, List<CampaignMessage> Messages)> CampaignAsync(
        SendingHost host, CampaignChannel channel, IEnumerable<(Guid Id, string Address)> targets, Action<Campaign>? configure = null, bool withOffers = true)
    {
        var now = DateTime.UtcNow;
        var campaign = new Campaign
        {
            Name = "Spring " + Unique.Name(), Status = CampaignStatus.Running, StartsAt = now.AddMinutes(-5), LaunchedAt = now.AddMinutes(-5),
            Channels = [channel], CreatedAt = now, UpdatedAt = now,
        };
        campaign.Variants.Add(new CampaignVariant
        {
            CampaignId = campaign.Id, Name = "Everyone", Audience = VariantAudience.All,
            EmailSubject = "{{ customer.first_name }}, a spring deal for you", EmailBody = EmailBody,
            SmsText = "Hi {{ customer.first_name }}! Spring deal: {{ offers[0].name }}. Stop: {{ unsubscribe_url }}",
            CallScript = "Call {{ customer.name }} about the spring deal.",
            WebMessage = "<p>Welcome back, {{ customer.first_name }}!</p><p><a href=\"{{ unsubscribe_url }}\">No more</a></p>",
        });
        configure?.Invoke(campaign);
        var messages = targets.Select(t => new CampaignMessage
        {
            CampaignId = campaign.Id, VariantId = campaign.Variants[0].Id, CustomerId = t.Id, Channel = channel, Status = MessageStatus.Queued,
            Address = t.Address, PlannedAt = now.AddMinutes(-1), CreatedAt = now,
        }).ToList();
        await using var db = await host.Db.CreateDbContextAsync();
        db.Campaigns.Add(campaign);
        db.CampaignMessages.AddRange(messages);
        if (withOffers)
            foreach (var customerId in messages.Select(m => m.CustomerId).Distinct())
                if (!await db.CustomerScores.AnyAsync(s => s.CustomerId == customerId))
                    db.CustomerScores.Add(new CustomerScore
                    {
                        CustomerId = customerId, AsOf = now, ComputedAt = now,
                        Offers = [new Offer { ProductId = Guid.NewGuid(), Sku = "GH-20", Name = OfferName, Kind = "cross-sell", Because = ["Sprinkler"], Confidence = 0.4, Lift = 2.1, Support = 0.05 }],
                    });
        await db.SaveChangesAsync();
        host.WakeSender();
        return (campaign, messages);
    }

    public static async Task<List<CampaignMessage>> MessagesAsync(SendingHost host, Guid campaignId)
    {
        await using var db = await host.Db.CreateDbContextAsync();
        return await db.CampaignMessages.AsNoTracking().Where(m => m.CampaignId == campaignId).ToListAsync();
    }

    public static Task WaitUntilNoneQueuedAsync(SendingHost host, Guid campaignId, int seconds = 60) =>
        host.WaitForAsync(db => db.CampaignMessages.Where(m => m.CampaignId == campaignId).AllAsync(m => m.Status != MessageStatus.Queued && m.Status != MessageStatus.Sending),
            "the campaign's messages to be processed", seconds);

    /// <summary>The first value of a header, unfolded.</summary>
    public static string Header(MimeMessage m, string name) => Regex.Replace(m.Headers[name] ?? "", @"\s*\r?\n\s*", " ").Trim();

    public static string Token(string url, string prefix)
    {
        var match = Regex.Match(url, Regex.Escape(prefix) + "([A-Za-z0-9_-]+)");
        Assert.True(match.Success, $"No {prefix} token in {url}");
        return match.Groups[1].Value;
    }
}

public abstract class SendingApiTests(SendingHostFixture fixture)
{
    private SendingHost Host => fixture.Host;

    [Fact]
    public async Task Emails_reach_a_real_SMTP_server_personalised_with_unsubscribe_headers_and_tracked_links()
    {
        var customers = await SendingSeed.CustomersAsync(Host, 3);
        var (campaign, messages) = await SendingSeed.CampaignAsync(Host, CampaignChannel.Email, customers.Select(c => (c.Id, c.Email)));
        await SendingSeed.WaitUntilNoneQueuedAsync(Host, campaign.Id);
        var received = await SmtpSink.WaitForAsync(customers.Select(c => c.Email).ToList(), 3);
        Assert.Equal(3, received.Count); // exactly once each
        var stored = await SendingSeed.MessagesAsync(Host, campaign.Id);
        Assert.All(stored, m => Assert.Equal(MessageStatus.Sent, m.Status));
        Assert.All(stored, m => Assert.NotNull(m.SentAt));
        foreach (var c in customers)
        {
            var (_, mail) = Assert.Single(received, r => r.To.Equals(c.Email, StringComparison.OrdinalIgnoreCase));
            var message = stored.Single(m => m.CustomerId == c.Id);
            Assert.Equal($"{c.FirstName}, a spring deal for you", mail.Subject);
            Assert.Equal("news@kolo.test", mail.From.Mailboxes.Single().Address);
            Assert.Equal(message.ProviderId, mail.MessageId);
            var unsubscribe = SendingSeed.Header(mail, "List-Unsubscribe");
            Assert.Matches(@"^<https://kolo\.test/u/[A-Za-z0-9_-]+>$", unsubscribe);
            Assert.Equal("List-Unsubscribe=One-Click", SendingSeed.Header(mail, "List-Unsubscribe-Post"));
            var html = mail.HtmlBody;
            Assert.Contains($"Hello {c.FirstName},", html, StringComparison.Ordinal);
            Assert.Contains($"Try {SendingSeed.OfferName}", html, StringComparison.Ordinal);
            Assert.DoesNotContain("https://shop.example.com/offer?id=7&amp;src=mail\"", html, StringComparison.Ordinal); // rewritten
            Assert.Matches(@"href=""https://kolo\.test/t/c/[A-Za-z0-9_-]+\?u=https%3A%2F%2Fshop\.example\.com%2Foffer%3Fid%3D7%26src%3Dmail""", html);
            Assert.Matches(@"<img src=""https://kolo\.test/t/o/[A-Za-z0-9_-]+""", html);
            // The unsubscribe link in the body is the header's, not a tracked redirect.
            Assert.Contains($"href=\"{unsubscribe[1..unsubscribe.IndexOf('>', StringComparison.Ordinal)]}\"", html, StringComparison.Ordinal);
        }

        // Follow the first customer's unsubscribe link from the received e-mail: page, confirm, consent withdrawn, timeline.
        var first = customers[0];
        // A second record of the same person (the address in capitals) loses its e-mail consent with the first.
        Guid twin;
        using (var admin0 = Host.Admin())
            twin = (await admin0.PostJsonAsync("/api/v1/customers?allowDuplicate=true", new
            {
                kind = "Person", lastName = Unique.Name(), emails = new[] { new { address = first.Email.ToUpperInvariant() } },
                consents = new[] { new { channel = "Email", granted = true } },
            }, HttpStatusCode.Created)).Id();
        var firstMail = received.Single(r => r.To.Equals(first.Email, StringComparison.OrdinalIgnoreCase)).Message;
        var link = Regex.Match(firstMail.HtmlBody!, @"href=""https://kolo\.test(/u/[A-Za-z0-9_-]+)""").Groups[1].Value;
        using var browser = Host.Anonymous();
        var page = await browser.GetStringAsync(link);
        Assert.Contains("<button type=\"submit\">Unsubscribe</button>", page, StringComparison.Ordinal);
        Assert.Contains(campaign.Name, page, StringComparison.Ordinal);
        var ukrainian = await browser.GetStringAsync(link + "?lang=uk");
        Assert.Contains("Відписатися", ukrainian, StringComparison.Ordinal);
        using (var request = new HttpRequestMessage(HttpMethod.Get, link))
        {
            request.Headers.AcceptLanguage.ParseAdd("ru-RU,ru;q=0.9");
            using var ru = await browser.SendAsync(request);
            Assert.Contains("Отписаться", await ru.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        using (var confirm = await browser.PostAsync(link, new FormUrlEncodedContent([])))
        {
            Assert.Equal(HttpStatusCode.OK, confirm.StatusCode);
            Assert.Contains("You are unsubscribed", await confirm.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        // Idempotent: the mail client's one-click POST afterwards changes nothing.
        using (var again = await browser.PostAsync(link, new StringContent("List-Unsubscribe=One-Click", Encoding.ASCII, "application/x-www-form-urlencoded")))
            Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        await using (var db = await Host.Db.CreateDbContextAsync())
        {
            var customer = await db.Customers.AsNoTracking().SingleAsync(x => x.Id == first.Id);
            var email = Assert.Single(customer.Consents, x => x.Channel == ContactChannel.Email);
            Assert.False(email.Granted);
            Assert.True(Assert.Single(customer.Consents, x => x.Channel == ContactChannel.Sms).Granted); // other channels untouched
            Assert.False((await db.Customers.AsNoTracking().SingleAsync(x => x.Id == twin)).Consents.Single(x => x.Channel == ContactChannel.Email).Granted);
            var m = await db.CampaignMessages.AsNoTracking().SingleAsync(x => x.CampaignId == campaign.Id && x.CustomerId == first.Id);
            Assert.Equal(MessageStatus.Unsubscribed, m.Status);
            Assert.NotNull(m.UnsubscribedAt);
            Assert.Equal(1, await db.Interactions.CountAsync(i => i.CustomerId == first.Id && i.Sentiment == Kolo.Core.Timeline.Sentiment.Negative));
        }
        using var admin = Host.Admin();
        var timeline = await admin.GetJsonAsync($"/api/v1/customers/{first.Id}/timeline");
        var kinds = timeline.Items().Select(e => e.Str("kind")).ToList();
        Assert.Contains("campaign-message", kinds);
        Assert.Contains("interaction", kinds);
        var entry = timeline.Items().First(e => e.Str("kind") == "campaign-message");
        Assert.Equal("Unsubscribed", entry.Str("status"));
        Assert.Equal(campaign.Name, entry.Str("title"));

        // RFC 8058 one-click straight from the header of another customer's e-mail.
        var second = customers[1];
        var header = SendingSeed.Header(received.Single(r => r.To.Equals(second.Email, StringComparison.OrdinalIgnoreCase)).Message, "List-Unsubscribe");
        var oneClick = new Uri(header[1..header.IndexOf('>', StringComparison.Ordinal)]).AbsolutePath;
        using (var post = await browser.PostAsync(oneClick, new StringContent("List-Unsubscribe=One-Click", Encoding.ASCII, "application/x-www-form-urlencoded")))
            Assert.Equal(HttpStatusCode.OK, post.StatusCode);
        Assert.Equal(MessageStatus.Unsubscribed, (await SendingSeed.MessagesAsync(Host, campaign.Id)).Single(m => m.CustomerId == second.Id).Status);

        // The campaign is complete: nothing is queued or sending any more.
        await Host.WaitForAsync(db => db.Campaigns.AnyAsync(x => x.Id == campaign.Id && x.Status == CampaignStatus.Completed), "the campaign to complete");

        // A later e-mail campaign to the same customers leaves out the two who unsubscribed, with that reason.
        await using (var db = await Host.Db.CreateDbContextAsync())
        {
            var now = DateTime.UtcNow;
            var segment = new Segment { Name = "Later " + Unique.Name(), Kind = SegmentKind.Static, CreatedAt = now, UpdatedAt = now };
            db.Segments.Add(segment);
            db.SegmentMembers.AddRange(customers.Select(c => new SegmentMember { SegmentId = segment.Id, CustomerId = c.Id, AddedAt = now }));
            await db.SaveChangesAsync();
            var later = new Campaign
            {
                Name = "Later " + Unique.Name(), StartsAt = now, Channels = [CampaignChannel.Email], SegmentIds = [segment.Id],
                ControlGroupPercent = 0, CreatedAt = now, UpdatedAt = now,
                Variants = [new CampaignVariant { Name = "All", Audience = VariantAudience.All, EmailSubject = "Hi", EmailBody = "<p>Hi</p>" }],
            };
            var policy = new ContactPolicy { QuietHoursStart = null, QuietHoursEnd = null, MaxEmail = 5, MaxTotal = 5 };
            var audience = await AudienceBuilder.BuildAsync(db, later, policy, now, write: false, progress: null, CancellationToken.None);
            Assert.Equal(3, audience.Targeted);
            Assert.Equal(1, audience.Reached);
            Assert.Equal(2, audience.SuppressedByReason["unsubscribed"]);
        }
    }

    [Fact]
    public async Task Opens_and_clicks_are_recorded_once_and_the_click_identifies_the_visitor()
    {
        var customers = await SendingSeed.CustomersAsync(Host, 1);
        var (campaign, _) = await SendingSeed.CampaignAsync(Host, CampaignChannel.Email, customers.Select(c => (c.Id, c.Email)));
        await SendingSeed.WaitUntilNoneQueuedAsync(Host, campaign.Id);
        var mail = (await SmtpSink.WaitForAsync([customers[0].Email], 1)).Single().Message;
        var pixel = new Uri(Regex.Match(mail.HtmlBody!, @"<img src=""([^""]+)""").Groups[1].Value).AbsolutePath;
        var click = new Uri(WebUtility.HtmlDecode(Regex.Match(mail.HtmlBody!, @"href=""(https://kolo\.test/t/c/[^""]+)""").Groups[1].Value)).PathAndQuery;
        using var browser = Host.Anonymous();

        using (var open = await browser.GetAsync(pixel))
        {
            Assert.Equal(HttpStatusCode.OK, open.StatusCode);
            Assert.Equal("image/gif", open.Content.Headers.ContentType!.MediaType);
        }
        var opened = (await SendingSeed.MessagesAsync(Host, campaign.Id)).Single();
        Assert.Equal(MessageStatus.Opened, opened.Status);
        Assert.NotNull(opened.OpenedAt);
        await Task.Delay(20);
        using (await browser.GetAsync(pixel)) { }
        Assert.Equal(opened.OpenedAt, (await SendingSeed.MessagesAsync(Host, campaign.Id)).Single().OpenedAt);

        string visitorToken;
        using (var redirect = await browser.GetAsync(click))
        {
            Assert.Equal(HttpStatusCode.Redirect, redirect.StatusCode);
            var location = redirect.Headers.Location!.ToString();
            Assert.StartsWith("https://shop.example.com/offer?id=7&src=mail&kolo_t=", location, StringComparison.Ordinal);
            visitorToken = location[(location.IndexOf("kolo_t=", StringComparison.Ordinal) + 7)..];
        }
        var clicked = (await SendingSeed.MessagesAsync(Host, campaign.Id)).Single();
        Assert.Equal(MessageStatus.Clicked, clicked.Status);
        await Task.Delay(20);
        using (await browser.GetAsync(click)) { }
        Assert.Equal(clicked.ClickedAt, (await SendingSeed.MessagesAsync(Host, campaign.Id)).Single().ClickedAt);
        // An open after the click does not move the status back.
        using (await browser.GetAsync(pixel)) { }
        Assert.Equal(MessageStatus.Clicked, (await SendingSeed.MessagesAsync(Host, campaign.Id)).Single().Status);

        // The website snippet reports a page view with the click's token: the visitor is now this customer.
        var visitor = "v-" + Guid.NewGuid().ToString("N");
        using (var collect = await browser.PostAsync("/t/collect", new StringContent(
                   JsonSerializer.Serialize(new { visitorId = visitor, url = "https://shop.example.com/offer?id=7", title = "Offer", token = visitorToken }), Encoding.UTF8, "text/plain")))
        {
            Assert.Equal(HttpStatusCode.OK, collect.StatusCode);
            Assert.Equal("*", collect.Headers.GetValues("Access-Control-Allow-Origin").Single());
        }
        await using var db = await Host.Db.CreateDbContextAsync();
        Assert.Equal(customers[0].Id, (await db.WebVisitors.SingleAsync(v => v.Id == visitor)).CustomerId);
        var visit = await db.WebVisits.SingleAsync(v => v.VisitorId == visitor);
        Assert.Equal(clicked.Id, visit.CampaignMessageId);
    }

    [Fact]
    public async Task Forged_altered_and_misused_tokens_get_404()
    {
        var customers = await SendingSeed.CustomersAsync(Host, 2);
        var (campaign, messages) = await SendingSeed.CampaignAsync(Host, CampaignChannel.Email, customers.Select(c => (c.Id, c.Email)));
        await SendingSeed.WaitUntilNoneQueuedAsync(Host, campaign.Id);
        var tokens = Host.Services.GetRequiredService<MessageTokens>();
        var id = messages[0].Id;
        var unsubscribe = await tokens.SignAsync(id, TokenPurpose.Unsubscribe);
        var open = await tokens.SignAsync(id, TokenPurpose.Open);
        const string target = "https://shop.example.com/a";
        var click = await tokens.SignAsync(id, TokenPurpose.Click, target);
        var otherKey = MessageTokens.Sign(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32), id, TokenPurpose.Unsubscribe);
        var altered = unsubscribe[..^2] + (unsubscribe[^2] == 'A' ? 'B' : 'A') + unsubscribe[^1];
        // The id of another message with this message's signature.
        var bytes = Convert.FromBase64String(unsubscribe.Replace('-', '+').Replace('_', '/') + "=");
        messages[1].Id.TryWriteBytes(bytes.AsSpan(0, 16));
        var swapped = Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var unknownMessage = MessageTokens.Sign(await tokens.KeyAsync(), Guid.NewGuid(), TokenPurpose.Unsubscribe);

        using var browser = Host.Anonymous();
        foreach (var bad in new[] { altered, otherKey, swapped, open, "garbage", unknownMessage, new string('A', 43) })
        {
            using (var get = await browser.GetAsync($"/u/{bad}")) Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
            using (var post = await browser.PostAsync($"/u/{bad}", new FormUrlEncodedContent([]))) Assert.Equal(HttpStatusCode.NotFound, post.StatusCode);
        }
        using (var r = await browser.GetAsync($"/t/o/{unsubscribe}")) Assert.Equal(HttpStatusCode.NotFound, r.StatusCode); // wrong purpose
        using (var r = await browser.GetAsync($"/t/o/{open[..^1]}x")) Assert.Equal(HttpStatusCode.NotFound, r.StatusCode);
        using (var r = await browser.GetAsync($"/t/c/{click}?u={Uri.EscapeDataString("https://evil.example.com/")}")) Assert.Equal(HttpStatusCode.NotFound, r.StatusCode);
        using (var r = await browser.GetAsync($"/t/c/{click}")) Assert.Equal(HttpStatusCode.NotFound, r.StatusCode);
        using (var r = await browser.GetAsync($"/t/c/{open}?u={Uri.EscapeDataString(target)}")) Assert.Equal(HttpStatusCode.NotFound, r.StatusCode);
        using (var r = await browser.GetAsync($"/t/c/{click}?u={Uri.EscapeDataString(target)}")) Assert.Equal(HttpStatusCode.Redirect, r.StatusCode);

        // Nothing of the above unsubscribed or opened anybody.
        var stored = await SendingSeed.MessagesAsync(Host, campaign.Id);
        Assert.All(stored, m => Assert.Null(m.UnsubscribedAt));
        Assert.All(stored, m => Assert.Equal(m.Id == id ? MessageStatus.Clicked : MessageStatus.Sent, m.Status));
    }

    [Fact]
    public async Task A_5xx_refusal_is_a_bounce_and_a_4xx_is_retried_then_failed()
    {
        var bounce = $"bounce-{Unique.Word(10)}@example.com";
        var temp = $"tempfail-{Unique.Word(10)}@example.com";
        var customers = await SendingSeed.CustomersAsync(Host, 3, i => i switch { 0 => bounce, 1 => temp, _ => Unique.Email() });
        var (campaign, messages) = await SendingSeed.CampaignAsync(Host, CampaignChannel.Email, customers.Select(c => (c.Id, c.Email)));
        // Default 5 attempts with a 1 s base wait (1, 2, 4, 8 s): the temporary failure gives up after about 15 s.
        await SendingSeed.WaitUntilNoneQueuedAsync(Host, campaign.Id, 90);
        var stored = await SendingSeed.MessagesAsync(Host, campaign.Id);
        var bounced = stored.Single(m => m.CustomerId == customers[0].Id);
        Assert.Equal(MessageStatus.Bounced, bounced.Status);
        Assert.NotNull(bounced.BouncedAt);
        Assert.StartsWith("550", bounced.Error, StringComparison.Ordinal);
        Assert.Equal(1, bounced.Attempts);
        using (var timelineClient = Host.Admin())
        {
            var entry = Assert.Single((await timelineClient.GetJsonAsync($"/api/v1/customers/{customers[0].Id}/timeline?kind=campaign-message")).Items());
            Assert.Equal("Bounced", entry.Str("status"));
        }
        var failed = stored.Single(m => m.CustomerId == customers[1].Id);
        Assert.Equal(MessageStatus.Failed, failed.Status);
        Assert.Equal(5, failed.Attempts);
        Assert.Contains("451", failed.Error, StringComparison.Ordinal);
        Assert.Equal(MessageStatus.Sent, stored.Single(m => m.CustomerId == customers[2].Id).Status);
        Assert.Single(SmtpSink.MessagesTo([customers[2].Email]));

        // A bounce processor reports the good one bounced later, by its Message-ID.
        using var admin = Host.Admin();
        var sent = stored.Single(m => m.CustomerId == customers[2].Id);
        using (var r = await admin.PostAsJsonAsync("/api/v1/campaigns/bounces", new { messageId = $"<{sent.ProviderId}>", reason = "mailbox full" }))
            Assert.Equal(HttpStatusCode.NoContent, r.StatusCode);
        var after = (await SendingSeed.MessagesAsync(Host, campaign.Id)).Single(m => m.Id == sent.Id);
        Assert.Equal(MessageStatus.Bounced, after.Status);
        Assert.Equal("mailbox full", after.Error);
        using (var r = await admin.PostAsJsonAsync("/api/v1/campaigns/bounces", new { messageId = "<nobody@nowhere>" }))
            Assert.Equal(HttpStatusCode.NotFound, r.StatusCode);
        using (var r = await admin.PostAsJsonAsync("/api/v1/campaigns/bounces", new { reason = "x" }))
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
    }

    [Fact]
    public async Task A_customer_who_opted_out_after_the_launch_is_not_contacted()
    {
        var customers = await SendingSeed.CustomersAsync(Host, 2);
        // The first customer withdraws e-mail consent after the audience was built (say, by editing their record).
        await using (var db = await Host.Db.CreateDbContextAsync())
        {
            var c = await db.Customers.SingleAsync(x => x.Id == customers[0].Id);
            c.Consents = [.. c.Consents.Where(x => x.Channel != ContactChannel.Email), new ChannelConsent { Channel = ContactChannel.Email, Granted = false, At = DateTime.UtcNow }];
            await db.SaveChangesAsync();
        }
        var (campaign, _) = await SendingSeed.CampaignAsync(Host, CampaignChannel.Email, customers.Select(c => (c.Id, c.Email)));
        await SendingSeed.WaitUntilNoneQueuedAsync(Host, campaign.Id);
        var messages = (await SendingSeed.MessagesAsync(Host, campaign.Id)).ToDictionary(m => m.CustomerId);
        Assert.Equal((MessageStatus.Suppressed, SuppressionReason.Unsubscribed), (messages[customers[0].Id].Status, messages[customers[0].Id].Reason));
        Assert.Null(messages[customers[0].Id].SentAt);
        Assert.Equal(MessageStatus.Sent, messages[customers[1].Id].Status);
        await SmtpSink.WaitForAsync([customers[1].Email], 1);
        Assert.Empty(SmtpSink.MessagesTo([customers[0].Email]));
    }

    [Fact]
    public async Task A_message_due_inside_the_quiet_hours_waits_for_them_to_end()
    {
        var now = DateTime.UtcNow;
        await Host.SetQuietHoursAsync(TimeOnly.FromDateTime(now.AddHours(-1)), TimeOnly.FromDateTime(now.AddHours(1)));
        try
        {
            var customers = await SendingSeed.CustomersAsync(Host, 1);
            var (campaign, _) = await SendingSeed.CampaignAsync(Host, CampaignChannel.Sms, customers.Select(c => (c.Id, c.Phone)));
            // The sender polls every second: several rounds pass and the message is still waiting.
            await Task.Delay(TimeSpan.FromSeconds(4));
            Assert.Equal(MessageStatus.Queued, Assert.Single(await SendingSeed.MessagesAsync(Host, campaign.Id)).Status);
            await Host.SetQuietHoursAsync(null, null);
            Host.WakeSender();
            await SendingSeed.WaitUntilNoneQueuedAsync(Host, campaign.Id);
            Assert.Equal(MessageStatus.Sent, Assert.Single(await SendingSeed.MessagesAsync(Host, campaign.Id)).Status);
        }
        finally { await Host.SetQuietHoursAsync(null, null); }
    }

    [Fact]
    public async Task Sms_go_to_the_file_outbox_and_calls_become_tasks_for_the_agents_in_turn()
    {
        var customers = await SendingSeed.CustomersAsync(Host, 4);
        var (sms, _) = await SendingSeed.CampaignAsync(Host, CampaignChannel.Sms, customers.Select(c => (c.Id, c.Phone)));
        await SendingSeed.WaitUntilNoneQueuedAsync(Host, sms.Id);
        var sent = await SendingSeed.MessagesAsync(Host, sms.Id);
        Assert.All(sent, m => Assert.Equal(MessageStatus.Sent, m.Status));
        var lines = Directory.GetFiles(Path.Combine(Host.DataDir, "sms-outbox"), "*.jsonl").SelectMany(File.ReadAllLines)
            .Select(l => JsonDocument.Parse(l).RootElement).Where(l => sent.Any(m => m.Id == l.GetProperty("messageId").GetGuid())).ToList();
        Assert.Equal(4, lines.Count);
        foreach (var c in customers)
        {
            var line = Assert.Single(lines, l => l.GetProperty("to").GetString() == c.Phone);
            var text = line.GetProperty("text").GetString()!;
            Assert.StartsWith($"Hi {c.FirstName}! Spring deal: {SendingSeed.OfferName}. Stop: https://kolo.test/u/", text, StringComparison.Ordinal);
            Assert.Equal(sent.Single(m => m.CustomerId == c.Id).ProviderId, line.GetProperty("id").GetString());
        }

        var agents = new List<Guid>();
        using var admin = Host.Admin();
        for (var i = 0; i < 2; i++)
        {
            var user = await admin.PostJsonAsync("/api/v1/users", new
            {
                email = $"agent-{Unique.Word(8)}@test.kolo", displayName = "Agent " + Unique.Name(), role = "Support", customerAccess = "All", password = KoloAppFixture.UserPassword,
            }, HttpStatusCode.Created);
            agents.Add(user.Id());
        }
        var (calls, _) = await SendingSeed.CampaignAsync(Host, CampaignChannel.Call, customers.Select(c => (c.Id, c.Phone)), c => c.CallAgentIds = agents);
        await SendingSeed.WaitUntilNoneQueuedAsync(Host, calls.Id);
        var callMessages = await SendingSeed.MessagesAsync(Host, calls.Id);
        Assert.All(callMessages, m => Assert.Equal(MessageStatus.Sent, m.Status));
        await using var db = await Host.Db.CreateDbContextAsync();
        var taskIds = callMessages.Select(m => m.TaskId!.Value).ToList();
        var tasks = await db.Tasks.AsNoTracking().Where(t => taskIds.Contains(t.Id)).ToListAsync();
        Assert.Equal(4, tasks.Count);
        Assert.Equal(2, tasks.Count(t => t.AssigneeId == agents[0]));
        Assert.Equal(2, tasks.Count(t => t.AssigneeId == agents[1]));
        foreach (var m in callMessages)
        {
            var task = tasks.Single(t => t.Id == m.TaskId);
            Assert.Equal(m.CustomerId, task.CustomerId);
            Assert.Equal("campaign", task.RelatedType);
            Assert.Equal(calls.Id, task.RelatedId);
            Assert.Contains("about the spring deal", task.Notes, StringComparison.Ordinal);
            Assert.Contains(m.Address!, task.Notes, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_web_message_waits_for_the_identified_visitor_and_is_delivered_once()
    {
        var customers = await SendingSeed.CustomersAsync(Host, 1);
        var c = customers[0];
        var (campaign, webMessages) = await SendingSeed.CampaignAsync(Host, CampaignChannel.Web, [(c.Id, (string)null!)]);
        var campaignMessageId = webMessages[0].Id;
        await Task.Delay(1500); // the sender runs at least once and must leave the web message queued
        Assert.Equal(MessageStatus.Queued, (await SendingSeed.MessagesAsync(Host, campaign.Id)).Single().Status);

        var visitor = "v-" + Guid.NewGuid().ToString("N");
        using var browser = Host.Anonymous();
        async Task<JsonElement> CollectAsync(object body)
        {
            using var r = await browser.PostAsync("/t/collect", new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "text/plain"));
            return await r.ExpectAsync(HttpStatusCode.OK);
        }
        var anonymous = await CollectAsync(new { visitorId = visitor, url = "https://shop.example.com/", title = "Home" });
        Assert.Equal(0, anonymous.GetProperty("messages").GetArrayLength());
        // An e-mail typed into a form links the visitor, but a personal message needs proof: a signed link of the customer.
        var typed = await CollectAsync(new { visitorId = visitor, url = "https://shop.example.com/contact", title = "Contact", email = c.Email.ToUpperInvariant() });
        Assert.Equal(0, typed.GetProperty("messages").GetArrayLength());
        await using (var db = await Host.Db.CreateDbContextAsync())
            Assert.Equal(c.Id, (await db.WebVisitors.SingleAsync(v => v.Id == visitor)).CustomerId);
        var token = await Host.Services.GetRequiredService<MessageTokens>().SignAsync(campaignMessageId, TokenPurpose.Visitor);
        var identified = await CollectAsync(new { visitorId = visitor, url = "https://shop.example.com/offer", title = "Offer", token });
        var message = Assert.Single(identified.GetProperty("messages").EnumerateArray());
        var html = message.GetProperty("html").GetString()!;
        Assert.StartsWith($"<p>Welcome back, {c.FirstName}!</p>", html, StringComparison.Ordinal);
        Assert.Matches(@"href=""https://kolo\.test/u/[A-Za-z0-9_-]{43}""", html);
        var again = await CollectAsync(new { visitorId = visitor, url = "https://shop.example.com/cart" });
        Assert.Equal(0, again.GetProperty("messages").GetArrayLength());

        var stored = (await SendingSeed.MessagesAsync(Host, campaign.Id)).Single();
        Assert.Equal(MessageStatus.Delivered, stored.Status);
        Assert.NotNull(stored.SentAt);
        Assert.NotNull(stored.DeliveredAt);
        await using (var db = await Host.Db.CreateDbContextAsync())
        {
            var visits = await db.WebVisits.AsNoTracking().Where(v => v.VisitorId == visitor).ToListAsync();
            Assert.Equal(4, visits.Count);
            Assert.All(visits, v => Assert.Equal(c.Id, v.CustomerId)); // the anonymous first visit back-filled
        }
        using var admin = Host.Admin();
        var timeline = await admin.GetJsonAsync($"/api/v1/customers/{c.Id}/timeline?kind=web-visit");
        Assert.Equal(4, timeline.Items().Count());
        Assert.Equal("Home", timeline.Items().Last().Str("title"));

        // Bad input is refused; the snippet itself is served.
        using (var r = await browser.PostAsync("/t/collect", new StringContent("{\"url\":\"x\"}", Encoding.UTF8, "text/plain"))) Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        using (var r = await browser.PostAsync("/t/collect", new StringContent("not json", Encoding.UTF8, "text/plain"))) Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        var js = await browser.GetStringAsync("/t/kolo.js");
        Assert.Contains("/t/collect", js, StringComparison.Ordinal);
        Assert.Contains("identify", js, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_test_send_arrives_marked_as_a_test_and_is_not_a_campaign_message()
    {
        var customers = await SendingSeed.CustomersAsync(Host, 1);
        var (campaign, _) = await SendingSeed.CampaignAsync(Host, CampaignChannel.Email, [], withOffers: false);
        await using (var db = await Host.Db.CreateDbContextAsync())
        {
            // A draft: test sends happen before launch.
            await db.Campaigns.Where(x => x.Id == campaign.Id).ExecuteUpdateAsync(s => s.SetProperty(x => x.Status, CampaignStatus.Draft).SetProperty(x => x.LaunchedAt, (DateTime?)null));
        }
        var to = $"tester-{Unique.Word(10)}@example.com";
        using var admin = Host.Admin();
        var result = await admin.PostJsonAsync($"/api/v1/campaigns/{campaign.Id}/test-send",
            new { variantId = campaign.Variants[0].Id, customerId = customers[0].Id, channel = "Email", to }, HttpStatusCode.OK);
        Assert.Equal($"{customers[0].FirstName}, a spring deal for you", result.Str("subject"));
        var mail = (await SmtpSink.WaitForAsync([to], 1)).Single().Message;
        Assert.Equal($"[TEST] {customers[0].FirstName}, a spring deal for you", mail.Subject);
        Assert.Empty(await SendingSeed.MessagesAsync(Host, campaign.Id));
        var sms = await admin.PostJsonAsync($"/api/v1/campaigns/{campaign.Id}/test-send",
            new { customerId = customers[0].Id, channel = "Sms", to = "+380671234567" }, HttpStatusCode.OK);
        Assert.StartsWith($"Hi {customers[0].FirstName}!", sms.Str("body"), StringComparison.Ordinal);

        using (var r = await admin.PostAsJsonAsync($"/api/v1/campaigns/{campaign.Id}/test-send", new { customerId = customers[0].Id, channel = "Email", to = "not an address" }))
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        using (var r = await admin.PostAsJsonAsync($"/api/v1/campaigns/{campaign.Id}/test-send", new { customerId = customers[0].Id, channel = "Email", to = $"bounce-{Unique.Word(8)}@example.com" }))
            Assert.Contains("to", (await r.ExpectValidationProblemAsync()).Keys);
        using (var r = await admin.PostAsJsonAsync($"/api/v1/campaigns/{Guid.NewGuid()}/test-send", new { customerId = customers[0].Id, channel = "Email", to }))
            Assert.Equal(HttpStatusCode.NotFound, r.StatusCode);
        var salesUser = await admin.PostJsonAsync("/api/v1/users", new
        {
            email = $"sales-{Unique.Word(8)}@test.kolo", displayName = "Sales " + Unique.Name(), role = "Sales", customerAccess = "All", password = KoloAppFixture.UserPassword,
        }, HttpStatusCode.Created);
        using var anonymous = Host.Anonymous();
        var token = (await anonymous.PostJsonAsync("/api/v1/auth/token", new { email = salesUser.Str("email"), password = KoloAppFixture.UserPassword }, HttpStatusCode.OK)).Str("token");
        using var sales = Host.Anonymous();
        sales.DefaultRequestHeaders.Authorization = new("Bearer", token);
        using (var r = await sales.PostAsJsonAsync($"/api/v1/campaigns/{campaign.Id}/test-send", new { customerId = customers[0].Id, channel = "Email", to }))
            Assert.Equal(HttpStatusCode.Forbidden, r.StatusCode);
        using (var r = await sales.PostAsJsonAsync("/api/v1/campaigns/bounces", new { messageId = "<x@y>" }))
            Assert.Equal(HttpStatusCode.Forbidden, r.StatusCode);
    }
}

[Collection("marketing-sqlite")]
public sealed class SqliteSendingApiTests(SqliteSendingFixture fixture) : SendingApiTests(fixture), IClassFixture<SqliteSendingFixture>;

[Collection("marketing-postgres")]
public sealed class PostgresSendingApiTests(PostgresSendingFixture fixture) : SendingApiTests(fixture), IClassFixture<PostgresSendingFixture>;
