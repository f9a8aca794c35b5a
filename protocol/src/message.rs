//! Gossip message payloads.
//!
//! Payloads are ABI-encoded `sol!` structs: deterministic, language-neutral and hashed
//! the same way on- and off-chain. Decoding is strict: a payload must re-encode to the
//! exact bytes received, so two peers can never disagree about what a message says.

use alloy::primitives::{keccak256, B256};
use alloy::sol;
use alloy::sol_types::SolValue;

use crate::award::Award;

sol! {
    /// A node's announcement that an account is liquidatable and an auction is open.
    #[derive(Debug, Default, PartialEq, Eq)]
    struct Intent {
        uint64 chainId;
        address settlement;
        bytes32 marketId;
        address account;
        uint256 nonce;
        address debtAsset;
        address collateralAsset;
        uint256 maxRepay;
        uint64 observedBlock;
        uint256 observedPrice;
        uint64 openTimeMs;
        uint32 commitMs;
        uint32 revealMs;
        uint256 reservePremium;
    }

    /// A sealed bid: only the commitment hash is public until the reveal window.
    #[derive(Debug, Default, PartialEq, Eq)]
    struct BidCommit {
        uint64 chainId;
        bytes32 intentId;
        bytes32 commitment;
    }

    /// Opens a commitment. The envelope signer is the solver; `executor` is the EVM
    /// address that alone may settle the award.
    #[derive(Debug, Default, PartialEq, Eq)]
    struct BidReveal {
        uint64 chainId;
        bytes32 intentId;
        address executor;
        uint256 repayAmount;
        uint256 premium;
        bytes32 salt;
    }

    /// A committee member's secp256k1 signature over an EIP-712 [`Award`].
    #[derive(Debug, Default, PartialEq, Eq)]
    struct AwardVote {
        uint64 chainId;
        address settlement;
        Award award;
        bytes signature;
    }

    /// Informative end of an auction; the chain remains the source of truth.
    #[derive(Debug, Default, PartialEq, Eq)]
    struct Outcome {
        uint64 chainId;
        bytes32 intentId;
        uint8 status;
        bytes32 txHash;
    }
}

/// The kind byte of an envelope; also the last segment of the gossip topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Kind {
    Intent = 1,
    Commit = 2,
    Reveal = 3,
    Vote = 4,
    Outcome = 5,
}

impl Kind {
    pub const ALL: [Kind; 5] = [Kind::Intent, Kind::Commit, Kind::Reveal, Kind::Vote, Kind::Outcome];

    pub fn from_byte(byte: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| *kind as u8 == byte)
    }

    /// Topic segment, as in `/backstop/1/<chain_id>/<name>`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Intent => "intent",
            Kind::Commit => "commit",
            Kind::Reveal => "reveal",
            Kind::Vote => "vote",
            Kind::Outcome => "outcome",
        }
    }
}

/// How an auction ended, as reported in an [`Outcome`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum OutcomeStatus {
    Settled = 1,
    Expired = 2,
    Failed = 3,
}

impl OutcomeStatus {
    pub fn from_byte(byte: u8) -> Option<Self> {
        [Self::Settled, Self::Expired, Self::Failed].into_iter().find(|status| *status as u8 == byte)
    }
}

/// Any gossip message, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Intent(Intent),
    Commit(BidCommit),
    Reveal(BidReveal),
    Vote(AwardVote),
    Outcome(Outcome),
}

/// Why a payload could not be decoded.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("{kind:?} payload is not valid ABI: {reason}")]
    Abi { kind: Kind, reason: String },
    #[error("{kind:?} payload is not canonically encoded (it does not re-encode to the same bytes)")]
    NonCanonical { kind: Kind },
    #[error("vote signature must be 65 bytes, got {0}")]
    SignatureLength(usize),
}

fn decode_strict<T: SolValue + From<<T::SolType as alloy::sol_types::SolType>::RustType>>(
    kind: Kind,
    payload: &[u8],
) -> Result<T, DecodeError> {
    let value =
        T::abi_decode_validate(payload).map_err(|error| DecodeError::Abi { kind, reason: error.to_string() })?;
    if value.abi_encode() != payload {
        return Err(DecodeError::NonCanonical { kind });
    }
    Ok(value)
}

impl Message {
    pub fn kind(&self) -> Kind {
        match self {
            Message::Intent(_) => Kind::Intent,
            Message::Commit(_) => Kind::Commit,
            Message::Reveal(_) => Kind::Reveal,
            Message::Vote(_) => Kind::Vote,
            Message::Outcome(_) => Kind::Outcome,
        }
    }

    /// The chain the message is about; it must match the topic it arrived on.
    pub fn chain_id(&self) -> u64 {
        match self {
            Message::Intent(m) => m.chainId,
            Message::Commit(m) => m.chainId,
            Message::Reveal(m) => m.chainId,
            Message::Vote(m) => m.chainId,
            Message::Outcome(m) => m.chainId,
        }
    }

    pub fn encode_payload(&self) -> Vec<u8> {
        match self {
            Message::Intent(m) => m.abi_encode(),
            Message::Commit(m) => m.abi_encode(),
            Message::Reveal(m) => m.abi_encode(),
            Message::Vote(m) => m.abi_encode(),
            Message::Outcome(m) => m.abi_encode(),
        }
    }

    pub fn decode_payload(kind: Kind, payload: &[u8]) -> Result<Self, DecodeError> {
        let message = match kind {
            Kind::Intent => Message::Intent(decode_strict(kind, payload)?),
            Kind::Commit => Message::Commit(decode_strict(kind, payload)?),
            Kind::Reveal => Message::Reveal(decode_strict(kind, payload)?),
            Kind::Vote => {
                let vote: AwardVote = decode_strict(kind, payload)?;
                if vote.signature.len() != 65 {
                    return Err(DecodeError::SignatureLength(vote.signature.len()));
                }
                Message::Vote(vote)
            }
            Kind::Outcome => Message::Outcome(decode_strict(kind, payload)?),
        };
        Ok(message)
    }
}

impl Intent {
    /// The id every node derives for this auction (see [`crate::id::intent_id`]).
    pub fn id(&self) -> B256 {
        crate::id::intent_id(self.chainId, self.settlement, self.marketId, self.account, self.nonce)
    }

    /// Hash of the exact payload; breaks ties between conflicting copies of an intent.
    pub fn payload_hash(&self) -> B256 {
        keccak256(self.abi_encode())
    }

    /// Ordering key among copies of the same intent: the lowest wins, so every peer
    /// converges on one canonical copy whatever order they arrived in.
    pub fn precedence(&self) -> (u64, B256) {
        (self.observedBlock, self.payload_hash())
    }
}
