package mailsettings

import java.io.File
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.ConcurrentLinkedQueue
import java.util.concurrent.atomic.AtomicLong

/**
 * The real local servers of tests/servers/: started once per test JVM (the script is
 * idempotent), then named by their ports.env keys, like the Rust harness (tests/src/lib.rs).
 */
object Servers {
    /** The repository root (the surefire configuration passes it). */
    val repo: File = File(System.getProperty("mailsettings.repo") ?: "../..").canonicalFile

    /** Every KEY=VALUE of ports.env, after the environment's MS_SERVERS_DIR. */
    val env: Map<String, String> by lazy {
        val start = ProcessBuilder("bash", File(repo, "tests/servers/start.sh").path)
            .redirectErrorStream(true)
            .start()
        val output = start.inputStream.bufferedReader().readText()
        check(start.waitFor() == 0) { "tests/servers/start.sh failed:\n$output" }
        val map = File(repo, "tests/servers/ports.env").readLines()
            .map { it.trim() }
            .filter { it.isNotEmpty() && !it.startsWith("#") && it.contains('=') }
            .associate { it.substringBefore('=').trim() to it.substringAfter('=').trim().trim('"') }
            .toMutableMap()
        System.getenv("MS_SERVERS_DIR")?.let { map["MS_SERVERS_DIR"] = it }
        map
    }

    fun value(key: String): String = env[key] ?: error("$key is not in tests/servers/ports.env")
    fun port(key: String): Long = value(key).toLong()

    val dir: File get() = File(value("MS_SERVERS_DIR"))
    /** The test CA that signed the valid, expired and wrong-host certificates. */
    val caFile: String get() = File(dir, "certs/ca.pem").path
    val domain: String get() = value("MS_MAIL_DOMAIN")
    val password: String get() = value("MS_MAIL_PASSWORD")

    private val counter = AtomicLong()

    /** A mailbox no other test uses (any local part is a valid mailbox). */
    fun uniqueMailbox(prefix: String): String =
        "$prefix-kt-${ProcessHandle.current().pid()}-${counter.incrementAndGet()}-${System.nanoTime() % 1_000_000_007}@$domain"

    /** Messages in the mailbox's Maildir (new and cur), as Dovecot stores them. */
    fun maildirCount(mailbox: String): Int {
        val root = File(dir, "mail/${mailbox.substringAfter('@')}/${mailbox.substringBefore('@')}/Maildir")
        return listOf("new", "cur").sumOf { File(root, it).listFiles()?.size ?: 0 }
    }

    /**
     * Waits until Postfix has handed the mailbox [atLeast] messages to Dovecot, at most 30 s
     * (delivery is asynchronous after the SMTP server accepts a message). Returns the count.
     */
    fun awaitDelivery(mailbox: String, atLeast: Int): Int {
        val deadline = System.nanoTime() + 30_000_000_000L
        while (maildirCount(mailbox) < atLeast && System.nanoTime() < deadline) {
            Thread.sleep(100)
        }
        return maildirCount(mailbox)
    }
}

/**
 * A credential provider answered from Kotlin, as a host answers from the Android Keystore or
 * the iOS Keychain: a map of id to (user, password), recording what it was asked.
 */
class Vault(entries: Map<String, Pair<String, String>> = emptyMap()) : CredentialProvider {
    private val entries = ConcurrentHashMap(entries)
    /** Ids asked for with [credential], in order. */
    val asked = ConcurrentLinkedQueue<String>()
    /** Ids asked about with [contains]. */
    val checked = ConcurrentLinkedQueue<String>()
    /** Names of the threads [credential] was called on. */
    val threads = ConcurrentLinkedQueue<String>()

    fun put(id: String, user: String, password: String) = apply { entries[id] = user to password }

    override fun credential(id: String): Credential {
        asked.add(id)
        threads.add(Thread.currentThread().name)
        val (user, password) = entries[id] ?: throw MailSettingsException.NotFound("no credential $id in the vault")
        return Credential.password(user, password)
    }

    override fun contains(id: String): Boolean {
        checked.add(id)
        return entries.containsKey(id)
    }

    companion object {
        /** A vault that knows [mailbox] (id = the address) with the right password, and
         * `wrong-password` for the same mailbox. */
        fun forMailbox(mailbox: String) = Vault()
            .put(mailbox, mailbox, Servers.password)
            .put("wrong-password", mailbox, "not-the-password")
    }
}

/** An incoming account on the local servers, with SPEC.md's defaults for the rest. */
fun incoming(
    name: String,
    protocol: Protocol,
    portKey: String,
    credential: String,
    type: SecureConnectionType = SecureConnectionType.SSL,
    secure: Boolean = true,
) = IncomingAccountForm(
    name = name,
    protocol = protocol,
    host = "localhost",
    port = Servers.port(portKey),
    credential = credential,
    useSecureConnection = secure,
    secureConnectionType = type,
    caFile = Servers.caFile,
)

/** An SMTP account on the local Postfix submission service. */
fun smtp(
    name: String,
    portKey: String,
    credential: String?,
    sender: String,
    type: SecureConnectionType = SecureConnectionType.SSL,
    default: Boolean = false,
) = SmtpAccountForm(
    name = name,
    host = "localhost",
    senderEmail = sender,
    credential = credential,
    port = Servers.port(portKey),
    defaultAccount = default,
    secureConnectionType = type,
    caFile = Servers.caFile,
)
