using System.Globalization;
using System.Text.RegularExpressions;

namespace RoomSignal.Testing;

/// <summary>One scrape of a node's Prometheus endpoint (<c>GET /metrics</c>, text format), read series by series.</summary>
public sealed partial class PrometheusScrape
{
    private readonly List<(string Name, Dictionary<string, string> Labels, double Value)> _samples;

    private PrometheusScrape(string text, List<(string, Dictionary<string, string>, double)> samples)
    {
        Text = text;
        _samples = samples;
    }

    /// <summary>The body as served.</summary>
    public string Text { get; }

    /// <summary>Scrapes <c>/metrics</c> of <paramref name="node"/> (fails on any status but 200).</summary>
    public static async Task<PrometheusScrape> ReadAsync(IRoomSignalEndpoint node, CancellationToken cancellationToken = default)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var text = await http.GetStringAsync(new Uri(node.BaseUri, "metrics"), cancellationToken).Within("GET /metrics");
        return Parse(text);
    }

    /// <summary>Reads the text format: every <c>name{labels} value</c> line, comments skipped.</summary>
    public static PrometheusScrape Parse(string text)
    {
        var samples = new List<(string, Dictionary<string, string>, double)>();
        foreach (var line in text.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.StartsWith('#'))
            {
                continue;
            }

            var match = SampleLine().Match(line);
            if (!match.Success)
            {
                continue;
            }

            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (Match label in LabelPair().Matches(match.Groups["labels"].Value))
            {
                labels[label.Groups["key"].Value] = label.Groups["value"].Value;
            }

            var value = match.Groups["value"].Value switch
            {
                "+Inf" => double.PositiveInfinity,
                "-Inf" => double.NegativeInfinity,
                var v => double.Parse(v, NumberStyles.Float, CultureInfo.InvariantCulture),
            };
            samples.Add((match.Groups["name"].Value, labels, value));
        }

        return new PrometheusScrape(text, samples);
    }

    /// <summary>The sum of every series named <paramref name="name"/> whose labels include <paramref name="labels"/>; 0 when none.</summary>
    public double Sum(string name, params (string Key, string Value)[] labels)
        => _samples.Where(s => s.Name == name && labels.All(l => s.Labels.TryGetValue(l.Key, out var v) && v == l.Value)).Sum(s => s.Value);

    /// <summary>Whether a series named <paramref name="name"/> is served at all.</summary>
    public bool Has(string name) => _samples.Any(s => s.Name == name);

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>[^}]*)\})?\s+(?<value>\S+)")]
    private static partial Regex SampleLine();

    [GeneratedRegex(@"(?<key>[a-zA-Z_][a-zA-Z0-9_]*)=""(?<value>(?:[^""\\]|\\.)*)""")]
    private static partial Regex LabelPair();
}
