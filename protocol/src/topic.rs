//! Gossip topic names: one topic per chain and message kind.

use crate::message::Kind;

/// `/backstop/1/<chain_id>/<kind>`.
pub fn topic_name(chain_id: u64, kind: Kind) -> String {
    format!("/backstop/{}/{chain_id}/{}", crate::PROTOCOL_VERSION, kind.name())
}

/// Inverse of [`topic_name`]; `None` for anything that is not a Backstop topic.
pub fn parse_topic(topic: &str) -> Option<(u64, Kind)> {
    let rest = topic.strip_prefix("/backstop/")?;
    let mut parts = rest.split('/');
    let version: u8 = parts.next()?.parse().ok()?;
    let chain_id: u64 = parts.next()?.parse().ok()?;
    let kind_name = parts.next()?;
    if version != crate::PROTOCOL_VERSION || parts.next().is_some() {
        return None;
    }
    let kind = Kind::ALL.into_iter().find(|kind| kind.name() == kind_name)?;
    Some((chain_id, kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_round_trip() {
        for kind in Kind::ALL {
            assert_eq!(parse_topic(&topic_name(31337, kind)), Some((31337, kind)));
        }
        assert_eq!(topic_name(1, Kind::Vote), "/backstop/1/1/vote");
        assert_eq!(parse_topic("/backstop/2/1/vote"), None);
        assert_eq!(parse_topic("/backstop/1/1/vote/x"), None);
        assert_eq!(parse_topic("/other/1/1/vote"), None);
    }
}
