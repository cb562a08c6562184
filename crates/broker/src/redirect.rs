//! The form in which the broker stores a message it writes: the topic, queue and properties
//! string the Java broker would store. Java keeps a message's properties in a `HashMap` and
//! writes them in its iteration order ([`JavaMap`]); a message with a delay level goes to
//! `SCHEDULE_TOPIC_XXXX` first (`CommitLog.asyncPutMessage`), and its properties keep where it
//! is really bound.

use ferrocket_common::names;
use ferrocket_common::properties::{keys, JavaMap};
use ferrocket_common::sysflag;
use ferrocket_store::DelayLevels;

/// Where a message is stored and with which properties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredForm<'a> {
    pub topic: &'a str,
    pub queue_id: i32,
    pub properties: String,
}

/// The delay level a put honours: `DELAY` clamped to the highest level, for a message that
/// is not a transaction's prepared or rolled-back half.
pub fn delay_level(levels: &DelayLevels, sys_flag: i32, map: &JavaMap<'_>) -> Option<i32> {
    if !sysflag::is_dispatchable(sys_flag) {
        return None;
    }
    levels.clamp(map.get(keys::DELAY_TIME_LEVEL))
}

/// The CommitLog's part: a message with a delay level is stored in `SCHEDULE_TOPIC_XXXX`,
/// queue `level - 1`, with `REAL_TOPIC` and `REAL_QID` added (and `DELAY` clamped); any
/// other is stored where it is bound. `map` is written in Java order either way.
pub fn for_store<'a>(
    levels: &DelayLevels,
    sys_flag: i32,
    map: JavaMap<'_>,
    topic: &'a str,
    queue_id: i32,
) -> StoredForm<'a> {
    let Some(level) = delay_level(levels, sys_flag, &map) else {
        let mut properties = String::with_capacity(map.encoded_len());
        map.write(&mut properties);
        return StoredForm {
            topic,
            queue_id,
            properties,
        };
    };
    let level_text = level.to_string();
    let queue_text = queue_id.to_string();
    let mut map = map;
    // Java rewrites `DELAY` only when it clamps the level.
    if map.get(keys::DELAY_TIME_LEVEL).and_then(|v| v.parse().ok()) != Some(level) {
        map.put(keys::DELAY_TIME_LEVEL, &level_text);
    }
    map.put(keys::REAL_TOPIC, topic);
    map.put(keys::REAL_QUEUE_ID, &queue_text);
    let mut properties = String::with_capacity(map.encoded_len());
    map.write(&mut properties);
    StoredForm {
        topic: names::SCHEDULE_TOPIC,
        queue_id: level - 1,
        properties,
    }
}

/// What a message sent back by a consumer (`asyncConsumerSendMsgBack`) is stored with: the
/// original record's properties plus `RETRY_TOPIC` (the original topic, unless already
/// there), `WAIT=false`, `DELAY` and `ORIGIN_MESSAGE_ID` (the first id it had), in that
/// order of insertion; then [`for_store`] sends it through the schedule when `delay` > 0.
#[allow(clippy::too_many_arguments)] // each is one of Java's inputs, named
pub fn send_back<'a>(
    levels: &DelayLevels,
    stored: &str,
    original_topic: &str,
    sys_flag: i32,
    delay: i32,
    original_msg_id: &str,
    topic: &'a str,
    queue_id: i32,
) -> StoredForm<'a> {
    let delay_text = delay.to_string();
    let mut map = JavaMap::parse(stored, 6);
    if map.get(keys::RETRY_TOPIC).is_none() {
        map.put(keys::RETRY_TOPIC, original_topic);
    }
    map.put(keys::WAIT_STORE_MSG_OK, "false");
    map.put(keys::DELAY_TIME_LEVEL, &delay_text);
    match map.get(keys::ORIGIN_MESSAGE_ID) {
        Some(first) if !first.trim().is_empty() => {}
        _ => map.put(keys::ORIGIN_MESSAGE_ID, original_msg_id),
    }
    for_store(levels, sys_flag, map, topic, queue_id)
}

/// What the scheduler delivers a due record as (`messageTimeup`): the same properties, to
/// `REAL_TOPIC`/`REAL_QID`. Java writes the properties before it takes `DELAY` out of the
/// map, so the delivered record still carries `DELAY`, `REAL_TOPIC` and `REAL_QID`. `None`
/// when the record does not say where it is bound.
pub fn delivery(stored: &str) -> Option<StoredForm<'_>> {
    let map = JavaMap::parse(stored, 0);
    let topic = map.get(keys::REAL_TOPIC)?;
    let queue_id = map.get(keys::REAL_QUEUE_ID)?.parse().ok()?;
    let mut properties = String::with_capacity(map.encoded_len());
    map.write(&mut properties);
    Some(StoredForm {
        topic,
        queue_id,
        properties,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const RETRY_GROUP_TOPIC: &str = "%RETRY%rmqc_cg_i_q2henl";

    fn props(s: &str) -> String {
        s.replace('=', "\u{1}").replace('|', "\u{2}")
    }

    /// The golden CommitLog (Apache RocketMQ 4.9.8): a consumer of `rmqc_i_q2henl` answered
    /// RECONSUME_LATER for the record at 3841; the broker stored the record at 9737 in the
    /// schedule (level 3) and, 10 s later, the one at 62961 in the retry topic.
    #[test]
    fn send_back_and_delivery_match_the_java_records() {
        let original = props(
            "KEYS=i-retry|UNIQ_KEY=7F0000015AEB1DBD16A668765A9A000B|CLUSTER=DefaultCluster|TAGS=TagR",
        );
        let scheduled = props(
            "REAL_TOPIC=%RETRY%rmqc_cg_i_q2henl|ORIGIN_MESSAGE_ID=7F00000100002A9F0000000000000F01|RETRY_TOPIC=rmqc_i_q2henl|KEYS=i-retry|UNIQ_KEY=7F0000015AEB1DBD16A668765A9A000B|CLUSTER=DefaultCluster|WAIT=false|DELAY=3|TAGS=TagR|REAL_QID=0",
        );
        let levels = DelayLevels::default();
        let back = send_back(
            &levels,
            &original,
            "rmqc_i_q2henl",
            0,
            3,
            "7F00000100002A9F0000000000000F01",
            RETRY_GROUP_TOPIC,
            0,
        );
        assert_eq!(
            back,
            StoredForm {
                topic: "SCHEDULE_TOPIC_XXXX",
                queue_id: 2,
                properties: scheduled.clone(),
            }
        );
        assert_eq!(
            delivery(&scheduled),
            Some(StoredForm {
                topic: RETRY_GROUP_TOPIC,
                queue_id: 0,
                properties: scheduled.clone(),
            })
        );
    }

    /// A send with `DELAY=2` (golden record at 60038): the client's map plus `CLUSTER`, with
    /// `WAIT` taken out and put back, then `REAL_TOPIC` and `REAL_QID`.
    #[test]
    fn a_delayed_send_matches_the_java_record() {
        let levels = DelayLevels::default();
        let client = props(
            "KEYS=h-delay|UNIQ_KEY=7F0000015AEB1DBD16A668766A930117|DELAY=2|WAIT=true|TAGS=TagH",
        );
        let mut map = JavaMap::parse(&client, 4);
        map.put(keys::CLUSTER, "DefaultCluster");
        let wait = map.remove(keys::WAIT_STORE_MSG_OK).unwrap();
        map.put(keys::WAIT_STORE_MSG_OK, wait);
        let stored = for_store(&levels, 0, map, "rmqc_h_q2henl", 0);
        assert_eq!(stored.topic, "SCHEDULE_TOPIC_XXXX");
        assert_eq!(stored.queue_id, 1);
        assert_eq!(
            stored.properties,
            props("REAL_TOPIC=rmqc_h_q2henl|KEYS=h-delay|UNIQ_KEY=7F0000015AEB1DBD16A668766A930117|CLUSTER=DefaultCluster|DELAY=2|WAIT=true|TAGS=TagH|REAL_QID=0")
        );
    }

    #[test]
    fn levels_are_clamped_and_halves_are_not_delayed() {
        let levels = DelayLevels::parse("1s 2s").unwrap();
        let map = JavaMap::parse("DELAY\u{1}9", 2);
        let stored = for_store(&levels, 0, map.clone(), "T", 3);
        assert_eq!((stored.topic, stored.queue_id), ("SCHEDULE_TOPIC_XXXX", 1));
        assert_eq!(
            ferrocket_common::properties::find(&stored.properties, "DELAY"),
            Some("2")
        );
        assert_eq!(
            ferrocket_common::properties::find(&stored.properties, "REAL_QID"),
            Some("3")
        );
        let half = for_store(&levels, sysflag::TRANSACTION_PREPARED_TYPE, map, "T", 3);
        assert_eq!((half.topic, half.queue_id), ("T", 3));
        assert_eq!(delivery("DELAY\u{1}1"), None);
    }
}
