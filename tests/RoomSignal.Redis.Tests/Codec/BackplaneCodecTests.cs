using System.Text;
using Microsoft.AspNetCore.SignalR;
using RoomSignal.Redis.Internal;

namespace RoomSignal.Redis.Tests.Codec;

public sealed class BackplaneCodecTests
{
    [Fact]
    public void AnInvocationSurvivesTheRoundTripWithEveryProtocolsBytes()
    {
        var json = Encoding.UTF8.GetBytes("{\"type\":1,\"target\":\"Offer\",\"arguments\":[\"v=0\"]}\u001e");
        var binary = new byte[] { 0x95, 0x01, 0x80, 0xc0, 0xa5 };
        var sent = new BackplaneInvocation("node-a", InvocationScope.Group, ["room:1"], ["x", "y"],
            [new SerializedMessage("json", json), new SerializedMessage("messagepack", binary)]);

        var received = Assert.IsType<BackplaneInvocation>(BackplaneCodec.Decode(BackplaneCodec.Encode(sent)));

        Assert.Equal(sent.SenderNode, received.SenderNode);
        Assert.Equal(sent.Scope, received.Scope);
        Assert.Equal(sent.Targets, received.Targets);
        Assert.Equal(sent.Excluded, received.Excluded);
        Assert.Equal(["json", "messagepack"], received.Messages.Select(m => m.ProtocolName));
        Assert.Equal(json, received.Messages[0].Serialized.ToArray());
        Assert.Equal(binary, received.Messages[1].Serialized.ToArray());
    }

    [Fact]
    public void GroupCommandsAndAcknowledgementsSurviveTheRoundTrip()
    {
        var command = new BackplaneGroupCommand(long.MaxValue - 3, "node-b", GroupAction.Remove, "conn-1", "grüppe");
        var ack = new BackplaneGroupAck(42, GroupAckStatus.UnknownConnection);

        Assert.Equal(command, BackplaneCodec.Decode(BackplaneCodec.Encode(command)));
        Assert.Equal(ack, BackplaneCodec.Decode(BackplaneCodec.Encode(ack)));
    }

    [Theory]
    [InlineData(new byte[0])]
    [InlineData(new byte[] { 9, 1 })]
    [InlineData(new byte[] { 1, 77 })]
    [InlineData(new byte[] { 1, 1, 200 })]
    [InlineData(new byte[] { 1, 3, 1, 2 })]
    public void MalformedMessagesAreRejectedAsInvalidData(byte[] bytes)
        => Assert.Throws<InvalidDataException>(() => BackplaneCodec.Decode(bytes));

    [Fact]
    public void ATruncatedInvocationIsRejected()
    {
        var bytes = BackplaneCodec.Encode(new BackplaneInvocation("n", InvocationScope.All, [], [], [new SerializedMessage("json", new byte[100])]));
        Assert.Throws<InvalidDataException>(() => BackplaneCodec.Decode(bytes[..^10]));
    }
}
