package mailsettings

import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows

/** The connection check of IMAP, POP3 and SMTP accounts against the local servers. */
class CheckTest {
    private val timeouts = NetworkTimeouts(connectSecs = 10u, ioSecs = 30u)

    private fun <T> withChecker(vault: Vault, body: suspend (Store, ConnectionChecker) -> T): T =
        Store.openInMemory(vault).use { store ->
            ConnectionChecker(store, vault, timeouts).use { checker -> runBlocking { body(store, checker) } }
        }

    @Test
    fun `an IMAP account over implicit TLS passes every stage`() {
        val mailbox = Servers.uniqueMailbox("kt-check")
        val vault = Vault.forMailbox(mailbox)
        withChecker(vault) { store, checker ->
            val a = store.createIncoming(incoming("IMAPS", Protocol.IMAP, "MS_IMAPS_PORT", mailbox))
            val r = checker.checkIncoming(AccountRef.Id(a.id))
            assertTrue(r.ok, r.text)
            assertEquals("IMAP", r.protocol)
            assertEquals(Security.IMPLICIT_TLS, r.security)
            assertEquals(null, r.failure())
            val names = r.stages.map { it.name }
            for (stage in listOf(CheckStageName.CONNECT, CheckStageName.TLS, CheckStageName.AUTHENTICATION, CheckStageName.MAILBOX)) {
                assertTrue(stage in names, names.toString())
            }
            val tls = assertNotNull(r.tls).let { r.tls!! }
            assertTrue(tls.verified)
            assertTrue(tls.version?.startsWith("TLS") == true, tls.toString())
            assertEquals(0UL, r.mailbox?.messages)
            assertFalse(r.text.contains(Servers.password), r.text)
        }
        assertEquals(listOf(mailbox), vault.asked.toList())
    }

    @Test
    fun `an IMAP check lists the folders and names a missing archive folder`() {
        val mailbox = Servers.uniqueMailbox("kt-folders")
        withChecker(Vault.forMailbox(mailbox)) { store, checker ->
            val a = store.createIncoming(
                incoming("IMAPS folders", Protocol.IMAP, "MS_IMAPS_PORT", mailbox).copy(
                    keepCopyOnServer = false,
                    archiveFolder = "Arquivo/Concluídos",
                    usePush = false,
                ),
            )
            assertEquals(listOf("INBOX"), a.account.folders)
            assertEquals("Arquivo/Concluídos", a.account.archiveFolder)
            assertFalse(a.account.usePush)
            val r = checker.checkIncoming(AccountRef.Id(a.id))
            assertFalse(r.ok, r.text)
            val failure = assertNotNull(r.failure()).let { r.failure()!! }
            assertEquals(CheckStageName.FOLDERS, failure.name, r.text)
            assertTrue(failure.detail.contains("archive folder \"Arquivo/Concluídos\" not on the server"), failure.detail)
            val inbox = r.folders.single { it.name == "INBOX" }
            assertTrue(inbox.collected && !inbox.archive && inbox.selectable, inbox.toString())
        }
    }

    @Test
    fun `a POP3 account over STARTTLS passes`() {
        val mailbox = Servers.uniqueMailbox("kt-check")
        withChecker(Vault.forMailbox(mailbox)) { store, checker ->
            val a = store.createIncoming(
                incoming("POP3 STLS", Protocol.POP3, "MS_POP3_PORT", mailbox, type = SecureConnectionType.TLS),
            )
            val r = checker.checkIncoming(AccountRef.Id(a.id))
            assertTrue(r.ok, r.text)
            assertEquals("POP3", r.protocol)
            assertEquals(Security.START_TLS, r.security)
            assertTrue(r.tls?.verified == true)
        }
    }

    @Test
    fun `a wrong password fails at authentication with category AUTH`() {
        val mailbox = Servers.uniqueMailbox("kt-check")
        withChecker(Vault.forMailbox(mailbox)) { store, checker ->
            for (protocol in listOf(Protocol.IMAP, Protocol.POP3)) {
                val key = if (protocol == Protocol.IMAP) "MS_IMAPS_PORT" else "MS_POP3S_PORT"
                val a = store.createIncoming(incoming("wrong $protocol", protocol, key, "wrong-password"))
                val r = checker.checkIncoming(AccountRef.Id(a.id))
                assertFalse(r.ok)
                val failure = r.failure()!!
                assertEquals(CheckStageName.AUTHENTICATION, failure.name, r.text)
                assertEquals(ErrorCategory.AUTH, failure.category)
                assertTrue(failure.advice?.isNotBlank() == true)
                assertNull(failure.replyCode, "IMAP and POP3 have no reply codes")
                assertFalse(r.text.contains("not-the-password"), r.text)
            }
            // SMTP: the report keeps Postfix's refusal, as the exception outside a check does.
            val smtp = store.createSmtp(smtp("wrong SMTP", "MS_SMTP_PORT", "wrong-password", mailbox, type = SecureConnectionType.TLS))
            val r = checker.checkSmtp(AccountRef.Id(smtp.id))
            val failure = r.failure()!!
            assertEquals(CheckStageName.AUTHENTICATION, failure.name, r.text)
            assertEquals(ErrorCategory.AUTH, failure.category)
            assertEquals(535.toUShort(), failure.replyCode)
            assertEquals("5.7.8", failure.enhancedCode)
            assertTrue(r.text.contains("reply 535 5.7.8"), r.text)
        }
    }

    @Test
    fun `bad certificates fail at TLS with category CERTIFICATE`() {
        val mailbox = Servers.uniqueMailbox("kt-check")
        withChecker(Vault.forMailbox(mailbox)) { store, checker ->
            for (key in listOf("MS_IMAPS_SELFSIGNED_PORT", "MS_POP3S_EXPIRED_PORT", "MS_IMAPS_WRONGHOST_PORT")) {
                val protocol = if (key.contains("IMAP")) Protocol.IMAP else Protocol.POP3
                val a = store.createIncoming(incoming(key, protocol, key, mailbox))
                val failure = checker.checkIncoming(AccountRef.Id(a.id)).failure()!!
                assertEquals(CheckStageName.TLS, failure.name, key)
                assertEquals(ErrorCategory.CERTIFICATE, failure.category, key)
            }
        }
    }

    @Test
    fun `through a SOCKS5 connector with its own credential`() {
        val mailbox = Servers.uniqueMailbox("kt-check")
        val vault = Vault.forMailbox(mailbox).put("proxy", Servers.value("MS_PROXY_USER"), Servers.value("MS_PROXY_PASSWORD"))
        withChecker(vault) { store, checker ->
            val c = store.createConnector(
                NetworkConnectorForm(
                    name = "socks-auth",
                    kind = ConnectorKind.SOCKS5,
                    host = "127.0.0.1",
                    port = Servers.port("MS_SOCKS5_AUTH_PORT"),
                    credential = "proxy",
                ),
            )
            val a = store.createIncoming(
                incoming("via SOCKS5", Protocol.IMAP, "MS_IMAPS_PORT", mailbox)
                    .copy(useNetworkConnector = true, networkConnector = c.id),
            )
            val r = checker.checkIncoming(AccountRef.Id(a.id))
            assertTrue(r.ok, r.text)
            assertTrue(r.route.contains("socks-auth"), r.route)
            assertTrue(CheckStageName.PROXY in r.stages.map { it.name })
        }
        assertTrue("proxy" in vault.asked, vault.asked.toString())
    }

    @Test
    fun `the SMTP check sends nothing and reports the server`() {
        val sender = Servers.uniqueMailbox("kt-check")
        withChecker(Vault.forMailbox(sender)) { store, checker ->
            store.createSmtp(smtp("Notify", "MS_SMTP_PORT", sender, sender, type = SecureConnectionType.TLS, default = true))
            val r = checker.checkSmtp()
            assertTrue(r.ok, r.text)
            assertEquals("SMTP", r.protocol)
            assertTrue(r.mechanisms.isNotEmpty())
            assertTrue(CheckStageName.EXTENSIONS in r.stages.map { it.name })
        }
        assertEquals(0, Servers.maildirCount(sender))
    }

    @Test
    fun `an account of either kind is checked by name, and each way it does not resolve has its error`() {
        val mailbox = Servers.uniqueMailbox("kt-check")
        withChecker(Vault.forMailbox(mailbox)) { store, checker ->
            store.createIncoming(incoming("Helpdesk", Protocol.IMAP, "MS_IMAPS_PORT", mailbox))
            // One name, one kind: the check finds it without being told which kind.
            val r = checker.check(AccountRef.Name("helpdesk"))
            assertTrue(r.ok, r.text)
            assertEquals("IMAP", r.protocol)
            // No SMTP account yet: the default is missing.
            val noDefault = assertThrows<MailSettingsException.NoDefault> { runBlocking { checker.check(AccountRef.Default) } }
            assertEquals(ErrorCategory.NOT_FOUND, noDefault.category())
            // The same name for an SMTP account too: say which kind.
            store.createSmtp(smtp("Helpdesk", "MS_SMTP_PORT", mailbox, mailbox, type = SecureConnectionType.TLS))
            val ambiguous = assertThrows<MailSettingsException.Ambiguous> { runBlocking { checker.check(AccountRef.Name("Helpdesk")) } }
            assertTrue(ambiguous.detail.contains("\"Helpdesk\""), ambiguous.detail)
            assertEquals(ErrorCategory.VALIDATION, ambiguous.category())
            assertTrue(checker.checkSmtp(AccountRef.Name("Helpdesk")).ok)
            // Incoming accounts have no default.
            val none = assertThrows<MailSettingsException.NoDefaultFor> { runBlocking { checker.checkIncoming(AccountRef.Default) } }
            assertEquals("incoming account", none.kind)
            assertThrows<MailSettingsException.NotFound> { runBlocking { checker.check(AccountRef.Name("nobody")) } }
        }
    }

    @Test
    fun `unsaved settings are validated before they are checked`() {
        val mailbox = Servers.uniqueMailbox("kt-check")
        withChecker(Vault.forMailbox(mailbox)) { _, checker ->
            val e = assertThrows<MailSettingsException.Validation> {
                runBlocking { checker.checkIncomingSettings(incoming("", Protocol.IMAP, "MS_IMAPS_PORT", "no-such-credential")) }
            }
            val codes = e.results.map { it.code }
            assertTrue(ValidationCode.REQUIRED in codes, codes.toString())
            assertTrue(ValidationCode.UNKNOWN_CREDENTIAL in codes, codes.toString())
            val r = checker.checkIncomingSettings(incoming("Unsaved", Protocol.IMAP, "MS_IMAP_PORT", mailbox, type = SecureConnectionType.TLS))
            assertTrue(r.ok, r.text)
        }
    }
}
