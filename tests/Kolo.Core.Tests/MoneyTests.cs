using Kolo.Core.Platform;

namespace Kolo.Core.Tests;

public class MoneyTests
{
    [Theory]
    [InlineData("UAH", 2)]
    [InlineData("EUR", 2)]
    [InlineData("JPY", 0)]
    [InlineData("KRW", 0)]
    [InlineData("KWD", 3)]
    [InlineData("BHD", 3)]
    public void Minor_digits_follow_ISO_4217(string currency, int digits) => Assert.Equal(digits, Money.MinorDigits(currency));

    [Theory]
    [InlineData("123.45", "UAH", 12345)]
    [InlineData("0.005", "UAH", 1)]
    [InlineData("0.004", "UAH", 0)]
    [InlineData("1000", "JPY", 1000)]
    [InlineData("1000.5", "JPY", 1001)]
    [InlineData("1.234", "KWD", 1234)]
    [InlineData("12", "KWD", 12000)]
    [InlineData("1000000000000", "UAH", 100000000000000)]
    public void Amounts_become_minor_units_and_back(string amount, string currency, long minor)
    {
        var value = decimal.Parse(amount, System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(minor, Money.ToMinor(value, currency));
        Assert.Equal(decimal.Round(value, Money.MinorDigits(currency), MidpointRounding.AwayFromZero), Money.FromMinor(minor, currency));
    }

    [Fact]
    public void Nullable_minor_amounts_become_money_only_with_a_currency()
    {
        Assert.Equal(new MoneyAmount(1.234m, "KWD"), Money.FromMinor((long?)1234, "KWD"));
        Assert.Null(Money.FromMinor(null, "UAH"));
        Assert.Null(Money.FromMinor((long?)100, null));
    }

    [Theory]
    [InlineData("UAH", true)]
    [InlineData("uah", false)]
    [InlineData("UA", false)]
    [InlineData("UAHX", false)]
    [InlineData(null, false)]
    public void Currency_codes_are_three_capital_letters(string? code, bool valid) => Assert.Equal(valid, Money.IsCurrencyCode(code));
}
