using Microsoft.AspNetCore.SignalR;

namespace RoomSignal.Client.Internal;

/// <summary>
/// SignalR puts a fixed sentence before the message of a <see cref="HubException"/> thrown by a hub method
/// ("An unexpected error occurred invoking 'Offer' on the server. HubException: ..."). The client strips it, so
/// callers see exactly the server's message, e.g. <c>room: must be 1-64 characters of A-Z a-z 0-9 _ . : -</c>.
/// Errors that were not a <see cref="HubException"/> on the server carry no message and are left as they are.
/// </summary>
internal static class ServerErrors
{
    private const string Prefix = "An unexpected error occurred invoking '";
    private const string Marker = " HubException: ";

    public static bool TryUnwrap(HubException exception, out HubException unwrapped)
    {
        var message = exception.Message;
        var marker = message.IndexOf(Marker, StringComparison.Ordinal);
        if (message.StartsWith(Prefix, StringComparison.Ordinal) && marker > 0)
        {
            unwrapped = new HubException(message[(marker + Marker.Length)..], exception);
            return true;
        }

        unwrapped = exception;
        return false;
    }
}
