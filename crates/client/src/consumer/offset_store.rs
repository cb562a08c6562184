//! Consumer offsets: kept at the broker for clustering groups (`RemoteBrokerOffsetStore`),
//! in a local file for broadcasting ones (`LocalFileOffsetStore`, store.md §8).

use super::broker_api;
use crate::error::{ClientError, Result};
use crate::instance::ClientInstance;
use ferrocket_protocol::body::{MessageQueue, ResetOffsetBody};
use ferrocket_protocol::json;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Offsets are "next message to consume".
#[derive(Debug)]
pub(crate) struct OffsetStore {
    instance: Arc<ClientInstance>,
    group: String,
    table: Mutex<HashMap<MessageQueue, i64>>,
    /// `Some` for a broadcasting group: the `offsets.json` path.
    local: Option<PathBuf>,
}

impl OffsetStore {
    pub fn remote(instance: Arc<ClientInstance>, group: &str) -> OffsetStore {
        OffsetStore {
            instance,
            group: group.to_owned(),
            table: Mutex::default(),
            local: None,
        }
    }

    /// A local store under `<dir>/<clientId>/<group>/offsets.json`, loaded if present.
    pub fn local(instance: Arc<ClientInstance>, group: &str, dir: PathBuf) -> Result<OffsetStore> {
        let path = dir
            .join(instance.client_id().replace(':', "_"))
            .join(group)
            .join("offsets.json");
        let mut table = HashMap::new();
        for candidate in [path.clone(), path.with_extension("json.bak")] {
            match std::fs::read(&candidate) {
                Ok(bytes) => match json::from_slice::<ResetOffsetBody>(&bytes) {
                    Ok(body) => {
                        table = body.offset_table.into_iter().collect();
                        break;
                    }
                    Err(e) => tracing::warn!("ignoring unreadable {}: {e}", candidate.display()),
                },
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(OffsetStore {
            instance,
            group: group.to_owned(),
            table: Mutex::new(table),
            local: Some(path),
        })
    }

    pub fn is_local(&self) -> bool {
        self.local.is_some()
    }

    /// The offsets held in memory for the queues of `topic`, or of every topic when it is
    /// blank (`cloneOffsetTable`).
    pub fn table_of(&self, topic: &str) -> BTreeMap<MessageQueue, i64> {
        let every = topic.trim().is_empty();
        self.table
            .lock()
            .expect("offsets lock")
            .iter()
            .filter(|(q, _)| every || q.topic == topic)
            .map(|(q, o)| (q.clone(), *o))
            .collect()
    }

    /// The offset held in memory.
    pub fn read(&self, q: &MessageQueue) -> Option<i64> {
        self.table.lock().expect("offsets lock").get(q).copied()
    }

    /// The committed offset from where it is kept: the broker, or the local file's table.
    pub async fn read_from_store(&self, q: &MessageQueue) -> Result<Option<i64>> {
        if self.is_local() {
            return Ok(self.read(q));
        }
        let offset = broker_api::query_consumer_offset(&self.instance, &self.group, q).await?;
        if let Some(o) = offset {
            self.update(q, o, false);
        }
        Ok(offset)
    }

    /// Where a newly assigned queue starts: its committed offset, else the consume-from-where
    /// position. `None` (logged) when neither can be learnt now — skip the queue this round.
    /// The flag says whether the offset was committed.
    pub async fn resume_offset(
        &self,
        q: &MessageQueue,
        start: &super::StartPosition,
    ) -> Option<(i64, bool)> {
        let committed = match self.read_from_store(q).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!("offset of {q:?} unavailable, skipping it this round: {e}");
                return None;
            }
        };
        match broker_api::start_offset(&self.instance, q, committed, start).await {
            Ok(offset) => Some((offset, committed.is_some())),
            Err(e) => {
                tracing::warn!("start offset of {q:?} unavailable: {e}");
                None
            }
        }
    }

    /// Sets the offset; with `increase_only` a smaller value is ignored.
    pub fn update(&self, q: &MessageQueue, offset: i64, increase_only: bool) {
        let mut table = self.table.lock().expect("offsets lock");
        let slot = table.entry(q.clone()).or_insert(offset);
        if !increase_only || offset > *slot {
            *slot = offset;
        }
    }

    pub fn remove(&self, q: &MessageQueue) {
        self.table.lock().expect("offsets lock").remove(q);
    }

    /// Writes the offsets of `queues` where they are kept: oneway UPDATE_CONSUMER_OFFSET for
    /// a periodic persist, waiting for the answers when `wait` (shutdown, reset).
    pub async fn persist(&self, queues: &[MessageQueue], wait: bool) {
        if let Some(path) = &self.local {
            // A small file, but still disk I/O: off the runtime's worker threads.
            let bytes = self.snapshot_json();
            let target = path.clone();
            let written =
                tokio::task::spawn_blocking(move || write_atomically(&target, &bytes)).await;
            match written {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::warn!("persisting offsets to {} failed: {e}", path.display())
                }
                Err(e) => tracing::warn!("offset persistence task failed: {e}"),
            }
            return;
        }
        let entries: Vec<(MessageQueue, i64)> = {
            let table = self.table.lock().expect("offsets lock");
            queues
                .iter()
                .filter_map(|q| table.get(q).map(|o| (q.clone(), *o)))
                .collect()
        };
        for (q, offset) in entries {
            let r =
                broker_api::update_consumer_offset(&self.instance, &self.group, &q, offset, !wait)
                    .await;
            if let Err(e) = r {
                tracing::debug!("committing offset {offset} of {q:?} failed: {e}");
            }
        }
    }

    fn snapshot_json(&self) -> Vec<u8> {
        let table: BTreeMap<MessageQueue, i64> = self
            .table
            .lock()
            .expect("offsets lock")
            .iter()
            .map(|(q, o)| (q.clone(), *o))
            .collect();
        json::to_vec(&ResetOffsetBody {
            offset_table: table,
        })
    }
}

/// Writes `offsets.json` through a temporary file, keeping the previous one as `.bak`.
fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| ClientError::Invalid("offset file has no directory".into()))?;
    std::fs::create_dir_all(dir)?;
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, bytes)?;
    if path.exists() {
        let _ = std::fs::copy(path, path.with_extension("json.bak"));
    }
    std::fs::rename(&tmp, path)?;
    Ok(())
}
