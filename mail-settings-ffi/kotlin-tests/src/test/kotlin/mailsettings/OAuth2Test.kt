package mailsettings

import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNotEquals
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import java.net.URI
import java.net.URLEncoder
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.CopyOnWriteArrayList

/**
 * OAuth2 from Kotlin against the real authorization server (npm's oidc-provider,
 * tests/servers/oauth2/: access tokens live MS_OAUTH2_ACCESS_TTL seconds, refresh tokens rotate
 * on every use) and the real Dovecot and Postfix, which take its tokens.
 */
class OAuth2Test {
    private val timeouts = NetworkTimeouts(connectSecs = 10u, ioSecs = 30u)
    private val issuer: String get() = "http://127.0.0.1:${Servers.port("MS_OAUTH2_SERVER_PORT")}"

    private fun client() = OAuth2Client(
        name = "kt-public",
        provider = OAuth2Provider.Custom,
        clientId = "ms-public",
        grant = OAuth2Grant.REFRESH_TOKEN,
        tokenUrl = "$issuer/token",
        deviceAuthorizationUrl = "$issuer/device/auth",
        authorizationUrl = "$issuer/auth",
        scopes = listOf("openid", "offline_access", "mail"),
    )

    /** The host's token vault, recording every refresh token it is handed. */
    class Tokens : TokenStore {
        val kept = ConcurrentHashMap<String, SignIn>()
        val saved = CopyOnWriteArrayList<String>()
        override fun load(credentialId: String): SignIn? = kept[credentialId]
        override fun save(credentialId: String, signIn: SignIn) {
            kept[credentialId] = signIn
            saved.add(signIn.refreshToken()!!)
        }
    }

    /** The person at the verification page: approves [userCode] as [account]. */
    private fun approve(userCode: String, account: String) {
        val form = listOf("user_code" to userCode, "account" to account)
            .joinToString("&") { (k, v) -> "$k=${URLEncoder.encode(v, Charsets.UTF_8)}" }
        val request = HttpRequest.newBuilder(URI("$issuer/test/approve-device"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .POST(HttpRequest.BodyPublishers.ofString(form))
            .build()
        val response = HttpClient.newHttpClient().send(request, HttpResponse.BodyHandlers.ofString())
        assertEquals(200, response.statusCode(), response.body())
    }

    @Test
    fun `device sign-in, then check, send and collect over OAuth2, and a rotated refresh token reaches the token store`() {
        val mailbox = Servers.uniqueMailbox("kt-oauth2")
        val tokens = Tokens()
        TokenManager(Vault(), tokens).use { manager ->
            val device = runBlocking { manager.startDeviceSignIn(client()) }
            assertTrue(device.verificationUri().startsWith(issuer), device.toString())
            assertTrue(device.userCode().isNotEmpty())
            assertTrue(device.intervalSecs() > 0u)
            assertTrue(device.expiresInSecs() > 0u)
            approve(device.userCode(), mailbox)
            runBlocking { manager.finishDeviceSignIn(client(), device, mailbox, mailbox, 30u) }
            assertEquals(1, tokens.saved.size)
            assertEquals(mailbox, tokens.kept[mailbox]!!.username())
            val first = tokens.saved[0]

            val provider = manager.credentialProvider()
            Store.openInMemory(provider).use { store ->
                val imap = store.createIncoming(incoming("OAuth2 IMAP", Protocol.IMAP, "MS_IMAPS_PORT", mailbox))
                ConnectionChecker(store, provider, timeouts).use { checker ->
                    val r = runBlocking { checker.checkIncoming(AccountRef.Id(imap.id)) }
                    assertTrue(r.ok, r.text)
                    assertFalse(r.text.contains(first), r.text)
                }
                store.createSmtp(smtp("OAuth2 SMTP", "MS_SMTPS_PORT", mailbox, mailbox, default = true))
                Mailer(store, provider, timeouts).use { mailer ->
                    runBlocking { mailer.send(OutgoingMessage(to = listOf(mailbox), subject = "OAuth2 from Kotlin", text = "sent with a token\n")) }
                }
                assertEquals(1, Servers.awaitDelivery(mailbox, 1))
                Collector(store, provider, CollectorSettings(timeouts = timeouts)).use { collector ->
                    val report = runBlocking { collector.checkNow(AccountRef.Id(imap.id)) }
                    assertEquals(1UL, report.listed, report.toString())
                }
            }
            val status = manager.status().single { it.credential == mailbox }
            assertTrue(status.state is SignInState.SignedIn, status.toString())
            assertEquals("kt-public", status.client)

            // Past the access token's lifetime the next credential is a refresh, and the server
            // rotates the refresh token: the new one is in the host's store before it is used.
            val ttl = Servers.value("MS_OAUTH2_ACCESS_TTL").toLong()
            Thread.sleep((ttl + 1) * 1000)
            val before = tokens.saved.size
            val cred = provider.credential(mailbox)
            assertTrue(cred.isOauth2())
            assertTrue(tokens.saved.size > before, tokens.saved.size.toString())
            val latest = tokens.saved.last()
            assertNotEquals(first, latest)
            assertEquals(latest, tokens.kept[mailbox]!!.refreshToken())

            // No text of any record or object shows a token or secret.
            val texts = listOf(
                tokens.kept[mailbox].toString(),
                SignIn(mailbox, "rt-canary-kt-5d1f").toString(),
                device.toString(),
                cred.toString(),
                status.toString(),
                manager.status().toString(),
                client().toString(),
            )
            for (text in texts) {
                for (secret in tokens.saved + "rt-canary-kt-5d1f") {
                    assertFalse(text.contains(secret), text)
                }
            }
        }
    }

    @Test
    fun `a refused refresh token is NeedsSignIn with the reason, in the error and in the status`() {
        val mailbox = Servers.uniqueMailbox("kt-oauth2-revoked")
        val tokens = Tokens()
        tokens.kept[mailbox] = SignIn(mailbox, "not-a-refresh-token-kt-canary")
        TokenManager(Vault(), tokens).use { manager ->
            manager.bind(mailbox, client())
            val e = assertThrows<MailSettingsException.NeedsSignIn> {
                manager.credentialProvider().credential(mailbox)
            }
            assertEquals(ErrorCategory.NEEDS_SIGN_IN, e.category())
            assertTrue(e.message!!.contains("invalid_grant"), e.message)
            assertFalse(e.message!!.contains("kt-canary"), e.message)
            val state = manager.status().single { it.credential == mailbox }.state
            assertTrue(state is SignInState.NeedsSignIn, state.toString())
            assertTrue((state as SignInState.NeedsSignIn).reason.contains("invalid_grant"), state.reason)
            assertNotNull(manager.needsSignIn(mailbox))
        }
        // Without a token store the refresh token grant is refused when it is bound.
        TokenManager(Vault(), null).use { manager ->
            val e = assertThrows<MailSettingsException.Validation> { manager.bind("x", client()) }
            assertTrue(e.message!!.contains("no token store"), e.message)
        }
    }

    @Test
    fun `OAuth2 clients round-trip through the store and accounts name them`() {
        Store.openInMemory(Vault().put("m365-secret", "app", "s3cret")).use { store ->
            val form = OAuth2ClientForm(
                name = "Contoso",
                provider = OAuth2ProviderKind.MICROSOFT,
                clientId = "00000000-1111-2222-3333-444444444444",
                tenant = "contoso.example",
                scopes = listOf("https://outlook.office.com/IMAP.AccessAsUser.All", "offline_access"),
            )
            val created = store.createOauth2Client(form)
            assertEquals(form.copy(id = created.id), created.client)
            assertEquals(created, store.getOauth2Client(created.id))
            assertEquals(listOf(created), store.listOauth2Clients())
            val updated = store.updateOauth2Client(created.id, created.version, form.copy(tenant = "fabrikam.example"))
            assertEquals("fabrikam.example", updated.client.tenant)
            assertNotEquals(created.version, updated.version)

            val account = incoming("OAuth2 IMAP", Protocol.IMAP, "MS_IMAPS_PORT", "m365-secret")
                .copy(authentication = AuthenticationMethod.OAUTH2, oauth2Client = created.id)
            val stored = store.createIncoming(account)
            assertEquals(AuthenticationMethod.OAUTH2, stored.account.authentication)
            assertEquals(created.id, stored.account.oauth2Client)
            // A client that accounts use cannot be deleted.
            assertThrows<MailSettingsException.InUse> { store.deleteOauth2Client(updated.id, updated.version) }
            val doc = store.exportDocument()
            assertEquals(listOf("Contoso"), doc.oauth2Clients.map { it.name })

            // OAUTH2 without a client: oauth2_client_required.
            val e = assertThrows<MailSettingsException.Validation> {
                store.createIncoming(account.copy(name = "no client", oauth2Client = null))
            }
            assertTrue(e.results.any { it.code == ValidationCode.OAUTH2_CLIENT_REQUIRED }, e.results.toString())
        }
        // Google has no client credentials grant: grant_not_supported.
        val results = validateOauth2Client(
            OAuth2ClientForm(name = "g", provider = OAuth2ProviderKind.GOOGLE, clientId = "id", grant = OAuth2Grant.CLIENT_CREDENTIALS, clientSecretCredential = "x"),
        )
        assertTrue(results.any { it.code == ValidationCode.GRANT_NOT_SUPPORTED }, results.toString())
    }
}
