package mailsettings

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNotEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows

class ValidationTest {
    private fun has(results: List<ValidationResult>, path: String, code: ValidationCode) =
        results.any { it.path == path && it.code == code }

    @Test
    fun `every problem of an incoming account is reported at once`() {
        val vault = Vault().put("helpdesk", "helpdesk@example.test", "x")
        val account = IncomingAccountForm(
            name = "  ",
            protocol = null,
            host = "imap://mail.example.com",
            port = 70000,
            credential = "nobody",
            checkIntervalSecs = 5,
            skipCertificate = true,
            secureConnectionType = SecureConnectionType.SSL,
        )
        val r = validateIncomingAccount(account, credentials = vault)
        assertTrue(has(r, "name", ValidationCode.REQUIRED), r.toString())
        assertTrue(has(r, "protocol", ValidationCode.REQUIRED), r.toString())
        assertTrue(has(r, "host", ValidationCode.INVALID_HOST), r.toString())
        assertTrue(has(r, "port", ValidationCode.INVALID_PORT), r.toString())
        assertTrue(has(r, "check_interval_secs", ValidationCode.OUT_OF_RANGE), r.toString())
        assertTrue(has(r, "credential", ValidationCode.UNKNOWN_CREDENTIAL), r.toString())
        // The provider was asked whether the id exists, never for the secret.
        assertEquals(listOf("nobody"), vault.checked.toList())
        assertTrue(vault.asked.isEmpty())
        val warning = r.single { it.code == ValidationCode.CERTIFICATE_CHECK_DISABLED }
        assertEquals(Severity.WARNING, warning.severity)
        assertEquals("certificate_check_disabled", warning.codeName)
        assertTrue(warning.messagePtBr.isNotBlank())
        assertNotEquals(warning.message, warning.messagePtBr)
    }

    @Test
    fun `control characters in names and credential ids are invalid characters`() {
        val account = IncomingAccountForm(
            name = "Help\u001b[2Jdesk",
            protocol = Protocol.IMAP,
            host = "imap.example.com",
            secureConnectionType = SecureConnectionType.SSL,
            credential = "helpdesk\r\nx",
        )
        val r = validateIncomingAccount(account)
        assertTrue(has(r, "name", ValidationCode.INVALID_CHARACTERS), r.toString())
        assertTrue(has(r, "credential", ValidationCode.INVALID_CHARACTERS), r.toString())
        val name = r.first { it.path == "name" }
        assertEquals("invalid_characters", name.codeName)
        assertEquals(Severity.ERROR, name.severity)
        assertTrue(name.messagePtBr.contains("caracteres de controle"), name.messagePtBr)
    }

    @Test
    fun `a valid account has no results and SPEC defaults`() {
        val account = IncomingAccountForm(
            name = "Helpdesk",
            protocol = Protocol.POP3,
            host = "pop.example.com",
            credential = "helpdesk",
            secureConnectionType = SecureConnectionType.TLS,
        )
        assertTrue(validateIncomingAccount(account).isEmpty())
        assertEquals(300L, account.checkIntervalSecs)
        assertTrue(account.keepCopyOnServer && account.automaticCheck && account.enabled)
        assertFalse(account.skipCertificate)
        assertEquals(110.toUShort(), account.effectivePort())
        assertEquals(Security.START_TLS, account.security())
    }

    @Test
    fun `smtp rules across fields`() {
        val account = SmtpAccountForm(
            name = "Notifications",
            host = "smtp.example.com",
            senderEmail = "not an address",
            credential = "smtp-notify",
            useAuthentication = false,
            sendReadReceipt = true,
            enableFooter = true,
            useNetworkConnector = true,
            networkConnector = 4,
            secureConnectionType = SecureConnectionType.SSL,
        )
        val connectors = listOf(
            NetworkConnectorForm(id = 4, name = "dc-east", kind = ConnectorKind.SOCKS5, host = "10.0.0.5", port = 1080, enabled = false),
        )
        val r = validateSmtpAccount(account, connectors)
        assertTrue(has(r, "sender_email", ValidationCode.INVALID_EMAIL), r.toString())
        assertTrue(has(r, "credential", ValidationCode.CREDENTIAL_NOT_ALLOWED), r.toString())
        assertTrue(has(r, "confirmation_email", ValidationCode.CONFIRMATION_EMAIL_REQUIRED), r.toString())
        assertTrue(has(r, "footer", ValidationCode.FOOTER_REQUIRED), r.toString())
        assertTrue(has(r, "network_connector", ValidationCode.NETWORK_CONNECTOR_DISABLED), r.toString())
        assertTrue(r.all { it.severity == Severity.ERROR })
        assertEquals(465.toUShort(), account.effectivePort())
    }

    @Test
    fun `documents parse, validate by path and round trip`() {
        val json = """
            {"version": 1,
             "incoming_accounts": [
               {"name": "Helpdesk", "protocol": "IMAP", "host": "imap.example.com", "credential": "a"},
               {"name": "helpdesk ", "protocol": "POP3", "host": "pop.example.com", "credential": "b", "port": 0}
             ],
             "smtp_accounts": [
               {"name": "A", "host": "smtp.example.com", "sender_email": "a@example.com", "credential": "c", "default_account": true},
               {"name": "B", "host": "smtp.example.com", "sender_email": "b@example.com", "credential": "c", "default_account": true}
             ]}
        """.trimIndent()
        val doc = parseSettingsDocument(json, DocumentFormat.JSON)
        assertEquals(2, doc.incomingAccounts.size)
        assertEquals(Protocol.POP3, doc.incomingAccounts[1].protocol)
        val r = validateSettingsDocument(doc)
        assertTrue(has(r, "incoming_accounts[1].name", ValidationCode.DUPLICATE_NAME), r.toString())
        assertTrue(has(r, "incoming_accounts[1].port", ValidationCode.INVALID_PORT), r.toString())
        assertTrue(r.any { it.code == ValidationCode.MULTIPLE_DEFAULT_ACCOUNTS }, r.toString())
        val toml = settingsDocumentToString(doc, DocumentFormat.TOML)
        assertEquals(doc, parseSettingsDocument(toml, DocumentFormat.TOML))
    }

    @Test
    fun `a document with an unknown field throws Parse with its position`() {
        val e = assertThrows<MailSettingsException.Parse> {
            parseSettingsDocument("{\"version\": 1,\n  \"colour\": 3}", DocumentFormat.JSON)
        }
        assertEquals(2UL, e.line)
        assertTrue(e.column > 0UL)
        assertTrue(e.detail.contains("colour"), e.detail)
    }

    @Test
    fun `credentials never show their secret`() {
        Credential.password("alice@example.test", "pa55-word-7").use { c ->
            assertFalse(c.toString().contains("pa55-word-7"), c.toString())
            assertTrue(c.toString().contains("alice@example.test"))
            assertEquals("alice@example.test", c.username())
            assertFalse(c.isOauth2())
        }
        Credential.oauth2("bob", "ya29.secret-token").use { t ->
            assertFalse(t.toString().contains("ya29.secret-token"), t.toString())
            assertTrue(t.isOauth2())
        }
    }
}
