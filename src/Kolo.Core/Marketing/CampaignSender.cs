using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Kolo.Core.Analytics;
using Kolo.Core.Customers;
using Kolo.Core.Data;
using Kolo.Core.Tasks;
using MailKit;
using MailKit.Net.Smtp;
using MimeKit;
using MimeKit.Utils;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;

namespace Kolo.Core.Marketing;

/// <summary>Wakes the campaign sender at once (a launch, a retry) instead of at its next poll.</summary>
public sealed class CampaignSendSignal
{
    private readonly SemaphoreSlim _signal = new(0, 1);

    public void Notify()
    {
        if (_signal.CurrentCount == 0) try { _signal.Release(); } catch (SemaphoreFullException) { /* already signalled */ }
    }

    public Task WaitAsync(TimeSpan timeout, CancellationToken ct) => _signal.WaitAsync(timeout, ct);
}

public sealed record TestSendInput(Guid? VariantId, Guid CustomerId, CampaignChannel? Channel, string? To);

public sealed record TestSendResult(CampaignChannel Channel, string? Subject, string Body, string? ProviderId);

public sealed record SendTotals(int Sent, int Bounced, int Failed, int Retried, int Interrupted, int Suppressed = 0);

/// <summary>
/// Delivers the due messages of running campaigns. Each batch is claimed with one conditional UPDATE (Queued → Sending,
/// with this node's claim id), so two nodes never hold the same message; a message goes out only after its claim, and
/// a message found in Sending after a crash is never sent again automatically (it becomes Failed after a lease), so
/// nothing is delivered twice. A graceful stop hands back the claimed messages it has not tried yet.
/// </summary>
public sealed partial class CampaignSender(
    IDbContextFactory<KoloDb> dbFactory, TimeProvider clock, MessageTokens tokens, PublicUrl publicUrl, SmtpOptions smtp,
    CampaignSendingOptions options, ISmsGateway sms, ILogger<CampaignSender> log)
{
    public const string InterruptedError = "interrupted — not resent to avoid a duplicate";

    /// <summary>Which node claimed a message (shown in ClaimedBy, with a claim id per batch).</summary>
    public string NodeId { get; } = $"{Trim(Environment.MachineName, 40)}:{Environment.ProcessId}:{Guid.NewGuid().ToString("N")[..8]}";

    public bool EmailConfigured => !string.IsNullOrWhiteSpace(smtp.Host);

    /// <summary>Sends every due message, batch after batch, until none is left or <paramref name="stop"/> fires.</summary>
    public async Task<SendTotals> SendDueAsync(CancellationToken stop = default)
    {
        var totals = new Counter();
        totals.Interrupted = await FailInterruptedAsync(stop);
        while (!stop.IsCancellationRequested)
        {
            // A claim is not cut short by the stop: cancelled between its two statements it would leave messages marked
            // Sending that nobody sends. The batch it returns is handed back unsent when the stop comes during it.
            var (claim, batch) = await ClaimAsync(CancellationToken.None);
            if (batch.Count == 0) break;
            await SendBatchAsync(claim, batch, totals, stop);
        }
        if (!stop.IsCancellationRequested) await CompleteCampaignsAsync(stop);
        return new SendTotals(totals.Sent, totals.Bounced, totals.Failed, totals.Retried, totals.Interrupted, totals.Suppressed);
    }

    private sealed class Counter
    {
        public int Sent, Bounced, Failed, Retried, Interrupted, Suppressed;
    }

    /// <summary>A message still in Sending long after its claim: its node died mid-send. It may have gone out, so it is not resent.</summary>
    private async Task<int> FailInterruptedAsync(CancellationToken ct)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        var lease = now.AddMinutes(-Math.Max(1, options.InterruptedAfterMinutes));
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var n = await db.CampaignMessages.Where(m => m.Status == MessageStatus.Sending && m.ClaimedAt < lease)
            .ExecuteUpdateAsync(s => s.SetProperty(m => m.Status, MessageStatus.Failed).SetProperty(m => m.FailedAt, now)
                .SetProperty(m => m.Error, InterruptedError), ct);
        if (n > 0) log.LogWarning("{Count} campaign messages were interrupted mid-send and are marked failed, not resent", n);
        return n;
    }

    private async Task<(string Claim, List<CampaignMessage> Batch)> ClaimAsync(CancellationToken ct)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        var claim = $"{NodeId}/{Guid.NewGuid().ToString("N")[..12]}";
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        // Messages are planned outside the quiet hours, but one can still come due inside them (the sender was down, a
        // retry, a batch running late): nothing is claimed until the quiet hours end.
        var policy = await db.ContactPolicies.AsNoTracking().FirstOrDefaultAsync(p => p.Id == ContactPolicy.SingletonId, ct) ?? new ContactPolicy();
        if (ContactPolicyService.OutsideQuietHours(policy, now) != now) return (claim, []);
        // Web messages wait for the visitor (the collect endpoint delivers them); e-mails wait while no SMTP server is set.
        // A queued message's ClaimedAt is when it may be tried again after a temporary failure.
        var due = db.CampaignMessages.Where(m => m.Status == MessageStatus.Queued && m.PlannedAt <= now
            && (m.ClaimedAt == null || m.ClaimedAt <= now)
            && m.Channel != null && m.Channel != CampaignChannel.Web
            && db.Campaigns.Any(c => c.Id == m.CampaignId && c.Status == CampaignStatus.Running && (c.EndsAt == null || c.EndsAt > now)));
        if (!EmailConfigured) due = due.Where(m => m.Channel != CampaignChannel.Email);
        var ids = await due.OrderBy(m => m.PlannedAt).ThenBy(m => m.Id).Select(m => m.Id).Take(Math.Max(1, options.BatchSize)).ToListAsync(ct);
        if (ids.Count == 0) return (claim, []);
        await db.CampaignMessages.Where(m => ids.Contains(m.Id) && m.Status == MessageStatus.Queued)
            .ExecuteUpdateAsync(s => s.SetProperty(m => m.Status, MessageStatus.Sending).SetProperty(m => m.ClaimedBy, claim)
                .SetProperty(m => m.ClaimedAt, now).SetProperty(m => m.Attempts, m => m.Attempts + 1), ct);
        var batch = await db.CampaignMessages.AsNoTracking().Where(m => ids.Contains(m.Id) && m.ClaimedBy == claim && m.Status == MessageStatus.Sending)
            .ToListAsync(ct);
        return (claim, batch.OrderBy(m => m.PlannedAt).ThenBy(m => m.Id).ToList());
    }

    private abstract record Outcome;
    private sealed record SentOutcome(string? ProviderId, string Address, Guid? TaskId) : Outcome;
    private sealed record BouncedOutcome(string Error) : Outcome;
    private sealed record FailedOutcome(string Error) : Outcome;
    private sealed record RetryOutcome(string Error) : Outcome;
    private sealed record SuppressedOutcome(SuppressionReason Reason) : Outcome;

    private async Task SendBatchAsync(string claim, List<CampaignMessage> batch, Counter totals, CancellationToken stop)
    {
        await using var db = await dbFactory.CreateDbContextAsync(CancellationToken.None);
        var campaignIds = batch.Select(m => m.CampaignId).Distinct().ToList();
        var campaigns = await db.Campaigns.AsNoTracking().Include(c => c.Variants).Where(c => campaignIds.Contains(c.Id)).ToDictionaryAsync(c => c.Id, CancellationToken.None);
        var customerIds = batch.Select(m => m.CustomerId).Distinct().ToList();
        var customers = await db.Customers.AsNoTracking().Where(c => customerIds.Contains(c.Id)).ToDictionaryAsync(c => c.Id, CancellationToken.None);
        var scores = await db.CustomerScores.AsNoTracking().Where(s => customerIds.Contains(s.CustomerId)).ToDictionaryAsync(s => s.CustomerId, CancellationToken.None);
        var key = await tokens.KeyAsync(CancellationToken.None);
        var callTurns = new Dictionary<Guid, int>();
        var pending = new List<(CampaignMessage, Outcome)>();
        var lease = TimeSpan.FromMinutes(Math.Max(1, options.InterruptedAfterMinutes));
        var leaseRenewedAt = clock.GetUtcNow().UtcDateTime;
        SmtpClient? client = null;
        try
        {
            for (var i = 0; i < batch.Count; i++)
            {
                if (stop.IsCancellationRequested)
                {
                    // Not tried yet: hand them back untouched, so the next run (here or on another node) sends them.
                    await FlushAsync(db, claim, pending, totals);
                    await ReleaseAsync(db, claim, batch.Skip(i).Select(m => m.Id).ToList());
                    return;
                }
                var m = batch[i];
                // A long batch (a slow server) renews its claim well before the lease runs out, so no other node takes
                // these messages for interrupted while this one is still sending them.
                if (clock.GetUtcNow().UtcDateTime - leaseRenewedAt > lease / 3)
                {
                    leaseRenewedAt = clock.GetUtcNow().UtcDateTime;
                    var rest = batch.Skip(i).Select(x => x.Id).ToList();
                    await db.CampaignMessages.Where(x => rest.Contains(x.Id) && x.ClaimedBy == claim && x.Status == MessageStatus.Sending)
                        .ExecuteUpdateAsync(u => u.SetProperty(x => x.ClaimedAt, leaseRenewedAt), CancellationToken.None);
                }
                Outcome outcome;
                try
                {
                    if (!campaigns.TryGetValue(m.CampaignId, out var campaign) || !customers.TryGetValue(m.CustomerId, out var customer))
                        outcome = new FailedOutcome("The campaign or the customer no longer exists.");
                    else
                    {
                        var variant = campaign.Variants.FirstOrDefault(v => v.Id == m.VariantId) ?? campaign.Variants.OrderBy(v => v.SortOrder).FirstOrDefault();
                        if (variant is null) outcome = new FailedOutcome("The campaign has no message variant.");
                        // Consent is read again at sending: the customer may have opted out since the audience was built.
                        else if (m.Channel is { } channel && MarketingConsent.Refusal(customer, channel) is { } refusal) outcome = new SuppressedOutcome(refusal);
                        else switch (m.Channel)
                        {
                            case CampaignChannel.Email:
                                (outcome, client) = await SendEmailAsync(client, key, m, campaign, variant, customer, scores.GetValueOrDefault(m.CustomerId));
                                break;
                            case CampaignChannel.Sms:
                                outcome = await SendSmsAsync(key, m, campaign, variant, customer, scores.GetValueOrDefault(m.CustomerId));
                                break;
                            case CampaignChannel.Call:
                                outcome = await CreateCallTaskAsync(db, key, m, campaign, variant, customer, scores.GetValueOrDefault(m.CustomerId), callTurns);
                                break;
                            default:
                                outcome = new FailedOutcome($"Channel {m.Channel} is not sent by the sender.");
                                break;
                        }
                    }
                }
                catch (Exception e)
                {
                    // A template that cannot render, an unexpected driver error: this message fails, the batch goes on.
                    log.LogWarning(e, "Campaign message {MessageId} could not be sent", m.Id);
                    outcome = new FailedOutcome(e.Message);
                }
                pending.Add((m, outcome));
                if (pending.Count >= FlushEvery) await FlushAsync(db, claim, pending, totals);
            }
            await FlushAsync(db, claim, pending, totals);
        }
        finally
        {
            if (client is not null)
            {
                try { if (client.IsConnected) await client.DisconnectAsync(true, CancellationToken.None); }
                catch (Exception e) when (e is IOException or SocketException or ProtocolException or SmtpCommandException) { /* the server is gone already */ }
                client.Dispose();
            }
        }
    }

    private static async Task ReleaseAsync(KoloDb db, string claim, List<Guid> ids)
    {
        if (ids.Count == 0) return;
        await db.CampaignMessages.Where(m => ids.Contains(m.Id) && m.ClaimedBy == claim && m.Status == MessageStatus.Sending)
            .ExecuteUpdateAsync(s => s.SetProperty(m => m.Status, MessageStatus.Queued).SetProperty(m => m.ClaimedBy, (string?)null)
                .SetProperty(m => m.ClaimedAt, (DateTime?)null).SetProperty(m => m.Attempts, m => m.Attempts - 1), CancellationToken.None);
    }

    /// <summary>
    /// Outcomes are recorded every <see cref="FlushEvery"/> messages in one transaction (one commit instead of one per
    /// message). Until then a sent message is still Sending under this node's claim: a crash in between leaves it to be
    /// marked interrupted, never sent twice.
    /// </summary>
    private const int FlushEvery = 50;

    private async Task FlushAsync(KoloDb db, string claim, List<(CampaignMessage Message, Outcome Outcome)> pending, Counter totals)
    {
        if (pending.Count == 0) return;
        await using (var tx = await db.Database.BeginTransactionAsync(CancellationToken.None))
        {
            foreach (var (m, outcome) in pending) await RecordAsync(db, claim, m, outcome, totals);
            await tx.CommitAsync(CancellationToken.None);
        }
        pending.Clear();
    }

    private async Task RecordAsync(KoloDb db, string claim, CampaignMessage m, Outcome outcome, Counter totals)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        var mine = db.CampaignMessages.Where(x => x.Id == m.Id && x.ClaimedBy == claim && x.Status == MessageStatus.Sending);
        var ct = CancellationToken.None; // a message that went out is recorded even while the node stops
        switch (outcome)
        {
            case SentOutcome s:
                await mine.ExecuteUpdateAsync(u => u.SetProperty(x => x.Status, MessageStatus.Sent).SetProperty(x => x.SentAt, now)
                    .SetProperty(x => x.ProviderId, s.ProviderId).SetProperty(x => x.Address, s.Address).SetProperty(x => x.TaskId, s.TaskId)
                    .SetProperty(x => x.Error, (string?)null), ct);
                totals.Sent++;
                break;
            case BouncedOutcome b:
                await mine.ExecuteUpdateAsync(u => u.SetProperty(x => x.Status, MessageStatus.Bounced).SetProperty(x => x.BouncedAt, now)
                    .SetProperty(x => x.Error, Trim(b.Error, 1000)), ct);
                totals.Bounced++;
                break;
            case RetryOutcome r when m.Attempts < Math.Max(1, options.MaxAttempts):
                var wait = TimeSpan.FromSeconds(Math.Max(1, options.RetrySeconds) * Math.Pow(2, Math.Min(10, m.Attempts - 1)));
                await mine.ExecuteUpdateAsync(u => u.SetProperty(x => x.Status, MessageStatus.Queued).SetProperty(x => x.ClaimedBy, (string?)null)
                    .SetProperty(x => x.ClaimedAt, now + wait).SetProperty(x => x.Error, Trim(r.Error, 1000)), ct);
                totals.Retried++;
                break;
            case RetryOutcome r:
                await mine.ExecuteUpdateAsync(u => u.SetProperty(x => x.Status, MessageStatus.Failed).SetProperty(x => x.FailedAt, now)
                    .SetProperty(x => x.Error, Trim($"Gave up after {m.Attempts} attempts: {r.Error}", 1000)), ct);
                totals.Failed++;
                break;
            case FailedOutcome f:
                await mine.ExecuteUpdateAsync(u => u.SetProperty(x => x.Status, MessageStatus.Failed).SetProperty(x => x.FailedAt, now)
                    .SetProperty(x => x.Error, Trim(f.Error, 1000)), ct);
                totals.Failed++;
                break;
            case SuppressedOutcome s:
                await mine.ExecuteUpdateAsync(u => u.SetProperty(x => x.Status, MessageStatus.Suppressed).SetProperty(x => x.Reason, s.Reason)
                    .SetProperty(x => x.ClaimedBy, (string?)null), ct);
                totals.Suppressed++;
                break;
        }
    }

    private string From => string.IsNullOrWhiteSpace(options.From) ? smtp.From : options.From;

    /// <summary>The e-mail as it goes out: rendered, links tracked, open pixel, List-Unsubscribe headers, a Message-ID.</summary>
    public MimeMessage BuildEmail(byte[] key, Guid messageId, string to, RenderedMessage rendered, string unsubscribeToken)
    {
        var baseUrl = publicUrl.Value;
        var html = TrackLinks(rendered.Body, baseUrl, key, messageId);
        var pixel = $"<img src=\"{baseUrl}/t/o/{MessageTokens.Sign(key, messageId, TokenPurpose.Open)}\" width=\"1\" height=\"1\" alt=\"\" style=\"display:none\">";
        var close = html.LastIndexOf("</body>", StringComparison.OrdinalIgnoreCase);
        html = close >= 0 ? html.Insert(close, pixel) : html + pixel;
        var from = MailboxAddress.Parse(From);
        var message = new MimeMessage();
        message.From.Add(from);
        message.To.Add(MailboxAddress.Parse(to));
        message.Subject = rendered.Subject ?? "";
        var domain = from.Address.Contains('@', StringComparison.Ordinal) ? from.Address[(from.Address.IndexOf('@', StringComparison.Ordinal) + 1)..] : "kolo.local";
        message.MessageId = MimeUtils.GenerateMessageId(domain);
        // RFC 2369 + RFC 8058: mail clients show an unsubscribe button that posts to the link without opening a page.
        // No mailto: address: Kolo reads no mailbox, so an unsubscribe sent by e-mail would go unheeded.
        message.Headers.Add("List-Unsubscribe", $"<{baseUrl}/u/{unsubscribeToken}>");
        message.Headers.Add("List-Unsubscribe-Post", "List-Unsubscribe=One-Click");
        message.Body = new BodyBuilder { HtmlBody = html }.ToMessageBody();
        return message;
    }

    [GeneratedRegex("""href\s*=\s*(?:"(?<u>https?://[^"]+)"|'(?<u>https?://[^']+)')""", RegexOptions.IgnoreCase)]
    private static partial Regex Href();

    /// <summary>Every http(s) link except Kolo's own (the unsubscribe link) goes through a signed click redirect.</summary>
    public static string TrackLinks(string html, string baseUrl, byte[] key, Guid messageId) => Href().Replace(html, match =>
    {
        var url = WebUtility.HtmlDecode(match.Groups["u"].Value);
        if (url.StartsWith(baseUrl + "/", StringComparison.OrdinalIgnoreCase)) return match.Value;
        var token = MessageTokens.Sign(key, messageId, TokenPurpose.Click, url);
        return $"href=\"{baseUrl}/t/c/{token}?u={Uri.EscapeDataString(url)}\"";
    });

    private TemplateData Data(byte[] key, CampaignMessage m, Campaign campaign, Customer customer, CustomerScore? score, out string unsubscribeToken)
    {
        unsubscribeToken = MessageTokens.Sign(key, m.Id, TokenPurpose.Unsubscribe);
        return MessageTemplates.DataFor(customer, score, campaign.Name, $"{publicUrl.Value}/u/{unsubscribeToken}");
    }

    private async Task<(Outcome, SmtpClient?)> SendEmailAsync(SmtpClient? client, byte[] key, CampaignMessage m, Campaign campaign, CampaignVariant variant, Customer customer, CustomerScore? score)
    {
        var to = m.Address ?? customer.Emails.Select(e => e.Address).FirstOrDefault();
        if (string.IsNullOrWhiteSpace(to)) return (new FailedOutcome("The customer has no e-mail address."), client);
        var data = Data(key, m, campaign, customer, score, out var unsubscribe);
        if (MessageTemplates.Render(variant, CampaignChannel.Email, data) is not { } rendered)
            return (new FailedOutcome($"Variant '{variant.Name}' has no e-mail text."), client);
        MimeMessage message;
        try { message = BuildEmail(key, m.Id, to, rendered, unsubscribe); }
        catch (ParseException e) { return (new FailedOutcome("Invalid address: " + e.Message), client); }
        try
        {
            client ??= await ConnectAsync();
            // Not cancellable: once handed to the server the message must be recorded as sent.
            await client.SendAsync(message, CancellationToken.None);
            return (new SentOutcome(message.MessageId, to, null), client);
        }
        catch (SmtpCommandException e) when ((int)e.StatusCode >= 500)
        {
            await DropAsync(client);
            return (new BouncedOutcome($"{(int)e.StatusCode} {e.Message}"), null);
        }
        catch (Exception e) when (e is SmtpCommandException or SmtpProtocolException or IOException or SocketException or ServiceNotConnectedException
                                       or TimeoutException or OperationCanceledException or MailKit.Security.AuthenticationException)
        {
            await DropAsync(client);
            return (new RetryOutcome(e is SmtpCommandException c ? $"{(int)c.StatusCode} {e.Message}" : e.Message), null);
        }
    }

    /// <summary>After an error the connection's state is unknown: the next message opens a new one.</summary>
    private static async Task DropAsync(SmtpClient? client)
    {
        if (client is null) return;
        try { if (client.IsConnected) await client.DisconnectAsync(true, CancellationToken.None); }
        catch (Exception e) when (e is IOException or SocketException or ProtocolException or SmtpCommandException or ServiceNotConnectedException) { /* gone */ }
        client.Dispose();
    }

    /// <summary>One SMTP connection per batch.</summary>
    public async Task<SmtpClient> ConnectAsync()
    {
        var client = new SmtpClient { Timeout = 30_000 };
        try
        {
            var security = Enum.TryParse<MailKit.Security.SecureSocketOptions>(smtp.Security, true, out var s) ? s : MailKit.Security.SecureSocketOptions.StartTlsWhenAvailable;
            await client.ConnectAsync(smtp.Host!, smtp.Port, security, CancellationToken.None);
            if (!string.IsNullOrEmpty(smtp.User)) await client.AuthenticateAsync(smtp.User, smtp.Password ?? "", CancellationToken.None);
            return client;
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    private async Task<Outcome> SendSmsAsync(byte[] key, CampaignMessage m, Campaign campaign, CampaignVariant variant, Customer customer, CustomerScore? score)
    {
        var to = m.Address ?? customer.Phones.Select(p => p.Number).FirstOrDefault();
        if (string.IsNullOrWhiteSpace(to)) return new FailedOutcome("The customer has no phone number.");
        if (MessageTemplates.Render(variant, CampaignChannel.Sms, Data(key, m, campaign, customer, score, out _)) is not { } rendered)
            return new FailedOutcome($"Variant '{variant.Name}' has no SMS text.");
        try { return new SentOutcome(await sms.SendAsync(m.Id, to, rendered.Body, CancellationToken.None), to, null); }
        catch (SmsRejectedException e) { return new BouncedOutcome(e.Message); }
        catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException) { return new RetryOutcome(e.Message); }
    }

    /// <summary>A call-list task for an agent of the campaign (round robin), else the customer's owner, with the script.</summary>
    private async Task<Outcome> CreateCallTaskAsync(KoloDb db, byte[] key, CampaignMessage m, Campaign campaign, CampaignVariant variant, Customer customer,
        CustomerScore? score, Dictionary<Guid, int> turns)
    {
        var phone = m.Address ?? customer.Phones.Select(p => p.Number).FirstOrDefault();
        if (string.IsNullOrWhiteSpace(phone)) return new FailedOutcome("The customer has no phone number.");
        if (MessageTemplates.Render(variant, CampaignChannel.Call, Data(key, m, campaign, customer, score, out _)) is not { } rendered)
            return new FailedOutcome($"Variant '{variant.Name}' has no call script.");
        Guid? agent = null;
        if (campaign.CallAgentIds.Count > 0)
        {
            if (!turns.TryGetValue(campaign.Id, out var turn))
                turn = await db.CampaignMessages.CountAsync(x => x.CampaignId == campaign.Id && x.TaskId != null, CancellationToken.None);
            agent = campaign.CallAgentIds[turn % campaign.CallAgentIds.Count];
            turns[campaign.Id] = turn + 1;
        }
        agent ??= customer.OwnerId ?? campaign.CreatedById;
        if (agent is null) return new FailedOutcome("No call agent: the campaign has none and the customer has no owner.");
        var now = clock.GetUtcNow().UtcDateTime;
        var task = new TaskItem
        {
            Title = Trim($"Call {customer.DisplayName}: {campaign.Name}", 300),
            Notes = Trim($"{phone}\n\n{rendered.Body}", 4000),
            DueAt = m.PlannedAt > now ? m.PlannedAt : now,
            AssigneeId = agent.Value,
            CustomerId = customer.Id,
            RelatedType = "campaign",
            RelatedId = campaign.Id,
            CreatedAt = now,
            UpdatedAt = now,
        }.WithSortKey();
        // The task and the message's Sent commit together: a crash leaves neither, or both.
        await using var tx = await db.Database.BeginTransactionAsync(CancellationToken.None);
        db.Tasks.Add(task);
        await db.SaveChangesAsync(CancellationToken.None);
        db.ChangeTracker.Clear();
        var n = await db.CampaignMessages.Where(x => x.Id == m.Id && x.Status == MessageStatus.Sending && x.ClaimedBy == m.ClaimedBy)
            .ExecuteUpdateAsync(u => u.SetProperty(x => x.TaskId, task.Id), CancellationToken.None);
        if (n == 0) return new FailedOutcome("The message was taken away while its task was being created.");
        await tx.CommitAsync(CancellationToken.None);
        return new SentOutcome(null, phone, task.Id);
    }

    /// <summary>
    /// A running campaign is complete when nothing is queued or sending; once its end date has passed, what is still queued
    /// (web messages nobody came back for, messages planned too late) fails as "campaign ended".
    /// </summary>
    private async Task CompleteCampaignsAsync(CancellationToken ct)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        await db.CampaignMessages.Where(m => m.Status == MessageStatus.Queued
                && db.Campaigns.Any(c => c.Id == m.CampaignId && c.Status == CampaignStatus.Running && c.EndsAt != null && c.EndsAt < now))
            .ExecuteUpdateAsync(s => s.SetProperty(m => m.Status, MessageStatus.Failed).SetProperty(m => m.FailedAt, now)
                .SetProperty(m => m.Error, "Not sent: the campaign ended."), ct);
        var version = Guid.NewGuid();
        await db.Campaigns.Where(c => c.Status == CampaignStatus.Running && c.LaunchedAt != null
                && !db.CampaignMessages.Any(m => m.CampaignId == c.Id && (m.Status == MessageStatus.Queued || m.Status == MessageStatus.Sending)))
            .ExecuteUpdateAsync(s => s.SetProperty(c => c.Status, CampaignStatus.Completed).SetProperty(c => c.CompletedAt, now)
                .SetProperty(c => c.UpdatedAt, now).SetProperty(c => c.Version, version), ct);
    }

    /// <summary>
    /// A test send by a marketer: the variant rendered for a chosen customer, sent to <paramref name="input"/>'s address,
    /// recorded nowhere but the audit log (it is not a campaign message and counts against no policy).
    /// </summary>
    public async Task<TestSendResult> TestSendAsync(Platform.Actor actor, Guid campaignId, TestSendInput input, CancellationToken ct = default)
    {
        if (actor.Role is not (Platform.UserRole.Admin or Platform.UserRole.Manager or Platform.UserRole.Marketing))
            throw new Platform.ForbiddenException("Only marketing, managers and admins send test messages.");
        var errors = new Platform.ValidationErrors();
        if (string.IsNullOrWhiteSpace(input.To)) errors.Add("to", "Give the address to send the test to.");
        else if (input.Channel == CampaignChannel.Email && !MailboxAddress.TryParse(input.To, out _)) errors.Add("to", "Not a valid e-mail address.");
        if (input.Channel is null) errors.Add("channel", "Choose a channel.");
        errors.ThrowIfAny();
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var campaign = await db.Campaigns.AsNoTracking().Include(c => c.Variants).FirstOrDefaultAsync(c => c.Id == campaignId, ct)
            ?? throw new Platform.NotFoundException("Campaign", campaignId);
        var variant = input.VariantId is { } vid
            ? campaign.Variants.FirstOrDefault(v => v.Id == vid) ?? throw Platform.ValidationFailedException.For("variantId", "The campaign has no such variant.")
            : campaign.Variants.OrderBy(v => v.SortOrder).FirstOrDefault() ?? throw Platform.ValidationFailedException.For("variantId", "The campaign has no variant.");
        var customer = await db.Customers.AsNoTracking().FirstOrDefaultAsync(c => c.Id == input.CustomerId, ct)
            ?? throw new Platform.NotFoundException("Customer", input.CustomerId);
        var score = await db.CustomerScores.AsNoTracking().FirstOrDefaultAsync(s => s.CustomerId == customer.Id, ct);
        RenderedMessage message;
        string? providerId;
        try { (message, providerId) = await TestSendAsync(campaign, variant, customer, score, input.Channel!.Value, input.To!.Trim(), ct); }
        catch (Exception e) when (e is SocketException or IOException or ProtocolException or CommandException or HttpRequestException or SmsRejectedException)
        {
            // The server refused the test address or is unreachable: the marketer sees why, next to the address.
            throw Platform.ValidationFailedException.For("to", "Could not send the test: " + e.Message);
        }
        var now = clock.GetUtcNow().UtcDateTime;
        db.AuditEntries.Add(Platform.Audit.Entry(actor, now, "campaign", campaign.Id, "test-send",
            [new Platform.FieldChange("testSend", null, $"{input.Channel} to {input.To} as {customer.DisplayName} ({variant.Name})")]));
        await db.SaveChangesAsync(ct);
        return new TestSendResult(input.Channel.Value, message.Subject, message.Body, providerId);
    }

    /// <summary>Renders a variant for a customer and sends it to <paramref name="to"/> without recording a campaign message (a test send).</summary>
    public async Task<(RenderedMessage Message, string? ProviderId)> TestSendAsync(Campaign campaign, CampaignVariant variant, Customer customer, CustomerScore? score,
        CampaignChannel channel, string to, CancellationToken ct)
    {
        var key = await tokens.KeyAsync(ct);
        // A message id nobody has: the links look real but lead nowhere (404), so a test cannot unsubscribe the customer.
        var fake = new CampaignMessage { Id = Guid.CreateVersion7(), CampaignId = campaign.Id, CustomerId = customer.Id };
        var data = Data(key, fake, campaign, customer, score, out var unsubscribe);
        var rendered = MessageTemplates.Render(variant, channel, data)
            ?? throw Invalid($"Variant '{variant.Name}' has no text for {channel}.");
        switch (channel)
        {
            case CampaignChannel.Email:
                if (!EmailConfigured) throw Invalid("No SMTP server is configured.");
                var message = BuildEmail(key, fake.Id, to, rendered with { Subject = "[TEST] " + rendered.Subject }, unsubscribe);
                using (var client = await ConnectAsync())
                {
                    await client.SendAsync(message, ct);
                    await client.DisconnectAsync(true, ct);
                }
                return (rendered, message.MessageId);
            case CampaignChannel.Sms:
                return (rendered, await sms.SendAsync(fake.Id, to, rendered.Body, ct));
            default:
                // Calls and web messages have nowhere to be sent: the test shows the rendered text.
                return (rendered, null);
        }
    }

    private static Platform.ValidationFailedException Invalid(string message) =>
        new(new Dictionary<string, string[]> { ["channel"] = [message] });

    private static string Trim(string s, int max) => s.Length > max ? s[..max] : s;
}
