//! One client instance per client id (`MQClientInstance`): the name-server list, the route
//! cache, one connection per broker shared by every producer and consumer of the instance,
//! heartbeats, the periodic tasks and the requests brokers send to clients.

use crate::error::{ClientError, Result};
use crate::route::TopicRoute;
use crate::transaction::TransactionListener;
use ferrocket_common::message_id::UniqIdGenerator;
use ferrocket_protocol::body::{
    ConsumeMessageDirectlyResult, ConsumerData, ConsumerRunningInfo, GetConsumerStatusBody,
    HeartbeatData, MessageQueue, ProducerData, ResetOffsetBody, TopicRouteData,
};
use ferrocket_protocol::header::{
    CheckTransactionStateRequestHeader, ConsumerGroupRequestHeader,
    GetConsumerRunningInfoRequestHeader, GetConsumerStatusRequestHeader, GetRouteInfoRequestHeader,
    UnregisterClientRequestHeader,
};
use ferrocket_protocol::{json, RemotingCommand, RequestCode, ResponseCode};
use ferrocket_remoting::{Channel, HandlerResult, RemotingClient, Router};
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock, Weak};
use std::time::Duration;
use tokio::sync::{watch, Notify};

pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The producer group every client instance runs for its own sends (retries of consumers).
pub const CLIENT_INNER_PRODUCER_GROUP: &str = "CLIENT_INNER_PRODUCER";

/// Settings shared by every producer, consumer and admin of one client instance
/// (`ClientConfig`).
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// `;`-separated name-server addresses; `NAMESRV_ADDR` when unset.
    pub namesrv_addr: Option<String>,
    /// Distinguishes several instances in one process; the process id when unset.
    pub instance_name: Option<String>,
    /// The address put in the client id; found from the route to the name server when unset.
    pub client_ip: Option<IpAddr>,
    /// Timeout of one request to a name server or broker (`mqClientApiTimeout`, 3 s).
    pub request_timeout: Duration,
    /// Route refresh period (`pollNameServerInterval`, 30 s).
    pub poll_name_server_interval: Duration,
    /// Heartbeat period (`heartbeatBrokerInterval`, 30 s).
    pub heartbeat_interval: Duration,
    /// Consumer offset persistence period (`persistConsumerOffsetInterval`, 5 s).
    pub persist_offset_interval: Duration,
    /// Rebalance period (`rocketmq.client.rebalance.waitInterval`, 20 s).
    pub rebalance_interval: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            namesrv_addr: None,
            instance_name: None,
            client_ip: None,
            request_timeout: Duration::from_secs(3),
            poll_name_server_interval: Duration::from_secs(30),
            heartbeat_interval: Duration::from_secs(30),
            persist_offset_interval: Duration::from_secs(5),
            rebalance_interval: Duration::from_secs(20),
        }
    }
}

impl ClientOptions {
    fn namesrv_list(&self) -> Result<Vec<String>> {
        let raw = match &self.namesrv_addr {
            Some(addr) => addr.clone(),
            None => std::env::var("NAMESRV_ADDR").map_err(|_| ClientError::NoNameServer)?,
        };
        let list: Vec<String> = raw
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        if list.is_empty() {
            return Err(ClientError::NoNameServer);
        }
        Ok(list)
    }
}

/// The client-instance settings every builder offers (it has a `client: ClientOptions`).
macro_rules! client_builder_methods {
    () => {
        /// `;`-separated name-server addresses (else `NAMESRV_ADDR`).
        pub fn namesrv_addr(mut self, addr: impl Into<String>) -> Self {
            self.client.namesrv_addr = Some(addr.into());
            self
        }

        /// Runs on its own client instance (and connections) under this name.
        pub fn instance_name(mut self, name: impl Into<String>) -> Self {
            self.client.instance_name = Some(name.into());
            self
        }

        pub fn client_options(mut self, client: $crate::ClientOptions) -> Self {
            self.client = client;
            self
        }
    };
}
pub(crate) use client_builder_methods;

/// What the instance needs from a consumer it runs.
pub(crate) trait ConsumerHandle: Send + Sync {
    fn consumer_data(&self) -> ConsumerData;
    fn topics(&self) -> Vec<String>;
    fn rebalance(&self) -> BoxFuture<'_, ()>;
    fn persist_offsets(&self) -> BoxFuture<'_, ()>;
    fn reset_offsets(&self, topic: String, table: BTreeMap<MessageQueue, i64>)
        -> BoxFuture<'_, ()>;
    fn running_info(&self) -> ConsumerRunningInfo;
    /// The offsets this consumer holds for `topic` (GET_CONSUMER_STATUS_FROM_CLIENT). Java
    /// answers for push and pull consumers only; a lite pull consumer reports none.
    fn offset_table(&self, _topic: &str) -> BTreeMap<MessageQueue, i64> {
        BTreeMap::new()
    }
    fn consume_directly(
        &self,
        message: crate::MessageExt,
    ) -> BoxFuture<'_, ConsumeMessageDirectlyResult>;
}

/// A client instance: cheap to share (`Arc`), shut down when its last user releases it.
pub struct ClientInstance {
    client_id: String,
    options: ClientOptions,
    namesrvs: Vec<String>,
    namesrv_index: AtomicUsize,
    remoting: RemotingClient,
    routes: RwLock<HashMap<String, Arc<TopicRoute>>>,
    /// brokerName → brokerId → address, from every route seen.
    brokers: RwLock<HashMap<String, BTreeMap<i64, String>>>,
    producers: Mutex<Vec<String>>,
    consumers: Mutex<HashMap<String, Arc<dyn ConsumerHandle>>>,
    /// Transactional producer groups and who answers their checks.
    transaction_listeners: Mutex<HashMap<String, Arc<dyn TransactionListener>>>,
    users: Mutex<usize>,
    pub(crate) uniq_ids: UniqIdGenerator,
    rebalance_now: Notify,
    stop: watch::Sender<bool>,
}

impl std::fmt::Debug for ClientInstance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientInstance")
            .field("client_id", &self.client_id)
            .field("namesrvs", &self.namesrvs)
            .finish()
    }
}

fn registry() -> &'static Mutex<HashMap<String, Weak<ClientInstance>>> {
    static REGISTRY: OnceLock<Mutex<HashMap<String, Weak<ClientInstance>>>> = OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

impl ClientInstance {
    /// The running instance for these options' client id, or a new one. Every call must be
    /// paired with [`release`](Self::release).
    pub(crate) fn acquire(options: &ClientOptions) -> Result<Arc<ClientInstance>> {
        let namesrvs = options.namesrv_list()?;
        let ip = options
            .client_ip
            .unwrap_or_else(|| local_ip_towards(&namesrvs[0]));
        let instance_name = options
            .instance_name
            .clone()
            .unwrap_or_else(|| std::process::id().to_string());
        let client_id = format!("{ip}@{instance_name}");
        // Instances are shared per client id and name-server list, so one process can talk
        // to two clusters under the same instance name.
        let key = format!("{client_id}/{}", namesrvs.join(";"));
        let mut reg = registry().lock().expect("registry lock");
        if let Some(existing) = reg.get(&key).and_then(Weak::upgrade) {
            *existing.users.lock().expect("users lock") += 1;
            return Ok(existing);
        }
        let instance = ClientInstance::start(client_id.clone(), ip, namesrvs, options.clone());
        *instance.users.lock().expect("users lock") += 1;
        reg.insert(key, Arc::downgrade(&instance));
        Ok(instance)
    }

    fn start(
        client_id: String,
        ip: IpAddr,
        namesrvs: Vec<String>,
        options: ClientOptions,
    ) -> Arc<ClientInstance> {
        let slot: Arc<OnceLock<Weak<ClientInstance>>> = Arc::new(OnceLock::new());
        let router = client_router(slot.clone());
        let remoting = RemotingClient::new(ferrocket_remoting::ClientConfig::default(), router);
        let salt = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos() ^ (d.as_secs() as u32).rotate_left(7))
            .unwrap_or(0);
        let (stop, _) = watch::channel(false);
        let instance = Arc::new(ClientInstance {
            client_id,
            namesrv_index: AtomicUsize::new(salt as usize % namesrvs.len()),
            namesrvs,
            remoting,
            routes: RwLock::default(),
            brokers: RwLock::default(),
            producers: Mutex::default(),
            consumers: Mutex::default(),
            transaction_listeners: Mutex::default(),
            users: Mutex::new(0),
            uniq_ids: UniqIdGenerator::new(ip, std::process::id(), salt),
            rebalance_now: Notify::new(),
            stop,
            options,
        });
        let _ = slot.set(Arc::downgrade(&instance));
        tokio::spawn(periodic_tasks(
            Arc::downgrade(&instance),
            instance.stop.subscribe(),
        ));
        instance
    }

    /// Drops one user; the last one stops the periodic tasks and closes every connection.
    pub(crate) async fn release(self: &Arc<Self>) {
        let last = {
            let mut users = self.users.lock().expect("users lock");
            *users = users.saturating_sub(1);
            *users == 0
        };
        if last {
            registry().lock().expect("registry lock").retain(|_, w| {
                w.strong_count() > 0 && !std::ptr::eq(w.as_ptr(), Arc::as_ptr(self))
            });
            let _ = self.stop.send(true);
            self.remoting.shutdown().await;
        }
    }

    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    pub fn options(&self) -> &ClientOptions {
        &self.options
    }

    pub(crate) fn is_stopped(&self) -> bool {
        *self.stop.borrow()
    }

    // ---- registration ------------------------------------------------------------------

    pub(crate) fn register_producer(&self, group: &str) -> Result<()> {
        let mut producers = self.producers.lock().expect("producers lock");
        if producers.iter().any(|g| g == group) {
            return Err(ClientError::State(format!(
                "the producer group [{group}] has been created before in client {}",
                self.client_id
            )));
        }
        producers.push(group.to_owned());
        Ok(())
    }

    pub(crate) fn register_transaction_listener(
        &self,
        group: &str,
        listener: Arc<dyn TransactionListener>,
    ) {
        self.transaction_listeners
            .lock()
            .expect("transaction listeners lock")
            .insert(group.to_owned(), listener);
    }

    pub(crate) fn unregister_transaction_listener(&self, group: &str) {
        self.transaction_listeners
            .lock()
            .expect("transaction listeners lock")
            .remove(group);
    }

    fn transaction_listener(&self, group: &str) -> Option<Arc<dyn TransactionListener>> {
        self.transaction_listeners
            .lock()
            .expect("transaction listeners lock")
            .get(group)
            .cloned()
    }

    pub(crate) fn register_consumer(
        &self,
        group: &str,
        consumer: Arc<dyn ConsumerHandle>,
    ) -> Result<()> {
        let mut consumers = self.consumers.lock().expect("consumers lock");
        if consumers.contains_key(group) {
            return Err(ClientError::State(format!(
                "the consumer group [{group}] has been created before in client {}",
                self.client_id
            )));
        }
        consumers.insert(group.to_owned(), consumer);
        Ok(())
    }

    /// Forgets a group and tells every broker (UNREGISTER_CLIENT).
    pub(crate) async fn unregister(
        &self,
        producer_group: Option<&str>,
        consumer_group: Option<&str>,
    ) {
        if let Some(g) = producer_group {
            self.producers
                .lock()
                .expect("producers lock")
                .retain(|p| p != g);
        }
        if let Some(g) = consumer_group {
            self.consumers.lock().expect("consumers lock").remove(g);
        }
        let header = UnregisterClientRequestHeader {
            client_id: self.client_id.clone(),
            producer_group: producer_group.map(str::to_owned),
            consumer_group: consumer_group.map(str::to_owned),
        };
        for addr in self.all_broker_addrs(true) {
            let req = RemotingCommand::request_with_header(RequestCode::UNREGISTER_CLIENT, &header);
            if let Err(e) = self
                .remoting
                .invoke(&addr, req, self.options.request_timeout)
                .await
            {
                tracing::debug!("unregister client at {addr} failed: {e}");
            }
        }
    }

    fn consumer(&self, group: &str) -> Option<Arc<dyn ConsumerHandle>> {
        self.consumers
            .lock()
            .expect("consumers lock")
            .get(group)
            .cloned()
    }

    fn all_consumers(&self) -> Vec<Arc<dyn ConsumerHandle>> {
        self.consumers
            .lock()
            .expect("consumers lock")
            .values()
            .cloned()
            .collect()
    }

    // ---- requests ----------------------------------------------------------------------

    /// Sends `request` to a name server, moving on to the next one when one cannot be reached.
    pub(crate) async fn invoke_namesrv(&self, request: RemotingCommand) -> Result<RemotingCommand> {
        let n = self.namesrvs.len();
        let start = self.namesrv_index.load(Ordering::Relaxed);
        let mut last = None;
        for i in 0..n {
            let idx = (start + i) % n;
            let addr = &self.namesrvs[idx];
            match self
                .remoting
                .invoke(addr, request.clone(), self.options.request_timeout)
                .await
            {
                Ok(response) => {
                    self.namesrv_index.store(idx, Ordering::Relaxed);
                    return Ok(response);
                }
                Err(e) => {
                    tracing::debug!("name server {addr} failed: {e}");
                    last = Some(e);
                }
            }
        }
        Err(last.expect("at least one name server").into())
    }

    /// Sends `request` to `addr` and waits up to `timeout`.
    pub(crate) async fn invoke(
        &self,
        addr: &str,
        request: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand> {
        Ok(self.remoting.invoke(addr, request, timeout).await?)
    }

    pub(crate) async fn invoke_oneway(&self, addr: &str, request: RemotingCommand) -> Result<()> {
        Ok(self.remoting.invoke_oneway(addr, request).await?)
    }

    /// `invoke` that turns any code but SUCCESS into an error.
    pub(crate) async fn invoke_ok(
        &self,
        addr: &str,
        request: RemotingCommand,
    ) -> Result<RemotingCommand> {
        let response = self
            .invoke(addr, request, self.options.request_timeout)
            .await?;
        if response.response_code() != ResponseCode::SUCCESS {
            return Err(ClientError::server(addr, &response));
        }
        Ok(response)
    }

    // ---- routes ------------------------------------------------------------------------

    /// Asks the name servers for a topic's route; `None` when no name server knows it.
    pub(crate) async fn fetch_route(&self, topic: &str) -> Result<Option<TopicRouteData>> {
        let req = RemotingCommand::request_with_header(
            RequestCode::GET_ROUTEINFO_BY_TOPIC,
            &GetRouteInfoRequestHeader {
                topic: topic.to_owned(),
                accept_standard_json_only: None,
            },
        );
        let response = self.invoke_namesrv(req).await?;
        match response.response_code() {
            ResponseCode::SUCCESS => json::from_slice(response.body_bytes())
                .map(Some)
                .map_err(|e| ClientError::malformed("name server", e)),
            ResponseCode::TOPIC_NOT_EXIST => Ok(None),
            _ => Err(ClientError::server("name server", &response)),
        }
    }

    /// Refreshes a topic's route from the name servers; returns the new route, if any.
    pub(crate) async fn update_route(&self, topic: &str) -> Result<Option<Arc<TopicRoute>>> {
        let Some(data) = self.fetch_route(topic).await? else {
            return Ok(None);
        };
        Ok(Some(
            self.install_route(topic, TopicRoute::new(topic, data)),
        ))
    }

    fn install_route(&self, topic: &str, route: TopicRoute) -> Arc<TopicRoute> {
        {
            let mut brokers = self.brokers.write().expect("brokers lock");
            for b in &route.data.broker_datas {
                brokers.insert(b.broker_name.clone(), b.broker_addrs.clone());
            }
        }
        let route = Arc::new(route);
        let mut routes = self.routes.write().expect("routes lock");
        if routes.get(topic).is_none_or(|old| old.data != route.data) {
            routes.insert(topic.to_owned(), route.clone());
        }
        routes.get(topic).cloned().expect("just inserted")
    }

    /// The cached route of `topic`, fetched first if it is not known yet.
    pub(crate) async fn route(&self, topic: &str) -> Result<Option<Arc<TopicRoute>>> {
        if let Some(r) = self.routes.read().expect("routes lock").get(topic) {
            return Ok(Some(r.clone()));
        }
        self.update_route(topic).await
    }

    /// A producer's route: the topic's own, or borrowed from `template_topic` so the broker
    /// creates the topic on first send.
    pub(crate) async fn publish_route(
        &self,
        topic: &str,
        template_topic: &str,
        queue_nums: i32,
    ) -> Result<Arc<TopicRoute>> {
        if let Some(r) = self.route(topic).await? {
            if !r.publish.is_empty() {
                return Ok(r);
            }
        }
        if let Some(template) = self.fetch_route(template_topic).await? {
            let route = TopicRoute::for_auto_create(topic, template, queue_nums);
            if !route.publish.is_empty() {
                return Ok(self.install_route(topic, route));
            }
        }
        Err(ClientError::NoRoute {
            topic: topic.to_owned(),
            reason: "no name server knows it and it cannot be auto-created \
                     (is autoCreateTopicEnable off?)"
                .into(),
        })
    }

    pub(crate) fn broker_addr(&self, broker_name: &str, broker_id: i64) -> Option<String> {
        self.brokers
            .read()
            .expect("brokers lock")
            .get(broker_name)
            .and_then(|ids| ids.get(&broker_id))
            .cloned()
    }

    /// The master of `broker_name`, refreshing `topic`'s route once if it is unknown.
    pub(crate) async fn master_addr(&self, broker_name: &str, topic: &str) -> Result<String> {
        if let Some(addr) = self.broker_addr(broker_name, 0) {
            return Ok(addr);
        }
        self.update_route(topic).await?;
        self.broker_addr(broker_name, 0)
            .ok_or_else(|| ClientError::NoRoute {
                topic: topic.to_owned(),
                reason: format!("broker {broker_name} has no master"),
            })
    }

    /// The address to pull `broker_name` from: the suggested id, else the master, else any.
    pub(crate) fn subscribe_addr(&self, broker_name: &str, suggested_id: i64) -> Option<String> {
        let brokers = self.brokers.read().expect("brokers lock");
        let ids = brokers.get(broker_name)?;
        ids.get(&suggested_id)
            .or_else(|| ids.get(&0))
            .or_else(|| ids.values().next())
            .cloned()
    }

    fn all_broker_addrs(&self, masters_only: bool) -> Vec<String> {
        let brokers = self.brokers.read().expect("brokers lock");
        let mut out: Vec<String> = brokers
            .values()
            .flat_map(|ids| ids.iter())
            .filter(|(id, _)| !masters_only || **id == 0)
            .map(|(_, addr)| addr.clone())
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Every master address of a route, sorted.
    pub(crate) fn any_broker_of(&self, topic: &str) -> Option<String> {
        let routes = self.routes.read().expect("routes lock");
        let route = routes.get(topic)?;
        let mut masters: Vec<&str> = route
            .data
            .broker_datas
            .iter()
            .filter_map(|b| b.master_addr())
            .collect();
        masters.sort();
        masters.first().map(|s| s.to_string())
    }

    // ---- heartbeats and periodic work --------------------------------------------------

    /// HEART_BEAT to every broker: masters only when the client runs no consumer.
    pub(crate) async fn heartbeat(&self) {
        let consumers: Vec<ConsumerData> = self
            .all_consumers()
            .iter()
            .map(|c| c.consumer_data())
            .collect();
        let mut producer_data: Vec<ProducerData> = self
            .producers
            .lock()
            .expect("producers lock")
            .iter()
            .map(|g| ProducerData {
                group_name: g.clone(),
            })
            .collect();
        if producer_data.is_empty() && consumers.is_empty() {
            return;
        }
        producer_data.push(ProducerData {
            group_name: CLIENT_INNER_PRODUCER_GROUP.into(),
        });
        let masters_only = consumers.is_empty();
        let body = json::to_vec(&HeartbeatData {
            client_id: self.client_id.clone(),
            consumer_data_set: consumers,
            producer_data_set: producer_data,
        });
        let body = bytes::Bytes::from(body);
        for addr in self.all_broker_addrs(masters_only) {
            let req = RemotingCommand::request(RequestCode::HEART_BEAT).with_body(body.clone());
            match self.invoke(&addr, req, self.options.request_timeout).await {
                Ok(r) if r.response_code() == ResponseCode::SUCCESS => {}
                Ok(r) => tracing::warn!(
                    "heartbeat to {addr} refused: {:?} {:?}",
                    r.response_code(),
                    r.remark
                ),
                Err(e) => tracing::debug!("heartbeat to {addr} failed: {e}"),
            }
        }
    }

    /// Refreshes the route of every topic in use.
    async fn refresh_routes(&self) {
        let mut topics: Vec<String> = self
            .routes
            .read()
            .expect("routes lock")
            .keys()
            .cloned()
            .collect();
        for c in self.all_consumers() {
            topics.extend(c.topics());
        }
        topics.sort();
        topics.dedup();
        for topic in topics {
            if let Err(e) = self.update_route(&topic).await {
                tracing::debug!("route refresh of {topic} failed: {e}");
            }
        }
    }

    /// Asks every consumer of this instance to rebalance now.
    pub(crate) fn trigger_rebalance(&self) {
        self.rebalance_now.notify_one();
    }

    pub(crate) async fn rebalance_all(&self) {
        for c in self.all_consumers() {
            c.rebalance().await;
        }
    }
}

/// Resolves once the watched stop flag is set (or its sender is gone).
pub(crate) async fn until_stopped(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await;
}

/// The periodic tasks of `behaviour.md` §2, until the instance stops or is dropped.
async fn periodic_tasks(instance: Weak<ClientInstance>, mut stop: watch::Receiver<bool>) {
    let Some(options) = instance.upgrade().map(|i| i.options.clone()) else {
        return;
    };
    let start = tokio::time::Instant::now();
    let mut routes = tokio::time::interval_at(
        start + Duration::from_millis(10),
        options.poll_name_server_interval,
    );
    let mut heartbeat =
        tokio::time::interval_at(start + Duration::from_secs(1), options.heartbeat_interval);
    let mut persist = tokio::time::interval_at(
        start + options.persist_offset_interval.max(Duration::from_secs(1)),
        options.persist_offset_interval,
    );
    let mut rebalance = tokio::time::interval(options.rebalance_interval);
    for t in [&mut routes, &mut heartbeat, &mut persist, &mut rebalance] {
        t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    }
    loop {
        let notified = async {
            match instance.upgrade() {
                Some(i) => i.rebalance_now.notified().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = crate::instance::until_stopped(&mut stop) => return,
            _ = routes.tick() => {
                let Some(i) = instance.upgrade() else { return };
                i.refresh_routes().await;
            }
            _ = heartbeat.tick() => {
                let Some(i) = instance.upgrade() else { return };
                i.heartbeat().await;
            }
            _ = persist.tick() => {
                let Some(i) = instance.upgrade() else { return };
                for c in i.all_consumers() {
                    c.persist_offsets().await;
                }
            }
            _ = rebalance.tick() => {
                let Some(i) = instance.upgrade() else { return };
                i.rebalance_all().await;
            }
            _ = notified => {
                let Some(i) = instance.upgrade() else { return };
                i.rebalance_all().await;
            }
        }
    }
}

/// The local address the OS would use to reach `addr` (no packet is sent).
fn local_ip_towards(addr: &str) -> IpAddr {
    use std::net::{ToSocketAddrs, UdpSocket};
    let fallback = IpAddr::from([127, 0, 0, 1]);
    let Some(target) = addr.to_socket_addrs().ok().and_then(|mut a| a.next()) else {
        return fallback;
    };
    let bind = if target.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    };
    UdpSocket::bind(bind)
        .and_then(|s| s.connect(target).and_then(|_| s.local_addr()))
        .map(|a| a.ip())
        .unwrap_or(fallback)
}

type Slot = Arc<OnceLock<Weak<ClientInstance>>>;

fn instance_of(slot: &Slot) -> Option<Arc<ClientInstance>> {
    slot.get().and_then(Weak::upgrade)
}

/// Requests brokers send down a client's connections (`ClientRemotingProcessor`).
fn client_router(slot: Slot) -> Router {
    let s = slot.clone();
    let notify = move |_c: Channel, req: RemotingCommand| {
        let s = s.clone();
        async move {
            if let Some(i) = instance_of(&s) {
                let group = req.ext("consumerGroup").unwrap_or("").to_owned();
                tracing::info!("consumer ids of group {group} changed; rebalancing");
                i.trigger_rebalance();
            }
            Ok(None) as HandlerResult
        }
    };
    let s = slot.clone();
    let reset = move |_c: Channel, req: RemotingCommand| {
        let s = s.clone();
        async move {
            let (Some(i), Some(group), Some(topic)) = (
                instance_of(&s),
                req.ext("group").map(str::to_owned),
                req.ext("topic").map(str::to_owned),
            ) else {
                return Ok(None);
            };
            let body: ResetOffsetBody = json::from_slice(req.body_bytes())?;
            if let Some(c) = i.consumer(&group) {
                c.reset_offsets(topic, body.offset_table).await;
            }
            Ok(None) as HandlerResult
        }
    };
    let s = slot.clone();
    let running = move |_c: Channel, req: RemotingCommand| {
        let s = s.clone();
        async move {
            let h: GetConsumerRunningInfoRequestHeader = req.decode_header()?;
            let consumer = instance_of(&s).and_then(|i| i.consumer(&h.consumer_group));
            Ok(Some(match consumer {
                Some(c) => RemotingCommand::response(ResponseCode::SUCCESS, None)
                    .with_body(json::to_vec(&c.running_info())),
                None => RemotingCommand::response(
                    ResponseCode::SYSTEM_ERROR,
                    Some(format!(
                        "The Consumer Group <{}> not exist in this consumer",
                        h.consumer_group
                    )),
                ),
            })) as HandlerResult
        }
    };
    let s = slot.clone();
    let status = move |_c: Channel, req: RemotingCommand| {
        let s = s.clone();
        async move {
            // `ClientRemotingProcessor.getConsumeStatus`: an unknown group reports no offsets.
            let h: GetConsumerStatusRequestHeader = req.decode_header()?;
            let consumer = instance_of(&s).and_then(|i| i.consumer(&h.group));
            let body = GetConsumerStatusBody {
                message_queue_table: consumer
                    .map(|c| c.offset_table(&h.topic))
                    .unwrap_or_default(),
                ..GetConsumerStatusBody::default()
            };
            Ok(Some(
                RemotingCommand::response(ResponseCode::SUCCESS, None)
                    .with_body(json::to_vec(&body)),
            )) as HandlerResult
        }
    };
    let s = slot.clone();
    let directly = move |_c: Channel, req: RemotingCommand| {
        let s = s.clone();
        async move {
            let h: ConsumerGroupRequestHeader = req.decode_header()?;
            let broker_name = req.ext("brokerName").unwrap_or("").to_owned();
            let consumer = instance_of(&s).and_then(|i| i.consumer(&h.consumer_group));
            let Some(c) = consumer else {
                return Ok(Some(RemotingCommand::response(
                    ResponseCode::SYSTEM_ERROR,
                    Some(format!(
                        "The Consumer Group <{}> not exist in this consumer",
                        h.consumer_group
                    )),
                )));
            };
            let body = bytes::Bytes::copy_from_slice(req.body_bytes());
            let record = ferrocket_common::MessageRecord::decode(&body, false)?;
            let message =
                crate::MessageExt::from_record(record, &broker_name, crate::consumer::MAX_BODY)?;
            let result = c.consume_directly(message).await;
            Ok(Some(
                RemotingCommand::response(ResponseCode::SUCCESS, None)
                    .with_body(json::to_vec(&result)),
            )) as HandlerResult
        }
    };
    let s = slot.clone();
    let check = move |channel: Channel, req: RemotingCommand| {
        let s = s.clone();
        async move {
            let h: CheckTransactionStateRequestHeader = req.decode_header()?;
            let body = bytes::Bytes::copy_from_slice(req.body_bytes());
            let record = ferrocket_common::MessageRecord::decode(&body, false)?;
            let message = crate::MessageExt::from_record(record, "", crate::consumer::MAX_BODY)?;
            let group = message
                .property(ferrocket_common::properties::keys::PRODUCER_GROUP)
                .unwrap_or("")
                .to_owned();
            match instance_of(&s).and_then(|i| i.transaction_listener(&group)) {
                Some(listener) => {
                    crate::transaction::answer_check(channel, h, group, message, listener)
                }
                None => tracing::debug!(%group, "transaction check for a group not here"),
            }
            Ok(None) as HandlerResult
        }
    };
    Router::new()
        .route(RequestCode::NOTIFY_CONSUMER_IDS_CHANGED, notify)
        .route(RequestCode::RESET_CONSUMER_CLIENT_OFFSET, reset)
        .route(RequestCode::GET_CONSUMER_RUNNING_INFO, running)
        .route(RequestCode::GET_CONSUMER_STATUS_FROM_CLIENT, status)
        .route(RequestCode::CONSUME_MESSAGE_DIRECTLY, directly)
        .route(RequestCode::CHECK_TRANSACTION_STATE, check)
}
