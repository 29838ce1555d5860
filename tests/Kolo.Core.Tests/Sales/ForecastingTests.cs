using Kolo.Core.Sales;

namespace Kolo.Core.Tests.Sales;

/// <summary>
/// The forecast on a small example worked out by hand. Three open stages: A (default 20 %), B (60 %) and C (80 %,
/// which no closed deal went through), then Won (W). Amounts are in minor units (1 UAH = 100).
/// </summary>
public class ForecastingTests
{
    private static readonly Guid A = Guid.NewGuid(), B = Guid.NewGuid(), C = Guid.NewGuid(), W = Guid.NewGuid(), L = Guid.NewGuid();

    private static DateTime T(int month, int day) => new(2030, month, day, 0, 0, 0, DateTimeKind.Utc);

    private static DateOnly D(int month, int day) => new(2030, month, day);

    /// <summary>
    /// Five closed deals. From A: C1 won 30 days after entering it, C5 won 20 days after, three others lost → A: 5
    /// entered, 2 won (40 %), 25 days to win on average. From B: C1 won 10 days after, C2 lost → B: 2 entered, 1 won
    /// (50 %), 10 days. C2 went back to A, which still counts once for it.
    /// </summary>
    private static readonly ClosedDeal[] Closed =
    [
        new([(A, T(1, 1)), (B, T(1, 21)), (W, T(1, 31))], Won: true, T(1, 31)),
        new([(A, T(1, 1)), (B, T(1, 11)), (A, T(1, 15)), (L, T(1, 20))], Won: false, T(1, 20)),
        new([(A, T(1, 5)), (L, T(1, 15))], Won: false, T(1, 15)),
        new([(A, T(1, 5)), (L, T(1, 25))], Won: false, T(1, 25)),
        new([(A, T(2, 1)), (W, T(2, 21))], Won: true, T(2, 21)),
    ];

    [Fact]
    public void Stage_history_counts_entries_wins_and_mean_days_from_entry_to_win()
    {
        var stages = Forecasting.LearnStages(Closed);

        Assert.Equal(new StageHistory(A, 5, 2, 25), stages[A]);
        Assert.Equal(new StageHistory(B, 2, 1, 10), stages[B]);
        Assert.Equal(new StageHistory(W, 2, 2, 0), stages[W]);
        Assert.Equal(new StageHistory(L, 3, 0, null), stages[L]);
        Assert.False(stages.ContainsKey(C));
    }

    [Fact]
    public void A_stage_entered_twice_counts_once_from_the_first_entry()
    {
        // Entered A on 1 March and again on 11 March, won on 21 March: one entry, 20 days (not 10).
        var stages = Forecasting.LearnStages([new ClosedDeal([(A, T(3, 1)), (B, T(3, 6)), (A, T(3, 11)), (W, T(3, 21))], true, T(3, 21))]);
        Assert.Equal(new StageHistory(A, 1, 1, 20), stages[A]);
        Assert.Equal(new StageHistory(B, 1, 1, 15), stages[B]);
    }

    /// <summary>
    /// Open deals (group "g"):
    ///   O1 A 10,000.00 at 20 %, pipeline, closes 15 May, entered A 1 Mar → history 40 % × 10,000 = 4,000 on 26 Mar (1 Mar + 25 days).
    ///   O2 B  4,000.00 at 90 % (override), commit, closes 5 Apr, entered B 25 Mar → history 50 % × 4,000 = 2,000 on 4 Apr.
    ///   O3 B  6,000.00 at 60 %, best case, closes 20 Apr, entered B 10 Mar → history 50 % × 6,000 = 3,000 on 20 Mar.
    ///   O4 C  5,000.00 at 80 %, commit, closes 10 Jun: C has no history → 80 % × 5,000 = 4,000 at its close date.
    ///   O5 A  2,000.00 at 50 %, omitted, no close date, entered A 10 Apr → only history: 40 % × 2,000 = 800 on 5 May.
    /// Won: 8,000 on 31 Jan and 2,000 on 21 Feb.
    /// </summary>
    private static readonly OpenDeal[] Open =
    [
        new("g", 1_000_000, 20, ForecastCategory.Pipeline, D(5, 15), A, T(3, 1)),
        new("g", 400_000, 90, ForecastCategory.Commit, D(4, 5), B, T(3, 25)),
        new("g", 600_000, 60, ForecastCategory.BestCase, D(4, 20), B, T(3, 10)),
        new("g", 500_000, 80, ForecastCategory.Commit, D(6, 10), C, T(3, 1)),
        new("g", 200_000, 50, ForecastCategory.Omitted, null, A, T(4, 10)),
    ];

    private static readonly WonDeal[] Won = [new("g", 800_000, T(1, 31)), new("g", 200_000, T(2, 21).AddHours(15))];

    [Fact]
    public void Monthly_forecast_weighted_best_case_commit_history_based_and_won()
    {
        var cells = Forecasting.Forecast(Open, Forecasting.LearnStages(Closed), Won, PeriodKind.Month, D(1, 1), D(7, 1), today: new DateOnly(2029, 12, 1));

        // (period, group, open deals, pipeline, weighted, best case, commit, history-based, won)
        Assert.Equal(
        [
            new ForecastCell(D(1, 1), "g", 0, 0, 0, 0, 0, 0, 800_000),
            new ForecastCell(D(2, 1), "g", 0, 0, 0, 0, 0, 0, 200_000),
            // O1's and O3's history-based 4,000 + 3,000; nothing is expected to close in March.
            new ForecastCell(D(3, 1), "g", 0, 0, 0, 0, 0, 700_000, 0),
            // O2 + O3: weighted 3,600 + 3,600; best case both; commit O2; history O2's 2,000.
            new ForecastCell(D(4, 1), "g", 2, 1_000_000, 720_000, 1_000_000, 400_000, 200_000, 0),
            // O1: weighted 2,000; O5's history-based 800.
            new ForecastCell(D(5, 1), "g", 1, 1_000_000, 200_000, 0, 0, 80_000, 0),
            // O4: commit counts in best case too; history falls back to the stage default at the close date.
            new ForecastCell(D(6, 1), "g", 1, 500_000, 400_000, 500_000, 500_000, 400_000, 0),
        ], cells);
    }

    [Fact]
    public void Quarterly_forecast_sums_the_months_and_groups_apart()
    {
        // O4 belongs to another group: its numbers leave g's second quarter and make a cell of their own.
        var open = Open.Select(o => o.StageId == C ? o with { Group = "h" } : o).ToList();
        var cells = Forecasting.Forecast(open, Forecasting.LearnStages(Closed), Won, PeriodKind.Quarter, D(2, 14), D(7, 1), today: new DateOnly(2029, 12, 1));

        Assert.Equal(
        [
            // "from" in mid-February still takes the whole first quarter.
            new ForecastCell(D(1, 1), "g", 0, 0, 0, 0, 0, 700_000, 1_000_000),
            new ForecastCell(D(4, 1), "g", 3, 2_000_000, 920_000, 1_000_000, 400_000, 280_000, 0),
            new ForecastCell(D(4, 1), "h", 1, 500_000, 400_000, 500_000, 500_000, 400_000, 0),
        ], cells);
    }

    [Fact]
    public void A_predicted_close_already_past_counts_today_and_deals_outside_the_range_are_left_out()
    {
        var stages = Forecasting.LearnStages(Closed);
        var today = D(4, 18);
        OpenDeal[] open =
        [
            // Entered B on 1 Jan: 10 days later is long past → counted today (April), not in January.
            new("g", 100_000, 60, ForecastCategory.Pipeline, D(9, 1), B, T(1, 1)),
            // Expected to close before the range and predicted after it: in no cell at all.
            new("g", 300_000, 60, ForecastCategory.Commit, new DateOnly(2029, 12, 31), A, T(6, 20)),
            // Closes on the first day after the range ("to" is exclusive).
            new("g", 700_000, 80, ForecastCategory.Commit, D(7, 1), C, T(1, 1)),
        ];
        var cells = Forecasting.Forecast(open, stages, [new WonDeal("g", 5_000, T(7, 1))], PeriodKind.Month, D(1, 1), D(7, 1), today);

        Assert.Equal([new ForecastCell(D(4, 1), "g", 0, 0, 0, 0, 0, 50_000, 0)], cells);
    }

    [Fact]
    public void A_stage_with_history_but_no_wins_forecasts_nothing_and_rounding_is_per_cell()
    {
        // L was entered by closed deals and never won: its chance is 0 (not the 60 % default).
        var stages = new Dictionary<Guid, StageHistory> { [L] = new(L, 3, 0, null) };
        OpenDeal[] open =
        [
            new("g", 333, 50, ForecastCategory.Pipeline, D(3, 3), L, T(3, 1)),
            new("g", 333, 50, ForecastCategory.Pipeline, D(3, 4), L, T(3, 1)),
            new("g", 1, 50, ForecastCategory.Pipeline, D(4, 4), L, T(3, 1)),
        ];
        var cells = Forecasting.Forecast(open, stages, [], PeriodKind.Month, D(1, 1), D(7, 1), D(1, 1));

        // 166.5 + 166.5 = 333 (rounding each deal would give 334); a lone 0.5 rounds away from zero.
        Assert.Equal(
        [
            new ForecastCell(D(3, 1), "g", 2, 666, 333, 0, 0, 0, 0),
            new ForecastCell(D(4, 1), "g", 1, 1, 1, 0, 0, 0, 0),
        ], cells);
    }

    [Theory]
    [InlineData("2030-01-01", PeriodKind.Month, "2030-01-01")]
    [InlineData("2030-02-28", PeriodKind.Month, "2030-02-01")]
    [InlineData("2030-03-31", PeriodKind.Quarter, "2030-01-01")]
    [InlineData("2030-04-01", PeriodKind.Quarter, "2030-04-01")]
    [InlineData("2030-12-31", PeriodKind.Quarter, "2030-10-01")]
    public void Periods_start_on_the_first_day_of_the_month_or_quarter(string day, PeriodKind period, string start) =>
        Assert.Equal(DateOnly.Parse(start, System.Globalization.CultureInfo.InvariantCulture),
            Forecasting.PeriodStart(DateOnly.Parse(day, System.Globalization.CultureInfo.InvariantCulture), period));
}
