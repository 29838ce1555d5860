using Kolo.Core.Customers;
using Kolo.Core.Data;
using Kolo.Core.Platform;
using Microsoft.EntityFrameworkCore;

namespace Kolo.Core.Integration;

/// <summary>
/// Customers by external id: a new id creates a customer (with search terms and an audit entry, as the API does);
/// a known one gets the mapped fields, and counts as unchanged when none differ. Unmapped fields are left alone.
/// </summary>
internal sealed class CustomerBatch(ColumnMap map, Actor actor, TimeProvider clock, PhoneNormalizer phones, CustomerService customers) : BatchProcessor(map)
{
    public override bool GroupsRows => false;

    public override string? KeyOf(ImportRow row) => ImportValues.NormalizeId(Map.Text(row, "externalId"));

    public override async Task ProcessAsync(KoloDb db, List<ImportRow> rows, BatchResult result, CancellationToken ct)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        var ids = rows.Select(KeyOf).Where(k => k is not null).Distinct().ToList();
        var existing = await db.Customers.Where(c => EF.Parameter(ids).Contains(c.ExternalId)).ToDictionaryAsync(c => c.ExternalId!, StringComparer.Ordinal, ct);
        var existingIds = existing.Values.Select(c => c.Id).ToList();
        var terms = (await db.CustomerSearchTerms.Where(t => EF.Parameter(existingIds).Contains(t.CustomerId)).ToListAsync(ct)).ToLookup(t => t.CustomerId);
        foreach (var row in rows)
        {
            try
            {
                var id = KeyOf(row) ?? throw new RowRejectedException("externalId is empty.");
                if (existing.TryGetValue(id, out var customer))
                {
                    // The API refuses changes to a merged record too: the survivor holds this customer now.
                    if (customer.MergedIntoId is not null) throw new RowRejectedException("This customer was merged into another record; use that one.");
                    var before = CustomerService.Snapshot(customer);
                    Apply(customer, row, now);
                    var changes = Audit.Diff(before, CustomerService.Snapshot(customer));
                    if (changes.Count == 0) { result.Unchanged++; continue; }
                    customer.UpdatedAt = now;
                    customer.Version = Guid.NewGuid();
                    var wanted = customers.BuildSearchTerms(customer);
                    var had = terms[customer.Id].ToList();
                    db.CustomerSearchTerms.RemoveRange(had.Where(e => wanted.All(w => w.Term != e.Term)));
                    db.CustomerSearchTerms.AddRange(wanted.Where(w => had.All(e => e.Term != w.Term)));
                    db.AuditEntries.Add(Audit.Entry(actor, now, CustomerService.EntityType, customer.Id, AuditActions.Updated, changes));
                    result.Updated++;
                }
                else
                {
                    customer = new Customer { ExternalId = id, CreatedAt = now, UpdatedAt = now, Status = LifecycleStatus.Prospect };
                    if (actor.Role == UserRole.Sales) customer.OwnerId = actor.UserId;
                    Apply(customer, row, now);
                    if (customer.Kind == CustomerKind.Person && customer.FirstName is null && customer.LastName is null)
                        throw new RowRejectedException("A person needs a first or last name.");
                    if (customer.Kind == CustomerKind.Company && customer.CompanyName is null)
                        throw new RowRejectedException("A company needs companyName.");
                    result.NewRecords.Add(customer);
                    result.NewRecords.AddRange(customers.BuildSearchTerms(customer));
                    result.NewRecords.Add(Audit.Entry(actor, now, CustomerService.EntityType, customer.Id, AuditActions.Created,
                        Audit.Diff(new Dictionary<string, string?>(), CustomerService.Snapshot(customer))));
                    existing[id] = customer;
                    result.Created++;
                }
            }
            catch (RowRejectedException e) { result.Reject(row, e.Message); }
        }
    }

    public override void Validate(ImportRow row)
    {
        if (KeyOf(row) is null) throw new RowRejectedException("externalId is empty.");
        var scratch = new Customer();
        Apply(scratch, row, clock.GetUtcNow().UtcDateTime);
    }

    /// <summary>Copies the mapped fields of the row onto the customer; throws before changing anything when a value is invalid.</summary>
    private void Apply(Customer c, ImportRow row, DateTime now)
    {
        var m = Map;
        var kind = m.Text(row, "kind") is { } k ? Parse<CustomerKind>(k, "kind") : (CustomerKind?)null;
        var status = m.Text(row, "status") is { } s ? Parse<LifecycleStatus>(s, "status") : (LifecycleStatus?)null;
        var birth = m.Date(row, "birthDate");
        if (birth is { } b && (b.Year < 1900 || b > now)) throw new RowRejectedException("birthDate must be between 1900 and today.");
        List<EmailAddress>? emails = null;
        if (m.Has("email"))
        {
            emails = [];
            foreach (var address in Split(m.Text(row, "email")).Select(TextNormalizer.NormalizeEmail))
            {
                if (!EmailRule.IsValid(address)) throw new RowRejectedException($"email '{address}' is not a valid e-mail address.");
                if (emails.All(e => e.Address != address)) emails.Add(new EmailAddress { Address = address });
            }
        }
        List<PhoneNumber>? numbers = null;
        if (m.Has("phone"))
        {
            numbers = [];
            foreach (var number in Split(m.Text(row, "phone")))
            {
                if (!phones.TryNormalize(number, out var e164)) throw new RowRejectedException($"phone '{number}' is not a valid phone number.");
                if (numbers.All(p => p.Number != e164)) numbers.Add(new PhoneNumber { Number = e164 });
            }
        }

        if (kind is { } kindValue) c.Kind = kindValue;
        if (m.Has("firstName")) c.FirstName = Max(m.Text(row, "firstName"), 100);
        if (m.Has("lastName")) c.LastName = Max(m.Text(row, "lastName"), 100);
        if (m.Has("companyName")) c.CompanyName = Max(m.Text(row, "companyName"), 200);
        // Keep labels of addresses and e-mails already on the record when the value itself is the same.
        if (emails is not null) c.Emails = emails.Select(e => c.Emails.FirstOrDefault(x => x.Address == e.Address) ?? e).ToList();
        if (numbers is not null) c.Phones = numbers.Select(p => c.Phones.FirstOrDefault(x => x.Number == p.Number) ?? p).ToList();
        if (m.Has("addressLine1") || m.Has("city") || m.Has("region") || m.Has("postalCode") || m.Has("country"))
        {
            var old = c.Addresses.FirstOrDefault();
            var address = new PostalAddress
            {
                Label = old?.Label, Line1 = m.Has("addressLine1") ? m.Text(row, "addressLine1") : old?.Line1, Line2 = old?.Line2,
                City = m.Has("city") ? m.Text(row, "city") : old?.City, Region = m.Has("region") ? m.Text(row, "region") : old?.Region,
                PostalCode = m.Has("postalCode") ? m.Text(row, "postalCode") : old?.PostalCode,
                Country = m.Has("country") ? ImportValues.Country(m.Text(row, "country")) : old?.Country,
            };
            var empty = address.Line1 is null && address.City is null && address.Region is null && address.PostalCode is null && address.Country is null;
            c.Addresses = [.. empty ? [] : new[] { address }, .. c.Addresses.Skip(1)];
        }
        if (m.Has("birthDate")) c.BirthDate = birth is { } bd ? DateOnly.FromDateTime(bd) : null;
        if (status is { } statusValue) c.Status = statusValue;
        if (m.Has("source")) c.Source = Max(m.Text(row, "source"), 100);
        if (m.Has("preferredLanguage")) c.PreferredLanguage = Max(m.Text(row, "preferredLanguage")?.ToLowerInvariant(), 10);
        c.RefreshDerivedFields();
    }

    private static string[] Split(string? text) =>
        (text ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static string? Max(string? text, int length) =>
        text is null || text.Length <= length ? text : throw new RowRejectedException($"'{text[..20]}…' is longer than {length} characters.");

    private static T Parse<T>(string text, string field) where T : struct, Enum =>
        Enum.TryParse<T>(text, ignoreCase: true, out var v) && Enum.IsDefined(v) ? v
            : throw new RowRejectedException($"{field} '{text}' is not one of {string.Join(", ", Enum.GetNames<T>())}.");
}
