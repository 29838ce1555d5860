using Kolo.Core.Customers;

namespace Kolo.Core.Tests;

public class CustomerMergeTests
{
    private static Customer Target() => new()
    {
        Kind = CustomerKind.Person, FirstName = "Ivan", LastName = "Koval", Status = LifecycleStatus.Customer, Source = "web",
        Emails = [new EmailAddress { Address = "ivan@work.ua", Label = "work" }],
        Phones = [new PhoneNumber { Number = "+380501234567", Label = "mobile" }],
        Addresses = [new PostalAddress { Line1 = "Khreshchatyk 1", City = "Kyiv" }],
        Consents = [new ChannelConsent { Channel = ContactChannel.Email, Granted = true }],
        CustomFields = new() { ["segment"] = "Retail", ["card"] = "T-1" },
        AnnualIncomeMinor = 100_000, AnnualIncomeCurrency = "UAH",
    };

    private static Customer Source() => new()
    {
        Kind = CustomerKind.Company, FirstName = "Ivan-Petro", LastName = null, CompanyName = "Koval LLC", Status = LifecycleStatus.Lead,
        Source = "fair", BirthDate = new DateOnly(1980, 1, 2), Gender = Gender.Male,
        Emails = [new EmailAddress { Address = "ivan@home.ua", Label = "home" }, new EmailAddress { Address = "ivan@work.ua", Label = "old" }],
        Phones = [new PhoneNumber { Number = "+380501234567", Label = "old" }, new PhoneNumber { Number = "+380671112233" }],
        Addresses = [new PostalAddress { Line1 = "KHRESHCHATYK 1", City = "KYIV" }, new PostalAddress { City = "Lviv" }],
        Consents = [new ChannelConsent { Channel = ContactChannel.Email, Granted = false }, new ChannelConsent { Channel = ContactChannel.Sms, Granted = true }],
        CustomFields = new() { ["segment"] = "VIP", ["extra"] = "S" },
        AcquisitionCostMinor = 5_000, AcquisitionCostCurrency = "EUR",
    };

    [Fact]
    public void By_default_the_target_keeps_its_values_and_fills_gaps_from_the_source()
    {
        var target = Target();
        CustomerMerge.Combine(target, Source(), new HashSet<string>());

        Assert.Equal("Ivan", target.FirstName);
        Assert.Equal("Koval", target.LastName);               // a null in the source does not erase
        Assert.Equal("Koval LLC", target.CompanyName);         // the target had none
        Assert.Equal(new DateOnly(1980, 1, 2), target.BirthDate);
        Assert.Equal(Gender.Male, target.Gender);
        Assert.Equal("web", target.Source);
        Assert.Equal(CustomerKind.Person, target.Kind);       // kind and status only when taken
        Assert.Equal(LifecycleStatus.Customer, target.Status);
        Assert.Equal((100_000L, "UAH"), (target.AnnualIncomeMinor!.Value, target.AnnualIncomeCurrency));
        Assert.Equal((5_000L, "EUR"), (target.AcquisitionCostMinor!.Value, target.AcquisitionCostCurrency));
    }

    [Fact]
    public void Lists_are_united_with_the_targets_entries_first_and_no_repeats()
    {
        var target = Target();
        var source = Source();
        CustomerMerge.Combine(target, source, new HashSet<string>());

        Assert.Equal(["ivan@work.ua", "ivan@home.ua"], target.Emails.Select(e => e.Address));
        Assert.Equal("work", target.Emails[0].Label);
        Assert.Equal(["+380501234567", "+380671112233"], target.Phones.Select(p => p.Number));
        Assert.Equal("mobile", target.Phones[0].Label);
        Assert.Equal(["Kyiv", "Lviv"], target.Addresses.Select(a => a.City));  // the same address in other case is one
        // Consents: the latest word per channel; these carry no time, so the withdrawal counts.
        Assert.Equal([(ContactChannel.Email, false), (ContactChannel.Sms, true)], target.Consents.Select(c => (c.Channel, c.Granted)));
        // The target's entries are copies: the source keeps its own objects.
        Assert.DoesNotContain(target.Emails, e => source.Emails.Contains(e));
        Assert.DoesNotContain(target.Phones, p => source.Phones.Contains(p));
    }

    [Theory]
    [InlineData(true, 2023, false, 2025, false)]   // the source's later withdrawal stands
    [InlineData(false, 2025, true, 2023, false)]   // the target's later withdrawal stands
    [InlineData(true, 2026, false, 2025, true)]    // consent given again after the withdrawal stands
    public void The_latest_consent_on_a_channel_wins_whichever_record_holds_it(bool targetGranted, int targetYear, bool sourceGranted, int sourceYear, bool expected)
    {
        var target = Target();
        target.Consents = [new ChannelConsent { Channel = ContactChannel.Email, Granted = targetGranted, At = new DateTime(targetYear, 5, 1, 0, 0, 0, DateTimeKind.Utc) }];
        var source = Source();
        source.Consents = [new ChannelConsent { Channel = ContactChannel.Email, Granted = sourceGranted, At = new DateTime(sourceYear, 5, 1, 0, 0, 0, DateTimeKind.Utc) }];
        CustomerMerge.Combine(target, source, new HashSet<string>());
        Assert.Equal(expected, Assert.Single(target.Consents).Granted);
    }

    [Fact]
    public void Custom_fields_are_united_and_the_target_wins_on_conflicts()
    {
        var target = Target();
        CustomerMerge.Combine(target, Source(), new HashSet<string>());
        Assert.Equal(new Dictionary<string, string> { ["segment"] = "Retail", ["card"] = "T-1", ["extra"] = "S" }, target.CustomFields);
    }

    [Fact]
    public void Fields_taken_from_the_source_use_the_source_value_unless_it_is_empty()
    {
        var target = Target();
        var take = new HashSet<string>
        {
            CustomerFields.FirstName, CustomerFields.LastName, CustomerFields.Kind, CustomerFields.Status, CustomerFields.Source,
            CustomerFields.Emails, CustomerFields.Consents, CustomerFields.CustomFields, CustomerFields.AnnualIncome,
        };
        CustomerMerge.Combine(target, Source(), take);

        Assert.Equal("Ivan-Petro", target.FirstName);
        Assert.Equal("Koval", target.LastName);               // taken, but the source has none: kept
        Assert.Equal(CustomerKind.Company, target.Kind);
        Assert.Equal(LifecycleStatus.Lead, target.Status);
        Assert.Equal("fair", target.Source);
        Assert.Equal(["ivan@home.ua", "ivan@work.ua"], target.Emails.Select(e => e.Address));
        Assert.Equal("old", target.Emails[1].Label);          // the chosen side's entry wins on a repeat
        Assert.Equal([(ContactChannel.Email, false), (ContactChannel.Sms, true)], target.Consents.Select(c => (c.Channel, c.Granted)));
        Assert.Equal("VIP", target.CustomFields["segment"]);
        Assert.Equal("T-1", target.CustomFields["card"]);
        Assert.Equal((100_000L, "UAH"), (target.AnnualIncomeMinor!.Value, target.AnnualIncomeCurrency)); // the source has no income
    }

    [Fact]
    public void Taking_money_from_the_source_moves_amount_and_currency_together()
    {
        var target = Target();
        var source = Source();
        source.AnnualIncomeMinor = 7_000;
        source.AnnualIncomeCurrency = "USD";
        CustomerMerge.Combine(target, source, new HashSet<string> { CustomerFields.AnnualIncome });
        Assert.Equal((7_000L, "USD"), (target.AnnualIncomeMinor!.Value, target.AnnualIncomeCurrency));
    }
}
