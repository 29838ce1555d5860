using Kolo.Core.Platform;
using Kolo.Core.Tasks;
using Kolo.Core.Timeline;

namespace Kolo.Core.Tests;

public class InteractionSanitizeTests
{
    [Theory]
    [InlineData("<script>alert(1)</script><b>x</b>", "<script")]
    [InlineData("<img src=x onerror=alert(1)><b>x</b>", "onerror")]
    [InlineData("<a href=\"javascript:alert(1)\">go</a><b>x</b>", "javascript:")]
    [InlineData("<a href=\"JaVaScRiPt:alert(1)\">go</a><b>x</b>", "javascript")]
    [InlineData("<iframe src=\"https://evil.example\"></iframe><b>x</b>", "<iframe")]
    [InlineData("<svg><script>alert(1)</script></svg><b>x</b>", "alert")]
    [InlineData("<div style=\"background:url(javascript:alert(1))\">y</div><b>x</b>", "javascript")]
    [InlineData("<form action=\"https://evil.example\"><input name=p></form><b>x</b>", "<form")]
    [InlineData("<input type=\"password\" name=p><button formaction=\"https://evil.example\">Sign in</button><b>x</b>", "<input")]
    [InlineData("<button formaction=\"https://evil.example\">Sign in</button><b>x</b>", "<button")]
    [InlineData("<div style=\"position:fixed;top:0;left:0;width:100%;height:100%\">Session expired: sign in at evil.example</div><b>x</b>", "position")]
    [InlineData("<div style=\"z-index:9999\">y</div><b>x</b>", "z-index")]
    public void Active_content_is_removed_and_formatting_kept(string html, string forbidden)
    {
        var clean = InteractionService.Sanitize(html);
        Assert.NotNull(clean);
        Assert.DoesNotContain(forbidden, clean, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("<b>x</b>", clean, StringComparison.Ordinal);
    }

    [Fact]
    public void A_broken_up_script_tag_does_not_reassemble()
    {
        var clean = InteractionService.Sanitize("<scr<script>ipt>alert(1)</scr</script>ipt><b>x</b>") ?? "";
        Assert.DoesNotContain("<script", clean, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Safe_markup_and_plain_text_survive()
    {
        const string Html = "<p>Hello <i>there</i></p><ul><li>one</li></ul><a href=\"https://kolo.example/x\">link</a>";
        var clean = InteractionService.Sanitize(Html)!;
        Assert.Contains("<p>Hello <i>there</i></p>", clean, StringComparison.Ordinal);
        Assert.Contains("<li>one</li>", clean, StringComparison.Ordinal);
        Assert.Contains("href=\"https://kolo.example/x\"", clean, StringComparison.Ordinal);
        Assert.Equal("Called, no answer", InteractionService.Sanitize("  Called, no answer "));
        Assert.Equal("a &lt; b", InteractionService.Sanitize("a < b"));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    public void Blank_is_no_body(string? html) => Assert.Null(InteractionService.Sanitize(html));
}

public class KeysetCursorTests
{
    [Fact]
    public void A_cursor_round_trips_its_time_and_id_exactly()
    {
        var at = new DateTime(2026, 3, 4, 5, 6, 7, DateTimeKind.Utc).AddTicks(1234567);
        var id = Guid.CreateVersion7();
        var cursor = KeysetCursor.Encode(at, id);
        // Safe in a query string without escaping.
        Assert.Matches("^[A-Za-z0-9_-]+$", cursor);
        var errors = new ValidationErrors();
        var decoded = KeysetCursor.Decode(cursor, errors);
        Assert.False(errors.Any);
        Assert.Equal((at, id), decoded);
        Assert.Equal(DateTimeKind.Utc, decoded!.Value.At.Kind);
    }

    [Theory]
    [InlineData("!!!")]
    [InlineData("abc")]
    [InlineData("MTIzNDU2")]               // "123456": no id part
    [InlineData("eDp5")]                   // "x:y"
    [InlineData("OTk5OTk5OTk5OTk5OTk5OTk5OTk6MDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDA")] // ticks out of range
    public void A_damaged_cursor_is_a_validation_error_on_cursor(string text)
    {
        var errors = new ValidationErrors();
        Assert.Null(KeysetCursor.Decode(text, errors));
        var exception = Assert.Throws<ValidationFailedException>(errors.ThrowIfAny);
        Assert.Contains("cursor", exception.Errors.Keys);
    }

    [Fact]
    public void No_cursor_means_the_first_page()
    {
        var errors = new ValidationErrors();
        Assert.Null(KeysetCursor.Decode(null, errors));
        Assert.Null(KeysetCursor.Decode("", errors));
        Assert.False(errors.Any);
    }
}

public class TaskSortKeyTests
{
    [Fact]
    public void A_task_without_due_date_sorts_after_every_dated_one()
    {
        var undated = new TaskItem().WithSortKey();
        var dated = new TaskItem { DueAt = new DateTime(9000, 1, 1, 0, 0, 0, DateTimeKind.Utc) }.WithSortKey();
        Assert.Equal(TaskItem.NoDueDate, undated.SortDueAt);
        Assert.Equal(dated.DueAt, dated.SortDueAt);
        Assert.True(dated.SortDueAt < undated.SortDueAt);
        // Clearing the due date moves the task back to the end.
        dated.DueAt = null;
        Assert.Equal(TaskItem.NoDueDate, dated.WithSortKey().SortDueAt);
    }
}
