// XCTest for the Swift bindings, against the repository's local test servers
// (tests/servers/start.sh must have been run on the same machine).
//
// NOT COMPILED OR RUN HERE: there is no Swift toolchain on the machine where this package is
// generated. It is what a host runs on macOS with
//   cargo build -p mail-settings-ffi && bash tests/servers/start.sh
//   cd mail-settings-ffi/swift && swift test -Xlinker -L../../target/debug
// It mirrors the Kotlin tests (mail-settings-ffi/kotlin-tests), which do run here.

import Foundation
import XCTest
@testable import MailSettings

/// The local servers' ports and paths, from tests/servers/ports.env.
enum Servers {
    static let repo = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // MailSettingsTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()  // swift
        .deletingLastPathComponent()  // mail-settings-ffi
        .deletingLastPathComponent()  // repository

    static let env: [String: String] = {
        let text = (try? String(contentsOf: repo.appendingPathComponent("tests/servers/ports.env"), encoding: .utf8)) ?? ""
        var map: [String: String] = [:]
        for raw in text.split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            guard !line.isEmpty, !line.hasPrefix("#"), let eq = line.firstIndex(of: "=") else { continue }
            map[String(line[..<eq])] = String(line[line.index(after: eq)...])
        }
        if let dir = ProcessInfo.processInfo.environment["MS_SERVERS_DIR"] { map["MS_SERVERS_DIR"] = dir }
        return map
    }()

    static func port(_ key: String) -> Int64 { Int64(env[key] ?? "0") ?? 0 }
    static var caFile: String { (env["MS_SERVERS_DIR"] ?? "/tmp/mail-settings-servers") + "/certs/ca.pem" }
    static var password: String { env["MS_MAIL_PASSWORD"] ?? "" }
    static func uniqueMailbox(_ prefix: String) -> String {
        "\(prefix)-swift-\(UUID().uuidString.prefix(8).lowercased())@\(env["MS_MAIL_DOMAIN"] ?? "example.test")"
    }
}

/// A credential provider answered from Swift, as a host answers from the Keychain.
final class Vault: CredentialProvider, @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [String: (String, String)] = [:]
    private(set) var asked: [String] = []

    func put(_ id: String, _ user: String, _ password: String) -> Vault {
        lock.lock(); defer { lock.unlock() }
        entries[id] = (user, password)
        return self
    }

    func credential(id: String) throws -> Credential {
        lock.lock(); defer { lock.unlock() }
        asked.append(id)
        guard let (user, password) = entries[id] else {
            throw MailSettingsError.NotFound(detail: "no credential \(id) in the keychain")
        }
        return Credential.password(username: user, password: password)
    }

    func contains(id: String) -> Bool {
        lock.lock(); defer { lock.unlock() }
        return entries[id] != nil
    }

    static func forMailbox(_ mailbox: String) -> Vault {
        Vault().put(mailbox, mailbox, Servers.password).put("wrong-password", mailbox, "not-the-password")
    }
}

func smtpAccount(_ name: String, _ portKey: String, credential: String?, sender: String,
                 type: SecureConnectionType = .ssl, isDefault: Bool = false) -> SmtpAccount {
    SmtpAccountForm(name: name, host: "localhost", senderEmail: sender, credential: credential,
                port: Servers.port(portKey), defaultAccount: isDefault,
                secureConnectionType: type, caFile: Servers.caFile)
}

final class MailSettingsTests: XCTestCase {
    let timeouts = NetworkTimeouts(connectSecs: 10, ioSecs: 30)

    func testValidationReportsEveryProblem() {
        let account = IncomingAccountForm(name: " ", protocol: nil, host: "imap://x", port: 70000,
                                      credential: "nobody", skipCertificate: true,
                                      secureConnectionType: .ssl)
        let results = validateIncomingAccount(account: account, credentials: Vault())
        let codes = Set(results.map { "\($0.path):\($0.codeName)" })
        XCTAssertTrue(codes.contains("name:required"))
        XCTAssertTrue(codes.contains("protocol:required"))
        XCTAssertTrue(codes.contains("host:invalid_host"))
        XCTAssertTrue(codes.contains("port:invalid_port"))
        XCTAssertTrue(codes.contains("credential:unknown_credential"))
        XCTAssertEqual(results.first { $0.code == .certificateCheckDisabled }?.severity, .warning)
    }

    func testStoreVersionsAndConflicts() throws {
        let store = try Store.openInMemory(credentials: nil)
        let a = try store.createIncoming(account: IncomingAccountForm(
            name: "Helpdesk", protocol: .imap, host: "imap.example.com", credential: "helpdesk",
            secureConnectionType: .ssl))
        var changed = a.account
        changed.port = 10993
        let b = try store.updateIncoming(id: a.id, expectedVersion: a.version, account: changed)
        XCTAssertNotEqual(a.version, b.version)
        XCTAssertThrowsError(try store.updateIncoming(id: a.id, expectedVersion: a.version, account: a.account)) { error in
            guard case MailSettingsError.Conflict = error else { return XCTFail("\(error)") }
        }
    }

    func testSendTheTestMessage() async throws {
        let sender = Servers.uniqueMailbox("swift-sender")
        let to = Servers.uniqueMailbox("swift-to")
        let vault = Vault.forMailbox(sender)
        let store = try Store.openInMemory(credentials: vault)
        _ = try store.createSmtp(account: smtpAccount("Notify", "MS_SMTPS_PORT", credential: sender,
                                                             sender: sender, isDefault: true))
        let mailer = Mailer(store: store, credentials: vault, timeouts: timeouts)
        let report = try await mailer.sendTest(sendTo: to)
        XCTAssertEqual(report.accepted, [to])
        XCTAssertEqual(vault.asked, [sender])
    }

    func testWrongPasswordThrowsAuth() async throws {
        let sender = Servers.uniqueMailbox("swift-sender")
        let vault = Vault.forMailbox(sender)
        let store = try Store.openInMemory(credentials: vault)
        let a = try store.createSmtp(account: smtpAccount("Wrong", "MS_SMTPS_PORT", credential: "wrong-password", sender: sender))
        let mailer = Mailer(store: store, credentials: vault, timeouts: timeouts)
        do {
            _ = try await mailer.sendTest(sendTo: Servers.uniqueMailbox("swift-to"), account: .id(id: a.id))
            XCTFail("a wrong password was accepted")
        } catch MailSettingsError.Auth(let replyCode, let enhancedCode, let detail) {
            XCTAssertFalse(detail.contains("not-the-password"))
            // Postfix's reply: 535 5.7.8, a refusal for good.
            XCTAssertEqual(replyCode, 535)
            XCTAssertEqual(enhancedCode, "5.7.8")
        }
    }

    func testPoolReusesItsSession() async throws {
        let sender = Servers.uniqueMailbox("swift-sender")
        let to = Servers.uniqueMailbox("swift-to")
        let vault = Vault.forMailbox(sender)
        let store = try Store.openInMemory(credentials: vault)
        _ = try store.createSmtp(account: smtpAccount("Notify", "MS_SMTPS_PORT", credential: sender,
                                                             sender: sender, isDefault: true))
        let pool = try SmtpPool(store: store, credentials: vault, timeouts: timeouts,
                                limits: PoolLimits(maxIdle: 2, maxOpen: 1))
        let outcomes = await pool.sendMany(messages: [
            OutgoingMessage(to: [to], subject: "swift pool 1", text: "x"),
            OutgoingMessage(to: ["broken address"], subject: "bad", text: "x"),
            OutgoingMessage(to: [to], subject: "swift pool 2", text: "x"),
        ])
        XCTAssertEqual(outcomes.count, 3)
        guard case .sent(let report) = outcomes[0] else { return XCTFail("\(outcomes[0])") }
        XCTAssertEqual(report.accepted, [to])
        guard case .failed = outcomes[1] else { return XCTFail("\(outcomes[1])") }
        XCTAssertEqual(pool.connectionsOpened(), 1)
        XCTAssertEqual(pool.openConnections(), 1)
        await pool.closeIdle()
        XCTAssertEqual(pool.openConnections(), 0)
    }

    func testSelfSignedCertificateThrowsCertificate() async throws {
        let sender = Servers.uniqueMailbox("swift-sender")
        let vault = Vault.forMailbox(sender)
        let store = try Store.openInMemory(credentials: vault)
        let a = try store.createSmtp(account: smtpAccount("SelfSigned", "MS_SMTPS_SELFSIGNED_PORT", credential: sender, sender: sender))
        let mailer = Mailer(store: store, credentials: vault, timeouts: timeouts)
        do {
            _ = try await mailer.sendTest(sendTo: Servers.uniqueMailbox("swift-to"), account: .id(id: a.id))
            XCTFail("a self-signed certificate was accepted")
        } catch MailSettingsError.Certificate(let detail) {
            XCTAssertFalse(detail.isEmpty)
        }
    }

    func testImapCheckPassesEveryStage() async throws {
        let mailbox = Servers.uniqueMailbox("swift-check")
        let vault = Vault.forMailbox(mailbox)
        let store = try Store.openInMemory(credentials: vault)
        let a = try store.createIncoming(account: IncomingAccountForm(
            name: "IMAPS", protocol: .imap, host: "localhost", port: Servers.port("MS_IMAPS_PORT"),
            credential: mailbox, secureConnectionType: .ssl, caFile: Servers.caFile))
        let checker = ConnectionChecker(store: store, credentials: vault, timeouts: timeouts)
        let report = try await checker.checkIncoming(account: .id(id: a.id))
        XCTAssertTrue(report.ok, report.text)
        XCTAssertEqual(report.tls?.verified, true)
        XCTAssertTrue(report.stages.contains { $0.name == .authentication && $0.ok })
    }

    func testPop3WrongPasswordFailsAtAuthentication() async throws {
        let mailbox = Servers.uniqueMailbox("swift-check")
        let vault = Vault.forMailbox(mailbox)
        let store = try Store.openInMemory(credentials: vault)
        let a = try store.createIncoming(account: IncomingAccountForm(
            name: "POP3S", protocol: .pop3, host: "localhost", port: Servers.port("MS_POP3S_PORT"),
            credential: "wrong-password", secureConnectionType: .ssl, caFile: Servers.caFile))
        let checker = ConnectionChecker(store: store, credentials: vault, timeouts: timeouts)
        let report = try await checker.checkIncoming(account: .id(id: a.id))
        XCTAssertFalse(report.ok)
        XCTAssertEqual(report.failure()?.name, .authentication)
        XCTAssertEqual(report.failure()?.category, .auth)
    }

    func testCollectorFetchesIntoTheInbox() async throws {
        let mailbox = Servers.uniqueMailbox("swift-collect")
        let vault = Vault.forMailbox(mailbox)
        let store = try Store.openInMemory(credentials: vault)
        _ = try store.createSmtp(account: smtpAccount("Notify", "MS_SMTPS_PORT", credential: mailbox,
                                                             sender: mailbox, isDefault: true))
        let imap = try store.createIncoming(account: IncomingAccountForm(
            name: "IMAPS", protocol: .imap, host: "localhost", port: Servers.port("MS_IMAPS_PORT"),
            credential: mailbox, secureConnectionType: .ssl, caFile: Servers.caFile))
        _ = try await Mailer(store: store, credentials: vault, timeouts: timeouts).sendTest(sendTo: mailbox)
        let collector = Collector(store: store, credentials: vault,
                                  settings: CollectorSettings(maxConcurrentAccounts: 1, timeouts: timeouts))
        var fetched: UInt64 = 0
        for _ in 0..<40 where fetched == 0 {  // delivery into the mailbox takes a moment
            fetched += try await collector.checkNow(account: .id(id: imap.id)).fetched
            if fetched == 0 { try await Task.sleep(nanoseconds: 500_000_000) }
        }
        XCTAssertEqual(fetched, 1)
        let page = try Inbox(store: store).list(query: InboxQuery(account: .id(id: imap.id)))
        XCTAssertEqual(page.messages.first?.subject, "MENSAGEM DE TESTE!")
    }

    func testCredentialTextNeverShowsTheSecret() {
        let c = Credential.password(username: "alice", password: "pa55-word-7")
        XCTAssertFalse(String(describing: c).contains("pa55-word-7"))
        XCTAssertFalse(String(reflecting: c).contains("pa55-word-7"))
    }
}
