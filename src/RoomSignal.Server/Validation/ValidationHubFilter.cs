using System.Collections.Concurrent;
using System.Reflection;
using FluentValidation;
using Microsoft.AspNetCore.SignalR;
using StackExchange.Redis;

namespace RoomSignal.Server.Validation;

/// <summary>
/// Runs the registered validator of every argument before any hub method, so no method validates by
/// hand and nothing is stored or relayed from a bad invocation. A failure becomes a
/// <see cref="HubException"/> whose message names each broken field and rule, joined with "; ".
/// An unexpected exception from the hub is logged here and rethrown unchanged, so SignalR (with
/// detailed errors off) tells the client only that an unexpected error occurred. A Redis failure (unreachable,
/// timed out) is not unexpected during an outage, which the Redis connection logs once: the caller gets a
/// <see cref="HubException"/> saying what happened and nothing is logged per invocation above Debug.
/// </summary>
internal sealed class ValidationHubFilter(IServiceProvider services, ILogger<ValidationHubFilter> logger) : IHubFilter
{
    private readonly ConcurrentDictionary<MethodInfo, IRequestValidator[]> _validatorsByMethod = new();

    public async ValueTask<object?> InvokeMethodAsync(HubInvocationContext invocationContext, Func<HubInvocationContext, ValueTask<object?>> next)
    {
        // Every relay passes here: look up first, because handing GetOrAdd the instance method group would
        // allocate a delegate on each call; only a method's first invocation resolves its validators.
        if (!_validatorsByMethod.TryGetValue(invocationContext.HubMethod, out var validators))
        {
            validators = _validatorsByMethod.GetOrAdd(invocationContext.HubMethod, ResolveValidators);
        }

        var arguments = invocationContext.HubMethodArguments;
        for (var i = 0; i < validators.Length; i++)
        {
            var error = Validate(validators[i], arguments[i]);
            if (error is not null)
            {
                ValidationLog.InvalidArguments(logger, invocationContext.HubMethodName, invocationContext.Context.ConnectionId, error);
                throw new HubException(error);
            }
        }

        try
        {
            return await next(invocationContext);
        }
        catch (HubException)
        {
            throw;
        }
        catch (OperationCanceledException) when (invocationContext.Context.ConnectionAborted.IsCancellationRequested)
        {
            // The caller is gone; nobody is waiting for an answer.
            throw;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            ValidationLog.RedisUnavailable(logger, ex, invocationContext.HubMethodName, invocationContext.Context.ConnectionId);
            throw new HubException(invocationContext.HubMethodName is "Offer" or "Answer" or "Candidate"
                ? "to: the message was not delivered: the service cannot reach Redis right now; try again shortly"
                : "room: the service cannot reach Redis right now; try again shortly");
        }
        catch (Exception ex)
        {
            ValidationLog.UnexpectedError(logger, ex, invocationContext.HubMethodName, invocationContext.Context.ConnectionId);
            throw;
        }
    }

    /// <summary>Validates one argument; returns the client-facing message, or null when it is valid.</summary>
    internal static string? Validate(IRequestValidator validator, object? argument)
    {
        if (argument is null)
        {
            return validator.MissingMessage;
        }

        if (validator.PassesEveryRule(argument))
        {
            return null; // the common case, without FluentValidation's per-call objects
        }

        var result = validator.Validate(new ValidationContext<object>(argument));
        return result.IsValid ? null : string.Join(ValidationMessages.Separator, result.Errors.Select(e => e.ErrorMessage));
    }

    /// <summary>The validator for each parameter of <paramref name="method"/>; a parameter without one is a wiring bug.</summary>
    internal IRequestValidator[] ResolveValidators(MethodInfo method)
        => method.GetParameters()
            .Select(p => services.GetService(typeof(IValidator<>).MakeGenericType(p.ParameterType)) as IRequestValidator
                ?? throw new InvalidOperationException(
                    $"Hub method {method.Name} takes a {p.ParameterType.Name} but no request validator is registered for it."))
            .ToArray();
}
