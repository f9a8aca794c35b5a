//! The targets as plain binaries, for stable Rust without libFuzzer: run every file of
//! a corpus (or crash artifacts, or stdin) through a harness, or write the seed corpus.
//!
//! `envelope [--seeds] [--write-seeds DIR] [PATH|-]...`: with no PATH, the built-in seeds
//! and `corpus/<target>` (if present) are run.

use std::io::Read;
use std::path::{Path, PathBuf};

fn files_under(path: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> =
            std::fs::read_dir(path)?.map(|entry| entry.map(|entry| entry.path())).collect::<Result<_, _>>()?;
        entries.sort();
        for entry in entries {
            files_under(&entry, out)?;
        }
    } else {
        out.push(path.to_path_buf());
    }
    Ok(())
}

/// Entry point of a target's replay binary. Returns the process exit code.
pub fn main(target: &str, harness: fn(&[u8])) -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let default_corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus").join(target);
    let mut inputs: Vec<(String, Vec<u8>)> = Vec::new();
    let mut paths: Vec<PathBuf> = Vec::new();
    let mut run_seeds = args.is_empty();
    let mut index = 0;
    while index < args.len() {
        match args[index].as_str() {
            "--seeds" => run_seeds = true,
            "--write-seeds" => {
                let dir = args.get(index + 1).map(PathBuf::from).unwrap_or_else(|| default_corpus.clone());
                if let Err(error) = write_seeds(target, &dir) {
                    eprintln!("{target}: cannot write seeds to {}: {error}", dir.display());
                    return std::process::ExitCode::FAILURE;
                }
                return std::process::ExitCode::SUCCESS;
            }
            "-" => {
                let mut bytes = Vec::new();
                if let Err(error) = std::io::stdin().read_to_end(&mut bytes) {
                    eprintln!("{target}: cannot read stdin: {error}");
                    return std::process::ExitCode::FAILURE;
                }
                inputs.push(("<stdin>".into(), bytes));
            }
            path => paths.push(PathBuf::from(path)),
        }
        index += 1;
    }
    if args.is_empty() && default_corpus.is_dir() {
        paths.push(default_corpus);
    }
    if run_seeds {
        inputs.extend(crate::seeds(target).into_iter().map(|(name, bytes)| (format!("seed:{name}"), bytes)));
    }
    let mut files = Vec::new();
    for path in &paths {
        if let Err(error) = files_under(path, &mut files) {
            eprintln!("{target}: cannot list {}: {error}", path.display());
            return std::process::ExitCode::FAILURE;
        }
    }
    for file in files {
        match std::fs::read(&file) {
            Ok(bytes) => inputs.push((file.display().to_string(), bytes)),
            Err(error) => {
                eprintln!("{target}: cannot read {}: {error}", file.display());
                return std::process::ExitCode::FAILURE;
            }
        }
    }
    for (name, bytes) in &inputs {
        if std::panic::catch_unwind(|| harness(bytes)).is_err() {
            eprintln!("{target}: {name} ({} bytes) panicked; replay it with `{target} {name}`", bytes.len());
            return std::process::ExitCode::FAILURE;
        }
    }
    println!("{target}: {} inputs ran without a panic", inputs.len());
    std::process::ExitCode::SUCCESS
}

fn write_seeds(target: &str, dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let seeds = crate::seeds(target);
    for (name, bytes) in &seeds {
        std::fs::write(dir.join(format!("seed-{name}")), bytes)?;
    }
    println!("{target}: wrote {} seeds to {}", seeds.len(), dir.display());
    Ok(())
}
