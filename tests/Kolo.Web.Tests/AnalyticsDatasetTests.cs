using System.Globalization;
using System.Net;
using System.Text.Json;
using Kolo.Web.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Kolo.Web.Tests;

/// <summary>
/// The public datasets through the product's own import and analytics: CDNOW's lifetime-value fit must give the
/// published parameters (Fader, Hardie &amp; Lee 2005; Fader &amp; Hardie 2013).
/// </summary>
public abstract class AnalyticsDatasetTests(KoloAppFixture fx) : ApiTestBase(fx)
{
    private static readonly SemaphoreSlim CdnowOnce = new(1, 1);

    /// <summary>Imports cdnow/cdnowElog.csv once per database (orders in USD, one per row) and makes USD the analysed currency.</summary>
    protected async Task ImportCdnowAsync(HttpClient admin)
    {
        var mapping = new { customerExternalId = "masterid", orderedAt = "date", quantity = "cds", lineTotal = "sales" };
        var options = new { currency = "USD", dateFormat = "yyyyMMdd", defaultSku = "CDNOW-CD", externalIdFromRow = "true", customerIdPrefix = "cdnow-" };
        var job = await admin.ImportAsync(await File.ReadAllBytesAsync(ImportApi.Dataset("cdnow/cdnowElog.csv")), "cdnowElog.csv", "orders", mapping, options);
        Assert.Equal("Succeeded", job.Str("status"));
        await admin.PutJsonAsync("/api/v1/analytics/settings", new { currency = "USD", horizonMonths = 12, annualDiscountRateBasisPoints = 1000, predictionDays = 90, winBackThreshold = 0.3, minSupport = 0.01, minConfidence = 0.2, recomputeHours = 0 }, HttpStatusCode.OK);
    }

    protected static async Task<JsonElement> WaitForAnalyticsJobAsync(HttpClient client, Guid id, int timeoutSeconds = 180)
    {
        var until = DateTime.UtcNow.AddSeconds(timeoutSeconds);
        while (true)
        {
            var job = await client.GetJsonAsync($"/api/v1/analytics/jobs/{id}");
            if (job.Str("status") is "Succeeded" or "Failed") return job;
            Assert.True(DateTime.UtcNow < until, $"The analytics job did not finish in {timeoutSeconds} s: {job}");
            await Task.Delay(200);
        }
    }

    [Fact]
    public async Task Cdnow_scores_as_of_the_calibration_end_give_the_models_predictions_per_customer()
    {
        using var admin = Fx.Admin();
        await ImportCdnowAsync(admin);
        var fit = await WaitForAnalyticsJobAsync(admin, (await admin.PostJsonAsync("/api/v1/analytics/clv/fit", new { calibrationEnd = "1997-09-30", timeUnit = "Week" }, HttpStatusCode.Accepted)).Id());
        Assert.Equal("Succeeded", fit.Str("status"));
        var scores = await WaitForAnalyticsJobAsync(admin, (await admin.PostJsonAsync("/api/v1/analytics/recompute", new { asOf = "1997-09-30" }, HttpStatusCode.Accepted)).Id());
        Assert.True(scores.Str("status") == "Succeeded", scores.ToString());
        Assert.Equal(2_357, scores.GetProperty("result").GetProperty("buyers").GetInt32());

        // The sample's customer 1 (master id 4): x = 2, t_x = 30.43, T = 38.86 weeks; at the fitted parameters
        // P(alive) = 0.7266 (computed independently to 40 digits when the model was written).
        Guid id;
        await using (var db = await Fx.Factory.Services.GetRequiredService<Microsoft.EntityFrameworkCore.IDbContextFactory<Kolo.Core.Data.KoloDb>>().CreateDbContextAsync())
            id = db.Customers.Single(c => c.ExternalId == "cdnow-4").Id;
        var score = await admin.GetJsonAsync($"/api/v1/customers/{id}/scores");
        Assert.Equal(0.7266, score.GetProperty("probabilityAlive").GetDouble(), 0.001);
        Assert.Equal(3, score.GetProperty("purchaseDays").GetInt32());
        Assert.False(string.IsNullOrEmpty(score.Str("segment")));
        Assert.True(score.GetProperty("clv").GetProperty("amount").GetDecimal() > 0);
        Assert.Equal("USD", score.GetProperty("clv").Str("currency"));
    }

    [Fact]
    public async Task Cdnow_fit_gives_the_published_BG_NBD_and_Gamma_Gamma_parameters_and_a_holdout_table()
    {
        using var admin = Fx.Admin();
        await ImportCdnowAsync(admin);
        var queued = await admin.PostJsonAsync("/api/v1/analytics/clv/fit", new { calibrationEnd = "1997-09-30", timeUnit = "Week", holdoutEnd = "1998-06-30" }, HttpStatusCode.Accepted);
        var job = await WaitForAnalyticsJobAsync(admin, queued.Id());
        Assert.True(job.Str("status") == "Succeeded", job.ToString());
        var result = job.GetProperty("result");
        // Fader, Hardie & Lee (2005): 2,357 customers, r = 0.243, alpha = 4.414, a = 0.793, b = 2.426, LL = -9582.4.
        Assert.Equal(2_357, result.GetProperty("customers").GetInt32());
        var bg = result.GetProperty("bgNbd");
        Assert.Equal(0.243, bg.GetProperty("r").GetDouble(), 0.001);
        Assert.Equal(4.414, bg.GetProperty("alpha").GetDouble(), 0.01);
        Assert.Equal(0.793, bg.GetProperty("a").GetDouble(), 0.002);
        Assert.Equal(2.426, bg.GetProperty("b").GetDouble(), 0.01);
        Assert.Equal(-9582.4, result.GetProperty("bgNbdLogLikelihood").GetDouble(), 0.1);
        // Fader & Hardie (2013), Gamma-Gamma on the 946 repeat buyers: p = 6.25, q = 3.74, gamma = 15.44.
        Assert.Equal(946, result.GetProperty("gammaGammaCustomers").GetInt32());
        var gg = result.GetProperty("gammaGamma");
        Assert.Equal(6.25, gg.GetProperty("p").GetDouble(), 0.01);
        Assert.Equal(3.74, gg.GetProperty("q").GetDouble(), 0.01);
        Assert.Equal(15.44, gg.GetProperty("gamma").GetDouble(), 0.02);
        var holdout = result.GetProperty("holdout").EnumerateArray().ToList();
        Assert.Equal(["0", "1", "2", "3", "4", "5", "6", "7+"], holdout.Select(h => h.Str("frequency")));
        Assert.Equal(2_357, holdout.Sum(h => h.GetProperty("customers").GetInt32()));
        // Customers with no calibration repeats made 0.24 repeat purchases each in the 39-week holdout (FHL 2005, fig. 3 area).
        Assert.InRange(holdout[0].GetProperty("predictedMean").GetDouble(), 0.1, 0.4);
        var totalActual = holdout.Sum(h => h.GetProperty("actualTotal").GetInt32());
        var totalPredicted = holdout.Sum(h => h.GetProperty("predictedTotal").GetDouble());
        Assert.InRange(totalPredicted / totalActual, 0.8, 1.2);
    }
}

[Collection("analytics-sqlite")]
public sealed class SqliteAnalyticsDatasetTests(SqliteFixture fx) : AnalyticsDatasetTests(fx);

[Collection("analytics-postgres")]
public sealed class PostgresAnalyticsDatasetTests(PostgresFixture fx) : AnalyticsDatasetTests(fx);
