//! Gossip validation throughput on one core: what a node spends on each commit, reveal
//! and vote envelope before it may forward it — `Envelope::open` (strict ed25519, strict
//! ABI decode) then `ChainBook::on_message` (every rule; a vote adds EIP-712 hashing,
//! secp256k1 recovery and the local award it must equal). Every measured message is
//! accepted, so the whole path runs. Target: ≥ 20,000 messages/s per core. Printed, never
//! asserted.
//!
//! Run: `cargo bench -p backstop-protocol --bench validation`.

mod support;

use std::hint::black_box;
use std::time::{Duration, Instant};

use backstop_protocol::auction::{Accepted, ChainBook, Judged, Progress};
use backstop_protocol::envelope::Envelope;
use backstop_protocol::message::{Kind, Message};
use criterion::{Criterion, Throughput};
use rand::seq::SliceRandom;
use rand::SeedableRng;

use support::*;

/// The instant every measured message arrives at. Auctions were opened around it so
/// that, at this one instant, some are in their commit window, some in their reveal
/// window and some decided (voting), as on a busy node.
const NOW_MS: u64 = EPOCH_MS + 60_000;
/// Bidders per auction and committee members: the mix a node sees per auction is
/// `SOLVERS_PER_AUCTION` commits, as many reveals and `COMMITTEE` votes.
const SOLVERS_PER_AUCTION: u32 = 10;
const COMMITTEE: u32 = 7;
const BONDED_SOLVERS: u32 = 32;
const COMMITTING_AUCTIONS: u32 = 200;
const REVEALING_AUCTIONS: u32 = 200;
const VOTING_AUCTIONS: u32 = 286;
/// The target the design sets for one core.
const TARGET_PER_SECOND: f64 = 20_000.0;

type Pool = Vec<(Kind, Vec<u8>)>;

struct Fixture {
    /// One book holding every auction, cloned fresh for each pass so that every
    /// message of a pool is accepted (no duplicates) when it is measured.
    book: ChainBook,
    commits: Pool,
    reveals: Pool,
    votes: Pool,
    mix: Pool,
}

fn solver_of(auction: u32, slot: u32) -> u32 {
    (auction + slot) % BONDED_SOLVERS
}

fn premium_of(auction: u32, slot: u32) -> u64 {
    RESERVE_PREMIUM + u64::from((auction * 7 + slot * 13) % 50)
}

impl Fixture {
    fn build() -> Self {
        let (mut book, attesters) = chain(COMMITTEE, BONDED_SOLVERS);
        let mut rng = rand::rngs::StdRng::seed_from_u64(0xBAC5_7009);

        // Voting: fully bid, decided by the tick at NOW_MS below.
        let voting_open = NOW_MS - u64::from(COMMIT_MS + REVEAL_MS) - 800;
        for auction in 0..VOTING_AUCTIONS {
            let intent = open_auction(&mut book, auction, voting_open);
            for slot in 0..SOLVERS_PER_AUCTION {
                let solver = solver_of(auction, slot);
                let sealed = commit(&mut book, &intent, solver, premium_of(auction, slot));
                reveal(&mut book, &intent, solver, &sealed);
            }
        }
        // Revealing: committed, reveal window open at NOW_MS.
        let revealing_open = NOW_MS - u64::from(COMMIT_MS) - 100;
        let mut reveals = Pool::new();
        for auction in 1_000..1_000 + REVEALING_AUCTIONS {
            let intent = open_auction(&mut book, auction, revealing_open);
            for slot in 0..SOLVERS_PER_AUCTION {
                let solver = solver_of(auction, slot);
                let sealed = commit(&mut book, &intent, solver, premium_of(auction, slot));
                reveals.push((Kind::Reveal, reveal_envelope(solver, &sealed)));
            }
        }
        // Committing: open, commit window open at NOW_MS.
        let committing_open = NOW_MS - 100;
        let mut commits = Pool::new();
        for auction in 2_000..2_000 + COMMITTING_AUCTIONS {
            let intent = open_auction(&mut book, auction, committing_open);
            for slot in 0..SOLVERS_PER_AUCTION {
                let (sealed, _) = sealed_bid(&intent, solver_of(auction, slot), premium_of(auction, slot));
                commits.push((Kind::Commit, commit_envelope(solver_of(auction, slot), &sealed)));
            }
        }

        let mut votes = Pool::new();
        for progress in book.tick(NOW_MS) {
            if let Progress::Decided { winner: Some(award), .. } = progress {
                for (member, attester) in attesters.iter().enumerate() {
                    votes.push((Kind::Vote, vote_envelope(member as u32, attester, &award)));
                }
            }
        }
        assert_eq!(votes.len(), (VOTING_AUCTIONS * COMMITTEE) as usize, "every voting auction decided with a winner");

        commits.shuffle(&mut rng);
        reveals.shuffle(&mut rng);
        votes.shuffle(&mut rng);
        // Per auction: as many commits as reveals, and one vote per committee member.
        let mix_votes = (REVEALING_AUCTIONS * COMMITTEE) as usize;
        let mut mix: Pool = commits.iter().chain(&reveals).chain(&votes[..mix_votes]).cloned().collect();
        mix.shuffle(&mut rng);

        let fixture = Fixture { book, commits, reveals, votes, mix };
        for (name, pool) in fixture.pools() {
            fixture.check_all_accepted(name, pool);
        }
        fixture
    }

    fn pools(&self) -> [(&'static str, &Pool); 4] {
        [("commit", &self.commits), ("reveal", &self.reveals), ("vote", &self.votes), ("mix 10:10:7", &self.mix)]
    }

    /// The bench must measure the accepted path, not an early refusal.
    fn check_all_accepted(&self, name: &str, pool: &Pool) {
        let mut book = self.book.clone();
        for (kind, bytes) in pool {
            let judged = validate(&mut book, *kind, bytes, NOW_MS);
            assert!(
                matches!(
                    judged,
                    Ok(Judged::Accepted(Accepted::Commit { .. } | Accepted::Reveal { .. } | Accepted::Vote { .. }))
                ),
                "{name}: fixture message refused: {judged:?}"
            );
        }
    }

    /// Validates `iters` messages from `pool`, timing only the validation itself.
    fn validate_timed(&self, pool: &Pool, iters: u64) -> Duration {
        let mut total = Duration::ZERO;
        let mut remaining = iters;
        while remaining > 0 {
            let mut book = self.book.clone();
            let count = remaining.min(pool.len() as u64) as usize;
            let start = Instant::now();
            for (kind, bytes) in &pool[..count] {
                let _ = black_box(validate(&mut book, *kind, black_box(bytes), NOW_MS));
            }
            total += start.elapsed();
            remaining -= count as u64;
        }
        total
    }
}

fn bench_validation(criterion: &mut Criterion, fixture: &Fixture) {
    let mut group = criterion.benchmark_group("validation");
    group.throughput(Throughput::Elements(1));
    for (name, pool) in fixture.pools() {
        group.bench_function(name, |bencher| bencher.iter_custom(|iters| fixture.validate_timed(pool, iters)));
    }
    group.finish();
}

/// Messages per second over whole passes of `pool` lasting at least `budget`.
fn rate(budget: Duration, pool: &Pool, mut pass: impl FnMut(&Pool) -> Duration) -> f64 {
    let mut elapsed = Duration::ZERO;
    let mut messages = 0u64;
    while elapsed < budget {
        elapsed += pass(pool);
        messages += pool.len() as u64;
    }
    messages as f64 / elapsed.as_secs_f64()
}

fn print_summary(fixture: &Fixture) {
    let budget = Duration::from_millis(1_500);
    println!();
    println!("validation throughput, one core (Envelope::open + ChainBook::on_message, every message accepted)");
    println!("{:<12} {:>14} {:>10} {:>17} {:>12}", "kind", "msgs/s/core", "µs/msg", "open only µs/msg", "≥ 20,000/s");
    for (name, pool) in fixture.pools() {
        let full = rate(budget, pool, |pool| fixture.validate_timed(pool, pool.len() as u64));
        let open_only = rate(budget, pool, |pool| {
            let start = Instant::now();
            for (_, bytes) in pool {
                let _ = black_box(Envelope::open(black_box(bytes)));
            }
            start.elapsed()
        });
        let verdict = if full >= TARGET_PER_SECOND { "met" } else { "NOT met" };
        println!("{name:<12} {full:>14.0} {:>10.1} {:>17.1} {verdict:>12}", 1e6 / full, 1e6 / open_only);
    }
    // The floor under a vote: EIP-712 hashing and secp256k1 recovery alone.
    let decoded: Vec<_> = fixture
        .votes
        .iter()
        .filter_map(|(_, bytes)| match Envelope::open(bytes).map(|verified| verified.message) {
            Ok(Message::Vote(vote)) => Some(vote),
            _ => None,
        })
        .collect();
    let mut recoveries = 0u64;
    let start = Instant::now();
    while start.elapsed() < budget {
        for vote in &decoded {
            let _ = black_box(vote.award.recover_signer(CHAIN, settlement(), black_box(&vote.signature)));
        }
        recoveries += decoded.len() as u64;
    }
    println!(
        "vote floor: EIP-712 hash + secp256k1 recovery alone {:.1} µs; open = strict ed25519 + strict ABI decode",
        start.elapsed().as_secs_f64() * 1e6 / recoveries as f64
    );
    println!(
        "mix = per auction {SOLVERS_PER_AUCTION} commits, {SOLVERS_PER_AUCTION} reveals, {COMMITTEE} votes \
         ({} messages, shuffled); book holds {} auctions",
        fixture.mix.len(),
        COMMITTING_AUCTIONS + REVEALING_AUCTIONS + VOTING_AUCTIONS
    );
}

fn main() {
    let fixture = Fixture::build();
    let mut criterion = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .configure_from_args();
    bench_validation(&mut criterion, &fixture);
    criterion.final_summary();
    // `cargo bench` passes --bench; `cargo test --benches` only smoke-runs each bench once.
    if std::env::args().any(|arg| arg == "--bench") {
        print_summary(&fixture);
    }
}
