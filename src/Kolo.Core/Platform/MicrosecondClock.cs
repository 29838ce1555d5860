namespace Kolo.Core.Platform;

/// <summary>
/// The system clock cut to whole microseconds, the precision PostgreSQL stores: a time an API response shows is then
/// exactly the time a later read or filter sees, on either engine.
/// </summary>
public sealed class MicrosecondClock : TimeProvider
{
    public override DateTimeOffset GetUtcNow()
    {
        var now = base.GetUtcNow();
        return now.AddTicks(-(now.Ticks % TimeSpan.TicksPerMicrosecond));
    }
}
