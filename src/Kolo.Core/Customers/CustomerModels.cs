using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using Kolo.Core.Platform;

namespace Kolo.Core.Customers;

public sealed class EmailInput
{
    [Required, EmailAddress, StringLength(254)]
    public string Address { get; set; } = "";
    [StringLength(40)]
    public string? Label { get; set; }
}

public sealed class PhoneInput
{
    [Required, StringLength(40)]
    public string Number { get; set; } = "";
    [StringLength(40)]
    public string? Label { get; set; }
}

public sealed class AddressInput
{
    [StringLength(40)] public string? Label { get; set; }
    [StringLength(200)] public string? Line1 { get; set; }
    [StringLength(200)] public string? Line2 { get; set; }
    [StringLength(100)] public string? City { get; set; }
    [StringLength(100)] public string? Region { get; set; }
    [StringLength(20)] public string? PostalCode { get; set; }
    [RegularExpression("^[A-Za-z]{2}$", ErrorMessage = "Use a two-letter ISO country code, e.g. UA.")]
    public string? Country { get; set; }
}

public sealed class ConsentInput
{
    public ContactChannel Channel { get; set; }
    public bool Granted { get; set; }
    /// <summary>When the customer said so; now when omitted.</summary>
    public DateTime? At { get; set; }
    [StringLength(100)] public string? Source { get; set; }
}

public sealed class MoneyInput
{
    [Range(0, 1_000_000_000_000)]
    public decimal Amount { get; set; }
    [Required, RegularExpression("^[A-Z]{3}$", ErrorMessage = "Use a three-letter ISO 4217 code, e.g. UAH.")]
    public string Currency { get; set; } = "";
}

/// <summary>
/// The fields a client may set on a customer. On create every field applies; on update only the fields present
/// in the request body do (JSON merge patch), so the same shape serves both.
/// </summary>
public sealed class CustomerInput
{
    public CustomerKind? Kind { get; set; }
    [StringLength(100)] public string? FirstName { get; set; }
    [StringLength(100)] public string? LastName { get; set; }
    [StringLength(200)] public string? CompanyName { get; set; }
    public List<EmailInput>? Emails { get; set; }
    public List<PhoneInput>? Phones { get; set; }
    public List<AddressInput>? Addresses { get; set; }
    public DateOnly? BirthDate { get; set; }
    public Gender? Gender { get; set; }
    public MaritalStatus? MaritalStatus { get; set; }
    [Range(1, 100)] public int? HouseholdSize { get; set; }
    public MoneyInput? AnnualIncome { get; set; }
    [StringLength(2000)] public string? PropertyNotes { get; set; }
    public ContactChannel? PreferredChannel { get; set; }
    [StringLength(10)] public string? PreferredLanguage { get; set; }
    public List<ConsentInput>? Consents { get; set; }
    public LifecycleStatus? Status { get; set; }
    [StringLength(100)] public string? Source { get; set; }
    public MoneyInput? AcquisitionCost { get; set; }
    public Guid? OwnerId { get; set; }
    public List<string>? Tags { get; set; }
    public Dictionary<string, JsonElement>? CustomFields { get; set; }
}

/// <summary>The names of <see cref="CustomerInput"/> fields, as they appear in JSON.</summary>
public static class CustomerFields
{
    public const string Kind = "kind", FirstName = "firstName", LastName = "lastName", CompanyName = "companyName",
        Emails = "emails", Phones = "phones", Addresses = "addresses", BirthDate = "birthDate", Gender = "gender",
        MaritalStatus = "maritalStatus", HouseholdSize = "householdSize", AnnualIncome = "annualIncome",
        PropertyNotes = "propertyNotes", PreferredChannel = "preferredChannel", PreferredLanguage = "preferredLanguage",
        Consents = "consents", Status = "status", Source = "source", AcquisitionCost = "acquisitionCost",
        OwnerId = "ownerId", Tags = "tags", CustomFields = "customFields";

    public static readonly IReadOnlySet<string> All = new HashSet<string>
    {
        Kind, FirstName, LastName, CompanyName, Emails, Phones, Addresses, BirthDate, Gender, MaritalStatus,
        HouseholdSize, AnnualIncome, PropertyNotes, PreferredChannel, PreferredLanguage, Consents, Status, Source,
        AcquisitionCost, OwnerId, Tags, CustomFields,
    };

    /// <summary>What Support may change: the ways to reach the customer, nothing else.</summary>
    public static readonly IReadOnlySet<string> ContactData = new HashSet<string> { Emails, Phones, Addresses, PreferredChannel };

    /// <summary>What Marketing may change.</summary>
    public static readonly IReadOnlySet<string> MarketingData = new HashSet<string> { Tags, Consents, Status, Source };
}

public sealed record CustomerDetails
{
    public Guid Id { get; init; }
    public CustomerKind Kind { get; init; }
    public string? FirstName { get; init; }
    public string? LastName { get; init; }
    public string? CompanyName { get; init; }
    public string DisplayName { get; init; } = "";
    public IReadOnlyList<EmailAddress> Emails { get; init; } = [];
    public IReadOnlyList<PhoneNumber> Phones { get; init; } = [];
    public IReadOnlyList<PostalAddress> Addresses { get; init; } = [];
    public DateOnly? BirthDate { get; init; }
    public Gender? Gender { get; init; }
    public MaritalStatus? MaritalStatus { get; init; }
    public int? HouseholdSize { get; init; }
    public MoneyAmount? AnnualIncome { get; init; }
    public string? PropertyNotes { get; init; }
    public ContactChannel? PreferredChannel { get; init; }
    public string? PreferredLanguage { get; init; }
    public IReadOnlyList<ChannelConsent> Consents { get; init; } = [];
    public LifecycleStatus Status { get; init; }
    public string? Source { get; init; }
    public MoneyAmount? AcquisitionCost { get; init; }
    public Guid? OwnerId { get; init; }
    public string? OwnerName { get; init; }
    public IReadOnlyList<string> Tags { get; init; } = [];
    public IReadOnlyDictionary<string, object?> CustomFields { get; init; } = new Dictionary<string, object?>();
    public Guid? MergedIntoId { get; init; }
    public DateTime CreatedAt { get; init; }
    public DateTime UpdatedAt { get; init; }
    public DateTime? ArchivedAt { get; init; }
    public Guid Version { get; init; }
}

public sealed record CustomerListItem(
    Guid Id, CustomerKind Kind, string DisplayName, string? Email, string? Phone, string? City,
    LifecycleStatus Status, Guid? OwnerId, string? OwnerName, IReadOnlyList<string> Tags,
    DateTime CreatedAt, DateTime UpdatedAt, DateTime? ArchivedAt,
    string? Segment = null, double? ProbabilityAlive = null, MoneyAmount? Clv = null, MoneyAmount? Margin = null);

public sealed record CustomerQuery
{
    public string? Q { get; init; }
    public LifecycleStatus? Status { get; init; }
    public string? Tag { get; init; }
    public Guid? OwnerId { get; init; }
    public string? City { get; init; }
    public DateTime? CreatedFrom { get; init; }
    public DateTime? CreatedTo { get; init; }
    /// <summary>False (the default) lists active customers; true lists archived ones only.</summary>
    public bool Archived { get; init; }
    /// <summary>RFM segment name (Champions, AtRisk, ...), from the latest analytics scores.</summary>
    public string? Segment { get; init; }
    /// <summary>P(alive) range, 0–1.</summary>
    public double? MinProbabilityAlive { get; init; }
    public double? MaxProbabilityAlive { get; init; }
    /// <summary>Predicted CLV range in minor units of the analytics currency.</summary>
    public long? MinClv { get; init; }
    public long? MaxClv { get; init; }
    /// <summary>name, createdAt, updatedAt, clv, margin; a leading '-' sorts descending. With <c>q</c> and no sort: best match first.</summary>
    public string? Sort { get; init; }
    public int Limit { get; init; } = 50;
    public string? Cursor { get; init; }
}

public sealed record DuplicateCandidate(CustomerListItem Customer, IReadOnlyList<string> Reasons);

public sealed record CustomerLinkView(Guid Id, LinkType Type, string Direction, string Relation, Guid OtherCustomerId, string OtherCustomerName, string? Note, DateTime CreatedAt);

public sealed class LinkInput
{
    [Required] public Guid? CustomerId { get; set; }
    [Required] public LinkType? Type { get; set; }
    [StringLength(500)] public string? Note { get; set; }
}

public sealed class MergeInput
{
    [Required] public Guid? SourceId { get; set; }
    /// <summary>Fields whose value comes from the source instead of the target (the merge screen's picks).</summary>
    public List<string>? TakeFromSource { get; set; }
}
