//! Waiting on conditions instead of sleeping for fixed times.

use std::future::Future;
use std::time::{Duration, Instant};

use crate::DevnetError;

/// How often [`wait_for`] re-checks its condition.
pub const POLL_INTERVAL: Duration = Duration::from_millis(250);

/// Polls `condition` until it holds or `timeout` passes; `what` names the condition in
/// the timeout error.
pub async fn wait_for<F, Fut>(what: &str, timeout: Duration, mut condition: F) -> Result<(), DevnetError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now();
    loop {
        if condition().await {
            return Ok(());
        }
        if start.elapsed() >= timeout {
            return Err(DevnetError::Timeout { what: what.to_string(), timeout, pending: String::new() });
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn returns_once_the_condition_holds() {
        let calls = AtomicU32::new(0);
        wait_for("third call", Duration::from_secs(5), || async { calls.fetch_add(1, Ordering::SeqCst) >= 2 })
            .await
            .unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn times_out_with_the_condition_named() {
        let error = wait_for("never", Duration::from_millis(10), || async { false }).await.unwrap_err();
        assert!(error.to_string().contains("never"), "{error}");
    }
}
