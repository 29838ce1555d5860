namespace Kolo.Core.Sales;

/// <summary>An open deal as the forecast sees it.</summary>
public sealed record OpenDeal(string Group, long AmountMinor, int Probability, ForecastCategory Category, DateOnly? ExpectedClose, Guid StageId, DateTime StageEnteredAt);

/// <summary>A closed deal's path: the stages it entered (with when), how it ended and when.</summary>
public sealed record ClosedDeal(IReadOnlyList<(Guid StageId, DateTime EnteredAt)> Stages, bool Won, DateTime ClosedAt);

/// <summary>A won deal for the actuals: its group, amount and close day.</summary>
public sealed record WonDeal(string Group, long AmountMinor, DateTime ClosedAt);

public sealed record ForecastCell(DateOnly PeriodStart, string Group, int OpenDeals, long PipelineMinor, long WeightedMinor, long BestCaseMinor,
    long CommitMinor, long HistoryBasedMinor, long WonMinor);

/// <summary>What closed deals teach about a stage: the share of deals that entered it and were won, and the days from entering it to winning.</summary>
public sealed record StageHistory(Guid StageId, int Entered, int Won, double? MeanDaysToWin);

/// <summary>
/// The sales forecast for periods and groups. Weighted: Σ amount × probability of open deals expected to close in
/// the period. Best case: Σ amount of best-case and commit deals; commit: Σ amount of commit deals. History-based:
/// each open deal counts amount × (the share of closed deals that entered its stage and were won), in the period
/// where it closes if it takes as long as won deals took from that stage (from the day it entered the stage; a date
/// already past counts as today); stages no closed deal went through fall back to the stage's default probability
/// and the deal's expected close date. Won: Σ amount of deals won in the period (actuals, for accuracy).
/// </summary>
public static class Forecasting
{
    public static DateOnly PeriodStart(DateOnly day, PeriodKind period) => period == PeriodKind.Month
        ? new DateOnly(day.Year, day.Month, 1)
        : new DateOnly(day.Year, (day.Month - 1) / 3 * 3 + 1, 1);

    public static DateOnly NextPeriod(DateOnly start, PeriodKind period) => start.AddMonths(period == PeriodKind.Month ? 1 : 3);

    public static Dictionary<Guid, StageHistory> LearnStages(IEnumerable<ClosedDeal> closed)
    {
        var entered = new Dictionary<Guid, int>();
        var won = new Dictionary<Guid, int>();
        var days = new Dictionary<Guid, List<double>>();
        foreach (var deal in closed)
        {
            // A deal that entered a stage twice counts once for it, from its first entry.
            foreach (var (stageId, enteredAt) in deal.Stages.GroupBy(s => s.StageId).Select(g => (g.Key, g.Min(s => s.EnteredAt))))
            {
                entered[stageId] = entered.GetValueOrDefault(stageId) + 1;
                if (!deal.Won) continue;
                won[stageId] = won.GetValueOrDefault(stageId) + 1;
                if (!days.TryGetValue(stageId, out var list)) days[stageId] = list = [];
                list.Add((deal.ClosedAt - enteredAt).TotalDays);
            }
        }
        return entered.ToDictionary(e => e.Key, e => new StageHistory(e.Key, e.Value, won.GetValueOrDefault(e.Key),
            days.TryGetValue(e.Key, out var d) ? d.Average() : null));
    }

    public static List<ForecastCell> Forecast(IReadOnlyList<OpenDeal> open, IReadOnlyDictionary<Guid, StageHistory> stages, IReadOnlyList<WonDeal> won,
        PeriodKind period, DateOnly from, DateOnly to, DateOnly today)
    {
        var cells = new Dictionary<(DateOnly, string), Accumulator>();
        Accumulator Cell(DateOnly day, string group)
        {
            var key = (PeriodStart(day, period), group);
            if (!cells.TryGetValue(key, out var cell)) cells[key] = cell = new Accumulator();
            return cell;
        }
        var first = PeriodStart(from, period);
        bool Inside(DateOnly day) => day >= first && day < to;
        foreach (var deal in open)
        {
            if (deal.ExpectedClose is { } close && Inside(close))
            {
                var cell = Cell(close, deal.Group);
                cell.OpenDeals++;
                cell.Pipeline += deal.AmountMinor;
                cell.Weighted += deal.AmountMinor * deal.Probability / 100m;
                if (deal.Category is ForecastCategory.BestCase or ForecastCategory.Commit) cell.BestCase += deal.AmountMinor;
                if (deal.Category == ForecastCategory.Commit) cell.Commit += deal.AmountMinor;
            }
            var (chance, when) = stages.TryGetValue(deal.StageId, out var h) && h.Entered > 0
                ? ((decimal)h.Won / h.Entered, h.MeanDaysToWin is { } days ? DateOnly.FromDateTime(deal.StageEnteredAt.AddDays(days)) : deal.ExpectedClose)
                : (deal.Probability / 100m, deal.ExpectedClose);
            if (when is not { } predicted) continue;
            if (predicted < today) predicted = today;
            if (Inside(predicted)) Cell(predicted, deal.Group).HistoryBased += deal.AmountMinor * chance;
        }
        foreach (var deal in won)
        {
            var day = DateOnly.FromDateTime(deal.ClosedAt);
            if (Inside(day)) Cell(day, deal.Group).Won += deal.AmountMinor;
        }
        return cells.OrderBy(c => c.Key.Item1).ThenBy(c => c.Key.Item2, StringComparer.Ordinal)
            .Select(c => new ForecastCell(c.Key.Item1, c.Key.Item2, c.Value.OpenDeals, c.Value.Pipeline, Round(c.Value.Weighted), c.Value.BestCase,
                c.Value.Commit, Round(c.Value.HistoryBased), c.Value.Won)).ToList();
    }

    private static long Round(decimal minor) => (long)Math.Round(minor, MidpointRounding.AwayFromZero);

    private sealed class Accumulator
    {
        public int OpenDeals;
        public long Pipeline, BestCase, Commit, Won;
        public decimal Weighted, HistoryBased;
    }
}

/// <summary>
/// Variable pay: the won amount up to the first tier's attainment earns the base rate; the part between one tier's
/// attainment and the next earns that tier's rate (accelerators). Without a target every amount earns the base rate.
/// </summary>
public static class Commission
{
    public static long Pay(long wonMinor, long? targetMinor, int baseRateBasisPoints, IReadOnlyList<CommissionTier> tiers)
    {
        if (wonMinor <= 0) return 0;
        if (targetMinor is not > 0 || tiers.Count == 0) return Rate(wonMinor, baseRateBasisPoints);
        var bands = tiers.OrderBy(t => t.FromAttainmentPercent).ToList();
        decimal pay = 0;
        long lower = 0;
        var rate = baseRateBasisPoints;
        foreach (var tier in bands)
        {
            var upper = (long)Math.Round(targetMinor.Value * tier.FromAttainmentPercent / 100m, MidpointRounding.AwayFromZero);
            if (upper > lower)
            {
                pay += Math.Max(0, Math.Min(wonMinor, upper) - lower) * (decimal)rate / 10_000m;
                lower = upper;
            }
            rate = tier.RateBasisPoints;
            if (wonMinor <= lower) return (long)Math.Round(pay, MidpointRounding.AwayFromZero);
        }
        pay += (wonMinor - lower) * (decimal)rate / 10_000m;
        return (long)Math.Round(pay, MidpointRounding.AwayFromZero);
    }

    private static long Rate(long minor, int basisPoints) => (long)Math.Round(minor * (decimal)basisPoints / 10_000m, MidpointRounding.AwayFromZero);
}
