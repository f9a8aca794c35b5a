//! Key files: hex secrets in files readable only by their owner, or the same secrets
//! in an encrypted Web3 Secret Storage keystore (scrypt + AES-128-CTR, the format geth
//! and Foundry use), unlocked with the password in `BACKSTOP_KEYSTORE_PASSWORD` (or the
//! file named by `BACKSTOP_KEYSTORE_PASSWORD_FILE`).

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
    #[error(
        "key file {path} is an encrypted keystore: set BACKSTOP_KEYSTORE_PASSWORD (or BACKSTOP_KEYSTORE_PASSWORD_FILE)"
    )]
    NoPassword { path: String },
    #[error("cannot unlock keystore {path}: {reason} (wrong password?)")]
    Keystore { path: String, reason: String },
}

/// The keystore password from the environment, if any.
pub fn keystore_password() -> Result<Option<String>, KeyError> {
    if let Some(password) = std::env::var_os("BACKSTOP_KEYSTORE_PASSWORD") {
        return Ok(Some(password.to_string_lossy().into_owned()));
    }
    let Some(file) = std::env::var_os("BACKSTOP_KEYSTORE_PASSWORD_FILE") else { return Ok(None) };
    let text = std::fs::read_to_string(&file)
        .map_err(|source| KeyError::Read { path: Path::new(&file).display().to_string(), source })?;
    Ok(Some(text.trim_end_matches(['\n', '\r']).to_string()))
}

/// Writes `secret` as an encrypted keystore file at `path` (mode 0600, never overwriting).
pub fn write_keystore(path: &Path, secret: &[u8; 32], password: &str) -> Result<(), KeyError> {
    let error = |source| KeyError::Write { path: path.display().to_string(), source };
    if path.exists() {
        return Err(error(std::io::Error::new(std::io::ErrorKind::AlreadyExists, "refusing to overwrite a key")));
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|name| name.to_str()).unwrap_or("key");
    eth_keystore::encrypt_key(dir, &mut rand::thread_rng(), secret, password, Some(name))
        .map_err(|reason| KeyError::Keystore { path: path.display().to_string(), reason: reason.to_string() })?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(error)
}

fn read_secret(path: &Path) -> Result<[u8; 32], KeyError> {
    warn_if_exposed(path);
    let text =
        std::fs::read_to_string(path).map_err(|source| KeyError::Read { path: path.display().to_string(), source })?;
    let trimmed = text.trim();
    if trimmed.starts_with('{') {
        let password = keystore_password()?.ok_or_else(|| KeyError::NoPassword { path: path.display().to_string() })?;
        let secret = eth_keystore::decrypt_key(path, password)
            .map_err(|reason| KeyError::Keystore { path: path.display().to_string(), reason: reason.to_string() })?;
        return secret.try_into().map_err(|bytes: Vec<u8>| KeyError::Format {
            path: path.display().to_string(),
            reason: format!("keystore holds {} bytes", bytes.len()),
        });
    }
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
    fn an_encrypted_keystore_round_trips_and_needs_its_password() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("attester.json");
        write_keystore(&path, &[9u8; 32], "correct horse").unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert!(write_keystore(&path, &[9u8; 32], "x").is_err(), "never overwrite a key");
        let secret = eth_keystore::decrypt_key(&path, "correct horse").unwrap();
        assert_eq!(secret, vec![9u8; 32]);
        assert!(eth_keystore::decrypt_key(&path, "wrong").is_err());
    }

    #[test]
    fn malformed_key_files_say_what_is_wrong() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.key");
        std::fs::write(&path, "0x1234").unwrap();
        assert!(load_attester_key(&path).unwrap_err().to_string().contains("32 bytes"));
    }
}
