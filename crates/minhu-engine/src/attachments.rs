//! Photos and documents attached to tickets, stored on disk by the SHA-256 of their
//! content: the same photo sent twice is stored once, and a stored file can never be
//! swapped for another under the same name.

use minhu_core::ticket::Attachment;
use minhu_core::workflow::FieldError;
use sha2::{Digest, Sha256};
use std::path::PathBuf;

/// What may be attached, judged by the bytes, never by the name or the declared type.
const ALLOWED: &[&str] = &[
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/webp",
    "image/heif",
    "application/pdf",
];

pub const MAX_ATTACHMENT_BYTES: usize = 10 * 1024 * 1024;

#[derive(Clone, Debug)]
pub struct AttachmentStore {
    dir: PathBuf,
}

impl AttachmentStore {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    fn path_of(&self, sha256: &str) -> PathBuf {
        self.dir.join(&sha256[..2]).join(sha256)
    }

    /// Checks and stores `bytes`, returning what to record on the ticket.
    pub async fn put(
        &self,
        bytes: &[u8],
        name: Option<String>,
    ) -> Result<Attachment, AttachmentError> {
        let media_type = check(bytes, name.as_deref())?;
        let sha256 = hex::encode(Sha256::digest(bytes));
        let path = self.path_of(&sha256);
        if !tokio::fs::try_exists(&path).await? {
            let parent = path.parent().expect("attachment paths have a parent");
            tokio::fs::create_dir_all(parent).await?;
            // Write aside, then rename: a crash never leaves a half file under the hash.
            let partial = parent.join(format!(".{sha256}.{}.partial", std::process::id()));
            tokio::fs::write(&partial, bytes).await?;
            tokio::fs::rename(&partial, &path).await?;
        }
        Ok(Attachment {
            sha256,
            media_type: media_type.to_owned(),
            size: bytes.len() as u64,
            name,
        })
    }

    /// The stored bytes for a hash, `None` if unknown or not a hash at all.
    pub async fn get(&self, sha256: &str) -> Result<Option<Vec<u8>>, std::io::Error> {
        if !is_hash(sha256) {
            return Ok(None);
        }
        match tokio::fs::read(self.path_of(sha256)).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Deletes the file with this hash (a citizen's erasure); false when there was none.
    pub async fn remove(&self, sha256: &str) -> Result<bool, std::io::Error> {
        if !is_hash(sha256) {
            return Ok(false);
        }
        match tokio::fs::remove_file(self.path_of(sha256)).await {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// A SHA-256 as files are named: 64 lowercase hex digits (nothing that leaves the
/// directory).
fn is_hash(text: &str) -> bool {
    text.len() == 64
        && text
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// What `put` would refuse, without storing anything: the media type the bytes are,
/// or the problem with them (`file`) or their name (`name`).
pub fn check(bytes: &[u8], name: Option<&str>) -> Result<&'static str, FieldError> {
    if bytes.is_empty() {
        return Err(FieldError::new("file", "is empty"));
    }
    if bytes.len() > MAX_ATTACHMENT_BYTES {
        return Err(FieldError::new(
            "file",
            format!(
                "is {} bytes; at most {MAX_ATTACHMENT_BYTES} are allowed",
                bytes.len()
            ),
        ));
    }
    let media_type = infer::get(bytes)
        .map(|kind| kind.mime_type())
        .filter(|mime| ALLOWED.contains(mime))
        .ok_or_else(|| {
            FieldError::new(
                "file",
                format!("is not an allowed type; send one of {}", ALLOWED.join(", ")),
            )
        })?;
    if let Some(name) = name
        && (name.chars().count() > 200 || name.chars().any(char::is_control))
    {
        return Err(FieldError::new(
            "name",
            "must be at most 200 printable characters",
        ));
    }
    Ok(media_type)
}

/// The media type of stored bytes, as sniffed when they were accepted.
pub fn media_type_of(bytes: &[u8]) -> &'static str {
    infer::get(bytes).map_or("application/octet-stream", |kind| kind.mime_type())
}

#[derive(Debug, thiserror::Error)]
pub enum AttachmentError {
    #[error("{0}")]
    Invalid(#[from] FieldError),
    #[error("attachment storage: {0}")]
    Io(#[from] std::io::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = &[
        0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D, b'I', b'H', b'D', b'R', 0,
        0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0,
    ];

    #[tokio::test]
    async fn stores_by_content_and_sniffs_the_type() {
        let dir = tempfile::tempdir().unwrap();
        let store = AttachmentStore::new(dir.path());
        let first = store.put(PNG, Some("灯.png".into())).await.unwrap();
        assert_eq!(first.media_type, "image/png");
        let again = store.put(PNG, Some("copy.png".into())).await.unwrap();
        assert_eq!(first.sha256, again.sha256);
        assert_eq!(store.get(&first.sha256).await.unwrap().unwrap(), PNG);
        assert!(store.get("../../etc/passwd").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn refuses_what_is_not_a_photo_or_pdf() {
        let dir = tempfile::tempdir().unwrap();
        let store = AttachmentStore::new(dir.path());
        let err = store
            .put(b"<script>alert(1)</script>", Some("x.png".into()))
            .await
            .unwrap_err();
        assert!(
            matches!(err, AttachmentError::Invalid(ref f) if f.field == "file"),
            "{err}"
        );
        assert!(store.put(b"", None).await.is_err());
    }
}
