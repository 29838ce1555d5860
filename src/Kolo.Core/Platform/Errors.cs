namespace Kolo.Core.Platform;

/// <summary>Input that breaks a rule; keys are camelCase field paths such as <c>phones[0].number</c>.</summary>
public sealed class ValidationFailedException(IDictionary<string, string[]> errors)
    : Exception("One or more fields are invalid.")
{
    public IDictionary<string, string[]> Errors { get; } = errors;

    public static ValidationFailedException For(string field, string message) =>
        new(new Dictionary<string, string[]> { [field] = [message] });
}

public sealed class NotFoundException(string entity, object id) : Exception($"{entity} {id} was not found.");

public sealed class ForbiddenException(string message) : Exception(message);

/// <summary>The caller's copy is stale: someone else changed the record since it was read.</summary>
public sealed class PreconditionFailedException() : Exception("The record was changed by someone else. Reload it and try again.");

/// <summary>Collects field errors so a caller sees every problem at once, not just the first.</summary>
public sealed class ValidationErrors
{
    private readonly Dictionary<string, List<string>> _errors = [];

    public bool Any => _errors.Count > 0;

    public void Add(string field, string message)
    {
        if (!_errors.TryGetValue(field, out var list)) _errors[field] = list = [];
        list.Add(message);
    }

    public void ThrowIfAny()
    {
        if (Any) throw new ValidationFailedException(_errors.ToDictionary(e => e.Key, e => e.Value.ToArray()));
    }
}

/// <summary>One page of a keyset-paged list: pass <see cref="NextCursor"/> back to get the next page (null: no more).</summary>
public sealed record Page<T>(IReadOnlyList<T> Items, string? NextCursor);

/// <summary>A list's opaque cursor as the client sent it back: one message, and one check of a numeric key, for every list.</summary>
public static class Cursors
{
    public const string Invalid = "The cursor is not valid; use the nextCursor of a previous page.";

    public static ValidationFailedException Refused() => ValidationFailedException.For("cursor", Invalid);

    /// <summary>A cursor's numeric key (a count, a score, a time in ticks) within its range; a cursor of another sort order is a 400.</summary>
    public static long Number(string key, long min = long.MinValue, long max = long.MaxValue) =>
        long.TryParse(key, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var n) && n >= min && n <= max
            ? n : throw Refused();

    /// <summary>A cursor's key that is a UTC time in ticks.</summary>
    public static DateTime Time(string key) => new(Number(key, 0, DateTime.MaxValue.Ticks), DateTimeKind.Utc);

    /// <summary>A keyset cursor of a sorted list: the sort it continues, the last row's sort key and its id.</summary>
    public static string Encode(string sort, string key, Guid id) =>
        Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{sort}\n{key}\n{id:N}")).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>The key and id of a cursor made by <see cref="Encode"/> for this sort; anything else is a 400.</summary>
    public static (string Key, Guid Id) Decode(string cursor, string sort)
    {
        try
        {
            var b64 = cursor.Replace('-', '+').Replace('_', '/');
            var text = System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(b64 + new string('=', (4 - b64.Length % 4) % 4)));
            // The key sits between the first and the last line break: it may hold line breaks of its own (a name).
            var (first, last) = (text.IndexOf('\n', StringComparison.Ordinal), text.LastIndexOf('\n'));
            if (first >= 0 && last > first && text[..first] == sort && Guid.TryParseExact(text[(last + 1)..], "N", out var id))
                return (text[(first + 1)..last], id);
        }
        catch (FormatException) { }
        throw Refused();
    }
}
