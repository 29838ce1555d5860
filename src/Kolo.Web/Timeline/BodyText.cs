using System.Net;
using System.Text.RegularExpressions;

namespace Kolo.Web.Timeline;

/// <summary>
/// What a person types as details becomes the interaction's body. Plain text is encoded with its line breaks kept;
/// text that already is HTML is sent as it is, and the server's sanitiser removes anything active either way.
/// </summary>
public static partial class BodyText
{
    public static string? ToHtml(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        text = text.Trim();
        if (HtmlTag().IsMatch(text)) return text;
        return string.Join("<br>", text.ReplaceLineEndings("\n").Split('\n').Select(WebUtility.HtmlEncode));
    }

    /// <summary>The stored body for editing: back to plain text when it holds nothing but text and line breaks.</summary>
    public static string? ToEditable(string? html)
    {
        if (string.IsNullOrEmpty(html)) return html;
        if (OtherTag().IsMatch(html)) return html;
        return WebUtility.HtmlDecode(LineBreak().Replace(html, "\n"));
    }

    [GeneratedRegex(@"<[a-zA-Z/!]")]
    private static partial Regex HtmlTag();

    [GeneratedRegex(@"<(?!br\s*/?>)[^>]*>", RegexOptions.IgnoreCase)]
    private static partial Regex OtherTag();

    [GeneratedRegex(@"<br\s*/?>", RegexOptions.IgnoreCase)]
    private static partial Regex LineBreak();
}
