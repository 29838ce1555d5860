using System.ComponentModel.DataAnnotations;
using System.Net;
using System.Text.Json.Serialization;
using Kolo.Core.Customers;
using Kolo.Core.Data;
using Kolo.Core.Platform;
using Kolo.Core.Tasks;
using Kolo.Core.Timeline;
using Microsoft.EntityFrameworkCore;

namespace Kolo.Core.Marketing;

public enum ResponseKind { Reply, CallOutcome, NegativeFeedback }

/// <summary>What a call-centre agent heard; <see cref="NotInterested"/> is negative feedback (it needs a reason).</summary>
public enum CallOutcome
{
    [JsonStringEnumMemberName("reached")] Reached,
    [JsonStringEnumMemberName("no_answer")] NoAnswer,
    [JsonStringEnumMemberName("call_back")] CallBack,
    [JsonStringEnumMemberName("not_interested")] NotInterested,
    [JsonStringEnumMemberName("converted")] Converted,
}

public sealed class ResponseInput
{
    [Required] public ResponseKind? Kind { get; set; }
    /// <summary>Required for a call outcome.</summary>
    public CallOutcome? Outcome { get; set; }
    /// <summary>Why the customer refused: required for negative feedback and for "not interested".</summary>
    [StringLength(500)] public string? Reason { get; set; }
    [StringLength(10_000)] public string? Text { get; set; }
    /// <summary>When it happened; now when omitted. Not in the future.</summary>
    public DateTime? OccurredAt { get; set; }
}

public sealed record CampaignMessageView(
    Guid Id, Guid CampaignId, Guid CustomerId, string CustomerName, Guid? VariantId, string? VariantName, CampaignChannel? Channel, MessageStatus Status,
    SuppressionReason? Reason, Guid? DisplacedByCampaignId, string? Address, DateTime PlannedAt, DateTime? SentAt, DateTime? DeliveredAt, DateTime? OpenedAt,
    DateTime? ClickedAt, DateTime? RespondedAt, DateTime? ConvertedAt, DateTime? UnsubscribedAt, DateTime? BouncedAt, DateTime? FailedAt, string? Error, Guid? TaskId);

public sealed record ResponseResult(Guid InteractionId, bool ConsentWithdrawn, bool TaskCompleted, CampaignMessageView Message);

public sealed record MessageQuery
{
    public MessageStatus? Status { get; init; }
    public SuppressionReason? Reason { get; init; }
    public Guid? VariantId { get; init; }
    public CampaignChannel? Channel { get; init; }
    /// <summary>Part of the customer's name.</summary>
    public string? Q { get; init; }
    public int Limit { get; init; } = 50;
    public string? Cursor { get; init; }
}

/// <summary>One call an agent has to make: the customer, the number, the personalised script.</summary>
public sealed record CallListItem(
    Guid MessageId, Guid TaskId, Guid CampaignId, string CampaignName, Guid CustomerId, string CustomerName, string? Phone, string? Script,
    DateTime? DueAt, DateTime PlannedAt, string? LastOutcome);

/// <summary>
/// What came back from a campaign: replies, call outcomes and negative feedback recorded against its messages (each one on
/// the customer's timeline), the message list, the agents' call list, and the results.
/// </summary>
public sealed class CampaignResponseService(IDbContextFactory<KoloDb> dbFactory, TimeProvider clock)
{
    public const string MessageEntity = "campaign-message";

    private static readonly MessageStatus[] BeforeResponded = [MessageStatus.Sent, MessageStatus.Delivered, MessageStatus.Opened, MessageStatus.Clicked];

    private static readonly MessageStatus[] BeforeUnsubscribed =
        [MessageStatus.Sent, MessageStatus.Delivered, MessageStatus.Opened, MessageStatus.Clicked, MessageStatus.Responded, MessageStatus.Converted];

    private DateTime Now() => clock.GetUtcNow().UtcDateTime;

    /// <summary>Admin, Manager and Marketing see campaigns; Sales and Support do not.</summary>
    public static void EnsureMarketing(Actor actor)
    {
        if (actor.Role is not (UserRole.Admin or UserRole.Manager or UserRole.Marketing))
            throw new ForbiddenException("Only Admin, Manager and Marketing users work with campaigns.");
    }

    public async Task<CampaignResultsView> ResultsAsync(Actor actor, Guid campaignId, CancellationToken ct = default)
    {
        EnsureMarketing(actor);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        db.Database.SetCommandTimeout(TimeSpan.FromMinutes(10));
        var campaign = await db.Campaigns.AsNoTracking().Include(c => c.Variants).FirstOrDefaultAsync(c => c.Id == campaignId, ct)
                       ?? throw new NotFoundException("Campaign", campaignId);
        return await CampaignResults.ComputeAsync(db, campaign, Now(), ct);
    }

    /// <summary>Stamps conversions of every running or recently completed campaign (the periodic job).</summary>
    public async Task<int> StampConversionsAsync(CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        db.Database.SetCommandTimeout(TimeSpan.FromMinutes(10));
        var since = Now().AddDays(-400);
        var campaigns = await db.Campaigns.AsNoTracking()
            .Where(c => c.Status == CampaignStatus.Running || (c.Status == CampaignStatus.Completed && c.CompletedAt > since))
            .ToListAsync(ct);
        var total = 0;
        foreach (var c in campaigns) total += await CampaignResults.StampConversionsAsync(db, c, ct);
        return total;
    }

    public async Task<Page<CampaignMessageView>> MessagesAsync(Actor actor, Guid campaignId, MessageQuery query, CancellationToken ct = default)
    {
        EnsureMarketing(actor);
        var errors = new ValidationErrors();
        if (query.Limit is < 1 or > 500) errors.Add("limit", "Limit must be between 1 and 500.");
        Guid? after = null;
        if (!string.IsNullOrEmpty(query.Cursor))
        {
            if (Guid.TryParseExact(query.Cursor, "N", out var c)) after = c;
            else errors.Add("cursor", Cursors.Invalid);
        }
        errors.ThrowIfAny();
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        if (!await db.Campaigns.AnyAsync(c => c.Id == campaignId, ct)) throw new NotFoundException("Campaign", campaignId);
        var q = db.CampaignMessages.AsNoTracking().Where(m => m.CampaignId == campaignId);
        if (query.Status is { } s) q = q.Where(m => m.Status == s);
        if (query.Reason is { } r) q = q.Where(m => m.Reason == r);
        if (query.VariantId is { } v) q = q.Where(m => m.VariantId == v);
        if (query.Channel is { } ch) q = q.Where(m => m.Channel == ch);
        if (!string.IsNullOrWhiteSpace(query.Q))
        {
            var text = TextNormalizer.Normalize(query.Q);
            q = q.Where(m => db.Customers.Any(c => c.Id == m.CustomerId && c.SortName.Contains(text)));
        }
        // Keyset on the customer id: the unique (campaign, customer) index serves both the filter and the order.
        if (after is { } a) q = q.Where(m => m.CustomerId.CompareTo(a) > 0);
        var rows = await q.OrderBy(m => m.CustomerId).Take(query.Limit + 1).ToListAsync(ct);
        string? next = null;
        if (rows.Count > query.Limit)
        {
            rows.RemoveAt(query.Limit);
            next = rows[^1].CustomerId.ToString("N");
        }
        return new Page<CampaignMessageView>(await ViewsAsync(db, rows, ct), next);
    }

    public async Task<CampaignMessageView> GetMessageAsync(Actor actor, Guid messageId, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var message = await db.CampaignMessages.AsNoTracking().FirstOrDefaultAsync(m => m.Id == messageId, ct) ?? throw new NotFoundException("Campaign message", messageId);
        await EnsureCanRespondAsync(db, actor, message, ct);
        return (await ViewsAsync(db, [message], ct))[0];
    }

    /// <summary>
    /// Records a reply, a call outcome or negative feedback: an interaction on the customer's timeline linked to the campaign,
    /// the message marked Responded; negative feedback (and "not interested") also withdraws the channel's consent. A call
    /// outcome that ends the call (anything but no answer or call back) completes the call task.
    /// </summary>
    public async Task<ResponseResult> RecordAsync(Actor actor, Guid messageId, ResponseInput input, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var message = await db.CampaignMessages.FirstOrDefaultAsync(m => m.Id == messageId, ct) ?? throw new NotFoundException("Campaign message", messageId);
        var task = await EnsureCanRespondAsync(db, actor, message, ct);
        var now = Now();
        var occurredAt = input.OccurredAt?.ToUniversalTime() ?? now;
        var negative = input.Kind == ResponseKind.NegativeFeedback || input.Outcome == CallOutcome.NotInterested;
        var errors = new ValidationErrors();
        if (input.Kind is null) errors.Add("kind", "Say what came back: Reply, CallOutcome or NegativeFeedback.");
        if (input.Kind == ResponseKind.CallOutcome && input.Outcome is null) errors.Add("outcome", "A call outcome needs the outcome.");
        if (input.Kind != ResponseKind.CallOutcome && input.Outcome is not null) errors.Add("outcome", "Only a call outcome has an outcome.");
        if (input.Kind == ResponseKind.CallOutcome && message.Channel != CampaignChannel.Call) errors.Add("kind", "This message was not a call.");
        if (negative && string.IsNullOrWhiteSpace(input.Reason)) errors.Add("reason", "Say why the customer refused.");
        if (occurredAt > now.AddMinutes(5)) errors.Add("occurredAt", "A response cannot be in the future.");
        if (message.SentAt is null && message.TaskId is null)
            errors.Add("messageId", message.Status == MessageStatus.Suppressed ? "This message was not sent (suppressed)." : "This message has not been sent yet.");
        else if (occurredAt < (message.SentAt ?? message.PlannedAt).AddMinutes(-5)) errors.Add("occurredAt", "A response cannot come before the message.");
        errors.ThrowIfAny();

        var campaign = await db.Campaigns.AsNoTracking().Where(c => c.Id == message.CampaignId).Select(c => new { c.Id, c.Name }).FirstAsync(ct);
        var channel = message.Channel ?? CampaignChannel.Email;
        var contactChannel = MarketingConsent.CustomerChannel(channel);
        var kind = input.Kind!.Value;
        var outcomeText = input.Outcome is { } o ? OutcomeText(o) : null;
        var reason = string.IsNullOrWhiteSpace(input.Reason) ? null : input.Reason.Trim();
        var userId = actor.UserId == Guid.Empty ? (Guid?)null : actor.UserId;
        var interaction = new Interaction
        {
            CustomerId = message.CustomerId,
            Type = channel switch { CampaignChannel.Email => InteractionType.Email, CampaignChannel.Sms => InteractionType.Sms, CampaignChannel.Call => InteractionType.Call, _ => InteractionType.Web },
            Channel = contactChannel,
            // The agent placed the call; a reply or a complaint comes from the customer.
            Direction = kind == ResponseKind.CallOutcome ? InteractionDirection.Outbound : InteractionDirection.Inbound,
            Subject = Truncate(kind switch
            {
                ResponseKind.Reply => $"Reply to campaign \"{campaign.Name}\"",
                ResponseKind.CallOutcome => $"Campaign call \"{campaign.Name}\": {outcomeText}",
                _ => $"Negative feedback on campaign \"{campaign.Name}\"",
            }, 300),
            Body = string.IsNullOrWhiteSpace(input.Text) ? null : InteractionService.Sanitize(WebUtility.HtmlEncode(input.Text.Trim()).Replace("\n", "<br>", StringComparison.Ordinal)),
            Outcome = Truncate(outcomeText is null ? reason : reason is null ? outcomeText : $"{outcomeText}: {reason}", 500),
            Sentiment = negative ? Sentiment.Negative : input.Outcome == CallOutcome.Converted ? Sentiment.Positive : null,
            OccurredAt = occurredAt,
            UserId = kind == ResponseKind.CallOutcome ? userId : null,
            RelatedType = "campaign",
            RelatedId = campaign.Id,
            CreatedAt = now,
            CreatedById = userId,
        };
        db.Interactions.Add(interaction);

        // No answer is not a response: the customer has not said anything yet.
        var responded = input.Outcome != CallOutcome.NoAnswer;
        if (responded)
        {
            message.RespondedAt ??= occurredAt;
            if (BeforeResponded.Contains(message.Status) || (message.Status == MessageStatus.Queued && message.TaskId is not null)) message.Status = MessageStatus.Responded;
        }
        var withdrawn = false;
        if (negative)
        {
            withdrawn = await MarketingConsent.WithdrawAsync(db, actor, message.CustomerId, contactChannel, "negative-feedback", campaign.Id, reason, now, ct, message.Address);
            message.UnsubscribedAt ??= occurredAt;
            if (BeforeUnsubscribed.Contains(message.Status)) message.Status = MessageStatus.Unsubscribed;
        }

        var completed = false;
        if (task is not null && task.Status == TaskItemStatus.Open && input.Outcome is not (CallOutcome.NoAnswer or CallOutcome.CallBack))
        {
            var before = task.Outcome;
            task.Status = TaskItemStatus.Done;
            task.CompletedAt = now;
            task.CompletedById = userId;
            task.Outcome = Truncate(interaction.Outcome ?? kind.ToString(), 1000);
            task.UpdatedAt = now;
            task.Version = Guid.NewGuid();
            db.AuditEntries.Add(Audit.Entry(actor, now, "task", task.Id, "completed",
                [new FieldChange("status", nameof(TaskItemStatus.Open), nameof(TaskItemStatus.Done)), new FieldChange("outcome", before, task.Outcome)]));
            completed = true;
        }
        else if (task is not null && task.Status == TaskItemStatus.Open)
        {
            // The call is still to be made: the task stays open and shows what happened last time.
            task.Outcome = Truncate(interaction.Outcome, 1000);
            task.UpdatedAt = now;
            task.Version = Guid.NewGuid();
        }
        db.AuditEntries.Add(Audit.Entry(actor, now, MessageEntity, message.Id, "response",
        [
            new FieldChange("kind", null, kind.ToString()), new FieldChange("outcome", null, outcomeText), new FieldChange("reason", null, reason),
            new FieldChange("interactionId", null, interaction.Id.ToString()),
        ]));
        await db.SaveChangesAsync(ct);
        return new ResponseResult(interaction.Id, withdrawn, completed, (await ViewsAsync(db, [message], ct))[0]);
    }

    /// <summary>
    /// The caller's open call tasks of launched campaigns, soonest first. A campaign whose messages are all out (its calls
    /// handed to agents) may be Completed while the calls are still to be made; a cancelled campaign's calls are not.
    /// </summary>
    public async Task<IReadOnlyList<CallListItem>> CallListAsync(Actor actor, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var rows = await (from m in db.CampaignMessages
                          join t in db.Tasks on m.TaskId equals t.Id
                          join c in db.Campaigns on m.CampaignId equals c.Id
                          where t.AssigneeId == actor.UserId && t.Status == TaskItemStatus.Open
                                && (c.Status == CampaignStatus.Running || c.Status == CampaignStatus.Completed)
                                && m.Channel == CampaignChannel.Call
                          orderby t.SortDueAt, m.PlannedAt, m.Id
                          select new { Message = m, Task = t, Campaign = c.Name })
            .AsNoTracking().Take(500).ToListAsync(ct);
        var customerIds = rows.Select(r => r.Message.CustomerId).Distinct().ToList();
        var customers = await db.Customers.AsNoTracking().Where(c => customerIds.Contains(c.Id)).ToDictionaryAsync(c => c.Id, ct);
        var scores = await db.CustomerScores.AsNoTracking().Where(s => customerIds.Contains(s.CustomerId)).ToDictionaryAsync(s => s.CustomerId, ct);
        var variantIds = rows.Where(r => r.Message.VariantId != null).Select(r => r.Message.VariantId!.Value).Distinct().ToList();
        var variants = await db.CampaignVariants.AsNoTracking().Where(v => variantIds.Contains(v.Id)).ToDictionaryAsync(v => v.Id, ct);
        return rows.Select(r =>
        {
            var customer = customers.GetValueOrDefault(r.Message.CustomerId);
            string? script = r.Task.Notes;
            // The sender puts the rendered script in the task; render it here when it did not.
            if (script is null && customer is not null && r.Message.VariantId is { } vid && variants.TryGetValue(vid, out var variant))
            {
                try { script = MessageTemplates.Render(variant, CampaignChannel.Call, MessageTemplates.DataFor(customer, scores.GetValueOrDefault(customer.Id), r.Campaign, ""))?.Body; }
                catch (InvalidOperationException) { script = variant.CallScript; }
            }
            return new CallListItem(r.Message.Id, r.Task.Id, r.Message.CampaignId, r.Campaign, r.Message.CustomerId, customer?.DisplayName ?? "—",
                r.Message.Address ?? customer?.Phones.Select(p => p.Number).FirstOrDefault(), script, r.Task.DueAt, r.Message.PlannedAt, r.Task.Outcome);
        }).ToList();
    }

    /// <summary>
    /// Marketing may record any response; another user only on a call message whose task is theirs (the agent). Returns
    /// the call task, if any.
    /// </summary>
    private static async Task<TaskItem?> EnsureCanRespondAsync(KoloDb db, Actor actor, CampaignMessage message, CancellationToken ct)
    {
        var task = message.TaskId is { } tid ? await db.Tasks.FirstOrDefaultAsync(t => t.Id == tid, ct) : null;
        if (actor.Role is UserRole.Admin or UserRole.Manager or UserRole.Marketing) return task;
        if (task is not null && task.AssigneeId == actor.UserId) return task;
        throw new ForbiddenException("Only marketing, or the agent the call was given to, records responses to a campaign message.");
    }

    public static string OutcomeText(CallOutcome outcome) => outcome switch
    {
        CallOutcome.Reached => "reached",
        CallOutcome.NoAnswer => "no answer",
        CallOutcome.CallBack => "call back",
        CallOutcome.NotInterested => "not interested",
        _ => "converted",
    };

    private static string? Truncate(string? text, int max) => text is null || text.Length <= max ? text : text[..max];

    private static async Task<List<CampaignMessageView>> ViewsAsync(KoloDb db, List<CampaignMessage> rows, CancellationToken ct)
    {
        var names = await DisplayNames.OfCustomersAsync(db, rows.Select(m => m.CustomerId).Distinct().ToList(), ct);
        var variantIds = rows.Where(m => m.VariantId != null).Select(m => m.VariantId!.Value).Distinct().ToList();
        var variants = await db.CampaignVariants.AsNoTracking().Where(v => variantIds.Contains(v.Id)).ToDictionaryAsync(v => v.Id, v => v.Name, ct);
        return rows.Select(m => new CampaignMessageView(m.Id, m.CampaignId, m.CustomerId, names.GetValueOrDefault(m.CustomerId) ?? "—", m.VariantId,
            m.VariantId is { } v ? variants.GetValueOrDefault(v) : null, m.Channel, m.Status, m.Reason, m.DisplacedByCampaignId, m.Address, m.PlannedAt, m.SentAt,
            m.DeliveredAt, m.OpenedAt, m.ClickedAt, m.RespondedAt, m.ConvertedAt, m.UnsubscribedAt, m.BouncedAt, m.FailedAt, m.Error, m.TaskId)).ToList();
    }
}
