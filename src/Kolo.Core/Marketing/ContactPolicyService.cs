using Kolo.Core.Data;
using Kolo.Core.Platform;
using Microsoft.EntityFrameworkCore;

namespace Kolo.Core.Marketing;

public sealed class ContactPolicyInput
{
    public int PeriodDays { get; set; } = 7;
    public int MaxTotal { get; set; } = 3;
    public int? MaxEmail { get; set; }
    public int? MaxSms { get; set; }
    public int? MaxCall { get; set; }
    public int? MaxWeb { get; set; }
    /// <summary>"HH:mm" local time; both or neither.</summary>
    public string? QuietHoursStart { get; set; }
    public string? QuietHoursEnd { get; set; }
    public string? TimeZone { get; set; }
}

public sealed record ContactPolicyView(int PeriodDays, int MaxTotal, int? MaxEmail, int? MaxSms, int? MaxCall, int? MaxWeb,
    string? QuietHoursStart, string? QuietHoursEnd, string TimeZone, Guid Version);

/// <summary>The contact policy (one per installation): read by anyone who manages campaigns, changed with If-Match.</summary>
public sealed class ContactPolicyService(IDbContextFactory<KoloDb> dbFactory, TimeProvider clock)
{
    public const string EntityType = "contact-policy";

    public async Task<ContactPolicyView> GetAsync(Actor actor, CancellationToken ct = default)
    {
        CampaignService.EnsureCanManage(actor);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return View(await LoadAsync(db, ct));
    }

    /// <summary>The stored policy, or the defaults (saved on first use so its Version can guard updates).</summary>
    public static async Task<ContactPolicy> LoadAsync(KoloDb db, CancellationToken ct)
    {
        var policy = await db.ContactPolicies.FirstOrDefaultAsync(p => p.Id == ContactPolicy.SingletonId, ct);
        if (policy is not null) return policy;
        policy = new ContactPolicy();
        db.ContactPolicies.Add(policy);
        try { await db.SaveChangesAsync(ct); }
        catch (DbUpdateException)
        {
            // Another request saved the defaults first.
            db.ChangeTracker.Clear();
            policy = await db.ContactPolicies.FirstAsync(p => p.Id == ContactPolicy.SingletonId, ct);
        }
        return policy;
    }

    public async Task<ContactPolicyView> UpdateAsync(Actor actor, Guid expectedVersion, ContactPolicyInput input, CancellationToken ct = default)
    {
        CampaignService.EnsureCanManage(actor);
        var errors = new ValidationErrors();
        if (input.PeriodDays is < 1 or > 365) errors.Add("periodDays", "The period is 1 to 365 days.");
        if (input.MaxTotal is < 0 or > 1000) errors.Add("maxTotal", "The total cap is 0 to 1000.");
        foreach (var (field, value) in new[] { ("maxEmail", input.MaxEmail), ("maxSms", input.MaxSms), ("maxCall", input.MaxCall), ("maxWeb", input.MaxWeb) })
            if (value is < 0 or > 1000) errors.Add(field, "A channel cap is 0 to 1000, or empty for only the total.");
        var start = ParseTime(input.QuietHoursStart, "quietHoursStart", errors);
        var end = ParseTime(input.QuietHoursEnd, "quietHoursEnd", errors);
        if ((start is null) != (end is null)) errors.Add("quietHoursEnd", "Give both ends of the quiet hours, or neither.");
        var zone = string.IsNullOrWhiteSpace(input.TimeZone) ? "Europe/Kyiv" : input.TimeZone.Trim();
        if (!TimeZoneInfo.TryFindSystemTimeZoneById(zone, out _)) errors.Add("timeZone", "Unknown time zone; use an IANA name such as Europe/Kyiv.");
        errors.ThrowIfAny();
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var policy = await LoadAsync(db, ct);
        if (policy.Version != expectedVersion) throw new PreconditionFailedException();
        var before = Snapshot(policy);
        policy.PeriodDays = input.PeriodDays;
        policy.MaxTotal = input.MaxTotal;
        policy.MaxEmail = input.MaxEmail;
        policy.MaxSms = input.MaxSms;
        policy.MaxCall = input.MaxCall;
        policy.MaxWeb = input.MaxWeb;
        policy.QuietHoursStart = start;
        policy.QuietHoursEnd = end;
        policy.TimeZone = zone;
        var changes = Audit.Diff(before, Snapshot(policy));
        if (changes.Count > 0)
        {
            policy.Version = Guid.NewGuid();
            db.AuditEntries.Add(Audit.Entry(actor, clock.GetUtcNow().UtcDateTime, EntityType, Guid.Empty, AuditActions.Updated, changes));
            await db.SaveChangesAsync(ct);
        }
        return View(policy);
    }

    private static TimeOnly? ParseTime(string? text, string field, ValidationErrors errors)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        if (TimeOnly.TryParseExact(text.Trim(), ["HH:mm", "H:mm", "HH:mm:ss"], System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out var t)) return t;
        errors.Add(field, "Use HH:mm, e.g. 21:00.");
        return null;
    }

    private static Dictionary<string, string?> Snapshot(ContactPolicy p) => new()
    {
        ["periodDays"] = Audit.Text(p.PeriodDays), ["maxTotal"] = Audit.Text(p.MaxTotal), ["maxEmail"] = Audit.Text(p.MaxEmail),
        ["maxSms"] = Audit.Text(p.MaxSms), ["maxCall"] = Audit.Text(p.MaxCall), ["maxWeb"] = Audit.Text(p.MaxWeb),
        ["quietHours"] = p.QuietHoursStart is null ? null : $"{p.QuietHoursStart:HH\\:mm}-{p.QuietHoursEnd:HH\\:mm}", ["timeZone"] = p.TimeZone,
    };

    public static ContactPolicyView View(ContactPolicy p) => new(p.PeriodDays, p.MaxTotal, p.MaxEmail, p.MaxSms, p.MaxCall, p.MaxWeb,
        p.QuietHoursStart?.ToString("HH:mm", System.Globalization.CultureInfo.InvariantCulture),
        p.QuietHoursEnd?.ToString("HH:mm", System.Globalization.CultureInfo.InvariantCulture), p.TimeZone, p.Version);

    /// <summary>
    /// The first moment at or after <paramref name="at"/> outside the quiet hours (local time of the policy's zone). Quiet
    /// hours may wrap midnight (21:00–09:00); a local time skipped by a clock change moves to the next valid one.
    /// </summary>
    public static DateTime OutsideQuietHours(ContactPolicy policy, DateTime at)
    {
        if (policy.QuietHoursStart is not { } start || policy.QuietHoursEnd is not { } end || start == end) return at;
        if (!TimeZoneInfo.TryFindSystemTimeZoneById(policy.TimeZone, out var zone)) zone = TimeZoneInfo.Utc;
        var local = TimeZoneInfo.ConvertTimeFromUtc(DateTime.SpecifyKind(at, DateTimeKind.Utc), zone);
        var time = TimeOnly.FromDateTime(local);
        var quiet = start < end ? time >= start && time < end : time >= start || time < end;
        if (!quiet) return at;
        // The quiet hours end today, or tomorrow when they started this evening.
        var endDate = start < end || time < end ? local.Date : local.Date.AddDays(1);
        var target = endDate + end.ToTimeSpan();
        while (zone.IsInvalidTime(target)) target = target.AddMinutes(30);
        return TimeZoneInfo.ConvertTimeToUtc(DateTime.SpecifyKind(target, DateTimeKind.Unspecified), zone);
    }
}
