using System.Data.Common;
using System.Diagnostics;
using System.Text.RegularExpressions;
using Kolo.Core.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Npgsql;

namespace Kolo.Bench;

/// <summary>One statement EF Core ran: its SQL and parameters (to run it again raw), and how long the app held it open.</summary>
public sealed record LoggedCommand(string Sql, NpgsqlParameter[] Parameters, bool Reader, double Seconds, long Rows)
{
    /// <summary>A one-line description: the tables it reads and whether it groups or sorts.</summary>
    public string Summary
    {
        get
        {
            var verb = Sql.TrimStart().Split(' ', 2)[0].ToUpperInvariant();
            var tables = Regex.Matches(Sql, @"(?:FROM|JOIN)\s+""?([a-z_]+)""?", RegexOptions.IgnoreCase).Select(m => m.Groups[1].Value)
                .Where(t => !t.Equals("SELECT", StringComparison.OrdinalIgnoreCase)).Distinct().ToList();
            var what = verb == "SELECT" ? string.Join(" + ", tables) : $"{verb} {string.Join(" + ", tables)}";
            if (Sql.Contains("GROUP BY", StringComparison.OrdinalIgnoreCase)) what += ", grouped";
            if (Regex.IsMatch(Sql, @"ORDER BY[^)]*$", RegexOptions.IgnoreCase | RegexOptions.Singleline)) what += ", sorted";
            return what;
        }
    }
}

/// <summary>
/// Records every statement a context runs, with the time from execution to the reader's disposal: for a streamed
/// query that includes the app's own work on each row while the reader is open, which is what the raw replay of the
/// same SQL leaves out.
/// </summary>
public sealed class CommandLog : DbCommandInterceptor
{
    private readonly List<LoggedCommand> _commands = [];

    public List<LoggedCommand> Take()
    {
        lock (_commands)
        {
            var list = _commands.ToList();
            _commands.Clear();
            return list;
        }
    }

    private void Add(DbCommand command, bool reader, TimeSpan duration, long rows)
    {
        var parameters = command.Parameters.Cast<NpgsqlParameter>().Select(p => p.Clone()).ToArray();
        lock (_commands) _commands.Add(new LoggedCommand(command.CommandText, parameters, reader, duration.TotalSeconds, rows));
    }

    // EF's own reader duration starts when the first rows arrive; the app waits from the execution on.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<Guid, long> _started = new();

    public override InterceptionResult<DbDataReader> ReaderExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result)
    {
        _started[eventData.CommandId] = Stopwatch.GetTimestamp();
        return result;
    }

    public override ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result,
        CancellationToken cancellationToken = default)
    {
        _started[eventData.CommandId] = Stopwatch.GetTimestamp();
        return ValueTask.FromResult(result);
    }

    public override InterceptionResult DataReaderDisposing(DbCommand command, DataReaderDisposingEventData eventData, InterceptionResult result)
    {
        var duration = _started.TryRemove(eventData.CommandId, out var start) ? Stopwatch.GetElapsedTime(start) : eventData.Duration;
        Add(command, true, duration, eventData.ReadCount);
        return result;
    }

    public override ValueTask<int> NonQueryExecutedAsync(DbCommand command, CommandExecutedEventData eventData, int result, CancellationToken cancellationToken = default)
    {
        Add(command, false, eventData.Duration, result);
        return ValueTask.FromResult(result);
    }

    public override int NonQueryExecuted(DbCommand command, CommandExecutedEventData eventData, int result)
    {
        Add(command, false, eventData.Duration, result);
        return result;
    }

    /// <summary>A context on <paramref name="connectionString"/> that logs into <paramref name="log"/> (when given).</summary>
    public static KoloDb Context(string connectionString, CommandLog? log)
    {
        var options = new DbContextOptionsBuilder<KoloDb>();
        DatabaseSetup.Configure(options, DatabaseProvider.Postgres, connectionString);
        if (log is not null) options.AddInterceptors(log);
        return new KoloDb(options.Options);
    }

    /// <summary>
    /// Runs a logged SELECT again over plain Npgsql and reads every value of every row with its typed getter: the time
    /// PostgreSQL needs to compute and send the same result. Returns the seconds and the rows.
    /// </summary>
    public static async Task<(double Seconds, long Rows)> ReplayAsync(NpgsqlConnection connection, LoggedCommand logged)
    {
        await using var cmd = new NpgsqlCommand(logged.Sql, connection) { CommandTimeout = 0 };
        foreach (var p in logged.Parameters) cmd.Parameters.Add(p.Clone());
        var sw = Stopwatch.StartNew();
        long rows = 0, checksum = 0;
        await using (var r = await cmd.ExecuteReaderAsync())
        {
            var types = Enumerable.Range(0, r.FieldCount).Select(r.GetFieldType).ToArray();
            while (await r.ReadAsync())
            {
                rows++;
                for (var i = 0; i < types.Length; i++)
                {
                    if (r.IsDBNull(i)) continue;
                    var t = types[i];
                    checksum += t == typeof(Guid) ? r.GetGuid(i).GetHashCode()
                        : t == typeof(DateTime) ? r.GetDateTime(i).Ticks
                        : t == typeof(long) ? r.GetInt64(i)
                        : t == typeof(int) ? r.GetInt32(i)
                        : t == typeof(string) ? r.GetString(i).Length
                        : t == typeof(bool) ? (r.GetBoolean(i) ? 1 : 0)
                        : t == typeof(double) ? (long)r.GetDouble(i)
                        : t == typeof(decimal) ? (long)r.GetDecimal(i)
                        : r.GetValue(i).GetHashCode();
                }
            }
        }
        GC.KeepAlive(checksum);
        return (sw.Elapsed.TotalSeconds, rows);
    }
}

/// <summary>Times the stages a Core job reports through its progress callback, and what each allocated.</summary>
public sealed class Stages
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly List<(string Stage, double At, long Allocated)> _marks = [];
    private (double At, long Allocated)? _end;

    public void Progress(int percent, string stage)
    {
        if (_marks.Count == 0 || _marks[^1].Stage != stage) _marks.Add((stage, _clock.Elapsed.TotalSeconds, GC.GetTotalAllocatedBytes()));
    }

    public double Finish() => (_end = (_clock.Elapsed.TotalSeconds, GC.GetTotalAllocatedBytes())).Value.At;

    public double Total => _end?.At ?? _clock.Elapsed.TotalSeconds;

    public IEnumerable<(string Stage, double Seconds, long Allocated)> Durations =>
        _marks.Select((m, i) =>
        {
            var (at, allocated) = i + 1 < _marks.Count ? (_marks[i + 1].At, _marks[i + 1].Allocated) : _end ?? (Total, GC.GetTotalAllocatedBytes());
            return (m.Stage, at - m.At, allocated - m.Allocated);
        });

    public void Print()
    {
        foreach (var (stage, seconds, allocated) in Durations) Console.WriteLine($"  stage {stage,-40} {seconds,8:F2} s  {allocated / 1e9,6:F2} GB allocated");
    }
}

/// <summary>Samples the process's working set and managed heap while a step runs, for their peaks.</summary>
public sealed class MemorySampler : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly long _allocatedBefore;
    private readonly TimeSpan _pausedBefore;
    private readonly int[] _collectionsBefore;

    public long PeakWorkingSet { get; private set; }
    public long PeakManagedHeap { get; private set; }
    public long Allocated => GC.GetTotalAllocatedBytes() - _allocatedBefore;

    /// <summary>Allocation, heap peaks and the time the garbage collector paused the program since the sampler started.</summary>
    public string Summary =>
        $"allocated {Allocated / 1e9:F2} GB, peak managed heap {PeakManagedHeap / 1e9:F2} GB, peak working set {PeakWorkingSet / 1e9:F2} GB, " +
        $"GC paused {(GC.GetTotalPauseDuration() - _pausedBefore).TotalSeconds:F1} s " +
        $"({GC.CollectionCount(0) - _collectionsBefore[0]}/{GC.CollectionCount(1) - _collectionsBefore[1]}/{GC.CollectionCount(2) - _collectionsBefore[2]} gen0/1/2 collections)";

    public MemorySampler()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        _allocatedBefore = GC.GetTotalAllocatedBytes();
        _pausedBefore = GC.GetTotalPauseDuration();
        _collectionsBefore = [GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2)];
        _loop = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                Sample();
                try { await Task.Delay(100, _stop.Token); } catch (OperationCanceledException) { break; }
            }
        });
    }

    private void Sample()
    {
        PeakWorkingSet = Math.Max(PeakWorkingSet, Environment.WorkingSet);
        PeakManagedHeap = Math.Max(PeakManagedHeap, GC.GetTotalMemory(false));
    }

    public async ValueTask DisposeAsync()
    {
        Sample();
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
    }
}
