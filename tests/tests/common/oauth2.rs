//! OAuth2 access tokens the local Dovecot accepts (and, with a past expiry, refuses): HS256 JWTs
//! signed with the key `tests/servers/start.sh` writes (see `$MS_SERVERS_DIR/oauth2.env`).

use base64::Engine as _;
use mail_settings_tests::servers;
use sha2::{Digest, Sha256};

/// A token for `user` that expires in `ttl` seconds (negative: already expired).
pub fn token(user: &str, ttl: i64) -> String {
    let key_text =
        std::fs::read_to_string(servers().dir.join("oauth2/keys/default/HS256/default")).unwrap();
    let key = base64::engine::general_purpose::STANDARD
        .decode(key_text.trim())
        .unwrap();
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let header = b64(br#"{"alg":"HS256","typ":"JWT"}"#);
    let claims = b64(format!(r#"{{"sub":"{user}","exp":{}}}"#, now + ttl).as_bytes());
    let signing_input = format!("{header}.{claims}");
    // HMAC-SHA256 (RFC 2104).
    let mut k = if key.len() > 64 {
        Sha256::digest(&key).to_vec()
    } else {
        key
    };
    k.resize(64, 0);
    let ipad: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
    let opad: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
    let inner = Sha256::new()
        .chain_update(&ipad)
        .chain_update(signing_input.as_bytes())
        .finalize();
    let mac = Sha256::new()
        .chain_update(&opad)
        .chain_update(inner)
        .finalize();
    format!("{signing_input}.{}", b64(&mac))
}
