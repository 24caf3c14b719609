using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace RoomSignal.Server.Admin;

/// <summary>
/// Lets an admin request through only with <c>Authorization: Bearer &lt;RoomSignal:Admin:Key&gt;</c>; anything else gets
/// 401 with a JSON problem. The comparison is constant-time over SHA-256 digests of both sides, so neither the key's
/// content nor its length leaks through timing. The key is never logged.
/// </summary>
internal sealed class AdminKeyFilter : IEndpointFilter
{
    private const string Scheme = "Bearer ";
    private readonly byte[] _keyDigest;
    private readonly ILogger<AdminKeyFilter> _logger;

    public AdminKeyFilter(IOptions<AdminOptions> options, ILogger<AdminKeyFilter> logger)
    {
        _keyDigest = SHA256.HashData(Encoding.UTF8.GetBytes(options.Value.Key ?? throw new InvalidOperationException("The admin API is off.")));
        _logger = logger;
    }

    public ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var header = http.Request.Headers.Authorization;
        string? why = null;
        if (header.Count != 1 || header[0] is not { } value || !value.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
        {
            why = "no bearer key";
        }
        else
        {
            var presented = SHA256.HashData(Encoding.UTF8.GetBytes(value.AsSpan(Scheme.Length).Trim().ToString()));
            if (!CryptographicOperations.FixedTimeEquals(presented, _keyDigest))
            {
                why = "wrong key";
            }
        }

        if (why is null)
        {
            return next(context);
        }

        AdminLog.Refused(_logger, http.Request.Path, http.Connection.RemoteIpAddress?.ToString() ?? "unknown", why);
        http.Response.Headers.WWWAuthenticate = "Bearer realm=\"roomsignal-admin\"";
        return ValueTask.FromResult<object?>(Results.Problem(
            statusCode: StatusCodes.Status401Unauthorized,
            title: "Unauthorized",
            detail: "authorization: send the admin key as 'Authorization: Bearer <key>'"));
    }
}
