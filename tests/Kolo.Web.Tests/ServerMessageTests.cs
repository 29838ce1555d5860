using System.Globalization;
using System.Resources;
using System.Text.RegularExpressions;
using Kolo.Core.Integration;
using Kolo.Core.Marketing;
using Kolo.Core.Platform;
using Kolo.Web.Platform;
using Kolo.Web.Resources;
using Microsoft.Extensions.Localization;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Kolo.Web.Tests;

/// <summary>The domain's validation messages (English, as the API gives them) reach the screens in the user's language.</summary>
public sealed class ServerMessageTests
{
    private static readonly IStringLocalizer L =
        new ResourceManagerStringLocalizerFactory(Options.Create(new LocalizationOptions()), NullLoggerFactory.Instance).Create(typeof(SharedResource));

    /// <summary>A real refusal of the domain: an operator the field does not take, and a segment both listed twice and excluded.</summary>
    private static ValidationFailedException SegmentRefusal()
    {
        var other = Guid.NewGuid();
        var definition = new SegmentDefinition
        {
            Conditions = [new SegmentCondition { Field = SegmentFields.City, Operator = "between", Values = ["Kyiv"] }],
            IncludeSegmentIds = [other, other],
        };
        return Assert.Throws<ValidationFailedException>(() => SegmentRules.Validate(definition, "definition").ThrowIfAny());
    }

    private static T InCulture<T>(string culture, Func<T> action)
    {
        var before = CultureInfo.CurrentUICulture;
        CultureInfo.CurrentUICulture = new CultureInfo(culture);
        try { return action(); }
        finally { CultureInfo.CurrentUICulture = before; }
    }

    [Fact]
    public void A_refusal_is_shown_in_Ukrainian_and_Russian_with_its_variable_parts_and_unchanged_in_English()
    {
        var refusal = SegmentRefusal();
        var english = refusal.Errors.ToDictionary(kv => kv.Key, kv => string.Join(" ", kv.Value));
        var operators = string.Join(", ", SegmentFields.Operators[SegmentFields.City]);
        Assert.Equal($"'city' takes the operators {operators}.", english["definition.conditions[0].operator"]);

        var uk = InCulture("uk", () => UiErrors.FieldErrors(L, refusal));
        Assert.Equal($"Для «city» доступні оператори {operators}.", uk["definition.conditions[0].operator"]);
        Assert.Equal("Сегмент указано двічі.", uk["definition.includeSegmentIds"]);

        var ru = InCulture("ru", () => UiErrors.FieldErrors(L, refusal));
        Assert.Equal($"Для «city» доступны операторы {operators}.", ru["definition.conditions[0].operator"]);
        Assert.Equal("Сегмент указан дважды.", ru["definition.includeSegmentIds"]);

        Assert.Equal(english, InCulture("en", () => UiErrors.FieldErrors(L, refusal)));
    }

    [Fact]
    public void A_message_without_a_translation_is_shown_as_the_domain_gave_it()
    {
        const string unknown = "Something no resource names (42).";
        Assert.Equal(unknown, InCulture("uk", () => UiErrors.Translate(L, unknown)));
        // A template must match the whole message, not a part of it.
        Assert.Equal("Segment 7 does not exist. Really.", InCulture("uk", () => UiErrors.Translate(L, "Segment 7 does not exist. Really.")));
        Assert.Equal("Сегмента 7 не існує.", InCulture("uk", () => UiErrors.Translate(L, "Segment 7 does not exist.")));
        // A failed import job's error: the reader's own words stay as they are inside the translated sentence.
        Assert.Equal("Файл не удалось прочитать: Bad quote at line 3.",
            InCulture("ru", () => UiErrors.Translate(L, "The file could not be read: Bad quote at line 3.")));
    }

    [Fact]
    public void Each_problem_of_an_import_mapping_is_translated_on_its_own()
    {
        var problem = Assert.Throws<ImportSetupException>(() => new ColumnMap(ImportKind.Orders,
            new Dictionary<string, string> { ["sku"] = "Artikel", ["orderedAt"] = "Date" }, ["Date", "Qty"]));
        Assert.Contains("The file has no column 'Artikel' (mapped to sku).", problem.Problems);
        Assert.Equal(string.Join(" ", problem.Problems), problem.Message);

        var uk = InCulture("uk", () => problem.Problems.Select(p => UiErrors.Translate(L, p)).ToList());
        Assert.Contains("У файлі немає стовпця «Artikel» (зіставленого з sku).", uk);
        Assert.Contains("Зіставте стовпець із полем «unitPrice» або «lineTotal».", uk);
        Assert.Equal(problem.Problems.Count, uk.Count(p => Regex.IsMatch(p, "[а-яіїєґ]")));
    }

    [Fact]
    public void Every_message_template_keeps_its_placeholders_in_every_language()
    {
        var resources = new ResourceManager(typeof(SharedResource));
        var english = resources.GetResourceSet(CultureInfo.InvariantCulture, createIfNotExists: true, tryParents: false)!;
        var templates = english.Cast<System.Collections.DictionaryEntry>().Select(e => (string)e.Key)
            .Where(name => name.Contains("{0}", StringComparison.Ordinal)).ToList();
        Assert.True(templates.Count >= 25, $"only {templates.Count} message templates");
        static string Placeholders(string text) => string.Join(",", Regex.Matches(text, @"\{\d+\}").Select(m => m.Value).Order());
        foreach (var culture in new[] { "uk", "ru" })
        {
            var set = resources.GetResourceSet(new CultureInfo(culture), createIfNotExists: true, tryParents: false)!;
            foreach (var name in templates)
            {
                var translated = set.GetString(name);
                Assert.False(translated is null, $"{culture} has no translation of \"{name}\"");
                Assert.Equal(Placeholders(name), Placeholders(translated!));
            }
        }
    }
}
