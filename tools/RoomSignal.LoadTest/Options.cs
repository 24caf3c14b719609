using System.Globalization;
using System.Net;
using RoomSignal.LoadTest.Wire;

namespace RoomSignal.LoadTest;

/// <summary>A bad command line: printed with the usage, exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary><c>--name value</c> options; every option a scenario reads is listed in its summary's config.</summary>
internal sealed class Options
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _read = new(StringComparer.Ordinal);

    public Options(IEnumerable<string> args)
    {
        string? name = null;
        foreach (var arg in args)
        {
            if (arg.StartsWith("--", StringComparison.Ordinal))
            {
                if (name is not null)
                {
                    _values[name] = "true";
                }

                name = arg[2..];
                var eq = name.IndexOf('=');
                if (eq > 0)
                {
                    _values[name[..eq]] = name[(eq + 1)..];
                    name = null;
                }
            }
            else if (name is not null)
            {
                _values[name] = arg;
                name = null;
            }
            else
            {
                throw new UsageException($"unexpected argument '{arg}'");
            }
        }

        if (name is not null)
        {
            _values[name] = "true";
        }
    }

    /// <summary>Every option the scenario read, with the value it used (for the JSON summary).</summary>
    public Dictionary<string, string> Used { get; } = new(StringComparer.Ordinal);

    public string String(string name, string fallback)
    {
        _read.Add(name);
        var value = _values.GetValueOrDefault(name, fallback);
        Used[name] = value;
        return value;
    }

    public int Int(string name, int fallback, int min = 0, int max = int.MaxValue)
    {
        var text = String(name, fallback.ToString(CultureInfo.InvariantCulture));
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            throw new UsageException($"--{name}: must be an integer in {min}..{max}, got '{text}'");
        }

        return value;
    }

    public double Double(string name, double fallback, double min = 0, double max = double.MaxValue)
    {
        var text = String(name, fallback.ToString(CultureInfo.InvariantCulture));
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            throw new UsageException($"--{name}: must be a number in {min}..{max}, got '{text}'");
        }

        return value;
    }

    public bool Flag(string name) => String(name, "false") is "true" or "1" or "yes";

    public int[] Pids(string name) =>
        String(name, "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(p => int.TryParse(p, NumberStyles.Integer, CultureInfo.InvariantCulture, out var pid) && pid > 0
                ? pid
                : throw new UsageException($"--{name}: '{p}' is not a process id"))
            .ToArray();

    /// <summary>Fails on options nobody read (a typo must not silently run a different benchmark).</summary>
    public void RejectUnknown()
    {
        var unknown = _values.Keys.Where(k => !_read.Contains(k)).ToArray();
        if (unknown.Length > 0)
        {
            throw new UsageException($"unknown option(s): {string.Join(", ", unknown.Select(u => "--" + u))}");
        }
    }

    /// <summary>
    /// The hub URLs (<c>--urls</c>, comma separated; <c>http://</c> is taken as <c>ws://</c>, a bare host:port gets
    /// <c>/hubs/room</c>). Only loopback targets are accepted: this tool floods what it points at.
    /// </summary>
    public IReadOnlyList<Uri> Urls()
    {
        var list = new List<Uri>();
        foreach (var raw in String("urls", "ws://127.0.0.1:5000/hubs/room").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var text = raw.Contains("://", StringComparison.Ordinal) ? raw : "ws://" + raw;
            text = text.Replace("http://", "ws://", StringComparison.OrdinalIgnoreCase);
            if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Scheme != "ws")
            {
                throw new UsageException($"--urls: '{raw}' is not a ws:// or http:// URL");
            }

            var host = uri.Host == "localhost" ? "127.0.0.1" : uri.Host;
            if (!IPAddress.TryParse(host, out var address) || !IPAddress.IsLoopback(address) || address.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork)
            {
                throw new UsageException($"--urls: '{raw}' is not an IPv4 loopback address; the load tool only targets 127.0.0.0/8");
            }

            var path = uri.AbsolutePath is "" or "/" ? "/hubs/room" : uri.AbsolutePath;
            list.Add(new UriBuilder("ws", host, uri.Port, path).Uri);
        }

        if (list.Count == 0)
        {
            throw new UsageException("--urls: give at least one server");
        }

        return list;
    }

    public HubProtocolKind Protocol() => String("protocol", "json") switch
    {
        "json" => HubProtocolKind.Json,
        "messagepack" or "msgpack" => HubProtocolKind.MessagePack,
        var other => throw new UsageException($"--protocol: json or messagepack, got '{other}'"),
    };
}
