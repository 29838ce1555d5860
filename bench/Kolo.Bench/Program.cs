using System.Globalization;
using Kolo.Bench;
using Kolo.Core.Data;

// Kolo.Bench: `generate` loads N sample customers through the real schema; `run` measures the API beside raw SQL;
// `generate-timeline` and `run-timeline` do the same for customers' timelines (PostgreSQL);
// `generate-import-files` and `run-import` measure CSV import and export beside the database's own bulk load;
// `analytics` and `recommend-holdout` measure the customer analytics (issue 8).
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;

if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
{
    Console.WriteLine("""
        Kolo.Bench
          generate --provider sqlite|postgres --connection "<cs>" [--count 1000000] [--seed 2026]
          run      --provider sqlite|postgres --connection "<cs>" [--requests 2000] [--warmup 200] [--seed 7]
                   [--web-dll <path to Kolo.Web.dll>] [--explain] [--log-sql]
          generate-timeline --provider postgres --connection "<cs>" [--interactions 10000000] [--heavy 10000]
                   [--years 5] [--seed 2026]      (after generate: interactions, tasks, attachments, audit entries)
          run-timeline --provider postgres --connection "<cs>" [--requests 1000] [--warmup 100] [--depth 5000]
                   [--seed 7] [--web-dll <path>] [--explain] [--log-sql]
          generate-import-files --out <dir> [--customers 1000000] [--lines 10000000] [--products 3000] [--seed 2026]
          run-import --provider sqlite|postgres --files <dir> [--connection "<server cs>"] [--work <dir>]
                   [--skip-raw] [--skip-kolo] [--keep] [--max-seconds N] [--web-dll <path>] [--log-sql]
          import-writes --provider sqlite|postgres [--connection "<server cs>"] [--work <dir>] [--count 40000] [--batch 4000]
          sales    --connection "<server cs>" [--open 100000] [--closed 1000000] [--customers 100000] [--requests 200] [--keep]
          analytics --connection "<server cs>" [--customers 1000000] [--lines 10000000] [--products 3000] [--seed 2026]
                   [--database kolo_bench_analytics] [--reuse] [--keep] [--only fit,recompute,apriori] [--fit-runs 3] [--recompute-runs 2] [--raw-runs 2] [--show-sql]
          recommend-holdout --connection "<server cs>" [--file <online_retail.csv.gz>] [--split 2011-09-01]
                   [--min-support 0.01] [--min-confidence 0.2] [--sweep 0.005,0.0025] [--database kolo_bench_recommend] [--reuse] [--keep]
          send     --connection "<server cs>" [--customers 1000000] [--messages 20000] [--sms 20000] [--batch 200]
                   [--smtp-host 127.0.0.1] [--smtp-port 2525] [--database kolo_bench_send] [--reuse] [--keep]
          results  --connection "<server cs>" [--customers 1000000] [--messages 1000000] [--orders 1000000] [--runs 3] [--seed 2026] [--keep]
          audience --connection "<server cs>" [--customers 1000000] [--preview-runs 2] [--seed 2026] [--keep]
          segments --connection "<server cs>" [--customers 1000000] [--lines 10000000] [--products 3000] [--seed 2026]
                   [--database kolo_bench_segments] [--reuse] [--keep] [--runs 3] [--show-sql]
        See bench/README.md.
        """);
    return 0;
}

try
{
    var options = Options.Parse(args.Skip(1));
    switch (args[0])
    {
        case "generate":
            await Generator.RunAsync(options);
            return 0;
        case "run":
            await Runner.RunAsync(options);
            return 0;
        case "generate-timeline":
            await Generator.RunTimelineAsync(options);
            return 0;
        case "run-timeline":
            await Runner.RunTimelineAsync(options);
            return 0;
        case "generate-import-files":
            await ImportFiles.RunAsync(options);
            return 0;
        case "import-writes":
            await Generator.RunImportWritesAsync(options);
            return 0;
        case "run-import":
            await Runner.RunImportAsync(options);
            return 0;
        case "sales":
            await SalesBench.RunAsync(options);
            return 0;
        case "analytics":
            await Runner.RunAnalyticsAsync(options);
            return 0;
        case "audience":
            await AudienceBench.RunAsync(options);
            return 0;
        case "recommend-holdout":
            await Runner.RunRecommendHoldoutAsync(options);
            return 0;
        case "send":
            await SendBench.RunAsync(options);
            return 0;
        case "results":
            await ResultsBench.RunAsync(options);
            return 0;
        case "segments":
            await Runner.RunSegmentsAsync(options);
            return 0;
        default:
            Console.Error.WriteLine($"Unknown command '{args[0]}'. Use generate, run, generate-timeline, run-timeline, generate-import-files, run-import, import-writes, sales, analytics, recommend-holdout, segments, audience, send or results.");
            return 2;
    }
}
catch (BenchException e)
{
    Console.Error.WriteLine(e.Message);
    return 1;
}

namespace Kolo.Bench
{
    public sealed class BenchException(string message) : Exception(message);

    public sealed class Options
    {
        private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

        public static Options Parse(IEnumerable<string> args)
        {
            var o = new Options();
            string? key = null;
            foreach (var arg in args)
            {
                if (arg.StartsWith("--", StringComparison.Ordinal))
                {
                    if (key is not null) o._values[key] = "true";
                    key = arg[2..];
                }
                else if (key is not null)
                {
                    o._values[key] = arg;
                    key = null;
                }
                else throw new BenchException($"Unexpected argument '{arg}'.");
            }
            if (key is not null) o._values[key] = "true";
            return o;
        }

        public DatabaseProvider Provider => Get("provider").ToLowerInvariant() switch
        {
            "sqlite" => DatabaseProvider.Sqlite,
            "postgres" or "postgresql" => DatabaseProvider.Postgres,
            var p => throw new BenchException($"--provider is sqlite or postgres, not '{p}'."),
        };

        public string Connection => Get("connection");

        public string Get(string name) =>
            _values.TryGetValue(name, out var v) ? v : throw new BenchException($"Missing --{name}.");

        public string? Optional(string name) => _values.GetValueOrDefault(name);

        public int Int(string name, int fallback) =>
            _values.TryGetValue(name, out var v)
                ? int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i) && i >= 0 ? i : throw new BenchException($"--{name} takes a whole number.")
                : fallback;

        public double Double(string name, double fallback) =>
            _values.TryGetValue(name, out var v)
                ? double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && d >= 0 ? d : throw new BenchException($"--{name} takes a number.")
                : fallback;

        public bool Flag(string name) => _values.ContainsKey(name);
    }
}
