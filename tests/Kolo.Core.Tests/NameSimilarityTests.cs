using Kolo.Core.Customers;

namespace Kolo.Core.Tests;

public class NameSimilarityTests
{
    // Reference values from Winkler (1990) and the standard Jaro-Winkler examples (prefix scale 0.1).
    [Theory]
    [InlineData("MARTHA", "MARHTA", 0.961)]
    [InlineData("DWAYNE", "DUANE", 0.840)]
    [InlineData("DIXON", "DICKSONX", 0.813)]
    [InlineData("JELLYFISH", "SMELLYFISH", 0.896)]
    [InlineData("CRATE", "TRACE", 0.733)]
    public void Jaro_Winkler_matches_published_values(string a, string b, double expected)
    {
        Assert.Equal(expected, NameSimilarity.JaroWinkler(a, b), 3);
        Assert.Equal(expected, NameSimilarity.JaroWinkler(b, a), 3);
    }

    [Fact]
    public void Jaro_Winkler_edge_cases()
    {
        Assert.Equal(1.0, NameSimilarity.JaroWinkler("", ""));
        Assert.Equal(0.0, NameSimilarity.JaroWinkler("abc", ""));
        Assert.Equal(0.0, NameSimilarity.JaroWinkler("abc", "xyz"));
        Assert.Equal(1.0, NameSimilarity.JaroWinkler("Koval", "Koval"));
    }

    [Theory]
    [InlineData("Oleksandr Koval", "Oleksander Koval")]
    [InlineData("Ivan Petrenko", "PETRENKO  Ivan")]
    [InlineData("Kateryna Shevchenko", "Katerina Shevchenko")]
    [InlineData("Олександр Коваль", "Олександр Ковал")]
    [InlineData("Zoë Nuñez", "Zoe Nunez")]
    public void Very_similar_names_match(string a, string b) => Assert.True(NameSimilarity.AreSimilar(a, b), $"{a} ~ {b}: {NameSimilarity.Score(a, b)}");

    [Theory]
    [InlineData("Olena Koval", "Mariia Koval")]
    [InlineData("Ivan Petrenko", "Ivan Sydorenko")]
    [InlineData("Anna Smith", "Hanna Smithson-Brown")]
    public void Different_names_do_not_match(string a, string b) => Assert.False(NameSimilarity.AreSimilar(a, b), $"{a} ~ {b}: {NameSimilarity.Score(a, b)}");

    [Fact]
    public void Word_order_does_not_matter() => Assert.Equal(1.0, NameSimilarity.Score("Ivan Petrenko", "petrenko ivan"));
}
