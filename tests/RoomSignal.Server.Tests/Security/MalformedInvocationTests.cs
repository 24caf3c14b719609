using System.Text;
using System.Text.Json;
using RoomSignal.Contracts;
using RoomSignal.Server.Tests.Support;
using RoomSignal.Testing;
using Xunit.Abstractions;

namespace RoomSignal.Server.Tests.Security;

/// <summary>
/// 10,000 random malformed invocations over a raw WebSocket (well-formed SignalR JSON frames with wrong contents):
/// each is answered, with an error that says what is wrong and leaks nothing internal, while a room on the same node
/// keeps relaying and loses nothing.
/// </summary>
public sealed class MalformedInvocationTests(ITestOutputHelper output)
{
    private const int Invocations = 10_000;
    private const int Batch = 100;
    private static readonly string[] Targets = ["CreateAndJoinRoom", "Exit", "Offer", "Answer", "Candidate", "Nope", "", "createandjoinroom", "OnConnectedAsync", "Dispose"];
    private static readonly string[] Odd = ["", " ", "\u0000", "\u202eevil", "\u200b", "🎥📞", "\ud800", "a\udc00b", "room\nname", "../../etc", "<script>", "' OR 1=1 --", "Ω≈ç√", "\uffff", "%00"];

    [Fact]
    public async Task TenThousandRandomMalformedInvocationsAreEachAnsweredClearlyWhileARoomLosesNothing()
    {
        // The fuzzer is one connection far past the default rate: lift the limits for it, the rules are what is tested.
        await using var node = await RoomSignalNode.StartAsync(new Dictionary<string, string?>
        {
            ["RoomSignal:Limits:InvocationsPerSecond"] = "1000000",
            ["RoomSignal:Limits:InvocationBurst"] = "1000000",
            ["RoomSignal:Limits:JoinsPerSecond"] = "1000000",
            ["RoomSignal:Limits:JoinBurst"] = "1000000",
        });
        var room = TestNames.Unique("calm");
        await using var a = await TestPeer.ConnectAsync(node);
        await using var b = await TestPeer.ConnectAsync(node);
        await a.JoinAsync(room);
        await b.JoinAsync(room);
        using var stopCalm = new CancellationTokenSource();
        var calmSent = 0;
        var calm = Task.Run(async () =>
        {
            while (!stopCalm.IsCancellationRequested)
            {
                await a.Client.SendOfferAsync(b.Id, room, "calm-" + calmSent);
                calmSent++;
                await Task.Delay(5);
            }
        });

        var random = new Random(20261201);
        var errors = new Dictionary<string, int>(StringComparer.Ordinal);
        var answered = 0;
        var succeeded = 0;
        await using (var fuzzer = await RawHubSocket.ConnectAsync(node.HubUri).Within("the fuzzer to connect"))
        {
            for (var start = 0; start < Invocations; start += Batch)
            {
                var pending = new HashSet<string>(StringComparer.Ordinal);
                for (var i = start; i < start + Batch; i++)
                {
                    var id = i.ToString(System.Globalization.CultureInfo.InvariantCulture);
                    pending.Add(id);
                    await fuzzer.SendAsync(Invocation(random, id));
                }

                while (pending.Count > 0)
                {
                    var text = await fuzzer.ReceiveAsync().Within($"answers to invocations {start}..{start + Batch - 1} ({pending.Count} missing)");
                    Assert.True(text is not null, "the server closed the fuzzer's connection; still waiting for " + string.Join(",", pending.Take(5)));
                    foreach (var frame in text.Split(RawHubSocket.RecordSeparator, StringSplitOptions.RemoveEmptyEntries))
                    {
                        using var message = JsonDocument.Parse(frame);
                        var root = message.RootElement;
                        if (root.GetProperty("type").GetInt32() != 3)
                        {
                            continue; // pings, or events for rooms the fuzzer happened to join
                        }

                        var id = root.GetProperty("invocationId").GetString()!;
                        Assert.True(pending.Remove(id), "an answer to an invocation never sent or answered twice: " + id);
                        answered++;
                        if (root.TryGetProperty("error", out var error))
                        {
                            var e = error.GetString()!;
                            AssertClear(e);
                            var key = e.Length > 60 ? e[..60] : e;
                            errors[key] = errors.GetValueOrDefault(key) + 1;
                        }
                        else
                        {
                            succeeded++;
                        }
                    }
                }
            }
        }

        await stopCalm.CancelAsync();
        await calm.Within("the calm sender to stop");
        await Eventually.UntilAsync(() => b.Count(RoomClientEvents.Offer) == calmSent, $"all {calmSent} calm offers to arrive");
        Assert.Equal(Enumerable.Range(0, calmSent).Select(i => "calm-" + i), b.All<SdpMessage>(RoomClientEvents.Offer).Select(m => m.Sdp));
        output.WriteLine($"{answered} answered ({succeeded} valid by chance), {calmSent} calm offers delivered; errors by start:");
        foreach (var (text, count) in errors.OrderByDescending(e => e.Value).Take(25))
        {
            output.WriteLine($"  {count,5}  {text}");
        }

        Assert.Equal(Invocations, answered);
        Assert.True(errors.Values.Sum() > Invocations * 9 / 10, "most random invocations should be refused");
    }

    /// <summary>A refusal names what is wrong; it never carries a stack trace, our type names or an unexpected error.</summary>
    private static void AssertClear(string error)
    {
        Assert.False(string.IsNullOrWhiteSpace(error));
        // SignalR words every HubException as "An unexpected error occurred invoking 'X' on the server. HubException: ...";
        // without that suffix the error was an exception of ours that we did not mean to throw.
        if (error.StartsWith("An unexpected error occurred", StringComparison.Ordinal))
        {
            Assert.Contains(" HubException: ", error, StringComparison.Ordinal);
        }

        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal); // a stack frame
        Assert.DoesNotContain("\n", error, StringComparison.Ordinal);
        Assert.DoesNotContain("RoomSignal.", error, StringComparison.Ordinal);
        Assert.DoesNotContain("NullReference", error, StringComparison.Ordinal);
    }

    private static string Invocation(Random random, string id)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteNumber("type", 1);
            json.WriteString("invocationId", id);
            json.WriteString("target", Targets[random.Next(Targets.Length)]);
            json.WriteStartArray("arguments");
            var count = random.Next(10) switch { 0 => 0, 1 => 2, 2 => 3, _ => 1 };
            for (var i = 0; i < count; i++)
            {
                WriteValue(json, random, depth: 0);
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void WriteValue(Utf8JsonWriter json, Random random, int depth)
    {
        switch (random.Next(depth > 1 ? 7 : 9))
        {
            case 0: json.WriteNullValue(); break;
            case 1: json.WriteNumberValue(random.Next(10) == 0 ? long.MaxValue : random.Next(-5, 2000)); break;
            case 2: json.WriteBooleanValue(random.Next(2) == 0); break;
            case 3: json.WriteStringValue(RandomString(random)); break;
            case 4: json.WriteStringValue(Odd[random.Next(Odd.Length)]); break;
            case 5: json.WriteNumberValue(random.NextDouble() * 1e300); break;
            case 6: json.WriteStringValue(new string('x', random.Next(10) == 0 ? 30_000 : 300)); break;
            case 7:
                json.WriteStartArray();
                for (var i = random.Next(4); i > 0; i--)
                {
                    WriteValue(json, random, depth + 1);
                }

                json.WriteEndArray();
                break;
            default:
                json.WriteStartObject();
                foreach (var field in new[] { "room", "to", "sdp", "candidate", "sdpMid", "sdpMLineIndex", "usernameFragment", "extra" })
                {
                    if (random.Next(3) != 0)
                    {
                        json.WritePropertyName(field);
                        if (field == "room" && random.Next(3) == 0)
                        {
                            json.WriteStringValue("fuzz-" + random.Next(50));
                        }
                        else
                        {
                            WriteValue(json, random, depth + 1);
                        }
                    }
                }

                json.WriteEndObject();
                break;
        }
    }

    private static string RandomString(Random random)
    {
        var chars = new char[random.Next(0, 80)];
        for (var i = 0; i < chars.Length; i++)
        {
            chars[i] = (char)random.Next(0x20, 0x3000);
        }

        return new string(chars);
    }
}
