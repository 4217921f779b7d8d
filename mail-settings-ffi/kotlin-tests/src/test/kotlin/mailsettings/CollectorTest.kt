package mailsettings

import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.async
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicReference

/** The collector and its inbox against the local Dovecot, mail delivered through Postfix. */
class CollectorTest {
    private val timeouts = NetworkTimeouts(connectSecs = 10u, ioSecs = 30u)
    private val settings = CollectorSettings(maxConcurrentAccounts = 2u, timeouts = timeouts)

    /** Sends [count] messages to [mailbox] through Postfix and waits until Dovecot has them. */
    private fun deliver(mailbox: String, count: Int, subject: String = "Collected", padding: Int = 0) {
        val before = Servers.maildirCount(mailbox)
        val sender = Servers.uniqueMailbox("kt-feeder")
        val vault = Vault.forMailbox(sender)
        Store.openInMemory(vault).use { store ->
            store.createSmtp(smtp("feeder", "MS_SMTPS_PORT", sender, sender, default = true))
            Mailer(store, vault, timeouts).use { mailer ->
                runBlocking {
                    for (i in 1..count) {
                        mailer.send(OutgoingMessage(to = listOf(mailbox), subject = "$subject $i", text = "Body $i from Kotlin\n" + ("x".repeat(70) + "\n").repeat(padding / 70)))
                    }
                }
            }
        }
        assertEquals(before + count, Servers.awaitDelivery(mailbox, before + count))
    }

    private class Recorder : ProgressListener {
        val events = CopyOnWriteArrayList<RunProgress>()
        override fun onProgress(progress: RunProgress) {
            events.add(progress)
        }
    }

    @Test
    fun `an IMAP run stores every message once and the inbox shows them`() {
        val mailbox = Servers.uniqueMailbox("kt-collect")
        deliver(mailbox, 3)
        val vault = Vault.forMailbox(mailbox)
        Store.openInMemory(vault).use { store ->
            val a = store.createIncoming(incoming("IMAP", Protocol.IMAP, "MS_IMAPS_PORT", mailbox))
            Collector(store, vault, settings).use { collector ->
                val progress = Recorder()
                val report = runBlocking { collector.checkNow(AccountRef.Id(a.id), progress) }
                assertEquals(3UL, report.listed)
                assertEquals(3UL, report.fetched)
                assertEquals(0UL, report.deletedOnServer)
                assertFalse(report.cancelled)
                assertEquals(3UL, progress.events.maxOf { it.done })
                assertTrue(progress.events.all { it.accountId == a.id && it.total == 3UL })

                // Again: nothing new, nothing stored twice.
                val again = runBlocking { collector.checkNow(AccountRef.Id(a.id)) }
                assertEquals(0UL, again.fetched)
                assertEquals(3UL, again.alreadyStored)

                val status = collector.status(a.id)
                assertEquals(2UL, status.runs)
                assertEquals(3UL, status.inboxMessages)
                assertNull(status.lastError)
            }
            // Keep copy (the default): the server still has them.
            assertEquals(3, Servers.maildirCount(mailbox))

            Inbox(store).use { inbox ->
                val page = inbox.list(InboxQuery(accountId = a.id))
                assertEquals(3UL, page.total)
                assertEquals(setOf("Collected 1", "Collected 2", "Collected 3"), page.messages.map { it.subject }.toSet())
                val first = page.messages.first()
                assertFalse(first.read)
                val view = inbox.readMessage(first.id)
                assertTrue(view.text?.contains("from Kotlin") == true, view.toString())
                inbox.markRead(first.id, true)
                assertEquals(2UL, inbox.list(InboxQuery(unreadOnly = true)).total)
                assertEquals(1UL, inbox.list(InboxQuery(subjectContains = "collected 2")).total)
                assertTrue(String(inbox.raw(first.id)).contains("Subject: "))
                inbox.delete(first.id)
                assertEquals(2UL, inbox.count(a.id))
            }
        }
    }

    @Test
    fun `a POP3 run without keep copy removes what it stored`() {
        val mailbox = Servers.uniqueMailbox("kt-collect")
        deliver(mailbox, 2)
        val vault = Vault.forMailbox(mailbox)
        Store.openInMemory(vault).use { store ->
            val a = store.createIncoming(
                incoming("POP3", Protocol.POP3, "MS_POP3_PORT", mailbox, type = SecureConnectionType.TLS)
                    .copy(keepCopyOnServer = false),
            )
            Collector(store, vault, settings).use { collector ->
                val report = runBlocking { collector.checkNow(AccountRef.Id(a.id)) }
                assertEquals(2UL, report.fetched)
                assertEquals(2UL, report.deletedOnServer)
            }
            Inbox(store).use { assertEquals(2UL, it.count(a.id)) }
        }
        assertEquals(0, Servers.maildirCount(mailbox))
    }

    @Test
    fun `a message over the size limit shows in the report and the status`() {
        val mailbox = Servers.uniqueMailbox("kt-collect")
        deliver(mailbox, 1, padding = 3000)
        val vault = Vault.forMailbox(mailbox)
        Store.openInMemory(vault).use { store ->
            val a = store.createIncoming(
                incoming("POP3 small", Protocol.POP3, "MS_POP3S_PORT", mailbox).copy(maxMessageSize = 1024),
            )
            Collector(store, vault, settings).use { collector ->
                val report = runBlocking { collector.checkNow(AccountRef.Id(a.id)) }
                assertEquals(0UL, report.fetched)
                assertEquals(1UL, report.skippedTooLarge)
                val problem = report.problems.single()
                assertEquals(MessageOutcome.SKIPPED_TOO_LARGE, problem.outcome)
                assertTrue(problem.reason.contains("limit of 1024 bytes"), problem.reason)
                assertTrue((problem.size ?: 0UL) > 1024UL)
                val recorded = collector.status(a.id).problems.single()
                assertEquals(MessageOutcome.SKIPPED_TOO_LARGE, recorded.outcome)
                assertEquals(problem.reason, recorded.reason)
            }
        }
        assertEquals(1, Servers.maildirCount(mailbox))
    }

    @Test
    fun `failed runs throw typed exceptions`() {
        val mailbox = Servers.uniqueMailbox("kt-collect")
        val vault = Vault.forMailbox(mailbox)
        Store.openInMemory(vault).use { store ->
            val wrong = store.createIncoming(incoming("wrong", Protocol.IMAP, "MS_IMAPS_PORT", "wrong-password"))
            val selfSigned = store.createIncoming(incoming("self-signed", Protocol.POP3, "MS_POP3S_SELFSIGNED_PORT", mailbox))
            val disabled = store.createIncoming(incoming("disabled", Protocol.IMAP, "MS_IMAPS_PORT", mailbox).copy(enabled = false))
            Collector(store, vault, settings).use { collector ->
                val auth = assertThrows<MailSettingsException.Auth> { runBlocking { collector.checkNow(AccountRef.Id(wrong.id)) } }
                assertFalse(auth.detail.contains("not-the-password"), auth.detail)
                assertNull(auth.replyCode) // IMAP has no reply codes
                assertThrows<MailSettingsException.Certificate> { runBlocking { collector.checkNow(AccountRef.Id(selfSigned.id)) } }
                assertThrows<MailSettingsException.Validation> { runBlocking { collector.checkNow(AccountRef.Id(disabled.id)) } }
                assertThrows<MailSettingsException.NotFound> { runBlocking { collector.checkNow(AccountRef.Id(9999)) } }
                // By name, case-insensitively, as the command line and Python take it; a
                // missing name is named in the error.
                assertThrows<MailSettingsException.Auth> { runBlocking { collector.checkNow(AccountRef.Name("WRONG")) } }
                val ghost = assertThrows<MailSettingsException.NotFound> { runBlocking { collector.checkNow(parseAccountRef("ghost")) } }
                assertTrue(ghost.detail.contains("\"ghost\""), ghost.detail)
                assertEquals(AccountRef.Id(12), parseAccountRef(" 12 "))
                assertEquals(ErrorCategory.AUTH, collector.status(wrong.id).lastError?.category)
                assertEquals(ErrorCategory.CERTIFICATE, collector.status(selfSigned.id).lastError?.category)
            }
        }
    }

    @Test
    fun `collect once runs every account and reports each`() {
        val good = Servers.uniqueMailbox("kt-collect")
        deliver(good, 1)
        val vault = Vault.forMailbox(good)
        Store.openInMemory(vault).use { store ->
            val a = store.createIncoming(incoming("good", Protocol.IMAP, "MS_IMAPS_PORT", good))
            val b = store.createIncoming(incoming("bad", Protocol.POP3, "MS_POP3S_PORT", "wrong-password"))
            Collector(store, vault, settings).use { collector ->
                val results = runBlocking { collector.collectOnce() }
                assertEquals(listOf(a.id, b.id), results.map { it.accountId })
                assertEquals(1UL, results[0].report?.fetched)
                assertNull(results[0].failure)
                assertNull(results[1].report)
                assertEquals(ErrorCategory.AUTH, results[1].failure?.category)
                // Accounts by name or id; every one is resolved before anything runs.
                val missing = assertThrows<MailSettingsException.NotFound> {
                    runBlocking { collector.collectOnce(listOf(AccountRef.Name("good"), AccountRef.Name("ghost"))) }
                }
                assertTrue(missing.detail.contains("\"ghost\""), missing.detail)
                assertThrows<MailSettingsException.NoDefaultFor> { runBlocking { collector.collectOnce(listOf(AccountRef.Default)) } }
                val named = runBlocking { collector.collectOnce(listOf(AccountRef.Name("BAD"), AccountRef.Id(a.id))) }
                assertEquals(listOf(b.id, a.id), named.map { it.accountId })
                assertEquals(ErrorCategory.AUTH, named[0].failure?.category)
                assertEquals(0UL, named[1].report?.fetched)
            }
        }
    }

    @Test
    fun `a cancel token stops a run at a message boundary`() {
        val mailbox = Servers.uniqueMailbox("kt-collect")
        deliver(mailbox, 3)
        val vault = Vault.forMailbox(mailbox)
        Store.openInMemory(vault).use { store ->
            val a = store.createIncoming(incoming("IMAP", Protocol.IMAP, "MS_IMAPS_PORT", mailbox))
            Collector(store, vault, settings).use { collector ->
                val token = CancelToken()
                val cancelAfterOne = object : ProgressListener {
                    override fun onProgress(progress: RunProgress) {
                        if (progress.done == 1UL) token.cancel()
                    }
                }
                val report = runBlocking { collector.checkNow(AccountRef.Id(a.id), cancelAfterOne, token) }
                assertTrue(report.cancelled)
                assertEquals(1UL, report.fetched)
                assertEquals(2UL, report.pending)
                // The next run fetches the rest, and nothing twice.
                val rest = runBlocking { collector.checkNow(AccountRef.Id(a.id)) }
                assertEquals(2UL, rest.fetched)
                assertEquals(1UL, rest.alreadyStored)
            }
        }
    }

    /**
     * Cancelling the coroutine that awaits a run cancels the run itself: the listener, on the
     * run's thread, cancels the job after the first message and waits for the cancellation to
     * complete; the run then stops at the next message boundary.
     */
    @Test
    fun `cancelling the coroutine cancels the run`() {
        val mailbox = Servers.uniqueMailbox("kt-collect")
        deliver(mailbox, 3)
        val vault = Vault.forMailbox(mailbox)
        Store.openInMemory(vault).use { store ->
            val a = store.createIncoming(incoming("IMAP", Protocol.IMAP, "MS_IMAPS_PORT", mailbox))
            Collector(store, vault, settings).use { collector ->
                val job = AtomicReference<Job>()
                val started = CountDownLatch(1)
                val listener = object : ProgressListener {
                    override fun onProgress(progress: RunProgress) {
                        if (progress.done == 1UL) {
                            started.await(10, TimeUnit.SECONDS)
                            job.get().cancel()
                            runBlocking { job.get().join() }
                        }
                    }
                }
                runBlocking(Dispatchers.Default) {
                    val run = async(start = CoroutineStart.LAZY) { collector.checkNow(AccountRef.Id(a.id), listener) }
                    job.set(run)
                    run.start()
                    started.countDown()
                    run.join()
                    assertTrue(run.isCancelled)
                }
                // The run ends by itself right after; wait for it (bounded), then look.
                val deadline = System.nanoTime() + 30_000_000_000L
                while (collector.status(a.id).running && System.nanoTime() < deadline) Thread.sleep(50)
                val status = collector.status(a.id)
                assertFalse(status.running)
                assertEquals(1UL, status.lastRunFetched)
                assertEquals(2UL, status.pending)
            }
        }
    }

    @Test
    fun `the running collector checks accounts on its own and stops`() {
        val mailbox = Servers.uniqueMailbox("kt-collect")
        deliver(mailbox, 1)
        val vault = Vault.forMailbox(mailbox)
        Store.openInMemory(vault).use { store ->
            val a = store.createIncoming(
                incoming("scheduled", Protocol.IMAP, "MS_IMAPS_PORT", mailbox).copy(checkIntervalSecs = 30),
            )
            Collector(store, vault, settings).use { collector ->
                val finished = CountDownLatch(1)
                collector.addListener(object : ProgressListener {
                    override fun onProgress(progress: RunProgress) {
                        if (progress.accountId == a.id && progress.total > 0UL && progress.done == progress.total) finished.countDown()
                    }
                })
                assertFalse(collector.isRunning())
                collector.start()
                assertTrue(collector.isRunning())
                // The first check of every account is at once; wait for it (bounded).
                assertTrue(finished.await(60, TimeUnit.SECONDS), "the scheduled run did not happen")
                runBlocking { collector.stop() }
                assertFalse(collector.isRunning())
                val status = collector.statuses().single()
                assertNotNull(status.lastSuccess)
                Inbox(store).use { assertEquals(1UL, it.count(a.id)) }
            }
        }
    }
}
