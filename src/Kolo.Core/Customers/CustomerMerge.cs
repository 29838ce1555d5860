namespace Kolo.Core.Customers;

/// <summary>How two records of one customer become one (field rules of <see cref="CustomerService.MergeAsync"/>).</summary>
public static class CustomerMerge
{
    /// <summary>
    /// Single values: the source's when the user took it, else the target's, else the source's. Lists (e-mails,
    /// phones, addresses, consents) and custom fields: united, with the chosen side's entries first.
    /// </summary>
    public static void Combine(Customer target, Customer source, IReadOnlySet<string> take)
    {
        T? Pick<T>(string field, T? t, T? s) => take.Contains(field) ? s ?? t : t ?? s;

        if (take.Contains(CustomerFields.Kind)) target.Kind = source.Kind;
        target.FirstName = Pick(CustomerFields.FirstName, target.FirstName, source.FirstName);
        target.LastName = Pick(CustomerFields.LastName, target.LastName, source.LastName);
        target.CompanyName = Pick(CustomerFields.CompanyName, target.CompanyName, source.CompanyName);
        target.BirthDate = Pick(CustomerFields.BirthDate, target.BirthDate, source.BirthDate);
        target.Gender = Pick(CustomerFields.Gender, target.Gender, source.Gender);
        target.MaritalStatus = Pick(CustomerFields.MaritalStatus, target.MaritalStatus, source.MaritalStatus);
        target.HouseholdSize = Pick(CustomerFields.HouseholdSize, target.HouseholdSize, source.HouseholdSize);
        if (take.Contains(CustomerFields.AnnualIncome) ? source.AnnualIncomeMinor is not null : target.AnnualIncomeMinor is null)
            (target.AnnualIncomeMinor, target.AnnualIncomeCurrency) = (source.AnnualIncomeMinor, source.AnnualIncomeCurrency);
        target.PropertyNotes = Pick(CustomerFields.PropertyNotes, target.PropertyNotes, source.PropertyNotes);
        target.PreferredChannel = Pick(CustomerFields.PreferredChannel, target.PreferredChannel, source.PreferredChannel);
        target.PreferredLanguage = Pick(CustomerFields.PreferredLanguage, target.PreferredLanguage, source.PreferredLanguage);
        if (take.Contains(CustomerFields.Status)) target.Status = source.Status;
        target.Source = Pick(CustomerFields.Source, target.Source, source.Source);
        if (take.Contains(CustomerFields.AcquisitionCost) ? source.AcquisitionCostMinor is not null : target.AcquisitionCostMinor is null)
            (target.AcquisitionCostMinor, target.AcquisitionCostCurrency) = (source.AcquisitionCostMinor, source.AcquisitionCostCurrency);
        target.OwnerId = Pick(CustomerFields.OwnerId, target.OwnerId, source.OwnerId);

        target.Emails = Unite(CustomerFields.Emails, target.Emails, source.Emails, e => e.Address);
        target.Phones = Unite(CustomerFields.Phones, target.Phones, source.Phones, p => p.Number);
        target.Addresses = Unite(CustomerFields.Addresses, target.Addresses, source.Addresses,
            a => $"{a.Line1}|{a.Line2}|{a.City}|{a.PostalCode}|{a.Country}".ToLowerInvariant());
        // Consent is the person's latest word on each channel, whichever record holds it (a withdrawal is never undone by a
        // merge); at the same moment, the withdrawal counts.
        target.Consents = target.Consents.Concat(source.Consents).GroupBy(c => c.Channel)
            .Select(g => CopyOf(g.OrderByDescending(c => c.At).ThenBy(c => c.Granted).First())).ToList();

        var fields = take.Contains(CustomerFields.CustomFields)
            ? new Dictionary<string, string>(target.CustomFields).Concat(source.CustomFields)
            : new Dictionary<string, string>(source.CustomFields).Concat(target.CustomFields);
        target.CustomFields = fields.GroupBy(kv => kv.Key).ToDictionary(g => g.Key, g => g.Last().Value);

        List<T> Unite<T, TKey>(string field, List<T> t, List<T> s, Func<T, TKey> key) =>
            (take.Contains(field) ? s.Concat(t) : t.Concat(s))
                .GroupBy(key).Select(g => CopyOf(g.First())).ToList();
    }

    // Owned JSON entries belong to one owner; the target gets copies of the source's.
    private static T CopyOf<T>(T item) => item switch
    {
        EmailAddress e => (T)(object)new EmailAddress { Address = e.Address, Label = e.Label },
        PhoneNumber p => (T)(object)new PhoneNumber { Number = p.Number, Label = p.Label },
        PostalAddress a => (T)(object)new PostalAddress { Label = a.Label, Line1 = a.Line1, Line2 = a.Line2, City = a.City, Region = a.Region, PostalCode = a.PostalCode, Country = a.Country },
        ChannelConsent c => (T)(object)new ChannelConsent { Channel = c.Channel, Granted = c.Granted, At = c.At, Source = c.Source },
        _ => item,
    };
}
