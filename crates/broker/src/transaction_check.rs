//! Check-back of open transactions (`TransactionalMessageCheckService`,
//! `TransactionalMessageServiceImpl.check`): every `transactionCheckInterval` the broker walks
//! each half queue from where the last pass stopped. A half message whose op record has been
//! seen is done; one older than `transactionTimeOut` without an op record is stored again at
//! the end of the half queue (one more `TRANSACTION_CHECK_TIMES`) and its producer group is
//! asked for the outcome with CHECK_TRANSACTION_STATE; the answer comes back as
//! END_TRANSACTION. A half checked `transactionCheckMax` times, or older than the CommitLog's
//! retention, goes to `TRANS_CHECK_MAX_TIME_TOPIC` instead.
//!
//! Progress is the offsets of group `CID_RMQ_SYS_TRANS` on the half and op queues, kept with
//! the consumers' offsets. A pass over one queue stops after [`PASS_LIMIT`], at the first half
//! stored after the pass began (its own put-backs among them), or at the first too young to
//! check.

use crate::transaction::{self, CHECK_GROUP, REMOVE_TAG};
use crate::Broker;
use ferrocket_common::names;
use ferrocket_common::properties::{keys, JavaMap};
use ferrocket_common::record::RecordView;
use ferrocket_protocol::header::CheckTransactionStateRequestHeader;
use ferrocket_protocol::{RemotingCommand, RequestCode};
use ferrocket_store::{GetMessageStatus, MessageStore, PutMessage, PutWait, SegmentSlice};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The longest one pass spends on one half queue (`MAX_PROCESS_TIME_LIMIT`).
const PASS_LIMIT: Duration = Duration::from_secs(60);
/// Op records read at a time (`fillOpRemoveMap`'s pull of 32).
const OP_BATCH: usize = 32;

/// Runs a check pass every `transactionCheckInterval` until the task is aborted. Masters only.
pub async fn check_loop(broker: Arc<Broker>) {
    if !broker.boot_config.store.broker_role.is_master() {
        return;
    }
    loop {
        tokio::time::sleep(broker.config().transaction_check_interval).await;
        check_all(&broker).await;
    }
}

/// One pass over every half queue.
pub async fn check_all(broker: &Arc<Broker>) {
    // Java creates the half topic here when it is missing (`selectTopicConfig`).
    let half_topic = match broker
        .create_send_back_topic(names::TRANS_HALF_TOPIC, 1)
        .await
    {
        Ok(config) => config,
        Err(e) => {
            tracing::warn!("transaction check skipped: cannot create the half topic: {e}");
            return;
        }
    };
    for queue_id in 0..half_topic.read_queue_nums {
        check_queue(broker, queue_id).await;
    }
}

/// What a read of a half or op queue found.
enum QueueRead {
    Found {
        records: Vec<SegmentSlice>,
        next: i64,
    },
    /// At the end of the queue.
    NoNewMessage { next: i64 },
    /// Not readable there (below the minimum, past the end, removed): go on from `next`.
    Illegal { next: i64 },
}

/// What one read of op records found (`PullResult` of `fillOpRemoveMap`).
#[derive(Debug, Clone, Copy)]
struct OpRead {
    next: i64,
    /// The born time of the last op record read; `None` when none was.
    last_born: Option<i64>,
}

/// The op records seen in a pass (`removeMap`, `doneOpOffset`).
#[derive(Default)]
struct Ops {
    /// half queue offset → op queue offset, for halves at or after the pass's start.
    done_halves: HashMap<i64, i64>,
    /// Op queue offsets whose half needs nothing more.
    consumed: Vec<i64>,
}

struct QueuePass<'a> {
    broker: &'a Arc<Broker>,
    store: &'a MessageStore,
    queue_id: i32,
    timeout_ms: i64,
    check_max: i32,
    reserved_ms: i64,
    started_ms: i64,
}

async fn check_queue(broker: &Arc<Broker>, queue_id: i32) {
    let live = broker.config();
    let store = &broker.store;
    let pass = QueuePass {
        broker,
        store,
        queue_id,
        timeout_ms: i64::try_from(live.transaction_timeout.as_millis()).unwrap_or(i64::MAX),
        check_max: live.transaction_check_max,
        reserved_ms: i64::try_from(live.store.file_reserved_hours)
            .unwrap_or(i64::MAX / 3_600_000)
            .saturating_mul(3_600_000),
        started_ms: ferrocket_common::time::now_ms(),
    };
    let started = Instant::now();
    let half_offset = pass.progress(names::TRANS_HALF_TOPIC);
    let op_offset = pass.progress(names::TRANS_OP_HALF_TOPIC);
    let mut ops = Ops::default();
    let mut last_ops = pass.read_ops(&mut ops, op_offset, half_offset);
    // Java reads past one illegal offset, not two (`MAX_RETRY_COUNT_WHEN_HALF_NULL`).
    let mut illegal_reads = 0;
    let mut next_half = half_offset;
    let mut i = half_offset;
    loop {
        if started.elapsed() > PASS_LIMIT {
            tracing::info!(queue_id, "transaction check pass reached its time limit");
            break;
        }
        if let Some(op) = ops.done_halves.remove(&i) {
            // Settled by an op record already read.
            ops.consumed.push(op);
            next_half = i + 1;
            i += 1;
            continue;
        }
        let record = match pass.read_half(i) {
            QueueRead::Found { mut records, .. } => records.swap_remove(0),
            QueueRead::NoNewMessage { .. } => break,
            QueueRead::Illegal { next } => {
                illegal_reads += 1;
                if illegal_reads > 1 {
                    break;
                }
                i = next;
                next_half = i;
                continue;
            }
        };
        let Ok(half) = RecordView::decode(&record, false) else {
            tracing::warn!(queue_id, offset = i, "unreadable half message skipped");
            next_half = i + 1;
            i += 1;
            continue;
        };
        let mut map = JavaMap::parse(half.properties, 3);
        let count_text;
        let discard = match transaction::next_check_count(&map, pass.check_max) {
            None => true,
            Some(count) => {
                count_text = count.to_string();
                map.put(keys::TRANSACTION_CHECK_TIMES, &count_text);
                pass.started_ms - half.header.born_timestamp > pass.reserved_ms
            }
        };
        if discard {
            pass.discard(&half, &map).await;
            next_half = i + 1;
            i += 1;
            continue;
        }
        if half.header.store_timestamp >= pass.started_ms {
            break; // stored after the pass began: the next pass looks at it
        }
        let age = ferrocket_common::time::now_ms() - half.header.born_timestamp;
        let mut immunity = pass.timeout_ms;
        if let Some(seconds) = map.get(keys::CHECK_IMMUNITY_TIME_IN_SECONDS) {
            immunity = match seconds.parse::<i64>().unwrap_or(-1) {
                -1 => pass.timeout_ms,
                s => s.saturating_mul(1000),
            };
            if age < immunity && pass.settle_immune(&mut ops, &half, &map).await {
                next_half = i + 1;
                i += 1;
                continue;
            }
        } else if (0..immunity).contains(&age) {
            break; // too young: neither this nor any later half is due
        }
        let due = match last_ops.last_born {
            None => age > immunity,
            Some(born) => born - pass.started_ms > pass.timeout_ms,
        } || age <= -1;
        if due {
            if !pass.put_back_and_check(&half, map).await {
                break; // the store refused; the next pass tries again
            }
        } else {
            // Maybe an op record further on settles this half: read more of them.
            let before = last_ops.next;
            last_ops = pass.read_ops(&mut ops, last_ops.next, half_offset);
            if last_ops.last_born.is_none() && last_ops.next == before {
                // Nothing more to read and not due (Java spins here until its time
                // limit): the next pass looks again.
                break;
            }
            continue;
        }
        next_half = i + 1;
        i += 1;
    }
    if next_half != half_offset {
        pass.set_progress(names::TRANS_HALF_TOPIC, next_half);
    }
    let next_op = contiguous_end(&mut ops.consumed, op_offset);
    if next_op != op_offset {
        pass.set_progress(names::TRANS_OP_HALF_TOPIC, next_op);
    }
}

/// `calculateOpOffset`: the op offset moves past the consumed op records that follow it
/// without a gap.
fn contiguous_end(consumed: &mut [i64], from: i64) -> i64 {
    consumed.sort_unstable();
    let mut next = from;
    for &offset in consumed.iter() {
        if offset != next {
            break;
        }
        next += 1;
    }
    next
}

impl QueuePass<'_> {
    /// The check group's offset on `topic` (this pass's queue), or the queue's minimum.
    fn progress(&self, topic: &str) -> i64 {
        self.broker
            .offsets
            .query(CHECK_GROUP, topic, self.queue_id)
            .filter(|&o| o >= 0)
            .unwrap_or_else(|| self.store.min_offset(topic, self.queue_id))
    }

    fn set_progress(&self, topic: &str, offset: i64) {
        self.broker
            .offsets
            .commit(CHECK_GROUP, topic, self.queue_id, offset);
    }

    /// Up to `max` records of `topic` (this pass's queue) from `offset`, through the store's
    /// read as Java's bridge reads (`getMessage`), in the terms of its `PullStatus`.
    fn read(&self, topic: &str, offset: i64, max: usize) -> QueueRead {
        let r = self
            .store
            .get_messages(topic, self.queue_id, offset, max, &|_| true);
        match r.status {
            GetMessageStatus::Found => QueueRead::Found {
                records: r.messages,
                next: r.next_begin_offset,
            },
            GetMessageStatus::NoMessageInQueue | GetMessageStatus::OffsetOverflowOne => {
                QueueRead::NoNewMessage {
                    next: r.next_begin_offset,
                }
            }
            _ => QueueRead::Illegal {
                next: r.next_begin_offset,
            },
        }
    }

    /// `getHalfMsg`: the half message at `offset`.
    fn read_half(&self, offset: i64) -> QueueRead {
        self.read(names::TRANS_HALF_TOPIC, offset, 1)
    }

    /// `fillOpRemoveMap`: reads up to [`OP_BATCH`] op records from `offset` and notes which
    /// halves they settle. Halves below `pass_start` are behind the pass already: their op
    /// records are consumed at once.
    fn read_ops(&self, ops: &mut Ops, offset: i64, pass_start: i64) -> OpRead {
        let topic = names::TRANS_OP_HALF_TOPIC;
        let (records, next) = match self.read(topic, offset, OP_BATCH) {
            QueueRead::Found { records, next } => (records, next),
            QueueRead::NoNewMessage { next } => {
                return OpRead {
                    next,
                    last_born: None,
                }
            }
            QueueRead::Illegal { next } => {
                self.set_progress(topic, next);
                return OpRead {
                    next,
                    last_born: None,
                };
            }
        };
        let mut last_born = None;
        for record in &records {
            let Ok(op) = RecordView::decode(record, false) else {
                continue;
            };
            last_born = Some(op.header.born_timestamp);
            let half_offset = std::str::from_utf8(op.body)
                .ok()
                .and_then(|b| b.parse::<i64>().ok())
                .unwrap_or(-1);
            if ferrocket_common::properties::find(op.properties, keys::TAGS) != Some(REMOVE_TAG) {
                tracing::warn!(offset = op.header.queue_offset, "op record without tag d");
                continue;
            }
            if half_offset < pass_start {
                ops.consumed.push(op.header.queue_offset);
            } else {
                ops.done_halves.insert(half_offset, op.header.queue_offset);
            }
        }
        OpRead { next, last_born }
    }

    /// `checkPrepareQueueOffset`, for a half still immune to checks: a put-back copy whose
    /// first copy is settled is done; otherwise it is stored again to wait. `true` when the
    /// pass may move past it.
    async fn settle_immune(&self, ops: &mut Ops, half: &RecordView<'_>, map: &JavaMap<'_>) -> bool {
        let first = match map.get(keys::TRANSACTION_PREPARED_QUEUE_OFFSET) {
            None => None,
            Some(text) => match text.parse::<i64>().unwrap_or(-1) {
                -1 => return false,
                first => Some(first),
            },
        };
        if let Some(op) = first.and_then(|f| ops.done_halves.remove(&f)) {
            ops.consumed.push(op);
            return true;
        }
        let first_text = first.unwrap_or(half.header.queue_offset).to_string();
        let properties = transaction::immunity_put_back_properties(map, &first_text);
        self.put_half_again(half, &properties).await.is_some()
    }

    /// Stores `half` again at the end of the half queue (`renewHalfMessageInner`: flag and
    /// reconsume times are not carried over).
    async fn put_half_again(
        &self,
        half: &RecordView<'_>,
        properties: &str,
    ) -> Option<ferrocket_store::AppendResult> {
        let msg = PutMessage {
            flag: 0,
            reconsume_times: 0,
            ..PutMessage::restored(half, half.topic, half.header.queue_id, properties)
        };
        match self.store.put_waiting(&msg, PutWait::Appended).await {
            Ok(r) => Some(r.append),
            Err(e) => {
                tracing::warn!("half message not stored again for its check: {e}");
                None
            }
        }
    }

    /// Stores the half again and asks a producer of its group for the outcome.
    async fn put_back_and_check(&self, half: &RecordView<'_>, map: JavaMap<'_>) -> bool {
        let properties = transaction::put_back_properties(&map);
        let Some(put_back) = self.put_half_again(half, &properties).await else {
            return false;
        };
        let (Some(topic), Some(queue_id)) = (
            map.get(keys::REAL_TOPIC),
            map.get(keys::REAL_QUEUE_ID).and_then(|q| q.parse().ok()),
        ) else {
            tracing::warn!("half message without REAL_TOPIC/REAL_QID: not checked");
            return true;
        };
        let Some(group) = map.get(keys::PRODUCER_GROUP) else {
            tracing::warn!("half message without a producer group: not checked");
            return true;
        };
        let body = match transaction::check_request_body(
            half,
            topic,
            queue_id,
            put_back.queue_offset,
            put_back.physical_offset as i64,
            &transaction::check_request_properties(&map),
        ) {
            Ok(body) => body,
            Err(e) => {
                tracing::warn!("check request not built: {e}");
                return true;
            }
        };
        let msg_id = map
            .get(keys::UNIQ_CLIENT_MESSAGE_ID_KEYIDX)
            .map(str::to_owned);
        let header = CheckTransactionStateRequestHeader {
            tran_state_table_offset: put_back.queue_offset,
            commit_log_offset: put_back.physical_offset as i64,
            msg_id: msg_id.clone(),
            transaction_id: msg_id,
            offset_msg_id: Some(
                ferrocket_common::message_id::OffsetMessageId::new(
                    half.header.store_host,
                    put_back.physical_offset as i64,
                )
                .encode(),
            ),
        };
        let request =
            RemotingCommand::request_with_header(RequestCode::CHECK_TRANSACTION_STATE, &header)
                .with_body(body);
        send_check(self.broker, group, request);
        true
    }

    /// `resolveDiscardMsg`: the half goes to `TRANS_CHECK_MAX_TIME_TOPIC` queue 0, as it is
    /// (the properties as this check left them).
    async fn discard(&self, half: &RecordView<'_>, map: &JavaMap<'_>) {
        tracing::warn!(
            offset = half.header.physical_offset,
            "half message checked too many times (or too old): moved to TRANS_CHECK_MAX_TIME_TOPIC"
        );
        if let Err(e) = self
            .broker
            .create_send_back_topic(names::TRANS_CHECK_MAX_TIME_TOPIC, 1)
            .await
        {
            tracing::warn!("cannot create TRANS_CHECK_MAX_TIME_TOPIC: {e}");
            return;
        }
        let properties = transaction::put_back_properties(map);
        let msg = PutMessage::restored(half, names::TRANS_CHECK_MAX_TIME_TOPIC, 0, &properties);
        if let Err(e) = self.store.put_waiting(&msg, PutWait::Appended).await {
            tracing::warn!("discarded half message not stored: {e}");
        }
    }
}

/// Which producer connection the next check goes to (`ProducerManager.getAvailableChannel`'s
/// counter): the group's connections take turns.
static NEXT_PRODUCER: AtomicUsize = AtomicUsize::new(0);

/// Sends CHECK_TRANSACTION_STATE oneway to one live connection of the producer group, off
/// the pass (Java hands it to a thread pool). With no producer online the half simply waits
/// for the next pass.
fn send_check(broker: &Arc<Broker>, group: &str, request: RemotingCommand) {
    let channels: Vec<_> = broker
        .clients
        .producer_group(group)
        .into_iter()
        .filter(|c| !c.channel.is_closed())
        .collect();
    if channels.is_empty() {
        tracing::warn!(
            group,
            "transaction check not sent: no producer of the group online"
        );
        return;
    }
    let pick = NEXT_PRODUCER.fetch_add(1, Ordering::Relaxed) % channels.len();
    let channel = channels[pick].channel.clone();
    let group = group.to_owned();
    tokio::spawn(async move {
        if let Err(e) = channel.invoke_oneway(request).await {
            tracing::warn!(%group, "transaction check not sent: {e}");
        }
    });
}

#[cfg(test)]
mod tests {
    use super::contiguous_end;

    #[test]
    fn the_op_offset_moves_over_the_consumed_run_only() {
        assert_eq!(contiguous_end(&mut [5, 3, 4, 7], 3), 6);
        assert_eq!(contiguous_end(&mut [4, 5], 3), 3);
        assert_eq!(contiguous_end(&mut [], 3), 3);
    }
}
