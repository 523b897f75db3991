/// TLS for a client's connection: the CA that signed the broker's certificate, and
/// optionally a certificate of the client's own. Paths to PEM files; plain values.
///
/// The broker's certificate must name the host the client dials (its subject alternative
/// names): libmosquitto checks it, and a mismatch fails the connect.
public struct MQTTTLS: Sendable, Equatable {
    public var caFile: String
    public var certificateFile: String?
    public var keyFile: String?

    public init(caFile: String, certificateFile: String? = nil, keyFile: String? = nil) {
        self.caFile = caFile
        self.certificateFile = certificateFile
        self.keyFile = keyFile
    }
}
