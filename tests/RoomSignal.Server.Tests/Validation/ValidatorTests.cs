using FluentValidation;
using Microsoft.Extensions.DependencyInjection;
using RoomSignal.Contracts;
using RoomSignal.Server.Validation;
using static RoomSignal.Server.Tests.Validation.ValidationCases;

namespace RoomSignal.Server.Tests.Validation;

/// <summary>The validators alone, row by row of the contract's table.</summary>
public sealed class ValidatorTests
{
    private const string GoodRoom = "room-1";
    private const string GoodTo = "peer-1";

    [Theory]
    [MemberData(nameof(ValidationCases.Rooms), MemberType = typeof(ValidationCases))]
    public void JoinChecksTheRoomName(string? room, string? expected)
        => Assert.Equal(expected, ValidationHubFilter.Validate(new JoinRoomRequestValidator(), new JoinRoomRequest(Expand(room))));

    [Theory]
    [MemberData(nameof(ValidationCases.Rooms), MemberType = typeof(ValidationCases))]
    public void ExitChecksTheRoomName(string? room, string? expected)
        => Assert.Equal(expected, ValidationHubFilter.Validate(new ExitRoomRequestValidator(), new ExitRoomRequest(Expand(room))));

    [Theory]
    [MemberData(nameof(ValidationCases.Rooms), MemberType = typeof(ValidationCases))]
    public void RelaysCheckTheRoomName(string? room, string? expected)
    {
        Assert.Equal(expected, ValidationHubFilter.Validate(new SdpRequestValidator(), new SdpRequest(GoodTo, Expand(room), "v=0")));
        Assert.Equal(expected, ValidationHubFilter.Validate(new CandidateRequestValidator(), new CandidateRequest(GoodTo, Expand(room), new IceCandidate("", null, null, null))));
    }

    [Theory]
    [MemberData(nameof(ValidationCases.Targets), MemberType = typeof(ValidationCases))]
    public void RelaysCheckTheTarget(string? to, string? expected)
    {
        Assert.Equal(expected, ValidationHubFilter.Validate(new SdpRequestValidator(), new SdpRequest(Expand(to), GoodRoom, "v=0")));
        Assert.Equal(expected, ValidationHubFilter.Validate(new CandidateRequestValidator(), new CandidateRequest(Expand(to), GoodRoom, new IceCandidate("", null, null, null))));
    }

    [Theory]
    [MemberData(nameof(ValidationCases.Sdps), MemberType = typeof(ValidationCases))]
    public void OffersAndAnswersCheckTheSdp(string? sdp, string? expected)
        => Assert.Equal(expected, ValidationHubFilter.Validate(new SdpRequestValidator(), new SdpRequest(GoodTo, GoodRoom, Expand(sdp))));

    [Theory]
    [MemberData(nameof(ValidationCases.Candidates), MemberType = typeof(ValidationCases))]
    public void CandidatesCheckEachField(string? candidate, string? sdpMid, int? sdpMLineIndex, string? usernameFragment, string? expected)
    {
        var request = new CandidateRequest(GoodTo, GoodRoom, new IceCandidate(Expand(candidate), Expand(sdpMid), sdpMLineIndex, Expand(usernameFragment)));
        Assert.Equal(expected, ValidationHubFilter.Validate(new CandidateRequestValidator(), request));
    }

    [Fact]
    public void AMissingCandidateObjectIsNamed()
        => Assert.Equal(CandidateRequired, ValidationHubFilter.Validate(new CandidateRequestValidator(), new CandidateRequest(GoodTo, GoodRoom, null)));

    [Fact]
    public void SeveralFailuresAreJoinedInFieldOrder()
        => Assert.Equal(
            $"{To}; {Room}; {Sdp}",
            ValidationHubFilter.Validate(new SdpRequestValidator(), new SdpRequest("", "bad room", "")));

    [Fact]
    public void AMissingRequestObjectNamesTheExpectedShape()
    {
        Assert.Equal("request: must be an object {room}", ValidationHubFilter.Validate(new JoinRoomRequestValidator(), null));
        Assert.Equal("request: must be an object {room}", ValidationHubFilter.Validate(new ExitRoomRequestValidator(), null));
        Assert.Equal("request: must be an object {to, room, sdp}", ValidationHubFilter.Validate(new SdpRequestValidator(), null));
        Assert.Equal("request: must be an object {to, room, candidate}", ValidationHubFilter.Validate(new CandidateRequestValidator(), null));
    }

    [Fact]
    public void EveryHubMethodArgumentHasARegisteredValidator()
    {
        var services = new ServiceCollection().AddLogging().AddRoomSignalValidation().BuildServiceProvider();
        var filter = services.GetRequiredService<ValidationHubFilter>();
        foreach (var method in typeof(IRoomHub).GetMethods())
        {
            var validators = filter.ResolveValidators(method);
            Assert.Equal(method.GetParameters().Length, validators.Length);
        }

        Assert.Equal(4, typeof(IRoomHub).GetMethods().SelectMany(m => m.GetParameters()).Select(p => p.ParameterType).Distinct()
            .Count(t => services.GetService(typeof(IValidator<>).MakeGenericType(t)) is not null));
    }
}
