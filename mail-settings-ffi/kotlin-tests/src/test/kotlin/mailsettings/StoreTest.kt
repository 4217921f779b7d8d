package mailsettings

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNotEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir
import java.io.File

class StoreTest {
    @TempDir
    lateinit var dir: File

    private fun account(name: String, protocol: Protocol = Protocol.IMAP) = IncomingAccountForm(
        name = name,
        protocol = protocol,
        host = "mail.example.com",
        credential = "helpdesk",
        secureConnectionType = SecureConnectionType.SSL,
    )

    @Test
    fun `accounts persist with versions and conflicts`() {
        val path = File(dir, "settings.db").path
        val vault = Vault().put("helpdesk", "helpdesk@example.test", "x")
        val created = Store.open(path, vault).use { store ->
            val a = store.createIncoming(account("Helpdesk"))
            assertEquals(a.id, a.account.id)
            val b = store.updateIncoming(a.id, a.version, a.account.copy(port = 10993))
            assertNotEquals(a.version, b.version)
            // An edit based on the version read before is refused, never silently applied.
            val e = assertThrows<MailSettingsException.Conflict> {
                store.updateIncoming(a.id, a.version, a.account.copy(name = "Other"))
            }
            assertTrue(e.detail.contains("version"), e.detail)
            b
        }
        Store.open(path).use { store ->
            val again = store.getIncoming(created.id)
            assertEquals(created, again)
            assertEquals(10993L, again.account.port)
            store.deleteIncoming(again.id, again.version)
            assertThrows<MailSettingsException.NotFound> { store.getIncoming(again.id) }
        }
    }

    @Test
    fun `incoming accounts are found by name ignoring case and surrounding spaces`() {
        Store.openInMemory().use { store ->
            store.createIncoming(account("Other"))
            val a = store.createIncoming(account("Helpdesk"))
            val b = store.updateIncoming(a.id, a.version, a.account.copy(port = 10993))
            val found = store.getIncomingByName("  helpDESK ")
            assertEquals(store.getIncoming(a.id), found)
            assertEquals(b.id, found.id)
            assertEquals(b.version, found.version)
            assertEquals("Helpdesk", found.account.name)
            val e = assertThrows<MailSettingsException.NotFound> { store.getIncomingByName("nope") }
            assertTrue(e.detail.contains("nope"), e.detail)
        }
    }

    @Test
    fun `SMTP accounts are found by name ignoring case and surrounding spaces`() {
        Store.openInMemory().use { store ->
            store.createSmtp(smtpAccount("Other"))
            val s = store.createSmtp(smtpAccount("Notifications", default = true))
            val found = store.getSmtpByName(" NOTIFICATIONS\t")
            assertEquals(store.getSmtp(s.id), found)
            assertEquals(s.id, found.id)
            assertEquals(s.version, found.version)
            // Names are per kind: an incoming account's name finds no SMTP account.
            store.createIncoming(account("Helpdesk"))
            val e = assertThrows<MailSettingsException.NotFound> { store.getSmtpByName("Helpdesk") }
            assertTrue(e.detail.contains("Helpdesk"), e.detail)
        }
    }

    @Test
    fun `invalid writes throw Validation with every result`() {
        Store.openInMemory(Vault().put("helpdesk", "h", "x")).use { store ->
            store.createIncoming(account("Helpdesk"))
            val e = assertThrows<MailSettingsException.Validation> {
                store.createIncoming(account(" HELPDESK ").copy(port = 0, credential = "unknown"))
            }
            val codes = e.results.map { it.path to it.code }.toSet()
            assertTrue(("name" to ValidationCode.DUPLICATE_NAME) in codes, codes.toString())
            assertTrue(("port" to ValidationCode.INVALID_PORT) in codes, codes.toString())
            assertTrue(("credential" to ValidationCode.UNKNOWN_CREDENTIAL) in codes, codes.toString())
        }
    }

    @Test
    fun `a connector in use can be neither deleted nor disabled`() {
        Store.openInMemory().use { store ->
            val c = store.createConnector(
                NetworkConnectorForm(name = "dc-east", kind = ConnectorKind.HTTP_CONNECT, host = "127.0.0.1", port = 3128),
            )
            store.createIncoming(account("Helpdesk").copy(useNetworkConnector = true, networkConnector = c.id))
            val e = assertThrows<MailSettingsException.InUse> { store.deleteConnector(c.id, c.version) }
            assertEquals(1, e.usedBy.size)
            assertTrue(e.usedBy[0].contains("Helpdesk"), e.usedBy.toString())
            assertThrows<MailSettingsException.InUse> {
                store.updateConnector(c.id, c.version, c.connector.copy(enabled = false))
            }
        }
    }

    @Test
    fun `one default SMTP account`() {
        Store.openInMemory().use { store ->
            val a = store.createSmtp(smtpAccount("A", default = true))
            val b = store.createSmtp(smtpAccount("B", default = true))
            val all = store.listSmtp().associateBy { it.id }
            assertEquals(false, all.getValue(a.id).account.defaultAccount)
            assertEquals(true, all.getValue(b.id).account.defaultAccount)
        }
    }

    @Test
    fun `the SMTP report exports CSV with a byte-order mark only when asked`() {
        Store.openInMemory().use { store ->
            store.createSmtp(smtpAccount("Notificações"))
            val plain = File(dir, "smtp.csv")
            assertEquals(1UL, store.writeSmtpReportCsv(SmtpReportFilter(), ReportLanguage.PT_BR, plain.path))
            val excel = File(dir, "smtp-excel.csv")
            assertEquals(1UL, store.writeSmtpReportCsv(SmtpReportFilter(), ReportLanguage.PT_BR, excel.path, true))
            val plainBytes = plain.readBytes()
            val excelBytes = excel.readBytes()
            assertTrue(plainBytes.decodeToString().startsWith("ID,Nome,Ativo"), plainBytes.decodeToString())
            assertEquals(listOf(0xEF, 0xBB, 0xBF), excelBytes.take(3).map { it.toInt() and 0xFF })
            assertTrue(excelBytes.drop(3).toByteArray().contentEquals(plainBytes))
            assertTrue(excelBytes.decodeToString().contains("Notificações"))
        }
    }

    @Test
    fun `documents go in and out of the store`() {
        Store.openInMemory().use { store ->
            val doc = SettingsDocument(
                incomingAccounts = listOf(account("A"), account("B", Protocol.POP3)),
                smtpAccounts = listOf(smtpAccount("Notify", default = true)),
            )
            val s = store.importDocument(doc)
            assertEquals(3UL, s.created)
            val out = store.exportDocument()
            assertEquals(listOf("A", "B"), out.incomingAccounts.map { it.name })
            assertEquals(listOf("Notify"), out.smtpAccounts.map { it.name })
            // Importing the same document again changes nothing.
            val again = store.importDocument(out)
            assertEquals(3UL, again.unchanged)
            assertEquals(0UL, again.created + again.updated + again.deleted)
        }
    }

    @Test
    fun `a file that is not a store throws Storage and is left untouched`() {
        val junk = File(dir, "junk.db")
        val bytes = ByteArray(8192) { 0x5a }
        junk.writeBytes(bytes)
        assertThrows<MailSettingsException.Storage> { Store.open(junk.path) }
        assertTrue(junk.readBytes().contentEquals(bytes))
    }

    @Test
    fun `the incoming report filters, pages and exports`() {
        Store.open(File(dir, "report.db").path).use { store ->
            for (i in 0 until 45) {
                store.createIncoming(
                    account("Account %02d".format(i), if (i % 3 == 0) Protocol.POP3 else Protocol.IMAP)
                        .copy(useSecureConnection = i != 7, automaticCheck = i % 2 == 0),
                )
            }
            val first = store.incomingReport()
            assertEquals(30, first.rows.size)
            assertEquals(45UL, first.total)
            assertEquals(2UL, first.pageCount)
            assertEquals(first.rows.map { it.id }.sorted(), first.rows.map { it.id })
            assertEquals(15, store.incomingReport(page = 2u).rows.size)
            assertTrue(store.incomingReport(page = 3u).rows.isEmpty())

            val clear = store.incomingReport(IncomingReportFilter(secureConnection = false))
            val row = clear.rows.single()
            assertEquals("Account 07", row.name)
            assertEquals(null, row.connectionType)
            assertEquals(143.toUShort(), row.port)

            val filter = IncomingReportFilter(nameContains = "account 1", automaticCheck = true)
            val page = store.incomingReport(filter)
            assertEquals(listOf("Account 10", "Account 12", "Account 14", "Account 16", "Account 18"), page.rows.map { it.name })

            val csv = File(dir, "report.csv")
            assertEquals(5UL, store.writeIncomingReportCsv(filter, ReportLanguage.PT_BR, csv.path))
            val lines = csv.readLines()
            assertEquals(6, lines.size, lines.toString())
            assertTrue(lines[1].contains("Account 10"), lines[1])
            assertTrue(lines.drop(1).all { it.contains("Sim") }, lines.toString())
            val plain = csv.readBytes()
            assertTrue(plain.decodeToString().startsWith("ID,Nome,Conexão segura"), plain.decodeToString())

            val excel = File(dir, "excel.csv")
            assertEquals(5UL, store.writeIncomingReportCsv(filter, ReportLanguage.PT_BR, excel.path, bom = true))
            val bytes = excel.readBytes()
            assertEquals(listOf(0xEF, 0xBB, 0xBF), bytes.take(3).map { it.toInt() and 0xFF })
            assertTrue(bytes.drop(3).toByteArray().contentEquals(plain), bytes.decodeToString())

            val html = File(dir, "report.html")
            assertEquals(45UL, store.writeIncomingReportHtml(IncomingReportFilter(), ReportLanguage.EN, html.path))
            assertTrue(html.readText().contains("Account 44"))
        }
    }

    private fun smtpAccount(name: String, default: Boolean = false) = SmtpAccountForm(
        name = name,
        host = "smtp.example.com",
        senderEmail = "noreply@example.com",
        credential = "smtp-notify",
        defaultAccount = default,
        secureConnectionType = SecureConnectionType.TLS,
    )
}
