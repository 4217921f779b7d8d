package mailsettings

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Test

class SmokeTest {
    @Test
    fun defaultPorts() {
        assertEquals(993.toUShort(), defaultPort(Protocol.IMAP, Security.IMPLICIT_TLS))
    }
}
