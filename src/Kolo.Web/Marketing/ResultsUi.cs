using System.Globalization;
using Kolo.Core.Marketing;
using Kolo.Web.Resources;
using Microsoft.Extensions.Localization;

namespace Kolo.Web.Marketing;

/// <summary>Texts the results, messages and call-list screens share (keys <c>Res_…</c>).</summary>
public static class ResultsUi
{
    public static string Status(IStringLocalizer<SharedResource> l, MessageStatus s) => l[$"Res_Status_{s}"];

    public static string Reason(IStringLocalizer<SharedResource> l, SuppressionReason r) => l[$"Res_Reason_{r}"];

    public static string Channel(IStringLocalizer<SharedResource> l, CampaignChannel? c) => c is { } v ? l[$"Res_Channel_{v}"] : "—";

    public static string Outcome(IStringLocalizer<SharedResource> l, CallOutcome o) => l[$"Res_Outcome_{o}"];

    public static string Kind(IStringLocalizer<SharedResource> l, ResponseKind k) => l[$"Res_Kind_{k}"];

    /// <summary>0.1234 → "12.3 %" in the UI's culture.</summary>
    public static string Percent(decimal rate) => (rate * 100).ToString("0.#", CultureInfo.CurrentCulture) + " %";

    /// <summary>ROI as a percentage; a dash without a control group or without cost.</summary>
    public static string Roi(decimal? roi) => roi is { } r ? Percent(r) : "—";

    public static string Money(decimal? amount, string currency) => amount is { } a ? Orders.OrderUi.MoneyText(a, currency) : "—";

    /// <summary>Statuses a response can be recorded on: the message reached the customer.</summary>
    public static bool CanRespond(CampaignMessageView m) => m.SentAt is not null || m.TaskId is not null;
}
