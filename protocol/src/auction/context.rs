//! What a peer must know about one chain to judge messages: the settlement contract,
//! its registered markets, its committee and the admitted solvers. Every field comes
//! from the chain (registrations, attester events, bonds); the runtime keeps it current.

use std::collections::{HashMap, HashSet};

use alloy::primitives::{Address, B256, U256};

use crate::envelope::PeerKey;

/// A market as registered on the settlement contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarketTerms {
    pub market_id: B256,
    pub adapter: Address,
    /// The asset `settle` pulls, fixed at registration.
    pub debt_asset: Address,
    /// Collaterals the adapter lists; an intent names one of them.
    pub collateral_assets: Vec<Address>,
    /// Smallest premium that counts as a bid.
    pub reserve_premium: U256,
}

/// The settlement contract's attesters and threshold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Committee {
    pub attesters: HashSet<Address>,
    /// At least 1, whatever the contract says: an award with no signature never settles.
    pub threshold: usize,
}

impl Committee {
    pub fn new(attesters: impl IntoIterator<Item = Address>, threshold: usize) -> Self {
        Self { attesters: attesters.into_iter().collect(), threshold: threshold.max(1) }
    }
}

/// Which solver keys may bid.
///
/// `Bonded` is the network's rule: a solver's ed25519 key counts only while an executor
/// has bonded it on the chain's `SolverRegistry`, so every extra identity costs a bond.
/// `Open` admits every key; it exists for chains without a registry (tests, private
/// deployments) and says so in its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    Open,
    Bonded(SolverSet),
}

impl Default for Admission {
    fn default() -> Self {
        Admission::Bonded(SolverSet::default())
    }
}

impl Admission {
    pub fn admits(&self, solver: &PeerKey) -> bool {
        match self {
            Admission::Open => true,
            Admission::Bonded(set) => set.executors.get(solver).is_some_and(|executors| !executors.is_empty()),
        }
    }

    pub fn admits_executor(&self, solver: &PeerKey, executor: Address) -> bool {
        match self {
            Admission::Open => true,
            Admission::Bonded(set) => set.executors.get(solver).is_some_and(|executors| executors.contains(&executor)),
        }
    }
}

/// Solver keys bonded on chain, with the executors that bonded each.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SolverSet {
    executors: HashMap<PeerKey, HashSet<Address>>,
}

impl SolverSet {
    /// An executor bonded `solver` (a `SolverRegistered` event).
    pub fn admit(&mut self, solver: PeerKey, executor: Address) {
        self.executors.entry(solver).or_default().insert(executor);
    }

    /// The executor requested exit or withdrew: its bond no longer backs `solver`.
    pub fn remove(&mut self, solver: PeerKey, executor: Address) {
        if let Some(executors) = self.executors.get_mut(&solver) {
            executors.remove(&executor);
            if executors.is_empty() {
                self.executors.remove(&solver);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.executors.len()
    }

    /// The admitted solver keys (those with at least one bonded executor).
    pub fn solvers(&self) -> impl Iterator<Item = &PeerKey> {
        self.executors.iter().filter(|(_, executors)| !executors.is_empty()).map(|(solver, _)| solver)
    }

    pub fn is_empty(&self) -> bool {
        self.executors.is_empty()
    }
}

/// Everything needed to judge messages about one chain.
#[derive(Debug, Clone)]
pub struct ChainContext {
    pub chain_id: u64,
    pub settlement: Address,
    pub markets: HashMap<B256, MarketTerms>,
    pub committee: Committee,
    pub admission: Admission,
}

impl ChainContext {
    pub fn new(chain_id: u64, settlement: Address) -> Self {
        Self {
            chain_id,
            settlement,
            markets: HashMap::new(),
            committee: Committee::default(),
            admission: Admission::default(),
        }
    }
}
