using System.Text.RegularExpressions;
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
        services.AddScoped<Kolo.Web.Tasks.ShellCounts>();
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

    /// <summary>A UTC instant as the user's wall-clock time (UTC while the zone is unknown).</summary>
    public DateTime ToLocal(DateTime utc) => Zone is { } zone
        ? TimeZoneInfo.ConvertTimeFromUtc(DateTime.SpecifyKind(utc, DateTimeKind.Utc), zone)
        : DateTime.SpecifyKind(utc, DateTimeKind.Unspecified);

    /// <summary>The user's wall-clock time as UTC. A time skipped by a daylight-saving jump moves an hour on.</summary>
    public DateTime ToUtc(DateTime local)
    {
        local = DateTime.SpecifyKind(local, DateTimeKind.Unspecified);
        if (Zone is not { } zone) return DateTime.SpecifyKind(local, DateTimeKind.Utc);
        if (zone.IsInvalidTime(local)) local = local.AddHours(1);
        return TimeZoneInfo.ConvertTimeToUtc(local, zone);
    }

    /// <summary>The start of the user's day that contains <paramref name="utcNow"/>, in UTC, and the start of the next one.</summary>
    public (DateTime TodayStart, DateTime TomorrowStart) DayBounds(DateTime utcNow)
    {
        var today = ToLocal(utcNow).Date;
        return (ToUtc(today), ToUtc(today.AddDays(1)));
    }
}

/// <summary>Turns the domain's exceptions into what a screen shows, in the user's language.</summary>
public static class UiErrors
{
    // Resources whose name is one of the domain's messages with {0}, {1} … where the message has variable parts.
    private static (Regex Pattern, string Name)[]? _templates;

    public static Dictionary<string, string> FieldErrors(IStringLocalizer l, ValidationFailedException e) =>
        e.Errors.ToDictionary(kv => kv.Key, kv => string.Join(" ", kv.Value.Select(m => Translate(l, m))), StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// A message of the domain (English, as the API gives it) in the UI's language: the resource named by the message
    /// itself, or by its template with the variable parts put back; the message as it is when neither exists.
    /// </summary>
    public static string Translate(IStringLocalizer l, string message)
    {
        if (l[message] is { ResourceNotFound: false } exact) return exact;
        _templates ??= l.GetAllStrings(includeParentCultures: true).Select(s => s.Name).Where(n => n.Contains("{0}", StringComparison.Ordinal)).Distinct()
            .Select(n => (new Regex("^" + Regex.Replace(Regex.Escape(n), @"\\\{\d+}", "(.+?)") + "$", RegexOptions.Singleline), n)).ToArray();
        foreach (var (pattern, name) in _templates)
            if (pattern.Match(message) is { Success: true } m)
                return l[name, m.Groups.Values.Skip(1).Select(g => (object)g.Value).ToArray()];
        return message;
    }
}
