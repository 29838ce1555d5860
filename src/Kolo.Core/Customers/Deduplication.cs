namespace Kolo.Core.Customers;

/// <summary>Name similarity for duplicate matching: Jaro-Winkler over the name's words in sorted order.</summary>
public static class NameSimilarity
{
    /// <summary>Names at or above this score count as "very similar" (typos, a missing letter, swapped word order).</summary>
    public const double Threshold = 0.9;

    public static double Score(string a, string b)
    {
        var left = string.Join(' ', TextNormalizer.Words(a).Order(StringComparer.Ordinal));
        var right = string.Join(' ', TextNormalizer.Words(b).Order(StringComparer.Ordinal));
        return JaroWinkler(left, right);
    }

    public static bool AreSimilar(string a, string b) => Score(a, b) >= Threshold;

    /// <summary>Jaro-Winkler similarity (Winkler 1990) with prefix scale 0.1 and a prefix of at most 4.</summary>
    public static double JaroWinkler(string s, string t)
    {
        if (s.Length == 0 && t.Length == 0) return 1;
        if (s.Length == 0 || t.Length == 0) return 0;
        var window = Math.Max(0, Math.Max(s.Length, t.Length) / 2 - 1);
        var sMatched = new bool[s.Length];
        var tMatched = new bool[t.Length];
        var matches = 0;
        for (var i = 0; i < s.Length; i++)
        {
            var from = Math.Max(0, i - window);
            var to = Math.Min(t.Length - 1, i + window);
            for (var j = from; j <= to; j++)
            {
                if (tMatched[j] || s[i] != t[j]) continue;
                sMatched[i] = tMatched[j] = true;
                matches++;
                break;
            }
        }
        if (matches == 0) return 0;
        var transpositions = 0;
        for (int i = 0, k = 0; i < s.Length; i++)
        {
            if (!sMatched[i]) continue;
            while (!tMatched[k]) k++;
            if (s[i] != t[k]) transpositions++;
            k++;
        }
        double m = matches;
        var jaro = (m / s.Length + m / t.Length + (m - transpositions / 2.0) / m) / 3;
        var prefix = 0;
        while (prefix < Math.Min(4, Math.Min(s.Length, t.Length)) && s[prefix] == t[prefix]) prefix++;
        return jaro + prefix * 0.1 * (1 - jaro);
    }
}

/// <summary>Thrown when a new customer looks like one that exists; the caller may confirm with allowDuplicate.</summary>
public sealed class DuplicateCustomerException(IReadOnlyList<DuplicateCandidate> candidates, int hiddenMatches)
    : Exception("This customer looks like one that already exists.")
{
    public IReadOnlyList<DuplicateCandidate> Candidates { get; } = candidates;
    /// <summary>Matches the caller may not see (another salesperson's customers), counted but not shown.</summary>
    public int HiddenMatches { get; } = hiddenMatches;
}
