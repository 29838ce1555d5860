using System.Globalization;
using System.IO.Compression;
using CsvHelper;
using CsvHelper.Configuration;
using MiniExcelLibs;

namespace Kolo.Core.Integration;

/// <summary>One data row of an uploaded file: its line number (the header is line 1), its fields and its text.</summary>
public sealed record ImportRow(int Line, string[] Values, string Raw)
{
    /// <summary>The id derived from the row's content, when the mapping asks for one (externalIdFromRow).</summary>
    public string? RowId { get; init; }
}

/// <summary>
/// Reads an uploaded file one row at a time (.csv, .csv.gz or .xlsx), never the whole file at once.
/// <see cref="Position"/> is how far into the file on disk the reader is, for progress.
/// </summary>
public abstract class ImportSource : IDisposable
{
    public IReadOnlyList<string> Header { get; protected set; } = [];

    public abstract long Position { get; }

    public abstract ImportRow? Next();

    public abstract void Dispose();

    public static bool IsSupported(string fileName) => Format(fileName) is not null;

    private static string? Format(string fileName)
    {
        var name = fileName.ToLowerInvariant();
        return name.EndsWith(".csv.gz", StringComparison.Ordinal) ? "csv.gz"
            : name.EndsWith(".csv", StringComparison.Ordinal) ? "csv"
            : name.EndsWith(".xlsx", StringComparison.Ordinal) ? "xlsx" : null;
    }

    /// <summary>Opens <paramref name="path"/>, whose format is told by the name the user uploaded it with.</summary>
    public static ImportSource Open(string path, string fileName)
    {
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        try
        {
            return Format(fileName) switch
            {
                "csv" => new CsvSource(file, file),
                "csv.gz" => new CsvSource(file, new GZipStream(file, CompressionMode.Decompress)),
                "xlsx" => new XlsxSource(file),
                _ => throw new InvalidDataException("Upload a .csv, .csv.gz or .xlsx file."),
            };
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>A field as the CSV writer would write it, for the raw text of an xlsx row and of the rejects file.</summary>
    internal static string Quote(string value) =>
        value.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;

    private sealed class CsvSource : ImportSource
    {
        private readonly FileStream _file;
        private readonly StreamReader _text;
        private readonly CsvReader _csv;

        public CsvSource(FileStream file, Stream content)
        {
            _file = file;
            _text = new StreamReader(content, System.Text.Encoding.UTF8, detectEncodingFromByteOrderMarks: true, bufferSize: 1 << 16);
            _csv = new CsvReader(_text, new CsvConfiguration(CultureInfo.InvariantCulture)
            {
                // Short rows are reported as rows, not exceptions: the importer rejects them with a reason.
                MissingFieldFound = null, BadDataFound = null, DetectDelimiter = true, TrimOptions = TrimOptions.None,
            });
            if (_csv.Read())
            {
                _csv.ReadHeader();
                Header = _csv.HeaderRecord ?? [];
            }
        }

        public override long Position => _file.Position;

        public override ImportRow? Next()
        {
            if (!_csv.Read()) return null;
            var values = _csv.Parser.Record ?? [];
            return new ImportRow(_csv.Parser.Row, values, _csv.Parser.RawRecord.TrimEnd('\r', '\n'));
        }

        public override void Dispose()
        {
            _csv.Dispose();
            _text.Dispose();
            _file.Dispose();
        }
    }

    private sealed class XlsxSource : ImportSource
    {
        private readonly FileStream _file;
        private readonly IEnumerator<IDictionary<string, object?>> _rows;
        private readonly List<string> _keys;
        private IDictionary<string, object?>? _first;
        private int _line = 1;

        public XlsxSource(FileStream file)
        {
            _file = file;
            _rows = MiniExcel.Query(file, useHeaderRow: true, excelType: ExcelType.XLSX)
                .Cast<IDictionary<string, object?>>().GetEnumerator();
            if (_rows.MoveNext()) _first = _rows.Current;
            _keys = _first?.Keys.ToList() ?? [];
            Header = _keys;
        }

        public override long Position => _file.Position;

        public override ImportRow? Next()
        {
            IDictionary<string, object?> row;
            if (_first is not null) { row = _first; _first = null; }
            else if (_rows.MoveNext()) row = _rows.Current;
            else return null;
            _line++;
            var values = _keys.Select(k => Text(row.TryGetValue(k, out var v) ? v : null)).ToArray();
            if (values.All(v => v.Length == 0)) return Next();
            return new ImportRow(_line, values, string.Join(',', values.Select(Quote)));
        }

        private static string Text(object? value) => value switch
        {
            null => "",
            DateTime d => d.TimeOfDay == TimeSpan.Zero ? d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) : d.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture),
            double x => x.ToString("R", CultureInfo.InvariantCulture),
            decimal m => m.ToString(CultureInfo.InvariantCulture),
            bool b => b ? "true" : "false",
            IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
            _ => value.ToString() ?? "",
        };

        public override void Dispose()
        {
            _rows.Dispose();
            _file.Dispose();
        }
    }
}
