package mailsettings

import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.asCoroutineDispatcher
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import java.util.concurrent.CountDownLatch
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit

/** Sending through the local Postfix submission service (SASL through Dovecot). */
class SmtpTest {
    private val timeouts = NetworkTimeouts(connectSecs = 10u, ioSecs = 30u)

    @Test
    fun `the test message goes through implicit TLS and arrives`() = runBlocking {
        val sender = Servers.uniqueMailbox("kt-sender")
        val to = Servers.uniqueMailbox("kt-to")
        val vault = Vault.forMailbox(sender)
        Store.openInMemory(vault).use { store ->
            store.createSmtp(smtp("Notify", "MS_SMTPS_PORT", sender, sender, default = true))
            Mailer(store, vault, timeouts).use { mailer ->
                val report = mailer.sendTest(to)
                assertEquals(listOf(to), report.accepted)
                assertTrue(report.rejected.isEmpty())
                // The same account by name (case-insensitive) and by the default.
                assertEquals(listOf(to), mailer.sendTest(to, account = AccountRef.Name("notify")).accepted)
                assertEquals(listOf(to), mailer.sendTest(to, account = AccountRef.Default).accepted)
                assertTrue(report.serverReply.startsWith("250"), report.serverReply)
                assertTrue(report.messageId?.isNotBlank() == true)
            }
        }
        // The provider was asked for the account's credential id only (once a message), on a
        // worker thread.
        assertEquals(listOf(sender, sender, sender), vault.asked.toList())
        assertFalse(Thread.currentThread().name in vault.threads, vault.threads.toString())
        assertEquals(3, Servers.awaitDelivery(to, 3))
    }

    @Test
    fun `a message through STARTTLS with the account's footer`() = runBlocking {
        val sender = Servers.uniqueMailbox("kt-sender")
        val to = Servers.uniqueMailbox("kt-to")
        val vault = Vault.forMailbox(sender)
        Store.openInMemory(vault).use { store ->
            val account = store.createSmtp(
                smtp("Starttls", "MS_SMTP_PORT", sender, sender, type = SecureConnectionType.TLS)
                    .copy(enableFooter = true, footer = "-- sent by the Kotlin tests"),
            )
            Mailer(store, vault, timeouts).use { mailer ->
                val report = mailer.send(
                    OutgoingMessage(to = listOf(to), subject = "Kotlin notification", text = "Hello from Kotlin"),
                    account = AccountRef.Id(account.id),
                )
                assertEquals(listOf(to), report.accepted)
            }
        }
        assertEquals(1, Servers.awaitDelivery(to, 1))
        val stored = Servers.dir.resolve("mail/${to.substringAfter('@')}/${to.substringBefore('@')}/Maildir")
            .walk().filter { it.isFile && it.parentFile.name in setOf("new", "cur") }.single().readText()
        assertTrue(stored.contains("Subject: Kotlin notification"), stored)
        assertTrue(stored.contains("-- sent by the Kotlin tests"), stored)
        assertTrue(stored.contains("From: $sender"), stored)
    }

    @Test
    fun `a wrong password throws Auth without the password`() = runBlocking {
        val sender = Servers.uniqueMailbox("kt-sender")
        val vault = Vault.forMailbox(sender)
        Store.openInMemory(vault).use { store ->
            val a = store.createSmtp(smtp("Wrong", "MS_SMTPS_PORT", "wrong-password", sender))
            Mailer(store, vault, timeouts).use { mailer ->
                val e = assertThrows<MailSettingsException.Auth> {
                    runBlocking { mailer.sendTest(Servers.uniqueMailbox("kt-to"), account = AccountRef.Id(a.id)) }
                }
                assertFalse(e.detail.contains("not-the-password"), e.detail)
                assertFalse(e.message!!.contains("not-the-password"), e.message)
                assertEquals(ErrorCategory.AUTH, e.category())
                // Postfix's reply: 535 5.7.8, a refusal for good.
                assertEquals(535.toUShort(), e.replyCode)
                assertEquals("5.7.8", e.enhancedCode)
                assertTrue(e.isPermanent())
                assertFalse(e.isTransient())
            }
        }
    }

    @Test
    fun `bad certificates throw Certificate`() = runBlocking {
        val sender = Servers.uniqueMailbox("kt-sender")
        val vault = Vault.forMailbox(sender)
        Store.openInMemory(vault).use { store ->
            Mailer(store, vault, timeouts).use { mailer ->
                for (key in listOf("MS_SMTPS_SELFSIGNED_PORT", "MS_SMTPS_EXPIRED_PORT", "MS_SMTPS_WRONGHOST_PORT")) {
                    val a = store.createSmtp(smtp(key, key, sender, sender))
                    val e = assertThrows<MailSettingsException.Certificate>(key) {
                        runBlocking { mailer.sendTest(Servers.uniqueMailbox("kt-to"), account = AccountRef.Id(a.id)) }
                    }
                    assertTrue(e.detail.isNotBlank())
                }
            }
        }
    }

    @Test
    fun `STARTTLS not offered throws Tls, never clear text`() = runBlocking {
        val sender = Servers.uniqueMailbox("kt-sender")
        val vault = Vault.forMailbox(sender)
        Store.openInMemory(vault).use { store ->
            val a = store.createSmtp(
                smtp("NoTls", "MS_SMTP_NOTLS_PORT", sender, sender, type = SecureConnectionType.TLS),
            )
            Mailer(store, vault, timeouts).use { mailer ->
                assertThrows<MailSettingsException.Tls> {
                    runBlocking { mailer.sendTest(Servers.uniqueMailbox("kt-to"), account = AccountRef.Id(a.id)) }
                }
            }
        }
    }

    @Test
    fun `the credential provider's own errors come back as Credential`() = runBlocking {
        val sender = Servers.uniqueMailbox("kt-sender")
        val locked = object : CredentialProvider {
            override fun credential(id: String): Credential =
                throw MailSettingsException.Credential("the keystore is locked")
            override fun contains(id: String) = true
        }
        val broken = object : CredentialProvider {
            override fun credential(id: String): Credential =
                throw IllegalStateException("hunter2 leaked into an exception")
            override fun contains(id: String) = true
        }
        Store.openInMemory().use { store ->
            val a = store.createSmtp(smtp("Locked", "MS_SMTPS_PORT", sender, sender))
            Mailer(store, locked, timeouts).use { mailer ->
                val e = assertThrows<MailSettingsException.Credential> {
                    runBlocking { mailer.sendTest(Servers.uniqueMailbox("kt-to"), account = AccountRef.Id(a.id)) }
                }
                assertTrue(e.detail.contains("the keystore is locked"), e.detail)
            }
            Mailer(store, broken, timeouts).use { mailer ->
                val e = assertThrows<MailSettingsException.Credential> {
                    runBlocking { mailer.sendTest(Servers.uniqueMailbox("kt-to"), account = AccountRef.Id(a.id)) }
                }
                // A host exception's text is never carried into the error: it might hold a secret.
                assertFalse(e.detail.contains("hunter2"), e.detail)
            }
        }
    }

    @Test
    fun `no account and no default throws NoDefault`() = runBlocking {
        Store.openInMemory().use { store ->
            Mailer(store, Vault(), timeouts).use { mailer ->
                val e = assertThrows<MailSettingsException.NoDefault> {
                    runBlocking { mailer.sendTest(Servers.uniqueMailbox("kt-to")) }
                }
                assertTrue(e.detail.contains("default"), e.detail)
                // A name that is no account is NotFound, naming what was asked.
                val missing = assertThrows<MailSettingsException.NotFound> {
                    runBlocking { mailer.sendTest(Servers.uniqueMailbox("kt-to"), AccountRef.Name("Nobody")) }
                }
                assertTrue(missing.detail.contains("\"Nobody\""), missing.detail)
            }
        }
    }

    /**
     * A send suspends rather than blocking its thread: on a dispatcher of ONE thread (a UI
     * thread's shape), the credential provider (called by the send) waits for a latch that only
     * another coroutine on that same thread opens. A blocking send would hold the thread and the
     * latch would never open (the provider then gives up after 20 s and the send fails).
     */
    @Test
    fun `a send does not block the calling thread`() {
        val sender = Servers.uniqueMailbox("kt-sender")
        val to = Servers.uniqueMailbox("kt-to")
        val latch = CountDownLatch(1)
        val vault = object : CredentialProvider {
            override fun credential(id: String): Credential {
                if (!latch.await(20, TimeUnit.SECONDS)) {
                    throw MailSettingsException.Credential("the calling thread was blocked")
                }
                return Credential.password(sender, Servers.password)
            }
            override fun contains(id: String) = true
        }
        val ui = Executors.newSingleThreadExecutor { Thread(it, "ui") }.asCoroutineDispatcher()
        ui.use {
            runBlocking(ui) {
                Store.openInMemory().use { store ->
                    store.createSmtp(smtp("Notify", "MS_SMTPS_PORT", sender, sender, default = true))
                    Mailer(store, vault, timeouts).use { mailer ->
                        val send = async { mailer.sendTest(to) }
                        val opener = async { latch.countDown(); Thread.currentThread().name }
                        assertTrue(opener.await().startsWith("ui"))
                        assertEquals(listOf(to), send.await().accepted)
                    }
                }
            }
        }
        assertEquals(1, Servers.awaitDelivery(to, 1))
    }

    @Test
    fun `sendMany reports each message, one failing without stopping the others`() = runBlocking {
        val sender = Servers.uniqueMailbox("kt-sender")
        val to = Servers.uniqueMailbox("kt-to")
        val vault = Vault.forMailbox(sender)
        Store.openInMemory(vault).use { store ->
            store.createSmtp(smtp("Notify", "MS_SMTP_PORT", sender, sender, type = SecureConnectionType.TLS, default = true))
            Mailer(store, vault, timeouts).use { mailer ->
                val messages = (0 until 3).map { OutgoingMessage(to = listOf(to), subject = "many $it", text = "x") }
                    .toMutableList()
                messages.add(1, OutgoingMessage(to = listOf("broken address"), subject = "bad", text = "x"))
                val out = mailer.sendMany(messages)
                assertEquals(4, out.size)
                assertTrue(out[1] is SendOutcome.Failed, out.toString())
                val error = (out[1] as SendOutcome.Failed).error
                assertTrue(error is MailSettingsException.Validation, error.toString())
                for (i in listOf(0, 2, 3)) {
                    val sent = out[i] as SendOutcome.Sent
                    assertEquals(listOf(to), sent.report.accepted)
                }
            }
        }
        assertEquals(3, Servers.awaitDelivery(to, 3))
    }

    @Test
    fun `a pool reuses its sessions and never opens more than maxOpen`() {
        val sender = Servers.uniqueMailbox("kt-sender")
        val to = Servers.uniqueMailbox("kt-to")
        val vault = Vault.forMailbox(sender)
        Store.openInMemory(vault).use { store ->
            store.createSmtp(smtp("Notify", "MS_SMTPS_PORT", sender, sender, default = true))
            val limits = PoolLimits(maxIdle = 2u, idleTimeoutSecs = 60u, maxOpen = 1u, waitTimeoutSecs = 30u)
            SmtpPool(store, vault, timeouts = timeouts, limits = limits).use { pool ->
                // Six messages from three coroutines on three threads at once: one session for all.
                val workers = Executors.newFixedThreadPool(3).asCoroutineDispatcher()
                workers.use {
                    runBlocking(workers) {
                        (0 until 3).map { t ->
                            async {
                                (0 until 2).map { i ->
                                    pool.send(OutgoingMessage(to = listOf(to), subject = "pool $t-$i", text = "x"))
                                }
                            }
                        }.forEach { job -> job.await().forEach { assertEquals(listOf(to), it.accepted) } }
                    }
                }
                assertEquals(1uL, pool.connectionsOpened())
                assertEquals(5uL, pool.connectionsReused())
                assertEquals(1uL, pool.openConnections())
                val more = runBlocking { pool.sendMany(listOf(OutgoingMessage(to = listOf(to), subject = "pool 7", text = "x"))) }
                assertTrue(more.single() is SendOutcome.Sent, more.toString())
                assertEquals(1uL, runBlocking { pool.checkIdle() })
                runBlocking { pool.closeIdle() }
                assertEquals(0uL, pool.idleConnections())
                assertEquals(0uL, pool.openConnections())
            }
        }
        assertEquals(7, Servers.awaitDelivery(to, 7))
    }

    @Test
    fun `a pool for a missing account throws NotFound, for no default NoDefault`() {
        Store.openInMemory(Vault()).use { store ->
            assertThrows<MailSettingsException.NoDefault> { SmtpPool(store, Vault()) }
            assertThrows<MailSettingsException.NotFound> { SmtpPool(store, Vault(), AccountRef.Id(42)) }
        }
    }

    /**
     * A scripted submission server (a real one will not drop a connection on cue): its first
     * session closes once it has the whole message, before its final reply; later sessions
     * accept everything. Returns the port and the command lines it received.
     */
    private fun closesAfterTheContent(): Pair<Int, MutableList<String>> {
        val server = java.net.ServerSocket(0, 5, java.net.InetAddress.getByName("127.0.0.1"))
        val lines = java.util.Collections.synchronizedList(mutableListOf<String>())
        Thread {
            server.use {
                var session = 0
                while (true) {
                    val sock = try { server.accept() } catch (e: java.io.IOException) { return@Thread }
                    val drop = session++ == 0
                    sock.use { s ->
                        val input = s.getInputStream().bufferedReader(Charsets.ISO_8859_1)
                        val out = s.getOutputStream()
                        fun say(t: String) { out.write((t + "\r\n").toByteArray()); out.flush() }
                        say("220 fake ESMTP")
                        var inData = false
                        while (true) {
                            val line = input.readLine() ?: break
                            if (inData) {
                                if (line == ".") {
                                    inData = false
                                    if (drop) break
                                    say("250 2.0.0 Ok: queued")
                                }
                                continue
                            }
                            lines.add(line)
                            val cmd = line.uppercase()
                            when {
                                cmd.startsWith("EHLO") -> say("250 fake")
                                cmd == "DATA" -> { inData = true; say("354 go on") }
                                cmd == "QUIT" -> { say("221 bye"); break }
                                else -> say("250 2.0.0 Ok")
                            }
                        }
                    }
                    if (session >= 2) return@Thread
                }
            }
        }.apply { isDaemon = true }.start()
        return Pair(server.localPort, lines)
    }

    @Test
    fun `a message without a final reply is Unknown, not Failed, and is not resent`() = runBlocking {
        val sender = Servers.uniqueMailbox("kt-sender")
        val (port, lines) = closesAfterTheContent()
        val vault = Vault.forMailbox(sender)
        Store.openInMemory(vault).use { store ->
            store.createSmtp(
                smtp("Unknown", "MS_SMTP_PORT", null, sender, default = true).copy(
                    host = "127.0.0.1", port = port.toLong(),
                    useSecureConnection = false, useAuthentication = false, caFile = null,
                ),
            )
            Mailer(store, vault, timeouts).use { mailer ->
                val out = mailer.sendMany(listOf(
                    OutgoingMessage(to = listOf("one@example.test"), subject = "1", text = "one"),
                    OutgoingMessage(to = listOf("two@example.test"), subject = "2", text = "two"),
                ))
                assertTrue(out[0] is SendOutcome.Unknown, out.toString())
                val error = (out[0] as SendOutcome.Unknown).error
                assertTrue(error is MailSettingsException.OutcomeUnknown, error.toString())
                assertTrue(error.isOutcomeUnknown())
                assertFalse(error.isTransient())
                assertFalse(error.isPermanent())
                assertTrue(out[1] is SendOutcome.Sent, out.toString())
            }
        }
        assertEquals(1, lines.count { it == "RCPT TO:<one@example.test>" }, lines.toString())
    }
}
