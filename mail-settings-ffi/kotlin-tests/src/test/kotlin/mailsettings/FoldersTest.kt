package mailsettings

import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import java.io.BufferedInputStream
import java.io.OutputStream
import java.net.Socket

/**
 * Folders, the archive folder and push through the binding, against the local Dovecot (issue
 * 15). Folders are made the way a mail program makes them: Dovecot here separates levels with
 * "." and has no namespace prefix; non-ASCII names travel in modified UTF-7.
 */
class FoldersTest {
    private val timeouts = NetworkTimeouts(connectSecs = 10u, ioSecs = 30u)
    private val settings = CollectorSettings(maxConcurrentAccounts = 2u, timeouts = timeouts)

    /** The test's own IMAP session (clear text on loopback, which Dovecot allows here). */
    private class Imap(mailbox: String) : AutoCloseable {
        private val socket = Socket("127.0.0.1", Servers.port("MS_IMAP_PORT").toInt()).apply { soTimeout = 20_000 }
        private val input = BufferedInputStream(socket.getInputStream())
        private val out: OutputStream = socket.getOutputStream()
        private var tag = 0

        init {
            line()
            run("LOGIN \"$mailbox\" \"${Servers.password}\"")
        }

        private fun line(): String {
            val buf = java.io.ByteArrayOutputStream()
            while (true) {
                val b = input.read()
                check(b >= 0) { "the server closed the connection" }
                if (b == '\n'.code) break
                buf.write(b)
                check(buf.size() < 65536) { "a line over 64 KiB" }
            }
            return buf.toString(Charsets.UTF_8).trimEnd('\r')
        }

        /** Sends a command; the untagged lines, or a failure when it is not OK. */
        fun run(command: String, literal: ByteArray? = null): List<String> {
            val t = "k${++tag}"
            if (literal == null) {
                out.write("$t $command\r\n".toByteArray())
            } else {
                out.write("$t $command {${literal.size}}\r\n".toByteArray())
                out.flush()
                check(line().startsWith("+")) { "no continuation for $command" }
                out.write(literal)
                out.write("\r\n".toByteArray())
            }
            out.flush()
            val lines = mutableListOf<String>()
            while (true) {
                val l = line()
                if (l.startsWith("$t ")) {
                    check(l.startsWith("$t OK")) { "$command: $l" }
                    return lines
                }
                lines.add(l)
            }
        }

        fun append(folder: String, subject: String) =
            run(
                "APPEND \"$folder\"",
                ("From: sender@example.test\r\nTo: helpdesk@example.test\r\nSubject: $subject\r\n" +
                    "Message-ID: <${System.nanoTime()}.$subject@kotlin.test>\r\n\r\nbody\r\n").toByteArray(),
            )

        /** The number of messages in a folder. */
        fun count(folder: String): Int =
            run("EXAMINE \"$folder\"").firstNotNullOf { l ->
                l.removePrefix("* ").removeSuffix(" EXISTS").takeIf { it != l && !it.contains(' ') }?.toInt()
            }

        override fun close() {
            runCatching { run("LOGOUT") }
            socket.close()
        }
    }

    @Test
    fun `two folders are collected, one non-ASCII, and the messages archived`() {
        val mailbox = Servers.uniqueMailbox("kt-folders")
        val suporte = "Suporte.Aten&AOcA4w-o"
        val arquivo = "Arquivo.Conclu&AO0-dos"
        Imap(mailbox).use { imap ->
            for (f in listOf("Clientes", "Suporte", suporte, "Arquivo", arquivo)) imap.run("CREATE \"$f\"")
            imap.append("INBOX", "not collected")
            for (i in 0..1) {
                imap.append("Clientes", "clientes-$i")
                imap.append(suporte, "suporte-$i")
            }
            val vault = Vault.forMailbox(mailbox)
            Store.openInMemory(vault).use { store ->
                val a = store.createIncoming(
                    incoming("folders", Protocol.IMAP, "MS_IMAPS_PORT", mailbox).copy(
                        folders = listOf("Clientes", "Suporte/Atenção"),
                        archiveFolder = "Arquivo/Concluídos",
                        keepCopyOnServer = false,
                    ),
                )
                Collector(store, vault, settings).use { collector ->
                    val report = runBlocking { collector.checkNow(AccountRef.Id(a.id)) }
                    assertEquals(listOf(4UL, 4UL, 4UL), listOf(report.listed, report.fetched, report.deletedOnServer))
                    Inbox(store).use { inbox ->
                        assertEquals(
                            listOf("clientes-0", "clientes-1", "suporte-0", "suporte-1"),
                            inbox.list(null, 1u, 50u).messages.mapNotNull { it.subject }.sorted(),
                        )
                    }
                    assertEquals(listOf(0, 0, 4, 1), listOf(imap.count("Clientes"), imap.count(suporte), imap.count(arquivo), imap.count("INBOX")))
                    val again = runBlocking { collector.checkNow(AccountRef.Id(a.id)) }
                    assertEquals(0UL, again.fetched)
                    assertFalse(collector.status(a.id).needsExpunging)
                }
                val row = store.incomingReport(null, 1u, 10u).rows.single()
                assertEquals(listOf("Clientes", "Suporte/Atenção"), row.folders)
                assertEquals("Arquivo/Concluídos", row.archiveFolder)
                assertTrue(row.push)
            }
        }
    }

    @Test
    fun `a message delivered through Postfix arrives by push within seconds`() {
        val mailbox = Servers.uniqueMailbox("kt-push")
        val vault = Vault.forMailbox(mailbox)
        Store.openInMemory(vault).use { store ->
            val a = store.createIncoming(
                incoming("push", Protocol.IMAP, "MS_IMAPS_PORT", mailbox)
                    .copy(automaticCheck = true, usePush = true, checkIntervalSecs = 3600, keepCopyOnServer = true),
            )
            store.createSmtp(smtp("out", "MS_SMTPS_PORT", mailbox, mailbox, default = true))
            Collector(store, vault, settings).use { collector ->
                collector.start()
                // The first run happens at once (nothing to fetch); then only push brings mail.
                var deadline = System.nanoTime() + 30_000_000_000L
                while (collector.status(a.id).runs < 1UL) {
                    assertTrue(System.nanoTime() < deadline, "no first run")
                    Thread.sleep(50)
                }
                Thread.sleep(1000) // the waiter logs in and enters IDLE
                val started = System.nanoTime()
                Mailer(store, vault, timeouts).use { mailer ->
                    runBlocking { mailer.send(OutgoingMessage(to = listOf(mailbox), subject = "pushed", text = "by push")) }
                }
                deadline = started + 20_000_000_000L
                Inbox(store).use { inbox ->
                    while (inbox.count(a.id) < 1UL) {
                        assertTrue(System.nanoTime() < deadline, "the message did not arrive by push within 20 s (poll: 1 h)")
                        Thread.sleep(50)
                    }
                    assertEquals("pushed", inbox.list(null, 1u, 10u).messages.single().subject)
                }
                println("push: in the inbox ${(System.nanoTime() - started) / 1_000_000} ms after the send began")
                // The run that stored it records its end a moment after the commit.
                while (collector.status(a.id).runs < 2UL) {
                    assertTrue(System.nanoTime() - started < 30_000_000_000L, "no second run recorded")
                    Thread.sleep(50)
                }
                val stopping = System.nanoTime()
                runBlocking { collector.stop() }
                assertTrue(System.nanoTime() - stopping < 5_000_000_000L, "stop ended IDLE promptly")
            }
        }
    }
}
