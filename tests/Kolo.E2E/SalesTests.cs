using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Kolo.E2E;

/// <summary>
/// Sales (issue 7) as a person uses it: move a deal across the board and watch the column totals and the forecast
/// follow, win it with a reason, create a deal through the form and read its history, log a visit on a phone with
/// next steps that become tasks, qualify a lead into a deal, and a sales rep's board that holds only their deals.
/// The API only arranges data; every check of what the UI did goes through the page.
/// </summary>
public sealed partial class SalesTests(KoloFixture kolo, ITestOutputHelper output) : UiTest(kolo, output)
{
    /// <summary>Amounts on the board and in the forecast panel are written the English way: "45,000.00 UAH".</summary>
    private static readonly CultureInfo English = CultureInfo.GetCultureInfo("en-US");

    [Fact]
    public Task The_board_shows_one_currency_at_a_time_and_switches_to_another() => InBrowserAsync(async page =>
    {
        var first = (await DefaultPipelineAsync()).Open[0];
        var customer = await NewCustomerAsync("Iryna");
        var inHryvnias = "Kettles for the cafe " + UniqueSuffix();
        var inEuros = "Espresso machine " + UniqueSuffix();
        await CreateDealAsync(inHryvnias, customer.Id, 1_000m, first.Id, Today());
        await CreateDealAsync(inEuros, customer.Id, 2_500m, first.Id, Today(), currency: "EUR");
        ILocator CardOf(string name) => Column(page, first.Name).GetByRole(AriaRole.Article, new() { Name = name, Exact = true });

        await SignInAsync(page);
        await GoToAsync(page, "/deals/board");
        // The sales currency first: euros are not added to hryvnias.
        await Expect(CardOf(inHryvnias)).ToBeVisibleAsync();
        await Expect(CardOf(inEuros)).ToHaveCountAsync(0);
        await ChooseAsync(page, "Currency", "EUR");
        await Expect(CardOf(inEuros)).ToBeVisibleAsync();
        await Expect(CardOf(inHryvnias)).ToHaveCountAsync(0);
        await Expect(page.GetByText("Totals count deals in EUR")).ToBeVisibleAsync();
    });

    [Fact]
    public Task Dragging_a_deal_to_the_next_stage_moves_the_column_totals_and_the_forecast_then_it_is_won_with_a_reason() => InBrowserAsync(async page =>
    {
        var pipeline = await DefaultPipelineAsync();
        var (first, next) = (pipeline.Open[0], pipeline.Open[1]);
        var won = pipeline.Won;
        var customer = await NewCustomerAsync("Taras");
        const decimal amount = 40_000m;
        var name = "Boiler retrofit " + UniqueSuffix();
        // Closing today puts it in this month's forecast, whose weighted pipeline the board's panel shows.
        var deal = await CreateDealAsync(name, customer.Id, amount, first.Id, Today());

        await SignInAsync(page);
        await GoToAsync(page, "/deals/board");
        await Expect(Heading(page)).ToHaveTextAsync("Pipeline");
        var card = Card(page, name);
        await Expect(Column(page, first.Name).GetByRole(AriaRole.Article, new() { Name = name, Exact = true })).ToBeVisibleAsync();

        var before = new
        {
            FirstTotal = await MoneyAsync(ColumnTotal(page, first.Name)),
            FirstWeighted = await MoneyAsync(ColumnWeighted(page, first.Name)),
            NextTotal = await MoneyAsync(ColumnTotal(page, next.Name)),
            NextWeighted = await MoneyAsync(ColumnWeighted(page, next.Name)),
            WonTotal = await MoneyAsync(ColumnTotal(page, won.Name)),
        };
        var weightedThisMonth = await WeightedThisMonthAsync();
        await ExpectForecastShowsAsync(page, weightedThisMonth);

        // Drag the card onto the next column: it moves at once, without a dialog or a reload.
        await card.DragToAsync(Column(page, next.Name));
        await Expect(Column(page, next.Name).GetByRole(AriaRole.Article, new() { Name = name, Exact = true })).ToBeVisibleAsync();
        await Expect(Column(page, first.Name).GetByRole(AriaRole.Article, new() { Name = name, Exact = true })).ToHaveCountAsync(0);
        await ExpectMoneyAsync(ColumnTotal(page, first.Name), before.FirstTotal - amount);
        await ExpectMoneyAsync(ColumnTotal(page, next.Name), before.NextTotal + amount);
        await ExpectMoneyAsync(ColumnWeighted(page, first.Name), before.FirstWeighted - amount * first.Probability / 100m);
        await ExpectMoneyAsync(ColumnWeighted(page, next.Name), before.NextWeighted + amount * next.Probability / 100m);

        // The forecast panel follows: this month's weighted pipeline grows by the amount times the rise in probability.
        var weightedAfterMove = weightedThisMonth + amount * (next.Probability - first.Probability) / 100m;
        Assert.Equal(weightedAfterMove, await WeightedThisMonthAsync());
        await ExpectForecastShowsAsync(page, weightedAfterMove);

        // Won needs a reason: the drop asks for it, and the card lands in Won once it is given.
        var reason = "Best price and a delivery date that suits them " + UniqueSuffix();
        await card.DragToAsync(Column(page, won.Name));
        var dialog = page.GetByRole(AriaRole.Dialog);
        await Expect(dialog).ToBeVisibleAsync();
        await FieldIn(dialog, "Reason").FillAsync(reason);
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Save", Exact = true }).ClickAsync();
        await Expect(dialog).ToBeHiddenAsync();
        await Expect(Column(page, won.Name).GetByRole(AriaRole.Article, new() { Name = name, Exact = true })).ToBeVisibleAsync();
        await Expect(Column(page, next.Name).GetByRole(AriaRole.Article, new() { Name = name, Exact = true })).ToHaveCountAsync(0);
        await ExpectMoneyAsync(ColumnTotal(page, next.Name), before.NextTotal);
        await ExpectMoneyAsync(ColumnTotal(page, won.Name), before.WonTotal + amount);
        // A won deal is no longer pipeline: it leaves this month's weighted forecast altogether.
        await ExpectForecastShowsAsync(page, weightedThisMonth - amount * first.Probability / 100m);

        var stored = await Kolo.GetAsync($"/api/v1/deals/{deal}");
        Assert.Equal("Won", stored.GetProperty("status").GetString());
        Assert.Equal(reason, stored.GetProperty("closeReason").GetString());
        var history = (await Kolo.GetAsync($"/api/v1/deals/{deal}/history")).EnumerateArray().Select(h => h.GetProperty("stageName").GetString()!).ToList();
        Assert.Equal(new[] { first.Name, next.Name, won.Name }, history);
    });

    [Fact]
    public Task A_deal_created_through_the_form_is_on_the_board_and_its_card_shows_the_stage_in_the_history() => InBrowserAsync(async page =>
    {
        var pipeline = await DefaultPipelineAsync();
        var first = pipeline.Open[0];
        var customer = await NewCustomerAsync("Bohdan");
        var name = "Cold room for the warehouse " + UniqueSuffix();

        await SignInAsync(page);
        await GoToAsync(page, "/deals/board");
        await Expect(Heading(page)).ToHaveTextAsync("Pipeline");
        await Control(page, "New deal").ClickAsync();
        await WaitForInteractiveAsync(page);

        await Expect(Field(page, "Name")).ToBeVisibleAsync();
        await Field(page, "Name").FillAsync(name);
        await PickCustomerAsync(page, page.Locator("body"), customer);
        await Field(page, "Amount").FillAsync("12500");
        var currency = Field(page, "Currency");
        if (string.IsNullOrEmpty(await currency.InputValueAsync())) await currency.FillAsync("UAH");
        await FillDateAsync(page, "Expected close", DateTime.Today.AddDays(30));
        await Control(page, "Save").ClickAsync();
        await Expect(Control(page, "Save")).ToBeHiddenAsync();

        // Wherever the form leaves us (the board or the new card), the board now has the deal in the first stage.
        await GoToAsync(page, "/deals/board");
        var card = Column(page, first.Name).GetByRole(AriaRole.Article, new() { Name = name, Exact = true });
        await Expect(card).ToBeVisibleAsync();
        await Expect(card).ToContainTextAsync(customer.Name);

        await OpenCardFromBoardAsync(page, card);
        await Expect(page).ToHaveURLAsync(DealUrl(), new() { Timeout = 40_000 });
        await Expect(Heading(page)).ToHaveTextAsync(name);
        var id = Guid.Parse(DealUrl().Match(page.Url).Groups[1].Value);
        await Expect(page.GetByRole(AriaRole.Link, new() { Name = customer.Name }).First).ToBeVisibleAsync();
        await Expect(page.GetByText("(default)").First).ToBeVisibleAsync();

        await page.GetByRole(AriaRole.Tab, new() { Name = "History", Exact = true }).ClickAsync();
        var row = page.GetByRole(AriaRole.Row).Filter(new() { Has = page.GetByRole(AriaRole.Cell, new() { Name = first.Name, Exact = true }) });
        await Expect(row).ToHaveCountAsync(1);

        // Stored as typed: the amount, the currency and the stage's default probability.
        var stored = await Kolo.GetAsync($"/api/v1/deals/{id}");
        Assert.Equal(name, stored.GetProperty("name").GetString());
        Assert.Equal(customer.Id, stored.GetProperty("customerId").GetGuid());
        Assert.Equal(12_500m, stored.GetProperty("amount").GetDecimal());
        Assert.Equal("UAH", stored.GetProperty("currency").GetString());
        Assert.Equal(first.Probability, stored.GetProperty("probability").GetInt32());
        Assert.Equal(JsonValueKind.Null, stored.GetProperty("probabilityOverride").ValueKind);
    });

    [Fact]
    public Task A_visit_logged_on_a_phone_with_two_next_steps_creates_two_tasks_in_My_tasks() => InBrowserAsync(async page =>
    {
        var customer = await NewCustomerAsync("Yaroslava");
        var suffix = UniqueSuffix();
        var outcome = "Agreed to a trial delivery " + suffix;
        string[] steps = ["Send the price list " + suffix, "Call about the trial order " + suffix];

        await SignInAsync(page);
        await GoToAsync(page, "/visits/new");
        await Expect(Heading(page)).ToHaveTextAsync("Log a visit");
        await ExpectNoHorizontalScrollAsync(page);

        await PickCustomerAsync(page, page.Locator("body"), customer);
        await Field(page, "Outcome").FillAsync(outcome);
        await Field(page, "Notes").FillAsync("Met the owner in the shop; they want a small first order.");
        await ChooseAsync(page, "Sentiment", "Positive");
        for (var i = 0; i < steps.Length; i++)
            await AddNextStepAsync(page, steps[i], DateTime.Today.AddDays(3 + (2 * i)));
        await ExpectNoHorizontalScrollAsync(page);

        await Control(page, "Save visit").TapAsync();
        await Expect(page.GetByText("Visit logged, 2 tasks created").First).ToBeVisibleAsync();

        // The next steps are the rep's tasks, due in a few days: "My tasks", tab "Upcoming".
        await OpenFromMenuAsync(page, "My tasks");
        await Expect(page).ToHaveURLAsync(new Regex(@"/tasks/?$"));
        await Expect(Heading(page)).ToHaveTextAsync("My tasks");
        await WaitForInteractiveAsync(page);
        await page.GetByRole(AriaRole.Tab, new() { NameRegex = new Regex(@"^\s*Upcoming\b") }).First.TapAsync();
        foreach (var step in steps)
            await Expect(page.GetByText(step).Filter(new() { Visible = true }).First).ToBeVisibleAsync();

        var tasks = await Kolo.GetAsync($"/api/v1/tasks?customer={customer.Id}");
        Assert.Equal(steps.Order(), tasks.GetProperty("items").EnumerateArray().Select(t => t.GetProperty("title").GetString()!).Order());
        var visits = await Kolo.GetAsync($"/api/v1/customers/{customer.Id}/timeline?kind=interaction&limit=5");
        var visit = Assert.Single(visits.GetProperty("items").EnumerateArray());
        Assert.Equal("Visit", visit.GetProperty("type").GetString());
        Assert.Equal(outcome, visit.GetProperty("summary").GetString());
        Assert.Equal("Positive", visit.GetProperty("sentiment").GetString());
    }, width: 390, height: 844, mobile: true);

    [Fact]
    public Task Qualifying_a_lead_lands_on_the_new_deals_card() => InBrowserAsync(async page =>
    {
        var suffix = UniqueSuffix();
        var lastName = "Lidenko" + suffix;
        var lead = await Kolo.PostAsync("/api/v1/leads", new
        {
            firstName = "Vira", lastName, companyName = "Vira's Bakery " + suffix, email = $"vira.{suffix}@example.com", phone = UniquePhone(), source = "Trade fair",
        });
        var leadId = lead.GetProperty("id").GetGuid();
        var dealName = "Ovens for the bakery " + suffix;

        await SignInAsync(page);
        await GoToAsync(page, "/leads");
        await Expect(Heading(page)).ToHaveTextAsync("Leads");
        await Field(page, "Search").PressSequentiallyAsync(lastName, new() { Delay = 40 });
        var row = page.GetByRole(AriaRole.Row).Filter(new() { HasText = lastName })
            .Or(page.GetByRole(AriaRole.Article).Filter(new() { HasText = lastName })).First;
        await Expect(row).ToBeVisibleAsync();
        await row.GetByRole(AriaRole.Button, new() { Name = "Qualify", Exact = true }).ClickAsync();

        var dialog = page.GetByRole(AriaRole.Dialog);
        await Expect(dialog).ToBeVisibleAsync();
        await FieldIn(dialog, "Deal name").FillAsync(dealName);
        await FieldIn(dialog, "Amount").FillAsync("75000");
        var currency = FieldIn(dialog, "Currency");
        if (string.IsNullOrEmpty(await currency.InputValueAsync())) await currency.FillAsync("UAH");
        await FillDateAsync(page, "Expected close", DateTime.Today.AddDays(45), dialog);
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Qualify", Exact = true }).ClickAsync();

        await Expect(page).ToHaveURLAsync(DealUrl(), new() { Timeout = 40_000 });
        await Expect(Heading(page)).ToHaveTextAsync(dealName);
        var dealId = Guid.Parse(DealUrl().Match(page.Url).Groups[1].Value);
        // The customer made from the lead is linked from the card.
        await Expect(page.GetByRole(AriaRole.Link, new() { NameRegex = new Regex(Regex.Escape(lastName)) }).First).ToBeVisibleAsync();

        var qualified = await Kolo.GetAsync($"/api/v1/leads/{leadId}");
        Assert.Equal("Qualified", qualified.GetProperty("status").GetString());
        Assert.Equal(dealId, qualified.GetProperty("dealId").GetGuid());
        var deal = await Kolo.GetAsync($"/api/v1/deals/{dealId}");
        Assert.Equal(75_000m, deal.GetProperty("amount").GetDecimal());
        Assert.Equal(qualified.GetProperty("customerId").GetGuid(), deal.GetProperty("customerId").GetGuid());
        Assert.Equal(leadId, deal.GetProperty("leadId").GetGuid());
    });

    [Fact]
    public Task A_rep_opening_an_admin_page_is_told_they_have_no_access() => InBrowserAsync(async page =>
    {
        var suffix = UniqueSuffix();
        const string password = "Sales-pass-2026";
        await CreateSalesUserAsync($"denied.{suffix}@example.com", "Denied " + suffix, password);
        await SignInAsync(page, $"denied.{suffix}@example.com", password);

        await page.GotoAsync("/admin/pipelines");
        await Expect(Heading(page)).ToHaveTextAsync("You do not have access to this page.");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Pipelines" })).ToHaveCountAsync(0);
    });

    [Fact]
    public Task A_sales_reps_board_shows_only_their_own_deals() => InBrowserAsync(async page =>
    {
        var pipeline = await DefaultPipelineAsync();
        var suffix = UniqueSuffix();
        const string password = "Sales-pass-2026";
        var rep = await CreateSalesUserAsync($"rep.{suffix}@example.com", "Rep " + suffix, password);
        var other = await CreateSalesUserAsync($"other.{suffix}@example.com", "Other rep " + suffix, password);
        var customer = await NewCustomerAsync("Stepan");
        var mine = "Rep's own deal " + suffix;
        var theirs = "Someone else's deal " + suffix;
        await CreateDealAsync(mine, customer.Id, 18_000m, pipeline.Open[1].Id, Today().AddDays(10), rep);
        await CreateDealAsync(theirs, customer.Id, 27_000m, pipeline.Open[1].Id, Today().AddDays(10), other);
        // A demo deal of another rep, to be sure the board is not only hiding today's deals.
        var demo = (await Kolo.GetAsync("/api/v1/deals?status=Open&limit=50")).GetProperty("items").EnumerateArray()
            .First(d => d.TryGetProperty("ownerId", out var o) && o.ValueKind == JsonValueKind.String && o.GetGuid() != rep)
            .GetProperty("name").GetString()!;

        await SignInAsync(page, $"rep.{suffix}@example.com", password);
        await GoToAsync(page, "/deals/board");
        await Expect(Heading(page)).ToHaveTextAsync("Pipeline");
        await Expect(Column(page, pipeline.Open[1].Name).GetByRole(AriaRole.Article, new() { Name = mine, Exact = true })).ToBeVisibleAsync();
        await Expect(Card(page, theirs)).ToHaveCountAsync(0);
        await Expect(Card(page, demo)).ToHaveCountAsync(0);
        await Expect(page.GetByRole(AriaRole.Article)).ToHaveCountAsync(1);

        // The totals are theirs too: their one deal in its column, nothing anywhere else.
        foreach (var stage in pipeline.All)
            await ExpectMoneyAsync(ColumnTotal(page, stage.Name), stage.Id == pipeline.Open[1].Id ? 18_000m : 0m);
    });

    // ---- the board

    /// <summary>A stage's column: a section named after the stage.</summary>
    private static ILocator Column(IPage page, string stage) => page.GetByRole(AriaRole.Region, new() { Name = stage, Exact = true });

    private static ILocator ColumnTotal(IPage page, string stage) => Column(page, stage).GetByTestId("column-total");

    private static ILocator ColumnWeighted(IPage page, string stage) => Column(page, stage).GetByTestId("column-weighted");

    /// <summary>A deal's card anywhere on the board: an article named after the deal.</summary>
    private static ILocator Card(IPage page, string deal) => page.GetByRole(AriaRole.Article, new() { Name = deal, Exact = true });

    /// <summary>Opens a deal from its board card: by the link with its name when the card has one, else by the card itself.</summary>
    private static async Task OpenCardFromBoardAsync(IPage page, ILocator card)
    {
        var link = card.GetByRole(AriaRole.Link).First;
        if (await link.CountAsync() > 0) await link.ClickAsync();
        else await card.ClickAsync();
        await WaitForInteractiveAsync(page);
    }

    [GeneratedRegex(@"/deals/([0-9a-fA-F-]{36})$")]
    private static partial Regex DealUrl();

    /// <summary>The one amount in <paramref name="locator"/>'s text ("45,000.00 UAH" → 45000).</summary>
    private static async Task<decimal> MoneyAsync(ILocator locator)
    {
        await Expect(locator).ToBeVisibleAsync();
        var text = await locator.InnerTextAsync();
        return ParseMoney(text) ?? throw new InvalidOperationException($"No amount in \"{text}\".");
    }

    private static decimal? ParseMoney(string text)
    {
        var match = AmountPattern().Match(text);
        return match.Success ? decimal.Parse(match.Value.Replace(",", "", StringComparison.Ordinal), NumberStyles.Number, CultureInfo.InvariantCulture) : null;
    }

    /// <summary>An English-formatted amount: digits grouped by commas, optional decimals.</summary>
    [GeneratedRegex(@"-?\d{1,3}(,\d{3})*(\.\d+)?|-?\d+(\.\d+)?")]
    private static partial Regex AmountPattern();

    /// <summary>Waits until the amount shown in <paramref name="locator"/> is <paramref name="expected"/> (the page updates it without a reload).</summary>
    private static async Task ExpectMoneyAsync(ILocator locator, decimal expected)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        string? last = null;
        while (clock.Elapsed < TimeSpan.FromSeconds(15))
        {
            if (await locator.CountAsync() == 1)
            {
                last = await locator.InnerTextAsync();
                if (ParseMoney(last) == expected) return;
            }
            await Task.Delay(200);
        }
        throw new Xunit.Sdk.XunitException($"Expected {expected.ToString("N2", English)} in {locator}, but it showed \"{last}\".");
    }

    /// <summary>
    /// Waits until the board's forecast panel shows <paramref name="weighted"/> (this month's weighted pipeline) among
    /// this month's figures: the panel's layout is free, but this month comes before next month, so only the text
    /// before "Next month" counts when the panel has that heading.
    /// </summary>
    private static async Task ExpectForecastShowsAsync(IPage page, decimal weighted)
    {
        var panel = page.GetByRole(AriaRole.Region, new() { Name = "Forecast", Exact = true });
        await Expect(panel).ToBeVisibleAsync();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var text = "";
        while (clock.Elapsed < TimeSpan.FromSeconds(15))
        {
            text = await panel.InnerTextAsync();
            var nextMonth = text.IndexOf("Next month", StringComparison.OrdinalIgnoreCase);
            var thisMonth = nextMonth > 0 ? text[..nextMonth] : text;
            if (AmountPattern().Matches(thisMonth).Any(m => ParseMoney(m.Value) == weighted)) return;
            await Task.Delay(200);
        }
        throw new Xunit.Sdk.XunitException($"The forecast panel does not show this month's weighted pipeline {weighted.ToString("N2", English)}: \"{text}\".");
    }

    // ---- forms

    /// <summary>A field by its label inside <paramref name="scope"/> (a dialog), matched whole as <see cref="UiTest.Field"/> does.</summary>
    private static ILocator FieldIn(ILocator scope, string label) =>
        scope.GetByLabel(new Regex($@"^\s*{Regex.Escape(label)}\s*\*?\s*$")).First;

    /// <summary>
    /// Types the customer's last name into the "Customer" picker and chooses them from the suggestions. The picker
    /// re-renders when it gets focus, which can swallow the first keystroke on a busy machine; so the typed text is
    /// checked, and typed again if the page lost some of it.
    /// </summary>
    private static async Task PickCustomerAsync(IPage page, ILocator scope, TestCustomer customer)
    {
        var input = FieldIn(scope, "Customer");
        var option = page.GetByRole(AriaRole.Option).Filter(new() { HasText = customer.Name, Visible = true }).First;
        for (var attempt = 1; ; attempt++)
        {
            await input.ClickAsync();
            await input.FillAsync("");
            await input.PressSequentiallyAsync(customer.LastName, new() { Delay = 40 });
            try
            {
                await Expect(input).ToHaveValueAsync(customer.LastName, new() { Timeout = 3_000 });
                await option.WaitForAsync(new() { Timeout = 10_000 });
                break;
            }
            catch (Exception e) when (attempt < 3 && e is PlaywrightException or TimeoutException)
            {
            }
        }
        await option.ClickAsync();
        await Expect(input).ToHaveValueAsync(new Regex(Regex.Escape(customer.Name)));
    }

    /// <summary>
    /// Adds one next step on the visit form: its title in "Next step", its date in "Due", then "Add step" puts it on the
    /// list (and clears the inputs for the next one).
    /// </summary>
    private static async Task AddNextStepAsync(IPage page, string title, DateTime due)
    {
        await Field(page, "Next step").FillAsync(title);
        await FillDateAsync(page, "Due", due);
        await Control(page, "Add step").TapAsync();
        await Expect(page.GetByText(title).Filter(new() { Visible = true }).First).ToBeVisibleAsync();
    }

    /// <summary>
    /// Types a date into the input labelled <paramref name="label"/>: ISO for a native date (or date and time, at 10:00)
    /// input, else the English short date a MudDatePicker parses, committed by leaving the field.
    /// </summary>
    private static async Task FillDateAsync(IPage page, string label, DateTime date, ILocator? scope = null)
    {
        var input = FieldIn(scope ?? page.Locator("body"), label);
        switch (await input.GetAttributeAsync("type"))
        {
            case "date":
                await input.FillAsync(date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
                return;
            case "datetime-local":
                await input.FillAsync(date.Date.AddHours(10).ToString("yyyy-MM-ddTHH:mm", CultureInfo.InvariantCulture));
                return;
        }
        await input.FillAsync(date.ToString("MM/dd/yyyy", CultureInfo.InvariantCulture));
        await input.PressAsync("Tab");
    }

    /// <summary>Picks <paramref name="option"/> in the select labelled <paramref name="label"/>: a native select or a MudSelect.</summary>
    private static async Task ChooseAsync(IPage page, string label, string option)
    {
        var select = page.GetByRole(AriaRole.Combobox, new() { NameRegex = new Regex($@"^\s*{Regex.Escape(label)}\s*\*?\s*$") }).First;
        var tag = await select.EvaluateAsync<string>("e => e.tagName");
        if (tag == "SELECT")
        {
            await select.SelectOptionAsync(new SelectOptionValue { Label = option });
            return;
        }
        await select.ClickAsync();
        await page.GetByRole(AriaRole.Option, new() { Name = option, Exact = true }).Filter(new() { Visible = true }).First.ClickAsync();
        if (tag == "INPUT") await Expect(select).ToHaveValueAsync(option);
        else await Expect(select).ToContainTextAsync(option);
    }

    /// <summary>Follows a navigation link; on a phone the links sit behind the menu button.</summary>
    private static async Task OpenFromMenuAsync(IPage page, string name)
    {
        var link = page.GetByRole(AriaRole.Link, new() { NameRegex = new Regex($@"^\s*{Regex.Escape(name)}") }).Filter(new() { Visible = true }).First;
        if (!await link.IsVisibleAsync())
            await page.GetByRole(AriaRole.Button, new() { Name = "Menu", Exact = true }).TapAsync();
        await link.TapAsync();
    }

    private static async Task ExpectNoHorizontalScrollAsync(IPage page)
    {
        var overflow = await page.EvaluateAsync<int>("() => document.documentElement.scrollWidth - window.innerWidth");
        Assert.True(overflow <= 1, $"The page is {overflow}px wider than the screen.");
    }

    // ---- arranging data through the API

    private sealed record TestCustomer(Guid Id, string FirstName, string LastName)
    {
        public string Name => $"{FirstName} {LastName}";
    }

    private sealed record StageInfo(Guid Id, string Name, int Probability, string Kind);

    private sealed record PipelineInfo(Guid Id, IReadOnlyList<StageInfo> All)
    {
        public List<StageInfo> Open => All.Where(s => s.Kind == "Open").ToList();
        public StageInfo Won => All.Single(s => s.Kind == "Won");
    }

    private async Task<TestCustomer> NewCustomerAsync(string firstName)
    {
        var suffix = UniqueSuffix();
        var lastName = "Prodazh" + suffix;
        var id = await Kolo.CreatePersonAsync(firstName, lastName, $"{firstName.ToLowerInvariant()}.{suffix}@example.com", UniquePhone());
        return new TestCustomer(id, firstName, lastName);
    }

    /// <summary>The default pipeline ("Sales", made at startup) with its stages in board order.</summary>
    private async Task<PipelineInfo> DefaultPipelineAsync()
    {
        var pipelines = await Kolo.GetAsync("/api/v1/pipelines");
        var pipeline = pipelines.EnumerateArray().First(p => p.GetProperty("isDefault").GetBoolean());
        var stages = pipeline.GetProperty("stages").EnumerateArray()
            .OrderBy(s => s.GetProperty("position").GetInt32())
            .Select(s => new StageInfo(s.GetProperty("id").GetGuid(), s.GetProperty("name").GetString()!, s.GetProperty("probability").GetInt32(),
                s.GetProperty("kind").GetString()!))
            .ToList();
        return new PipelineInfo(pipeline.GetProperty("id").GetGuid(), stages);
    }

    private async Task<Guid> CreateDealAsync(string name, Guid customerId, decimal amount, Guid stageId, DateOnly expectedClose, Guid? ownerId = null, string currency = "UAH")
    {
        var deal = await Kolo.PostAsync("/api/v1/deals", new
        {
            name, customerId, stageId, amount, currency, ownerId,
            expectedCloseDate = expectedClose.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        });
        return deal.GetProperty("id").GetGuid();
    }

    private async Task<Guid> CreateSalesUserAsync(string email, string displayName, string password)
    {
        var user = await Kolo.PostAsync("/api/v1/users", new { email, displayName, role = "Sales", customerAccess = "Own", password });
        return user.GetProperty("id").GetGuid();
    }

    /// <summary>The server's today: it forecasts by UTC days.</summary>
    private static DateOnly Today() => DateOnly.FromDateTime(DateTime.UtcNow);

    /// <summary>This month's weighted pipeline over every deal, as the forecast API computes it.</summary>
    private async Task<decimal> WeightedThisMonthAsync()
    {
        var month = new DateOnly(Today().Year, Today().Month, 1);
        var from = month.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var to = month.AddMonths(1).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var forecast = await Kolo.GetAsync($"/api/v1/forecast?period=month&groupBy=none&from={from}&to={to}");
        return forecast.GetProperty("rows").EnumerateArray()
            .Where(r => r.GetProperty("periodStart").GetString() == from)
            .Sum(r => r.GetProperty("weighted").GetDecimal());
    }
}
