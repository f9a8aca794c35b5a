//! Child processes the devnet owns (nodes, solvers). Each is stopped when its guard is
//! dropped, so nothing outlives the devnet, even when a test panics halfway.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::DevnetError;

/// How long a child gets to exit after SIGTERM before it is killed.
const GRACE_PERIOD: Duration = Duration::from_secs(3);

/// A running child process whose stdout and stderr go to `log`.
pub struct ChildProcess {
    pub name: String,
    pub log: PathBuf,
    child: Mutex<Option<Child>>,
}

impl ChildProcess {
    pub fn spawn(name: &str, program: &Path, args: &[&str], log: &Path) -> Result<Self, DevnetError> {
        let io = |source| DevnetError::Io { path: log.to_path_buf(), source };
        let stdout = File::create(log).map_err(io)?;
        let stderr = stdout.try_clone().map_err(io)?;
        let child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .env("RUST_LOG", std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()))
            // Logs go to files: no terminal colour codes.
            .env("NO_COLOR", "1")
            .spawn()
            .map_err(|source| DevnetError::Io { path: program.to_path_buf(), source })?;
        Ok(Self { name: name.to_string(), log: log.to_path_buf(), child: Mutex::new(Some(child)) })
    }

    fn child(&self) -> std::sync::MutexGuard<'_, Option<Child>> {
        self.child.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn id(&self) -> Option<u32> {
        self.child().as_ref().map(Child::id)
    }

    /// `Some(status)` once the process has exited.
    pub fn exited(&self) -> Option<ExitStatus> {
        self.child().as_mut().and_then(|child| child.try_wait().ok().flatten())
    }

    /// Fails if the process has exited, quoting the end of its log.
    pub fn check_alive(&self) -> Result<(), DevnetError> {
        match self.exited() {
            Some(status) => Err(DevnetError::ProcessNotReady {
                name: self.name.clone(),
                reason: format!("exited with {status}"),
                log: self.log.clone(),
                tail: self.log_tail(20),
            }),
            None => Ok(()),
        }
    }

    /// SIGTERM, a grace period, then SIGKILL. Idempotent.
    pub fn stop(&self) {
        let Some(mut child) = self.child().take() else { return };
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        // std offers only SIGKILL; ask politely first through kill(1) so nodes can flush.
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + GRACE_PERIOD;
        while Instant::now() < deadline {
            if matches!(child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// The last lines of the log, for error messages.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `ready.json`, written by a node (and by the devnet's solver runner) once it listens.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
pub struct Ready {
    pub peer_id: String,
    pub listen_addrs: Vec<String>,
}

/// Waits until `process` has written `ready_file`, failing early if it exits.
pub async fn wait_ready(process: &ChildProcess, ready_file: &Path, timeout: Duration) -> Result<Ready, DevnetError> {
    let start = Instant::now();
    loop {
        if let Ok(text) = std::fs::read_to_string(ready_file) {
            if let Ok(ready) = serde_json::from_str::<Ready>(&text) {
                return Ok(ready);
            }
        }
        if let Some(status) = process.exited() {
            return Err(DevnetError::ProcessNotReady {
                name: process.name.clone(),
                reason: format!("exited with {status} before writing {}", ready_file.display()),
                log: process.log.clone(),
                tail: process.log_tail(20),
            });
        }
        if start.elapsed() > timeout {
            return Err(DevnetError::ProcessNotReady {
                name: process.name.clone(),
                reason: format!("did not write {} within {timeout:?}", ready_file.display()),
                log: process.log.clone(),
                tail: process.log_tail(20),
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
