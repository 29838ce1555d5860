using System.Globalization;
using Kolo.Core.Marketing;
using MudBlazor;

namespace Kolo.Web.Marketing;

/// <summary>Display helpers shared by the campaign screens.</summary>
public static class MarketingUi
{
    public static Color StatusColor(CampaignStatus status) => status switch
    {
        CampaignStatus.Draft => Color.Default,
        CampaignStatus.PendingApproval => Color.Warning,
        CampaignStatus.Approved => Color.Info,
        CampaignStatus.Running => Color.Success,
        CampaignStatus.Completed => Color.Primary,
        _ => Color.Error,
    };

    public static string Money(long minor, string currency) =>
        Kolo.Core.Platform.Money.FromMinor(minor, currency).ToString("N2", CultureInfo.CurrentCulture) + " " + currency;

    /// <summary>The suppression reasons in the order the audience build checks them.</summary>
    public static readonly string[] Reasons = ["no_address", "unsubscribed", "no_consent", "control_group", "pressure_cap", "same_address", "over_budget"];
}
