//! Named transport events, so the log vocabulary lives in one place and spans stay uniform.

use std::time::Duration;

use backstop_protocol::{Kind, Penalty};
use libp2p::swarm::DialError;
use libp2p::{Multiaddr, PeerId};

pub(crate) fn peer_connected(peer: &PeerId) {
    tracing::debug!(%peer, "peer connected");
}

pub(crate) fn peer_disconnected(peer: &PeerId) {
    tracing::debug!(%peer, "peer disconnected");
}

pub(crate) fn dial_failed(address: &Multiaddr, error: &DialError) {
    tracing::debug!(%address, %error, "dial failed");
}

pub(crate) fn over_budget(peer: &PeerId, kind: Kind) {
    tracing::debug!(%peer, kind = kind.name(), "peer over its message budget; dropping its messages");
}

pub(crate) fn penalized(peer: &PeerId, penalty: Penalty, application_score: f64) {
    tracing::debug!(%peer, ?penalty, application_score, "peer penalised");
}

pub(crate) fn peer_banned(peer: &PeerId, score: f64, duration: Duration, was_connected: bool) {
    tracing::info!(%peer, score, ban_secs = duration.as_secs(), was_connected, "peer below the graylist threshold: banned");
}

pub(crate) fn peer_score_low(peer: &PeerId, score: f64) {
    tracing::warn!(%peer, score, "peer below the publish threshold: connected, but we neither publish to it \
        nor keep it in a mesh, so it hears almost nothing from us until its score recovers");
}

pub(crate) fn peer_score_recovered(peer: &PeerId, score: f64) {
    tracing::info!(%peer, score, "peer back above the publish threshold");
}

pub(crate) fn ban_lifted(peer: &PeerId) {
    tracing::info!(%peer, "peer ban lifted");
}

pub(crate) fn transport_stopped(peer: &PeerId) {
    tracing::info!(local_peer = %peer, "gossip transport stopped");
}
