//! Arbitrary bytes → `Envelope::open` and every payload decoder: never panics, and
//! whatever decodes re-encodes to the exact bytes received.
//!
//! Fuzz: `cargo +nightly fuzz run envelope` (see ../README.md). Replay on stable:
//! `cargo run --release --bin envelope -- <files or dirs>`.

#![cfg_attr(fuzzing, no_main)]

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| backstop_fuzz::envelope(data));

#[cfg(not(fuzzing))]
fn main() -> std::process::ExitCode {
    backstop_fuzz::replay::main("envelope", backstop_fuzz::envelope)
}
