//! Signed messages between minhu and other systems: HMAC-SHA256 under a shared
//! secret, written `sha256=<hex>`. minhu signs the webhooks it sends (`minhu-notify`:
//! the body) and checks the events city systems send it (the sensor webhook: the
//! timestamp, a dot and the body, so an old request cannot be replayed later).

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// `sha256=<hex>`: HMAC-SHA256 under `secret` of `parts`, one after the other.
pub fn signature(secret: &str, parts: &[&[u8]]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    for part in parts {
        mac.update(part);
    }
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Whether `sent` is the signature of `parts` under `secret`, compared in constant time.
pub fn verify(secret: &str, parts: &[&[u8]], sent: &str) -> bool {
    let expected = signature(secret, parts);
    expected.len() == sent.len()
        && expected
            .bytes()
            .zip(sent.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_holds_only_for_its_secret_and_parts() {
        let sent = signature("s3cret", &[b"1700000000", b".", b"{}"]);
        assert!(sent.starts_with("sha256=") && sent.len() == 7 + 64);
        assert!(
            verify("s3cret", &[b"1700000000.{}"], &sent),
            "parts are joined"
        );
        assert!(!verify("other", &[b"1700000000.{}"], &sent));
        assert!(!verify("s3cret", &[b"1700000001.{}"], &sent));
        assert!(!verify("s3cret", &[b"1700000000.{}"], &sent[..20]));
    }
}
