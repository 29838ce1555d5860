using Kolo.Core.Marketing;

namespace Kolo.Web.Marketing;

/// <summary>
/// Stamps ConvertedAt on campaign messages whose customers ordered within the attribution window, so the message list and
/// segment rules on conversions stay current (the results compute conversions from the orders themselves).
/// </summary>
public sealed class ConversionStampWorker(CampaignResponseService service, ILogger<ConversionStampWorker> log) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromMinutes(15);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval);
        // The first round shortly after start-up (not during migrations and demo data), then every interval.
        try { await Task.Delay(TimeSpan.FromMinutes(1), stoppingToken); }
        catch (OperationCanceledException) { return; }
        do
        {
            try
            {
                var stamped = await service.StampConversionsAsync(stoppingToken);
                if (stamped > 0) log.LogInformation("Stamped {Count} campaign conversions", stamped);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { return; }
            catch (Exception e)
            {
                // A failed round (the database restarting) must not stop the worker; the next round catches up.
                log.LogError(e, "Stamping campaign conversions failed");
            }
        } while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}
