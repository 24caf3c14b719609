using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization;
using MessagePack;
using RoomSignal.Contracts;

namespace RoomSignal.Server.Tests.Client;

/// <summary>
/// What a MessagePack client (the JS SDK's msgpack protocol in particular) sees on the wire: the same field names
/// as over JSON, so that <c>msg.id</c>, <c>msg.from</c> and <c>candidate.sdpMLineIndex</c> read the same either way.
/// </summary>
public sealed class MessagePackWireFormatTests
{
    private static readonly MessagePackSerializerOptions Options = RoomSignalMessagePack.SerializerOptions;

    public static TheoryData<object> ServerMessages() =>
    [
        new RoomJoined("me", "lobby", [new PeerInfo("a"), new PeerInfo("b")]),
        new PeerJoined("a", "lobby"),
        new PeerExited("a", "lobby"),
        new SdpMessage("a", "b", "lobby", "v=0 café 🎥"),
        new CandidateMessage("a", "b", "lobby", new IceCandidate("candidate:1 1 udp 1 192.0.2.1 9 typ host", "0", 0, "frag")),
        new CandidateMessage("a", "b", "lobby", new IceCandidate("", null, null, null)),
        // With auth on: user ids and names, present or left out.
        new RoomJoined("me", "lobby", [new PeerInfo("a") { UserId = "alice", Name = "Alice" }, new PeerInfo("b") { UserId = "bob" }]) { UserId = "me-user" },
        new PeerJoined("a", "lobby") { UserId = "alice", Name = "Alice" },
        new PeerExited("a", "lobby") { UserId = "alice" },
        // The change number and the identity side by side.
        new RoomJoined("me", "lobby", [new PeerInfo("a") { UserId = "alice" }], 12) { UserId = "me-user", Name = "Me" },
        new PeerJoined("a", "lobby", 13) { UserId = "alice" },
        new PeerExited("a", "lobby", 14) { UserId = "alice", Name = "Alice" },
        new SdpMessage("a", "b", "lobby", "v=0") { UserId = "alice", Name = "Alice" },
        new IceServerList([new IceServer(["stun:s.example:3478"]), new IceServer(["turn:t.example:3478"]) { Username = "1:alice", Credential = "c2VjcmV0" }], 3600),
    ];

    [Theory]
    [MemberData(nameof(ServerMessages))]
    public void EveryServerMessageHasTheSameFieldNamesAndValuesAsItsJson(object message)
    {
        var bytes = MessagePackSerializer.Serialize(message.GetType(), message, Options);

        // MessagePack's own JSON rendering of the map, next to what SignalR's JSON protocol sends (camelCase).
        var fromMessagePack = JsonDocument.Parse(MessagePackSerializer.ConvertToJson(bytes, Options)).RootElement;
        var fromJson = JsonSerializer.SerializeToElement(message, message.GetType(), new JsonSerializerOptions(JsonSerializerDefaults.Web));
        Assert.True(JsonElement.DeepEquals(fromJson, fromMessagePack), $"MessagePack {fromMessagePack} differs from JSON {fromJson}");
        Assert.Equal(
            fromJson.EnumerateObject().Select(p => p.Name),
            fromMessagePack.EnumerateObject().Select(p => p.Name));
        Assert.Equal(message, MessagePackSerializer.Deserialize(message.GetType(), bytes, Options), new RecordComparer());
    }

    [Fact]
    public void AJoinRequestIsReadWhateverTheCaseOfItsKeysAndUnknownKeysAreSkipped()
    {
        foreach (var key in new[] { "room", "Room", "ROOM" })
        {
            var bytes = Map((key, "lobby"), ("extra", 42), ("nested", new Dictionary<string, object> { ["x"] = "y" }));
            Assert.Equal(new JoinRoomRequest("lobby"), MessagePackSerializer.Deserialize<JoinRoomRequest>(bytes, Options));
        }
    }

    [Fact]
    public void AMissingOrNilFieldArrivesAsNullForTheValidatorToName()
    {
        Assert.Equal(new SdpRequest(null, "lobby", null), MessagePackSerializer.Deserialize<SdpRequest>(Map(("room", "lobby"), ("sdp", null)), Options));
        Assert.Null(MessagePackSerializer.Deserialize<JoinRoomRequest>(MessagePackSerializer.Serialize<JoinRoomRequest?>(null, Options, CancellationToken.None), Options));
        var candidate = MessagePackSerializer.Deserialize<CandidateRequest>(
            Map(("to", "b"), ("room", "lobby"), ("candidate", new Dictionary<string, object?> { ["candidate"] = "", ["sdpMLineIndex"] = null })), Options);
        Assert.Equal(new IceCandidate("", null, null, null), candidate.Candidate);
    }

    [Fact]
    public void JsonNamingAttributesAreHonouredSoBothProtocolsStayAlike()
    {
        foreach (var message in new[] { new Annotated("x", null, "z"), new Annotated("x", "y", "z") })
        {
            var fromMessagePack = JsonDocument.Parse(MessagePackSerializer.ConvertToJson(MessagePackSerializer.Serialize(message, Options))).RootElement;
            var fromJson = JsonSerializer.SerializeToElement(message, new JsonSerializerOptions(JsonSerializerDefaults.Web));
            Assert.True(JsonElement.DeepEquals(fromJson, fromMessagePack), $"MessagePack {fromMessagePack} differs from JSON {fromJson}");
            Assert.Equal(message, MessagePackSerializer.Deserialize<Annotated>(MessagePackSerializer.Serialize(message, Options), Options));
        }
    }

    public sealed record Annotated(
        [property: JsonPropertyName("renamed")] string Plain,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Optional,
        string Last)
    {
        [JsonIgnore]
        public string Hidden => "never on the wire";
    }

    private static byte[] Map(params (string Key, object? Value)[] entries)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        writer.WriteMapHeader(entries.Length);
        foreach (var (key, value) in entries)
        {
            writer.Write(key);
            MessagePackSerializer.Serialize(ref writer, value, MessagePack.Resolvers.ContractlessStandardResolver.Options);
        }

        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Records compare their lists by reference; compare through JSON instead.</summary>
    private sealed class RecordComparer : IEqualityComparer<object?>
    {
        public new bool Equals(object? x, object? y) => JsonSerializer.Serialize(x) == JsonSerializer.Serialize(y);

        public int GetHashCode(object? obj) => 0;
    }
}
