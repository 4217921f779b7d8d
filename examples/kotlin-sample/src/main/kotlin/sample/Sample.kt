// A JVM program that uses mail-settings through its Maven artifact
// (mailsettings:mail-settings-kotlin), against the repository's local test servers: it validates
// what a person typed, then checks an IMAP and an SMTP account on the servers. Exits 1 when
// anything is not as expected. Run it with `bash examples/kotlin-sample/run.sh`.
package sample

import kotlinx.coroutines.runBlocking
import mailsettings.CheckStageName
import mailsettings.ConnectionChecker
import mailsettings.Credential
import mailsettings.CredentialProvider
import mailsettings.IncomingAccountForm
import mailsettings.MailSettingsException
import mailsettings.NetworkTimeouts
import mailsettings.Protocol
import mailsettings.SecureConnectionType
import mailsettings.SmtpAccountForm
import mailsettings.Store
import mailsettings.validateIncomingAccount
import java.io.File
import kotlin.system.exitProcess

/** The application's vault: one mailbox and its password. */
class Vault(private val user: String, private val password: String) : CredentialProvider {
    override fun credential(id: String): Credential =
        if (id == "mailbox") Credential.password(user, password)
        else throw MailSettingsException.NotFound("no credential \"$id\"")

    override fun contains(id: String) = id == "mailbox"
}

private var failures = 0

private fun expect(what: String, ok: Boolean) {
    println("${if (ok) "ok" else "FAILED"}: $what")
    if (!ok) failures++
}

fun main(args: Array<String>) = runBlocking {
    val env = File(args.first()).readLines()
        .filter { it.isNotBlank() && !it.startsWith("#") && it.contains('=') }
        .associate { it.substringBefore('=') to it.substringAfter('=') }
    val serversDir = System.getenv("MS_SERVERS_DIR") ?: env.getValue("MS_SERVERS_DIR")
    val caFile = File(serversDir, "certs/ca.pem").path
    val mailbox = "kotlin-sample-${ProcessHandle.current().pid()}@${env.getValue("MS_MAIL_DOMAIN")}"
    val vault = Vault(mailbox, env.getValue("MS_MAIL_PASSWORD"))

    // Validation: every problem of what was typed at once.
    val typed = IncomingAccountForm(
        name = "Helpdesk",
        protocol = Protocol.IMAP,
        host = "imap://localhost",
        port = 99999,
        credential = "mailbox",
        secureConnectionType = SecureConnectionType.SSL,
    )
    val results = validateIncomingAccount(typed, credentials = vault)
    for (r in results) println("  ${r.severity} ${r.path} ${r.codeName}: ${r.message} / ${r.messagePtBr}")
    val codes = results.map { it.path to it.codeName }.toSet()
    expect("validation reports the host and the port", codes == setOf("host" to "invalid_host", "port" to "invalid_port"))

    val imap = typed.copy(host = "localhost", port = env.getValue("MS_IMAPS_PORT").toLong(), caFile = caFile)
    expect("the corrected account validates", validateIncomingAccount(imap, credentials = vault).isEmpty())

    // Connection checks against the servers, stage by stage.
    Store.openInMemory(vault).use { store ->
        ConnectionChecker(store, vault, NetworkTimeouts(connectSecs = 10u, ioSecs = 30u)).use { checker ->
            val incoming = checker.checkIncomingSettings(imap)
            println("check of ${incoming.protocol} ${incoming.server} (${incoming.security}):")
            for (stage in incoming.stages) println("  %-14s %7.1f ms  %s".format(stage.name, stage.durationMs, stage.detail))
            expect("IMAPS check passes every stage", incoming.ok && incoming.tls != null)

            val smtp = SmtpAccountForm(
                name = "Notifications",
                host = "localhost",
                port = env.getValue("MS_SMTP_PORT").toLong(),
                senderEmail = mailbox,
                credential = "mailbox",
                secureConnectionType = SecureConnectionType.TLS,
                caFile = caFile,
            )
            val outgoing = checker.checkSmtpSettings(smtp)
            println("check of ${outgoing.protocol} ${outgoing.server} (${outgoing.security}):")
            for (stage in outgoing.stages) println("  %-14s %7.1f ms  %s".format(stage.name, stage.durationMs, stage.detail))
            expect("SMTP STARTTLS check passes every stage", outgoing.ok && outgoing.tls != null)

            // A server that does not offer STARTTLS: the check stops at TLS, before any login.
            val noTls = imap.copy(port = env.getValue("MS_IMAP_NOTLS_PORT").toLong(), secureConnectionType = SecureConnectionType.TLS)
            val refused = checker.checkIncomingSettings(noTls)
            println("check of ${refused.protocol} ${refused.server} (${refused.security}): failed at ${refused.failure()?.name}")
            expect(
                "STARTTLS to a server without it fails at TLS, never in clear text",
                !refused.ok && refused.failure()?.name == CheckStageName.TLS &&
                    refused.stages.none { it.name == CheckStageName.AUTHENTICATION },
            )
        }
    }
    if (failures > 0) {
        println("sample: $failures failed")
        exitProcess(1)
    }
    println("sample: all passed")
}
