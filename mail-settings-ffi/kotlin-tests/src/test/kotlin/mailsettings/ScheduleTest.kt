package mailsettings

import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows

/** Report schedules: the record, its validation, the store, and sending through Postfix. */
class ScheduleTest {
    private fun daily(name: String, to: String) = ReportSchedule(
        name = name,
        report = ScheduledReport.INCOMING_ACCOUNTS,
        recipients = listOf(to),
        frequency = ScheduleFrequency.DAILY,
    )

    @Test
    fun `validation gives the schedule codes`() {
        val bad = daily("x", "not an address").copy(timeOfDay = "24:00", timeZone = "Mars/Base", dayOfMonth = 29)
        val codes = validateReportSchedule(bad).map { it.path to it.code }.toSet()
        assertTrue(("recipients[0]" to ValidationCode.INVALID_EMAIL) in codes, codes.toString())
        assertTrue(("time_of_day" to ValidationCode.INVALID_TIME) in codes, codes.toString())
        assertTrue(("time_zone" to ValidationCode.INVALID_TIME_ZONE) in codes, codes.toString())
        assertTrue(("day_of_month" to ValidationCode.OUT_OF_RANGE) in codes, codes.toString())
        assertTrue(validateReportSchedule(daily("ok", "a@example.com")).isEmpty())
    }

    @Test
    fun `the store keeps schedules with versions and documents carry them`() {
        Store.openInMemory().use { store ->
            val s = store.createReportSchedule(daily("Diário", "ops@example.com").copy(timeZone = "America/Sao_Paulo"))
            assertEquals("08:00", s.schedule.timeOfDay)
            assertEquals(ScheduleFormat.CSV, s.schedule.format)
            assertEquals(s, store.getReportScheduleByName("DIÁRIO"))
            val e = assertThrows<MailSettingsException.Validation> {
                store.createReportSchedule(daily("diário", "ops@example.com").copy(smtpAccount = 99))
            }
            val codes = e.results.map { it.path to it.code }.toSet()
            assertTrue(("name" to ValidationCode.DUPLICATE_NAME) in codes, codes.toString())
            val changed = store.updateReportSchedule(s.id, s.version, s.schedule.copy(timeOfDay = "07:30"))
            assertThrows<MailSettingsException.Conflict> { store.updateReportSchedule(s.id, s.version, s.schedule) }
            val doc = store.exportDocument()
            assertEquals(listOf("Diário"), doc.reportSchedules.map { it.name })
            assertEquals(0uL, store.importDocument(doc).deleted)
            assertEquals(1, store.listReportSchedules().size)
            store.deleteReportSchedule(changed.id, changed.version)
            assertTrue(store.listReportSchedules().isEmpty())
        }
    }

    @Test
    fun `due reports are sent once and run now sends again`() = runBlocking {
        val mailbox = Servers.uniqueMailbox("kt-sched")
        val vault = Vault.forMailbox(mailbox)
        Store.openInMemory(vault).use { store ->
            store.createSmtp(smtp("Reports", "MS_SMTPS_PORT", mailbox, mailbox, default = true))
            // 00:00 UTC has always passed today: due at once.
            val s = store.createReportSchedule(
                daily("Daily", mailbox).copy(timeOfDay = "00:00", format = ScheduleFormat.HTML, language = ReportLanguage.PT_BR),
            )
            ReportScheduler(store, vault, NetworkTimeouts(connectSecs = 10u, ioSecs = 30u)).use { scheduler ->
                val first = scheduler.runDue()
                assertEquals(1, first.size)
                assertTrue(first[0].sent, first[0].error ?: "")
                assertEquals(0uL, first[0].rows)
                assertTrue(scheduler.runDue().isEmpty())
                val now = scheduler.runNow(s.id)
                assertTrue(now.sent)
                assertNull(now.period)
                val journal = store.createReportSchedule(daily("Journal", mailbox).copy(report = ScheduledReport.COLLECTION_JOURNAL))
                // The collection journal goes out too (empty: nothing was collected).
                val sentJournal = scheduler.runNow(journal.id)
                assertTrue(sentJournal.sent, sentJournal.error ?: "")
                assertEquals(0uL, sentJournal.rows)
            }
        }
        assertEquals(3, Servers.awaitDelivery(mailbox, 3))
    }

    @Test
    fun `the inbox report writes CSV and printable HTML`() {
        Store.openInMemory().use { store ->
            Inbox(store).use { inbox ->
                val csv = kotlin.io.path.createTempFile(suffix = ".csv").toFile()
                assertEquals(0uL, inbox.writeReportCsv(ReportLanguage.PT_BR, csv.path, bom = true))
                val bytes = csv.readBytes()
                assertEquals(listOf(0xEF, 0xBB, 0xBF), bytes.take(3).map { it.toInt() and 0xFF })
                assertEquals("ID,Conta,Data,De,Assunto,Tamanho,Anexos,Lida\r\n", String(bytes.drop(3).toByteArray()))
                val html = kotlin.io.path.createTempFile(suffix = ".html").toFile()
                assertEquals(0uL, inbox.writeReportHtml(ReportLanguage.PT_BR, html.path))
                assertTrue(html.readText().contains("<h1>Caixa de Entrada</h1>"))
                csv.delete()
                html.delete()
            }
        }
    }
}
