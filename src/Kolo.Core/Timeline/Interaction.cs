using Kolo.Core.Customers;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Kolo.Core.Timeline;

public enum InteractionType { Call, Email, Meeting, Visit, Sms, Letter, Chat, Web, Note, Agreement }

public enum InteractionDirection { Inbound, Outbound }

public enum Sentiment { Positive, Neutral, Negative }

/// <summary>One contact with a customer on any channel: the main kind of timeline entry.</summary>
public sealed class Interaction
{
    public Guid Id { get; set; } = Guid.CreateVersion7();
    public Guid CustomerId { get; set; }
    public InteractionType Type { get; set; }
    public ContactChannel? Channel { get; set; }
    public InteractionDirection? Direction { get; set; }
    public string? Subject { get; set; }
    /// <summary>Sanitised HTML: safe to render as markup.</summary>
    public string? Body { get; set; }
    public DateTime OccurredAt { get; set; }
    /// <summary>The employee who had the contact (not necessarily who recorded it).</summary>
    public Guid? UserId { get; set; }
    public string? Outcome { get; set; }
    public Sentiment? Sentiment { get; set; }
    /// <summary>A record of a later capability this contact belongs to: "order", "deal", "ticket", "campaign".</summary>
    public string? RelatedType { get; set; }
    public Guid? RelatedId { get; set; }
    /// <summary>The sending system and its event id: the same event posted twice is stored once.</summary>
    public string? ExternalSource { get; set; }
    public string? ExternalId { get; set; }
    public DateTime CreatedAt { get; set; }
    public Guid? CreatedById { get; set; }
    public DateTime? ArchivedAt { get; set; }
    public Guid Version { get; set; } = Guid.NewGuid();
}

/// <summary>A document attached to an interaction. The bytes live in the database, so every node serves them.</summary>
public sealed class Attachment
{
    public const long MaxSize = 10 * 1024 * 1024;

    public Guid Id { get; set; } = Guid.CreateVersion7();
    public Guid InteractionId { get; set; }
    public Guid CustomerId { get; set; }
    public string FileName { get; set; } = "";
    public string ContentType { get; set; } = "application/octet-stream";
    public long Size { get; set; }
    public byte[] Content { get; set; } = [];
    public DateTime CreatedAt { get; set; }
    public Guid? CreatedById { get; set; }
}

public sealed class InteractionConfiguration : IEntityTypeConfiguration<Interaction>
{
    public void Configure(EntityTypeBuilder<Interaction> b)
    {
        b.ToTable("interactions");
        b.Property(i => i.Type).HasConversion<string>().HasMaxLength(16);
        b.Property(i => i.Channel).HasConversion<string>().HasMaxLength(16);
        b.Property(i => i.Direction).HasConversion<string>().HasMaxLength(10);
        b.Property(i => i.Sentiment).HasConversion<string>().HasMaxLength(10);
        b.Property(i => i.Subject).HasMaxLength(300);
        b.Property(i => i.Outcome).HasMaxLength(500);
        b.Property(i => i.RelatedType).HasMaxLength(20);
        b.Property(i => i.ExternalSource).HasMaxLength(60);
        b.Property(i => i.ExternalId).HasMaxLength(200);
        b.Property(i => i.Version).IsConcurrencyToken();
        b.HasOne<Customer>().WithMany().HasForeignKey(i => i.CustomerId).OnDelete(DeleteBehavior.Restrict);
        // The timeline reads a customer's newest entries first; the intake looks events up by their external id.
        b.HasIndex(i => new { i.CustomerId, i.OccurredAt, i.Id });
        // The timeline's channel filter on a customer with thousands of entries.
        b.HasIndex(i => new { i.CustomerId, i.Channel, i.OccurredAt, i.Id });
        b.HasIndex(i => new { i.ExternalSource, i.ExternalId }).IsUnique();
        b.HasIndex(i => new { i.Sentiment, i.OccurredAt, i.Id });
        b.HasIndex(i => new { i.RelatedType, i.RelatedId });
    }
}

public sealed class AttachmentConfiguration : IEntityTypeConfiguration<Attachment>
{
    public void Configure(EntityTypeBuilder<Attachment> b)
    {
        b.ToTable("attachments");
        b.Property(a => a.FileName).HasMaxLength(255);
        b.Property(a => a.ContentType).HasMaxLength(120);
        b.HasOne<Interaction>().WithMany().HasForeignKey(a => a.InteractionId).OnDelete(DeleteBehavior.Restrict);
        b.HasIndex(a => a.InteractionId);
        b.HasIndex(a => a.CustomerId);
    }
}
