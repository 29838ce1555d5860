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
