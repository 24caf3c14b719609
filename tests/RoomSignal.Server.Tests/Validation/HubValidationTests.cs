using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using RoomSignal.Contracts;
using RoomSignal.Server.Tests.Support;
using RoomSignal.Testing;
using static RoomSignal.Server.Tests.Validation.ValidationCases;

namespace RoomSignal.Server.Tests.Validation;

/// <summary>A node and two clients in one room, shared by the validation rows (which run one after another).</summary>
public sealed class RelayPairFixture : IAsyncLifetime
{
    public RoomSignalNode Node { get; private set; } = null!;

    public TestPeer Sender { get; private set; } = null!;

    public TestPeer Target { get; private set; } = null!;

    public string Room { get; } = TestNames.Unique("validation");

    public async Task InitializeAsync()
    {
        Node = await RoomSignalNode.StartAsync();
        Sender = await TestPeer.ConnectAsync(Node);
        Target = await TestPeer.ConnectAsync(Node);
        await Sender.JoinAsync(Room);
        await Target.JoinAsync(Room);
    }

    public async Task DisposeAsync()
    {
        await Sender.DisposeAsync();
        await Target.DisposeAsync();
        await Node.DisposeAsync();
    }
}

/// <summary>Every row of the contract's "Bad input" table through a real node and the real client.</summary>
public sealed class HubValidationTests(RelayPairFixture fixture) : IClassFixture<RelayPairFixture>
{
    private TestPeer Sender => fixture.Sender;
    private TestPeer Target => fixture.Target;
    private string Room => fixture.Room;

    [Theory]
    [MemberData(nameof(ValidationCases.Rooms), MemberType = typeof(ValidationCases))]
    public async Task CreateAndJoinRoomAcceptsOnlyValidRoomNames(string? room, string? expected)
    {
        var name = Expand(room);
        if (expected is null)
        {
            var joined = await Sender.Client.JoinAsync(name!).Within("a valid join");
            Assert.Equal(name, joined.Room);
            await Sender.Client.ExitAsync(name!).Within("leaving again");
        }
        else
        {
            var error = await Assert.ThrowsAsync<HubException>(() => Sender.Client.JoinAsync(name!).Within("a refused join"));
            Assert.Equal(expected, error.Message);
            Assert.DoesNotContain(Sender.Client.Rooms, r => r == name);
        }
    }

    [Theory]
    [MemberData(nameof(ValidationCases.Rooms), MemberType = typeof(ValidationCases))]
    public async Task ExitAcceptsOnlyValidRoomNames(string? room, string? expected)
    {
        var exit = Sender.Client.ExitAsync(Expand(room)!).Within("an exit");
        if (expected is null)
        {
            await exit;
        }
        else
        {
            Assert.Equal(expected, (await Assert.ThrowsAsync<HubException>(() => exit)).Message);
        }
    }

    [Theory]
    [MemberData(nameof(ValidationCases.Targets), MemberType = typeof(ValidationCases))]
    public async Task RelaysAcceptOnlyValidTargets(string? to, string? expected)
    {
        var target = Expand(to);
        var before = RelayedToTarget();

        var error = await Assert.ThrowsAsync<HubException>(() => Sender.Client.SendOfferAsync(target!, Room, "v=0").Within("an offer to a stranger"));

        // A valid id passes validation and is then refused because nobody by that id is in the room.
        Assert.Equal(expected ?? $"to: '{target}' is not a member of room '{Room}'", error.Message);
        await AssertNothingElseRelayedAsync(before);
    }

    [Theory]
    [MemberData(nameof(ValidationCases.Sdps), MemberType = typeof(ValidationCases))]
    public async Task OffersAndAnswersAcceptOnlyValidSdp(string? sdp, string? expected)
    {
        var body = Expand(sdp);
        var before = RelayedToTarget();
        if (expected is null)
        {
            await Sender.Client.SendOfferAsync(Target.Id, Room, body!).Within("a valid offer");
            await Sender.Client.SendAnswerAsync(Target.Id, Room, body!).Within("a valid answer");
            await Eventually.UntilAsync(() => RelayedToTarget() == before + 2, "the offer and the answer");
            var relayed = Target.Received.Skip(before).Select(m => (m.Event, ((SdpMessage)m.Payload).Sdp)).ToArray();
            Assert.Equal([(RoomClientEvents.Offer, body!), (RoomClientEvents.Answer, body!)], relayed);
        }
        else
        {
            var offer = await Assert.ThrowsAsync<HubException>(() => Sender.Client.SendOfferAsync(Target.Id, Room, body!).Within("a refused offer"));
            var answer = await Assert.ThrowsAsync<HubException>(() => Sender.Client.SendAnswerAsync(Target.Id, Room, body!).Within("a refused answer"));
            Assert.Equal(expected, offer.Message);
            Assert.Equal(expected, answer.Message);
            await AssertNothingElseRelayedAsync(before);
        }
    }

    [Theory]
    [MemberData(nameof(ValidationCases.Candidates), MemberType = typeof(ValidationCases))]
    public async Task CandidatesAcceptOnlyValidFields(string? candidate, string? sdpMid, int? sdpMLineIndex, string? usernameFragment, string? expected)
    {
        var ice = new IceCandidate(Expand(candidate), Expand(sdpMid), sdpMLineIndex, Expand(usernameFragment));
        var before = RelayedToTarget();
        if (expected is null)
        {
            await Sender.Client.SendCandidateAsync(Target.Id, Room, ice).Within("a valid candidate");
            await Eventually.UntilAsync(() => RelayedToTarget() == before + 1, "the candidate");
            Assert.Equal(new CandidateMessage(Sender.Id, Target.Id, Room, ice), Target.Received[before].Payload);
        }
        else
        {
            var error = await Assert.ThrowsAsync<HubException>(() => Sender.Client.SendCandidateAsync(Target.Id, Room, ice).Within("a refused candidate"));
            Assert.Equal(expected, error.Message);
            await AssertNothingElseRelayedAsync(before);
        }
    }

    [Fact]
    public async Task ACandidateRequestWithoutACandidateObjectIsRefused()
    {
        var before = RelayedToTarget();
        var error = await Assert.ThrowsAsync<HubException>(() => Sender.Client.SendCandidateAsync(Target.Id, Room, null!).Within("a refused candidate"));
        Assert.Equal(CandidateRequired, error.Message);
        await AssertNothingElseRelayedAsync(before);
    }

    [Fact]
    public async Task SeveralBadFieldsAreReportedTogether()
    {
        var error = await Assert.ThrowsAsync<HubException>(() => Sender.Client.SendOfferAsync("", "no spaces allowed", "").Within("a refused offer"));
        Assert.Equal($"{To}; {ValidationCases.Room}; {Sdp}", error.Message);
    }

    [Theory]
    [InlineData(nameof(IRoomHub.CreateAndJoinRoom), "request: must be an object {room}")]
    [InlineData(nameof(IRoomHub.Exit), "request: must be an object {room}")]
    [InlineData(nameof(IRoomHub.Offer), "request: must be an object {to, room, sdp}")]
    [InlineData(nameof(IRoomHub.Answer), "request: must be an object {to, room, sdp}")]
    [InlineData(nameof(IRoomHub.Candidate), "request: must be an object {to, room, candidate}")]
    public async Task ANullArgumentIsRefusedWithTheExpectedShape(string method, string expected)
    {
        await using var raw = fixture.Node.CreateHubConnection();
        await raw.StartAsync().Within("a raw connection");

        var error = await Assert.ThrowsAsync<HubException>(() => raw.InvokeAsync(method, (object?)null).Within("a null argument"));

        // On the wire SignalR puts its own sentence before the message; RoomSignalClient strips it.
        Assert.Equal($"An unexpected error occurred invoking '{method}' on the server. HubException: {expected}", error.Message);
    }

    [Fact]
    public async Task AnArgumentOfTheWrongJsonTypeFailsGenericallyAndTheConnectionStaysUsable()
    {
        await using var raw = fixture.Node.CreateHubConnection();
        await raw.StartAsync().Within("a raw connection");

        // A number where a string belongs fails while SignalR binds the arguments, before any filter runs.
        var error = await Assert.ThrowsAsync<HubException>(() => raw.InvokeAsync(nameof(IRoomHub.CreateAndJoinRoom), new { room = 42 }).Within("a mistyped join"));
        Assert.Equal("Failed to invoke 'CreateAndJoinRoom' due to an error on the server.", error.Message);

        var room = TestNames.Unique("typed");
        var joined = await raw.InvokeAsync<RoomJoined>(nameof(IRoomHub.CreateAndJoinRoom), new JoinRoomRequest(room)).Within("a proper join");
        Assert.Equal(room, joined.Room);
    }

    [Fact]
    public async Task ABadInvocationLeavesTheConnectionUsableAndOtherClientsUnaffected()
    {
        var before = RelayedToTarget();
        await Assert.ThrowsAsync<HubException>(() => Sender.Client.SendOfferAsync(Target.Id, "bad room!", "v=0").Within("a refused offer"));
        await Assert.ThrowsAsync<HubException>(() => Sender.Client.JoinAsync("").Within("a refused join"));

        Assert.Equal(HubConnectionState.Connected, Sender.Client.State);
        await Sender.Client.SendOfferAsync(Target.Id, Room, "v=0 after the errors").Within("a good offer");
        await Target.Client.SendAnswerAsync(Sender.Id, Room, "v=0 answer").Within("the answer back");
        await Eventually.UntilAsync(() => RelayedToTarget() == before + 1, "the good offer");
        Assert.Equal(new SdpMessage(Sender.Id, Target.Id, Room, "v=0 after the errors"), Target.Received[before].Payload);
        await Sender.WaitForAsync<SdpMessage>(RoomClientEvents.Answer, a => a.Sdp == "v=0 answer", "the answer");
    }

    private int RelayedToTarget() => Target.Received.Count;

    /// <summary>Positive control: a legitimate offer sent now is the one and only message the target receives.</summary>
    private async Task AssertNothingElseRelayedAsync(int before)
    {
        var marker = "v=0 control " + Guid.NewGuid().ToString("N");
        await Sender.Client.SendOfferAsync(Target.Id, Room, marker).Within("the control offer");
        await Target.WaitForAsync<SdpMessage>(RoomClientEvents.Offer, o => o.Sdp == marker, "the control offer");
        var since = Target.Received.Skip(before).ToArray();
        Assert.Equal(new SdpMessage(Sender.Id, Target.Id, Room, marker), Assert.Single(since).Payload);
    }
}
