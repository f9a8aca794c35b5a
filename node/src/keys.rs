//! Key files: hex secrets in files readable only by their owner.

use std::path::Path;

use alloy::primitives::B256;
use alloy::signers::local::PrivateKeySigner;
use ed25519_dalek::SigningKey;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read key file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("key file {path} must hold 32 bytes of hex: {reason}")]
    Format { path: String, reason: String },
    #[error("cannot write key file {path}: {source}")]
    Write { path: String, source: std::io::Error },
}

fn read_secret(path: &Path) -> Result<[u8; 32], KeyError> {
    warn_if_exposed(path);
    let text =
        std::fs::read_to_string(path).map_err(|source| KeyError::Read { path: path.display().to_string(), source })?;
    let trimmed = text.trim();
    let hex_text = trimmed.strip_prefix("0x").unwrap_or(trimmed);
    let bytes = hex::decode(hex_text)
        .map_err(|error| KeyError::Format { path: path.display().to_string(), reason: error.to_string() })?;
    bytes.try_into().map_err(|bytes: Vec<u8>| KeyError::Format {
        path: path.display().to_string(),
        reason: format!("found {} bytes", bytes.len()),
    })
}

/// Secrets must be readable by their owner only; say so loudly otherwise.
fn warn_if_exposed(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(metadata) = std::fs::metadata(path) {
        let mode = metadata.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            tracing::warn!(path = %path.display(), mode = format!("{mode:o}"), "key file is readable by others: run `chmod 600` on it");
        }
    }
}

/// The ed25519 peer key.
pub fn load_peer_key(path: &Path) -> Result<SigningKey, KeyError> {
    read_secret(path).map(|secret| SigningKey::from_bytes(&secret))
}

/// The secp256k1 committee key.
pub fn load_attester_key(path: &Path) -> Result<PrivateKeySigner, KeyError> {
    let secret = read_secret(path)?;
    PrivateKeySigner::from_bytes(&B256::from(secret))
        .map_err(|error| KeyError::Format { path: path.display().to_string(), reason: error.to_string() })
}

/// Writes a secret as hex with mode 0600, refusing to overwrite an existing key.
pub fn write_secret(path: &Path, secret: &[u8; 32]) -> Result<(), KeyError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let error = |source| KeyError::Write { path: path.display().to_string(), source };
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map_err(error)?;
    file.write_all(hex::encode(secret).as_bytes()).map_err(error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn keys_round_trip_with_owner_only_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("peer.key");
        write_secret(&path, &[7u8; 32]).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(load_peer_key(&path).unwrap().to_bytes(), [7u8; 32]);
        assert!(write_secret(&path, &[8u8; 32]).is_err(), "never overwrite a key");
    }

    #[test]
    fn malformed_key_files_say_what_is_wrong() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.key");
        std::fs::write(&path, "0x1234").unwrap();
        assert!(load_attester_key(&path).unwrap_err().to_string().contains("32 bytes"));
    }
}
