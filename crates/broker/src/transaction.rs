//! Transactional messages: the records a transaction leaves in the store, in the form the Java
//! broker writes them (`TransactionalMessageBridge`, `EndTransactionProcessor`,
//! `DefaultTransactionalMessageCheckListener`).
//!
//! A producer first sends a *half* message (`TRAN_MSG=true`). It is stored in
//! `RMQ_SYS_TRANS_HALF_TOPIC` queue 0, where no consumer sees it, with its real topic and queue
//! in `REAL_TOPIC`/`REAL_QID`. END_TRANSACTION then commits it (the record is stored again in
//! its real queue, marked COMMIT) or rolls it back. Either way an *op* record in
//! `RMQ_SYS_TRANS_OP_HALF_TOPIC`, tagged `d` with the half's queue offset as its body, marks
//! the half done. Half messages left without an op record are checked back with their
//! producer ([`crate::transaction_check`]): each check stores the half again at the end of
//! the half queue with one more `TRANSACTION_CHECK_TIMES`, and after `transactionCheckMax`
//! checks it is moved to `TRANS_CHECK_MAX_TIME_TOPIC`.
//!
//! Java keeps a message's properties in one `HashMap` that several steps share; the strings
//! below reproduce what each step wrote, including where a later step's change to the map
//! shows up in an earlier step's record (see [`check_request_properties`]).

use crate::redirect::{self, StoredForm};
use ferrocket_common::names;
use ferrocket_common::properties::{keys, JavaMap};
use ferrocket_common::record::RecordView;
use ferrocket_common::sysflag;
use ferrocket_store::{DelayLevels, MessageStore, PutMessage, PutWait, StoreError};
use std::net::SocketAddr;

/// The group whose offsets on the half and op queues record how far checking got
/// (`MixAll.CID_SYS_RMQ_TRANS`).
pub const CHECK_GROUP: &str = "CID_RMQ_SYS_TRANS";

/// The tag of an op record: the half message it names is committed or rolled back
/// (`TransactionalMessageUtil.REMOVETAG`).
pub const REMOVE_TAG: &str = "d";

/// `sys_flag` with its transaction bits set to `transaction_type`
/// (`MessageSysFlag.resetTransactionValue`).
pub const fn with_transaction_type(sys_flag: i32, transaction_type: i32) -> i32 {
    (sys_flag & !sysflag::TRANSACTION_MASK) | transaction_type
}

/// Whether a send's properties make it a half message (`TRAN_MSG`, read as Java's
/// `Boolean.parseBoolean`).
pub fn is_half_message(properties: Option<&str>) -> bool {
    properties
        .and_then(|p| ferrocket_common::properties::find(p, keys::TRANSACTION_PREPARED))
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// `parseHalfMessageInner`: the send's map (with `WAIT` where the client had it) plus
/// `REAL_TOPIC` and `REAL_QID`, bound for the half queue. The transaction bits are reset, so
/// the CommitLog's delay redirect applies to a half message that carries `DELAY`, as in Java.
pub fn half_form<'m>(
    levels: &DelayLevels,
    mut map: JavaMap<'m>,
    topic: &'m str,
    queue_text: &'m str,
) -> StoredForm<'static> {
    map.put(keys::REAL_TOPIC, topic);
    map.put(keys::REAL_QUEUE_ID, queue_text);
    redirect::for_store(
        levels,
        sysflag::TRANSACTION_NOT_TYPE,
        map,
        names::TRANS_HALF_TOPIC,
        0,
    )
}

/// Why a half record cannot be committed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommitError {
    #[error("the prepared message does not say where it is bound (REAL_TOPIC/REAL_QID)")]
    NoDestination,
}

/// `endMessageTransaction`: the half record stored again in its real topic and queue, with
/// the half's properties unchanged (Java writes the string before it clears `REAL_TOPIC`,
/// `REAL_QID` and `TRAN_MSG` from the map, so all three stay).
pub fn committed_form<'a>(
    levels: &DelayLevels,
    half: &RecordView<'a>,
) -> Result<StoredForm<'a>, CommitError> {
    let map = JavaMap::parse(half.properties, 0);
    let topic = map
        .get(keys::REAL_TOPIC)
        .ok_or(CommitError::NoDestination)?;
    let queue_id = map
        .get(keys::REAL_QUEUE_ID)
        .and_then(|q| q.parse().ok())
        .ok_or(CommitError::NoDestination)?;
    let sys_flag = committed_sys_flag(half.header.sys_flag);
    Ok(redirect::for_store(levels, sys_flag, map, topic, queue_id))
}

/// The committed record's sysFlag: the half's, marked COMMIT.
pub const fn committed_sys_flag(half_sys_flag: i32) -> i32 {
    with_transaction_type(half_sys_flag, sysflag::TRANSACTION_COMMIT_TYPE)
}

/// An op record's properties: `new Message(topic, "d", body)` sets `TAGS` and `WAIT=true`.
pub fn op_properties() -> String {
    let mut map = JavaMap::with_capacity(2);
    map.put(keys::TAGS, REMOVE_TAG);
    map.put(keys::WAIT_STORE_MSG_OK, "true");
    let mut out = String::with_capacity(map.encoded_len());
    map.write(&mut out);
    out
}

/// Stores the op record that marks the half message at `half_queue_offset` of half queue
/// `half_queue_id` done (`addRemoveTagInTransactionOp`). Born and stored by the broker
/// itself; nobody waits for its flush.
pub async fn write_op(
    store: &MessageStore,
    broker_host: SocketAddr,
    half_queue_id: i32,
    half_queue_offset: i64,
) -> Result<(), StoreError> {
    let properties = op_properties();
    let body = half_queue_offset.to_string();
    let msg = PutMessage {
        topic: names::TRANS_OP_HALF_TOPIC,
        queue_id: half_queue_id,
        flag: 0,
        sys_flag: 0,
        born_timestamp: ferrocket_common::time::now_ms(),
        born_host: broker_host,
        store_host: broker_host,
        reconsume_times: 0,
        prepared_transaction_offset: 0,
        body: body.as_bytes(),
        properties: &properties,
    };
    store.put_waiting(&msg, PutWait::Appended).await.map(|_| ())
}

/// `needDiscard`: the `TRANSACTION_CHECK_TIMES` this check gives the half message, or `None`
/// when it was checked `check_max` times already. A count that does not parse reads as -1,
/// as Java's `getInt` reads it.
pub fn next_check_count(map: &JavaMap<'_>, check_max: i32) -> Option<i32> {
    match map.get(keys::TRANSACTION_CHECK_TIMES) {
        None => Some(1),
        Some(text) => {
            let count = text.parse::<i32>().unwrap_or(-1);
            (count < check_max).then(|| count.saturating_add(1))
        }
    }
}

/// The properties of a half message stored again for a check (`renewHalfMessageInner`): the
/// half's map with this check's `TRANSACTION_CHECK_TIMES` (already in `map`).
pub fn put_back_properties(map: &JavaMap<'_>) -> String {
    let mut out = String::with_capacity(map.encoded_len());
    map.write(&mut out);
    out
}

/// The properties CHECK_TRANSACTION_STATE ships: the put-back's map, where
/// `renewHalfMessageInner` has since set `WAIT=false` (after writing the put-back's string).
pub fn check_request_properties(map: &JavaMap<'_>) -> String {
    let mut map = map.clone();
    map.put(keys::WAIT_STORE_MSG_OK, "false");
    put_back_properties(&map)
}

/// The properties of a half message with `CHECK_IMMUNITY_TIME_IN_SECONDS` stored again
/// (`renewImmunityHalfMessageInner`): the map as the check request has it, plus where the
/// first copy of the half sat in its queue.
pub fn immunity_put_back_properties(map: &JavaMap<'_>, first_queue_offset: &str) -> String {
    let mut map = map.clone();
    map.put(keys::WAIT_STORE_MSG_OK, "false");
    map.put(keys::TRANSACTION_PREPARED_QUEUE_OFFSET, first_queue_offset);
    put_back_properties(&map)
}

/// The body of CHECK_TRANSACTION_STATE (`MessageDecoder.encode` of the put-back message): the
/// half record as first stored, addressed to its real topic and queue, at the put-back's
/// queue and CommitLog offsets, with the check's properties.
pub fn check_request_body(
    half: &RecordView<'_>,
    real_topic: &str,
    real_queue_id: i32,
    put_back_queue_offset: i64,
    put_back_offset: i64,
    properties: &str,
) -> Result<Vec<u8>, ferrocket_common::CodecError> {
    let mut header = half.header;
    header.queue_id = real_queue_id;
    header.queue_offset = put_back_queue_offset;
    header.physical_offset = put_back_offset;
    RecordView {
        header,
        body: half.body,
        topic: real_topic,
        properties,
    }
    .encode_to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrocket_common::record::MessageRecord;

    fn golden_commit_log() -> bytes::Bytes {
        bytes::Bytes::from_static(include_bytes!(
            "../../../testdata/golden/store/commitlog/00000000000000000000"
        ))
    }

    fn golden_record(records: &[MessageRecord], offset: i64) -> &MessageRecord {
        records
            .iter()
            .find(|r| r.header.physical_offset == offset)
            .unwrap_or_else(|| panic!("no golden record at {offset}"))
    }

    fn props(s: &str) -> String {
        s.replace('=', "\u{1}").replace('|', "\u{2}")
    }

    /// The golden CommitLog (Apache RocketMQ 4.9.8, `TransactionMQProducer`): a half message
    /// of topic rmqc_k_q2henl queue 2 at 4882, committed at 6968 with the op record at 8407.
    #[test]
    fn half_commit_and_op_match_the_java_records() {
        let all = MessageRecord::decode_all(&golden_commit_log(), true).unwrap();
        let half = golden_record(&all, 4882);
        let committed = golden_record(&all, 6968);
        let op = golden_record(&all, 8407);

        // The client's string as a 4.9.8 TransactionMQProducer writes it, CLUSTER added and
        // WAIT taken out and put back as the send processor does.
        let client = props("KEYS=k-commit|TRAN_MSG=true|UNIQ_KEY=7F0000015AEB1DBD16A668765AF50011|WAIT=true|PGROUP=rmqc_pg_k_q2henl|TAGS=TagT");
        let mut map = JavaMap::parse(&client, 4);
        map.put(keys::CLUSTER, "DefaultCluster");
        let wait = map.remove(keys::WAIT_STORE_MSG_OK).unwrap();
        map.put(keys::WAIT_STORE_MSG_OK, wait);
        let levels = DelayLevels::default();
        let form = half_form(&levels, map, "rmqc_k_q2henl", "2");
        assert_eq!(form.topic, half.topic);
        assert_eq!(form.queue_id, half.header.queue_id);
        assert_eq!(form.properties, half.properties);
        assert_eq!(half.header.sys_flag, 0, "Java resets the prepared bit");

        let view = half.view();
        let form = committed_form(&levels, &view).unwrap();
        assert_eq!(
            (form.topic, form.queue_id),
            (committed.topic.as_str(), committed.header.queue_id)
        );
        assert_eq!(form.properties, committed.properties);
        assert_eq!(
            committed_sys_flag(half.header.sys_flag),
            committed.header.sys_flag
        );
        assert_eq!(committed.header.prepared_transaction_offset, 4882);
        assert_eq!(committed.header.born_timestamp, half.header.born_timestamp);
        assert_ne!(
            committed.header.store_timestamp, half.header.store_timestamp,
            "the commit is stored with its own store time"
        );

        assert_eq!(op.topic, names::TRANS_OP_HALF_TOPIC);
        assert_eq!(op_properties(), op.properties);
        assert_eq!(op.body.as_ref(), b"0");
        assert_eq!(op.header.born_host, op.header.store_host);
    }

    /// The golden check-back: the half at 7473 (queue offset 2) was left UNKNOW; a check
    /// stored it again at 63312 (queue offset 3) with TRANSACTION_CHECK_TIMES=1. (The
    /// CHECK_TRANSACTION_STATE body is compared with the golden frame in tests/transaction.rs.)
    #[test]
    fn put_back_matches_the_java_record() {
        let all = MessageRecord::decode_all(&golden_commit_log(), true).unwrap();
        let half = golden_record(&all, 7473);
        let put_back = golden_record(&all, 63312);
        let mut map = JavaMap::parse(&half.properties, 3);
        let count = next_check_count(&map, 15).unwrap();
        assert_eq!(count, 1);
        let count_text = count.to_string();
        map.put(keys::TRANSACTION_CHECK_TIMES, &count_text);
        assert_eq!(put_back_properties(&map), put_back.properties);
        assert_eq!(
            ferrocket_common::properties::find(&check_request_properties(&map), "WAIT"),
            Some("false")
        );
    }

    #[test]
    fn check_counts_stop_at_the_maximum() {
        let none = JavaMap::parse("", 0);
        assert_eq!(next_check_count(&none, 15), Some(1));
        let map = JavaMap::parse("TRANSACTION_CHECK_TIMES\u{1}14", 0);
        assert_eq!(next_check_count(&map, 15), Some(15));
        let map = JavaMap::parse("TRANSACTION_CHECK_TIMES\u{1}15", 0);
        assert_eq!(next_check_count(&map, 15), None);
        let map = JavaMap::parse("TRANSACTION_CHECK_TIMES\u{1}x", 0);
        assert_eq!(
            next_check_count(&map, 15),
            Some(0),
            "Java's getInt gives -1"
        );
    }

    #[test]
    fn only_true_makes_a_half_message() {
        assert!(is_half_message(Some("TRAN_MSG\u{1}TRUE")));
        assert!(!is_half_message(Some("TRAN_MSG\u{1}yes")));
        assert!(!is_half_message(None));
        assert_eq!(
            with_transaction_type(sysflag::TRANSACTION_PREPARED_TYPE | 1, 0),
            1
        );
    }

    #[test]
    fn a_half_without_destination_cannot_be_committed() {
        let record = RecordView {
            header: Default::default(),
            body: b"x",
            topic: names::TRANS_HALF_TOPIC,
            properties: "TAGS\u{1}a",
        };
        assert_eq!(
            committed_form(&DelayLevels::default(), &record),
            Err(CommitError::NoDestination)
        );
    }
}
