using System.Linq.Expressions;
using FluentValidation;

namespace RoomSignal.Server.Validation;

/// <summary>A validator the hub filter can use without knowing the argument type.</summary>
internal interface IRequestValidator : IValidator
{
    /// <summary>The message for a missing (null) argument.</summary>
    string MissingMessage { get; }

    /// <summary>
    /// Whether <paramref name="argument"/> passes every rule, checked without FluentValidation's per-call
    /// objects. True means FluentValidation would find it valid too; false means ask FluentValidation, which says
    /// what is wrong (or, where a rule only applies under a condition, that nothing is).
    /// </summary>
    bool PassesEveryRule(object argument);
}

/// <summary>
/// Base of the validators for hub arguments: one per request type. Every rule is declared once with
/// <see cref="Field{TProperty}"/>, which gives it to FluentValidation (for the messages) and keeps the same
/// predicate for <see cref="PassesEveryRule"/>: every relay is validated, and FluentValidation allocates about
/// 1 KB per call (its contexts, result and condition cache), a quarter of all a relay allocated (docs/benchmarks.md).
/// </summary>
internal abstract class RequestValidator<T> : AbstractValidator<T>, IRequestValidator
{
    private readonly List<Func<T, bool>> _checks = [];

    protected RequestValidator()
    {
        // One message per field: the first rule a field breaks is the one reported.
        RuleLevelCascadeMode = CascadeMode.Stop;
    }

    public abstract string MissingMessage { get; }

    /// <summary>How many rules <see cref="PassesEveryRule"/> checks; each validator's tests compare it with FluentValidation's rules.</summary>
    internal int CheckCount => _checks.Count;

    public bool PassesEveryRule(object argument)
    {
        var request = (T)argument;
        foreach (var check in _checks)
        {
            if (!check(request))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Declares that <paramref name="field"/> must satisfy <paramref name="rule"/>, with the message a client sees when
    /// it does not. The fast check runs every rule in declaration order and stops at the first failure, so a rule may
    /// rely on an earlier one (a nested field's rules after its object's null check) even inside a <c>When</c>.
    /// </summary>
    protected void Field<TProperty>(Expression<Func<T, TProperty>> field, Func<TProperty, bool> rule, string message)
    {
        RuleFor(field).Must(rule).WithMessage(message);
        var read = field.Compile();
        _checks.Add(request => rule(read(request)));
    }
}

/// <summary>Validates the argument of <c>CreateAndJoinRoom</c>.</summary>
internal sealed class JoinRoomRequestValidator : RequestValidator<Contracts.JoinRoomRequest>
{
    public JoinRoomRequestValidator()
    {
        Field(r => r.Room, RequestRules.IsRoom, ValidationMessages.Room);
    }

    public override string MissingMessage => ValidationMessages.RoomRequestMissing;
}

/// <summary>Validates the argument of <c>Exit</c>.</summary>
internal sealed class ExitRoomRequestValidator : RequestValidator<Contracts.ExitRoomRequest>
{
    public ExitRoomRequestValidator()
    {
        Field(r => r.Room, RequestRules.IsRoom, ValidationMessages.Room);
    }

    public override string MissingMessage => ValidationMessages.RoomRequestMissing;
}

/// <summary>Validates the argument of <c>Offer</c> and <c>Answer</c>.</summary>
internal sealed class SdpRequestValidator : RequestValidator<Contracts.SdpRequest>
{
    public SdpRequestValidator()
    {
        Field(r => r.To, RequestRules.IsConnectionId, ValidationMessages.To);
        Field(r => r.Room, RequestRules.IsRoom, ValidationMessages.Room);
        Field(r => r.Sdp, RequestRules.IsSdp, ValidationMessages.Sdp);
    }

    public override string MissingMessage => ValidationMessages.SdpRequestMissing;
}

/// <summary>Validates the argument of <c>Candidate</c>.</summary>
internal sealed class CandidateRequestValidator : RequestValidator<Contracts.CandidateRequest>
{
    public CandidateRequestValidator()
    {
        Field(r => r.To, RequestRules.IsConnectionId, ValidationMessages.To);
        Field(r => r.Room, RequestRules.IsRoom, ValidationMessages.Room);
        Field(r => r.Candidate, c => c is not null, ValidationMessages.CandidateRequired);
        When(r => r.Candidate is not null, () =>
        {
            Field(r => r.Candidate!.Candidate, RequestRules.IsCandidateLine, ValidationMessages.CandidateLine);
            Field(r => r.Candidate!.SdpMid, RequestRules.IsSdpMid, ValidationMessages.SdpMid);
            Field(
                r => r.Candidate!,
                c => c.SdpMid is not null || c.SdpMLineIndex is not null || string.IsNullOrEmpty(c.Candidate),
                ValidationMessages.SdpMidOrIndexRequired);
            Field(r => r.Candidate!.SdpMLineIndex, RequestRules.IsSdpMLineIndex, ValidationMessages.SdpMLineIndex);
            Field(r => r.Candidate!.UsernameFragment, RequestRules.IsUsernameFragment, ValidationMessages.UsernameFragment);
        });
    }

    public override string MissingMessage => ValidationMessages.CandidateRequestMissing;
}
