using Kolo.Core.Customers;
using Kolo.Core.Platform;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Kolo.Core.Tasks;

public enum TaskItemStatus { Open, Done, Cancelled }

public enum TaskPriority { Low, Normal, High, Urgent }

/// <summary>A commitment: something someone must do by a date, so no promise is forgotten.</summary>
public sealed class TaskItem
{
    public Guid Id { get; set; } = Guid.CreateVersion7();
    public string Title { get; set; } = "";
    public string? Notes { get; set; }
    public DateTime? DueAt { get; set; }
    /// <summary>Due date for ordering, with "no due date" last: NULL sorts differently on SQLite and PostgreSQL.</summary>
    public DateTime SortDueAt { get; set; } = NoDueDate;
    public DateTime? RemindAt { get; set; }
    /// <summary>Set when the reminder went out; claiming it atomically makes a reminder fire once across nodes.</summary>
    public DateTime? ReminderSentAt { get; set; }
    /// <summary>Also send the reminder by e-mail (when Kolo has an SMTP server configured).</summary>
    public bool EmailReminder { get; set; }
    public TaskPriority Priority { get; set; } = TaskPriority.Normal;
    public TaskItemStatus Status { get; set; }
    public Guid AssigneeId { get; set; }
    public Guid? CustomerId { get; set; }
    public string? RelatedType { get; set; }
    public Guid? RelatedId { get; set; }
    /// <summary>The agreement (or other interaction) this task keeps.</summary>
    public Guid? SourceInteractionId { get; set; }
    public DateTime CreatedAt { get; set; }
    public Guid? CreatedById { get; set; }
    public DateTime UpdatedAt { get; set; }
    public DateTime? CompletedAt { get; set; }
    public Guid? CompletedById { get; set; }
    public string? Outcome { get; set; }
    public Guid Version { get; set; } = Guid.NewGuid();

    public static readonly DateTime NoDueDate = new(9999, 12, 31, 0, 0, 0, DateTimeKind.Utc);

    public TaskItem WithSortKey()
    {
        SortDueAt = DueAt ?? NoDueDate;
        return this;
    }
}

/// <summary>An in-app message for one user (a reminder, a hand-over).</summary>
public sealed class Notification
{
    public Guid Id { get; set; } = Guid.CreateVersion7();
    public Guid UserId { get; set; }
    public string Title { get; set; } = "";
    public string? Body { get; set; }
    public string? Link { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime? ReadAt { get; set; }
}

public sealed class TaskItemConfiguration : IEntityTypeConfiguration<TaskItem>
{
    public void Configure(EntityTypeBuilder<TaskItem> b)
    {
        b.ToTable("tasks");
        b.Property(t => t.Title).HasMaxLength(300);
        b.Property(t => t.Notes).HasMaxLength(4000);
        b.Property(t => t.Outcome).HasMaxLength(1000);
        b.Property(t => t.Status).HasConversion<string>().HasMaxLength(10);
        b.Property(t => t.Priority).HasConversion<string>().HasMaxLength(10);
        b.Property(t => t.RelatedType).HasMaxLength(20);
        b.Property(t => t.Version).IsConcurrencyToken();
        b.HasOne<User>().WithMany().HasForeignKey(t => t.AssigneeId).OnDelete(DeleteBehavior.Restrict);
        b.HasOne<Customer>().WithMany().HasForeignKey(t => t.CustomerId).OnDelete(DeleteBehavior.Restrict);
        // "My tasks" by due date; a customer's tasks on its timeline; the reminder job's due list.
        b.HasIndex(t => new { t.AssigneeId, t.Status, t.SortDueAt, t.Id });
        b.HasIndex(t => new { t.Status, t.SortDueAt, t.Id });
        b.HasIndex(t => new { t.CustomerId, t.CreatedAt, t.Id });
        // The reminder job's due list: only reminders not yet sent, whichever node asks every few seconds.
        b.HasIndex(t => new { t.Status, t.ReminderSentAt, t.RemindAt });
        // The Done tab: a user's tasks, latest completed first.
        b.HasIndex(t => new { t.AssigneeId, t.Status, t.CompletedAt, t.Id });
        b.HasIndex(t => t.SourceInteractionId);
    }
}

public sealed class NotificationConfiguration : IEntityTypeConfiguration<Notification>
{
    public void Configure(EntityTypeBuilder<Notification> b)
    {
        b.ToTable("notifications");
        b.Property(n => n.Title).HasMaxLength(300);
        b.Property(n => n.Body).HasMaxLength(2000);
        b.Property(n => n.Link).HasMaxLength(300);
        b.HasOne<User>().WithMany().HasForeignKey(n => n.UserId).OnDelete(DeleteBehavior.Cascade);
        b.HasIndex(n => new { n.UserId, n.ReadAt, n.Id });
        b.HasIndex(n => new { n.UserId, n.Id });
    }
}
