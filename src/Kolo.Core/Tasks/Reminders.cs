using Kolo.Core.Data;
using Kolo.Core.Platform;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;

namespace Kolo.Core.Tasks;

public sealed record NotificationView(Guid Id, string Title, string? Body, string? Link, DateTime CreatedAt, DateTime? ReadAt);

public sealed class NotificationService(IDbContextFactory<KoloDb> dbFactory, TimeProvider clock)
{
    public async Task<Page<NotificationView>> ListAsync(Actor actor, bool unreadOnly, int limit, string? cursor, CancellationToken ct = default)
    {
        var errors = new ValidationErrors();
        if (limit is < 1 or > 200) errors.Add("limit", "Limit must be between 1 and 200.");
        Guid? before = null;
        if (cursor is not null) { if (Guid.TryParse(cursor, out var b)) before = b; else errors.Add("cursor", "The cursor is not valid."); }
        errors.ThrowIfAny();
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var q = db.Notifications.AsNoTracking().Where(n => n.UserId == actor.UserId);
        if (unreadOnly) q = q.Where(n => n.ReadAt == null);
        if (before is { } id) q = q.Where(n => n.Id.CompareTo(id) < 0);
        var rows = await q.OrderByDescending(n => n.Id).Take(limit + 1).ToListAsync(ct);
        return new Page<NotificationView>(
            rows.Take(limit).Select(n => new NotificationView(n.Id, n.Title, n.Body, n.Link, n.CreatedAt, n.ReadAt)).ToList(),
            rows.Count > limit ? rows[limit - 1].Id.ToString() : null);
    }

    /// <summary>Marks one (or, without an id, every) notification of the caller as read.</summary>
    public async Task MarkReadAsync(Actor actor, Guid? id, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var now = clock.GetUtcNow().UtcDateTime;
        var q = db.Notifications.Where(n => n.UserId == actor.UserId && n.ReadAt == null);
        if (id is { } one) q = q.Where(n => n.Id == one);
        await q.ExecuteUpdateAsync(s => s.SetProperty(n => n.ReadAt, now), ct);
    }
}

public sealed class SmtpOptions
{
    /// <summary>Empty: Kolo sends no e-mail (reminders stay in-app).</summary>
    public string? Host { get; set; }
    public int Port { get; set; } = 587;
    /// <summary>None, StartTls or SslOnConnect.</summary>
    public string Security { get; set; } = "StartTls";
    public string? User { get; set; }
    public string? Password { get; set; }
    public string From { get; set; } = "kolo@localhost";
}

public interface IEmailSender
{
    bool IsConfigured { get; }
    Task SendAsync(string to, string subject, string text, CancellationToken ct);
}

/// <summary>E-mail over SMTP with MailKit.</summary>
public sealed class SmtpEmailSender(SmtpOptions options) : IEmailSender
{
    public bool IsConfigured => !string.IsNullOrWhiteSpace(options.Host);

    public async Task SendAsync(string to, string subject, string text, CancellationToken ct)
    {
        var message = new MimeKit.MimeMessage();
        message.From.Add(MimeKit.MailboxAddress.Parse(options.From));
        message.To.Add(MimeKit.MailboxAddress.Parse(to));
        message.Subject = subject;
        message.Body = new MimeKit.TextPart("plain") { Text = text };
        using var client = new MailKit.Net.Smtp.SmtpClient();
        var security = Enum.TryParse<MailKit.Security.SecureSocketOptions>(options.Security, true, out var s) ? s : MailKit.Security.SecureSocketOptions.StartTlsWhenAvailable;
        await client.ConnectAsync(options.Host!, options.Port, security, ct);
        if (!string.IsNullOrEmpty(options.User)) await client.AuthenticateAsync(options.User, options.Password ?? "", ct);
        await client.SendAsync(message, ct);
        await client.DisconnectAsync(true, ct);
    }
}

/// <summary>
/// Sends the reminders that are due. Each reminder is claimed with a conditional update before it is delivered,
/// so with several Kolo nodes polling at once every reminder still fires exactly once.
/// </summary>
public sealed class ReminderService(IDbContextFactory<KoloDb> dbFactory, TimeProvider clock, IEmailSender email, ILogger<ReminderService> log)
{
    public async Task<int> SendDueAsync(CancellationToken ct = default)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var due = await db.Tasks.AsNoTracking()
            .Where(t => t.Status == TaskItemStatus.Open && t.RemindAt != null && t.RemindAt <= now && t.ReminderSentAt == null)
            .OrderBy(t => t.RemindAt).Take(200)
            .Select(t => new { t.Id, t.Title, t.DueAt, t.AssigneeId, t.CustomerId, t.EmailReminder })
            .ToListAsync(ct);
        var sent = 0;
        foreach (var task in due)
        {
            // Claim and notification commit together: a crash in between leaves the reminder unsent, not lost.
            // On PostgreSQL a second node's claim waits for this row lock, then finds ReminderSentAt set.
            var body = task.DueAt is { } dueAt ? $"Due {dueAt:yyyy-MM-dd HH:mm} UTC" : null;
            await using (var tx = await db.Database.BeginTransactionAsync(ct))
            {
                var claimed = await db.Tasks.Where(t => t.Id == task.Id && t.ReminderSentAt == null)
                    .ExecuteUpdateAsync(s => s.SetProperty(t => t.ReminderSentAt, now), ct);
                if (claimed == 0) continue; // another node sent it
                var link = task.CustomerId is { } c ? $"/customers/{c}" : "/tasks";
                db.Notifications.Add(new Notification { UserId = task.AssigneeId, Title = task.Title, Body = body, Link = link, CreatedAt = now });
                await db.SaveChangesAsync(ct);
                await tx.CommitAsync(ct);
            }
            sent++;
            if (task.EmailReminder && email.IsConfigured)
            {
                var to = await db.Users.Where(u => u.Id == task.AssigneeId).Select(u => u.Email).FirstOrDefaultAsync(ct);
                try
                {
                    if (to is not null) await email.SendAsync(to, $"Reminder: {task.Title}", $"{task.Title}\n{body}", ct);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // The in-app notification is there; a mail server being down must not stop other reminders.
                    log.LogWarning(e, "Could not e-mail the reminder for task {TaskId}", task.Id);
                }
            }
        }
        return sent;
    }
}
