namespace Kolo.Core.Integration;

/// <summary>A field a file's column can be mapped to.</summary>
public sealed record ImportField(string Name, bool Required, string Description);

/// <summary>
/// What each kind of import understands: the target fields a mapping points at file columns, and the options
/// (literal values, stored in the job's mapping with a <c>$</c> prefix) that adapt a file without code.
/// </summary>
public static class ImportFields
{
    public const string OptionPrefix = "$";

    public static readonly IReadOnlyList<ImportField> Customers =
    [
        new("externalId", true, "The customer's id in the source system; re-importing matches on it."),
        new("kind", false, "Person or Company (Person when absent)."),
        new("firstName", false, ""), new("lastName", false, ""), new("companyName", false, ""),
        new("email", false, "One or more e-mail addresses separated by ';'."),
        new("phone", false, "One or more phone numbers separated by ';'."),
        new("addressLine1", false, ""), new("city", false, ""), new("region", false, ""), new("postalCode", false, ""),
        new("country", false, "ISO code or English country name."),
        new("birthDate", false, "yyyy-MM-dd, or the dateFormat option."),
        new("status", false, "Prospect, Lead, Customer or Lapsed."),
        new("source", false, ""), new("preferredLanguage", false, ""),
    ];

    public static readonly IReadOnlyList<ImportField> Products =
    [
        new("sku", true, "Stock-keeping unit; re-importing matches on it."),
        new("name", true, ""), new("category", false, ""),
        new("listPrice", true, "Decimal with a '.' separator."), new("unitCost", false, ""),
        new("currency", false, "ISO 4217 code per row; or the currency option."),
        new("active", false, "true/false, yes/no, 1/0."),
    ];

    public static readonly IReadOnlyList<ImportField> Orders =
    [
        new("externalId", false, "Order or invoice number: the lines of one order share it. Required unless the externalIdFromRow option is set."),
        new("customerExternalId", true, "The customer's external id; a customer not yet known is created."),
        new("orderedAt", true, "Date or date and time (UTC); see the dateFormat option."),
        new("sku", false, "Product SKU; a product not yet known is created. Required unless the defaultSku option is set."),
        new("description", false, "Line text, kept exactly; the new product's name."),
        new("quantity", true, "Whole number; negative on a cancellation line."),
        new("unitPrice", false, "Price per unit. Give unitPrice or lineTotal."),
        new("discount", false, "The line's discount (an amount, not per unit); with unitPrice."),
        new("lineTotal", false, "Line amount; used when there is no unitPrice."),
        new("status", false, "Quote, Confirmed (when absent), Shipped, Delivered, Cancelled, or Returned (a return, as with cancellationPrefix)."),
        new("currency", false, "ISO 4217 code per row; or the currency option."),
        new("country", false, "Goes onto a newly created customer's address."),
        new("channel", false, ""), new("paymentMethod", false, ""),
    ];

    /// <summary>Options: name → what it does. Values are literals, not column names.</summary>
    public static readonly IReadOnlyDictionary<string, string> Options = new Dictionary<string, string>
    {
        ["currency"] = "Currency of every row without a currency column, e.g. GBP.",
        ["dateFormat"] = ".NET exact date format of date columns, e.g. yyyyMMdd; ISO dates are read without it.",
        ["cancellationPrefix"] = "Orders whose number starts with this (e.g. C) are returns of the customer's purchases.",
        ["defaultSku"] = "SKU of the product every line is for when the file has no product column, e.g. CD.",
        ["customerIdPrefix"] = "Put before every customer id of an orders file, so ids of two source systems (both with a customer 17850) stay apart.",
        ["externalIdFromRow"] = "true: each row is one order whose id is derived from the row's content.",
    };

    public static IReadOnlyList<ImportField> For(ImportKind kind) => kind switch
    {
        ImportKind.Customers => Customers,
        ImportKind.Products => Products,
        _ => Orders,
    };

    /// <summary>The header as one string, to recognise a file of the same shape again.</summary>
    public static string Signature(IEnumerable<string> header) => string.Join('|', header.Select(Key));

    /// <summary>Target → column by name: equal when case, spaces and punctuation are ignored, or a known synonym.</summary>
    public static Dictionary<string, string> Suggest(ImportKind kind, IReadOnlyList<string> header)
    {
        var result = new Dictionary<string, string>();
        foreach (var field in For(kind))
        {
            var names = Synonyms.TryGetValue(field.Name, out var more) ? more.Prepend(field.Name) : [field.Name];
            var keys = names.Select(Key).ToList();
            var column = header.FirstOrDefault(h => keys.Contains(Key(h)));
            if (column is not null && !result.ContainsValue(column)) result[field.Name] = column;
        }
        return result;
    }

    private static readonly Dictionary<string, string[]> Synonyms = new()
    {
        ["externalId"] = ["id", "external id", "customer id", "order id", "order number", "invoice", "invoice no", "invoiceno"],
        ["customerExternalId"] = ["customerid", "customer", "customer no", "client id", "masterid"],
        ["orderedAt"] = ["date", "order date", "invoice date", "invoicedate", "ordered"],
        ["sku"] = ["stockcode", "stock code", "product code", "item code", "code"],
        ["description"] = ["item", "product", "product name"],
        ["quantity"] = ["qty", "cds", "units"],
        ["unitPrice"] = ["price", "unit price"],
        ["lineTotal"] = ["total", "amount", "sales", "line amount"],
        ["firstName"] = ["first name", "given name"],
        ["lastName"] = ["last name", "surname", "family name"],
        ["companyName"] = ["company", "organisation", "organization"],
        ["email"] = ["e-mail", "emails", "email address"],
        ["phone"] = ["phones", "telephone", "mobile", "phone number"],
        ["addressLine1"] = ["address", "street"],
        ["postalCode"] = ["zip", "postcode", "zip code"],
        ["listPrice"] = ["price", "list price"],
        ["unitCost"] = ["cost", "unit cost"],
        ["name"] = ["product name", "title", "description"],
    };

    private static string Key(string name) => new(name.Where(char.IsLetterOrDigit).Select(char.ToLowerInvariant).ToArray());
}
