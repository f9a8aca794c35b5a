//! Child processes the devnet owns (nodes, solvers). Each is stopped when its guard is
//! dropped, so nothing outlives the devnet, even when a test panics halfway; and on Linux
//! each child gets `PR_SET_PDEATHSIG` = SIGKILL, so it dies with the devnet even when the
//! devnet itself is SIGKILLed (a CI timeout) and no destructor runs.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::DevnetError;

/// How long a child gets to exit after SIGTERM before it is killed.
const GRACE_PERIOD: Duration = Duration::from_secs(3);

/// A running child process whose stdout and stderr go to `log`. It can be killed and
/// started again with the same program, arguments and environment
/// ([`ChildProcess::kill`], [`ChildProcess::restart`]).
pub struct ChildProcess {
    pub name: String,
    pub log: PathBuf,
    program: PathBuf,
    args: Vec<String>,
    envs: Vec<(String, String)>,
    child: Mutex<Option<Child>>,
}

impl ChildProcess {
    pub fn spawn(name: &str, program: &Path, args: &[&str], log: &Path) -> Result<Self, DevnetError> {
        Self::spawn_with_env(name, program, args, &[], log)
    }

    /// Like [`ChildProcess::spawn`], with extra environment variables.
    pub fn spawn_with_env(
        name: &str,
        program: &Path,
        args: &[&str],
        envs: &[(&str, &str)],
        log: &Path,
    ) -> Result<Self, DevnetError> {
        let process = Self {
            name: name.to_string(),
            log: log.to_path_buf(),
            program: program.to_path_buf(),
            args: args.iter().map(ToString::to_string).collect(),
            envs: envs.iter().map(|(key, value)| (key.to_string(), value.to_string())).collect(),
            child: Mutex::new(None),
        };
        let child = process.launch(false)?;
        *process.child() = Some(child);
        Ok(process)
    }

    /// Starts the program; `append` keeps the log of an earlier run.
    fn launch(&self, append: bool) -> Result<Child, DevnetError> {
        let io = |source| DevnetError::Io { path: self.log.clone(), source };
        let stdout = if append {
            OpenOptions::new().create(true).append(true).open(&self.log).map_err(io)?
        } else {
            File::create(&self.log).map_err(io)?
        };
        let stderr = stdout.try_clone().map_err(io)?;
        let mut command = Command::new(&self.program);
        command
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .env("RUST_LOG", std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()))
            // Logs go to files: no terminal colour codes.
            .env("NO_COLOR", "1")
            .envs(self.envs.iter().map(|(key, value)| (key, value)));
        die_with_parent(&mut command);
        command.spawn().map_err(|source| DevnetError::Io { path: self.program.clone(), source })
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
        // Ask politely first so nodes can flush.
        terminate(&child);
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

    /// SIGKILL, as a crash or the OOM killer would, and reaps the process: no shutdown
    /// code runs. [`ChildProcess::exited`] reports the kill afterwards. Idempotent.
    pub fn kill(&self) -> Result<ExitStatus, DevnetError> {
        let mut guard = self.child();
        let child = guard.as_mut().ok_or_else(|| DevnetError::Setup(format!("{} is not running", self.name)))?;
        if let Ok(Some(status)) = child.try_wait() {
            return Ok(status);
        }
        let io = |source| DevnetError::Io { path: self.program.clone(), source };
        child.kill().map_err(io)?;
        child.wait().map_err(io)
    }

    /// Starts the program again with the same arguments and environment, its output
    /// appended to the same log. Fails if the previous run is still going.
    pub fn restart(&self) -> Result<(), DevnetError> {
        let mut guard = self.child();
        if let Some(child) = guard.as_mut() {
            if !matches!(child.try_wait(), Ok(Some(_))) {
                return Err(DevnetError::Setup(format!("{} is still running; kill or stop it first", self.name)));
            }
        }
        *guard = Some(self.launch(true)?);
        Ok(())
    }

    /// The last lines of the log, for error messages.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

/// Makes the kernel SIGKILL the child when the thread that spawned it exits (normally the
/// devnet's main or test thread, or a runtime worker: all live as long as the devnet). Not
/// on `spawn_blocking` threads, which exit when idle.
#[cfg(target_os = "linux")]
pub fn die_with_parent(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: the closure runs in the forked child before exec and only makes
    // async-signal-safe system calls (prctl, getppid), allocating nothing.
    let parent = unsafe { libc::getpid() };
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The parent may have died between fork and prctl: then nobody would send the signal.
            if libc::getppid() != parent {
                return Err(std::io::Error::other("the devnet exited while starting this process"));
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
pub fn die_with_parent(_command: &mut Command) {}

#[cfg(unix)]
fn terminate(child: &Child) {
    if let Ok(pid) = libc::pid_t::try_from(child.id()) {
        // SAFETY: plain kill(2) on a child we have not reaped yet, so the pid is still ours.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
    }
}

#[cfg(not(unix))]
fn terminate(_child: &Child) {}

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
    /// The node's operator API (`/metrics`, `/health`, `/status`), when enabled.
    #[serde(default)]
    pub api: Option<String>,
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
