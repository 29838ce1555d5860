using System.Globalization;
using Kolo.Core.Orders;
using MudBlazor;

namespace Kolo.Web.Orders;

/// <summary>How the order screens show money, statuses and dates.</summary>
public static class OrderUi
{
    /// <summary>An amount in its currency, with the user's digit grouping and the currency's own number of decimals.</summary>
    public static string MoneyText(decimal amount, string currency) =>
        $"{amount.ToString("N" + Kolo.Core.Platform.Money.MinorDigits(currency), CultureInfo.CurrentCulture)} {currency}";

    public static string MoneyText(long minor, string currency) => MoneyText(Kolo.Core.Platform.Money.FromMinor(minor, currency), currency);

    public static Color StatusColor(OrderStatus s) => s switch
    {
        OrderStatus.Quote => Color.Info,
        OrderStatus.Confirmed => Color.Primary,
        OrderStatus.Shipped => Color.Secondary,
        OrderStatus.Delivered => Color.Success,
        OrderStatus.Returned => Color.Warning,
        _ => Color.Default,
    };

    /// <summary>Not shipped yet and promised within the warning horizon: the same rule as the early warning.</summary>
    public static bool DueSoon(OrderView o, DateOnly today, int warnDays) =>
        o.Status == OrderStatus.Confirmed && o.PromisedDeliveryDate is { } d && d >= today && d <= today.AddDays(warnDays);

    public static string DateText(DateOnly? d) => d is { } v ? v.ToString("d", CultureInfo.CurrentCulture) : "—";

    /// <summary>Parses the value of an &lt;input type="date"&gt;.</summary>
    public static DateOnly? ParseDate(string? text) =>
        DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d) ? d : null;

    public static string DateInput(DateOnly? d) => d?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) ?? "";

    /// <summary>The user's today (UTC until the browser's zone is known).</summary>
    public static DateOnly Today(Kolo.Web.Platform.UserClock clock, TimeProvider time) =>
        DateOnly.FromDateTime(clock.ToLocal(time.GetUtcNow().UtcDateTime));

    /// <summary>Orders that count as revenue (not quotes, not cancellations) plus returns, which are negative.</summary>
    public static bool CountsForRevenue(OrderStatus s) => s is not (OrderStatus.Quote or OrderStatus.Cancelled);
}
