using FluentValidation;

namespace RoomSignal.Server.Validation;

/// <summary>Registers the request validators (FluentValidation's DI extension) and the hub filter that runs them.</summary>
internal static class ValidationServiceCollectionExtensions
{
    public static IServiceCollection AddRoomSignalValidation(this IServiceCollection services)
    {
        // Every validator of this assembly, as IValidator<TRequest>; singletons, since they hold no state.
        services.AddValidatorsFromAssemblyContaining<JoinRoomRequestValidator>(ServiceLifetime.Singleton, includeInternalTypes: true);
        services.AddSingleton<ValidationHubFilter>();
        return services;
    }
}
