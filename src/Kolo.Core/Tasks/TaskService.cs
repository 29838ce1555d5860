using System.ComponentModel.DataAnnotations;
using Kolo.Core.Customers;
using Kolo.Core.Data;
using Kolo.Core.Platform;
using Kolo.Core.Timeline;
using Microsoft.EntityFrameworkCore;

namespace Kolo.Core.Tasks;

public sealed class TaskInput
{
    [Required, StringLength(300, MinimumLength = 1)] public string? Title { get; set; }
    [StringLength(4000)] public string? Notes { get; set; }
    public DateTime? DueAt { get; set; }
    public DateTime? RemindAt { get; set; }
    public bool? EmailReminder { get; set; }
    public TaskPriority? Priority { get; set; }
    /// <summary>Who must do it; the caller when omitted.</summary>
    public Guid? AssigneeId { get; set; }
    public Guid? CustomerId { get; set; }
    [RegularExpression("^(order|deal|ticket|campaign|interaction)$", ErrorMessage = "Use order, deal, ticket, campaign or interaction.")]
    public string? RelatedType { get; set; }
    public Guid? RelatedId { get; set; }
}

public static class TaskFields
{
    public static readonly IReadOnlySet<string> All = new HashSet<string>
        { "title", "notes", "dueAt", "remindAt", "emailReminder", "priority", "assigneeId", "customerId", "relatedType", "relatedId" };
}

public sealed class CompleteTaskInput
{
    [StringLength(1000)] public string? Outcome { get; set; }
    /// <summary>Also record the contact that completed the task (e.g. the call), with the outcome, in the same step.</summary>
    public InteractionType? LogInteraction { get; set; }
}

public sealed record TaskView(
    Guid Id, string Title, string? Notes, DateTime? DueAt, DateTime? RemindAt, bool EmailReminder, TaskPriority Priority,
    TaskItemStatus Status, Guid AssigneeId, string? AssigneeName, Guid? CustomerId, string? CustomerName,
    string? RelatedType, Guid? RelatedId, Guid? SourceInteractionId, DateTime CreatedAt, DateTime UpdatedAt,
    DateTime? CompletedAt, string? Outcome, bool Overdue, Guid Version);

public sealed record TaskQuery
{
    public Guid? AssigneeId { get; init; }
    public Guid? CustomerId { get; init; }
    /// <summary>Tasks about one record (with <see cref="RelatedId"/>), e.g. a deal's next steps.</summary>
    public string? RelatedType { get; init; }
    public Guid? RelatedId { get; init; }
    public TaskItemStatus? Status { get; init; }
    public DateTime? DueFrom { get; init; }
    public DateTime? DueTo { get; init; }
    /// <summary>Latest completed first instead of by due date: the history of what was done.</summary>
    public bool RecentlyCompletedFirst { get; init; }
    /// <summary>Words in the title (any case).</summary>
    public string? Q { get; init; }
    public int Limit { get; init; } = 50;
    public string? Cursor { get; init; }
}

/// <summary>Open tasks of one user: what is late, what is due today, what comes later.</summary>
public sealed record TaskSummary(int Overdue, int Today, int Upcoming, int UnreadNotifications);

/// <summary>Commitments: create, list by due date, change with If-Match, complete (optionally logging the contact), reopen.</summary>
public sealed class TaskService(IDbContextFactory<KoloDb> dbFactory, TimeProvider clock)
{
    public const string EntityType = "task";

    private static readonly DateTime NotCompleted = new(1900, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    public async Task<TaskView> GetAsync(Actor actor, Guid id, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var task = await VisibleTasks(db, actor).AsNoTracking().FirstOrDefaultAsync(t => t.Id == id, ct) ?? throw new NotFoundException("Task", id);
        return (await ViewsAsync(db, [task], ct))[0];
    }

    /// <summary>By due date (no due date last), keyset-paged.</summary>
    public async Task<Page<TaskView>> ListAsync(Actor actor, TaskQuery query, CancellationToken ct = default)
    {
        var errors = new ValidationErrors();
        if (query.Limit is < 1 or > 500) errors.Add("limit", "Limit must be between 1 and 500.");
        var after = KeysetCursor.Decode(query.Cursor, errors);
        errors.ThrowIfAny();
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var q = VisibleTasks(db, actor).AsNoTracking();
        if (query.AssigneeId is { } assignee) q = q.Where(t => t.AssigneeId == assignee);
        if (query.CustomerId is { } customer) q = q.Where(t => t.CustomerId == customer);
        if (query.RelatedType is { } relatedType && query.RelatedId is { } relatedId) q = q.Where(t => t.RelatedType == relatedType && t.RelatedId == relatedId);
        if (query.Status is { } status) q = q.Where(t => t.Status == status);
        if (query.DueFrom is { } from) q = q.Where(t => t.SortDueAt >= from);
        if (query.DueTo is { } to) q = q.Where(t => t.SortDueAt < to);
        if (!string.IsNullOrWhiteSpace(query.Q))
        {
            // A title search within the other filters (one person's or one customer's tasks), so no index is needed.
            var text = query.Q.Trim().ToLower();
            q = q.Where(t => t.Title.ToLower().Contains(text));
        }
        if (query.RecentlyCompletedFirst)
        {
            // Open tasks have no completion time; they come last, at a UTC key below any real one (not
            // DateTime.MinValue: Npgsql turns that into -infinity).
            var notCompleted = NotCompleted;
            var done = q.Select(t => new { Task = t, Key = t.CompletedAt ?? notCompleted });
            if (after is { } c) done = done.Where(x => x.Key <= c.At && (x.Key < c.At || (x.Key == c.At && x.Task.Id.CompareTo(c.Id) < 0)));
            var found = await done.OrderByDescending(x => x.Key).ThenByDescending(x => x.Task.Id).Take(query.Limit + 1).ToListAsync(ct);
            var last = found.Count > query.Limit ? found[query.Limit - 1] : null;
            return new Page<TaskView>(await ViewsAsync(db, found.Take(query.Limit).Select(x => x.Task).ToList(), ct),
                last is null ? null : KeysetCursor.Encode(last.Key, last.Task.Id));
        }
        // The redundant ">=" lets the index scan start at the cursor, as on the timeline.
        if (after is { } a) q = q.Where(t => t.SortDueAt >= a.At && (t.SortDueAt > a.At || (t.SortDueAt == a.At && t.Id.CompareTo(a.Id) > 0)));
        var rows = await q.OrderBy(t => t.SortDueAt).ThenBy(t => t.Id).Take(query.Limit + 1).ToListAsync(ct);
        var next = rows.Count > query.Limit ? KeysetCursor.Encode(rows[query.Limit - 1].SortDueAt, rows[query.Limit - 1].Id) : null;
        return new Page<TaskView>(await ViewsAsync(db, rows.Take(query.Limit).ToList(), ct), next);
    }

    /// <summary>Counts for the app shell: late, due later today, due after today. <paramref name="tomorrowStart"/> is the user's next midnight in UTC.</summary>
    public async Task<TaskSummary> SummaryAsync(Actor actor, DateTime tomorrowStart, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var now = Now();
        var noDueDate = TaskItem.NoDueDate;
        // Every open circuit polls this: one round trip, four index range counts, hung on the user's own row.
        var open = db.Tasks.Where(t => t.AssigneeId == actor.UserId && t.Status == TaskItemStatus.Open);
        var counts = await db.Users.Where(u => u.Id == actor.UserId).Select(u => new TaskSummary(
                open.Count(t => t.SortDueAt < now),
                open.Count(t => t.SortDueAt >= now && t.SortDueAt < tomorrowStart),
                open.Count(t => t.SortDueAt >= tomorrowStart && t.SortDueAt < noDueDate),
                db.Notifications.Count(n => n.UserId == u.Id && n.ReadAt == null)))
            .FirstOrDefaultAsync(ct);
        return counts ?? new TaskSummary(0, 0, 0, 0);
    }

    public async Task<TaskView> CreateAsync(Actor actor, TaskInput input, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var now = Now();
        var task = new TaskItem { CreatedAt = now, UpdatedAt = now, CreatedById = NullIfSystem(actor), AssigneeId = actor.UserId };
        await ApplyAsync(db, actor, task, input, TaskFields.All, ct);
        db.Tasks.Add(task);
        db.AuditEntries.Add(Audit.Entry(actor, now, EntityType, task.Id, AuditActions.Created, Audit.Diff(new Dictionary<string, string?>(), Snapshot(task))));
        await db.SaveChangesAsync(ct);
        return (await ViewsAsync(db, [task], ct))[0];
    }

    public async Task<TaskView> UpdateAsync(Actor actor, Guid id, Guid expectedVersion, TaskInput input, IReadOnlySet<string> fields, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var task = await VisibleTasks(db, actor).FirstOrDefaultAsync(t => t.Id == id, ct) ?? throw new NotFoundException("Task", id);
        if (task.Version != expectedVersion) throw new PreconditionFailedException();
        var before = Snapshot(task);
        var remindBefore = task.RemindAt;
        await ApplyAsync(db, actor, task, input, fields, ct);
        var changes = Audit.Diff(before, Snapshot(task));
        if (changes.Count > 0)
        {
            // A new reminder time is a new reminder: it fires again. The same minute is the same reminder (a form shows
            // minutes, not seconds, and sends the rounded time back with any other change).
            if (task.RemindAt is { } remind && (remindBefore is not { } was || Math.Abs((remind - was).TotalMinutes) >= 1)) task.ReminderSentAt = null;
            await SaveChangeAsync(db, actor, task, AuditActions.Updated, changes, ct);
        }
        return (await ViewsAsync(db, [task], ct))[0];
    }

    /// <summary>Marks the task done; with <see cref="CompleteTaskInput.LogInteraction"/> records the contact in the same transaction.</summary>
    public async Task<TaskView> CompleteAsync(Actor actor, Guid id, Guid? expectedVersion, CompleteTaskInput input, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var task = await VisibleTasks(db, actor).FirstOrDefaultAsync(t => t.Id == id, ct) ?? throw new NotFoundException("Task", id);
        if (expectedVersion is { } v && task.Version != v) throw new PreconditionFailedException();
        if (task.Status != TaskItemStatus.Open) throw ValidationFailedException.For("status", "Only an open task can be completed.");
        if (input.LogInteraction is not null && task.CustomerId is null)
            throw ValidationFailedException.For("logInteraction", "This task has no customer to record a contact with.");
        var now = Now();
        var before = Snapshot(task);
        task.Status = TaskItemStatus.Done;
        task.CompletedAt = now;
        task.CompletedById = NullIfSystem(actor);
        task.Outcome = string.IsNullOrWhiteSpace(input.Outcome) ? null : input.Outcome.Trim();
        if (input.LogInteraction is { } type)
        {
            var interaction = new Interaction
            {
                CustomerId = task.CustomerId!.Value, Type = type, Channel = InteractionService.DefaultChannel(type), Subject = task.Title, Outcome = task.Outcome, OccurredAt = now,
                UserId = NullIfSystem(actor), RelatedType = task.RelatedType, RelatedId = task.RelatedId, CreatedAt = now, CreatedById = NullIfSystem(actor),
            };
            db.Interactions.Add(interaction);
            db.AuditEntries.Add(Audit.Entry(actor, now, InteractionService.EntityType, interaction.Id, AuditActions.Created,
                [new FieldChange("type", null, type.ToString()), new FieldChange("taskId", null, task.Id.ToString())]));
        }
        await SaveChangeAsync(db, actor, task, "completed", Audit.Diff(before, Snapshot(task)), ct);
        return (await ViewsAsync(db, [task], ct))[0];
    }

    public async Task<TaskView> ReopenAsync(Actor actor, Guid id, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var task = await VisibleTasks(db, actor).FirstOrDefaultAsync(t => t.Id == id, ct) ?? throw new NotFoundException("Task", id);
        if (task.Status == TaskItemStatus.Open) return (await ViewsAsync(db, [task], ct))[0];
        var before = Snapshot(task);
        task.Status = TaskItemStatus.Open;
        task.CompletedAt = null;
        task.CompletedById = null;
        await SaveChangeAsync(db, actor, task, "reopened", Audit.Diff(before, Snapshot(task)), ct);
        return (await ViewsAsync(db, [task], ct))[0];
    }

    /// <summary>
    /// Admins and managers see every task; others see the tasks assigned to them or created by them, and the tasks
    /// of customers they may see.
    /// </summary>
    internal static IQueryable<TaskItem> VisibleTasks(KoloDb db, Actor actor)
    {
        if (actor.IsAdminOrManager) return db.Tasks;
        var customers = db.Customers.VisibleTo(db, actor).Select(c => (Guid?)c.Id);
        return db.Tasks.Where(t => t.AssigneeId == actor.UserId || t.CreatedById == actor.UserId || customers.Contains(t.CustomerId));
    }

    private async Task SaveChangeAsync(KoloDb db, Actor actor, TaskItem task, string action, List<FieldChange> changes, CancellationToken ct)
    {
        task.UpdatedAt = Now();
        task.Version = Guid.NewGuid();
        db.AuditEntries.Add(Audit.Entry(actor, task.UpdatedAt, EntityType, task.Id, action, changes));
        try { await db.SaveChangesAsync(ct); }
        catch (DbUpdateConcurrencyException) { throw new PreconditionFailedException(); }
    }

    private static async Task ApplyAsync(KoloDb db, Actor actor, TaskItem task, TaskInput input, IReadOnlySet<string> fields, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        if (fields.Contains("title"))
        {
            if (string.IsNullOrWhiteSpace(input.Title)) errors.Add("title", "Enter what has to be done.");
            else task.Title = input.Title.Trim();
        }
        if (fields.Contains("notes")) task.Notes = string.IsNullOrWhiteSpace(input.Notes) ? null : input.Notes.Trim();
        if (fields.Contains("dueAt")) task.DueAt = input.DueAt?.ToUniversalTime();
        if (fields.Contains("remindAt")) task.RemindAt = input.RemindAt?.ToUniversalTime();
        if (fields.Contains("emailReminder")) task.EmailReminder = input.EmailReminder ?? false;
        if (fields.Contains("priority")) task.Priority = input.Priority ?? TaskPriority.Normal;
        // Unchanged, a deactivated assignee stays (the dialog sends every field); only a new one must be active.
        if (fields.Contains("assigneeId") && input.AssigneeId is { } assignee && assignee != task.AssigneeId)
        {
            if (!await db.Users.AnyAsync(u => u.Id == assignee && u.DeactivatedAt == null, ct)) errors.Add("assigneeId", "No active user has this id.");
            else task.AssigneeId = assignee;
        }
        if (fields.Contains("customerId"))
        {
            // Only a new customer must be one the caller may see: the assignee of a task about a customer they cannot
            // see (handed to them, say) can still change its due date or notes.
            if (input.CustomerId is { } customerId && customerId != task.CustomerId
                && !await db.Customers.VisibleTo(db, actor).AnyAsync(c => c.Id == customerId, ct))
                errors.Add("customerId", "No such customer.");
            task.CustomerId = input.CustomerId;
        }
        if (fields.Contains("relatedType")) task.RelatedType = input.RelatedType;
        if (fields.Contains("relatedId")) task.RelatedId = input.RelatedId;
        if ((task.RelatedType is null) != (task.RelatedId is null)) errors.Add("relatedId", "Give both relatedType and relatedId, or neither.");
        if (task.RemindAt is { } remind && task.DueAt is { } due && remind > due) errors.Add("remindAt", "The reminder must come before the task is due.");
        errors.ThrowIfAny();
        task.WithSortKey();
    }

    private static Dictionary<string, string?> Snapshot(TaskItem t) => new()
    {
        ["title"] = t.Title, ["notes"] = t.Notes, ["dueAt"] = Audit.Text(t.DueAt), ["remindAt"] = Audit.Text(t.RemindAt),
        ["emailReminder"] = Audit.Text(t.EmailReminder), ["priority"] = Audit.Text(t.Priority), ["status"] = Audit.Text(t.Status),
        ["assigneeId"] = Audit.Text(t.AssigneeId), ["customerId"] = Audit.Text(t.CustomerId), ["outcome"] = t.Outcome,
        ["relatedType"] = t.RelatedType, ["relatedId"] = Audit.Text(t.RelatedId),
    };

    internal async Task<IReadOnlyList<TaskView>> ViewsAsync(KoloDb db, List<TaskItem> rows, CancellationToken ct)
    {
        if (rows.Count == 0) return [];
        var userIds = rows.Select(r => r.AssigneeId).Distinct().ToList();
        var customerIds = rows.Where(r => r.CustomerId != null).Select(r => r.CustomerId!.Value).Distinct().ToList();
        var users = await DisplayNames.OfUsersAsync(db, userIds, ct);
        var customers = await DisplayNames.OfCustomersAsync(db, customerIds, ct);
        var now = Now();
        return rows.Select(t => new TaskView(
            t.Id, t.Title, t.Notes, t.DueAt, t.RemindAt, t.EmailReminder, t.Priority, t.Status, t.AssigneeId,
            users.GetValueOrDefault(t.AssigneeId), t.CustomerId, t.CustomerId is { } c ? customers.GetValueOrDefault(c) : null,
            t.RelatedType, t.RelatedId, t.SourceInteractionId, t.CreatedAt, t.UpdatedAt, t.CompletedAt, t.Outcome,
            t.Status == TaskItemStatus.Open && t.DueAt < now, t.Version)).ToList();
    }

    private DateTime Now() => clock.GetUtcNow().UtcDateTime;

    private static Guid? NullIfSystem(Actor actor) => actor.UserId == Guid.Empty ? null : actor.UserId;
}

/// <summary>A customer's tasks on its timeline (by when they were created).</summary>
public sealed class TaskTimelineSource : ITimelineSource
{
    public string Kind => "task";
    public bool HasChannel => false;

    public async Task<IReadOnlyList<TimelineEntry>> ReadAsync(KoloDb db, Guid customerId, TimelinePosition? before, ContactChannel? channel, int limit, CancellationToken ct)
    {
        var q = db.Tasks.AsNoTracking().Where(t => t.CustomerId == customerId);
        // The redundant "<=" lets the index scan start at the cursor; the OR alone is only a filter, so a deep page
        // would read every newer row of the customer first.
        if (before is { } b) q = q.Where(t => t.CreatedAt <= b.At && (t.CreatedAt < b.At || (t.CreatedAt == b.At && t.Id.CompareTo(b.Id) < 0)));
        var rows = await q.OrderByDescending(t => t.CreatedAt).ThenByDescending(t => t.Id).Take(limit).ToListAsync(ct);
        return rows.Select(t => new TimelineEntry
        {
            Kind = Kind, Id = t.Id, At = t.CreatedAt, Title = t.Title, Summary = t.Outcome, Status = t.Status.ToString(), UserId = t.AssigneeId,
            Details = new Dictionary<string, object?> { ["dueAt"] = t.DueAt, ["priority"] = t.Priority.ToString(), ["completedAt"] = t.CompletedAt },
        }).ToList();
    }
}
