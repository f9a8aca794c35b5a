//! Devnet key material: fresh ed25519 peer keys and secp256k1 EVM keys, written as hex
//! files with mode 0600 in the formats the node and the solver runner read.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use alloy::primitives::{Address, B256};
use alloy::signers::local::PrivateKeySigner;
use libp2p::identity;
use rand::RngCore;

use crate::DevnetError;

/// A peer identity (node or solver): the ed25519 secret and the libp2p peer id it implies.
#[derive(Clone)]
pub struct PeerKey {
    pub secret: [u8; 32],
}

impl PeerKey {
    pub fn random() -> Self {
        let mut secret = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut secret);
        Self { secret }
    }

    /// The libp2p peer id, as the node reports it in `ready.json`.
    pub fn peer_id(&self) -> String {
        let mut bytes = self.secret;
        match identity::Keypair::ed25519_from_bytes(&mut bytes) {
            Ok(keypair) => keypair.public().to_peer_id().to_string(),
            Err(_) => String::from("<invalid ed25519 key>"),
        }
    }

    pub fn hex(&self) -> String {
        hex::encode(self.secret)
    }
}

/// An EVM key: attester, executor, account or deployer.
#[derive(Clone)]
pub struct EvmKey {
    pub signer: PrivateKeySigner,
}

impl EvmKey {
    pub fn random() -> Self {
        Self { signer: PrivateKeySigner::random() }
    }

    pub fn address(&self) -> Address {
        self.signer.address()
    }

    pub fn secret(&self) -> B256 {
        self.signer.to_bytes()
    }

    pub fn hex(&self) -> String {
        hex::encode(self.secret())
    }
}

/// Writes `contents` to a new file readable only by its owner.
pub fn write_secret(path: &Path, contents: &str) -> Result<(), DevnetError> {
    let io = |source| DevnetError::Io { path: path.to_path_buf(), source };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    let mut file =
        std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path).map_err(io)?;
    file.write_all(contents.as_bytes()).map_err(io)?;
    file.write_all(b"\n").map_err(io)
}

/// Reads a hex secret written by [`write_secret`] (a `0x` prefix is accepted).
pub fn read_secret(path: &Path) -> Result<[u8; 32], DevnetError> {
    let text = std::fs::read_to_string(path).map_err(|source| DevnetError::Io { path: path.to_path_buf(), source })?;
    let trimmed = text.trim();
    let hex_digits = trimmed.strip_prefix("0x").unwrap_or(trimmed);
    let bytes = hex::decode(hex_digits)
        .map_err(|error| DevnetError::Config { path: path.to_path_buf(), reason: format!("not a hex key: {error}") })?;
    bytes.try_into().map_err(|_| DevnetError::Config {
        path: path.to_path_buf(),
        reason: "a key file must hold exactly 32 bytes of hex".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn secrets_are_private_and_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/peer.key");
        let key = PeerKey::random();
        write_secret(&path, &key.hex()).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(read_secret(&path).unwrap(), key.secret);
    }

    #[test]
    fn peer_ids_are_stable() {
        let key = PeerKey::random();
        assert_eq!(key.peer_id(), key.peer_id());
        assert!(key.peer_id().starts_with("12D3KooW"));
    }
}
