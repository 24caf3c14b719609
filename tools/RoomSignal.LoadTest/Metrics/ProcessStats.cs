using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace RoomSignal.LoadTest.Metrics;

/// <summary>CPU time and resident memory of other processes, read from /proc (Linux).</summary>
internal static class ProcessStats
{
    private static readonly double TicksPerSecond = 100; // USER_HZ; Linux reports /proc/PID/stat times in 1/100 s

    /// <summary>User + system CPU seconds of a process (children excluded), or NaN when it is gone.</summary>
    public static double CpuSeconds(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // Fields after the command name (which is in parentheses and may hold spaces).
            var rest = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            var utime = long.Parse(rest[11], CultureInfo.InvariantCulture);
            var stime = long.Parse(rest[12], CultureInfo.InvariantCulture);
            return (utime + stime) / TicksPerSecond;
        }
        catch (IOException)
        {
            return double.NaN;
        }
    }

    /// <summary>Resident set size in bytes (VmRSS), or 0 when the process is gone.</summary>
    public static long RssBytes(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    var kb = long.Parse(line[6..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
                    return kb * 1024;
                }
            }
        }
        catch (IOException)
        {
        }

        return 0;
    }

    /// <summary>This process's own CPU seconds.</summary>
    public static double OwnCpuSeconds() => Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;

    /// <summary>
    /// Reads <c>INFO</c> from a Redis at <paramref name="endpoint"/> (host:port on loopback) with a raw RESP
    /// request and returns the fields (used_memory, process_id, ...).
    /// </summary>
    public static async Task<Dictionary<string, string>> RedisInfoAsync(string endpoint, CancellationToken cancellationToken = default)
    {
        var colon = endpoint.LastIndexOf(':');
        var host = colon > 0 ? endpoint[..colon] : endpoint;
        var port = colon > 0 ? int.Parse(endpoint[(colon + 1)..], CultureInfo.InvariantCulture) : 6379;
        using var client = new TcpClient();
        await client.ConnectAsync(host, port, cancellationToken);
        var stream = client.GetStream();
        await stream.WriteAsync("*1\r\n$4\r\nINFO\r\n"u8.ToArray(), cancellationToken);
        var buffer = new byte[64 * 1024];
        var got = 0;
        var expected = -1;
        while (expected < 0 || got < expected)
        {
            var n = await stream.ReadAsync(buffer.AsMemory(got), cancellationToken);
            if (n == 0)
            {
                break;
            }

            got += n;
            var text = buffer.AsSpan(0, got);
            var crlf = text.IndexOf("\r\n"u8);
            if (expected < 0 && crlf > 0 && text[0] == (byte)'$')
            {
                expected = crlf + 2 + int.Parse(Encoding.ASCII.GetString(text[1..crlf]), CultureInfo.InvariantCulture);
            }
        }

        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in Encoding.UTF8.GetString(buffer, 0, got).Split("\r\n"))
        {
            var i = line.IndexOf(':');
            if (i > 0 && line[0] != '#')
            {
                result[line[..i]] = line[(i + 1)..];
            }
        }

        return result;
    }
}
