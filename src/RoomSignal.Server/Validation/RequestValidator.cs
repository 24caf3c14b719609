using FluentValidation;

namespace RoomSignal.Server.Validation;

/// <summary>A validator the hub filter can use without knowing the argument type.</summary>
internal interface IRequestValidator : IValidator
{
    /// <summary>The message for a missing (null) argument.</summary>
    string MissingMessage { get; }
}

/// <summary>Base of the validators for hub arguments: one per request type.</summary>
internal abstract class RequestValidator<T> : AbstractValidator<T>, IRequestValidator
{
    protected RequestValidator()
    {
        // One message per field: the first rule a field breaks is the one reported.
        RuleLevelCascadeMode = CascadeMode.Stop;
    }

    public abstract string MissingMessage { get; }
}

/// <summary>Validates the argument of <c>CreateAndJoinRoom</c>.</summary>
internal sealed class JoinRoomRequestValidator : RequestValidator<Contracts.JoinRoomRequest>
{
    public JoinRoomRequestValidator()
    {
        RuleFor(r => r.Room).Must(RequestRules.IsRoom).WithMessage(ValidationMessages.Room);
    }

    public override string MissingMessage => ValidationMessages.RoomRequestMissing;
}

/// <summary>Validates the argument of <c>Exit</c>.</summary>
internal sealed class ExitRoomRequestValidator : RequestValidator<Contracts.ExitRoomRequest>
{
    public ExitRoomRequestValidator()
    {
        RuleFor(r => r.Room).Must(RequestRules.IsRoom).WithMessage(ValidationMessages.Room);
    }

    public override string MissingMessage => ValidationMessages.RoomRequestMissing;
}

/// <summary>Validates the argument of <c>Offer</c> and <c>Answer</c>.</summary>
internal sealed class SdpRequestValidator : RequestValidator<Contracts.SdpRequest>
{
    public SdpRequestValidator()
    {
        RuleFor(r => r.To).Must(RequestRules.IsConnectionId).WithMessage(ValidationMessages.To);
        RuleFor(r => r.Room).Must(RequestRules.IsRoom).WithMessage(ValidationMessages.Room);
        RuleFor(r => r.Sdp).Must(RequestRules.IsSdp).WithMessage(ValidationMessages.Sdp);
    }

    public override string MissingMessage => ValidationMessages.SdpRequestMissing;
}

/// <summary>Validates the argument of <c>Candidate</c>.</summary>
internal sealed class CandidateRequestValidator : RequestValidator<Contracts.CandidateRequest>
{
    public CandidateRequestValidator()
    {
        RuleFor(r => r.To).Must(RequestRules.IsConnectionId).WithMessage(ValidationMessages.To);
        RuleFor(r => r.Room).Must(RequestRules.IsRoom).WithMessage(ValidationMessages.Room);
        RuleFor(r => r.Candidate).NotNull().WithMessage(ValidationMessages.CandidateRequired);
        When(r => r.Candidate is not null, () =>
        {
            RuleFor(r => r.Candidate!.Candidate).Must(RequestRules.IsCandidateLine).WithMessage(ValidationMessages.CandidateLine);
            RuleFor(r => r.Candidate!.SdpMid).Must(RequestRules.IsSdpMid).WithMessage(ValidationMessages.SdpMid);
            RuleFor(r => r.Candidate!)
                .Must(c => c.SdpMid is not null || c.SdpMLineIndex is not null || string.IsNullOrEmpty(c.Candidate))
                .WithMessage(ValidationMessages.SdpMidOrIndexRequired);
            RuleFor(r => r.Candidate!.SdpMLineIndex).Must(RequestRules.IsSdpMLineIndex).WithMessage(ValidationMessages.SdpMLineIndex);
            RuleFor(r => r.Candidate!.UsernameFragment).Must(RequestRules.IsUsernameFragment).WithMessage(ValidationMessages.UsernameFragment);
        });
    }

    public override string MissingMessage => ValidationMessages.CandidateRequestMissing;
}
