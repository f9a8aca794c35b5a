//! Where the devnet finds the programs it runs: anvil, the `backstop` node and its own
//! `backstop-devnet` binary (for solver processes). Environment overrides first, then the
//! places a cargo build or `contracts/setup.sh` puts them.

use std::path::{Path, PathBuf};

use crate::DevnetError;

/// The node binary: `BACKSTOP_NODE_BIN`, else next to the running executable.
pub fn node() -> Result<PathBuf, DevnetError> {
    cargo_binary("backstop", "BACKSTOP_NODE_BIN")
}

/// This crate's binary, which runs solvers (`backstop-devnet solver`).
pub fn devnet() -> Result<PathBuf, DevnetError> {
    cargo_binary("backstop-devnet", "BACKSTOP_DEVNET_BIN")
}

/// anvil: `BACKSTOP_ANVIL`, else the npm-installed binary in `contracts/node_modules`,
/// else `anvil` on `PATH`.
pub fn anvil() -> Result<PathBuf, DevnetError> {
    if let Some(path) = from_env("BACKSTOP_ANVIL")? {
        return Ok(path);
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let npm = workspace.join("contracts/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil");
    if npm.is_file() {
        return Ok(npm);
    }
    on_path("anvil").ok_or_else(|| DevnetError::BinaryNotFound {
        name: "anvil".into(),
        searched: format!("$BACKSTOP_ANVIL, {}, $PATH", npm.display()),
        fix: "run `bash contracts/setup.sh` (installs anvil from npm) or set BACKSTOP_ANVIL".into(),
    })
}

/// Cargo puts every binary of the workspace in `target/<profile>/`; tests run from
/// `target/<profile>/deps/`, so look in the executable's directory and its parent.
fn cargo_binary(name: &str, env_var: &str) -> Result<PathBuf, DevnetError> {
    if let Some(path) = from_env(env_var)? {
        return Ok(path);
    }
    let exe = std::env::current_exe()
        .map_err(|source| DevnetError::Io { path: PathBuf::from("<current executable>"), source })?;
    let mut searched = Vec::new();
    let mut dir = exe.parent();
    for _ in 0..2 {
        let Some(candidate_dir) = dir else { break };
        let candidate = candidate_dir.join(name);
        if candidate.is_file() {
            return Ok(candidate);
        }
        searched.push(candidate.display().to_string());
        dir = candidate_dir.parent();
    }
    Err(DevnetError::BinaryNotFound {
        name: name.into(),
        searched: format!("${env_var}, {}", searched.join(", ")),
        fix: format!("run `cargo build --bins` first (or set {env_var})"),
    })
}

fn from_env(env_var: &str) -> Result<Option<PathBuf>, DevnetError> {
    match std::env::var_os(env_var) {
        Some(value) if !value.is_empty() => {
            let path = PathBuf::from(value);
            if path.is_file() {
                Ok(Some(path))
            } else {
                Err(DevnetError::BinaryNotFound {
                    name: path.display().to_string(),
                    searched: format!("${env_var}"),
                    fix: format!("{env_var} names a file that does not exist; fix or unset it"),
                })
            }
        }
        _ => Ok(None),
    }
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(name)).find(|candidate| candidate.is_file())
}
