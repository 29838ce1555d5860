namespace Kolo.Core.Customers;

public enum CustomerKind { Person, Company }

public enum LifecycleStatus { Prospect, Lead, Customer, Lapsed }

public enum Gender { Female, Male, Other }

public enum MaritalStatus { Single, Married, Partnered, Divorced, Widowed }

public enum ContactChannel { Email, Phone, Sms, Post, Messenger, Visit, Web }

public sealed class EmailAddress
{
    public string Address { get; set; } = "";
    public string? Label { get; set; }
}

public sealed class PhoneNumber
{
    /// <summary>E.164, e.g. +380501234567.</summary>
    public string Number { get; set; } = "";
    public string? Label { get; set; }
}

public sealed class PostalAddress
{
    public string? Label { get; set; }
    public string? Line1 { get; set; }
    public string? Line2 { get; set; }
    public string? City { get; set; }
    public string? Region { get; set; }
    public string? PostalCode { get; set; }
    /// <summary>ISO 3166-1 alpha-2.</summary>
    public string? Country { get; set; }
}

/// <summary>Whether the customer agreed to be contacted on a channel, and when and how that was said.</summary>
public sealed class ChannelConsent
{
    public ContactChannel Channel { get; set; }
    public bool Granted { get; set; }
    public DateTime At { get; set; }
    public string? Source { get; set; }
}

/// <summary>A person or a company: the record everything else in Kolo hangs on.</summary>
public sealed class Customer
{
    public Guid Id { get; set; } = Guid.CreateVersion7();
    public CustomerKind Kind { get; set; }
    public string? FirstName { get; set; }
    public string? LastName { get; set; }
    public string? CompanyName { get; set; }
    /// <summary>Derived from the names; stored so lists can show and sort it without recomputing.</summary>
    public string DisplayName { get; set; } = "";
    /// <summary>Lower-case, accent-free display name: the ordinal sort key of every list.</summary>
    public string SortName { get; set; } = "";
    public List<EmailAddress> Emails { get; set; } = [];
    public List<PhoneNumber> Phones { get; set; } = [];
    public List<PostalAddress> Addresses { get; set; } = [];
    /// <summary>Normalised city of the first address, for the city filter and duplicate matching.</summary>
    public string? CityKey { get; set; }
    public DateOnly? BirthDate { get; set; }
    public Gender? Gender { get; set; }
    public MaritalStatus? MaritalStatus { get; set; }
    public int? HouseholdSize { get; set; }
    public long? AnnualIncomeMinor { get; set; }
    public string? AnnualIncomeCurrency { get; set; }
    public string? PropertyNotes { get; set; }
    public ContactChannel? PreferredChannel { get; set; }
    public string? PreferredLanguage { get; set; }
    public List<ChannelConsent> Consents { get; set; } = [];
    public LifecycleStatus Status { get; set; }
    public string? Source { get; set; }
    public long? AcquisitionCostMinor { get; set; }
    public string? AcquisitionCostCurrency { get; set; }
    public Guid? OwnerId { get; set; }
    public Dictionary<string, string> CustomFields { get; set; } = [];
    public List<CustomerTag> Tags { get; set; } = [];
    public Guid? MergedIntoId { get; set; }
    /// <summary>The customer's id in the system it was imported from: re-importing it updates this record.</summary>
    public string? ExternalId { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
    public DateTime? ArchivedAt { get; set; }
    public Guid? ArchivedById { get; set; }
    /// <summary>Concurrency token: a new value on every change, sent to clients as the ETag.</summary>
    public Guid Version { get; set; } = Guid.NewGuid();

    public void RefreshDerivedFields()
    {
        DisplayName = Kind == CustomerKind.Company
            ? CompanyName?.Trim() ?? ""
            : string.Join(' ', new[] { FirstName, LastName }.Where(n => !string.IsNullOrWhiteSpace(n)).Select(n => n!.Trim()));
        SortName = TextNormalizer.Normalize(DisplayName);
        var city = Addresses.Select(a => a.City).FirstOrDefault(c => !string.IsNullOrWhiteSpace(c));
        CityKey = city is null ? null : TextNormalizer.Normalize(city);
    }
}

public sealed class Tag
{
    public Guid Id { get; set; } = Guid.CreateVersion7();
    public string Name { get; set; } = "";
    /// <summary>Normalised name: tags are unique regardless of case.</summary>
    public string NameKey { get; set; } = "";
    public string? Color { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime? ArchivedAt { get; set; }
}

public sealed class CustomerTag
{
    public Guid CustomerId { get; set; }
    public Guid TagId { get; set; }
    public Tag? Tag { get; set; }
}

public enum SearchTermKind { Name, Email, Phone }

/// <summary>
/// One searchable word of a customer (a name word, a whole e-mail, phone digits). Prefix search and duplicate
/// matching are index range scans on <see cref="Term"/>, which is fast at millions of rows on both databases.
/// </summary>
public sealed class CustomerSearchTerm
{
    public Guid CustomerId { get; set; }
    public string Term { get; set; } = "";
    public SearchTermKind Kind { get; set; }
}

public enum LinkType { Spouse, ParentOf, HouseholdMember, EmployeeOf, ReferredBy }

/// <summary>A typed, directed link: From is <see cref="Type"/> of To (e.g. From ParentOf To, From EmployeeOf To).</summary>
public sealed class CustomerLink
{
    public Guid Id { get; set; } = Guid.CreateVersion7();
    public Guid FromCustomerId { get; set; }
    public Guid ToCustomerId { get; set; }
    public LinkType Type { get; set; }
    public string? Note { get; set; }
    public DateTime CreatedAt { get; set; }
    public Guid? CreatedById { get; set; }
}
