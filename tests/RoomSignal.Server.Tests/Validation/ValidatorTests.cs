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
        => AssertValidation(expected, new JoinRoomRequestValidator(), new JoinRoomRequest(Expand(room)));

    [Theory]
    [MemberData(nameof(ValidationCases.Rooms), MemberType = typeof(ValidationCases))]
    public void ExitChecksTheRoomName(string? room, string? expected)
        => AssertValidation(expected, new ExitRoomRequestValidator(), new ExitRoomRequest(Expand(room)));

    [Theory]
    [MemberData(nameof(ValidationCases.Rooms), MemberType = typeof(ValidationCases))]
    public void RelaysCheckTheRoomName(string? room, string? expected)
    {
        AssertValidation(expected, new SdpRequestValidator(), new SdpRequest(GoodTo, Expand(room), "v=0"));
        AssertValidation(expected, new CandidateRequestValidator(), new CandidateRequest(GoodTo, Expand(room), new IceCandidate("", null, null, null)));
    }

    [Theory]
    [MemberData(nameof(ValidationCases.Targets), MemberType = typeof(ValidationCases))]
    public void RelaysCheckTheTarget(string? to, string? expected)
    {
        AssertValidation(expected, new SdpRequestValidator(), new SdpRequest(Expand(to), GoodRoom, "v=0"));
        AssertValidation(expected, new CandidateRequestValidator(), new CandidateRequest(Expand(to), GoodRoom, new IceCandidate("", null, null, null)));
    }

    [Theory]
    [MemberData(nameof(ValidationCases.Sdps), MemberType = typeof(ValidationCases))]
    public void OffersAndAnswersCheckTheSdp(string? sdp, string? expected)
        => AssertValidation(expected, new SdpRequestValidator(), new SdpRequest(GoodTo, GoodRoom, Expand(sdp)));

    [Theory]
    [MemberData(nameof(ValidationCases.Candidates), MemberType = typeof(ValidationCases))]
    public void CandidatesCheckEachField(string? candidate, string? sdpMid, int? sdpMLineIndex, string? usernameFragment, string? expected)
    {
        var request = new CandidateRequest(GoodTo, GoodRoom, new IceCandidate(Expand(candidate), Expand(sdpMid), sdpMLineIndex, Expand(usernameFragment)));
        AssertValidation(expected, new CandidateRequestValidator(), request);
    }

    [Fact]
    public void AMissingCandidateObjectIsNamed()
        => AssertValidation(CandidateRequired, new CandidateRequestValidator(), new CandidateRequest(GoodTo, GoodRoom, null));

    [Fact]
    public void SeveralFailuresAreJoinedInFieldOrder()
        => AssertValidation($"{To}; {Room}; {Sdp}", new SdpRequestValidator(), new SdpRequest("", "bad room", ""));

    [Fact]
    public void AMissingRequestObjectNamesTheExpectedShape()
    {
        AssertValidation("request: must be an object {room}", new JoinRoomRequestValidator(), null);
        AssertValidation("request: must be an object {room}", new ExitRoomRequestValidator(), null);
        AssertValidation("request: must be an object {to, room, sdp}", new SdpRequestValidator(), null);
        AssertValidation("request: must be an object {to, room, candidate}", new CandidateRequestValidator(), null);
    }

    [Fact]
    public void EveryRuleOfEachValidatorIsAlsoInItsFastCheck()
    {
        RequestValidator<JoinRoomRequest> join = new JoinRoomRequestValidator();
        RequestValidator<ExitRoomRequest> exit = new ExitRoomRequestValidator();
        RequestValidator<SdpRequest> sdp = new SdpRequestValidator();
        RequestValidator<CandidateRequest> candidate = new CandidateRequestValidator();
        Assert.Equal([1, 1, 3, 8], new[] { join.CheckCount, exit.CheckCount, sdp.CheckCount, candidate.CheckCount });
        Assert.Equal(join.CheckCount, join.Count());
        Assert.Equal(exit.CheckCount, exit.Count());
        Assert.Equal(sdp.CheckCount, sdp.Count());
        Assert.Equal(candidate.CheckCount, candidate.Count());
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

    /// <summary>
    /// The filter's answer is <paramref name="expected"/>, and its two paths agree on it: the fast check passes exactly
    /// the arguments FluentValidation finds valid (so a valid relay never pays for FluentValidation, and an invalid
    /// one always gets its message).
    /// </summary>
    private static void AssertValidation(string? expected, IRequestValidator validator, object? argument)
    {
        Assert.Equal(expected, ValidationHubFilter.Validate(validator, argument));
        if (argument is not null)
        {
            Assert.Equal(expected is null, validator.PassesEveryRule(argument));
            Assert.Equal(expected is null, validator.Validate(new ValidationContext<object>(argument)).IsValid);
        }
    }
}
