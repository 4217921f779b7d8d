// A runnable example of the Kotlin bindings of mail-settings, against the repository's local
// test servers (tests/servers/): run it with `bash examples/kotlin/run.sh`.
//
// What a host application does: keep its credentials in its own vault (here a map; on Android
// the Keystore) behind a CredentialProvider, keep the accounts in a Store, validate what a person
// typed, test the connections, send the "Test configuration" message, collect the mail into
// the inbox, and tell failures apart by their type.
package example

import kotlinx.coroutines.delay
import kotlinx.coroutines.runBlocking
import mailsettings.AccountRef
import mailsettings.Collector
import mailsettings.CollectorSettings
import mailsettings.ConnectionChecker
import mailsettings.Credential
import mailsettings.CredentialProvider
import mailsettings.Inbox
import mailsettings.InboxQuery
import mailsettings.IncomingAccountForm
import mailsettings.IncomingReportFilter
import mailsettings.Mailer
import mailsettings.MailSettingsException
import mailsettings.NetworkTimeouts
import mailsettings.ProgressListener
import mailsettings.Protocol
import mailsettings.RunProgress
import mailsettings.SecureConnectionType
import mailsettings.SmtpAccountForm
import mailsettings.Store
import mailsettings.validateIncomingAccount
import java.io.File
import kotlin.system.exitProcess

/** The host's vault: answers the library's questions without ever logging a secret. */
class AppVault(private val entries: Map<String, Pair<String, String>>) : CredentialProvider {
    override fun credential(id: String): Credential {
        val (user, secret) = entries[id] ?: throw MailSettingsException.NotFound("no credential \"$id\" in the vault")
        return Credential.password(user, secret)
    }

    override fun contains(id: String) = entries.containsKey(id)
}

fun main(args: Array<String>) = runBlocking {
    val portsEnv = File(args.firstOrNull() ?: "../../tests/servers/ports.env")
    val env = portsEnv.readLines()
        .filter { it.isNotBlank() && !it.startsWith("#") && it.contains('=') }
        .associate { it.substringBefore('=') to it.substringAfter('=') }
    val domain = env.getValue("MS_MAIL_DOMAIN")
    val caFile = File(System.getenv("MS_SERVERS_DIR") ?: env.getValue("MS_SERVERS_DIR"), "certs/ca.pem").path
    val helpdesk = "helpdesk-example-${ProcessHandle.current().pid()}@$domain"
    val vault = AppVault(
        mapOf(
            "helpdesk" to (helpdesk to env.getValue("MS_MAIL_PASSWORD")),
            "helpdesk-old" to (helpdesk to "an-old-password"),
        ),
    )

    // 1. Validation: every problem at once, in English and Brazilian Portuguese.
    val typed = IncomingAccountForm(
        name = "Helpdesk",
        protocol = Protocol.IMAP,
        host = "imap://localhost",
        port = 99999,
        credential = "helpdsk",
        secureConnectionType = SecureConnectionType.SSL,
    )
    println("validation of what was typed:")
    for (r in validateIncomingAccount(typed, credentials = vault)) {
        println("  ${r.severity} ${r.path} ${r.codeName}: ${r.message} / ${r.messagePtBr}")
    }

    // 2. The store (a file; several processes may share it) and its report.
    val dbFile = File.createTempFile("mail-settings-example", ".db").apply { delete(); deleteOnExit() }
    Store.open(dbFile.path, vault).use { store ->
        val imap = store.createIncoming(
            typed.copy(host = "localhost", port = env.getValue("MS_IMAPS_PORT").toLong(), credential = "helpdesk", caFile = caFile),
        )
        store.createIncoming(
            typed.copy(
                name = "Helpdesk POP3",
                protocol = Protocol.POP3,
                host = "localhost",
                port = env.getValue("MS_POP3_PORT").toLong(),
                credential = "helpdesk",
                secureConnectionType = SecureConnectionType.TLS,
                caFile = caFile,
            ),
        )
        val smtp = store.createSmtp(
            SmtpAccountForm(
                name = "Notifications",
                host = "localhost",
                senderEmail = helpdesk,
                credential = "helpdesk",
                port = env.getValue("MS_SMTPS_PORT").toLong(),
                defaultAccount = true,
                secureConnectionType = SecureConnectionType.SSL,
                caFile = caFile,
            ),
        )
        println("stored incoming account ${imap.id} (version ${imap.version}) and SMTP account ${smtp.id}")
        val report = store.incomingReport(IncomingReportFilter(nameContains = "helpdesk"))
        println("incoming report, page ${report.page} of ${report.pageCount} (${report.total} rows):")
        for (row in report.rows) {
            println("  ${row.id} ${row.name} ${row.protocol} port ${row.port} ${row.connectionType ?: "-"}")
        }

        // 3. "Test configuration": a suspend call, off the calling thread.
        Mailer(store, vault, NetworkTimeouts(connectSecs = 10u, ioSecs = 30u)).use { mailer ->
            val sent = mailer.sendTest(helpdesk)
            println("test message sent to $helpdesk: ${sent.serverReply}")

            // 4. Failures are typed: a stale password is an Auth error, not a string to parse.
            val stale = store.updateSmtp(smtp.id, smtp.version, smtp.account.copy(credential = "helpdesk-old"))
            try {
                mailer.sendTest(helpdesk, account = AccountRef.Id(stale.id))
                println("unexpected: a wrong password was accepted")
                exitProcess(1)
            } catch (e: MailSettingsException.Auth) {
                println("wrong password, as expected: ${e.detail}")
            }
        }

        // 5. "Test connection": every stage timed, the first failure with its advice.
        val timeouts = NetworkTimeouts(connectSecs = 10u, ioSecs = 30u)
        ConnectionChecker(store, vault, timeouts).use { checker ->
            for (account in store.listIncoming()) {
                val check = checker.checkIncoming(AccountRef.Id(account.id))
                println("check of ${check.protocol} ${check.server}: ${if (check.ok) "ok" else "FAILED at ${check.failure()?.name}"}")
                for (stage in check.stages) {
                    println("  %-14s %7.1f ms  %s".format(stage.name, stage.durationMs, stage.detail))
                }
            }
        }

        // 6. The collector: fetch the test message into the inbox, with progress.
        Collector(store, vault, CollectorSettings(timeouts = timeouts)).use { collector ->
            val progress = object : ProgressListener {
                override fun onProgress(progress: RunProgress) {
                    println("  ${progress.accountName}: ${progress.done}/${progress.total} messages, ${progress.bytes} bytes")
                }
            }
            // The test message was handed to the SMTP server; its delivery into the mailbox
            // takes a moment, so check again a few times until it is there.
            var fetched = 0UL
            for (attempt in 1..40) {
                val run = collector.checkNow(AccountRef.Id(imap.id), progress)
                fetched += run.fetched
                println("run $attempt: collected ${run.fetched} of ${run.listed} message(s) from \"${run.accountName}\"")
                if (fetched > 0UL) break
                delay(500)
            }
        }
        Inbox(store).use { inbox ->
            val page = inbox.list(InboxQuery(accountId = imap.id))
            println("inbox of \"${imap.account.name}\": ${page.total} message(s)")
            for (m in page.messages) {
                println("  #${m.id} from ${m.from}: ${m.subject} (${m.size} bytes)")
            }
        }
    }
    println("example finished")
}
