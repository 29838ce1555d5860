using System.Globalization;

namespace Kolo.Core.Customers;

/// <summary>
/// Realistic, reproducible customers (Ukrainian and English names, real city names, valid phone numbers) for the
/// demo database and the benchmarks. The same seed gives the same customers.
/// </summary>
public sealed class SampleCustomers(int seed)
{
    private static readonly string[] FemaleFirst = ["Olena", "Iryna", "Nataliia", "Oksana", "Tetiana", "Yuliia", "Anna", "Mariia", "Sofiia", "Kateryna", "Emma", "Olivia", "Charlotte", "Amelia", "Grace", "Alina", "Viktoriia", "Daryna", "Khrystyna", "Halyna"];
    private static readonly string[] MaleFirst = ["Oleksandr", "Andrii", "Serhii", "Dmytro", "Mykola", "Ivan", "Taras", "Bohdan", "Yurii", "Volodymyr", "James", "Oliver", "George", "Harry", "Jack", "Maksym", "Artem", "Vasyl", "Petro", "Roman"];
    private static readonly string[] LastNames = ["Shevchenko", "Kovalenko", "Bondarenko", "Tkachenko", "Kravchenko", "Oliinyk", "Shevchuk", "Polishchuk", "Koval", "Bondar", "Melnyk", "Lysenko", "Marchenko", "Rudenko", "Savchenko", "Petrenko", "Moroz", "Pavlenko", "Kuzmenko", "Levchenko", "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Robinson", "Wright", "Hrytsenko", "Fedorenko", "Zaiets", "Boiko", "Tkachuk", "Kushnir", "Vovk", "Ponomarenko", "Sydorenko", "Yatsenko"];
    private static readonly (string City, string Region, string Country)[] Cities = [("Kyiv", "Kyiv", "UA"), ("Lviv", "Lviv Oblast", "UA"), ("Odesa", "Odesa Oblast", "UA"), ("Kharkiv", "Kharkiv Oblast", "UA"), ("Dnipro", "Dnipropetrovsk Oblast", "UA"), ("Vinnytsia", "Vinnytsia Oblast", "UA"), ("Poltava", "Poltava Oblast", "UA"), ("Chernihiv", "Chernihiv Oblast", "UA"), ("Uzhhorod", "Zakarpattia Oblast", "UA"), ("Ivano-Frankivsk", "Ivano-Frankivsk Oblast", "UA"), ("London", "England", "GB"), ("Manchester", "England", "GB"), ("Warsaw", "Masovia", "PL"), ("Krakow", "Lesser Poland", "PL")];
    private static readonly string[] Streets = ["Khreshchatyk", "Shevchenka", "Franka", "Lesi Ukrainky", "Hrushevskoho", "Sadova", "Tsentralna", "High Street", "Station Road", "Church Lane"];
    private static readonly string[] CompanySuffix = ["LLC", "Group", "Trade", "Logistics", "Foods", "Tech", "Studio", "Agro", "Pharm", "Build"];
    private static readonly string[] CompanyStem = ["Dnipro", "Karpaty", "Sonyachna", "Zoria", "Polissia", "Stepove", "Bereh", "Kalyna", "Vezha", "Lan", "Northwind", "Bluefield", "Oakridge", "Riverside"];
    private static readonly string[] Domains = ["gmail.com", "ukr.net", "i.ua", "outlook.com", "meta.ua", "proton.me"];
    private static readonly string[] Sources = ["web", "referral", "walk-in", "fair", "campaign", "partner", "phone"];
    private static readonly string[] MobilePrefixes = ["50", "66", "67", "68", "63", "73", "93", "95", "96", "97", "98", "99"];

    private readonly Random _random = new(seed);

    public int Index { get; private set; }

    /// <summary>The next customer; <paramref name="createdAt"/> spreads creation over the past years.</summary>
    public Customer Next(DateTime now)
    {
        var r = _random;
        var n = Index++;
        var isCompany = r.NextDouble() < 0.12;
        var (city, region, country) = Cities[Skewed(Cities.Length)];
        var customer = new Customer
        {
            Kind = isCompany ? CustomerKind.Company : CustomerKind.Person,
            Status = (LifecycleStatus)Skewed(4),
            Source = Sources[r.Next(Sources.Length)],
            CreatedAt = now.AddMinutes(-r.Next(0, 60 * 24 * 365 * 4)),
            Addresses = [new PostalAddress { Label = isCompany ? "office" : "home", Line1 = $"{Streets[r.Next(Streets.Length)]} {r.Next(1, 180)}", City = city, Region = region, PostalCode = r.Next(1000, 99999).ToString("00000", CultureInfo.InvariantCulture), Country = country }],
        };
        customer.UpdatedAt = customer.CreatedAt;
        string local;
        if (isCompany)
        {
            customer.CompanyName = $"{CompanyStem[r.Next(CompanyStem.Length)]} {CompanySuffix[r.Next(CompanySuffix.Length)]} {n}";
            local = $"info{n}";
        }
        else
        {
            var female = r.NextDouble() < 0.52;
            customer.FirstName = female ? FemaleFirst[r.Next(FemaleFirst.Length)] : MaleFirst[r.Next(MaleFirst.Length)];
            customer.LastName = LastNames[Skewed(LastNames.Length)];
            customer.Gender = female ? Gender.Female : Gender.Male;
            customer.BirthDate = DateOnly.FromDateTime(now).AddDays(-r.Next(18 * 365, 85 * 365));
            customer.MaritalStatus = (MaritalStatus)r.Next(5);
            customer.HouseholdSize = r.Next(1, 6);
            if (r.NextDouble() < 0.4) { customer.AnnualIncomeMinor = r.Next(120, 2400) * 100_000L; customer.AnnualIncomeCurrency = "UAH"; }
            local = $"{customer.FirstName}.{customer.LastName}{n}".ToLowerInvariant();
        }
        customer.Emails = [new EmailAddress { Address = $"{local}@{Domains[r.Next(Domains.Length)]}", Label = isCompany ? "work" : "personal" }];
        // Unique, valid Ukrainian mobile numbers: 7919 is coprime to 10^7, so the index maps one-to-one onto subscriber digits.
        var prefix = MobilePrefixes[n % MobilePrefixes.Length];
        var subscriber = ((n / MobilePrefixes.Length * 7919L + 1_234_567) % 10_000_000).ToString("0000000", CultureInfo.InvariantCulture);
        customer.Phones = [new PhoneNumber { Number = $"+380{prefix}{subscriber}", Label = "mobile" }];
        customer.PreferredChannel = (ContactChannel)r.Next(3);
        customer.PreferredLanguage = country == "UA" ? "uk" : "en";
        customer.Consents = [new ChannelConsent { Channel = ContactChannel.Email, Granted = r.NextDouble() < 0.7, At = customer.CreatedAt, Source = "signup form" }];
        customer.RefreshDerivedFields();
        return customer;
    }

    // Real data is skewed: a few cities, names and statuses are far more common than the rest.
    private int Skewed(int count) => Math.Min(count - 1, (int)(count * Math.Pow(_random.NextDouble(), 2)));
}
