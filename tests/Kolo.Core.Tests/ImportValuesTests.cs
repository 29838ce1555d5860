using Kolo.Core.Integration;

namespace Kolo.Core.Tests;

public sealed class ImportValuesTests
{
    [Theory]
    [InlineData("17850.0", "17850")]
    [InlineData(" 17850 ", "17850")]
    [InlineData("17850.5", "17850.5")]
    [InlineData("A-17.0", "A-17.0")]
    [InlineData("", null)]
    public void Ids_written_as_floats_lose_their_zero_fraction(string input, string? expected) =>
        Assert.Equal(expected, ImportValues.NormalizeId(input));

    [Fact]
    public void Row_ids_are_stable_and_repeated_rows_get_their_occurrence()
    {
        Assert.Equal(ImportValues.RowId("4,1,19970101,2,29.33", 1), ImportValues.RowId("4,1,19970101,2,29.33", 1));
        Assert.NotEqual(ImportValues.RowId("4,1,19970101,2,29.33", 1), ImportValues.RowId("4,1,19970101,2,29.33", 2));
        Assert.NotEqual(ImportValues.RowId("4,1,19970101,2,29.33", 1), ImportValues.RowId("4,1,19970118,2,29.73", 1));
        Assert.True(ImportValues.RowId("x", 12).Length <= 40);
    }

    [Fact]
    public void Country_names_become_iso_codes_and_unknown_names_are_kept()
    {
        Assert.Equal("UA", ImportValues.Country("ua"));
        Assert.Equal("IE", ImportValues.Country("EIRE"));
        Assert.Equal("Channel Islands", ImportValues.Country("Channel Islands"));
    }

    [Fact]
    public void A_mapping_names_every_missing_piece()
    {
        var e = Assert.Throws<ImportSetupException>(() => new ColumnMap(ImportKind.Orders,
            new Dictionary<string, string> { ["customerExternalId"] = "CustomerID", ["quantity"] = "Nope" }, ["CustomerID", "Qty"]));
        Assert.Contains("no column 'Nope'", e.Message, StringComparison.Ordinal);
        Assert.Contains("orderedAt", e.Message, StringComparison.Ordinal);
        Assert.Contains("externalIdFromRow", e.Message, StringComparison.Ordinal);
        Assert.Contains("currency", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Suggested_mapping_matches_column_names_and_synonyms()
    {
        var map = ImportFields.Suggest(ImportKind.Orders, ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country"]);
        Assert.Equal("InvoiceNo", map["externalId"]);
        Assert.Equal("StockCode", map["sku"]);
        Assert.Equal("InvoiceDate", map["orderedAt"]);
        Assert.Equal("CustomerID", map["customerExternalId"]);
        Assert.Equal("UnitPrice", map["unitPrice"]);
    }
}
