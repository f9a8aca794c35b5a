//! Signed envelopes: every gossip message is `{version, kind, signer, signature, payload}`.
//!
//! Layout (fixed-size header, then the ABI payload):
//! `version u8 | kind u8 | signer [u8; 32] | signature [u8; 64] | payload`.
//! The ed25519 signature covers [`SIGNING_DOMAIN`] ‖ kind ‖ payload, so a signature for
//! one kind can never be replayed as another, nor reused by another protocol.

use alloy::primitives::B256;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};

use crate::message::{DecodeError, Kind, Message};
use crate::PROTOCOL_VERSION;

/// Domain separation tag prefixed to every signed payload.
pub const SIGNING_DOMAIN: &[u8] = b"backstop/envelope/v1";
/// Header bytes before the payload.
pub const HEADER_LEN: usize = 1 + 1 + 32 + 64;
/// Largest payload accepted; the largest real message (a vote) is ~600 bytes.
pub const MAX_PAYLOAD_LEN: usize = 2048;
/// Largest envelope accepted on the wire.
pub const MAX_ENVELOPE_LEN: usize = HEADER_LEN + MAX_PAYLOAD_LEN;

/// An ed25519 public key of a peer (node or solver).
pub type PeerKey = B256;

/// Why an envelope was refused. Every variant is the sender's fault (penalise it).
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum EnvelopeError {
    #[error("envelope of {0} bytes is shorter than the {HEADER_LEN}-byte header")]
    TooShort(usize),
    #[error("envelope of {0} bytes exceeds the {MAX_ENVELOPE_LEN}-byte limit")]
    TooLong(usize),
    #[error("unsupported protocol version {0} (this peer speaks {PROTOCOL_VERSION})")]
    Version(u8),
    #[error("unknown message kind {0}")]
    UnknownKind(u8),
    #[error("signer is not a valid ed25519 public key")]
    BadKey,
    #[error("ed25519 signature does not verify")]
    BadSignature,
    #[error(transparent)]
    Payload(#[from] DecodeError),
}

/// A sealed envelope as bytes on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope(pub Vec<u8>);

/// An opened envelope: the signature verified and the payload decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub signer: PeerKey,
    pub message: Message,
}

fn signed_bytes(kind: u8, payload: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(SIGNING_DOMAIN.len() + 1 + payload.len());
    bytes.extend_from_slice(SIGNING_DOMAIN);
    bytes.push(kind);
    bytes.extend_from_slice(payload);
    bytes
}

impl Envelope {
    /// Signs `message` with the peer key.
    pub fn seal(key: &SigningKey, message: &Message) -> Self {
        let kind = message.kind() as u8;
        let payload = message.encode_payload();
        let signature = key.sign(&signed_bytes(kind, &payload));
        let mut bytes = Vec::with_capacity(HEADER_LEN + payload.len());
        bytes.push(PROTOCOL_VERSION);
        bytes.push(kind);
        bytes.extend_from_slice(key.verifying_key().as_bytes());
        bytes.extend_from_slice(&signature.to_bytes());
        bytes.extend_from_slice(&payload);
        Envelope(bytes)
    }

    /// Checks size, version, kind, signature (strict ed25519) and the payload's canonical encoding.
    pub fn open(bytes: &[u8]) -> Result<Verified, EnvelopeError> {
        if bytes.len() < HEADER_LEN {
            return Err(EnvelopeError::TooShort(bytes.len()));
        }
        if bytes.len() > MAX_ENVELOPE_LEN {
            return Err(EnvelopeError::TooLong(bytes.len()));
        }
        if bytes[0] != PROTOCOL_VERSION {
            return Err(EnvelopeError::Version(bytes[0]));
        }
        let kind = Kind::from_byte(bytes[1]).ok_or(EnvelopeError::UnknownKind(bytes[1]))?;
        let signer: [u8; 32] = bytes[2..34].try_into().map_err(|_| EnvelopeError::BadKey)?;
        let signature: [u8; 64] = bytes[34..98].try_into().map_err(|_| EnvelopeError::BadSignature)?;
        let payload = &bytes[HEADER_LEN..];
        let key = VerifyingKey::from_bytes(&signer).map_err(|_| EnvelopeError::BadKey)?;
        key.verify_strict(&signed_bytes(bytes[1], payload), &Signature::from_bytes(&signature))
            .map_err(|_| EnvelopeError::BadSignature)?;
        let message = Message::decode_payload(kind, payload)?;
        Ok(Verified { signer: B256::from(signer), message })
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// The [`PeerKey`] of a signing key.
pub fn peer_key(key: &SigningKey) -> PeerKey {
    B256::from(key.verifying_key().to_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{BidCommit, Intent};

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn commit() -> Message {
        Message::Commit(BidCommit { chainId: 7, intentId: B256::repeat_byte(1), commitment: B256::repeat_byte(2) })
    }

    #[test]
    fn sealed_envelope_opens_to_the_same_message_and_signer() {
        let envelope = Envelope::seal(&key(1), &commit());
        let verified = Envelope::open(envelope.as_bytes()).unwrap();
        assert_eq!(verified.message, commit());
        assert_eq!(verified.signer, peer_key(&key(1)));
    }

    #[test]
    fn any_flipped_bit_is_refused() {
        let envelope = Envelope::seal(&key(1), &commit());
        for index in 0..envelope.0.len() {
            let mut bytes = envelope.0.clone();
            bytes[index] ^= 0x01;
            assert!(Envelope::open(&bytes).is_err(), "flip at byte {index} was accepted");
        }
    }

    #[test]
    fn signature_cannot_be_moved_to_another_kind() {
        // An Intent payload signed as Intent, relabelled as Commit, must fail the signature.
        let intent = Message::Intent(Intent::default());
        let mut bytes = Envelope::seal(&key(2), &intent).0;
        bytes[1] = Kind::Commit as u8;
        assert_eq!(Envelope::open(&bytes), Err(EnvelopeError::BadSignature));
    }

    #[test]
    fn forged_signer_is_refused() {
        let mut bytes = Envelope::seal(&key(1), &commit()).0;
        bytes[2..34].copy_from_slice(key(3).verifying_key().as_bytes());
        assert_eq!(Envelope::open(&bytes), Err(EnvelopeError::BadSignature));
    }

    #[test]
    fn size_limits_are_enforced() {
        assert_eq!(Envelope::open(&[1u8; 10]), Err(EnvelopeError::TooShort(10)));
        let huge = vec![1u8; MAX_ENVELOPE_LEN + 1];
        assert_eq!(Envelope::open(&huge), Err(EnvelopeError::TooLong(MAX_ENVELOPE_LEN + 1)));
    }
}
