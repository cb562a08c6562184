//! The lite pull consumer (`DefaultLitePullConsumer`): queues are subscribed (and shared out
//! by rebalance) or assigned by hand; background pulls fill a buffer that [`poll`] drains;
//! offsets are committed automatically every few seconds or by [`commit_sync`].
//!
//! [`poll`]: LitePullConsumer::poll
//! [`commit_sync`]: LitePullConsumer::commit_sync

use super::allocate::AllocateStrategy;
use super::broker_api;
use super::offset_store::OffsetStore;
use super::pull::{self, PullArgs, PullStatus};
use super::{now_ms, ConsumeFromWhere, MessageModel, StartPosition};
use crate::error::{ClientError, Result};
use crate::instance::{BoxFuture, ClientInstance, ClientOptions, ConsumerHandle};
use crate::message::MessageExt;
use ferrocket_common::GroupName;
use ferrocket_protocol::body::{
    ConsumeMessageDirectlyResult, ConsumeType, ConsumerData, ConsumerRunningInfo, MessageQueue,
    SubscriptionData,
};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};
use tokio::sync::{watch, Notify};

/// Lite pull consumer settings, with the Java defaults (`behaviour.md` §7).
#[derive(Debug, Clone)]
pub struct LitePullOptions {
    pub message_model: MessageModel,
    pub start: StartPosition,
    pub allocate: AllocateStrategy,
    /// Messages asked for per pull (`pullBatchSize`, 10).
    pub pull_batch_size: i32,
    /// Buffered messages over all queues before pulling pauses (`pullThresholdForAll`, 10000).
    pub pull_threshold_for_all: usize,
    /// Buffered messages per queue before its pulling pauses (`pullThresholdForQueue`, 1000).
    pub pull_threshold_for_queue: usize,
    /// Commit consumed offsets automatically (`autoCommit`, true) …
    pub auto_commit: bool,
    /// … this often (`autoCommitIntervalMillis`, 5 s).
    pub auto_commit_interval: Duration,
    /// How long the broker may hold a pull (`brokerSuspendMaxTimeMillis`, 20 s).
    pub broker_suspend_max: Duration,
    /// Request timeout of a held pull (`consumerTimeoutMillisWhenSuspend`, 30 s).
    pub pull_timeout: Duration,
}

impl Default for LitePullOptions {
    fn default() -> Self {
        LitePullOptions {
            message_model: MessageModel::Clustering,
            start: StartPosition::default(),
            allocate: AllocateStrategy::Averagely,
            pull_batch_size: 10,
            pull_threshold_for_all: 10_000,
            pull_threshold_for_queue: 1000,
            auto_commit: true,
            auto_commit_interval: Duration::from_secs(5),
            broker_suspend_max: Duration::from_secs(20),
            pull_timeout: Duration::from_secs(30),
        }
    }
}

/// Builds a [`LitePullConsumer`].
#[derive(Debug, Clone)]
pub struct LitePullConsumerBuilder {
    group: String,
    client: ClientOptions,
    options: LitePullOptions,
    subscriptions: Vec<(String, String)>,
}

impl LitePullConsumerBuilder {
    crate::instance::client_builder_methods!();

    pub fn options(mut self, options: LitePullOptions) -> Self {
        self.options = options;
        self
    }

    /// Subscribes to `topic` with a tag expression; queues are then shared out by rebalance.
    /// Without any subscription the consumer works on the queues given to
    /// [`LitePullConsumer::assign`].
    pub fn subscribe(mut self, topic: impl Into<String>, expression: impl Into<String>) -> Self {
        self.subscriptions.push((topic.into(), expression.into()));
        self
    }

    pub fn consume_from(mut self, from: ConsumeFromWhere) -> Self {
        self.options.start.from = from;
        self
    }

    pub fn auto_commit(mut self, on: bool) -> Self {
        self.options.auto_commit = on;
        self
    }

    pub fn pull_batch_size(mut self, n: i32) -> Self {
        self.options.pull_batch_size = n.max(1);
        self
    }

    pub fn message_model(mut self, model: MessageModel) -> Self {
        self.options.message_model = model;
        self
    }

    pub async fn start(self) -> Result<LitePullConsumer> {
        GroupName::new(self.group.as_str()).map_err(|e| ClientError::Invalid(e.to_string()))?;
        if self.options.message_model == MessageModel::Broadcasting {
            return Err(ClientError::Invalid(
                "the lite pull consumer keeps offsets at the broker; use clustering".into(),
            ));
        }
        let version = now_ms();
        let mut subscriptions = Vec::new();
        for (topic, expression) in &self.subscriptions {
            ferrocket_common::TopicName::new(topic.as_str())
                .map_err(|e| ClientError::Invalid(e.to_string()))?;
            subscriptions.push(SubscriptionData::tag(topic, expression, version));
        }
        let subscribe_mode = !subscriptions.is_empty();
        let instance = ClientInstance::acquire(&self.client)?;
        let (stop, _) = watch::channel(false);
        let inner = Arc::new_cyclic(|me| LiteInner {
            me: me.clone(),
            offsets: OffsetStore::remote(instance.clone(), &self.group),
            instance: instance.clone(),
            group: self.group.clone(),
            options: self.options,
            subscriptions: Mutex::new(subscriptions),
            subscribe_mode,
            queues: Mutex::default(),
            buffer: Mutex::default(),
            buffered: AtomicUsize::new(0),
            arrived: Notify::new(),
            last_commit: Mutex::new(Instant::now()),
            rebalance_lock: tokio::sync::Mutex::new(()),
            closed: AtomicBool::new(false),
            stop,
        });
        if let Err(e) = instance.register_consumer(&self.group, inner.clone()) {
            instance.release().await;
            return Err(e);
        }
        let topics: Vec<String> = inner.topics();
        for topic in &topics {
            if let Err(e) = instance.update_route(topic).await {
                tracing::warn!("route of {topic} not available yet: {e}");
            }
        }
        instance.heartbeat().await;
        if subscribe_mode {
            inner.do_rebalance().await;
        }
        Ok(LitePullConsumer { inner })
    }
}

/// A started lite pull consumer.
#[derive(Clone)]
pub struct LitePullConsumer {
    inner: Arc<LiteInner>,
}

impl std::fmt::Debug for LitePullConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LitePullConsumer")
            .field("group", &self.inner.group)
            .finish()
    }
}

impl LitePullConsumer {
    pub fn builder(group: impl Into<String>) -> LitePullConsumerBuilder {
        LitePullConsumerBuilder {
            group: group.into(),
            client: ClientOptions::default(),
            options: LitePullOptions::default(),
            subscriptions: Vec::new(),
        }
    }

    /// The readable queues of `topic` (`fetchMessageQueues`).
    pub async fn fetch_message_queues(&self, topic: &str) -> Result<Vec<MessageQueue>> {
        match self.inner.instance.update_route(topic).await? {
            Some(r) => Ok(r.subscribe.clone()),
            None => Err(ClientError::NoRoute {
                topic: topic.to_owned(),
                reason: "no name server knows it".into(),
            }),
        }
    }

    /// Works on exactly these queues from now on (assign mode only).
    pub async fn assign(&self, queues: Vec<MessageQueue>) -> Result<()> {
        if self.inner.subscribe_mode {
            return Err(ClientError::State(
                "subscribe and assign cannot be mixed in one consumer".into(),
            ));
        }
        {
            let mut subs = self.inner.subscriptions.lock().expect("subs lock");
            for q in &queues {
                if !subs.iter().any(|s| s.topic == q.topic) {
                    subs.push(SubscriptionData::tag(&q.topic, "*", now_ms()));
                }
            }
        }
        for q in &queues {
            self.inner.instance.route(&q.topic).await?;
        }
        self.inner.instance.heartbeat().await;
        let _guard = self.inner.rebalance_lock.lock().await;
        self.inner.set_queues(None, queues).await;
        Ok(())
    }

    /// The queues this consumer currently works on, sorted.
    pub fn assignment(&self) -> Vec<MessageQueue> {
        let mut v: Vec<MessageQueue> = self
            .inner
            .queues
            .lock()
            .expect("queues lock")
            .keys()
            .cloned()
            .collect();
        v.sort();
        v
    }

    /// Continues `queue` from `offset`: buffered messages of it are discarded.
    pub async fn seek(&self, queue: &MessageQueue, offset: i64) -> Result<()> {
        let lq = self.inner.queue(queue)?;
        let min = 0;
        let max = broker_api::max_offset(&self.inner.instance, queue).await?;
        if offset < min || offset > max {
            return Err(ClientError::Invalid(format!(
                "seek offset {offset} is outside [{min}, {max}] of {queue:?}"
            )));
        }
        lq.seek(offset);
        Ok(())
    }

    pub async fn seek_to_begin(&self, queue: &MessageQueue) -> Result<()> {
        let lq = self.inner.queue(queue)?;
        lq.seek(0);
        Ok(())
    }

    pub async fn seek_to_end(&self, queue: &MessageQueue) -> Result<()> {
        let lq = self.inner.queue(queue)?;
        let max = broker_api::max_offset(&self.inner.instance, queue).await?;
        lq.seek(max);
        Ok(())
    }

    /// The next buffered batch of one queue, waiting up to `timeout`; empty when none came.
    pub async fn poll(&self, timeout: Duration) -> Vec<MessageExt> {
        let inner = &self.inner;
        if inner.options.auto_commit {
            let due = inner.last_commit.lock().expect("commit lock").elapsed()
                >= inner.options.auto_commit_interval;
            if due {
                inner.commit_consumed();
            }
        }
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(batch) = inner.next_batch() {
                return batch;
            }
            tokio::select! {
                _ = inner.arrived.notified() => {}
                _ = tokio::time::sleep_until(deadline) => return inner.next_batch().unwrap_or_default(),
            }
        }
    }

    /// Commits the offsets reached by `poll` to the broker and waits for the answers.
    pub async fn commit_sync(&self) {
        self.inner.commit_consumed();
        let mqs = self.assignment();
        self.inner.offsets.persist(&mqs, true).await;
    }

    /// The group's committed offset of `queue` at the broker (`committed`).
    pub async fn committed(&self, queue: &MessageQueue) -> Result<Option<i64>> {
        broker_api::query_consumer_offset(&self.inner.instance, &self.inner.group, queue).await
    }

    /// Commits (when auto-committing), stops pulling and leaves the group.
    pub async fn shutdown(&self) {
        let inner = &self.inner;
        if inner.closed.swap(true, Ordering::SeqCst) {
            return;
        }
        let _ = inner.stop.send(true);
        if inner.options.auto_commit {
            inner.commit_consumed();
        }
        let mqs = self.assignment();
        inner.offsets.persist(&mqs, true).await;
        for lq in inner.queues.lock().expect("queues lock").values() {
            lq.dropped.store(true, Ordering::Release);
        }
        inner.instance.unregister(None, Some(&inner.group)).await;
        inner.instance.release().await;
    }
}

#[derive(Debug)]
struct QueueState {
    next_pull: i64,
    /// Next offset to commit: one past the last message `poll` returned.
    consumed: i64,
    /// Bumped by every seek so pulls in flight before it are discarded.
    generation: u64,
    buffered: usize,
}

#[derive(Debug)]
struct LiteQueue {
    queue: MessageQueue,
    state: Mutex<QueueState>,
    dropped: AtomicBool,
    /// Interrupts a held pull after a seek.
    seeked: Notify,
}

impl LiteQueue {
    fn seek(&self, offset: i64) {
        let mut s = self.state.lock().expect("queue lock");
        s.next_pull = offset;
        s.consumed = offset;
        s.generation += 1;
        drop(s);
        self.seeked.notify_one();
    }
}

struct Batch {
    queue: Arc<LiteQueue>,
    generation: u64,
    messages: Vec<MessageExt>,
}

struct LiteInner {
    me: Weak<LiteInner>,
    instance: Arc<ClientInstance>,
    group: String,
    options: LitePullOptions,
    subscriptions: Mutex<Vec<SubscriptionData>>,
    subscribe_mode: bool,
    queues: Mutex<HashMap<MessageQueue, Arc<LiteQueue>>>,
    buffer: Mutex<VecDeque<Batch>>,
    buffered: AtomicUsize,
    arrived: Notify,
    last_commit: Mutex<Instant>,
    offsets: OffsetStore,
    rebalance_lock: tokio::sync::Mutex<()>,
    closed: AtomicBool,
    stop: watch::Sender<bool>,
}

impl LiteInner {
    fn queue(&self, q: &MessageQueue) -> Result<Arc<LiteQueue>> {
        self.queues
            .lock()
            .expect("queues lock")
            .get(q)
            .cloned()
            .ok_or_else(|| ClientError::State(format!("{q:?} is not assigned to this consumer")))
    }

    fn next_batch(&self) -> Option<Vec<MessageExt>> {
        let mut buffer = self.buffer.lock().expect("buffer lock");
        while let Some(batch) = buffer.pop_front() {
            let n = batch.messages.len();
            self.buffered.fetch_sub(n, Ordering::AcqRel);
            let mut s = batch.queue.state.lock().expect("queue lock");
            s.buffered = s.buffered.saturating_sub(n);
            if batch.queue.dropped.load(Ordering::Acquire) || s.generation != batch.generation {
                continue;
            }
            if let Some(last) = batch.messages.last() {
                s.consumed = last.queue_offset + 1;
            }
            return Some(batch.messages);
        }
        None
    }

    /// Moves the offsets `poll` reached into the offset store (sent by the periodic persist).
    fn commit_consumed(&self) {
        for lq in self.queues.lock().expect("queues lock").values() {
            let consumed = lq.state.lock().expect("queue lock").consumed;
            if consumed >= 0 {
                self.offsets.update(&lq.queue, consumed, false);
            }
        }
        *self.last_commit.lock().expect("commit lock") = Instant::now();
    }

    async fn do_rebalance(&self) {
        if !self.subscribe_mode {
            return;
        }
        let _guard = self.rebalance_lock.lock().await;
        if self.closed.load(Ordering::Relaxed) {
            return;
        }
        let topics: Vec<String> = self.topics();
        for topic in topics {
            let model = self.options.message_model;
            let Some(assigned) = broker_api::assigned_queues(
                &self.instance,
                &self.group,
                &topic,
                model,
                self.options.allocate,
            )
            .await
            else {
                continue;
            };
            self.set_queues(Some(&topic), assigned).await;
        }
    }

    /// Makes the queues of `topic` (all topics when `None`) exactly `wanted`.
    async fn set_queues(&self, topic: Option<&str>, wanted: Vec<MessageQueue>) {
        let removed: Vec<Arc<LiteQueue>> = {
            let mut table = self.queues.lock().expect("queues lock");
            let gone: Vec<MessageQueue> = table
                .keys()
                .filter(|q| topic.is_none_or(|t| q.topic == t) && !wanted.contains(q))
                .cloned()
                .collect();
            gone.iter().filter_map(|q| table.remove(q)).collect()
        };
        for lq in removed {
            lq.dropped.store(true, Ordering::Release);
            lq.seeked.notify_one();
            let consumed = lq.state.lock().expect("queue lock").consumed;
            if self.options.auto_commit && consumed >= 0 {
                self.offsets.update(&lq.queue, consumed, false);
            }
            self.offsets
                .persist(std::slice::from_ref(&lq.queue), true)
                .await;
            self.offsets.remove(&lq.queue);
        }
        for q in wanted {
            if self.queues.lock().expect("queues lock").contains_key(&q) {
                continue;
            }
            let Some((offset, _)) = self.offsets.resume_offset(&q, &self.options.start).await
            else {
                continue;
            };
            let lq = Arc::new(LiteQueue {
                queue: q.clone(),
                state: Mutex::new(QueueState {
                    next_pull: offset,
                    consumed: offset,
                    generation: 0,
                    buffered: 0,
                }),
                dropped: AtomicBool::new(false),
                seeked: Notify::new(),
            });
            self.queues
                .lock()
                .expect("queues lock")
                .insert(q, lq.clone());
            if let Some(me) = self.me.upgrade() {
                tokio::spawn(me.pull_loop(lq));
            }
        }
    }

    async fn pull_loop(self: Arc<Self>, lq: Arc<LiteQueue>) {
        let mut stop = self.stop.subscribe();
        let sub = {
            let subs = self.subscriptions.lock().expect("subs lock");
            subs.iter().find(|s| s.topic == lq.queue.topic).cloned()
        };
        let Some(sub) = sub else { return };
        let o = &self.options;
        loop {
            if lq.dropped.load(Ordering::Acquire) || self.closed.load(Ordering::Relaxed) {
                return;
            }
            let (offset, generation, queue_buffered) = {
                let s = lq.state.lock().expect("queue lock");
                (s.next_pull, s.generation, s.buffered)
            };
            if self.buffered.load(Ordering::Acquire) > o.pull_threshold_for_all
                || queue_buffered > o.pull_threshold_for_queue
            {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
            let args = PullArgs {
                group: &self.group,
                queue: &lq.queue,
                subscription: &sub,
                offset,
                max_nums: o.pull_batch_size,
                commit_offset: None,
                suspend: Some(o.broker_suspend_max),
                post_subscription: true,
                lite: true,
                timeout: o.pull_timeout,
                broker_id: 0,
            };
            let result = tokio::select! {
                r = pull::pull(&self.instance, args) => r,
                _ = lq.seeked.notified() => continue,
                _ = crate::instance::until_stopped(&mut stop) => return,
            };
            let result = match result {
                Ok(r) => r,
                Err(e) => {
                    tracing::debug!("pull of {:?} failed: {e}", lq.queue);
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                        _ = crate::instance::until_stopped(&mut stop) => return,
                    }
                    continue;
                }
            };
            let mut s = lq.state.lock().expect("queue lock");
            if s.generation != generation {
                continue;
            }
            s.next_pull = result.next_begin_offset;
            if result.status == PullStatus::OffsetIllegal {
                tracing::warn!(
                    "offset {offset} of {:?} is illegal; moving to {}",
                    lq.queue,
                    result.next_begin_offset
                );
            }
            if result.status == PullStatus::Found && !result.messages.is_empty() {
                let n = result.messages.len();
                s.buffered += n;
                drop(s);
                self.buffered.fetch_add(n, Ordering::AcqRel);
                self.buffer.lock().expect("buffer lock").push_back(Batch {
                    queue: lq.clone(),
                    generation,
                    messages: result.messages,
                });
                self.arrived.notify_one();
            }
        }
    }
}

impl ConsumerHandle for LiteInner {
    fn consumer_data(&self) -> ConsumerData {
        ConsumerData {
            consume_from_where: self.options.start.from,
            consume_type: ConsumeType::ConsumeActively,
            group_name: self.group.clone(),
            message_model: self.options.message_model,
            subscription_data_set: self.subscriptions.lock().expect("subs lock").clone(),
            unit_mode: false,
        }
    }

    fn topics(&self) -> Vec<String> {
        self.subscriptions
            .lock()
            .expect("subs lock")
            .iter()
            .map(|s| s.topic.clone())
            .collect()
    }

    fn rebalance(&self) -> BoxFuture<'_, ()> {
        Box::pin(self.do_rebalance())
    }

    fn persist_offsets(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let mqs: Vec<MessageQueue> = self
                .queues
                .lock()
                .expect("queues lock")
                .keys()
                .cloned()
                .collect();
            self.offsets.persist(&mqs, false).await;
        })
    }

    fn reset_offsets(
        &self,
        topic: String,
        table: BTreeMap<MessageQueue, i64>,
    ) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            for (q, offset) in table.iter().filter(|(q, _)| q.topic == topic) {
                if let Ok(lq) = self.queue(q) {
                    lq.seek(*offset);
                }
                self.offsets.update(q, *offset, false);
            }
            let mqs: Vec<MessageQueue> = table.keys().cloned().collect();
            self.offsets.persist(&mqs, true).await;
        })
    }

    fn running_info(&self) -> ConsumerRunningInfo {
        let mut properties = BTreeMap::new();
        properties.insert("PROP_CONSUME_TYPE".into(), "CONSUME_ACTIVELY".into());
        properties.insert("PROP_CLIENT_VERSION".into(), "V4_9_8".into());
        ConsumerRunningInfo {
            jstack: None,
            mq_table: BTreeMap::new(),
            properties,
            status_table: BTreeMap::new(),
            subscription_set: self.subscriptions.lock().expect("subs lock").clone(),
        }
    }

    fn consume_directly(
        &self,
        _message: MessageExt,
    ) -> BoxFuture<'_, ConsumeMessageDirectlyResult> {
        Box::pin(async move {
            ConsumeMessageDirectlyResult {
                auto_commit: true,
                consume_result: Some("CR_RETURN_NULL".into()),
                order: false,
                remark: Some("a lite pull consumer has no listener to consume with".into()),
                spent_time_mills: 0,
            }
        })
    }
}

impl Drop for LiteInner {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}
