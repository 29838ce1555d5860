using System.Collections.Concurrent;
using System.Text.Encodings.Web;
using Fluid;
using Fluid.Values;
using Kolo.Core.Analytics;
using Kolo.Core.Customers;
using Kolo.Core.Platform;

namespace Kolo.Core.Marketing;

/// <summary>What a template sees of the customer: <c>{{ customer.first_name }}</c>, <c>{{ customer.custom.vip_level }}</c>.</summary>
public sealed record TemplateCustomer(
    string FirstName, string LastName, string Name, string? Company, string? Email, string? Phone, string? City,
    string Status, string? Segment, string? Language, IReadOnlyDictionary<string, string> Custom);

/// <summary>One next-best offer: <c>{% for offer in offers %}{{ offer.name }} — {{ offer.reason }}{% endfor %}</c>.</summary>
public sealed record TemplateOffer(string Name, string Sku, string Kind, string Reason);

/// <summary>Everything one message is rendered from.</summary>
public sealed record TemplateData(
    TemplateCustomer Customer, IReadOnlyList<TemplateOffer> Offers, string CampaignName, string UnsubscribeUrl);

/// <summary>A rendered message: the subject and HTML body of an e-mail, or the text of an SMS, call script or web message.</summary>
public sealed record RenderedMessage(string? Subject, string Body);

/// <summary>
/// Campaign messages as Liquid templates (Fluid: sandboxed, only the registered model is reachable). Parsed templates are
/// cached by their text, so rendering a batch parses each template once.
/// </summary>
public static class MessageTemplates
{
    private static readonly FluidParser Parser = new();
    private static readonly ConcurrentDictionary<string, IFluidTemplate> Cache = new(StringComparer.Ordinal);
    private static readonly TemplateOptions Options = CreateOptions();

    private static TemplateOptions CreateOptions()
    {
        var options = new TemplateOptions();
        options.MemberAccessStrategy.MemberNameStrategy = MemberNameStrategies.SnakeCase;
        options.MemberAccessStrategy.Register<TemplateCustomer>();
        options.MemberAccessStrategy.Register<TemplateOffer>();
        return options;
    }

    /// <summary>Adds an error for <paramref name="field"/> when <paramref name="source"/> is not valid Liquid.</summary>
    public static void Validate(string? source, string field, ValidationErrors errors)
    {
        if (string.IsNullOrEmpty(source)) return;
        if (!Parser.TryParse(source, out _, out var error)) errors.Add(field, $"Invalid template: {error}");
    }

    /// <summary>The variant's message for a channel; null when the variant has no text for it.</summary>
    public static RenderedMessage? Render(CampaignVariant variant, CampaignChannel channel, TemplateData data)
    {
        switch (channel)
        {
            case CampaignChannel.Email when !string.IsNullOrWhiteSpace(variant.EmailBody):
                var subject = RenderText(variant.EmailSubject ?? "", data, NullEncoder.Default).Trim();
                return new RenderedMessage(subject, RenderText(variant.EmailBody, data, HtmlEncoder.Default));
            case CampaignChannel.Sms when !string.IsNullOrWhiteSpace(variant.SmsText):
                return new RenderedMessage(null, RenderText(variant.SmsText, data, NullEncoder.Default).Trim());
            case CampaignChannel.Call when !string.IsNullOrWhiteSpace(variant.CallScript):
                return new RenderedMessage(null, RenderText(variant.CallScript, data, NullEncoder.Default).Trim());
            case CampaignChannel.Web when !string.IsNullOrWhiteSpace(variant.WebMessage):
                return new RenderedMessage(null, RenderText(variant.WebMessage, data, HtmlEncoder.Default).Trim());
            default:
                return null;
        }
    }

    /// <summary>Renders one template; values are encoded with <paramref name="encoder"/> (HTML for e-mail bodies).</summary>
    public static string RenderText(string source, TemplateData data, TextEncoder encoder)
    {
        var template = Cache.Count < 10_000
            ? Cache.GetOrAdd(source, Parse)
            : Cache.TryGetValue(source, out var cached) ? cached : Parse(source);
        var context = new TemplateContext(Options);
        context.SetValue("customer", data.Customer);
        context.SetValue("offers", data.Offers);
        context.SetValue("campaign", new Dictionary<string, object> { ["name"] = data.CampaignName });
        context.SetValue("unsubscribe_url", data.UnsubscribeUrl);
        context.SetValue("custom", new ObjectValue(data.Customer.Custom));
        return template.Render(context, encoder);
    }

    private static IFluidTemplate Parse(string source) =>
        Parser.TryParse(source, out var template, out var error) ? template : throw new InvalidOperationException($"Invalid template: {error}");

    /// <summary>The template model of a customer and their stored scores (offers and segment come from the last recompute).</summary>
    public static TemplateData DataFor(Customer c, CustomerScore? score, string campaignName, string unsubscribeUrl) => new(
        new TemplateCustomer(
            c.FirstName ?? "", c.LastName ?? "", c.DisplayName, c.CompanyName,
            c.Emails.Select(e => e.Address).FirstOrDefault(), c.Phones.Select(p => p.Number).FirstOrDefault(),
            c.Addresses.Select(a => a.City).FirstOrDefault(x => !string.IsNullOrWhiteSpace(x)),
            c.Status.ToString(), score?.Segment, c.PreferredLanguage, c.CustomFields),
        (score?.Offers ?? []).Select(o => new TemplateOffer(o.Name, o.Sku, o.Kind, AnalyticsService.OfferViewOf(o).Reason)).ToList(),
        campaignName, unsubscribeUrl);
}
