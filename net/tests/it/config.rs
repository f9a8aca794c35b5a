//! Configuration mistakes surface as typed errors at start, not as panics later.

use std::time::Duration;

use backstop_net::{GossipConfig, NetError};

#[tokio::test]
async fn a_zero_heartbeat_is_refused_at_start() {
    let config = GossipConfig { heartbeat: Duration::ZERO, ..GossipConfig::new([3; 32]) };
    let result = backstop_net::spawn(config).await;
    assert!(matches!(result, Err(NetError::Config(_))), "{result:?}");
}
