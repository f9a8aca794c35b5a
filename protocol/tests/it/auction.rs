//! The shared auction core under attack: each test is one rule a hostile peer tried to
//! break, and each asserts that the honest auction still ends as it should.

use std::collections::HashSet;

use alloy::primitives::Bytes;
use alloy::signers::local::PrivateKeySigner;
use alloy::signers::SignerSync;
use backstop_protocol::auction::{
    Accepted, Admission, ChainBook, ChainContext, Committee, IntentFacts, Judged, MarketTerms, Progress, SolverSet,
    MAX_COMMITS_PER_ROUND,
};
use backstop_protocol::envelope::{peer_key, Envelope, PeerKey, Verified};
use backstop_protocol::id::commitment;
use backstop_protocol::message::{AwardVote, BidCommit, BidReveal, Intent, Kind, Message};
use backstop_protocol::timing::{DEADLINE_SLACK_SECS, MIN_COMMIT_MS};
use backstop_protocol::{Address, Penalty, Rejection, Verdict, B256, U256};
use ed25519_dalek::SigningKey;
use proptest::prelude::*;

const CHAIN: u64 = 31337;
const OPEN: u64 = 1_700_000_000_000;

fn settlement() -> Address {
    Address::repeat_byte(0x5e)
}

fn market() -> MarketTerms {
    MarketTerms {
        market_id: B256::repeat_byte(0xaa),
        adapter: Address::repeat_byte(0xad),
        debt_asset: Address::repeat_byte(0xde),
        collateral_assets: vec![Address::repeat_byte(0xc0)],
        reserve_premium: U256::from(5),
    }
}

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn executor_of(seed: u8) -> Address {
    Address::repeat_byte(seed)
}

struct World {
    book: ChainBook,
    attesters: Vec<PrivateKeySigner>,
}

/// A chain with one market, a 3-member committee and solvers 10, 11 and 12 bonded.
fn world() -> World {
    let attesters: Vec<PrivateKeySigner> = (0..3).map(|_| PrivateKeySigner::random()).collect();
    let mut context = ChainContext::new(CHAIN, settlement());
    context.markets.insert(market().market_id, market());
    context.committee = Committee::new(attesters.iter().map(PrivateKeySigner::address), 2);
    let mut solvers = SolverSet::default();
    for seed in [10u8, 11, 12] {
        solvers.admit(peer_key(&key(seed)), executor_of(seed));
    }
    context.admission = Admission::Bonded(solvers);
    World { book: ChainBook::new(context), attesters }
}

fn intent(open: u64, observed_block: u64) -> Intent {
    Intent {
        chainId: CHAIN,
        settlement: settlement(),
        marketId: market().market_id,
        account: Address::repeat_byte(0xac),
        nonce: U256::ZERO,
        debtAsset: market().debt_asset,
        collateralAsset: market().collateral_assets[0],
        maxRepay: U256::from(1_000),
        observedBlock: observed_block,
        observedPrice: U256::from(2_000),
        openTimeMs: open,
        commitMs: 800,
        revealMs: 400,
        reservePremium: U256::from(5),
    }
}

/// The chain's truth about [`intent`] at any block in 10..=20.
fn facts_for(intent: &Intent) -> IntentFacts {
    IntentFacts {
        head_block: 20,
        liquidatable: true,
        max_repay: intent.maxRepay,
        price: intent.observedPrice,
        current_nonce: U256::ZERO,
    }
}

fn verified(seed: u8, message: Message) -> Verified {
    Envelope::open(Envelope::seal(&key(seed), &message).as_bytes()).expect("sealed envelopes open")
}

/// Delivers an intent from `origin` and completes its chain check with `facts`.
fn deliver_intent(
    book: &mut ChainBook,
    origin: u8,
    intent: &Intent,
    facts: &IntentFacts,
    now: u64,
) -> Result<Accepted, Rejection> {
    match book.on_message(Kind::Intent, &verified(origin, Message::Intent(intent.clone())), now)? {
        Judged::CheckIntent { origin, intent } => book.on_intent_facts(origin, intent, Some(facts), now),
        other => panic!("an intent needs its chain check first, got {other:?}"),
    }
}

fn sealed_bid(intent: &Intent, seed: u8, premium: u64) -> (BidCommit, BidReveal) {
    let reveal = BidReveal {
        chainId: CHAIN,
        intentId: intent.id(),
        executor: executor_of(seed),
        repayAmount: U256::from(1_000),
        premium: U256::from(premium),
        salt: B256::repeat_byte(seed),
    };
    let commit = BidCommit {
        chainId: CHAIN,
        intentId: intent.id(),
        commitment: commitment(
            intent.id(),
            peer_key(&key(seed)),
            reveal.executor,
            reveal.repayAmount,
            reveal.premium,
            reveal.salt,
        ),
    };
    (commit, reveal)
}

fn bid(book: &mut ChainBook, intent: &Intent, seed: u8, premium: u64) {
    let (commit, reveal) = sealed_bid(intent, seed, premium);
    book.on_message(Kind::Commit, &verified(seed, Message::Commit(commit)), intent.openTimeMs + 100)
        .expect("commit accepted");
    book.on_message(Kind::Reveal, &verified(seed, Message::Reveal(reveal)), intent.commit_end_ms() + 10)
        .expect("reveal accepted");
}

fn vote(attester: &PrivateKeySigner, award: &backstop_protocol::Award) -> AwardVote {
    let signature = attester.sign_hash_sync(&award.signing_hash(CHAIN, settlement())).unwrap();
    AwardVote {
        chainId: CHAIN,
        settlement: settlement(),
        award: award.clone(),
        signature: Bytes::from(signature.as_bytes().to_vec()),
    }
}

fn due_ranks(progress: &[Progress]) -> Vec<(usize, Address)> {
    progress
        .iter()
        .filter_map(|progress| match progress {
            Progress::RankDue { rank, award, .. } => Some((*rank, award.executor)),
            _ => None,
        })
        .collect()
}

#[test]
fn every_rule_has_one_verdict_and_one_penalty() {
    use Rejection::*;
    let table: &[(Rejection, Verdict, Penalty)] = &[
        (TopicMismatch, Verdict::Reject, Penalty::Low),
        (ChainNotServed, Verdict::Ignore, Penalty::None),
        (WrongSettlement, Verdict::Reject, Penalty::Low),
        (UnknownMarket, Verdict::Ignore, Penalty::None),
        (WrongDebtAsset, Verdict::Reject, Penalty::Low),
        (WrongReserve, Verdict::Reject, Penalty::Low),
        (UnknownCollateral, Verdict::Reject, Penalty::Low),
        (WindowsOutOfBounds, Verdict::Reject, Penalty::Low),
        (FromTheFuture, Verdict::Ignore, Penalty::None),
        (PastCommits, Verdict::Ignore, Penalty::None),
        (AuctionClosed, Verdict::Ignore, Penalty::None),
        (DuplicateIntent, Verdict::Ignore, Penalty::None),
        (LosesPrecedence, Verdict::Ignore, Penalty::None),
        (TermsFrozen, Verdict::Ignore, Penalty::None),
        (RoundTooEarly, Verdict::Ignore, Penalty::None),
        (OriginCapReached, Verdict::Ignore, Penalty::None),
        (AuctionCapReached, Verdict::Ignore, Penalty::None),
        (OriginBanned, Verdict::Ignore, Penalty::None),
        (ObservedBlockAhead, Verdict::Ignore, Penalty::None),
        (ObservedBlockTooOld, Verdict::Ignore, Penalty::None),
        (NotLiquidatable, Verdict::Reject, Penalty::Mid),
        (StaleNonce, Verdict::Ignore, Penalty::None),
        (MaxRepayMismatch, Verdict::Reject, Penalty::Mid),
        (PriceMismatch, Verdict::Reject, Penalty::Mid),
        (ChainUnavailable, Verdict::Ignore, Penalty::None),
        (CommitUnknownIntent, Verdict::Ignore, Penalty::None),
        (CommitOutsideWindow, Verdict::Ignore, Penalty::None),
        (SolverNotAdmitted, Verdict::Ignore, Penalty::None),
        (DuplicateCommit, Verdict::Ignore, Penalty::None),
        (SecondCommit, Verdict::Reject, Penalty::Mid),
        (CommitCapReached, Verdict::Ignore, Penalty::None),
        (RevealUnknownIntent, Verdict::Ignore, Penalty::None),
        (RevealWithoutCommit, Verdict::Ignore, Penalty::None),
        (RevealMismatch, Verdict::Reject, Penalty::Mid),
        (DuplicateReveal, Verdict::Ignore, Penalty::None),
        (RevealOutsideWindow, Verdict::Ignore, Penalty::None),
        (RepayOutOfBounds, Verdict::Ignore, Penalty::None),
        (BelowReserve, Verdict::Reject, Penalty::High),
        (ExecutorNotAdmitted, Verdict::Ignore, Penalty::None),
        (VoteWrongSettlement, Verdict::Reject, Penalty::Low),
        (VoteSignatureMalformed, Verdict::Reject, Penalty::Low),
        (VoteUnrecoverable, Verdict::Reject, Penalty::Low),
        (VoteIntentIdMismatch, Verdict::Reject, Penalty::Low),
        (NotCommitteeMember, Verdict::Ignore, Penalty::None),
        (VoteUnknownIntent, Verdict::Ignore, Penalty::None),
        (VoteNotLocalAward, Verdict::Ignore, Penalty::None),
        (TooManyEarlyVotes, Verdict::Ignore, Penalty::None),
        (DuplicateVote, Verdict::Ignore, Penalty::None),
        (UnknownOutcomeStatus, Verdict::Reject, Penalty::Low),
        (OutcomeUnknownIntent, Verdict::Ignore, Penalty::None),
        (DuplicateOutcome, Verdict::Ignore, Penalty::None),
    ];
    let mut labels = HashSet::new();
    for (rule, verdict, penalty) in table {
        assert_eq!((rule.verdict(), rule.penalty()), (*verdict, *penalty), "{rule:?}");
        assert!(labels.insert(rule.label()), "label {} used twice", rule.label());
    }
    let envelope = Rejection::Envelope(backstop_protocol::EnvelopeError::BadSignature);
    assert_eq!((envelope.verdict(), envelope.penalty()), (Verdict::Reject, Penalty::Low));
}

#[test]
fn an_intent_from_the_far_future_is_a_verdict_not_a_panic() {
    let mut world = world();
    for open in [u64::MAX, u64::MAX - 1, OPEN + 10_000] {
        let mut far = intent(open, 10);
        far.commitMs = u32::MAX;
        let judged = world.book.on_message(Kind::Intent, &verified(1, Message::Intent(far)), OPEN);
        assert!(matches!(judged, Err(Rejection::FromTheFuture | Rejection::WindowsOutOfBounds)), "{judged:?}");
    }
    assert!(world.book.auction_ids().is_empty());
}

#[test]
fn false_claims_about_the_chain_are_rejected_and_never_tracked() {
    let mut world = world();
    let honest = intent(OPEN, 10);
    let facts = facts_for(&honest);
    let mut cheaper = honest.clone();
    cheaper.maxRepay -= U256::from(1);
    assert_eq!(deliver_intent(&mut world.book, 1, &cheaper, &facts, OPEN), Err(Rejection::MaxRepayMismatch));
    let healthy = IntentFacts { liquidatable: false, ..facts.clone() };
    assert_eq!(deliver_intent(&mut world.book, 2, &honest, &healthy, OPEN), Err(Rejection::NotLiquidatable));
    assert_eq!(Rejection::NotLiquidatable.verdict(), Verdict::Reject, "its sender is penalised");
    assert!(world.book.auction_ids().is_empty(), "nothing false is stored or voted on");
    assert!(matches!(deliver_intent(&mut world.book, 3, &honest, &facts, OPEN), Ok(Accepted::Opened { .. })));
}

#[test]
fn a_strangers_copy_cannot_change_the_terms_once_commits_exist() {
    let mut world = world();
    let honest = intent(OPEN, 12);
    deliver_intent(&mut world.book, 1, &honest, &facts_for(&honest), OPEN).unwrap();
    let (commit, reveal) = sealed_bid(&honest, 10, 30);
    world.book.on_message(Kind::Commit, &verified(10, Message::Commit(commit)), OPEN + 100).unwrap();
    // The attack: an earlier observed block (true!) and a smaller max repay at that block.
    let mut stolen = honest.clone();
    stolen.observedBlock = 10;
    stolen.maxRepay = U256::from(999);
    let stolen_facts = IntentFacts { max_repay: stolen.maxRepay, ..facts_for(&stolen) };
    assert_eq!(
        world.book.on_message(Kind::Intent, &verified(66, Message::Intent(stolen)), OPEN + 150),
        Err(Rejection::TermsFrozen)
    );
    let _ = stolen_facts;
    world.book.on_message(Kind::Reveal, &verified(10, Message::Reveal(reveal)), honest.commit_end_ms() + 10).unwrap();
    let progress = world.book.tick(honest.decide_at_ms());
    assert_eq!(due_ranks(&progress), vec![(0, executor_of(10))], "the honest bid wins");
}

#[test]
fn before_commits_the_lowest_verified_copy_wins_on_every_peer() {
    let early = intent(OPEN, 10);
    let mut late = intent(OPEN + 40, 11);
    late.maxRepay = U256::from(1_000);
    for order in [[&early, &late], [&late, &early]] {
        let mut world = world();
        for copy in order {
            let _ = deliver_intent(&mut world.book, 1 + copy.observedBlock as u8, copy, &facts_for(copy), OPEN + 50);
        }
        assert_eq!(world.book.round(&early.id()).unwrap().intent(), &early, "same canonical copy whatever the order");
    }
}

#[test]
fn the_runner_up_is_awarded_when_the_winner_does_not_settle() {
    let mut world = world();
    let auction = intent(OPEN, 10);
    deliver_intent(&mut world.book, 1, &auction, &facts_for(&auction), OPEN).unwrap();
    bid(&mut world.book, &auction, 10, 50);
    bid(&mut world.book, &auction, 11, 20);
    let first = auction.award_window(0);
    let progress = world.book.tick(first.start_ms);
    assert_eq!(due_ranks(&progress), vec![(0, executor_of(10))]);
    // The committee signed the winner's award (one vote by gossip, one our own).
    let award = rank_award(&progress, 0);
    let judged = world.book.on_message(
        Kind::Vote,
        &verified(1, Message::Vote(vote(&world.attesters[0], &award))),
        first.start_ms,
    );
    assert!(judged.is_ok(), "{judged:?}");
    world.book.note_own_vote(world.attesters[1].address(), &award);
    assert!(due_ranks(&world.book.tick(first.next_start_ms() - 1)).is_empty());
    // The winner did not settle: rank 1 is due exactly when the committee guard allows it.
    let second_start = first.next_start_ms();
    assert_eq!(second_start / 1000, first.deadline_secs + DEADLINE_SLACK_SECS + 1);
    assert_eq!(due_ranks(&world.book.tick(second_start)), vec![(1, executor_of(11))]);
    // The winner is a no-show from the moment its window passed, not once the round is over.
    let (winner, runner_up) = (peer_key(&key(10)), peer_key(&key(11)));
    assert_eq!(world.book.no_shows().count(&winner, second_start), 1);
    assert_eq!(world.book.no_shows().count(&runner_up, second_start), 0);
    // The runner-up's award gathers both votes as well, and it does not settle either.
    let second = world.book.round(&auction.id()).and_then(|round| round.award_for_rank(1)).expect("rank 1");
    for attester in &world.attesters[..2] {
        world.book.note_own_vote(attester.address(), &second);
    }
    let exhausted = auction.award_window(1).next_start_ms();
    let progress = world.book.tick(exhausted);
    assert_eq!(world.book.no_shows().count(&winner, exhausted), 1, "counted once");
    assert_eq!(world.book.no_shows().count(&runner_up, exhausted), 1);
    let next_round = progress.iter().find_map(|progress| match progress {
        Progress::Exhausted { next_round_at_ms, .. } => Some(*next_round_at_ms),
        _ => None,
    });
    assert_eq!(next_round, Some(auction.next_round_at_ms(2)), "only after the last bid's award");
}

/// An award whose votes never reached the threshold (peers ranked differently, or lost
/// votes) makes no one a no-show, and neither does a commit left unrevealed: a peer's own
/// view of a round must not make its ledger, and so its next rankings, differ from others'.
#[test]
fn only_a_winner_whose_award_reached_the_threshold_is_a_no_show() {
    let mut world = world();
    let auction = intent(OPEN, 10);
    deliver_intent(&mut world.book, 1, &auction, &facts_for(&auction), OPEN).unwrap();
    bid(&mut world.book, &auction, 10, 50);
    bid(&mut world.book, &auction, 11, 20);
    let (commit, _never_revealed) = sealed_bid(&auction, 12, 90);
    world.book.on_message(Kind::Commit, &verified(12, Message::Commit(commit)), OPEN + 100).expect("commit accepted");
    let first = auction.award_window(0);
    let progress = world.book.tick(first.start_ms);
    // One vote of the two the award needs.
    let award = rank_award(&progress, 0);
    world.book.note_own_vote(world.attesters[0].address(), &award);
    let exhausted = auction.award_window(1).next_start_ms();
    world.book.tick(first.next_start_ms());
    world.book.tick(exhausted);
    assert!(world.book.round(&auction.id()).is_some_and(|round| round.ranking().len() == 2), "two bids ranked");
    for seed in [10, 11, 12] {
        assert_eq!(world.book.no_shows().count(&peer_key(&key(seed)), exhausted), 0, "solver {seed}");
    }
}

fn rank_award(progress: &[Progress], wanted: usize) -> backstop_protocol::Award {
    progress
        .iter()
        .find_map(|progress| match progress {
            Progress::RankDue { rank, award, .. } if *rank == wanted => Some(award.clone()),
            _ => None,
        })
        .expect("the rank is due")
}

fn decided(progress: &[Progress]) -> Option<(usize, Option<Address>)> {
    progress.iter().find_map(|progress| match progress {
        Progress::Decided { bids, winner, .. } => Some((*bids, winner.as_ref().map(|award| award.executor))),
        _ => None,
    })
}

#[test]
fn a_round_whose_every_commit_is_revealed_is_decided_once_commits_close() {
    let mut world = world();
    let auction = intent(OPEN, 10);
    deliver_intent(&mut world.book, 1, &auction, &facts_for(&auction), OPEN).unwrap();
    bid(&mut world.book, &auction, 10, 50);
    bid(&mut world.book, &auction, 11, 20);
    let commits_close = auction.commit_end_ms() + 500;
    // Until commits close a new commit could still arrive: no decision, however complete.
    assert_eq!(decided(&world.book.tick(commits_close)), None);
    let early = commits_close + 1;
    assert!(early < auction.decide_at_ms());
    let progress = world.book.tick(early);
    assert_eq!(decided(&progress), Some((2, Some(executor_of(10)))));
    assert_eq!(due_ranks(&progress), vec![(0, executor_of(10))], "rank 0 is due from the decision");
    // Only rank 0's start moved: the deadlines, and so the runner-up's window, did not.
    let award = progress
        .iter()
        .find_map(|progress| match progress {
            Progress::RankDue { award, .. } => Some(award.clone()),
            _ => None,
        })
        .expect("rank 0 due");
    assert_eq!(award.deadline, U256::from(auction.award_window(0).deadline_secs));
    assert!(due_ranks(&world.book.tick(auction.decide_at_ms())).is_empty(), "rank 0 is not due twice");
    assert_eq!(due_ranks(&world.book.tick(auction.award_window(1).start_ms)), vec![(1, executor_of(11))]);
    // The decision is frozen: a late reveal or a second decision cannot change it.
    let (_, late) = sealed_bid(&auction, 10, 50);
    assert!(world.book.on_message(Kind::Reveal, &verified(10, Message::Reveal(late)), early + 10).is_err());
}

/// Where solvers must be bonded, a round every admitted solver has committed to and
/// revealed cannot change (a solver commits once per round): it is decided then, without
/// waiting for commits to close. One admitted solver missing keeps the usual rule.
#[test]
fn a_round_every_admitted_solver_revealed_is_decided_before_commits_close() {
    let mut world = world();
    let auction = intent(OPEN, 10);
    deliver_intent(&mut world.book, 1, &auction, &facts_for(&auction), OPEN).unwrap();
    bid(&mut world.book, &auction, 10, 50);
    bid(&mut world.book, &auction, 11, 20);
    let revealed = auction.commit_end_ms() + 10;
    assert_eq!(decided(&world.book.tick(revealed + 1)), None, "solver 12 is bonded and may still commit");
    bid(&mut world.book, &auction, 12, 70);
    let progress = world.book.tick(revealed + 2);
    assert!(revealed + 2 < auction.commit_end_ms() + 500, "before commits close");
    assert_eq!(decided(&progress), Some((3, Some(executor_of(12)))));
    assert_eq!(due_ranks(&progress), vec![(0, executor_of(12))], "rank 0 is due from the decision");
    // Frozen: nothing an admitted solver sends can change it (a second commit is refused anyway).
    let (second, _) = sealed_bid(&auction, 11, 99);
    assert!(world.book.on_message(Kind::Commit, &verified(11, Message::Commit(second)), revealed + 3).is_err());
    assert!(world
        .book
        .round(&auction.id())
        .is_some_and(|round| round.award_for_rank(0).is_some_and(|award| award.executor == executor_of(12))));
}

#[test]
fn a_round_with_an_unrevealed_commit_waits_for_decide_at() {
    let mut world = world();
    let auction = intent(OPEN, 10);
    deliver_intent(&mut world.book, 1, &auction, &facts_for(&auction), OPEN).unwrap();
    bid(&mut world.book, &auction, 10, 50);
    let (commit, reveal) = sealed_bid(&auction, 11, 90);
    world.book.on_message(Kind::Commit, &verified(11, Message::Commit(commit)), OPEN + 100).expect("commit accepted");
    // Solver 11 has not revealed: its reveal may still come until the reveal window closes.
    assert_eq!(decided(&world.book.tick(auction.commit_end_ms() + 501)), None);
    assert_eq!(decided(&world.book.tick(auction.decide_at_ms() - 1)), None);
    world
        .book
        .on_message(Kind::Reveal, &verified(11, Message::Reveal(reveal)), auction.reveal_end_ms() + 400)
        .expect("a reveal at the window's tolerant edge is accepted");
    // Every commit is revealed now: the decision no longer waits, and the late bid counts.
    assert_eq!(decided(&world.book.tick(auction.reveal_end_ms() + 401)), Some((2, Some(executor_of(11)))));
}

#[test]
fn a_round_without_commits_is_decided_at_decide_at() {
    let mut world = world();
    let auction = intent(OPEN, 10);
    deliver_intent(&mut world.book, 1, &auction, &facts_for(&auction), OPEN).unwrap();
    assert_eq!(decided(&world.book.tick(auction.commit_end_ms() + 501)), None);
    assert_eq!(decided(&world.book.tick(auction.decide_at_ms())), Some((0, None)));
}

/// A commit for the next round can arrive while this peer still checks that round's
/// intent against the chain; it used to meet the exhausted round, be refused as outside
/// its window and be lost here while peers with faster checks counted it.
#[test]
fn a_commit_for_the_next_round_that_overtakes_its_intent_still_counts() {
    let mut world = world();
    let first = intent(OPEN, 10);
    deliver_intent(&mut world.book, 1, &first, &facts_for(&first), OPEN).unwrap();
    world.book.tick(first.decide_at_ms());
    assert!(world.book.round(&first.id()).is_some_and(|round| round.is_exhausted(first.decide_at_ms())));
    let second = intent(first.next_round_at_ms(0), 12);
    let (commit, reveal) = sealed_bid(&second, 10, 50);
    let early = second.openTimeMs + 50;
    assert_eq!(
        world.book.on_message(Kind::Commit, &verified(10, Message::Commit(commit)), early).err(),
        Some(Rejection::CommitUnknownIntent),
        "held for the round whose intent is still under check"
    );
    let accepted = deliver_intent(&mut world.book, 1, &second, &facts_for(&second), second.openTimeMs + 300);
    assert!(matches!(accepted, Ok(Accepted::Opened { new_round: true, .. })));
    assert_eq!(world.book.round(&second.id()).map(|round| round.commit_count()), Some(1));
    world
        .book
        .on_message(Kind::Reveal, &verified(10, Message::Reveal(reveal)), second.commit_end_ms() + 10)
        .expect("the held commit is opened by its reveal");
    assert_eq!(decided(&world.book.tick(second.decide_at_ms())), Some((1, Some(executor_of(10)))));
}

/// Under load a chain check can outlast the commit window. A timely intent whose check
/// answers late still opens here, with the commits that arrived during the check.
#[test]
fn a_timely_intent_whose_check_answers_after_commits_close_still_opens() {
    let mut world = world();
    let auction = intent(OPEN, 10);
    let judged = world.book.on_message(Kind::Intent, &verified(1, Message::Intent(auction.clone())), OPEN + 100);
    let Ok(Judged::CheckIntent { origin, intent: checked }) = judged else { panic!("checked first: {judged:?}") };
    let (commit, reveal) = sealed_bid(&auction, 10, 50);
    assert!(world.book.on_message(Kind::Commit, &verified(10, Message::Commit(commit)), OPEN + 300).is_err());
    let late = auction.commit_end_ms() + 600;
    assert!(auction.is_past_commits(late));
    let accepted = world.book.on_intent_facts(origin, checked, Some(&facts_for(&auction)), late);
    assert!(matches!(accepted, Ok(Accepted::Opened { .. })), "judged as of its arrival: {accepted:?}");
    assert_eq!(world.book.round(&auction.id()).map(|round| round.commit_count()), Some(1));
    world.book.on_message(Kind::Reveal, &verified(10, Message::Reveal(reveal)), late + 10).expect("revealed in time");
    assert_eq!(decided(&world.book.tick(late + 20)), Some((1, Some(executor_of(10)))));

    // An intent that arrived after its commits closed is still refused.
    let stale = intent(OPEN + 60_000, 10);
    let too_late = stale.commit_end_ms() + 501;
    assert_eq!(
        world.book.on_message(Kind::Intent, &verified(1, Message::Intent(stale)), too_late).err(),
        Some(Rejection::PastCommits)
    );
}

#[test]
fn hundreds_of_fresh_keys_cannot_crowd_out_a_bonded_solver() {
    let mut world = world();
    let auction = intent(OPEN, 10);
    deliver_intent(&mut world.book, 1, &auction, &facts_for(&auction), OPEN).unwrap();
    let mut refused = 0;
    for seed in 100..=(100 + MAX_COMMITS_PER_ROUND as u64 + 20).min(255) as u8 {
        let (commit, _) = sealed_bid(&auction, seed, 1_000);
        if world.book.on_message(Kind::Commit, &verified(seed, Message::Commit(commit)), OPEN + 50)
            == Err(Rejection::SolverNotAdmitted)
        {
            refused += 1;
        }
    }
    assert!(refused > 100, "fresh keys were admitted: {refused}");
    bid(&mut world.book, &auction, 10, 9);
    assert_eq!(due_ranks(&world.book.tick(auction.decide_at_ms())), vec![(0, executor_of(10))]);
}

#[test]
fn a_vote_reencoded_with_another_v_is_rejected() {
    let mut world = world();
    let auction = intent(OPEN, 10);
    deliver_intent(&mut world.book, 1, &auction, &facts_for(&auction), OPEN).unwrap();
    bid(&mut world.book, &auction, 10, 9);
    let progress = world.book.tick(auction.decide_at_ms());
    let award = match &progress[..] {
        [Progress::Decided { winner: Some(award), .. }, ..] => award.clone(),
        other => panic!("decided with a winner, got {other:?}"),
    };
    let good = vote(&world.attesters[0], &award);
    let mut reencoded = good.clone();
    let mut signature = reencoded.signature.to_vec();
    signature[64] -= 27;
    reencoded.signature = signature.into();
    let judged = world.book.on_message(Kind::Vote, &verified(1, Message::Vote(reencoded)), auction.decide_at_ms());
    assert_eq!(judged, Err(Rejection::VoteSignatureMalformed));
    let judged = world.book.on_message(Kind::Vote, &verified(1, Message::Vote(good)), auction.decide_at_ms());
    assert!(matches!(judged, Ok(Judged::Accepted(Accepted::Vote { rank: 0, .. }))), "{judged:?}");
    let outsider = vote(&PrivateKeySigner::random(), &award);
    assert_eq!(
        world.book.on_message(Kind::Vote, &verified(1, Message::Vote(outsider)), auction.decide_at_ms()),
        Err(Rejection::NotCommitteeMember)
    );
}

#[test]
fn a_commit_that_overtakes_its_intents_chain_check_still_counts() {
    let mut world = world();
    let auction = intent(OPEN, 10);
    let Judged::CheckIntent { origin, intent: pending } =
        world.book.on_message(Kind::Intent, &verified(1, Message::Intent(auction.clone())), OPEN).unwrap()
    else {
        panic!("intent needs a check")
    };
    let (commit, reveal) = sealed_bid(&auction, 10, 9);
    assert_eq!(
        world.book.on_message(Kind::Commit, &verified(10, Message::Commit(commit)), OPEN + 20),
        Err(Rejection::CommitUnknownIntent)
    );
    world.book.on_intent_facts(origin, pending, Some(&facts_for(&auction)), OPEN + 30).unwrap();
    assert_eq!(world.book.round(&auction.id()).unwrap().commit_count(), 1, "the early commit was held and applied");
    world.book.on_message(Kind::Reveal, &verified(10, Message::Reveal(reveal)), auction.commit_end_ms() + 10).unwrap();
    assert_eq!(due_ranks(&world.book.tick(auction.decide_at_ms())), vec![(0, executor_of(10))]);
}

#[test]
fn an_equivocating_origin_is_ignored_afterwards_and_the_honest_auction_still_settles() {
    let mut world = world();
    let first = intent(OPEN, 11);
    deliver_intent(&mut world.book, 5, &first, &facts_for(&first), OPEN).unwrap();
    // The same key signs a second, different copy of the same round that takes precedence.
    let second = intent(OPEN + 10, 10);
    assert!(matches!(
        deliver_intent(&mut world.book, 5, &second, &facts_for(&second), OPEN + 20),
        Ok(Accepted::CopyAdopted { .. })
    ));
    // Its next auction is refused: the key is no longer trusted as an origin.
    let mut other = intent(OPEN + 30, 10);
    other.account = Address::repeat_byte(0xbd);
    assert_eq!(
        world.book.on_message(Kind::Intent, &verified(5, Message::Intent(other.clone())), OPEN + 40),
        Err(Rejection::OriginBanned)
    );
    // An honest origin opens it instead, and bids on the equivocated auction still count.
    assert!(matches!(
        deliver_intent(&mut world.book, 6, &other, &facts_for(&other), OPEN + 50),
        Ok(Accepted::Opened { .. })
    ));
    bid(&mut world.book, &second, 10, 40);
    assert_eq!(due_ranks(&world.book.tick(second.decide_at_ms())), vec![(0, executor_of(10))]);
}

#[test]
fn replayed_late_and_unopened_bids_are_refused_and_the_honest_bid_wins() {
    let mut world = world();
    let auction = intent(OPEN, 10);
    deliver_intent(&mut world.book, 1, &auction, &facts_for(&auction), OPEN).unwrap();
    let (commit, reveal) = sealed_bid(&auction, 10, 40);
    let commit_message = verified(10, Message::Commit(commit.clone()));
    world.book.on_message(Kind::Commit, &commit_message, OPEN + 100).unwrap();
    assert_eq!(
        world.book.on_message(Kind::Commit, &commit_message, OPEN + 150),
        Err(Rejection::DuplicateCommit),
        "replayed"
    );
    let mut other = commit.clone();
    other.commitment = B256::repeat_byte(0x99);
    assert_eq!(
        world.book.on_message(Kind::Commit, &verified(10, Message::Commit(other)), OPEN + 160),
        Err(Rejection::SecondCommit)
    );
    // Solver 11 reveals without having committed, then too late, then a bid it did not seal.
    let (_, stray) = sealed_bid(&auction, 11, 90);
    assert_eq!(
        world.book.on_message(
            Kind::Reveal,
            &verified(11, Message::Reveal(stray.clone())),
            auction.commit_end_ms() + 10
        ),
        Err(Rejection::RevealWithoutCommit)
    );
    let (commit_11, reveal_11) = sealed_bid(&auction, 11, 90);
    world.book.on_message(Kind::Commit, &verified(11, Message::Commit(commit_11)), OPEN + 200).unwrap();
    let mut unsealed = reveal_11.clone();
    unsealed.premium = U256::from(91);
    assert_eq!(
        world.book.on_message(Kind::Reveal, &verified(11, Message::Reveal(unsealed)), auction.commit_end_ms() + 10),
        Err(Rejection::RevealMismatch)
    );
    assert_eq!(
        world.book.on_message(Kind::Reveal, &verified(11, Message::Reveal(reveal_11)), auction.reveal_end_ms() + 501),
        Err(Rejection::RevealOutsideWindow)
    );
    world.book.on_message(Kind::Reveal, &verified(10, Message::Reveal(reveal)), auction.commit_end_ms() + 10).unwrap();
    assert_eq!(due_ranks(&world.book.tick(auction.decide_at_ms())), vec![(0, executor_of(10))]);
}

#[test]
fn windows_too_short_for_others_to_bid_are_rejected() {
    let mut world = world();
    let mut short = intent(OPEN, 10);
    short.commitMs = MIN_COMMIT_MS - 1;
    assert_eq!(
        world.book.on_message(Kind::Intent, &verified(1, Message::Intent(short)), OPEN),
        Err(Rejection::WindowsOutOfBounds)
    );
}

fn any_intent_near(open: u64) -> impl Strategy<Value = Intent> {
    (any::<u64>(), any::<u32>(), any::<u32>(), any::<u64>(), prop_oneof![Just(open), any::<u64>()], any::<[u8; 32]>())
        .prop_map(move |(block, commit, reveal, jitter, open, max)| {
            let mut intent = intent(open.saturating_add(jitter % 2_000), block);
            intent.commitMs = commit;
            intent.revealMs = reveal;
            intent.maxRepay = U256::from_be_bytes(max);
            intent
        })
}

proptest! {
    #[test]
    fn no_intent_or_instant_makes_timing_or_validation_panic(
        intent in any_intent_near(OPEN),
        now in prop_oneof![Just(OPEN), any::<u64>()],
        bids in 0usize..50,
        seed in any::<u8>(),
    ) {
        let _ = (intent.phase_at(now), intent.rank_at(bids, now), intent.exhausted_at_ms(bids), intent.next_round_at_ms(bids));
        let _ = (intent.accepts_commit_at(now), intent.accepts_reveal_at(now), intent.timing_is_sane(now));
        let mut world = world();
        if let Ok(Judged::CheckIntent { origin, intent }) =
            world.book.on_message(Kind::Intent, &verified(seed, Message::Intent(intent)), now)
        {
            let facts = facts_for(&intent);
            let _ = world.book.on_intent_facts(origin, intent, Some(&facts), now);
        }
        let _ = world.book.tick(now);
        let _ = world.book.tick(u64::MAX);
    }
}

/// Keeps `PeerKey` in the public surface this file relies on.
#[allow(dead_code)]
fn _types(_: PeerKey) {}
