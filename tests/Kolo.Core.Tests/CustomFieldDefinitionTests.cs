using System.Text.Json;
using Kolo.Core.Platform;

namespace Kolo.Core.Tests;

public class CustomFieldDefinitionTests
{
    private static JsonElement Json(string json) => JsonDocument.Parse(json).RootElement.Clone();

    private static CustomFieldDefinition Field(CustomFieldType type, params string[] choices) =>
        new() { Key = "f", Label = "Field", Type = type, Choices = [.. choices] };

    [Theory]
    [InlineData(CustomFieldType.Text, "\"  Card 42 \"", "Card 42")]
    [InlineData(CustomFieldType.Text, "\"   \"", null)]
    [InlineData(CustomFieldType.Number, "1500.50", "1500.50")]
    [InlineData(CustomFieldType.Number, "-3", "-3")]
    [InlineData(CustomFieldType.Number, "\"2.5\"", "2.5")]
    [InlineData(CustomFieldType.Date, "\"2024-02-29\"", "2024-02-29")]
    [InlineData(CustomFieldType.Choice, "\"Gold\"", "Gold")]
    [InlineData(CustomFieldType.Text, "null", null)]
    [InlineData(CustomFieldType.Number, "null", null)]
    public void Valid_values_become_canonical_text(CustomFieldType type, string json, string? stored)
    {
        var (value, error) = Field(type, "Gold", "Silver").Canonicalise(Json(json));
        Assert.Null(error);
        Assert.Equal(stored, value);
    }

    [Theory]
    [InlineData(CustomFieldType.Text, "42")]
    [InlineData(CustomFieldType.Text, "true")]
    [InlineData(CustomFieldType.Number, "\"lots\"")]
    [InlineData(CustomFieldType.Number, "true")]
    [InlineData(CustomFieldType.Number, "\"1,5\"")]
    [InlineData(CustomFieldType.Date, "\"2023-02-29\"")]
    [InlineData(CustomFieldType.Date, "\"29.02.2024\"")]
    [InlineData(CustomFieldType.Date, "20240229")]
    [InlineData(CustomFieldType.Choice, "\"Platinum\"")]
    [InlineData(CustomFieldType.Choice, "\"gold\"")]
    [InlineData(CustomFieldType.Choice, "1")]
    public void Invalid_values_are_refused_with_a_message_naming_the_field(CustomFieldType type, string json)
    {
        var (value, error) = Field(type, "Gold", "Silver").Canonicalise(Json(json));
        Assert.Null(value);
        Assert.NotNull(error);
        Assert.Contains("'Field'", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Text_longer_than_1000_characters_is_refused()
    {
        var field = Field(CustomFieldType.Text);
        Assert.NotNull(field.Canonicalise(Json($"\"{new string('a', 1001)}\"")).Error);
        Assert.Equal(new string('a', 1000), field.Canonicalise(Json($"\"{new string('a', 1000)}\"")).Value);
    }

    [Fact]
    public void Choice_errors_list_the_choices()
    {
        var (_, error) = Field(CustomFieldType.Choice, "Gold", "Silver").Canonicalise(Json("\"Bronze\""));
        Assert.Contains("Gold, Silver", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Numbers_are_presented_as_numbers_and_the_rest_as_text()
    {
        Assert.Equal(1500.5m, Field(CustomFieldType.Number).Present("1500.5"));
        Assert.Equal("2024-02-29", Field(CustomFieldType.Date).Present("2024-02-29"));
    }
}
