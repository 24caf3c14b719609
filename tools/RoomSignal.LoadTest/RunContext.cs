using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using RoomSignal.LoadTest.Metrics;
using RoomSignal.LoadTest.Wire;

namespace RoomSignal.LoadTest;

/// <summary>CPU seconds of the driver, the servers and Redis at one moment.</summary>
internal readonly record struct CpuSnapshot(long Timestamp, double Driver, double[] Servers, double Redis);

/// <summary>What every scenario shares: targets, protocol, source addresses, CPU and memory probes, progress and the summary.</summary>
internal sealed class RunContext
{
    private readonly List<string> _problems = [];
    private int _problemsDropped;
    private int _redisPid;

    public RunContext(string scenario, Options options)
    {
        Scenario = scenario;
        Options = options;
        Urls = options.Urls();
        Protocol = options.Protocol();
        HubCodec.MsgPackPascalCase = options.String("msgpack-keys", "camel") == "pascal";
        ServerPids = options.Pids("server-pids");
        Redis = options.String("redis", "");
        Label = options.String("label", "");
        MaxSeconds = options.Double("max-seconds", 300, 1, 3600);
        Sources = options.Int("sources", 0, 0, 250);
        RunId = options.String("run-id", Guid.NewGuid().ToString("N")[..8]);
        Deadline = Stopwatch.GetTimestamp() + (long)(MaxSeconds * Stopwatch.Frequency);
    }

    public string Scenario { get; }
    public Options Options { get; }
    public IReadOnlyList<Uri> Urls { get; }
    public HubProtocolKind Protocol { get; }
    public int[] ServerPids { get; }
    public string Redis { get; }
    public string Label { get; }
    public double MaxSeconds { get; }
    public int Sources { get; private set; }
    public string RunId { get; }

    /// <summary>Hard bound on the whole run (<c>--max-seconds</c>): every loop stops by then.</summary>
    public long Deadline { get; }

    public bool PastDeadline => Stopwatch.GetTimestamp() >= Deadline;

    public IReadOnlyList<string> Problems => _problems;

    public void Problem(string text)
    {
        lock (_problems)
        {
            if (_problems.Count < 50)
            {
                _problems.Add(text);
            }
            else
            {
                _problemsDropped++;
            }
        }
    }

    /// <summary>
    /// Source addresses: past ~28,000 connections one address runs out of ephemeral ports toward one server,
    /// so connections are spread over 127.0.0.1..127.0.0.N (N = <c>--sources</c>, or one per 25,000 connections).
    /// </summary>
    public void PlanSources(int totalConnections)
    {
        if (Sources == 0 && totalConnections > 28_000)
        {
            Sources = (totalConnections + 24_999) / 25_000;
        }
    }

    public IPAddress? SourceFor(int index) => Sources <= 1 ? null : new IPAddress(new byte[] { 127, 0, 0, (byte)(1 + (index % Sources)) });

    public Task<LeanConnection> ConnectAsync(int index, int node, int receiveBufferSize = 16 * 1024, CancellationToken cancellationToken = default) =>
        LeanConnection.ConnectAsync(Urls[node % Urls.Count], SourceFor(index), Protocol, receiveBufferSize, cancellationToken);

    public async Task<int> RedisPidAsync()
    {
        if (_redisPid == 0 && Redis.Length > 0)
        {
            var info = await ProcessStats.RedisInfoAsync(Redis);
            _redisPid = int.Parse(info["process_id"], CultureInfo.InvariantCulture);
        }

        return _redisPid;
    }

    public async Task<long> RedisUsedMemoryAsync()
    {
        if (Redis.Length == 0)
        {
            return 0;
        }

        var info = await ProcessStats.RedisInfoAsync(Redis);
        return long.Parse(info["used_memory"], CultureInfo.InvariantCulture);
    }

    public async Task<CpuSnapshot> CpuAsync()
    {
        var redisPid = await RedisPidAsync();
        return new CpuSnapshot(
            Stopwatch.GetTimestamp(),
            ProcessStats.OwnCpuSeconds(),
            ServerPids.Select(ProcessStats.CpuSeconds).ToArray(),
            redisPid > 0 ? ProcessStats.CpuSeconds(redisPid) : 0);
    }

    public long ServerRss() => ServerPids.Sum(ProcessStats.RssBytes);

    /// <summary>CPU between two snapshots, per delivered message when <paramref name="messages"/> is given.</summary>
    public object CpuSummary(CpuSnapshot a, CpuSnapshot b, long messages)
    {
        var wall = (b.Timestamp - a.Timestamp) / (double)Stopwatch.Frequency;
        var servers = b.Servers.Zip(a.Servers, (x, y) => x - y).ToArray();
        var server = servers.Sum();
        var redis = b.Redis - a.Redis;
        var driver = b.Driver - a.Driver;
        double PerMessage(double seconds) => messages > 0 ? Math.Round(seconds * 1e6 / messages, 2) : 0;
        return new
        {
            wall_s = Math.Round(wall, 3),
            server_cpu_s = servers.Select(s => Math.Round(s, 3)).ToArray(),
            redis_cpu_s = Math.Round(redis, 3),
            driver_cpu_s = Math.Round(driver, 3),
            server_cores = Math.Round(server / wall, 3),
            redis_cores = Math.Round(redis / wall, 3),
            driver_cores = Math.Round(driver / wall, 3),
            messages,
            server_us_per_msg = PerMessage(server),
            redis_us_per_msg = PerMessage(redis),
            total_us_per_msg = PerMessage(server + redis),
            driver_us_per_msg = PerMessage(driver),
        };
    }

    /// <summary>Prints <paramref name="line"/> to stderr every second until <paramref name="cancellationToken"/> fires.</summary>
    public async Task ProgressAsync(Func<string> line, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                var elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds;
                Console.Error.WriteLine($"[{Scenario} {elapsed,5:F0}s] {line()}");
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>
    /// Keeps connections alive: a hub ping to each every 15 s, spread over the interval (the server drops a
    /// client it has not heard from in 30 s). Runs until cancelled.
    /// </summary>
    public static async Task KeepAliveAsync(Func<IReadOnlyList<LeanConnection?>> connections, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        var slot = 0;
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                var list = connections();
                for (var i = slot; i < list.Count; i += 15)
                {
                    if (list[i] is { } c)
                    {
                        _ = c.PingAsync();
                    }
                }

                slot = (slot + 1) % 15;
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Writes the one JSON summary to stdout. Exit code: 0 when no problem was recorded, else 1.</summary>
    public int Finish(object results, object? cpu)
    {
        var summary = new Dictionary<string, object?>
        {
            ["scenario"] = Scenario,
            ["label"] = Label,
            ["run_id"] = RunId,
            ["protocol"] = Protocol == HubProtocolKind.Json ? "json" : "messagepack",
            ["urls"] = Urls.Select(u => u.ToString()).ToArray(),
            ["finished_utc"] = DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture),
            ["machine"] = new { cores = Environment.ProcessorCount, os = System.Runtime.InteropServices.RuntimeInformation.OSDescription, runtime = Environment.Version.ToString() },
            ["config"] = Options.Used,
            ["results"] = results,
            ["cpu"] = cpu,
            ["ok"] = _problems.Count == 0,
            ["problems"] = _problemsDropped == 0 ? _problems : [.. _problems, $"... and {_problemsDropped} more"],
        };
        Console.Out.WriteLine(JsonSerializer.Serialize(summary, new JsonSerializerOptions { WriteIndented = true }));
        return _problems.Count == 0 ? 0 : 1;
    }

    /// <summary>Runs <paramref name="work"/> over <paramref name="count"/> items with at most <paramref name="parallel"/> at once.</summary>
    public static Task ForEachAsync(int count, int parallel, Func<int, Task> work, CancellationToken cancellationToken = default) =>
        Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = parallel, CancellationToken = cancellationToken }, async (i, _) => await work(i));
}
