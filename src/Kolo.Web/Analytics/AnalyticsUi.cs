using System.Globalization;
using Kolo.Core.Analytics;
using Kolo.Core.Analytics.Models;
using Kolo.Core.Platform;
using Kolo.Web.Resources;
using Microsoft.Extensions.Localization;
using MudBlazor;

namespace Kolo.Web.Analytics;

/// <summary>How the analytics screens name segments, stages and reasons, and format shares and money.</summary>
public static class AnalyticsUi
{
    public static readonly RfmSegment[] Segments = Enum.GetValues<RfmSegment>();

    /// <summary>A segment's name in the UI's language; the service and the URL use the enum name (<c>CannotLoseThem</c>).</summary>
    public static string SegmentText(IStringLocalizer<SharedResource> l, string? segment) =>
        segment is null ? "—" : Enum.TryParse<RfmSegment>(segment, out var s) ? l[$"Segment_{s}"] : segment;

    /// <summary>Chip colours: good news green, new and promising blue, slipping orange, leaving red, gone grey.</summary>
    public static Color SegmentColor(string? segment) => Enum.TryParse<RfmSegment>(segment, out var s) ? s switch
    {
        RfmSegment.Champions or RfmSegment.Loyal => Color.Success,
        RfmSegment.PotentialLoyalists or RfmSegment.New or RfmSegment.Promising => Color.Info,
        RfmSegment.NeedAttention or RfmSegment.AboutToSleep => Color.Warning,
        RfmSegment.AtRisk or RfmSegment.CannotLoseThem => Color.Error,
        _ => Color.Default,
    } : Color.Default;

    /// <summary>The CSS class of an R×F grid cell (a light background of the segment's colour, dark text).</summary>
    public static string SegmentCellClass(string? segment) => SegmentColor(segment) switch
    {
        Color.Success => "kolo-seg-good",
        Color.Info => "kolo-seg-new",
        Color.Warning => "kolo-seg-slipping",
        Color.Error => "kolo-seg-leaving",
        _ => "kolo-seg-gone",
    };

    /// <summary>The job's stage (English from the runner) in the UI's language; an unknown stage is shown as it is.</summary>
    public static string StageText(IStringLocalizer<SharedResource> l, string? stage)
    {
        if (string.IsNullOrEmpty(stage)) return "";
        var key = "Stage_" + new string(stage.Where(char.IsLetterOrDigit).ToArray());
        var text = l[key];
        return text.ResourceNotFound ? stage : text;
    }

    /// <summary>
    /// The offer's reason in the UI's language, built from the offer's figures; in English it reads as the API's
    /// <c>reason</c> ("bought X; 43% of buyers of X also bought Y, lift 2.9").
    /// </summary>
    public static string ReasonText(IStringLocalizer<SharedResource> l, OfferView o)
    {
        var because = string.Join(l["ReasonAnd"], o.Because);
        return o.Kind == "up-sell"
            ? string.Format(CultureInfo.CurrentCulture, l["ReasonUpSell"], because, Percent(o.Support), o.Name)
            : string.Format(CultureInfo.CurrentCulture, l["ReasonCrossSell"], because, Percent(o.Confidence), o.Name, o.Lift.ToString("0.0", CultureInfo.CurrentCulture));
    }

    public static string Percent(double? share, int decimals = 0)
    {
        if (share is not { } v) return "—";
        // A tiny share is not nothing: "<1%" rather than a misleading "0%".
        var smallest = Math.Pow(10, -decimals) / 100;
        if (v > 0 && v < smallest / 2) return "<" + smallest.ToString("P" + decimals, CultureInfo.CurrentCulture).Replace("\u00a0", " ", StringComparison.Ordinal);
        return v.ToString("P" + decimals, CultureInfo.CurrentCulture).Replace("\u00a0", " ", StringComparison.Ordinal);
    }

    public static string Money(MoneyAmount? m) => m is null ? "—" : Kolo.Web.Orders.OrderUi.MoneyText(m.Amount, m.Currency);

    public static string Money(long minor, string currency) => Kolo.Web.Orders.OrderUi.MoneyText(minor, currency);

    public static string Number(double? v, string format = "0.###") => v is { } x ? x.ToString(format, CultureInfo.CurrentCulture) : "—";

    /// <summary>Dates the scores and fits are "as of" are days, shown as ISO dates so they read the same in every language.</summary>
    public static string Day(DateTime? d) => d is { } v ? v.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) : "—";

    public static bool CanRun(Actor actor) => actor.Role is UserRole.Admin or UserRole.Manager or UserRole.Marketing;

    public static bool Active(AnalyticsJobView job) => job.Status is AnalyticsJobStatus.Queued or AnalyticsJobStatus.Running;

    /// <summary>The fit stored on a succeeded fit job.</summary>
    public static ClvFitResult? FitOf(AnalyticsJobView job) =>
        job.Kind == AnalyticsJobKind.ClvFit && job.Result is { } r ? System.Text.Json.JsonSerializer.Deserialize<ClvFitResult>(r, ClvFitResult.Json) : null;

    /// <summary>An income band as the service names it ("10,000–25,000", "250,000+", "unknown"), with the user's digit grouping.</summary>
    public static string IncomeBandText(IStringLocalizer<SharedResource> l, string band) => band == "unknown" ? l["IncomeUnknown"] : band;
}
