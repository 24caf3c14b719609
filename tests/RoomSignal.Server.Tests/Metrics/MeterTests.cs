using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using RoomSignal.Contracts;
using RoomSignal.Server.Metrics;
using RoomSignal.Testing;

namespace RoomSignal.Server.Tests.Metrics;

public sealed class MeterTests
{
    private static readonly Dictionary<string, string?> Configuration = new()
    {
        ["RoomSignal:Rooms:MaxPeers"] = "2",
        ["RoomSignal:Limits:InvocationBurst"] = "40",
        ["RoomSignal:Limits:InvocationsPerSecond"] = "1",
        ["RoomSignal:Limits:DisconnectAfterRefusals"] = "1000",
    };

    [Fact]
    public async Task TheRoomSignalMeterCountsConnectionsRoomsJoinsRelaysAndRefusalsOfRealTraffic()
    {
        await using var node = await RoomSignalNode.StartAsync(Configuration);
        using var meter = new Recorder(node);

        var room = TestNames.Unique("metered");
        await using (var a = await TestPeer.ConnectAsync(node))
        await using (var b = await TestPeer.ConnectAsync(node))
        await using (var c = await TestPeer.ConnectAsync(node))
        {
            await a.JoinAsync(room);
            await b.JoinAsync(room);
            await a.JoinAsync(room); // again: already a member
            await Assert.ThrowsAsync<HubException>(() => c.JoinAsync(room)); // full at 2
            await Assert.ThrowsAsync<HubException>(() => c.JoinAsync("bad room!")); // invalid
            await a.Client.SendOfferAsync(b.Id, room, "v=0").Within("an offer");
            await b.Client.SendAnswerAsync(a.Id, room, "v=0").Within("an answer");
            await a.Client.SendCandidateAsync(b.Id, room, new IceCandidate("candidate:1 1 udp 1 127.0.0.1 9 typ host", "0", 0, null)).Within("a candidate");
            await Assert.ThrowsAsync<HubException>(() => c.Client.SendOfferAsync(a.Id, room, "v=0")); // c is no member
            var rateLimited = 0;
            for (var i = 0; i < 60 && rateLimited == 0; i++)
            {
                try
                {
                    await c.Client.ExitAsync(room).Within("an exit");
                }
                catch (HubException ex) when (ex.Message.StartsWith("rate:", StringComparison.Ordinal))
                {
                    rateLimited++;
                }
            }

            Assert.Equal(1, rateLimited);
            await Eventually.UntilAsync(() => meter.Sum("roomsignal.connections") == 3, "three connections counted");
            meter.Observe();
            Assert.Equal(1, meter.Last("roomsignal.rooms"));
            Assert.Equal(2, meter.Sum("roomsignal.room.members"));
            Assert.Equal(2, meter.Sum("roomsignal.joins", ("outcome", "joined")));
            Assert.Equal(1, meter.Sum("roomsignal.joins", ("outcome", "already_member")));
            Assert.Equal(1, meter.Sum("roomsignal.join.refusals", ("reason", "full")));
            Assert.Equal(1, meter.Sum("roomsignal.join.refusals", ("reason", "invalid")));
            Assert.Equal(1, meter.Sum("roomsignal.relays", ("kind", "offer")));
            Assert.Equal(1, meter.Sum("roomsignal.relays", ("kind", "answer")));
            Assert.Equal(1, meter.Sum("roomsignal.relays", ("kind", "candidate")));
            Assert.Equal(1, meter.Sum("roomsignal.relay.refusals", ("kind", "offer"), ("reason", "not_member")));
            Assert.Equal(1, meter.Sum("roomsignal.rate_limited", ("bucket", "invocations")));
        }

        // Everyone left: the gauges come back down.
        await Eventually.UntilAsync(() => meter.Sum("roomsignal.connections") == 0, "the connections to be counted out");
        meter.Observe();
        Assert.Equal(0, meter.Sum("roomsignal.room.members"));
        Assert.Equal(0, meter.Last("roomsignal.rooms"));
    }

    [Fact]
    public async Task PrometheusScrapesTheMeterAtMetricsWhenEnabled()
    {
        // A node process of its own: the exporter listens to every meter named RoomSignal in its process, and in the test
        // process the connections of other tests' nodes, opened before it listened, would be counted out of its series.
        await using var node = await RoomSignalProcess.StartAsync(new Dictionary<string, string?>(Configuration) { ["RoomSignal:Metrics:Prometheus"] = "true" });
        await using var a = await TestPeer.ConnectAsync(node);
        await a.JoinAsync(TestNames.Unique("scraped"));
        using var http = new HttpClient { BaseAddress = node.BaseUri };

        var body = "";
        await Eventually.UntilAsync(async () =>
        {
            body = await http.GetStringAsync("metrics");
            return Regex.IsMatch(body, @"^roomsignal_joins_total\{[^}]*outcome=""joined""[^}]*\} [1-9][0-9]*", RegexOptions.Multiline);
        }, "/metrics to show the join");
        Assert.Matches(new Regex(@"^roomsignal_connections(\{[^}]*\})? [1-9][0-9]*", RegexOptions.Multiline), body);
        Assert.Contains("kestrel_", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MetricsIsNotServedUnlessEnabled()
    {
        await using var node = await RoomSignalNode.StartAsync();
        using var http = new HttpClient { BaseAddress = node.BaseUri };

        using var response = await http.GetAsync("metrics").Within("GET /metrics");

        Assert.Equal(System.Net.HttpStatusCode.NotFound, response.StatusCode);
    }

    /// <summary>Records every measurement of one node's RoomSignal meter (other nodes in this process have their own).</summary>
    private sealed class Recorder : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly ConcurrentQueue<(string Name, long Value, KeyValuePair<string, object?>[] Tags)> _measurements = new();

        public Recorder(RoomSignalNode node)
        {
            var scope = node.Services.GetRequiredService<IMeterFactory>();
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == RoomSignalMetrics.MeterName && ReferenceEquals(instrument.Meter.Scope, scope))
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => _measurements.Enqueue((instrument.Name, value, tags.ToArray())));
            _listener.SetMeasurementEventCallback<int>((instrument, value, tags, _) => _measurements.Enqueue((instrument.Name, value, tags.ToArray())));
            _listener.Start();
        }

        public void Observe() => _listener.RecordObservableInstruments();

        public long Sum(string name, params (string Key, string Value)[] tags)
            => Matching(name, tags).Sum(m => m.Value);

        public long Last(string name) => Matching(name, []).LastOrDefault().Value;

        public void Dispose() => _listener.Dispose();

        private IEnumerable<(string Name, long Value, KeyValuePair<string, object?>[] Tags)> Matching(string name, (string Key, string Value)[] tags)
            => _measurements.Where(m => m.Name == name && tags.All(t => m.Tags.Any(x => x.Key == t.Key && Equals(x.Value, t.Value))));
    }
}
