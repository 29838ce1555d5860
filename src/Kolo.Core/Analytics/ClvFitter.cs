using System.Text.Json;
using Kolo.Core.Analytics.Models;
using Kolo.Core.Data;
using Kolo.Core.Platform;
using Microsoft.EntityFrameworkCore;

namespace Kolo.Core.Analytics;

public sealed record HoldoutRow(string Frequency, int Customers, double ActualMean, double PredictedMean, int ActualTotal, double PredictedTotal);

/// <summary>The result of fitting BG/NBD and Gamma-Gamma as of a calibration date (stored on the job as JSON).</summary>
public sealed record ClvFitResult(
    DateTime CalibrationEnd, TimeUnit TimeUnit, string Currency, int Customers, int Repeaters, int RepeatPurchases,
    BgNbdParameters BgNbd, double BgNbdLogLikelihood, bool BgNbdConverged,
    GammaGammaParameters? GammaGamma, double? GammaGammaLogLikelihood, bool GammaGammaConverged, int GammaGammaCustomers,
    DateTime? HoldoutEnd, IReadOnlyList<HoldoutRow> Holdout, double FitSeconds)
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() } };
}

/// <summary>
/// Fits the lifetime-value models on the repeat-purchase statistics as of a calibration date — BG/NBD (Fader, Hardie
/// &amp; Lee 2005) on (x, t_x, T) of every customer whose first purchase is on or before it, Gamma-Gamma (Fader &amp;
/// Hardie 2013) on the repeaters' mean repeat-transaction value — and, given a holdout end, compares the predicted
/// repeat purchases in the holdout with the actual ones per calibration frequency.
/// </summary>
public static class ClvFitter
{
    public const int HoldoutGroups = 7; // 0..6 and "7+", as in Fader, Hardie & Lee (2005), figure 3

    public static async Task<ClvFitResult> FitAsync(KoloDb db, string currency, DateTime calibrationEnd, TimeUnit unit, DateTime? holdoutEnd,
        Action<int, string> progress, CancellationToken ct)
    {
        var started = System.Diagnostics.Stopwatch.StartNew();
        progress(5, "Reading purchases");
        // The grouped read covers every purchase up to the calibration end: as long as the recompute's at scale.
        db.Database.SetCommandTimeout(TimeSpan.FromMinutes(30));
        var calibrationDay = calibrationEnd.Date;
        var history = await PurchaseHistory.ReadAsync(db, currency, calibrationDay, ct);
        if (history.Count == 0) throw ValidationFailedException.For("calibrationEnd", $"No purchases in {currency} on or before {calibrationDay:yyyy-MM-dd}.");
        var unitDays = PurchaseHistory.UnitDays(unit);
        var stats = history.Select(h => h.Repeat(calibrationDay, unitDays)).ToList();

        progress(30, "Fitting BG/NBD");
        var bg = BgNbd.Fit(stats, ct);
        progress(60, "Fitting Gamma-Gamma");
        var digits = Money.MinorDigits(currency);
        var spend = history.Where(h => h.MeanRepeatValue(digits) is > 0).Select(h => new SpendStats(h.Days.Count - 1, h.MeanRepeatValue(digits)!.Value)).ToList();
        GammaGammaFit? gg = spend.Count >= 10 ? GammaGamma.Fit(spend, ct) : null;

        var holdout = new List<HoldoutRow>();
        if (holdoutEnd is { } end)
        {
            if (end.Date <= calibrationDay) throw ValidationFailedException.For("holdoutEnd", "The holdout must end after the calibration period.");
            progress(80, "Checking the holdout");
            var actual = await PurchaseHistory.DaysBetweenAsync(db, currency, calibrationDay, end.Date, ct);
            var t = (end.Date - calibrationDay).TotalDays / unitDays;
            var groups = new (int Customers, double Predicted, int Actual)[HoldoutGroups + 1];
            for (var i = 0; i < history.Count; i++)
            {
                var g = Math.Min((int)stats[i].X, HoldoutGroups);
                groups[g].Customers++;
                groups[g].Predicted += BgNbd.ConditionalExpectedPurchases(bg.Parameters, stats[i], t);
                groups[g].Actual += actual.GetValueOrDefault(history[i].CustomerId);
            }
            for (var g = 0; g <= HoldoutGroups; g++)
            {
                var (n, predicted, real) = groups[g];
                if (n == 0) continue;
                holdout.Add(new HoldoutRow(g == HoldoutGroups ? $"{HoldoutGroups}+" : g.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    n, (double)real / n, predicted / n, real, predicted));
            }
        }
        progress(95, "Saving");
        return new ClvFitResult(calibrationDay, unit, currency, history.Count, stats.Count(s => s.X > 0), (int)stats.Sum(s => s.X),
            bg.Parameters, bg.LogLikelihood, bg.Converged, gg?.Parameters, gg?.LogLikelihood, gg?.Converged ?? false, spend.Count,
            holdoutEnd?.Date, holdout, started.Elapsed.TotalSeconds);
    }
}
