//! Arbitrary bytes → a program of envelopes (raw, or signed by known keys over fuzzed
//! payloads), structured bids, votes and intents, ticks and closes, judged by a
//! `ChainBook` with a market, a committee, a live and a decided auction, at fuzzed
//! instants: never panics.
//!
//! Fuzz: `cargo +nightly fuzz run validate` (see ../README.md). Replay on stable:
//! `cargo run --release --bin validate -- <files or dirs>`.

#![cfg_attr(fuzzing, no_main)]

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| backstop_fuzz::validate(data));

#[cfg(not(fuzzing))]
fn main() -> std::process::ExitCode {
    backstop_fuzz::replay::main("validate", backstop_fuzz::validate)
}
