//! Reading what a node did from its `node.log` in JSON format (one tracing event per line:
//! `{"timestamp","level","fields":{"message",..},"target"}`), as started with
//! `LogFormat::Json`.

use std::path::Path;

use serde_json::Value;

/// One JSON event of a node's log.
#[derive(Debug, Clone)]
pub struct Event {
    /// When the node logged it, in seconds since the Unix epoch (its `timestamp`).
    pub at: f64,
    pub message: String,
    pub fields: serde_json::Map<String, Value>,
}

impl Event {
    /// A field as text: strings as they are, numbers and the rest as JSON.
    pub fn field(&self, name: &str) -> Option<String> {
        self.fields.get(name).map(|value| match value {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        })
    }
}

/// The JSON events of the log from byte `offset` on (0: all runs; a restart's offset: that
/// run only). Lines that are not JSON events (a panic message, say) are skipped.
pub fn events(path: &Path, offset: u64) -> eyre::Result<Vec<Event>> {
    let bytes = std::fs::read(path).map_err(|error| eyre::eyre!("{}: {error}", path.display()))?;
    let start = usize::try_from(offset)?.min(bytes.len());
    let text = String::from_utf8_lossy(&bytes[start..]);
    Ok(text
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter_map(|value| {
            let mut fields = value.get("fields")?.as_object()?.clone();
            let message = fields.remove("message")?.as_str()?.to_string();
            let at = unix_seconds(value.get("timestamp")?.as_str()?)?;
            Some(Event { at, message, fields })
        })
        .collect())
}

/// An award a node signed, from its "signed and sent award vote" event.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SignedVote {
    /// Unix seconds (see [`Event::at`]); the ordering key, so sorted votes are in signing order.
    pub at: OrderedSeconds,
    pub chain_id: String,
    pub intent_id: String,
    pub executor: String,
    pub deadline: String,
}

pub const VOTE_SIGNED: &str = "signed and sent award vote";

pub fn signed_votes(events: &[Event]) -> eyre::Result<Vec<SignedVote>> {
    events
        .iter()
        .filter(|event| event.message == VOTE_SIGNED)
        .map(|event| {
            let field =
                |name: &str| event.field(name).ok_or_else(|| eyre::eyre!("{VOTE_SIGNED} without {name}: {event:?}"));
            Ok(SignedVote {
                at: OrderedSeconds(event.at),
                chain_id: field("chain_id")?,
                intent_id: field("intent_id")?,
                executor: field("executor")?,
                deadline: field("deadline")?,
            })
        })
        .collect()
}

/// How many events carry `message` (and, when given, `chain_id` = `chain_id`).
pub fn count(events: &[Event], message: &str, chain_id: Option<u64>) -> usize {
    events
        .iter()
        .filter(|event| event.message == message)
        .filter(|event| chain_id.is_none_or(|id| event.field("chain_id").as_deref() == Some(id.to_string().as_str())))
        .count()
}

/// Seconds as a totally ordered value (log timestamps are never NaN).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OrderedSeconds(pub f64);

impl Eq for OrderedSeconds {}

impl PartialOrd for OrderedSeconds {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for OrderedSeconds {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// `2026-11-25T22:09:38.353123Z` (tracing's UTC RFC 3339) to seconds since the Unix epoch.
fn unix_seconds(timestamp: &str) -> Option<f64> {
    let (date, time) = timestamp.strip_suffix('Z')?.split_once('T')?;
    let mut date = date.splitn(3, '-').map(str::parse::<i64>);
    let (year, month, day) = (date.next()?.ok()?, date.next()?.ok()?, date.next()?.ok()?);
    let mut time = time.splitn(3, ':');
    let (hour, minute) = (time.next()?.parse::<i64>().ok()?, time.next()?.parse::<i64>().ok()?);
    let second = time.next()?.parse::<f64>().ok()?;
    // Days from 1970-01-01 to the civil date (Howard Hinnant's algorithm).
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    Some((days * 86_400 + hour * 3_600 + minute * 60) as f64 + second)
}

#[test]
fn timestamps_parse_to_unix_seconds() {
    assert_eq!(unix_seconds("1970-01-01T00:00:00Z"), Some(0.0));
    assert_eq!(unix_seconds("2026-11-25T22:06:36.5Z"), Some(1_795_644_396.5));
    assert_eq!(unix_seconds("2000-03-01T00:00:00Z"), Some(951_868_800.0));
    assert_eq!(unix_seconds("garbage"), None);
}
