using Kolo.Core.Platform;
using Kolo.Web.Resources;
using Microsoft.Extensions.Localization;
using MudBlazor;

namespace Kolo.Web.Platform;

public static class UiServices
{
    /// <summary>Services the Blazor screens need beyond the API's.</summary>
    public static IServiceCollection AddKoloUi(this IServiceCollection services)
    {
        // Registered after AddMudServices, so this one wins: MudBlazor's own texts come from our resources.
        services.AddTransient<MudLocalizer, KoloMudLocalizer>();
        services.AddScoped<UserClock>();
        return services;
    }
}

/// <summary>MudBlazor's built-in texts ("Rows per page", "Close", ...) translated by SharedResource keys such as <c>MudDataGridPager_RowsPerPage</c>.</summary>
public sealed class KoloMudLocalizer(IStringLocalizer<SharedResource> localizer) : MudLocalizer
{
    public override LocalizedString this[string key] => localizer[key];

    public override LocalizedString this[string key, params object[] arguments] => localizer[key, arguments];
}

/// <summary>
/// Shows UTC times in the browser's time zone. The zone comes from a cookie the page sets with
/// Intl.DateTimeFormat on its first load; until then times are shown in UTC and say so.
/// </summary>
public sealed class UserClock
{
    public const string CookieName = "kolo.tz";

    public TimeZoneInfo? Zone { get; private set; }

    public void SetZone(string? id)
    {
        if (!string.IsNullOrWhiteSpace(id) && TimeZoneInfo.TryFindSystemTimeZoneById(id, out var zone)) Zone = zone;
    }

    public string Format(DateTime utc) => Zone is { } zone
        ? TimeZoneInfo.ConvertTimeFromUtc(DateTime.SpecifyKind(utc, DateTimeKind.Utc), zone).ToString("g")
        : utc.ToString("g") + " UTC";

    public string FormatDate(DateTime utc) => Zone is { } zone
        ? TimeZoneInfo.ConvertTimeFromUtc(DateTime.SpecifyKind(utc, DateTimeKind.Utc), zone).ToString("d")
        : utc.ToString("d");
}

/// <summary>Turns the domain's exceptions into what a screen shows.</summary>
public static class UiErrors
{
    public static Dictionary<string, string> FieldErrors(ValidationFailedException e) =>
        e.Errors.ToDictionary(kv => kv.Key, kv => string.Join(" ", kv.Value), StringComparer.OrdinalIgnoreCase);
}
