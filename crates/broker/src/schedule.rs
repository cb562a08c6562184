//! Delivery of scheduled messages (`ScheduleMessageService`): delayed sends and consumers'
//! retries wait in `SCHEDULE_TOPIC_XXXX`, queue `level - 1`, each unit holding the time it
//! is due; once due, the record is stored again in its real topic and queue.
//!
//! Progress is the next offset to deliver per level, kept in `config/delayOffset.json`
//! (`{"offsetTable":{level:offset}}`), written every `flushDelayOffsetInterval` and at
//! shutdown. Like Java, only levels that delivered something appear in it, and a crash
//! between a delivery and the next write delivers those records again.

use crate::{config_file, redirect, Broker};
use ferrocket_common::names;
use ferrocket_common::record::RecordView;
use ferrocket_protocol::body::DelayOffsetSerializeWrapper;
use ferrocket_store::{DelayLevels, MessageStore, PutMessage, PutWait};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

/// Java starts each level's timer one second after boot (`FIRST_DELAY_TIME`).
const FIRST_DELAY: Duration = Duration::from_secs(1);
/// How soon a level is looked at again when nothing is due (`DELAY_FOR_A_WHILE`).
const RECHECK: Duration = Duration::from_millis(100);
/// How long a level waits after a failed delivery (`DELAY_FOR_A_PERIOD`).
const AFTER_FAILURE: Duration = Duration::from_secs(10);

#[derive(Debug)]
pub struct DelayOffsets {
    path: PathBuf,
    table: Mutex<BTreeMap<i32, i64>>,
}

impl DelayOffsets {
    /// Loads `delayOffset.json` (or its `.bak`) and, as Java's `correctDelayOffset`, pulls
    /// each level's offset inside its queue's bounds.
    pub fn load(root: &std::path::Path, store: &MessageStore, levels: &DelayLevels) -> Self {
        let path = root.join("config").join("delayOffset.json");
        let mut table = config_file::load::<DelayOffsetSerializeWrapper>(&path)
            .map(|w| w.offset_table)
            .unwrap_or_default();
        for (&level, offset) in table.iter_mut() {
            if level < 1 || level > levels.max_level() {
                continue;
            }
            let queue = level - 1;
            let (min, max) = (
                store.min_offset(names::SCHEDULE_TOPIC, queue),
                store.max_offset(names::SCHEDULE_TOPIC, queue),
            );
            let corrected = (*offset).max(min).min(max);
            if corrected != *offset {
                tracing::warn!(
                    level,
                    from = *offset,
                    to = corrected,
                    "delay offset corrected"
                );
                *offset = corrected;
            }
        }
        DelayOffsets {
            path,
            table: Mutex::new(table),
        }
    }

    pub fn get(&self, level: i32) -> Option<i64> {
        self.table
            .lock()
            .expect("delay offsets")
            .get(&level)
            .copied()
    }

    fn set(&self, level: i32, offset: i64) {
        self.table
            .lock()
            .expect("delay offsets")
            .insert(level, offset);
    }

    pub fn snapshot(&self) -> DelayOffsetSerializeWrapper {
        DelayOffsetSerializeWrapper {
            offset_table: self.table.lock().expect("delay offsets").clone(),
        }
    }

    pub fn persist(&self) -> std::io::Result<()> {
        config_file::persist(&self.path, &self.snapshot())
    }
}

/// What one look at a level did.
#[derive(Debug, PartialEq, Eq)]
enum Pass {
    /// Nothing (more) is due now.
    Idle,
    /// A put failed: try again after [`AFTER_FAILURE`].
    Failed,
}

/// Delivers due records, level by level, until the task is aborted. Runs on masters only.
pub async fn delivery_loop(broker: std::sync::Arc<Broker>) {
    if !broker.boot_config.store.broker_role.is_master() {
        return;
    }
    tokio::time::sleep(FIRST_DELAY).await;
    let mut resume_at = BTreeMap::new();
    let mut last_persist = tokio::time::Instant::now();
    loop {
        let live = broker.config();
        let levels = &live.store.message_delay_level;
        let now = tokio::time::Instant::now();
        for level in 1..=levels.max_level() {
            if resume_at.get(&level).is_some_and(|&at| at > now) {
                continue;
            }
            if deliver_due(&broker, levels, level).await == Pass::Failed {
                resume_at.insert(level, now + AFTER_FAILURE);
            }
        }
        if last_persist.elapsed() >= live.store.flush_delay_offset_interval {
            last_persist = tokio::time::Instant::now();
            let me = broker.clone();
            // The write ends in an fsync: keep it off the runtime's worker threads.
            match tokio::task::spawn_blocking(move || me.delay_offsets.persist()).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!("could not write delayOffset.json: {e}"),
                Err(e) => tracing::warn!("delay offset persistence task failed: {e}"),
            }
        }
        tokio::time::sleep(RECHECK).await;
    }
}

/// `executeOnTimeup` for one level: delivers the records of its queue that are due, in order,
/// and stops at the first one that is not.
async fn deliver_due(broker: &Broker, levels: &DelayLevels, level: i32) -> Pass {
    let Some(delay) = levels.delay_ms(level) else {
        return Pass::Idle;
    };
    let queue = level - 1;
    let store = &broker.store;
    let mut offset = broker.delay_offsets.get(level).unwrap_or(0);
    loop {
        offset = offset.max(store.min_offset(names::SCHEDULE_TOPIC, queue));
        let Some(unit) = store.unit(names::SCHEDULE_TOPIC, queue, offset) else {
            return Pass::Idle;
        };
        let now = ferrocket_common::time::now_ms();
        // A due time further off than the level's delay (a clock set back) counts as now.
        let due = if unit.tags_code > now + delay {
            now
        } else {
            unit.tags_code
        };
        if due > now {
            return Pass::Idle;
        }
        let record = u64::try_from(unit.commit_log_offset)
            .ok()
            .and_then(|at| store.commit_log().record_at(at));
        if let Some(record) = record {
            if let Err(e) = deliver(store, &record).await {
                tracing::warn!(
                    level,
                    offset,
                    "scheduled delivery failed, retrying later: {e}"
                );
                return Pass::Failed;
            }
        }
        offset += 1;
        broker.delay_offsets.set(level, offset);
    }
}

/// Stores a due record in its real topic and queue (`messageTimeup`), without waiting for the
/// flush (`WAIT=false`). A record that does not say where it goes, or is bound for the
/// transaction half topic, is skipped, as Java skips it.
async fn deliver(store: &MessageStore, record: &[u8]) -> Result<(), ferrocket_store::StoreError> {
    let view = match RecordView::decode(record, false) {
        Ok(view) => view,
        Err(e) => {
            tracing::warn!("unreadable scheduled record skipped: {e}");
            return Ok(());
        }
    };
    let Some(form) = redirect::delivery(view.properties) else {
        tracing::warn!(
            topic = view.topic,
            "scheduled record without REAL_TOPIC/REAL_QID skipped"
        );
        return Ok(());
    };
    if form.topic == names::TRANS_HALF_TOPIC {
        tracing::warn!("scheduled record bound for the transaction half topic skipped");
        return Ok(());
    }
    let msg = PutMessage::restored(&view, form.topic, form.queue_id, &form.properties);
    store.put_waiting(&msg, PutWait::Appended).await.map(|_| ())
}
