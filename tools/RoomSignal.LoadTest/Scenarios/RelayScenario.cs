using System.Diagnostics;
using RoomSignal.LoadTest.Metrics;
using RoomSignal.LoadTest.Wire;

namespace RoomSignal.LoadTest.Scenarios;

/// <summary>
/// <c>relay</c>: R rooms × P peers send offers, answers and candidates (1:1:2) to random members of their
/// room, either closed loop (each peer keeps at most <c>--window</c> messages undelivered) or open loop at a
/// fixed total <c>--rate</c> (latency then counts from the scheduled send time, so a stalled server cannot
/// hide its queue). With several URLs each room spans the nodes and, by default, every pair crosses nodes.
/// Every delivery is checked: right target, right <c>from</c>, not seen before.
/// </summary>
internal sealed class RelayScenario(RunContext run)
{
    private const string CandidateTail = " 1 udp 1677729535 203.0.113.7 46154 typ srflx raddr 10.0.0.2 rport 46154 generation 0 ufrag EEtu network-cost 999";
    private readonly Histogram _latency = new();
    private readonly Histogram _sendLag = new();
    private LeanConnection[] _peers = [];
    private int[][] _targets = [];
    private string[] _rooms = [];
    private long[][] _seen = [];
    private long[] _sentPerPeer = [];
    private SemaphoreSlim[] _windows = [];
    private long _sent;
    private long _delivered;
    private long _deliveredInWindow;
    private long _duplicated;
    private long _misrouted;
    private long _errors;
    private long _stalls;
    private long _measureStart = long.MaxValue;
    private long _measureEnd = long.MaxValue;
    private int _maxPerSender;
    private string _sdpPad = "";
    private readonly Dictionary<string, int> _errorTexts = new(StringComparer.Ordinal);

    public async Task<int> RunAsync()
    {
        var o = run.Options;
        var rooms = o.Int("rooms", 50, 1, 100_000);
        var size = o.Int("peers", 4, 2, 1000);
        var mode = o.String("mode", "closed");
        if (mode is not ("closed" or "open"))
        {
            throw new UsageException("--mode: closed or open");
        }

        var window = o.Int("window", 2, 1, 10_000);
        var rate = o.Double("rate", 5000, 1, 10_000_000);
        var arrivals = o.String("arrivals", "poisson");
        if (arrivals is not ("poisson" or "uniform"))
        {
            throw new UsageException("--arrivals: poisson or uniform");
        }

        var duration = o.Double("duration", 10, 0.5, 3600);
        var warmup = o.Double("warmup", 2, 0, 600);
        var sdpBytes = o.Int("sdp-bytes", 1000, 64, 60_000);
        var maxMessages = o.Int("max-messages", 5_000_000, 1, 100_000_000);
        var pairs = o.String("pairs", "cross");
        var drainSeconds = o.Double("drain", 5, 0, 60);
        o.RejectUnknown();

        var total = rooms * size;
        run.PlanSources(total);
        _maxPerSender = Math.Max(1, maxMessages / total);
        _sdpPad = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\n" + new string('a', sdpBytes);
        _sdpPad = _sdpPad[..(sdpBytes - 40)];
        _seen = new long[total][];
        _sentPerPeer = new long[total];
        _windows = new SemaphoreSlim[total];
        _rooms = new string[rooms];
        for (var r = 0; r < rooms; r++)
        {
            _rooms[r] = $"relay-{run.RunId}-{r}";
        }

        // Connect and join: member j of a room goes to node j % nodes, so every room spans the nodes.
        _peers = new LeanConnection[total];
        var connectWatch = Stopwatch.StartNew();
        await RunContext.ForEachAsync(total, 64, async i =>
        {
            var c = await run.ConnectAsync(i, i % size);
            c.Index = i;
            c.Node = i % size % run.Urls.Count;
            c.OnMessage = OnMessage;
            c.OnCompletion = OnCompletion;
            _peers[i] = c;
            _seen[i] = new long[(_maxPerSender + 63) / 64];
            _windows[i] = new SemaphoreSlim(window); // no maximum: a reclaimed slot may be released late
        });
        await RunContext.ForEachAsync(total, 32, async i =>
        {
            var joined = await _peers[i].InvokeAsync("CreateAndJoinRoom", new Payload { Room = _rooms[i / size] }, TimeSpan.FromSeconds(10));
            if (joined.Error is not null)
            {
                throw new InvalidOperationException($"join failed: {joined.Error}");
            }

            _peers[i].ConnectionId = joined.Id;
        });
        Console.Error.WriteLine($"[relay] {total} peers connected and joined {rooms} rooms in {connectWatch.Elapsed.TotalSeconds:F1} s");

        var cross = pairs == "cross" && run.Urls.Count > 1;
        _targets = new int[total][];
        for (var i = 0; i < total; i++)
        {
            var first = i / size * size;
            _targets[i] = Enumerable.Range(first, size).Where(t => t != i && (!cross || _peers[t].Node != _peers[i].Node)).ToArray();
            if (_targets[i].Length == 0)
            {
                throw new UsageException($"peer {i} has no target: rooms of {size} over {run.Urls.Count} nodes with --pairs {pairs}");
            }
        }

        // Run: warm-up, then the measured window (latency and rate count messages sent inside it).
        using var stop = new CancellationTokenSource();
        using var progressStop = new CancellationTokenSource();
        var started = Stopwatch.GetTimestamp();
        var plannedStart = started + (long)(warmup * Stopwatch.Frequency);
        var lastSent = 0L;
        var lastDelivered = 0L;
        var progress = run.ProgressAsync(() =>
        {
            var s = Interlocked.Read(ref _sent);
            var d = Interlocked.Read(ref _delivered);
            var line = $"sent {s} (+{s - lastSent}/s) delivered {d} (+{d - lastDelivered}/s) in flight {s - d - _errors} p99 {_latency.Quantile(0.99):F2} ms errors {_errors} misrouted {_misrouted} dup {_duplicated}";
            lastSent = s;
            lastDelivered = d;
            return line;
        }, progressStop.Token);

        var senders = mode == "closed"
            ? Enumerable.Range(0, total).Select(i => Task.Run(() => ClosedLoopAsync(i, stop.Token))).ToArray()
            : [Task.Factory.StartNew(() => OpenLoop(rate, arrivals == "poisson", started, stop.Token), TaskCreationOptions.LongRunning)];

        // Wait for the window's start, snapshot CPU, wait for its end, snapshot again. The window starts when
        // this wakes (a busy machine may wake it late), so CPU, rate and latency all cover the same interval.
        await SleepUntilAsync(plannedStart);
        var windowStart = Stopwatch.GetTimestamp();
        Volatile.Write(ref _measureEnd, windowStart + (long)(duration * Stopwatch.Frequency));
        Volatile.Write(ref _measureStart, windowStart);
        var cpuStart = await run.CpuAsync();
        var deliveredAtStart = Interlocked.Read(ref _delivered);
        await SleepUntilAsync(Math.Min(_measureEnd, run.Deadline));
        var cpuEnd = await run.CpuAsync();
        var deliveredAtEnd = Interlocked.Read(ref _delivered);
        stop.Cancel();
        await Task.WhenAll(senders);

        // Drain: wait for what is still in flight.
        var drainUntil = Stopwatch.GetTimestamp() + (long)(drainSeconds * Stopwatch.Frequency);
        while (Interlocked.Read(ref _delivered) + Interlocked.Read(ref _errors) + Interlocked.Read(ref _misrouted) < Interlocked.Read(ref _sent)
            && Stopwatch.GetTimestamp() < drainUntil)
        {
            await Task.Delay(20);
        }

        progressStop.Cancel();
        await progress;
        var closedEarly = _peers.Count(p => p.Closed.IsCompleted);
        await RunContext.ForEachAsync(total, 64, i => _peers[i].CloseAsync(TimeSpan.FromSeconds(2)));

        var sent = Interlocked.Read(ref _sent);
        var lost = sent - _delivered - _errors - _misrouted;
        var measured = (_measureEnd - _measureStart) / (double)Stopwatch.Frequency;
        if (lost != 0)
        {
            run.Problem($"{lost} messages lost");
        }

        if (_duplicated != 0)
        {
            run.Problem($"{_duplicated} messages delivered twice");
        }

        if (_misrouted != 0)
        {
            run.Problem($"{_misrouted} messages misrouted");
        }

        if (_errors != 0)
        {
            run.Problem($"{_errors} relays refused: {string.Join("; ", _errorTexts.Select(e => $"{e.Value}× {e.Key}"))}");
        }

        if (closedEarly != 0)
        {
            run.Problem($"{closedEarly} connections closed during the run");
        }

        if (_deliveredInWindow == 0)
        {
            run.Problem("nothing was delivered in the measured window");
        }

        var results = new
        {
            mode,
            rooms,
            peers_per_room = size,
            peers = total,
            nodes = run.Urls.Count,
            cross_node_pairs_only = cross,
            window = mode == "closed" ? window : 0,
            offered_rate = mode == "open" ? rate : 0,
            arrivals = mode == "open" ? arrivals : "closed",
            measured_s = Math.Round(measured, 3),
            sent,
            delivered = _delivered,
            delivered_in_window = _deliveredInWindow,
            delivered_per_s = Math.Round(_deliveredInWindow / measured, 1),
            lost,
            duplicated = _duplicated,
            misrouted = _misrouted,
            errors = _errors,
            window_stalls = _stalls,
            latency = _latency.Summary(),
            send_lag = _sendLag.Summary(),
        };
        return run.Finish(results, run.CpuSummary(cpuStart, cpuEnd, deliveredAtEnd - deliveredAtStart));
    }

    private async Task ClosedLoopAsync(int i, CancellationToken stop)
    {
        var rng = new Random(i);
        var peer = _peers[i];
        try
        {
            while (!stop.IsCancellationRequested && _sentPerPeer[i] < _maxPerSender && !run.PastDeadline)
            {
                if (!await _windows[i].WaitAsync(TimeSpan.FromSeconds(2), stop))
                {
                    Interlocked.Increment(ref _stalls); // a lost message would shrink the window for good; go on without it
                }

                await SendOneAsync(peer, i, rng, Stopwatch.GetTimestamp());
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>
    /// The open loop: one thread of its own sends every message at its scheduled time and sleeps in between with
    /// a sub-millisecond <c>nanosleep</c>. With <c>--arrivals poisson</c> (the default) the gaps between scheduled
    /// times are drawn from an exponential distribution of mean 1/rate, as the sends of many independent peers
    /// arrive; with <c>uniform</c> they are all 1/rate. Timer and thread-pool wake-ups (<c>Task.Delay</c>) are
    /// late by milliseconds on a busy 2-core machine, and since latency counts from the scheduled time, that
    /// lateness would be measured as the server's; <c>send_lag</c> in the summary reports what is left of it. A
    /// send that does not complete at once is not waited for (the connection's send lock keeps its order), so a
    /// slow connection does not delay the others' schedule.
    /// </summary>
    private void OpenLoop(double totalRate, bool poisson, long started, CancellationToken stop)
    {
        var rng = new Random(0);
        var gaps = new Random(1);
        var ticksPerMessage = Stopwatch.Frequency / totalRate;
        var pending = new List<Task>();
        var scheduledAt = (double)started;
        long n = 0;
        while (!stop.IsCancellationRequested && !run.PastDeadline)
        {
            var scheduled = (long)scheduledAt;
            var wait = scheduled - Stopwatch.GetTimestamp();
            if (wait > 0)
            {
                Pacing.Sleep(wait);
                continue;
            }

            var i = (int)(n % _peers.Length);
            if (_sentPerPeer[i] >= _maxPerSender)
            {
                break;
            }

            if (scheduled >= Volatile.Read(ref _measureStart) && scheduled < Volatile.Read(ref _measureEnd))
            {
                _sendLag.Record(LeanConnection.Micros(scheduled, Stopwatch.GetTimestamp()));
            }

            var send = SendOneAsync(_peers[i], i, rng, scheduled);
            if (!send.IsCompletedSuccessfully)
            {
                pending.Add(send.AsTask());
                if (pending.Count >= 1024)
                {
                    pending.RemoveAll(t => t.IsCompleted);
                }
            }

            n++;
            scheduledAt += poisson ? -Math.Log(1 - gaps.NextDouble()) * ticksPerMessage : ticksPerMessage;
        }

        try
        {
            Task.WaitAll([.. pending], TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
            // A send that failed (its connection dropped) shows up as lost or as a connection closed during the run.
        }
    }

    private async ValueTask SendOneAsync(LeanConnection peer, int i, Random rng, long stamp)
    {
        var targets = _targets[i];
        var t = targets[targets.Length == 1 ? 0 : rng.Next(targets.Length)];
        var seq = _sentPerPeer[i]++;
        var marker = HubCodec.MarkerText(i, t, seq, stamp);
        var room = _rooms[i / (_peers.Length / _rooms.Length)];
        var to = _peers[t].ConnectionId;
        Interlocked.Increment(ref _sent);
        switch (seq & 3)
        {
            case 0:
                await peer.SendAsync("Offer", new Payload { To = to, Room = room, Sdp = marker + _sdpPad });
                break;
            case 1:
                await peer.SendAsync("Answer", new Payload { To = to, Room = room, Sdp = marker + _sdpPad });
                break;
            default:
                await peer.SendAsync("Candidate", new Payload
                {
                    To = to,
                    Room = room,
                    HasCandidate = true,
                    CandidateText = "candidate:" + marker + CandidateTail,
                    SdpMid = "0",
                    SdpMLineIndex = 0,
                    UsernameFragment = "EEtu",
                });
                break;
        }
    }

    private void OnMessage(LeanConnection self, HubMessage m)
    {
        if (m.Target is not (HubTarget.Offer or HubTarget.Answer or HubTarget.Candidate))
        {
            return;
        }

        var now = Stopwatch.GetTimestamp();
        if (!m.HasMarker || m.Marker.Sender < 0 || m.Marker.Sender >= _peers.Length)
        {
            Interlocked.Increment(ref _misrouted);
            return;
        }

        var k = m.Marker;
        if (k.Target != self.Index || m.To != self.ConnectionId || m.From != _peers[k.Sender].ConnectionId || k.Seq >= _maxPerSender)
        {
            Interlocked.Increment(ref _misrouted);
            _windows[k.Sender].Release();
            return;
        }

        var bits = _seen[k.Sender];
        var bit = 1L << (int)(k.Seq & 63);
        if ((Interlocked.Or(ref bits[k.Seq >> 6], bit) & bit) != 0)
        {
            Interlocked.Increment(ref _duplicated);
            return;
        }

        Interlocked.Increment(ref _delivered);
        if (k.Ticks >= _measureStart && k.Ticks < _measureEnd)
        {
            Interlocked.Increment(ref _deliveredInWindow);
            _latency.Record(LeanConnection.Micros(k.Ticks, now));
        }

        _windows[k.Sender].Release();
    }

    private void OnCompletion(LeanConnection self, HubMessage m)
    {
        if (m.Error is null)
        {
            return;
        }

        Interlocked.Increment(ref _errors);
        lock (_errorTexts)
        {
            _errorTexts[m.Error] = _errorTexts.GetValueOrDefault(m.Error) + 1;
        }

        _windows[self.Index].Release();
    }

    private static async Task SleepUntilAsync(long timestamp)
    {
        var wait = (timestamp - Stopwatch.GetTimestamp()) / (double)Stopwatch.Frequency;
        if (wait > 0)
        {
            await Task.Delay(TimeSpan.FromSeconds(wait));
        }
    }
}
