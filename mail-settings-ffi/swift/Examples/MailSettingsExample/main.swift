// A runnable example of the Swift bindings against the repository's local test servers:
// stores an SMTP account, validates it, sends the "Test configuration" message.
//
// NOT COMPILED OR RUN HERE: there is no Swift toolchain on the machine where this package is
// generated. On macOS:
//   cargo build -p mail-settings-ffi && bash tests/servers/start.sh
//   cd mail-settings-ffi/swift && swift run -Xlinker -L../../target/debug mail-settings-example
// The Kotlin example (examples/kotlin) does the same and is run by the project's tests.

import Foundation
import MailSettings

/// The host's vault: here a dictionary; in an app, the Keychain.
final class KeychainVault: CredentialProvider, @unchecked Sendable {
    let entries: [String: (String, String)]
    init(_ entries: [String: (String, String)]) { self.entries = entries }
    func credential(id: String) throws -> Credential {
        guard let (user, password) = entries[id] else {
            throw MailSettingsError.NotFound(detail: "no \(id) in the keychain")
        }
        return Credential.password(username: user, password: password)
    }
    func contains(id: String) -> Bool { entries[id] != nil }
}

func portsEnv() -> [String: String] {
    let path = CommandLine.arguments.dropFirst().first ?? "../../tests/servers/ports.env"
    let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    var map: [String: String] = [:]
    for line in text.split(separator: "\n") where !line.hasPrefix("#") {
        let parts = line.split(separator: "=", maxSplits: 1)
        if parts.count == 2 { map[String(parts[0])] = String(parts[1]) }
    }
    return map
}

let env = portsEnv()
let mailbox = "swift-example@\(env["MS_MAIL_DOMAIN"] ?? "example.test")"
let vault = KeychainVault([mailbox: (mailbox, env["MS_MAIL_PASSWORD"] ?? "")])
let caFile = (env["MS_SERVERS_DIR"] ?? "/tmp/mail-settings-servers") + "/certs/ca.pem"

let account = SmtpAccountForm(name: "Notifications", host: "localhost", senderEmail: mailbox,
                          credential: mailbox, port: Int64(env["MS_SMTPS_PORT"] ?? "465"),
                          defaultAccount: true, secureConnectionType: .ssl, caFile: caFile)
for result in validateSmtpAccount(account: account, credentials: vault) {
    print("\(result.severity) \(result.path): \(result.message)")
}
do {
    let store = try Store.openInMemory(credentials: vault)
    let stored = try store.createSmtp(account: account)
    print("stored SMTP account \(stored.id) (version \(stored.version)), port \(stored.account.effectivePort() ?? 0)")
    let report = try await Mailer(store: store, credentials: vault, timeouts: nil).sendTest(sendTo: mailbox)
    print("sent: \(report.serverReply)")
} catch MailSettingsError.Auth(_, _, let detail) {
    print("the server refused the credentials: \(detail)")
} catch MailSettingsError.Certificate(let detail) {
    print("the certificate was refused: \(detail)")
} catch {
    print("failed: \(error)")
}
