//! The producer (`DefaultMQProducer`): sync, async, oneway and batch sends, sends to a chosen
//! queue or through a selector, retries on another broker and latency fault avoidance.

use crate::error::{ClientError, Result};
use crate::fault::LatencyFaults;
use crate::instance::{ClientInstance, ClientOptions};
use crate::message::{Message, SendResult, SendStatus};
use crate::route::TopicRoute;
use bytes::Bytes;
use ferrocket_common::batch::{self, BatchItem};
use ferrocket_common::names::{self, TopicName, RETRY_GROUP_TOPIC_PREFIX};
use ferrocket_common::properties::keys;
use ferrocket_common::{compression, sysflag, GroupName};
use ferrocket_protocol::body::MessageQueue;
use ferrocket_protocol::header::{SendMessageRequestHeaderV2, SendMessageResponseHeader};
use ferrocket_protocol::{RemotingCommand, RequestCode, ResponseCode};
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Producer settings, with the Java defaults (`behaviour.md` §4).
#[derive(Debug, Clone)]
pub struct ProducerOptions {
    /// Budget for all attempts of one send (`sendMsgTimeout`, 3 s).
    pub send_timeout: Duration,
    /// Extra attempts of a sync send on another broker (`retryTimesWhenSendFailed`, 2).
    pub retry_times: u32,
    /// Extra attempts of an async send (`retryTimesWhenSendAsyncFailed`, 2).
    pub retry_times_async: u32,
    /// Bodies of at least this size are zlib-compressed (`compressMsgBodyOverHowmuch`, 4096).
    pub compress_over: usize,
    pub compress_level: u32,
    /// Largest body (or batch) sent (`maxMessageSize`, 4 MiB).
    pub max_message_size: usize,
    /// Avoid brokers that were slow or failed (`sendLatencyFaultEnable`, false).
    pub latency_fault_enable: bool,
    /// The topic whose route new topics borrow (`createTopicKey`, TBW102).
    pub create_topic_key: String,
    /// Queues per broker of an auto-created topic (`defaultTopicQueueNums`, 4).
    pub default_topic_queue_nums: i32,
}

impl Default for ProducerOptions {
    fn default() -> Self {
        ProducerOptions {
            send_timeout: Duration::from_secs(3),
            retry_times: 2,
            retry_times_async: 2,
            compress_over: compression::COMPRESS_OVER_BYTES,
            compress_level: compression::DEFAULT_LEVEL,
            max_message_size: 4 * 1024 * 1024,
            latency_fault_enable: false,
            create_topic_key: names::AUTO_CREATE_TOPIC_KEY.to_owned(),
            default_topic_queue_nums: 4,
        }
    }
}

/// Builds a [`Producer`].
#[derive(Debug, Clone)]
pub struct ProducerBuilder {
    group: String,
    client: ClientOptions,
    options: ProducerOptions,
}

impl ProducerBuilder {
    crate::instance::client_builder_methods!();

    pub fn options(mut self, options: ProducerOptions) -> Self {
        self.options = options;
        self
    }

    pub fn send_timeout(mut self, timeout: Duration) -> Self {
        self.options.send_timeout = timeout;
        self
    }

    pub fn retry_times(mut self, n: u32) -> Self {
        self.options.retry_times = n;
        self.options.retry_times_async = n;
        self
    }

    pub fn latency_fault_enable(mut self, on: bool) -> Self {
        self.options.latency_fault_enable = on;
        self
    }

    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.options.max_message_size = bytes;
        self
    }

    /// Validates the group, joins (or starts) the client instance and registers the group.
    pub async fn start(self) -> Result<Producer> {
        GroupName::new(self.group.as_str()).map_err(|e| ClientError::Invalid(e.to_string()))?;
        let instance = ClientInstance::acquire(&self.client)?;
        if let Err(e) = instance.register_producer(&self.group) {
            instance.release().await;
            return Err(e);
        }
        instance.heartbeat().await;
        Ok(Producer {
            inner: Arc::new(Inner {
                instance,
                group: self.group,
                options: self.options,
                next_queue: AtomicUsize::new(random_seed() as usize),
                faults: LatencyFaults::default(),
                closed: AtomicBool::new(false),
                owns_registration: true,
            }),
        })
    }
}

/// A started producer; cheap to clone, shared by all tasks that send.
#[derive(Debug, Clone)]
pub struct Producer {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    instance: Arc<ClientInstance>,
    group: String,
    options: ProducerOptions,
    next_queue: AtomicUsize,
    faults: LatencyFaults,
    closed: AtomicBool,
    /// False for the instance's own producer (CLIENT_INNER_PRODUCER), which neither
    /// registers a group nor holds the instance.
    owns_registration: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Sync,
    Async,
    Oneway,
}

/// A message ready for the wire: validated, with its UNIQ_KEY, compressed if large.
#[derive(Debug)]
struct Prepared {
    topic: String,
    body: Bytes,
    flag: i32,
    sys_flag: i32,
    properties: String,
    batch: bool,
    msg_id: String,
    reconsume_times: Option<i32>,
    max_reconsume_times: Option<i32>,
}

impl Producer {
    pub fn builder(group: impl Into<String>) -> ProducerBuilder {
        ProducerBuilder {
            group: group.into(),
            client: ClientOptions::default(),
            options: ProducerOptions::default(),
        }
    }

    /// The instance's own producer, used by consumers to re-send messages for retry.
    pub(crate) fn internal(instance: Arc<ClientInstance>) -> Producer {
        Producer {
            inner: Arc::new(Inner {
                instance,
                group: crate::instance::CLIENT_INNER_PRODUCER_GROUP.to_owned(),
                options: ProducerOptions::default(),
                next_queue: AtomicUsize::new(random_seed() as usize),
                faults: LatencyFaults::default(),
                closed: AtomicBool::new(false),
                owns_registration: false,
            }),
        }
    }

    pub fn group(&self) -> &str {
        &self.inner.group
    }

    pub(crate) fn instance(&self) -> &Arc<ClientInstance> {
        &self.inner.instance
    }

    pub fn client_id(&self) -> &str {
        self.inner.instance.client_id()
    }

    /// Sends and waits for the broker's answer, retrying on another broker on failure.
    pub async fn send(&self, message: Message) -> Result<SendResult> {
        let prepared = self.prepare(message)?;
        self.send_default(prepared, Mode::Sync)
            .await
            .map(|r| r.expect("sync sends have a result"))
    }

    /// Starts a send at once and returns a future of its result; the send goes on even if
    /// the future is dropped (`send(msg, SendCallback)`).
    pub fn send_async(&self, message: Message) -> impl Future<Output = Result<SendResult>> + Send {
        let this = self.clone();
        let task = tokio::spawn(async move {
            let prepared = this.prepare(message)?;
            this.send_default(prepared, Mode::Async)
                .await
                .map(|r| r.expect("async sends have a result"))
        });
        async move {
            task.await
                .map_err(|e| ClientError::State(format!("send task failed: {e}")))?
        }
    }

    /// Sends in the background and hands the outcome to `callback`.
    pub fn send_with_callback(
        &self,
        message: Message,
        callback: impl FnOnce(Result<SendResult>) + Send + 'static,
    ) {
        let fut = self.send_async(message);
        tokio::spawn(async move { callback(fut.await) });
    }

    /// Sends without waiting for an answer; one attempt.
    pub async fn send_oneway(&self, message: Message) -> Result<()> {
        let prepared = self.prepare(message)?;
        self.send_default(prepared, Mode::Oneway).await.map(|_| ())
    }

    /// Sends to one queue; no retry on another queue.
    pub async fn send_to_queue(
        &self,
        message: Message,
        queue: &MessageQueue,
    ) -> Result<SendResult> {
        if message.topic != queue.topic {
            return Err(ClientError::Invalid(format!(
                "message topic [{}] is not equal with message queue topic [{}]",
                message.topic, queue.topic
            )));
        }
        let prepared = self.prepare(message)?;
        let route = self.route(&prepared.topic).await?;
        self.send_kernel(
            &prepared,
            queue,
            &route,
            Mode::Sync,
            self.inner.options.send_timeout,
        )
        .await
        .map(|r| r.expect("sync sends have a result"))
    }

    /// Sends to the queue `select` picks from the topic's writable queues — the way to keep
    /// messages with the same key in order (`send(msg, MessageQueueSelector, arg)`).
    pub async fn send_with_selector<F>(&self, message: Message, select: F) -> Result<SendResult>
    where
        F: FnOnce(&[MessageQueue], &Message) -> usize,
    {
        let route = self.route(&message.topic).await?;
        let idx = select(&route.publish, &message);
        let queue = route.publish.get(idx).cloned().ok_or_else(|| {
            ClientError::Invalid(format!(
                "the selector picked queue index {idx} of {} queues",
                route.publish.len()
            ))
        })?;
        let prepared = self.prepare(message)?;
        self.send_kernel(
            &prepared,
            &queue,
            &route,
            Mode::Sync,
            self.inner.options.send_timeout,
        )
        .await
        .map(|r| r.expect("sync sends have a result"))
    }

    /// Sends several messages of one topic as one batch (SEND_BATCH_MESSAGE).
    pub async fn send_batch(&self, messages: Vec<Message>) -> Result<SendResult> {
        let prepared = self.prepare_batch(messages)?;
        self.send_default(prepared, Mode::Sync)
            .await
            .map(|r| r.expect("sync sends have a result"))
    }

    /// The writable queues of `topic` (`fetchPublishMessageQueues`).
    pub async fn publish_queues(&self, topic: &str) -> Result<Vec<MessageQueue>> {
        Ok(self.route(topic).await?.publish.clone())
    }

    /// Unregisters the group from every broker and leaves the client instance.
    pub async fn shutdown(&self) {
        if self.inner.closed.swap(true, Ordering::SeqCst) || !self.inner.owns_registration {
            return;
        }
        self.inner
            .instance
            .unregister(Some(&self.inner.group), None)
            .await;
        self.inner.instance.release().await;
    }

    // ---- internals ---------------------------------------------------------------------

    async fn route(&self, topic: &str) -> Result<Arc<TopicRoute>> {
        let o = &self.inner.options;
        self.inner
            .instance
            .publish_route(topic, &o.create_topic_key, o.default_topic_queue_nums)
            .await
    }

    fn check_open(&self) -> Result<()> {
        if self.inner.closed.load(Ordering::Relaxed) || self.inner.instance.is_stopped() {
            return Err(ClientError::State("the producer is shut down".into()));
        }
        Ok(())
    }

    fn check_topic(&self, topic: &str) -> Result<()> {
        let name = TopicName::new(topic).map_err(|e| ClientError::Invalid(e.to_string()))?;
        if name.is_not_allowed_send() {
            return Err(ClientError::Invalid(format!(
                "Sending message to topic[{topic}] is forbidden."
            )));
        }
        Ok(())
    }

    fn check_body(&self, message: &Message) -> Result<()> {
        if message.body.is_empty() {
            return Err(ClientError::Invalid(
                "the message body length is zero".into(),
            ));
        }
        let max = self.inner.options.max_message_size;
        if message.body.len() > max {
            return Err(ClientError::Invalid(format!(
                "the message body size over max value, MAX: {max}"
            )));
        }
        Ok(())
    }

    fn prepare(&self, mut message: Message) -> Result<Prepared> {
        self.check_open()?;
        self.check_topic(&message.topic)?;
        self.check_body(&message)?;
        let msg_id = self.assign_unique_id(&mut message);
        // `sendKernelImpl`: a message marked `TRAN_MSG` goes as a transaction's half.
        let mut sys_flag = match message.property(keys::TRANSACTION_PREPARED) {
            Some(v) if v.eq_ignore_ascii_case("true") => sysflag::TRANSACTION_PREPARED_TYPE,
            _ => 0,
        };
        let mut body = message.body.clone();
        let o = &self.inner.options;
        if body.len() >= o.compress_over {
            let (compressed, flag) = compression::compress_zlib(&body, o.compress_level);
            body = Bytes::from(compressed);
            sys_flag |= flag;
        }
        // A re-sent consumed message carries its retry count in the header, not properties.
        let (mut reconsume_times, mut max_reconsume_times) = (None, None);
        if message.topic.starts_with(RETRY_GROUP_TOPIC_PREFIX) {
            let props = message.properties_mut();
            reconsume_times = props
                .remove(keys::RECONSUME_TIME)
                .and_then(|v| v.parse().ok());
            max_reconsume_times = props
                .remove(keys::MAX_RECONSUME_TIMES)
                .and_then(|v| v.parse().ok());
        }
        Ok(Prepared {
            properties: message.properties().encode(),
            topic: message.topic,
            body,
            flag: message.flag,
            sys_flag,
            batch: false,
            msg_id,
            reconsume_times,
            max_reconsume_times,
        })
    }

    pub(crate) fn assign_unique_id(&self, message: &mut Message) -> String {
        if let Some(id) = message.unique_id() {
            return id.to_owned();
        }
        let id = self
            .inner
            .instance
            .uniq_ids
            .next_id(ferrocket_common::time::now_ms());
        message
            .properties_mut()
            .insert(keys::UNIQ_CLIENT_MESSAGE_ID_KEYIDX, id.clone());
        id
    }

    fn prepare_batch(&self, mut messages: Vec<Message>) -> Result<Prepared> {
        self.check_open()?;
        let Some(first) = messages.first() else {
            return Err(ClientError::Invalid(
                "a batch needs at least one message".into(),
            ));
        };
        let topic = first.topic.clone();
        let wait = first
            .property(keys::WAIT_STORE_MSG_OK)
            .unwrap_or("true")
            .to_owned();
        self.check_topic(&topic)?;
        let mut ids = Vec::with_capacity(messages.len());
        for m in &mut messages {
            if m.topic != topic {
                return Err(ClientError::Invalid(
                    "The topic of the messages in one batch should be the same".into(),
                ));
            }
            if m.property(keys::DELAY_TIME_LEVEL).is_some_and(|l| l != "0") {
                return Err(ClientError::Invalid(
                    "TimeDelayLevel is not supported for batching".into(),
                ));
            }
            if m.topic.starts_with(RETRY_GROUP_TOPIC_PREFIX) {
                return Err(ClientError::Invalid(
                    "Retry Group is not supported for batching".into(),
                ));
            }
            self.check_body(m)?;
            ids.push(self.assign_unique_id(m));
        }
        let encoded: Vec<String> = messages.iter().map(|m| m.properties().encode()).collect();
        let items: Vec<BatchItem<'_>> = messages
            .iter()
            .zip(&encoded)
            .map(|(m, p)| BatchItem {
                flag: m.flag,
                body: &m.body,
                properties: p,
            })
            .collect();
        let body = batch::encode(&items).map_err(|e| ClientError::Invalid(e.to_string()))?;
        let max = self.inner.options.max_message_size;
        if body.len() > max {
            return Err(ClientError::Invalid(format!(
                "the message body size over max value, MAX: {max}"
            )));
        }
        // Java 4.9.8 gives the batch itself only WAIT; every inner message has its UNIQ_KEY.
        let batch = Message::new(topic, Bytes::new()).with_wait_store_msg_ok(wait == "true");
        Ok(Prepared {
            properties: batch.properties().encode(),
            topic: batch.topic,
            body,
            flag: 0,
            sys_flag: 0,
            batch: true,
            msg_id: ids.join(","),
            reconsume_times: None,
            max_reconsume_times: None,
        })
    }

    fn select_queue(&self, route: &TopicRoute, last_failed: Option<&str>) -> MessageQueue {
        let queues = &route.publish;
        let n = queues.len();
        let next = || queues[self.inner.next_queue.fetch_add(1, Ordering::Relaxed) % n].clone();
        if self.inner.options.latency_fault_enable {
            for _ in 0..n {
                let q = next();
                if self.inner.faults.is_available(&q.broker_name) {
                    return q;
                }
            }
        }
        if let Some(last) = last_failed {
            for _ in 0..n {
                let q = next();
                if q.broker_name != last {
                    return q;
                }
            }
        }
        next()
    }

    /// Sends with retries on other queues until the send timeout is spent.
    async fn send_default(&self, prepared: Prepared, mode: Mode) -> Result<Option<SendResult>> {
        let o = &self.inner.options;
        let attempts = match mode {
            Mode::Sync => 1 + o.retry_times,
            Mode::Async => 1 + o.retry_times_async,
            Mode::Oneway => 1,
        };
        let started = Instant::now();
        let mut last_failed: Option<String> = None;
        let mut last_error = None;
        let mut made = 0;
        for _ in 0..attempts {
            let elapsed = started.elapsed();
            if elapsed >= o.send_timeout {
                break;
            }
            let route = match self.route(&prepared.topic).await {
                Ok(r) => r,
                Err(e) => {
                    last_error = Some(e);
                    break;
                }
            };
            let queue = self.select_queue(&route, last_failed.as_deref());
            made += 1;
            let attempt_started = Instant::now();
            let result = self
                .send_kernel(&prepared, &queue, &route, mode, o.send_timeout - elapsed)
                .await;
            if o.latency_fault_enable {
                self.inner.faults.record(
                    &queue.broker_name,
                    attempt_started.elapsed(),
                    result.is_err(),
                );
            }
            match result {
                Ok(r) => return Ok(r),
                Err(e) if is_retriable(&e) => {
                    tracing::debug!("send to {queue:?} failed, retrying: {e}");
                    last_failed = Some(queue.broker_name.clone());
                    last_error = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        let last = last_error.unwrap_or_else(|| {
            ClientError::Remoting(ferrocket_remoting::RemotingError::Timeout {
                addr: "broker".into(),
                opaque: 0,
                timeout: o.send_timeout,
            })
        });
        if made <= 1 && matches!(last, ClientError::NoRoute { .. }) {
            return Err(last);
        }
        Err(ClientError::SendFailed {
            attempts: made,
            elapsed_ms: started.elapsed().as_millis() as u64,
            last: Box::new(last),
        })
    }

    /// One attempt: SEND_MESSAGE_V2 or SEND_BATCH_MESSAGE to the queue's master.
    async fn send_kernel(
        &self,
        p: &Prepared,
        queue: &MessageQueue,
        route: &TopicRoute,
        mode: Mode,
        timeout: Duration,
    ) -> Result<Option<SendResult>> {
        let addr = match route.master_addr(&queue.broker_name) {
            Some(a) => a.to_owned(),
            None => {
                self.inner
                    .instance
                    .master_addr(&queue.broker_name, &p.topic)
                    .await?
            }
        };
        let o = &self.inner.options;
        let header = SendMessageRequestHeaderV2 {
            a: self.inner.group.clone(),
            b: p.topic.clone(),
            c: o.create_topic_key.clone(),
            d: o.default_topic_queue_nums,
            e: queue.queue_id,
            f: p.sys_flag,
            g: ferrocket_common::time::now_ms(),
            h: p.flag,
            i: Some(p.properties.clone()),
            j: Some(p.reconsume_times.unwrap_or(0)),
            k: Some(false),
            l: p.max_reconsume_times,
            m: Some(p.batch),
            n: Some(queue.broker_name.clone()),
        };
        let code = if p.batch {
            RequestCode::SEND_BATCH_MESSAGE
        } else {
            RequestCode::SEND_MESSAGE_V2
        };
        let request = RemotingCommand::request_with_header(code, &header).with_body(p.body.clone());
        if mode == Mode::Oneway {
            self.inner.instance.invoke_oneway(&addr, request).await?;
            return Ok(None);
        }
        let response = self.inner.instance.invoke(&addr, request, timeout).await?;
        let status = match response.response_code() {
            ResponseCode::SUCCESS => SendStatus::SendOk,
            ResponseCode::FLUSH_DISK_TIMEOUT => SendStatus::FlushDiskTimeout,
            ResponseCode::FLUSH_SLAVE_TIMEOUT => SendStatus::FlushSlaveTimeout,
            ResponseCode::SLAVE_NOT_AVAILABLE => SendStatus::SlaveNotAvailable,
            _ => return Err(ClientError::server(&addr, &response)),
        };
        let h: SendMessageResponseHeader = response
            .decode_header()
            .map_err(|e| ClientError::malformed(&addr, e))?;
        Ok(Some(SendResult {
            status,
            msg_id: p.msg_id.clone(),
            offset_msg_id: h.msg_id,
            queue: MessageQueue::new(p.topic.clone(), queue.broker_name.clone(), h.queue_id),
            queue_offset: h.queue_offset,
            transaction_id: h.transaction_id,
            region_id: response.ext(keys::MSG_REGION).map(str::to_owned),
        }))
    }
}

/// Whether a failed attempt is worth another broker (`behaviour.md` §4).
fn is_retriable(e: &ClientError) -> bool {
    match e {
        ClientError::Remoting(_) | ClientError::NoRoute { .. } => true,
        ClientError::Server { code, .. } => matches!(
            *code,
            ResponseCode::TOPIC_NOT_EXIST
                | ResponseCode::SERVICE_NOT_AVAILABLE
                | ResponseCode::SYSTEM_ERROR
                | ResponseCode::NO_PERMISSION
                | ResponseCode::NO_BUYER_ID
                | ResponseCode::NOT_IN_CURRENT_UNIT
        ),
        _ => false,
    }
}

fn random_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let mut x = nanos ^ (std::process::id() as u64).rotate_left(32) ^ 0x9E37_79B9_7F4A_7C15;
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^ (x >> 33)
}

/// Ready-made queue selectors for [`Producer::send_with_selector`].
pub mod selector {
    use super::*;

    /// The queue `|hash(key)| % n` (`SelectMessageQueueByHash`, Java's `String.hashCode`).
    pub fn by_hash(key: &str) -> impl FnOnce(&[MessageQueue], &Message) -> usize + '_ {
        move |queues, _| {
            let h = ferrocket_common::tag::java_string_hash(key);
            ((h % queues.len().max(1) as i32).unsigned_abs()) as usize
        }
    }

    /// A random queue (`SelectMessageQueueByRandom`).
    pub fn random() -> impl FnOnce(&[MessageQueue], &Message) -> usize {
        |queues, _| (random_seed() % queues.len().max(1) as u64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retriable_codes_match_java() {
        let server = |code| ClientError::Server {
            addr: "a".into(),
            code,
            remark: String::new(),
        };
        assert!(is_retriable(&server(ResponseCode::SYSTEM_ERROR)));
        assert!(is_retriable(&server(ResponseCode::TOPIC_NOT_EXIST)));
        assert!(!is_retriable(&server(ResponseCode::MESSAGE_ILLEGAL)));
        assert!(!is_retriable(&ClientError::Invalid("x".into())));
    }

    #[test]
    fn hash_selector_is_java_compatible() {
        let queues: Vec<MessageQueue> = (0..4).map(|i| MessageQueue::new("T", "b", i)).collect();
        let m = Message::new("T", "x");
        // "order-1".hashCode() = -1207111310 in Java; Math.abs(-1207111310 % 4) = 2.
        assert_eq!(selector::by_hash("order-1")(&queues, &m), 2);
    }
}
