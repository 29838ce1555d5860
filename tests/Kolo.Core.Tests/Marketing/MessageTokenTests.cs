using System.Buffers.Text;
using System.Security.Cryptography;
using Kolo.Core.Marketing;

namespace Kolo.Core.Tests.Marketing;

public class MessageTokenTests
{
    private static readonly byte[] Key = RandomNumberGenerator.GetBytes(32);

    [Fact]
    public void A_token_verifies_for_its_message_and_purpose_only()
    {
        var id = Guid.CreateVersion7();
        var token = MessageTokens.Sign(Key, id, TokenPurpose.Unsubscribe);
        Assert.Equal(43, token.Length);
        Assert.True(Base64Url.IsValid(token));
        Assert.Equal(id, MessageTokens.Verify(Key, token, TokenPurpose.Unsubscribe));
        Assert.Null(MessageTokens.Verify(Key, token, TokenPurpose.Open));
        Assert.Null(MessageTokens.Verify(Key, token, TokenPurpose.Click, "https://a.example/"));
        Assert.Null(MessageTokens.Verify(RandomNumberGenerator.GetBytes(32), token, TokenPurpose.Unsubscribe));
    }

    [Fact]
    public void A_click_token_binds_the_target_url()
    {
        var id = Guid.CreateVersion7();
        var token = MessageTokens.Sign(Key, id, TokenPurpose.Click, "https://shop.example.com/a?x=1");
        Assert.Equal(id, MessageTokens.Verify(Key, token, TokenPurpose.Click, "https://shop.example.com/a?x=1"));
        Assert.Null(MessageTokens.Verify(Key, token, TokenPurpose.Click, "https://shop.example.com/a?x=2"));
        Assert.Null(MessageTokens.Verify(Key, token, TokenPurpose.Click, "https://evil.example.com/"));
        Assert.Null(MessageTokens.Verify(Key, token, TokenPurpose.Click));
    }

    [Fact]
    public void Changing_any_bit_of_a_token_breaks_it()
    {
        var id = Guid.CreateVersion7();
        var bytes = Base64Url.DecodeFromChars(MessageTokens.Sign(Key, id, TokenPurpose.Open));
        for (var i = 0; i < bytes.Length; i++)
            for (var bit = 0; bit < 8; bit++)
            {
                var altered = (byte[])bytes.Clone();
                altered[i] ^= (byte)(1 << bit);
                Assert.Null(MessageTokens.Verify(Key, Base64Url.EncodeToString(altered), TokenPurpose.Open));
            }
    }

    [Fact]
    public void Only_the_canonical_spelling_of_a_token_verifies()
    {
        var token = MessageTokens.Sign(Key, Guid.CreateVersion7(), TokenPurpose.Open);
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        var last = alphabet.IndexOf(token[^1], StringComparison.Ordinal);
        // The same 32 bytes with the last character's two unused bits set differently.
        for (var pad = 1; pad < 4; pad++)
            Assert.Null(MessageTokens.Verify(Key, token[..^1] + alphabet[(last & ~3) | ((last + pad) & 3)], TokenPurpose.Open));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("garbage")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    public void Malformed_tokens_are_refused_without_an_exception(string? token) =>
        Assert.Null(MessageTokens.Verify(Key, token, TokenPurpose.Unsubscribe));

    [Fact]
    public void Links_in_an_email_become_signed_redirects_except_Kolo_s_own()
    {
        var id = Guid.CreateVersion7();
        const string html = """<a href="https://shop.example.com/a?x=1&amp;y=2">A</a> <a href='http://b.example/'>B</a> <a href="https://kolo.test/u/abc">U</a> <a href="mailto:x@y">M</a>""";
        var tracked = CampaignSender.TrackLinks(html, "https://kolo.test", Key, id);
        var a = System.Text.RegularExpressions.Regex.Match(tracked, @"href=""https://kolo\.test/t/c/([A-Za-z0-9_-]{43})\?u=([^""]+)""");
        Assert.True(a.Success, tracked);
        Assert.Equal("https://shop.example.com/a?x=1&y=2", Uri.UnescapeDataString(a.Groups[2].Value));
        Assert.Equal(id, MessageTokens.Verify(Key, a.Groups[1].Value, TokenPurpose.Click, "https://shop.example.com/a?x=1&y=2"));
        Assert.Contains("u=http%3A%2F%2Fb.example%2F", tracked, StringComparison.Ordinal);
        Assert.Contains("href=\"https://kolo.test/u/abc\"", tracked, StringComparison.Ordinal);
        Assert.Contains("href=\"mailto:x@y\"", tracked, StringComparison.Ordinal);
    }
}
