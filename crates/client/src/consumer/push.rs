//! The push consumer (`DefaultMQPushConsumer`): rebalance assigns queues, a long-polling
//! pull loop per queue fills a [`ProcessQueue`], and a listener consumes — concurrently, or
//! orderly per queue under a broker lock.

use super::allocate::AllocateStrategy;
use super::broker_api;
use super::offset_store::OffsetStore;
use super::process_queue::ProcessQueue;
use super::pull::{self, PullArgs, PullStatus};
use super::{now_ms, ConsumeFromWhere, MessageModel, StartPosition};
use crate::error::{ClientError, Result};
use crate::instance::{BoxFuture, ClientInstance, ClientOptions, ConsumerHandle};
use crate::message::MessageExt;
use crate::producer::Producer;
use ferrocket_common::names::RETRY_GROUP_TOPIC_PREFIX;
use ferrocket_common::properties::keys;
use ferrocket_common::GroupName;
use ferrocket_protocol::body::{
    ConsumeMessageDirectlyResult, ConsumeType, ConsumerData, ConsumerRunningInfo, ExpressionType,
    MessageQueue, SubscriptionData,
};
use ferrocket_protocol::header::ConsumerSendMsgBackRequestHeader;
use ferrocket_protocol::{RemotingCommand, RequestCode};
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{watch, Semaphore};

/// What a concurrent listener says about a batch (`ConsumeConcurrentlyStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsumeConcurrentlyStatus {
    ConsumeSuccess,
    /// Deliver the batch again later (through the group's retry topic).
    ReconsumeLater,
}

/// What an orderly listener says about a batch (`ConsumeOrderlyStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsumeOrderlyStatus {
    Success,
    /// Stop this queue for a moment and deliver the same messages again.
    SuspendCurrentQueueAMoment,
}

type ConcurrentFn =
    dyn Fn(Vec<MessageExt>) -> BoxFuture<'static, ConsumeConcurrentlyStatus> + Send + Sync;
type OrderlyFn = dyn Fn(Vec<MessageExt>) -> BoxFuture<'static, ConsumeOrderlyStatus> + Send + Sync;

#[derive(Clone)]
enum Listener {
    Concurrently(Arc<ConcurrentFn>),
    Orderly(Arc<OrderlyFn>),
}

/// Push consumer settings, with the Java defaults (`behaviour.md` §7, §9–§11).
#[derive(Debug, Clone)]
pub struct PushOptions {
    pub message_model: MessageModel,
    pub start: StartPosition,
    pub allocate: AllocateStrategy,
    /// Messages asked for per pull (`pullBatchSize`, 32).
    pub pull_batch_size: i32,
    /// Messages per listener call (`consumeMessageBatchMaxSize`, 1).
    pub consume_batch_max_size: usize,
    /// Listener calls running at once (`consumeThreadMax`, 20).
    pub consume_threads: usize,
    /// Cached messages per queue before pulling pauses (`pullThresholdForQueue`, 1000).
    pub pull_threshold_for_queue: usize,
    /// Cached bytes per queue before pulling pauses (`pullThresholdSizeForQueue`, 100 MiB).
    pub pull_threshold_size_for_queue: usize,
    /// Offset span of a queue's cache before pulling pauses (`consumeConcurrentlyMaxSpan`).
    pub consume_concurrently_max_span: i64,
    /// Deliveries before a message goes to the dead-letter queue (16; orderly: unlimited).
    pub max_reconsume_times: Option<i32>,
    /// Pause of an orderly queue after SUSPEND (`suspendCurrentQueueTimeMillis`, 1 s).
    pub suspend_current_queue_time: Duration,
    /// How long the broker may hold a pull (`brokerSuspendMaxTimeMillis`, 15 s).
    pub broker_suspend_max: Duration,
    /// Request timeout of a held pull (`consumerTimeoutMillisWhenSuspend`, 30 s).
    pub pull_timeout: Duration,
    /// Root of broadcasting offset files (`rocketmq.client.localOffsetStoreDir`).
    pub local_offset_dir: PathBuf,
}

impl Default for PushOptions {
    fn default() -> Self {
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_default();
        PushOptions {
            message_model: MessageModel::Clustering,
            start: StartPosition::default(),
            allocate: AllocateStrategy::Averagely,
            pull_batch_size: 32,
            consume_batch_max_size: 1,
            consume_threads: 20,
            pull_threshold_for_queue: 1000,
            pull_threshold_size_for_queue: 100 * 1024 * 1024,
            consume_concurrently_max_span: 2000,
            max_reconsume_times: None,
            suspend_current_queue_time: Duration::from_secs(1),
            broker_suspend_max: Duration::from_secs(15),
            pull_timeout: Duration::from_secs(30),
            local_offset_dir: home.join(".rocketmq_offsets"),
        }
    }
}

/// Builds a [`PushConsumer`].
#[derive(Debug, Clone)]
pub struct PushConsumerBuilder {
    group: String,
    client: ClientOptions,
    options: PushOptions,
    subscriptions: Vec<(String, String, ExpressionType)>,
}

impl PushConsumerBuilder {
    crate::instance::client_builder_methods!();

    pub fn options(mut self, options: PushOptions) -> Self {
        self.options = options;
        self
    }

    /// Subscribes to `topic` with a tag expression: `*`, `TagA`, `TagA || TagB`.
    pub fn subscribe(mut self, topic: impl Into<String>, expression: impl Into<String>) -> Self {
        self.subscriptions
            .push((topic.into(), expression.into(), ExpressionType::Tag));
        self
    }

    /// Subscribes to `topic` with an SQL92 expression over message properties.
    pub fn subscribe_sql(mut self, topic: impl Into<String>, sql: impl Into<String>) -> Self {
        self.subscriptions
            .push((topic.into(), sql.into(), ExpressionType::Sql92));
        self
    }

    pub fn message_model(mut self, model: MessageModel) -> Self {
        self.options.message_model = model;
        self
    }

    pub fn consume_from(mut self, from: ConsumeFromWhere) -> Self {
        self.options.start.from = from;
        self
    }

    /// The start for [`ConsumeFromWhere::ConsumeFromTimestamp`], in Unix milliseconds.
    pub fn consume_timestamp(mut self, ms: i64) -> Self {
        self.options.start.timestamp_ms = ms;
        self
    }

    pub fn allocate_strategy(mut self, strategy: AllocateStrategy) -> Self {
        self.options.allocate = strategy;
        self
    }

    pub fn consume_threads(mut self, n: usize) -> Self {
        self.options.consume_threads = n.max(1);
        self
    }

    pub fn consume_batch_max_size(mut self, n: usize) -> Self {
        self.options.consume_batch_max_size = n.max(1);
        self
    }

    pub fn pull_batch_size(mut self, n: i32) -> Self {
        self.options.pull_batch_size = n.max(1);
        self
    }

    pub fn max_reconsume_times(mut self, n: i32) -> Self {
        self.options.max_reconsume_times = Some(n);
        self
    }

    /// Starts with a listener called for batches of messages from any queue at once.
    pub async fn start_concurrently<F, Fut>(self, listener: F) -> Result<PushConsumer>
    where
        F: Fn(Vec<MessageExt>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ConsumeConcurrentlyStatus> + Send + 'static,
    {
        let f: Arc<ConcurrentFn> = Arc::new(move |m| Box::pin(listener(m)));
        self.start(Listener::Concurrently(f)).await
    }

    /// Starts with a listener called for one queue at a time, in queue order; in clustering
    /// mode a queue is consumed only while this client holds its broker lock.
    pub async fn start_orderly<F, Fut>(self, listener: F) -> Result<PushConsumer>
    where
        F: Fn(Vec<MessageExt>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ConsumeOrderlyStatus> + Send + 'static,
    {
        let f: Arc<OrderlyFn> = Arc::new(move |m| Box::pin(listener(m)));
        self.start(Listener::Orderly(f)).await
    }

    async fn start(self, listener: Listener) -> Result<PushConsumer> {
        GroupName::new(self.group.as_str()).map_err(|e| ClientError::Invalid(e.to_string()))?;
        if self.subscriptions.is_empty() {
            return Err(ClientError::Invalid(
                "subscribe to at least one topic before starting".into(),
            ));
        }
        let version = now_ms();
        let mut subscriptions = Vec::new();
        for (topic, expression, kind) in &self.subscriptions {
            ferrocket_common::TopicName::new(topic.as_str())
                .map_err(|e| ClientError::Invalid(e.to_string()))?;
            subscriptions.push(match kind {
                ExpressionType::Tag => SubscriptionData::tag(topic, expression, version),
                ExpressionType::Sql92 => SubscriptionData {
                    expression_type: ExpressionType::Sql92.as_str().to_owned(),
                    sub_string: expression.clone(),
                    sub_version: version,
                    topic: topic.clone(),
                    ..Default::default()
                },
            });
        }
        let clustering = self.options.message_model == MessageModel::Clustering;
        if clustering {
            let retry = format!("{RETRY_GROUP_TOPIC_PREFIX}{}", self.group);
            subscriptions.push(SubscriptionData::tag(&retry, "*", version));
        }
        let instance = ClientInstance::acquire(&self.client)?;
        let offsets = if clustering {
            OffsetStore::remote(instance.clone(), &self.group)
        } else {
            match OffsetStore::local(
                instance.clone(),
                &self.group,
                self.options.local_offset_dir.clone(),
            ) {
                Ok(s) => s,
                Err(e) => {
                    instance.release().await;
                    return Err(e);
                }
            }
        };
        let orderly = matches!(listener, Listener::Orderly(_));
        let max_reconsume =
            self.options
                .max_reconsume_times
                .unwrap_or(if orderly { i32::MAX } else { 16 });
        let (stop, _) = watch::channel(false);
        let inner = Arc::new_cyclic(|me| PushInner {
            me: me.clone(),
            retry_sender: Producer::internal(instance.clone()),
            instance: instance.clone(),
            group: self.group.clone(),
            consume_permits: Arc::new(Semaphore::new(self.options.consume_threads)),
            options: self.options,
            subscriptions,
            listener,
            offsets,
            queues: Mutex::default(),
            rebalance_lock: tokio::sync::Mutex::new(()),
            closed: AtomicBool::new(false),
            stop,
            started_ms: now_ms(),
            max_reconsume,
        });
        if let Err(e) = instance.register_consumer(&self.group, inner.clone()) {
            instance.release().await;
            return Err(e);
        }
        for sub in &inner.subscriptions {
            if let Err(e) = instance.update_route(&sub.topic).await {
                tracing::warn!("route of {} not available yet: {e}", sub.topic);
            }
        }
        instance.heartbeat().await;
        if orderly && clustering {
            tokio::spawn(relock_loop(Arc::downgrade(&inner)));
        }
        inner.do_rebalance().await;
        Ok(PushConsumer { inner })
    }
}

/// A started push consumer.
#[derive(Clone)]
pub struct PushConsumer {
    inner: Arc<PushInner>,
}

impl std::fmt::Debug for PushConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushConsumer")
            .field("group", &self.inner.group)
            .field("client_id", &self.inner.instance.client_id())
            .finish()
    }
}

impl PushConsumer {
    pub fn builder(group: impl Into<String>) -> PushConsumerBuilder {
        PushConsumerBuilder {
            group: group.into(),
            client: ClientOptions::default(),
            options: PushOptions::default(),
            subscriptions: Vec::new(),
        }
    }

    pub fn group(&self) -> &str {
        &self.inner.group
    }

    pub fn client_id(&self) -> &str {
        self.inner.instance.client_id()
    }

    /// The queues this consumer currently pulls, sorted.
    pub fn assigned_queues(&self) -> Vec<MessageQueue> {
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

    /// Rebalances now instead of waiting for the next period or notification.
    pub async fn rebalance(&self) {
        self.inner.do_rebalance().await;
    }

    /// Stops pulling, commits the offsets reached, unlocks orderly queues and leaves the
    /// group.
    pub async fn shutdown(&self) {
        let inner = &self.inner;
        if inner.closed.swap(true, Ordering::SeqCst) {
            return;
        }
        let _ = inner.stop.send(true);
        let _guard = inner.rebalance_lock.lock().await;
        let queues: Vec<Arc<ProcessQueue>> = inner
            .queues
            .lock()
            .expect("queues lock")
            .drain()
            .map(|(_, pq)| pq)
            .collect();
        for pq in &queues {
            pq.drop_queue();
        }
        let mqs: Vec<MessageQueue> = queues.iter().map(|pq| pq.queue.clone()).collect();
        inner.offsets.persist(&mqs, true).await;
        if inner.is_orderly() && inner.is_clustering() {
            for (broker, qs) in by_broker(mqs) {
                let _ = broker_api::unlock_batch(&inner.instance, &inner.group, &broker, qs).await;
            }
        }
        inner.instance.unregister(None, Some(&inner.group)).await;
        inner.instance.release().await;
    }
}

struct PushInner {
    /// This consumer itself, for tasks spawned from `&self` callbacks.
    me: std::sync::Weak<PushInner>,
    instance: Arc<ClientInstance>,
    group: String,
    options: PushOptions,
    subscriptions: Vec<SubscriptionData>,
    listener: Listener,
    offsets: OffsetStore,
    queues: Mutex<HashMap<MessageQueue, Arc<ProcessQueue>>>,
    consume_permits: Arc<Semaphore>,
    rebalance_lock: tokio::sync::Mutex<()>,
    closed: AtomicBool,
    stop: watch::Sender<bool>,
    started_ms: i64,
    max_reconsume: i32,
    retry_sender: Producer,
}

fn by_broker(queues: Vec<MessageQueue>) -> BTreeMap<String, Vec<MessageQueue>> {
    let mut map: BTreeMap<String, Vec<MessageQueue>> = BTreeMap::new();
    for q in queues {
        map.entry(q.broker_name.clone()).or_default().push(q);
    }
    map
}

impl PushInner {
    fn is_orderly(&self) -> bool {
        matches!(self.listener, Listener::Orderly(_))
    }

    fn is_clustering(&self) -> bool {
        self.options.message_model == MessageModel::Clustering
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Relaxed)
    }

    /// Sleeps `d`; false when the consumer stopped meanwhile.
    async fn sleep(&self, d: Duration) -> bool {
        let mut stop = self.stop.subscribe();
        tokio::select! {
            _ = tokio::time::sleep(d) => !self.is_closed(),
            _ = crate::instance::until_stopped(&mut stop) => false,
        }
    }

    fn subscription(&self, topic: &str) -> Option<&SubscriptionData> {
        self.subscriptions.iter().find(|s| s.topic == topic)
    }

    // ---- rebalance ---------------------------------------------------------------------

    async fn do_rebalance(self: &Arc<Self>) {
        let _guard = self.rebalance_lock.lock().await;
        if self.is_closed() {
            return;
        }
        for sub in &self.subscriptions {
            let topic = &sub.topic;
            let model = self.options.message_model;
            let strategy = self.options.allocate;
            let Some(allocated) =
                broker_api::assigned_queues(&self.instance, &self.group, topic, model, strategy)
                    .await
            else {
                continue;
            };
            self.update_queues(topic, allocated).await;
        }
    }

    async fn update_queues(self: &Arc<Self>, topic: &str, allocated: Vec<MessageQueue>) {
        let removed: Vec<Arc<ProcessQueue>> = {
            let mut table = self.queues.lock().expect("queues lock");
            let gone: Vec<MessageQueue> = table
                .keys()
                .filter(|q| q.topic == topic && !allocated.contains(q))
                .cloned()
                .collect();
            gone.iter().filter_map(|q| table.remove(q)).collect()
        };
        for pq in removed {
            pq.drop_queue();
            self.offsets
                .persist(std::slice::from_ref(&pq.queue), true)
                .await;
            self.offsets.remove(&pq.queue);
            if self.is_orderly() && self.is_clustering() {
                self.unlock_when_idle(pq);
            }
        }
        let orderly_clustering = self.is_orderly() && self.is_clustering();
        for q in allocated {
            if self.queues.lock().expect("queues lock").contains_key(&q) {
                continue;
            }
            if orderly_clustering {
                let locked = broker_api::lock_batch(
                    &self.instance,
                    &self.group,
                    &q.broker_name,
                    vec![q.clone()],
                )
                .await
                .map(|l| l.contains(&q))
                .unwrap_or(false);
                if !locked {
                    tracing::debug!("{q:?} is locked by another client; not taking it yet");
                    continue;
                }
            }
            let Some((offset, committed)) =
                self.offsets.resume_offset(&q, &self.options.start).await
            else {
                continue;
            };
            if !committed {
                self.offsets.update(&q, offset, false);
            }
            tracing::info!(
                "{} takes {q:?} from offset {offset}",
                self.instance.client_id()
            );
            let pq = Arc::new(ProcessQueue::new(q.clone()));
            pq.set_locked(orderly_clustering, now_ms());
            self.queues
                .lock()
                .expect("queues lock")
                .insert(q, pq.clone());
            tokio::spawn(self.clone().pull_loop(pq.clone(), offset));
            if self.is_orderly() {
                tokio::spawn(self.clone().orderly_loop(pq));
            }
        }
    }

    /// Unlocks a dropped orderly queue once no listener call on it is running.
    fn unlock_when_idle(self: &Arc<Self>, pq: Arc<ProcessQueue>) {
        let this = self.clone();
        tokio::spawn(async move {
            // Java delays the unlock 20 s when messages are still being consumed.
            let _busy = match pq.consume_lock.try_lock() {
                Ok(g) => g,
                Err(_) => {
                    tokio::time::sleep(Duration::from_secs(20)).await;
                    pq.consume_lock.lock().await
                }
            };
            let q = pq.queue.clone();
            let _ = broker_api::unlock_batch(
                &this.instance,
                &this.group,
                &q.broker_name.clone(),
                vec![q],
            )
            .await;
        });
    }

    // ---- pulling -----------------------------------------------------------------------

    async fn pull_loop(self: Arc<Self>, pq: Arc<ProcessQueue>, mut next_offset: i64) {
        let Some(sub) = self.subscription(&pq.queue.topic).cloned() else {
            return;
        };
        let o = &self.options;
        let flow_control = Duration::from_millis(50);
        let mut broker_id = 0;
        loop {
            if pq.is_dropped() || self.is_closed() {
                return;
            }
            if pq.count() > o.pull_threshold_for_queue
                || pq.bytes() > o.pull_threshold_size_for_queue
            {
                self.sleep(flow_control).await;
                continue;
            }
            if !self.is_orderly() && pq.span() > o.consume_concurrently_max_span {
                self.sleep(flow_control).await;
                continue;
            }
            if self.is_orderly() && self.is_clustering() && !pq.is_locked() {
                self.sleep(Duration::from_secs(3)).await;
                continue;
            }
            let commit_offset = if self.is_clustering() {
                self.offsets.read(&pq.queue)
            } else {
                None
            };
            pq.last_pull_ms.store(now_ms(), Ordering::Relaxed);
            let args = PullArgs {
                group: &self.group,
                queue: &pq.queue,
                subscription: &sub,
                offset: next_offset,
                max_nums: o.pull_batch_size,
                commit_offset,
                suspend: Some(o.broker_suspend_max),
                post_subscription: false,
                lite: false,
                timeout: o.pull_timeout,
                broker_id,
            };
            let mut stop = self.stop.subscribe();
            let result = tokio::select! {
                r = pull::pull(&self.instance, args) => r,
                _ = crate::instance::until_stopped(&mut stop) => return,
            };
            let result = match result {
                Ok(r) => r,
                Err(e) => {
                    tracing::debug!("pull of {:?} failed: {e}", pq.queue);
                    self.sleep(Duration::from_secs(3)).await;
                    continue;
                }
            };
            broker_id = result.suggest_broker_id;
            match result.status {
                PullStatus::Found => {
                    next_offset = result.next_begin_offset;
                    let mut messages = result.messages;
                    if messages.is_empty() {
                        continue;
                    }
                    for m in &mut messages {
                        m.restore_retry_topic(&self.group);
                    }
                    pq.put(&messages);
                    if !self.is_orderly() {
                        self.dispatch_concurrently(&pq, messages);
                    }
                }
                PullStatus::NoNewMsg | PullStatus::NoMatchedMsg => {
                    next_offset = result.next_begin_offset;
                    if pq.is_empty() {
                        self.offsets.update(&pq.queue, next_offset, true);
                    }
                }
                PullStatus::OffsetIllegal => {
                    tracing::warn!(
                        "offset {next_offset} of {:?} is illegal; restarting at {}",
                        pq.queue,
                        result.next_begin_offset
                    );
                    pq.drop_queue();
                    let this = self.clone();
                    let next = result.next_begin_offset;
                    tokio::spawn(async move {
                        if !this.sleep(Duration::from_secs(10)).await {
                            return;
                        }
                        this.offsets.update(&pq.queue, next, false);
                        this.offsets
                            .persist(std::slice::from_ref(&pq.queue), true)
                            .await;
                        let mut table = this.queues.lock().expect("queues lock");
                        if table.get(&pq.queue).is_some_and(|p| Arc::ptr_eq(p, &pq)) {
                            table.remove(&pq.queue);
                        }
                    });
                    return;
                }
            }
        }
    }

    // ---- concurrent consumption ------------------------------------------------------------

    fn dispatch_concurrently(self: &Arc<Self>, pq: &Arc<ProcessQueue>, messages: Vec<MessageExt>) {
        let batch = self.options.consume_batch_max_size;
        let mut messages = messages.into_iter().peekable();
        while messages.peek().is_some() {
            let chunk: Vec<MessageExt> = messages.by_ref().take(batch).collect();
            tokio::spawn(self.clone().consume_concurrently(pq.clone(), chunk));
        }
    }

    /// Boxed because a batch that could not be sent back schedules itself again.
    fn consume_concurrently(
        self: Arc<Self>,
        pq: Arc<ProcessQueue>,
        messages: Vec<MessageExt>,
    ) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            let Listener::Concurrently(listener) = self.listener.clone() else {
                return;
            };
            let Ok(_permit) = self.consume_permits.clone().acquire_owned().await else {
                return;
            };
            if pq.is_dropped() {
                return;
            }
            pq.last_consume_ms.store(now_ms(), Ordering::Relaxed);
            // A panicking listener counts as RECONSUME_LATER, as a thrown exception does in Java.
            let status = tokio::spawn(listener(messages.clone()))
                .await
                .unwrap_or(ConsumeConcurrentlyStatus::ReconsumeLater);
            let mut keep = Vec::new();
            if status == ConsumeConcurrentlyStatus::ReconsumeLater {
                if self.is_clustering() {
                    for m in &messages {
                        if let Err(e) = self.send_back(m).await {
                            tracing::warn!(
                                "sending {} back for retry failed, consuming it again locally: {e}",
                                m.msg_id
                            );
                            keep.push(m.clone());
                        }
                    }
                } else {
                    for m in &messages {
                        tracing::warn!("broadcasting consumer dropped failed message {}", m.msg_id);
                    }
                }
            }
            let done = messages
                .iter()
                .filter(|m| !keep.iter().any(|k| k.queue_offset == m.queue_offset))
                .map(|m| m.queue_offset);
            let offset = pq.remove(done.collect::<Vec<_>>());
            if !pq.is_dropped() {
                self.offsets.update(&pq.queue, offset, true);
            }
            if !keep.is_empty() {
                let this = self.clone();
                tokio::spawn(async move {
                    if this.sleep(Duration::from_secs(5)).await {
                        let mut again = keep;
                        for m in &mut again {
                            m.reconsume_times += 1;
                        }
                        tokio::spawn(this.consume_concurrently(pq, again));
                    }
                });
            }
        })
    }

    /// Sends a failed message back for a later retry: CONSUMER_SEND_MSG_BACK, or (when the
    /// broker cannot) a send to `%RETRY%<group>` as Java's fallback does.
    async fn send_back(&self, m: &MessageExt) -> Result<()> {
        let addr = self.instance.master_addr(&m.broker_name, &m.topic).await;
        if let Ok(addr) = addr {
            let header = ConsumerSendMsgBackRequestHeader {
                offset: m.commit_log_offset,
                group: self.group.clone(),
                delay_level: 0,
                origin_msg_id: Some(m.msg_id.clone()),
                origin_topic: Some(m.topic.clone()),
                unit_mode: Some(false),
                max_reconsume_times: Some(self.max_reconsume),
                bname: Some(m.broker_name.clone()),
            };
            let req =
                RemotingCommand::request_with_header(RequestCode::CONSUMER_SEND_MSG_BACK, &header);
            match self.instance.invoke_ok(&addr, req).await {
                Ok(_) => return Ok(()),
                Err(e) => {
                    tracing::debug!("CONSUMER_SEND_MSG_BACK refused, re-sending instead: {e}")
                }
            }
        }
        let retry_topic = format!("{RETRY_GROUP_TOPIC_PREFIX}{}", self.group);
        let mut retry = m.to_message(retry_topic);
        let origin = m
            .property(keys::ORIGIN_MESSAGE_ID)
            .map(str::to_owned)
            .unwrap_or_else(|| m.msg_id.clone());
        {
            let p = retry.properties_mut();
            p.insert(keys::ORIGIN_MESSAGE_ID, origin);
            p.insert(keys::RETRY_TOPIC, m.topic.clone());
            p.insert(keys::RECONSUME_TIME, (m.reconsume_times + 1).to_string());
            p.insert(keys::MAX_RECONSUME_TIMES, self.max_reconsume.to_string());
            p.remove(keys::TRANSACTION_PREPARED);
            p.insert(keys::DELAY_TIME_LEVEL, (3 + m.reconsume_times).to_string());
        }
        self.retry_sender.send(retry).await.map(|_| ())
    }

    // ---- orderly consumption ---------------------------------------------------------------

    async fn orderly_loop(self: Arc<Self>, pq: Arc<ProcessQueue>) {
        let Listener::Orderly(listener) = self.listener.clone() else {
            return;
        };
        let mut stop = self.stop.subscribe();
        loop {
            if pq.is_dropped() || self.is_closed() {
                return;
            }
            if pq.is_empty() {
                tokio::select! {
                    _ = pq.arrived.notified() => {}
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = crate::instance::until_stopped(&mut stop) => return,
                }
                continue;
            }
            if self.is_clustering() && !pq.lock_valid(now_ms()) {
                self.sleep(Duration::from_millis(100)).await;
                continue;
            }
            let Ok(_permit) = self.consume_permits.clone().acquire_owned().await else {
                return;
            };
            let _serial = pq.consume_lock.lock().await;
            if pq.is_dropped() {
                return;
            }
            let messages = pq.take(self.options.consume_batch_max_size);
            if messages.is_empty() {
                continue;
            }
            pq.last_consume_ms.store(now_ms(), Ordering::Relaxed);
            let status = tokio::spawn(listener(messages.clone()))
                .await
                .unwrap_or(ConsumeOrderlyStatus::SuspendCurrentQueueAMoment);
            let exhausted = messages
                .iter()
                .all(|m| m.reconsume_times >= self.max_reconsume);
            if status == ConsumeOrderlyStatus::Success || exhausted {
                if let Some(offset) = pq.commit() {
                    if !pq.is_dropped() {
                        self.offsets.update(&pq.queue, offset, false);
                    }
                }
            } else {
                let again = messages
                    .into_iter()
                    .map(|mut m| {
                        m.reconsume_times += 1;
                        m
                    })
                    .collect();
                pq.rollback(again);
                drop(_serial);
                self.sleep(self.options.suspend_current_queue_time).await;
            }
        }
    }

    /// Renews the broker locks of every orderly queue (`lockAll`).
    async fn lock_all(&self) {
        let pqs: Vec<Arc<ProcessQueue>> = self
            .queues
            .lock()
            .expect("queues lock")
            .values()
            .cloned()
            .collect();
        let mqs: Vec<MessageQueue> = pqs.iter().map(|p| p.queue.clone()).collect();
        for (broker, qs) in by_broker(mqs) {
            match broker_api::lock_batch(&self.instance, &self.group, &broker, qs.clone()).await {
                Ok(locked) => {
                    let now = now_ms();
                    for pq in pqs.iter().filter(|p| p.queue.broker_name == broker) {
                        pq.set_locked(locked.contains(&pq.queue), now);
                    }
                }
                Err(e) => tracing::debug!("relocking queues at {broker} failed: {e}"),
            }
        }
    }
}

/// Relocks an orderly consumer's queues every 20 s, the first time after 1 s.
async fn relock_loop(inner: std::sync::Weak<PushInner>) {
    tokio::time::sleep(Duration::from_secs(1)).await;
    loop {
        let Some(this) = inner.upgrade() else { return };
        if this.is_closed() {
            return;
        }
        this.lock_all().await;
        let mut stop = this.stop.subscribe();
        drop(this);
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(20)) => {}
            _ = crate::instance::until_stopped(&mut stop) => return,
        }
    }
}

impl ConsumerHandle for PushInner {
    fn consumer_data(&self) -> ConsumerData {
        ConsumerData {
            consume_from_where: self.options.start.from,
            consume_type: ConsumeType::ConsumePassively,
            group_name: self.group.clone(),
            message_model: self.options.message_model,
            subscription_data_set: self.subscriptions.clone(),
            unit_mode: false,
        }
    }

    fn topics(&self) -> Vec<String> {
        self.subscriptions.iter().map(|s| s.topic.clone()).collect()
    }

    fn rebalance(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            // The handle is registered as an Arc; find it again to spawn queue tasks.
            let me = self.me.upgrade();
            if let Some(me) = me {
                me.do_rebalance().await;
            }
        })
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
            tracing::info!(
                "resetting offsets of {topic} for group {}: {table:?}",
                self.group
            );
            let _guard = self.rebalance_lock.lock().await;
            let dropped: Vec<Arc<ProcessQueue>> = {
                let mut queues = self.queues.lock().expect("queues lock");
                let keys: Vec<MessageQueue> = queues
                    .keys()
                    .filter(|q| q.topic == topic)
                    .cloned()
                    .collect();
                keys.iter().filter_map(|q| queues.remove(q)).collect()
            };
            for pq in &dropped {
                pq.drop_queue();
                pq.clear();
            }
            let mqs: Vec<MessageQueue> = table.keys().cloned().collect();
            for (q, offset) in &table {
                self.offsets.update(q, *offset, false);
            }
            self.offsets.persist(&mqs, true).await;
            for q in &mqs {
                self.offsets.remove(q);
            }
            drop(_guard);
            self.instance.trigger_rebalance();
        })
    }

    fn offset_table(&self, topic: &str) -> BTreeMap<MessageQueue, i64> {
        self.offsets.table_of(topic)
    }

    fn running_info(&self) -> ConsumerRunningInfo {
        let mut properties = BTreeMap::new();
        properties.insert("PROP_CONSUMEORDERLY".into(), self.is_orderly().to_string());
        properties.insert("PROP_CONSUME_TYPE".into(), "CONSUME_PASSIVELY".into());
        properties.insert("PROP_CLIENT_VERSION".into(), "V4_9_8".into());
        properties.insert(
            "PROP_CONSUMER_START_TIMESTAMP".into(),
            self.started_ms.to_string(),
        );
        properties.insert(
            "PROP_NAMESERVER_ADDR".into(),
            self.instance
                .options()
                .namesrv_addr
                .clone()
                .unwrap_or_default(),
        );
        properties.insert(
            "PROP_THREADPOOL_CORE_SIZE".into(),
            self.options.consume_threads.to_string(),
        );
        properties.insert(
            "messageModel".into(),
            self.options.message_model.as_str().into(),
        );
        properties.insert(
            "consumeFromWhere".into(),
            self.options.start.from.as_str().into(),
        );
        let mq_table = self
            .queues
            .lock()
            .expect("queues lock")
            .iter()
            .map(|(q, pq)| (q.clone(), pq.info(self.offsets.read(q).unwrap_or(-1))))
            .collect();
        ConsumerRunningInfo {
            jstack: None,
            mq_table,
            properties,
            status_table: BTreeMap::new(),
            subscription_set: self.subscriptions.clone(),
        }
    }

    fn consume_directly(&self, message: MessageExt) -> BoxFuture<'_, ConsumeMessageDirectlyResult> {
        Box::pin(async move {
            let started = std::time::Instant::now();
            let (result, order) = match &self.listener {
                Listener::Concurrently(f) => match f(vec![message]).await {
                    ConsumeConcurrentlyStatus::ConsumeSuccess => ("CR_SUCCESS", false),
                    ConsumeConcurrentlyStatus::ReconsumeLater => ("CR_LATER", false),
                },
                Listener::Orderly(f) => match f(vec![message]).await {
                    ConsumeOrderlyStatus::Success => ("CR_SUCCESS", true),
                    ConsumeOrderlyStatus::SuspendCurrentQueueAMoment => ("CR_LATER", true),
                },
            };
            ConsumeMessageDirectlyResult {
                auto_commit: true,
                consume_result: Some(result.into()),
                order,
                remark: None,
                spent_time_mills: started.elapsed().as_millis() as i64,
            }
        })
    }
}
