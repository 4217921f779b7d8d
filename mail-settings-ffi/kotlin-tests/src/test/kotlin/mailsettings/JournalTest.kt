package mailsettings

import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir
import java.io.File

/** The collection journal after a collection from the local Dovecot. */
class JournalTest {
    @TempDir
    lateinit var dir: File

    private val timeouts = NetworkTimeouts(connectSecs = 10u, ioSecs = 30u)

    private fun deliver(mailbox: String, count: Int) {
        val before = Servers.maildirCount(mailbox)
        val sender = Servers.uniqueMailbox("kt-jfeeder")
        val vault = Vault.forMailbox(sender)
        Store.openInMemory(vault).use { store ->
            store.createSmtp(smtp("feeder", "MS_SMTPS_PORT", sender, sender, default = true))
            Mailer(store, vault, timeouts).use { mailer ->
                runBlocking {
                    for (i in 1..count) {
                        mailer.send(OutgoingMessage(to = listOf(mailbox), subject = "Journal $i", text = "Body $i\n"))
                    }
                }
            }
        }
        assertEquals(before + count, Servers.awaitDelivery(mailbox, before + count))
    }

    @Test
    fun `a run's stored messages are in the journal, filtered, paged and exported`() {
        val mailbox = Servers.uniqueMailbox("kt-journal")
        deliver(mailbox, 3)
        val vault = Vault.forMailbox(mailbox)
        Store.openInMemory(vault).use { store ->
            val a = store.createIncoming(incoming("IMAP", Protocol.IMAP, "MS_IMAPS_PORT", mailbox))
            Collector(store, vault, CollectorSettings(maxConcurrentAccounts = 1u, timeouts = timeouts)).use { collector ->
                assertEquals(3UL, runBlocking { collector.checkNow(AccountRef.Id(a.id)) }.fetched)
            }
            val page = store.journalPage()
            assertEquals(3UL, page.total)
            assertTrue(page.rows.all { it.outcome == MessageOutcome.STORED && it.folder == "INBOX" && it.serverId.startsWith("UID ") })
            assertEquals(setOf("Journal 1", "Journal 2", "Journal 3"), page.rows.map { it.subject }.toSet())
            assertTrue(page.rows.all { (it.size ?: 0UL) > 0UL && it.accountId == a.id })

            val two = store.journalPage(JournalFilter(accountName = "imap"), 2u, 2u)
            assertEquals(1, two.rows.size)
            assertEquals(2UL, two.pageCount)
            assertEquals(0UL, store.journalPage(JournalFilter(outcome = MessageOutcome.REFUSED)).total)
            assertEquals(0UL, store.journalPage(JournalFilter(since = parseJournalTime("2999-01-01", false))).total)
            assertEquals(3UL, store.journalPage(JournalFilter(accountId = a.id, until = parseJournalTime("2999-01-01", true))).total)
            assertNull(parseJournalTime("yesterday", false))

            val csv = File(dir, "journal.csv")
            assertEquals(3UL, store.writeJournalCsv(ReportLanguage.PT_BR, csv.path))
            assertTrue(csv.readText().startsWith("ID,Horário,Conta"))
            val html = File(dir, "journal.html")
            assertEquals(3UL, store.writeJournalHtml(ReportLanguage.EN, html.path, JournalFilter(outcome = MessageOutcome.STORED)))
            assertTrue(html.readText().contains("<title>Collection journal</title>"))

            val runs = store.journalRuns(a.id)
            assertEquals(1, runs.size)
            assertEquals(3UL, runs[0].stored)
            assertNull(runs[0].errorCategory)
            assertEquals(90u, store.journalRetentionDays())
        }
    }
}
