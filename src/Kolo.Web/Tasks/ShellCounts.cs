using Kolo.Core.Platform;
using Kolo.Core.Tasks;
using Kolo.Web.Platform;

namespace Kolo.Web.Tasks;

/// <summary>
/// The app shell's counts (open tasks due, unread notifications) for one circuit. The bell polls it; screens that
/// change tasks or notifications refresh it so the badges follow at once instead of at the next poll.
/// </summary>
public sealed class ShellCounts(TaskService tasks, UserClock clock, TimeProvider time, ILogger<ShellCounts> log)
{
    public TaskSummary? Summary { get; private set; }

    /// <summary>Overdue plus due today: what the "My tasks" badge shows.</summary>
    public int TasksDue => Summary is { } s ? s.Overdue + s.Today : 0;

    public int Unread => Summary?.UnreadNotifications ?? 0;

    public event Action? Changed;

    public async Task RefreshAsync(Actor actor, CancellationToken ct = default)
    {
        try
        {
            var (_, tomorrow) = clock.DayBounds(time.GetUtcNow().UtcDateTime);
            Summary = await tasks.SummaryAsync(actor, tomorrow, ct);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Badges are a convenience: a failed poll keeps the last counts and must not break the page.
            log.LogWarning(e, "Could not refresh the shell counts");
            return;
        }
        Changed?.Invoke();
    }
}
