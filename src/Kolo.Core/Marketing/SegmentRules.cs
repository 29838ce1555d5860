using Kolo.Core.Customers;
using Kolo.Core.Data;
using Kolo.Core.Platform;

namespace Kolo.Core.Marketing;

/// <summary>The fields a segment condition can test.</summary>
public static class SegmentFields
{
    public const string Status = "status";
    public const string Tag = "tag";
}

/// <summary>Translates a rule definition into LINQ that EF turns into one SQL query on either database.</summary>
public static class SegmentRules
{
    public static IQueryable<Customer> Apply(KoloDb db, IQueryable<Customer> customers, SegmentDefinition definition, DateTime now)
    {
        if (definition.Conditions.Count == 0) return customers;
        if (definition.Match == RuleMatch.Any)
            throw new NotSupportedException("Any-match is not implemented yet.");
        foreach (var condition in definition.Conditions)
            customers = condition.Field switch
            {
                SegmentFields.Status => StatusIn(customers, condition),
                SegmentFields.Tag => customers.Where(c => c.Tags.Any(t => condition.Values.Select(Guid.Parse).Contains(t.TagId))),
                _ => throw ValidationFailedException.For("definition.conditions", $"Unknown field '{condition.Field}'."),
            };
        return customers;
    }

    private static IQueryable<Customer> StatusIn(IQueryable<Customer> customers, SegmentCondition condition)
    {
        var statuses = condition.Values.Select(v => Enum.Parse<LifecycleStatus>(v, ignoreCase: true)).ToList();
        return customers.Where(c => statuses.Contains(c.Status));
    }
}
