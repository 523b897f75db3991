import Mosquitto
/// What one swarm client tells its owner. Every method runs on the swarm's loop thread,
/// inside a libmosquitto callback (except `swarmClientWillStop`): do little, never block.
/// Publishing and subscribing from here is allowed (libmosquitto queues the packet and the
/// loop writes it right after the callback returns).
///
/// The swarm holds the handler strongly until it shuts down; a handler that keeps its
/// client should hold it `unowned` or `weak` (the client owns the handler, not the reverse).
public protocol MQTTSwarmHandler: AnyObject {
    /// CONNACK with success. Subscriptions of a clean session are gone: subscribe here.
    func swarmClientDidConnect(_ client: SwarmClient, sessionPresent: Bool)
    /// A connection that had been accepted is gone. The swarm reconnects by itself (with
    /// backoff) unless it is shutting down.
    func swarmClientDidDisconnect(_ client: SwarmClient, reason: Int32)
    /// A message on one of this client's subscriptions, in libmosquitto's buffer. The
    /// default copies it and calls `swarmClient(_:didReceive:)` with the copy.
    func swarmClient(_ client: SwarmClient, didReceive view: MQTTMessageView)
    /// A message on one of this client's subscriptions, copied out of libmosquitto's buffer.
    func swarmClient(_ client: SwarmClient, didReceive message: MQTTMessage)
    /// A publish completed: PUBACK for QoS 1, written to the socket for QoS 0.
    func swarmClient(_ client: SwarmClient, didPublish messageID: Int32)
    /// SUBACK for the subscribe that returned `messageID`.
    func swarmClient(_ client: SwarmClient, didSubscribe messageID: Int32)
    /// The swarm is shutting down and is about to send DISCONNECT (which suppresses the
    /// Will): the last chance to publish, e.g. a goodbye. Called only on connected clients,
    /// outside any libmosquitto callback.
    func swarmClientWillStop(_ client: SwarmClient)
}

extension MQTTSwarmHandler {
    public func swarmClientDidConnect(_ client: SwarmClient, sessionPresent: Bool) {}
    public func swarmClientDidDisconnect(_ client: SwarmClient, reason: Int32) {}
    public func swarmClient(_ client: SwarmClient, didReceive view: MQTTMessageView) {
        swarmClient(client, didReceive: view.copy())
    }
    public func swarmClient(_ client: SwarmClient, didReceive message: MQTTMessage) {}
    public func swarmClient(_ client: SwarmClient, didPublish messageID: Int32) {}
    public func swarmClient(_ client: SwarmClient, didSubscribe messageID: Int32) {}
    public func swarmClientWillStop(_ client: SwarmClient) {}
}
