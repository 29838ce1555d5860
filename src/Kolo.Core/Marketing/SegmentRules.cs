using System.Globalization;
using System.Linq.Expressions;
using Kolo.Core.Analytics;
using Kolo.Core.Customers;
using Kolo.Core.Data;
using Kolo.Core.Orders;
using Kolo.Core.Platform;
using Kolo.Core.Timeline;
using Microsoft.EntityFrameworkCore;

namespace Kolo.Core.Marketing;

/// <summary>The fields a segment condition can test, and the operators each one takes.</summary>
public static class SegmentFields
{
    public const string Kind = "kind";
    public const string Status = "status";
    public const string Gender = "gender";
    public const string MaritalStatus = "maritalStatus";
    public const string Age = "age";
    public const string HouseholdSize = "householdSize";
    public const string AnnualIncome = "annualIncome";
    public const string City = "city";
    public const string PreferredChannel = "preferredChannel";
    public const string PreferredLanguage = "preferredLanguage";
    public const string Source = "source";
    public const string Owner = "owner";
    public const string CreatedAt = "createdAt";
    public const string Tag = "tag";
    public const string Custom = "custom";
    public const string RfmSegment = "rfmSegment";
    public const string RecencyScore = "recencyScore";
    public const string FrequencyScore = "frequencyScore";
    public const string MonetaryScore = "monetaryScore";
    public const string ProbabilityAlive = "probabilityAlive";
    public const string Clv = "clv";
    public const string BoughtProduct = "boughtProduct";
    public const string BoughtCategory = "boughtCategory";
    public const string LastPurchase = "lastPurchase";
    public const string CampaignResponse = "campaignResponse";
    public const string Sentiment = "sentiment";

    // Operators.
    public const string In = "in";
    public const string NotIn = "notIn";
    public const string Between = "between";
    public const string AnyOf = "any";
    public const string AllOf = "all";
    public const string NoneOf = "none";
    public const string EqualsTo = "equals";
    public const string NotEquals = "notEquals";
    public const string Contains = "contains";
    public const string Empty = "empty";
    public const string NotEmpty = "notEmpty";
    public const string Before = "before";
    public const string After = "after";
    public const string Opened = "opened";
    public const string Clicked = "clicked";
    public const string Responded = "responded";
    public const string Converted = "converted";
    public const string Unsubscribed = "unsubscribed";

    /// <summary>Each field with its operators, in the order the rule builder offers them.</summary>
    public static readonly IReadOnlyDictionary<string, string[]> Operators = new Dictionary<string, string[]>
    {
        [Kind] = [In, NotIn], [Status] = [In, NotIn], [Gender] = [In, NotIn], [MaritalStatus] = [In, NotIn],
        [Age] = [Between], [HouseholdSize] = [Between], [AnnualIncome] = [Between],
        [City] = [In, NotIn], [PreferredChannel] = [In, NotIn], [PreferredLanguage] = [In, NotIn], [Source] = [In, NotIn], [Owner] = [In, NotIn],
        [CreatedAt] = [Between], [Tag] = [AnyOf, AllOf, NoneOf], [Custom] = [EqualsTo, NotEquals, Contains, Empty, NotEmpty],
        [RfmSegment] = [In, NotIn], [RecencyScore] = [Between], [FrequencyScore] = [Between], [MonetaryScore] = [Between],
        [ProbabilityAlive] = [Between], [Clv] = [Between],
        [BoughtProduct] = [AnyOf, NoneOf], [BoughtCategory] = [AnyOf, NoneOf], [LastPurchase] = [Before, After],
        [CampaignResponse] = [Opened, Clicked, Responded, Converted, Unsubscribed], [Sentiment] = [In],
    };
}

/// <summary>
/// Translates a rule definition into one LINQ predicate that EF turns into a single SQL statement on either database:
/// every condition is a column test or an EXISTS over orders, scores, messages or interactions, combined with AND (Match All)
/// or OR (Match Any). Ranges are inclusive; an empty bound is open. Money ranges are in major units of the stored currency.
/// </summary>
public static class SegmentRules
{
    public static IQueryable<Customer> Apply(KoloDb db, IQueryable<Customer> customers, SegmentDefinition definition, DateTime now)
    {
        Validate(definition, "definition").ThrowIfAny();
        if (definition.Conditions.Count == 0) return customers;
        var conditions = definition.Conditions;
        var predicates = new List<Expression<Func<Customer, bool>>>();
        if (definition.Match == RuleMatch.All)
        {
            // Every score test of an All-match reads the same row: one EXISTS over customer_scores instead of one per condition.
            var tests = conditions.Where(c => c.Operator != SegmentFields.NotIn).Select(ScoreTest).OfType<Expression<Func<CustomerScore, bool>>>().ToList();
            if (tests.Count > 1)
            {
                var s = Expression.Parameter(typeof(CustomerScore), "s");
                var all = tests.Skip(1).Aggregate(new ParameterReplacer(tests[0].Parameters[0], s).Visit(tests[0].Body),
                    (acc, t) => Expression.AndAlso(acc, new ParameterReplacer(t.Parameters[0], s).Visit(t.Body)));
                predicates.Add(ScoresAny(db, Expression.Lambda<Func<CustomerScore, bool>>(all, s)));
                conditions = conditions.Where(c => c.Operator == SegmentFields.NotIn || ScoreTest(c) is null).ToList();
            }
        }
        predicates.AddRange(conditions.Select(c => Predicate(db, c, now)));
        var parameter = Expression.Parameter(typeof(Customer), "c");
        Expression body = Rebind(predicates[0], parameter);
        foreach (var p in predicates.Skip(1))
            body = definition.Match == RuleMatch.Any ? Expression.OrElse(body, Rebind(p, parameter)) : Expression.AndAlso(body, Rebind(p, parameter));
        return customers.Where(Expression.Lambda<Func<Customer, bool>>(body, parameter));
    }

    /// <summary>Every problem of a definition, named by path (<c>definition.conditions[2].values</c>).</summary>
    public static ValidationErrors Validate(SegmentDefinition definition, string path, ValidationErrors? errors = null)
    {
        errors ??= new ValidationErrors();
        for (var i = 0; i < definition.Conditions.Count; i++)
        {
            var c = definition.Conditions[i];
            var at = $"{path}.conditions[{i}]";
            if (!SegmentFields.Operators.TryGetValue(c.Field ?? "", out var operators))
            {
                errors.Add($"{at}.field", $"Unknown field '{c.Field}'.");
                continue;
            }
            if (!operators.Contains(c.Operator))
            {
                errors.Add($"{at}.operator", $"'{c.Field}' takes the operators {string.Join(", ", operators)}.");
                continue;
            }
            ValidateValues(c, $"{at}.values", at, errors);
        }
        if (definition.IncludeSegmentIds.Distinct().Count() != definition.IncludeSegmentIds.Count)
            errors.Add($"{path}.includeSegmentIds", "A segment is listed twice.");
        if (definition.IncludeSegmentIds.Intersect(definition.ExcludeSegmentIds).Any())
            errors.Add($"{path}.excludeSegmentIds", "A segment cannot be both included and excluded.");
        return errors;
    }

    private static void ValidateValues(SegmentCondition c, string valuesPath, string at, ValidationErrors errors)
    {
        var values = c.Values ?? [];
        void Need(bool ok, string message) { if (!ok) errors.Add(valuesPath, message); }
        bool EnumValues<T>() where T : struct, Enum =>
            values.Count > 0 && values.All(v => Enum.TryParse<T>(v, ignoreCase: true, out var e) && Enum.IsDefined(e) && !int.TryParse(v, out _));
        switch (c.Field)
        {
            case SegmentFields.Kind: Need(EnumValues<CustomerKind>(), $"Choose one or more of {string.Join(", ", Enum.GetNames<CustomerKind>())}."); break;
            case SegmentFields.Status: Need(EnumValues<LifecycleStatus>(), $"Choose one or more of {string.Join(", ", Enum.GetNames<LifecycleStatus>())}."); break;
            case SegmentFields.Gender: Need(EnumValues<Gender>(), $"Choose one or more of {string.Join(", ", Enum.GetNames<Gender>())}."); break;
            case SegmentFields.MaritalStatus: Need(EnumValues<MaritalStatus>(), $"Choose one or more of {string.Join(", ", Enum.GetNames<MaritalStatus>())}."); break;
            case SegmentFields.PreferredChannel: Need(EnumValues<ContactChannel>(), $"Choose one or more of {string.Join(", ", Enum.GetNames<ContactChannel>())}."); break;
            case SegmentFields.Sentiment: Need(EnumValues<Sentiment>(), $"Choose one or more of {string.Join(", ", Enum.GetNames<Sentiment>())}."); break;
            case SegmentFields.City or SegmentFields.PreferredLanguage or SegmentFields.Source or SegmentFields.RfmSegment or SegmentFields.BoughtCategory:
                Need(values.Count > 0 && values.All(v => !string.IsNullOrWhiteSpace(v)), "Give one or more values.");
                break;
            case SegmentFields.Owner or SegmentFields.Tag or SegmentFields.BoughtProduct:
                Need(values.Count > 0 && values.All(v => Guid.TryParse(v, out _)), "Give one or more ids.");
                break;
            case SegmentFields.CampaignResponse:
                Need(values.All(v => Guid.TryParse(v, out _)), "Give campaign ids, or none for any campaign.");
                break;
            case SegmentFields.Age or SegmentFields.HouseholdSize or SegmentFields.RecencyScore or SegmentFields.FrequencyScore or SegmentFields.MonetaryScore:
                // Up to 1000: ages, household sizes and 1–5 scores; a larger bound would run off the calendar for an age.
                Range(values, v => int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n is >= 0 and <= 1000, "whole numbers from 0 to 1000", valuesPath, errors);
                break;
            case SegmentFields.AnnualIncome or SegmentFields.Clv or SegmentFields.ProbabilityAlive:
                // Amounts are kept in minor units: a bound beyond a trillion would overflow them.
                Range(values, v => decimal.TryParse(v, NumberStyles.Number, CultureInfo.InvariantCulture, out var d) && Math.Abs(d) <= 1_000_000_000_000m,
                    "numbers up to 1,000,000,000,000", valuesPath, errors);
                break;
            case SegmentFields.CreatedAt:
                if (c.From is null && c.To is null) errors.Add($"{at}.from", "Give a start, an end or both.");
                break;
            case SegmentFields.LastPurchase:
                Need(values.Count == 1 && ParseDate(values[0]) is not null, "Give one date (yyyy-MM-dd).");
                break;
            case SegmentFields.Custom:
                if (string.IsNullOrWhiteSpace(c.Key) || !c.Key.All(char.IsAsciiLetterOrDigit)) errors.Add($"{at}.key", "Name the custom field by its key.");
                if (c.Operator is SegmentFields.EqualsTo or SegmentFields.NotEquals or SegmentFields.Contains)
                    Need(values.Count == 1 && values[0].Length > 0, "Give one value.");
                break;
        }
        if (c.From is { } from && c.To is { } to && from > to) errors.Add($"{at}.to", "The end is before the start.");
    }

    private static void Range(List<string> values, Func<string, bool> valid, string kind, string path, ValidationErrors errors)
    {
        if (values.Count != 2 || values.All(string.IsNullOrWhiteSpace) || values.Any(v => !string.IsNullOrWhiteSpace(v) && !valid(v)))
            errors.Add(path, $"Give [min, max] as {kind}; leave one empty for an open range.");
        else if (values.All(v => !string.IsNullOrWhiteSpace(v)) && decimal.Parse(values[0], CultureInfo.InvariantCulture) > decimal.Parse(values[1], CultureInfo.InvariantCulture))
            errors.Add(path, "The minimum is above the maximum.");
    }

    private static DateTime? ParseDate(string text) =>
        DateTime.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var d) ? d : null;

    private static decimal? Bound(SegmentCondition c, int i) =>
        c.Values.Count > i && !string.IsNullOrWhiteSpace(c.Values[i]) ? decimal.Parse(c.Values[i], CultureInfo.InvariantCulture) : null;

    private static List<T> Enums<T>(SegmentCondition c) where T : struct, Enum => c.Values.Select(v => Enum.Parse<T>(v, ignoreCase: true)).ToList();

    private static List<Guid> Ids(SegmentCondition c) => c.Values.Select(Guid.Parse).ToList();

    private static Expression<Func<Customer, bool>> Negate(Expression<Func<Customer, bool>> e, bool negate) =>
        negate ? Expression.Lambda<Func<Customer, bool>>(Expression.Not(e.Body), e.Parameters) : e;

    private static Expression<Func<Customer, bool>> Predicate(KoloDb db, SegmentCondition c, DateTime now)
    {
        var notIn = c.Operator == SegmentFields.NotIn;
        switch (c.Field)
        {
            case SegmentFields.Kind: { var v = Enums<CustomerKind>(c); return Negate(x => v.Contains(x.Kind), notIn); }
            case SegmentFields.Status: { var v = Enums<LifecycleStatus>(c); return Negate(x => v.Contains(x.Status), notIn); }
            // A customer without the value is in no list: "not in" keeps them (NOT over a NULL test would drop them). The explicit
            // "!= null" on "in" spares EF's NULL-in-list compensation (an OR that PostgreSQL cannot use an index for).
            case SegmentFields.Gender: { var v = Enums<Gender>(c).Cast<Gender?>().ToList(); return notIn ? x => x.Gender == null || !v.Contains(x.Gender) : x => x.Gender != null && v.Contains(x.Gender); }
            case SegmentFields.MaritalStatus: { var v = Enums<MaritalStatus>(c).Cast<MaritalStatus?>().ToList(); return notIn ? x => x.MaritalStatus == null || !v.Contains(x.MaritalStatus) : x => x.MaritalStatus != null && v.Contains(x.MaritalStatus); }
            case SegmentFields.PreferredChannel: { var v = Enums<ContactChannel>(c).Cast<ContactChannel?>().ToList(); return notIn ? x => x.PreferredChannel == null || !v.Contains(x.PreferredChannel) : x => x.PreferredChannel != null && v.Contains(x.PreferredChannel); }
            case SegmentFields.City:
            {
                var v = c.Values.Select(TextNormalizer.Normalize).ToList();
                return notIn ? x => x.CityKey == null || !v.Contains(x.CityKey) : x => x.CityKey != null && v.Contains(x.CityKey);
            }
            case SegmentFields.PreferredLanguage:
            {
                var v = c.Values.Select(s => s.Trim()).ToList();
                return notIn ? x => x.PreferredLanguage == null || !v.Contains(x.PreferredLanguage) : x => x.PreferredLanguage != null && v.Contains(x.PreferredLanguage);
            }
            case SegmentFields.Source:
            {
                var v = c.Values.Select(s => s.Trim()).ToList();
                return notIn ? x => x.Source == null || !v.Contains(x.Source) : x => x.Source != null && v.Contains(x.Source);
            }
            case SegmentFields.Owner:
            {
                var v = Ids(c).Cast<Guid?>().ToList();
                return notIn ? x => x.OwnerId == null || !v.Contains(x.OwnerId) : x => x.OwnerId != null && v.Contains(x.OwnerId);
            }
            case SegmentFields.Age:
            {
                // Age >= min  <=>  born on or before today minus min years; age <= max  <=>  born after today minus (max + 1) years.
                var today = DateOnly.FromDateTime(now);
                var min = Bound(c, 0);
                var max = Bound(c, 1);
                DateOnly? bornBy = min is { } a ? today.AddYears(-(int)a) : null;
                DateOnly? bornAfter = max is { } b ? today.AddYears(-(int)b - 1) : null;
                return x => x.BirthDate != null && (bornBy == null || x.BirthDate <= bornBy) && (bornAfter == null || x.BirthDate > bornAfter);
            }
            case SegmentFields.HouseholdSize:
            {
                int? min = Bound(c, 0) is { } a ? (int)a : null, max = Bound(c, 1) is { } b ? (int)b : null;
                return x => x.HouseholdSize != null && (min == null || x.HouseholdSize >= min) && (max == null || x.HouseholdSize <= max);
            }
            case SegmentFields.AnnualIncome:
            {
                long? min = Minor(Bound(c, 0)), max = Minor(Bound(c, 1));
                return x => x.AnnualIncomeMinor != null && (min == null || x.AnnualIncomeMinor >= min) && (max == null || x.AnnualIncomeMinor <= max);
            }
            case SegmentFields.CreatedAt:
            {
                var from = c.From;
                var to = c.To;
                return x => (from == null || x.CreatedAt >= from) && (to == null || x.CreatedAt <= to);
            }
            case SegmentFields.Tag:
            {
                var v = Ids(c).Distinct().ToList();
                var n = v.Count;
                return c.Operator switch
                {
                    SegmentFields.AllOf => x => db.CustomerTags.Count(t => t.CustomerId == x.Id && v.Contains(t.TagId)) == n,
                    SegmentFields.NoneOf => x => !db.CustomerTags.Any(t => t.CustomerId == x.Id && v.Contains(t.TagId)),
                    _ => x => db.CustomerTags.Any(t => t.CustomerId == x.Id && v.Contains(t.TagId)),
                };
            }
            case SegmentFields.Custom: return CustomField(db, c);
            case SegmentFields.RfmSegment or SegmentFields.RecencyScore or SegmentFields.FrequencyScore or SegmentFields.MonetaryScore
                or SegmentFields.ProbabilityAlive or SegmentFields.Clv:
                // "Not in" an RFM segment is the negation of "in": customers without scores are not in any segment.
                return Negate(ScoresAny(db, ScoreTest(c)!), notIn);
            case SegmentFields.BoughtProduct or SegmentFields.BoughtCategory:
            {
                var from = c.From;
                var to = c.To;
                var lines = Purchases(db).Where(o => (from == null || o.OrderedAt >= from) && (to == null || o.OrderedAt <= to))
                    .SelectMany(o => db.OrderLines.Where(l => l.OrderId == o.Id), (o, l) => new { o.CustomerId, l.ProductId });
                if (c.Field == SegmentFields.BoughtProduct)
                {
                    var v = Ids(c).Cast<Guid?>().ToList();
                    lines = lines.Where(l => l.ProductId != null && v.Contains(l.ProductId));
                }
                else
                {
                    var v = c.Values.Select(s => s.Trim()).ToList();
                    lines = lines.Where(l => db.Products.Any(p => p.Id == l.ProductId && p.Category != null && v.Contains(p.Category)));
                }
                return Negate(x => lines.Any(l => l.CustomerId == x.Id), c.Operator == SegmentFields.NoneOf);
            }
            case SegmentFields.LastPurchase:
            {
                var at = ParseDate(c.Values[0])!.Value;
                var purchases = Purchases(db);
                // Before: bought at some time, never on or after the date. After: bought on or after it.
                return c.Operator == SegmentFields.Before
                    ? x => purchases.Any(o => o.CustomerId == x.Id) && !purchases.Any(o => o.CustomerId == x.Id && o.OrderedAt >= at)
                    : x => purchases.Any(o => o.CustomerId == x.Id && o.OrderedAt >= at);
            }
            case SegmentFields.CampaignResponse:
            {
                var campaigns = Ids(c);
                var any = campaigns.Count == 0;
                var from = c.From;
                var to = c.To;
                var messages = db.CampaignMessages.Where(m => any || campaigns.Contains(m.CampaignId));
                messages = c.Operator switch
                {
                    SegmentFields.Opened => messages.Where(m => m.OpenedAt != null && (from == null || m.OpenedAt >= from) && (to == null || m.OpenedAt <= to)),
                    SegmentFields.Clicked => messages.Where(m => m.ClickedAt != null && (from == null || m.ClickedAt >= from) && (to == null || m.ClickedAt <= to)),
                    SegmentFields.Responded => messages.Where(m => m.RespondedAt != null && (from == null || m.RespondedAt >= from) && (to == null || m.RespondedAt <= to)),
                    SegmentFields.Converted => messages.Where(m => m.ConvertedAt != null && (from == null || m.ConvertedAt >= from) && (to == null || m.ConvertedAt <= to)),
                    _ => messages.Where(m => m.UnsubscribedAt != null && (from == null || m.UnsubscribedAt >= from) && (to == null || m.UnsubscribedAt <= to)),
                };
                return x => messages.Any(m => m.CustomerId == x.Id);
            }
            case SegmentFields.Sentiment:
            {
                var v = Enums<Sentiment>(c).Cast<Sentiment?>().ToList();
                var from = c.From;
                var to = c.To;
                return x => db.Interactions.Any(i => i.CustomerId == x.Id && i.ArchivedAt == null && i.Sentiment != null && v.Contains(i.Sentiment)
                                                     && (from == null || i.OccurredAt >= from) && (to == null || i.OccurredAt <= to));
            }
            default: throw ValidationFailedException.For("definition.conditions", $"Unknown field '{c.Field}'.");
        }
    }

    /// <summary>The test a score condition puts on the customer's score row ("in" for an RFM segment); null for other fields.</summary>
    private static Expression<Func<CustomerScore, bool>>? ScoreTest(SegmentCondition c)
    {
        switch (c.Field)
        {
            case SegmentFields.RfmSegment:
            {
                var v = c.Values.Select(s => s.Trim()).ToList();
                return s => s.Segment != null && v.Contains(s.Segment);
            }
            case SegmentFields.RecencyScore or SegmentFields.FrequencyScore or SegmentFields.MonetaryScore:
            {
                int? min = Bound(c, 0) is { } a ? (int)a : null, max = Bound(c, 1) is { } b ? (int)b : null;
                return c.Field switch
                {
                    SegmentFields.RecencyScore => s => s.RecencyScore != null && (min == null || s.RecencyScore >= min) && (max == null || s.RecencyScore <= max),
                    SegmentFields.FrequencyScore => s => s.FrequencyScore != null && (min == null || s.FrequencyScore >= min) && (max == null || s.FrequencyScore <= max),
                    _ => s => s.MonetaryScore != null && (min == null || s.MonetaryScore >= min) && (max == null || s.MonetaryScore <= max),
                };
            }
            case SegmentFields.ProbabilityAlive:
            {
                double? min = Bound(c, 0) is { } a ? (double)a : null, max = Bound(c, 1) is { } b ? (double)b : null;
                return s => s.ProbabilityAlive != null && (min == null || s.ProbabilityAlive >= min) && (max == null || s.ProbabilityAlive <= max);
            }
            case SegmentFields.Clv:
            {
                long? min = Minor(Bound(c, 0)), max = Minor(Bound(c, 1));
                return s => (min == null || s.ClvMinor >= min) && (max == null || s.ClvMinor <= max);
            }
            default: return null;
        }
    }

    /// <summary>Customers whose score row passes <paramref name="test"/>: one EXISTS over customer_scores.</summary>
    private static Expression<Func<Customer, bool>> ScoresAny(KoloDb db, Expression<Func<CustomerScore, bool>> test)
    {
        var scores = db.CustomerScores.Where(test);
        return x => scores.Any(s => s.CustomerId == x.Id);
    }

    /// <summary>Orders that are purchases: confirmed and later, not quotes, not cancelled, not returns.</summary>
    public static IQueryable<Order> Purchases(KoloDb db) =>
        db.Orders.Where(o => (o.Status == OrderStatus.Confirmed || o.Status == OrderStatus.Shipped || o.Status == OrderStatus.Delivered) && o.ReturnOfOrderId == null);

    private static long? Minor(decimal? major) => major is { } m ? (long)Math.Round(m * 100m, MidpointRounding.AwayFromZero) : null;

    /// <summary>
    /// Custom fields are one JSON text column; each engine reads a key with its own JSON function, so the test is a
    /// provider-specific SQL subquery (composed into the one statement), with the key and value as parameters.
    /// </summary>
    private static Expression<Func<Customer, bool>> CustomField(KoloDb db, SegmentCondition c)
    {
        var pg = db.Database.IsNpgsql();
        var value = pg ? "(\"CustomFields\"::jsonb ->> {0})" : "json_extract(\"CustomFields\", '$.' || {0})";
        var key = c.Key!;
        var arg = c.Values.FirstOrDefault() ?? "";
        var (test, negate) = c.Operator switch
        {
            SegmentFields.EqualsTo => ($"{value} = {{1}}", false),
            SegmentFields.NotEquals => ($"{value} = {{1}}", true),
            SegmentFields.Contains => (pg ? $"strpos(lower({value}), lower({{1}})) > 0" : $"instr(lower({value}), lower({{1}})) > 0", false),
            SegmentFields.Empty => ($"{value} IS NOT NULL AND {value} <> ''", true),
            _ => ($"{value} IS NOT NULL AND {value} <> ''", false),
        };
        // The interpolated parts are constant SQL chosen above; the key and the value go in as parameters.
#pragma warning disable EF1002
        var matching = db.Customers.FromSqlRaw($"SELECT * FROM customers WHERE {test}", key, arg).Select(x => x.Id);
#pragma warning restore EF1002
        return Negate(x => matching.Contains(x.Id), negate);
    }

    private static Expression Rebind(Expression<Func<Customer, bool>> e, ParameterExpression parameter) =>
        new ParameterReplacer(e.Parameters[0], parameter).Visit(e.Body);

    private sealed class ParameterReplacer(ParameterExpression from, ParameterExpression to) : ExpressionVisitor
    {
        protected override Expression VisitParameter(ParameterExpression node) => node == from ? to : base.VisitParameter(node);
    }
}
