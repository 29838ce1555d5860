using System.Text.Json.Serialization;
using Kolo.Core.Customers;
using Kolo.Core.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Kolo.Core.Marketing;

public enum SegmentKind { Rules, Static }

public enum RuleMatch { All, Any }

/// <summary>
/// A named set of customers: either the customers matching a rule definition (evaluated as one SQL query whenever it is
/// used, so it is always current) or a static list of members.
/// </summary>
public sealed class Segment
{
    public Guid Id { get; set; } = Guid.CreateVersion7();
    public string Name { get; set; } = "";
    public string? Description { get; set; }
    public SegmentKind Kind { get; set; }
    public SegmentDefinition Definition { get; set; } = new();
    /// <summary>The member count when it was last evaluated, shown in the list without re-evaluating every segment.</summary>
    public int? LastCount { get; set; }
    public DateTime? LastCountedAt { get; set; }
    public Guid? CreatedById { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
    public DateTime? ArchivedAt { get; set; }
    public Guid Version { get; set; } = Guid.NewGuid();
}

/// <summary>
/// Conditions combined with <see cref="Match"/>, then the members of <see cref="IncludeSegmentIds"/> added and the members
/// of <see cref="ExcludeSegmentIds"/> removed. A static segment uses only include/exclude besides its member list.
/// </summary>
public sealed class SegmentDefinition
{
    public RuleMatch Match { get; set; } = RuleMatch.All;
    public List<SegmentCondition> Conditions { get; set; } = [];
    public List<Guid> IncludeSegmentIds { get; set; } = [];
    public List<Guid> ExcludeSegmentIds { get; set; } = [];
}

/// <summary>
/// One condition: a <see cref="Field"/> (see <c>SegmentFields</c>), an <see cref="Operator"/> and its values. Dates bound
/// purchase, response and sentiment conditions to a period; <see cref="Key"/> names a custom field.
/// </summary>
public sealed class SegmentCondition
{
    public string Field { get; set; } = "";
    public string Operator { get; set; } = "";
    public List<string> Values { get; set; } = [];
    public string? Key { get; set; }
    public DateTime? From { get; set; }
    public DateTime? To { get; set; }
}

/// <summary>A member of a static segment.</summary>
public sealed class SegmentMember
{
    public Guid SegmentId { get; set; }
    public Guid CustomerId { get; set; }
    public DateTime AddedAt { get; set; }
}

public enum CampaignStatus { Draft, PendingApproval, Approved, Running, Completed, Cancelled }

public enum CampaignChannel { Email, Sms, Call, Web }

/// <summary>
/// A marketing action: who (segments), how (channels in order of preference, message variants by audience), when
/// (dates, schedule), at what cost (budget, fixed cost, cost per message) and how much it matters against other
/// campaigns (<see cref="Priority"/>: when two compete for a customer's limited contacts the higher one wins).
/// </summary>
public sealed class Campaign
{
    public Guid Id { get; set; } = Guid.CreateVersion7();
    public string Name { get; set; } = "";
    public string? Goal { get; set; }
    public string? Description { get; set; }
    public CampaignStatus Status { get; set; }
    /// <summary>Higher wins; 1–100.</summary>
    public int Priority { get; set; } = 50;
    /// <summary>When sending starts (the schedule); messages are planned from here, outside quiet hours.</summary>
    public DateTime StartsAt { get; set; }
    /// <summary>After this nothing more is sent and results are final once the attribution window has passed.</summary>
    public DateTime? EndsAt { get; set; }
    public string Currency { get; set; } = "UAH";
    /// <summary>The most the campaign may cost; 0 = no limit. Messages that would exceed it are suppressed (over_budget).</summary>
    public long BudgetMinor { get; set; }
    /// <summary>Cost independent of the number of messages (design, agency, ...).</summary>
    public long FixedCostMinor { get; set; }
    public long EmailCostMinor { get; set; }
    public long SmsCostMinor { get; set; }
    public long CallCostMinor { get; set; }
    public long WebCostMinor { get; set; }
    public List<Guid> SegmentIds { get; set; } = [];
    public List<Guid> ExcludeSegmentIds { get; set; } = [];
    /// <summary>Channels in order of preference; a customer's preferred channel goes first when the campaign has it.</summary>
    public List<CampaignChannel> Channels { get; set; } = [];
    /// <summary>Share of the eligible audience held out at random (0–50) to measure what the campaign changed.</summary>
    public int ControlGroupPercent { get; set; } = 10;
    /// <summary>Orders within this many days after a contact (or after the planned contact, for the control group) count.</summary>
    public int AttributionDays { get; set; } = 14;
    /// <summary>Call-centre agents who get the call-list tasks (round robin); the customer's owner when empty.</summary>
    public List<Guid> CallAgentIds { get; set; } = [];
    /// <summary>The random seed of the control-group draw, kept so the draw can be reproduced.</summary>
    public int? AudienceSeed { get; set; }
    public Guid? SubmittedById { get; set; }
    public DateTime? SubmittedAt { get; set; }
    public Guid? ApprovedById { get; set; }
    public DateTime? ApprovedAt { get; set; }
    public DateTime? LaunchedAt { get; set; }
    public DateTime? CompletedAt { get; set; }
    public Guid? CreatedById { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
    public DateTime? ArchivedAt { get; set; }
    public Guid Version { get; set; } = Guid.NewGuid();
    public List<CampaignVariant> Variants { get; set; } = [];
}

public enum VariantAudience { All, Prospects, Customers, Segment }

/// <summary>
/// The message one audience of a campaign gets, as Liquid templates per channel. A customer gets the first variant (by
/// <see cref="SortOrder"/>) whose audience they belong to: prospects are Prospect and Lead, customers Customer and Lapsed.
/// </summary>
public sealed class CampaignVariant
{
    public Guid Id { get; set; } = Guid.CreateVersion7();
    public Guid CampaignId { get; set; }
    public string Name { get; set; } = "";
    public VariantAudience Audience { get; set; }
    public Guid? SegmentId { get; set; }
    public int SortOrder { get; set; }
    public string? EmailSubject { get; set; }
    /// <summary>HTML Liquid template.</summary>
    public string? EmailBody { get; set; }
    public string? SmsText { get; set; }
    public string? CallScript { get; set; }
    public string? WebMessage { get; set; }
}

public enum MessageStatus { Suppressed, Queued, Sending, Sent, Delivered, Opened, Clicked, Responded, Converted, Unsubscribed, Bounced, Failed }

public enum SuppressionReason
{
    [JsonStringEnumMemberName("pressure_cap")] PressureCap,
    [JsonStringEnumMemberName("no_consent")] NoConsent,
    [JsonStringEnumMemberName("unsubscribed")] Unsubscribed,
    [JsonStringEnumMemberName("no_address")] NoAddress,
    [JsonStringEnumMemberName("control_group")] ControlGroup,
    [JsonStringEnumMemberName("over_budget")] OverBudget,
    /// <summary>Another record with the same e-mail or phone number is contacted by the campaign.</summary>
    [JsonStringEnumMemberName("same_address")] SameAddress,
}

/// <summary>
/// One planned contact of a campaign with one customer, from planning to its last event. <see cref="Status"/> is the
/// furthest state reached; each event keeps its own time so the funnel counts every stage. A suppressed message (control
/// group included) records why it was not sent. A message counts against the contact policy at <see cref="PlannedAt"/>
/// while it is queued or sent.
/// </summary>
public sealed class CampaignMessage
{
    public Guid Id { get; set; } = Guid.CreateVersion7();
    public Guid CampaignId { get; set; }
    public Guid? VariantId { get; set; }
    public Guid CustomerId { get; set; }
    public CampaignChannel? Channel { get; set; }
    public MessageStatus Status { get; set; }
    public SuppressionReason? Reason { get; set; }
    /// <summary>Which campaign took this message's place under the contact policy (pressure_cap after planning).</summary>
    public Guid? DisplacedByCampaignId { get; set; }
    /// <summary>The e-mail address or phone number it goes to.</summary>
    public string? Address { get; set; }
    public DateTime PlannedAt { get; set; }
    public int Attempts { get; set; }
    /// <summary>Which node is sending it and since when: a message in Sending is never sent again (exactly once).</summary>
    public string? ClaimedBy { get; set; }
    public DateTime? ClaimedAt { get; set; }
    public DateTime? SentAt { get; set; }
    public DateTime? DeliveredAt { get; set; }
    public DateTime? OpenedAt { get; set; }
    public DateTime? ClickedAt { get; set; }
    public DateTime? RespondedAt { get; set; }
    public DateTime? ConvertedAt { get; set; }
    public DateTime? UnsubscribedAt { get; set; }
    public DateTime? BouncedAt { get; set; }
    public DateTime? FailedAt { get; set; }
    public string? Error { get; set; }
    /// <summary>The SMTP Message-ID or the gateway's id: bounces are matched by it.</summary>
    public string? ProviderId { get; set; }
    /// <summary>The call-list task of a call message.</summary>
    public Guid? TaskId { get; set; }
    public DateTime CreatedAt { get; set; }
}

/// <summary>
/// How often marketing may contact one customer: at most <see cref="MaxTotal"/> contacts in any
/// <see cref="PeriodDays"/>-day window, and at most the channel's cap on each channel (null = only the total applies);
/// nothing is planned inside quiet hours (local time of <see cref="TimeZone"/>).
/// </summary>
public sealed class ContactPolicy
{
    public const int SingletonId = 1;
    public int Id { get; set; } = SingletonId;
    public int PeriodDays { get; set; } = 7;
    public int MaxTotal { get; set; } = 3;
    public int? MaxEmail { get; set; } = 2;
    public int? MaxSms { get; set; } = 1;
    public int? MaxCall { get; set; } = 1;
    public int? MaxWeb { get; set; }
    public TimeOnly? QuietHoursStart { get; set; } = new(21, 0);
    public TimeOnly? QuietHoursEnd { get; set; } = new(9, 0);
    public string TimeZone { get; set; } = "Europe/Kyiv";
    public Guid Version { get; set; } = Guid.NewGuid();
}

/// <summary>The key that signs unsubscribe and tracking links: random per installation, shared by every node.</summary>
public sealed class MarketingKey
{
    public const int SingletonId = 1;
    public int Id { get; set; } = SingletonId;
    public byte[] Key { get; set; } = [];
    public DateTime CreatedAt { get; set; }
}

public enum CampaignJobKind { Preview, Launch }

public enum CampaignJobStatus { Queued, Running, Succeeded, Failed }

/// <summary>Long campaign work polled by clients: the audience preview (counts only) and the launch (plans every message).</summary>
public sealed class CampaignJob
{
    public Guid Id { get; set; } = Guid.CreateVersion7();
    public Guid CampaignId { get; set; }
    public CampaignJobKind Kind { get; set; }
    public CampaignJobStatus Status { get; set; }
    public int Progress { get; set; }
    public string? Stage { get; set; }
    /// <summary>JSON: the audience counts (targeted, reached by channel and variant, suppressed by reason).</summary>
    public string? Result { get; set; }
    public string? Error { get; set; }
    public Guid? CreatedById { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime? StartedAt { get; set; }
    public DateTime? HeartbeatAt { get; set; }
    public DateTime? FinishedAt { get; set; }
}

/// <summary>A browser seen by the website snippet; linked to a customer once identified (a tracked click or a form).</summary>
public sealed class WebVisitor
{
    /// <summary>The random id the snippet keeps in the browser.</summary>
    public string Id { get; set; } = "";
    public Guid? CustomerId { get; set; }
    public DateTime FirstSeenAt { get; set; }
    public DateTime LastSeenAt { get; set; }
}

/// <summary>One page view reported by the website snippet.</summary>
public sealed class WebVisit
{
    public Guid Id { get; set; } = Guid.CreateVersion7();
    public string VisitorId { get; set; } = "";
    public Guid? CustomerId { get; set; }
    public string Url { get; set; } = "";
    public string? Title { get; set; }
    public string? Referrer { get; set; }
    public Guid? CampaignMessageId { get; set; }
    public DateTime OccurredAt { get; set; }
}

internal sealed class MarketingConfiguration :
    IEntityTypeConfiguration<Segment>, IEntityTypeConfiguration<SegmentMember>, IEntityTypeConfiguration<Campaign>,
    IEntityTypeConfiguration<CampaignVariant>, IEntityTypeConfiguration<CampaignMessage>, IEntityTypeConfiguration<ContactPolicy>,
    IEntityTypeConfiguration<MarketingKey>, IEntityTypeConfiguration<CampaignJob>, IEntityTypeConfiguration<WebVisitor>,
    IEntityTypeConfiguration<WebVisit>
{
    public void Configure(EntityTypeBuilder<Segment> b)
    {
        b.ToTable("segments");
        b.Property(s => s.Name).HasMaxLength(200);
        b.Property(s => s.Description).HasMaxLength(2000);
        b.Property(s => s.Kind).HasConversion<string>().HasMaxLength(8);
        b.Property(s => s.Definition).HasConversion(JsonColumn.Converter<SegmentDefinition>(), JsonColumn.Comparer<SegmentDefinition>());
        b.Property(s => s.Version).IsConcurrencyToken();
        b.HasIndex(s => new { s.Name, s.Id });
        b.HasIndex(s => new { s.UpdatedAt, s.Id });
    }

    public void Configure(EntityTypeBuilder<SegmentMember> b)
    {
        b.ToTable("segment_members");
        b.HasKey(m => new { m.SegmentId, m.CustomerId });
        b.HasIndex(m => m.CustomerId);
        b.HasOne<Segment>().WithMany().HasForeignKey(m => m.SegmentId).OnDelete(DeleteBehavior.Cascade);
        b.HasOne<Customer>().WithMany().HasForeignKey(m => m.CustomerId).OnDelete(DeleteBehavior.Cascade);
    }

    public void Configure(EntityTypeBuilder<Campaign> b)
    {
        b.ToTable("campaigns");
        b.Property(c => c.Name).HasMaxLength(200);
        b.Property(c => c.Goal).HasMaxLength(500);
        b.Property(c => c.Description).HasMaxLength(4000);
        b.Property(c => c.Status).HasConversion<string>().HasMaxLength(16);
        b.Property(c => c.Currency).HasMaxLength(3);
        b.Property(c => c.SegmentIds).HasConversion(JsonColumn.Converter<List<Guid>>(), JsonColumn.Comparer<List<Guid>>());
        b.Property(c => c.ExcludeSegmentIds).HasConversion(JsonColumn.Converter<List<Guid>>(), JsonColumn.Comparer<List<Guid>>());
        b.Property(c => c.Channels).HasConversion(JsonColumn.Converter<List<CampaignChannel>>(), JsonColumn.Comparer<List<CampaignChannel>>());
        b.Property(c => c.CallAgentIds).HasConversion(JsonColumn.Converter<List<Guid>>(), JsonColumn.Comparer<List<Guid>>());
        b.Property(c => c.Version).IsConcurrencyToken();
        b.HasMany(c => c.Variants).WithOne().HasForeignKey(v => v.CampaignId).OnDelete(DeleteBehavior.Cascade);
        b.HasIndex(c => new { c.Status, c.StartsAt });
        b.HasIndex(c => new { c.StartsAt, c.Id });
        b.HasIndex(c => new { c.Name, c.Id });
    }

    public void Configure(EntityTypeBuilder<CampaignVariant> b)
    {
        b.ToTable("campaign_variants");
        b.Property(v => v.Name).HasMaxLength(200);
        b.Property(v => v.Audience).HasConversion<string>().HasMaxLength(12);
        b.Property(v => v.EmailSubject).HasMaxLength(500);
        b.Property(v => v.SmsText).HasMaxLength(2000);
        b.HasIndex(v => new { v.CampaignId, v.SortOrder });
    }

    public void Configure(EntityTypeBuilder<CampaignMessage> b)
    {
        b.ToTable("campaign_messages");
        b.Property(m => m.Channel).HasConversion<string>().HasMaxLength(8);
        b.Property(m => m.Status).HasConversion<string>().HasMaxLength(14);
        b.Property(m => m.Reason).HasConversion<string>().HasMaxLength(14);
        b.Property(m => m.Address).HasMaxLength(320);
        b.Property(m => m.ClaimedBy).HasMaxLength(100);
        b.Property(m => m.Error).HasMaxLength(1000);
        b.Property(m => m.ProviderId).HasMaxLength(300);
        b.HasOne<Campaign>().WithMany().HasForeignKey(m => m.CampaignId).OnDelete(DeleteBehavior.Cascade);
        b.HasOne<Customer>().WithMany().HasForeignKey(m => m.CustomerId).OnDelete(DeleteBehavior.Restrict);
        // One message per customer and campaign: planning twice (a retried launch) cannot contact anyone twice.
        b.HasIndex(m => new { m.CampaignId, m.CustomerId }).IsUnique();
        // Funnel and results by campaign, variant and status.
        b.HasIndex(m => new { m.CampaignId, m.VariantId, m.Status });
        // Contact pressure: a customer's planned and sent contacts around a time.
        b.HasIndex(m => new { m.CustomerId, m.PlannedAt });
        // The sender's queue: due messages in planned order.
        b.HasIndex(m => new { m.Status, m.PlannedAt });
        b.HasIndex(m => m.ProviderId);
    }

    public void Configure(EntityTypeBuilder<ContactPolicy> b)
    {
        b.ToTable("contact_policy");
        b.Property(p => p.Id).ValueGeneratedNever();
        b.Property(p => p.TimeZone).HasMaxLength(64);
        b.Property(p => p.Version).IsConcurrencyToken();
    }

    public void Configure(EntityTypeBuilder<MarketingKey> b)
    {
        b.ToTable("marketing_keys");
        b.Property(k => k.Id).ValueGeneratedNever();
    }

    public void Configure(EntityTypeBuilder<CampaignJob> b)
    {
        b.ToTable("campaign_jobs");
        b.Property(j => j.Kind).HasConversion<string>().HasMaxLength(8);
        b.Property(j => j.Status).HasConversion<string>().HasMaxLength(10);
        b.Property(j => j.Stage).HasMaxLength(100);
        b.Property(j => j.Error).HasMaxLength(2000);
        b.HasOne<Campaign>().WithMany().HasForeignKey(j => j.CampaignId).OnDelete(DeleteBehavior.Cascade);
        b.HasIndex(j => new { j.Status, j.CreatedAt });
        b.HasIndex(j => new { j.CampaignId, j.CreatedAt });
    }

    public void Configure(EntityTypeBuilder<WebVisitor> b)
    {
        b.ToTable("web_visitors");
        b.Property(v => v.Id).HasMaxLength(64);
        b.HasIndex(v => v.CustomerId);
    }

    public void Configure(EntityTypeBuilder<WebVisit> b)
    {
        b.ToTable("web_visits");
        b.Property(v => v.VisitorId).HasMaxLength(64);
        b.Property(v => v.Url).HasMaxLength(2000);
        b.Property(v => v.Title).HasMaxLength(500);
        b.Property(v => v.Referrer).HasMaxLength(2000);
        b.HasIndex(v => new { v.VisitorId, v.OccurredAt });
        b.HasIndex(v => new { v.CustomerId, v.OccurredAt, v.Id });
    }
}
