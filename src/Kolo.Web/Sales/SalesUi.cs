using System.Globalization;
using Kolo.Core.Platform;
using Kolo.Core.Sales;
using MudBlazor;

namespace Kolo.Web.Sales;

/// <summary>How the sales screens show stages, money, percentages and periods.</summary>
public static class SalesUi
{
    public static Color StageColor(StageKind kind) => kind switch
    {
        StageKind.Won => Color.Success,
        StageKind.Lost => Color.Error,
        _ => Color.Primary,
    };

    public static Color StatusColor(DealStatus status) => status switch
    {
        DealStatus.Won => Color.Success,
        DealStatus.Lost => Color.Error,
        _ => Color.Info,
    };

    public static Color LeadColor(LeadStatus status) => status switch
    {
        LeadStatus.New => Color.Info,
        LeadStatus.Contacted => Color.Primary,
        LeadStatus.Qualified => Color.Success,
        _ => Color.Default,
    };

    /// <summary>A share (0.42) as a percentage in the user's culture ("42 %" or "42%"), or a dash.</summary>
    public static string Percent(double? share, int decimals = 0) =>
        share is { } s ? s.ToString("P" + decimals, CultureInfo.CurrentCulture) : "—";

    /// <summary>Basis points (500) as a percentage number for editing (5).</summary>
    public static decimal RateFromBasisPoints(int basisPoints) => basisPoints / 100m;

    public static int BasisPointsFromRate(decimal percent) => (int)Math.Round(percent * 100m, MidpointRounding.AwayFromZero);

    /// <summary>Basis points (500) as a percentage to read ("5 %").</summary>
    public static string RateText(int basisPoints) => (basisPoints / 10_000d).ToString("0.##%", CultureInfo.CurrentCulture);

    /// <summary>A month ("May 2026") or a quarter ("Q2 2026" with the format "Q{0} {1}") by its first day.</summary>
    public static string PeriodText(DateOnly start, PeriodKind period, string quarterFormat) => period == PeriodKind.Month
        ? start.ToString("MMMM yyyy", CultureInfo.CurrentCulture)
        : string.Format(CultureInfo.CurrentCulture, quarterFormat, (start.Month - 1) / 3 + 1, start.Year);

    /// <summary>A short month label for chart axes ("May 26").</summary>
    public static string ShortMonth(DateOnly start) => start.ToString("MMM yy", CultureInfo.CurrentCulture);

    /// <summary>
    /// The monthly target that goes with what the user sees: a rep's own; for managers and admins the sum of the
    /// reps' targets (team targets are left out, or the same sales would count twice). Null when there is none.
    /// </summary>
    public static decimal? TargetFor(IEnumerable<TargetView> targets, Actor actor, DateOnly month)
    {
        var matching = targets.Where(t => t.Period == PeriodKind.Month && t.PeriodStart == month
                                          && (actor.Role == UserRole.Sales ? t.UserId == actor.UserId : t.UserId != null)).ToList();
        return matching.Count == 0 ? null : matching.Sum(t => t.Amount);
    }

    /// <summary>
    /// The text for a form's alert after the server refused it: the messages not already shown beside a field (each
    /// message once on the page), or <paramref name="fixFields"/> when every one is.
    /// </summary>
    public static string FormError(IReadOnlyDictionary<string, string> errors, Func<string, bool> shownInline, Func<string, string> translate, string fixFields)
    {
        var rest = errors.Where(e => !shownInline(e.Key)).Select(e => translate(e.Value)).ToList();
        return rest.Count > 0 ? string.Join(" ", rest) : fixFields;
    }

    /// <summary>Whether an error key is one of <paramref name="keys"/> or a line's field ("lines[2].quantity" for prefix "lines[").</summary>
    public static bool IsKey(string key, string[] keys, string? itemPrefix = null) =>
        keys.Contains(key, StringComparer.OrdinalIgnoreCase) || (itemPrefix is not null && key.StartsWith(itemPrefix, StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// Attributes that name a MudTable's own &lt;table&gt; (its aria-label lands on the wrapper div), so
    /// screen readers and tests find the table by its name.
    /// </summary>
    public static Dictionary<string, object> Named(string name) => new() { ["aria-label"] = name };

    /// <summary>Where a deal sorts in a board column: soonest expected close first, no date last, then id (as the service orders).</summary>
    public static (DateOnly, Guid) BoardOrder(DealView d) => (d.ExpectedCloseDate ?? DateOnly.MaxValue, d.Id);

    /// <summary>Puts <paramref name="deal"/> into <paramref name="list"/> at its board position (replacing an older copy).</summary>
    public static void InsertInOrder(List<DealView> list, DealView deal)
    {
        list.RemoveAll(d => d.Id == deal.Id);
        var key = BoardOrder(deal);
        var index = list.FindIndex(d => BoardOrder(d).CompareTo(key) > 0);
        if (index < 0) list.Add(deal);
        else list.Insert(index, deal);
    }
}
