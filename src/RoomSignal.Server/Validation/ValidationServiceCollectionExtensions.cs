using FluentValidation;
using RoomSignal.Contracts;

namespace RoomSignal.Server.Validation;

/// <summary>Registers the request validators and the hub filter that runs them (explicitly: no assembly scanning).</summary>
internal static class ValidationServiceCollectionExtensions
{
    public static IServiceCollection AddRoomSignalValidation(this IServiceCollection services)
    {
        services.AddSingleton<IValidator<JoinRoomRequest>, JoinRoomRequestValidator>();
        services.AddSingleton<IValidator<ExitRoomRequest>, ExitRoomRequestValidator>();
        services.AddSingleton<IValidator<SdpRequest>, SdpRequestValidator>();
        services.AddSingleton<IValidator<CandidateRequest>, CandidateRequestValidator>();
        services.AddSingleton<ValidationHubFilter>();
        return services;
    }
}
