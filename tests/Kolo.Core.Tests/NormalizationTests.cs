using Kolo.Core.Customers;

namespace Kolo.Core.Tests;

public class TextNormalizerTests
{
    [Theory]
    [InlineData("  Ársène   LUPIN ", "arsene lupin")]
    [InlineData("Zoë Ñúñez-Çelik", "zoe nunez-celik")]
    [InlineData("ОЛЕНА   Ковальчук", "олена ковальчук")]
    [InlineData("Марія\tТкаченко", "марія ткаченко")]
    [InlineData("", "")]
    [InlineData("   ", "")]
    [InlineData(null, "")]
    public void Normalize_lowercases_strips_accents_and_collapses_whitespace(string? input, string expected) =>
        Assert.Equal(expected, TextNormalizer.Normalize(input));

    [Theory]
    [InlineData("Їжак", "їжак")]
    [InlineData("ЙОСИП", "йосип")]
    [InlineData("Ёлка", "ёлка")]
    [InlineData("ҐАНОК", "ґанок")]
    public void Upper_and_lower_case_Cyrillic_normalise_alike(string upper, string lower) =>
        Assert.Equal(TextNormalizer.Normalize(lower), TextNormalizer.Normalize(upper));

    [Theory]
    [InlineData("O'Neil-Smith", new[] { "o", "neil", "smith" })]
    [InlineData("  Jean-Luc   Picard ", new[] { "jean", "luc", "picard" })]
    [InlineData("Олена-Марія Ковальчук", new[] { "олена", "марія", "ковальчук" })]
    [InlineData("ТОВ «Ромашка» 2000", new[] { "тов", "ромашка", "2000" })]
    [InlineData("--", new string[0])]
    public void Words_splits_on_everything_but_letters_and_digits(string input, string[] expected) =>
        Assert.Equal(expected, TextNormalizer.Words(input));

    [Fact]
    public void Email_digits_and_prefix_bounds()
    {
        Assert.Equal("ann.smith@example.com", TextNormalizer.NormalizeEmail("  Ann.Smith@Example.COM "));
        Assert.Equal("380501234567", TextNormalizer.Digits("+38 (050) 123-45-67"));
        Assert.Equal("abd", TextNormalizer.PrefixUpperBound("abc"));
        // Every string that starts with the prefix sorts below the bound, ordinally.
        Assert.True(string.CompareOrdinal("abczzzz", TextNormalizer.PrefixUpperBound("abc")) < 0);
        Assert.True(string.CompareOrdinal("abd", TextNormalizer.PrefixUpperBound("abc")) >= 0);
    }
}

public class PhoneNormalizerTests
{
    private static readonly PhoneNormalizer Ukraine = new();

    [Theory]
    [InlineData("050 123 45 67", "+380501234567")]
    [InlineData("0501234567", "+380501234567")]
    [InlineData("(050) 123-45-67", "+380501234567")]
    [InlineData("+380501234567", "+380501234567")]
    [InlineData("+38 050 123 45 67", "+380501234567")]
    [InlineData("00380501234567", "+380501234567")]
    [InlineData("044 234 56 78", "+380442345678")]
    [InlineData("+48 512 345 678", "+48512345678")]
    [InlineData("+1 (212) 555-0123", "+12125550123")]
    public void Ukrainian_default_region_gives_E164(string input, string expected)
    {
        Assert.True(Ukraine.TryNormalize(input, out var e164), input);
        Assert.Equal(expected, e164);
    }

    [Theory]
    [InlineData("12")]
    [InlineData("050 123")]
    [InlineData("+380 50 123 45 67 89")]
    [InlineData("not a number")]
    [InlineData("+999 123 456 789")]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData(null)]
    public void Invalid_numbers_are_rejected(string? input)
    {
        Assert.False(Ukraine.TryNormalize(input, out var e164));
        Assert.Equal("", e164);
    }

    [Fact]
    public void Another_default_region_reads_national_numbers_as_that_country()
    {
        var poland = new PhoneNormalizer("pl");
        Assert.Equal("PL", poland.DefaultRegion);
        Assert.True(poland.TryNormalize("512 345 678", out var pl));
        Assert.Equal("+48512345678", pl);
        // The same digits under the Ukrainian default are a Ukrainian number, not a Polish one.
        Assert.True(Ukraine.TryNormalize("512 345 678", out var ua512));
        Assert.StartsWith("+380", ua512, StringComparison.Ordinal);

        var germany = new PhoneNormalizer("DE");
        Assert.True(germany.TryNormalize("030 123456", out var de));
        Assert.Equal("+4930123456", de);
        // Numbers with a country code do not depend on the default region.
        Assert.True(germany.TryNormalize("+380501234567", out var ua));
        Assert.Equal("+380501234567", ua);
    }

    [Fact]
    public void Search_digits_are_the_international_and_national_forms()
    {
        Assert.Equal(["380501234567", "0501234567"], PhoneNormalizer.SearchDigits("+380501234567"));
        Assert.Equal(["48512345678", "512345678"], PhoneNormalizer.SearchDigits("+48512345678"));
    }
}

public class SearchWordsTests
{
    [Theory]
    [InlineData("Olena Koval", new[] { "olena", "koval" })]
    [InlineData("  KOVAL   koval ", new[] { "koval" })]
    [InlineData("Ковальчук Олена", new[] { "ковальчук", "олена" })]
    [InlineData("Room 101", new[] { "room", "101" })]
    [InlineData("12", new[] { "12" })]
    [InlineData("ann@Example", new[] { "ann@example" })]
    [InlineData("Ann.Smith", new[] { "ann.smith" })]
    [InlineData("ann_smith", new[] { "ann_smith" })]
    [InlineData("050 123", new[] { "050123" })]
    [InlineData("+38 (050) 123-45", new[] { "3805012345" })]
    [InlineData("0501234567", new[] { "0501234567" })]
    [InlineData("", new string[0])]
    [InlineData("   ", new string[0])]
    public void Search_words_pick_email_phone_or_name_terms(string q, string[] expected) =>
        Assert.Equal(expected, CustomerService.SearchWords(q));

    [Fact]
    public void Null_query_has_no_words() => Assert.Empty(CustomerService.SearchWords(null));
}
