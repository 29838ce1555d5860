using System.Collections;
using System.ComponentModel.DataAnnotations;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using Kolo.Core.Platform;

namespace Kolo.Web.Platform;

/// <summary>
/// DataAnnotations checks over a request body and everything nested in it, with errors keyed by the JSON path
/// (<c>emails[1].address</c>) so clients can show each message beside its field.
/// </summary>
public static class RequestValidation
{
    public static void Validate(object? body)
    {
        if (body is null) throw ValidationFailedException.For("body", "A JSON body is required.");
        var errors = new ValidationErrors();
        Walk(body, "", errors, depth: 0);
        errors.ThrowIfAny();
    }

    /// <summary>Reads a merge-patch body: the input object plus the set of JSON fields that were actually sent.</summary>
    public static async Task<(T Input, IReadOnlySet<string> Fields)> ReadPatchAsync<T>(HttpRequest request, IReadOnlySet<string> knownFields, JsonSerializerOptions json)
        where T : new()
    {
        JsonNode? node;
        try { node = await JsonNode.ParseAsync(request.Body, cancellationToken: request.HttpContext.RequestAborted); }
        catch (JsonException) { throw ValidationFailedException.For("body", "The body is not valid JSON."); }
        if (node is not JsonObject obj) throw ValidationFailedException.For("body", "Send a JSON object with the fields to change.");
        var errors = new ValidationErrors();
        foreach (var key in obj.Select(p => p.Key).Where(k => !knownFields.Contains(k)))
            errors.Add(key, $"There is no field '{key}'.");
        errors.ThrowIfAny();
        var input = obj.Deserialize<T>(json) ?? new T();
        // Only validate what was sent: a missing field is "leave as is", not "empty".
        var all = new ValidationErrors();
        Walk(input, "", all, 0);
        try { all.ThrowIfAny(); }
        catch (ValidationFailedException e)
        {
            var sent = e.Errors.Where(kv => obj.ContainsKey(kv.Key.Split('.', '[')[0])).ToDictionary();
            if (sent.Count > 0) throw new ValidationFailedException(sent);
        }
        return (input, obj.Select(p => p.Key).ToHashSet());
    }

    private static void Walk(object value, string prefix, ValidationErrors errors, int depth)
    {
        if (depth > 8) return;
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(value, new ValidationContext(value), results, validateAllProperties: true);
        foreach (var r in results)
            foreach (var member in r.MemberNames.DefaultIfEmpty(""))
                errors.Add(Join(prefix, JsonNamingPolicy.CamelCase.ConvertName(member)), r.ErrorMessage ?? "Invalid value.");

        foreach (var property in value.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.GetIndexParameters().Length > 0 || IsSimple(property.PropertyType)) continue;
            var child = property.GetValue(value);
            var name = Join(prefix, JsonNamingPolicy.CamelCase.ConvertName(property.Name));
            if (child is IEnumerable items and not string and not IDictionary)
            {
                // A null in a list of objects (an order line, an address) would reach the code as a missing object.
                var objects = property.PropertyType.IsGenericType && property.PropertyType.GetGenericArguments() is [var element] && !IsSimple(element);
                var i = 0;
                foreach (var item in items)
                {
                    if (item is null) { if (objects) errors.Add($"{name}[{i}]", "An item of this list is null; give an object."); }
                    else if (!IsSimple(item.GetType())) Walk(item, $"{name}[{i}]", errors, depth + 1);
                    i++;
                }
            }
            else if (child is not null and not IDictionary) Walk(child, name, errors, depth + 1);
        }
    }

    private static bool IsSimple(Type t)
    {
        t = Nullable.GetUnderlyingType(t) ?? t;
        return t.IsPrimitive || t.IsEnum || t == typeof(string) || t == typeof(decimal) || t == typeof(Guid)
               || t == typeof(DateTime) || t == typeof(DateOnly) || t == typeof(DateTimeOffset) || t == typeof(JsonElement);
    }

    private static string Join(string prefix, string name) => prefix.Length == 0 ? name : name.Length == 0 ? prefix : $"{prefix}.{name}";
}

/// <summary>Query-string values that are not plain strings, parsed with a 400 that names the parameter.</summary>
public static class QueryValues
{
    /// <summary>An enum by name, any case; null when absent. Numbers are refused: the API speaks names.</summary>
    public static T? Enum<T>(string? text, string field, ValidationErrors errors, string? label = null) where T : struct, System.Enum
    {
        if (string.IsNullOrEmpty(text)) return null;
        if (System.Enum.TryParse<T>(text, ignoreCase: true, out var value) && !int.TryParse(text, out _)) return value;
        errors.Add(field, $"{label ?? char.ToUpperInvariant(field[0]) + field[1..]} is one of: {string.Join(", ", System.Enum.GetNames<T>())}.");
        return null;
    }

    /// <summary>An ISO 4217 code (any case, answered in capitals); null when absent.</summary>
    public static string? Currency(string? text, string field, ValidationErrors errors)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        var code = text.Trim().ToUpperInvariant();
        if (Kolo.Core.Platform.Money.IsCurrencyCode(code)) return code;
        errors.Add(field, "Use a three-letter ISO 4217 code, e.g. UAH.");
        return null;
    }
}

/// <summary>Concurrency tokens as strong ETags: <c>"&lt;guid&gt;"</c>.</summary>
public static class ETags
{
    public static string For(Guid version) => $"\"{version:N}\"";

    public static void Set(HttpResponse response, Guid version) => response.Headers.ETag = For(version);

    /// <summary>The version a client based its change on: 428 when If-Match is missing, 412 when it cannot match.</summary>
    public static Guid? RequiredIfMatch(HttpRequest request, out IResult? refusal)
    {
        refusal = null;
        var header = request.Headers.IfMatch.ToString();
        if (string.IsNullOrWhiteSpace(header))
        {
            refusal = Results.Problem(statusCode: 428, title: "Precondition required.",
                detail: "Send the record's ETag in an If-Match header, so a change made by someone else since you read it is not overwritten.");
            return null;
        }
        return OptionalIfMatch(request);
    }

    /// <summary>The version in If-Match, or null when there is none; a header that names no version of ours is a 412.</summary>
    public static Guid? OptionalIfMatch(HttpRequest request)
    {
        var header = request.Headers.IfMatch.ToString().Trim();
        if (header.Length == 0) return null;
        if (header.StartsWith("W/", StringComparison.Ordinal)) header = header[2..];
        return Guid.TryParse(header.Trim('"'), out var v) ? v : throw new PreconditionFailedException();
    }
}
