using Kolo.Core.Platform;
using Kolo.Core.Sales;
using Kolo.Web.Resources;
using Microsoft.Extensions.Localization;
using MudBlazor;

namespace Kolo.Web.Sales;

/// <summary>Moving a deal from the board, its menu or its card: Won and Lost first ask why.</summary>
public static class DealMoves
{
    /// <summary>The moved deal, or null when the user cancelled the reason (or the deal is in that stage already).</summary>
    public static async Task<DealView?> MoveAsync(IDialogService dialogs, IStringLocalizer<SharedResource> l, DealService deals, Actor actor,
        DealView deal, StageView stage)
    {
        if (stage.Id == deal.StageId) return null;
        string? reason = null;
        if (stage.Kind != StageKind.Open)
        {
            var title = string.Format(l[stage.Kind == StageKind.Won ? "MarkWonTitle" : "MarkLostTitle"], deal.Name);
            reason = await ReasonDialog.AskAsync(dialogs, title, l[stage.Kind == StageKind.Won ? "WhyWon" : "WhyLost"]);
            if (reason is null) return null;
        }
        // From the version on screen: a card someone else has moved meanwhile (say, to Won) is not silently moved back.
        return await deals.MoveAsync(actor, deal.Id, deal.Version, new MoveInput { StageId = stage.Id, Reason = reason });
    }
}
