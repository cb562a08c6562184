//! The broker's shared state and its request router.

use crate::config::BrokerConfig;
use crate::consumers::{Clients, SubscriptionGroups};
use crate::handlers;
use crate::long_poll::PullHolds;
use crate::offsets::ConsumerOffsets;
use crate::topic_config::TopicConfigManager;
use ferrocket_common::crc;
use ferrocket_protocol::body::{DataVersion, RegisterBrokerBody};
use ferrocket_protocol::header::{RegisterBrokerRequestHeader, UnRegisterBrokerRequestHeader};
use ferrocket_protocol::json;
use ferrocket_protocol::{RemotingCommand, RequestCode, ResponseCode};
use ferrocket_remoting::{Channel, ClientConfig, RemotingClient, Router};
use ferrocket_store::MessageStore;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::Notify;

/// Everything the handlers share.
#[derive(Debug)]
pub struct Broker {
    /// The configuration the broker started with: its name, cluster, id, addresses and store
    /// location come from here, so UPDATE_BROKER_CONFIG changes to them apply after a restart.
    pub boot_config: BrokerConfig,
    /// The current configuration: UPDATE_BROKER_CONFIG replaces it whole; handlers read live
    /// values (permission, trace switch, region, size limit) from it.
    config: RwLock<Arc<BrokerConfig>>,
    /// The configuration's own version (`Configuration.dataVersion`), bumped by each update.
    config_version: Mutex<DataVersion>,
    /// Held through a whole UPDATE_BROKER_CONFIG (Java's handler is `synchronized`), so the
    /// file written last holds the newest settings.
    config_update: tokio::sync::Mutex<()>,
    /// `brokerIP1:listenPort` parsed once; `None` when it is not a socket address.
    store_host: Option<std::net::SocketAddr>,
    pub store: Arc<MessageStore>,
    pub topics: TopicConfigManager,
    pub offsets: ConsumerOffsets,
    pub groups: SubscriptionGroups,
    /// The scheduler's progress per delay level.
    pub delay_offsets: crate::schedule::DelayOffsets,
    pub clients: Clients,
    /// Consumer groups' SQL92 filters by topic.
    pub filters: crate::consumer_filter::ConsumerFilters,
    /// Per-topic and per-group counters (`BrokerStatsManager`).
    pub broker_stats: crate::stats::BrokerStats,
    pub holds: Arc<PullHolds>,
    pub locks: crate::locks::QueueLocks,
    pub boot_timestamp: i64,
    pub started: std::time::Instant,
    stopping: AtomicBool,
    /// Connections to the name servers.
    namesrv_client: RemotingClient,
    register_now: Notify,
}

/// How long a registration may take (`registerBrokerTimeoutMills`).
const REGISTER_TIMEOUT: Duration = Duration::from_secs(6);
/// Seconds between two samples of the broker's counters (`crate::stats`).
const BROKER_STATS_EVERY: u64 = (crate::stats::SAMPLE_PERIOD_MS / 1000) as u64;

impl Broker {
    /// The address stored in every record and offset message id: `brokerIP1:listenPort`, or
    /// the local end of `channel` when that does not parse.
    pub fn store_host(&self, channel: &Channel) -> std::net::SocketAddr {
        self.store_host.unwrap_or_else(|| channel.local_addr())
    }

    /// `brokerIP1:listenPort`: the born and store host of the records the broker writes on
    /// its own (transaction op records).
    pub fn broker_host(&self) -> std::net::SocketAddr {
        self.store_host.unwrap_or_else(|| {
            std::net::SocketAddr::from(([0, 0, 0, 0], self.boot_config.listen_port))
        })
    }

    /// The current configuration.
    pub fn config(&self) -> Arc<BrokerConfig> {
        self.config.read().expect("config lock").clone()
    }

    /// The version GET_BROKER_CONFIG reports.
    pub fn config_version(&self) -> DataVersion {
        *self.config_version.lock().expect("config version lock")
    }

    /// UPDATE_BROKER_CONFIG: applies `settings` to the current configuration (all or none),
    /// hands the store its live settings, bumps the version and rewrites the config file.
    /// A `brokerPermission` change also bumps the topics' version and re-registers at once,
    /// so name servers route by the new permission.
    pub async fn update_config(
        self: &Arc<Self>,
        settings: &[(String, String)],
    ) -> Result<(), crate::config::ConfigError> {
        let _one_at_a_time = self.config_update.lock().await;
        let next = {
            let mut current = self.config.write().expect("config lock");
            let (next, ignored) = current.updated(settings)?;
            if !ignored.is_empty() {
                tracing::warn!(?ignored, "UPDATE_BROKER_CONFIG: unknown keys ignored");
            }
            let next = Arc::new(next);
            *current = next.clone();
            self.config_version
                .lock()
                .expect("config version lock")
                .next_version();
            next
        };
        tracing::info!(?settings, "broker config updated");
        self.store.apply_live_settings(&next.store);
        let path = next.config_file_path();
        let text = next.persisted_properties();
        let written = tokio::task::spawn_blocking(move || {
            crate::config_file::write_text(&path, text.as_bytes())
        })
        .await;
        match written {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!("could not write the broker config file: {e}"),
            Err(e) => tracing::warn!("broker config write task failed: {e}"),
        }
        if settings.iter().any(|(k, _)| k == "brokerPermission") {
            self.topics.next_data_version();
            self.registration_needed();
        }
        Ok(())
    }

    /// `holds` must be the one the store's arrival hook feeds (see [`crate::open_store`]).
    pub fn new(
        config: BrokerConfig,
        store: Arc<MessageStore>,
        holds: Arc<PullHolds>,
    ) -> Arc<Broker> {
        let topics = TopicConfigManager::load(&config);
        if let Err(e) = topics.persist() {
            tracing::warn!("could not write topics.json: {e}");
        }
        let offsets = ConsumerOffsets::load(&config.store.root_dir);
        let groups = SubscriptionGroups::load(&config.store.root_dir);
        let filters = crate::consumer_filter::ConsumerFilters::load(
            &config.store.root_dir,
            ferrocket_common::time::now_ms(),
        );
        let delay_offsets = crate::schedule::DelayOffsets::load(
            &config.store.root_dir,
            &store,
            &config.store.message_delay_level,
        );
        let broker_stats = crate::stats::BrokerStats::new(&config.cluster_name);
        Arc::new(Broker {
            store_host: config.broker_addr().parse().ok(),
            config: RwLock::new(Arc::new(config.clone())),
            config_version: Mutex::new(DataVersion::now()),
            config_update: tokio::sync::Mutex::new(()),
            boot_config: config,
            store,
            topics,
            offsets,
            groups,
            delay_offsets,
            clients: Clients::default(),
            filters,
            broker_stats,
            holds,
            locks: Default::default(),
            boot_timestamp: ferrocket_common::time::now_ms(),
            started: std::time::Instant::now(),
            stopping: AtomicBool::new(false),
            namesrv_client: RemotingClient::new(ClientConfig::default(), Router::new()),
            register_now: Notify::new(),
        })
    }

    /// Routes every request code the broker serves.
    pub fn router(self: &Arc<Self>) -> Router {
        self.router_for(true)
    }

    /// The VIP channel (`listenPort - 2`) serves everything but PULL_MESSAGE.
    pub fn vip_router(self: &Arc<Self>) -> Router {
        self.router_for(false)
    }

    fn router_for(self: &Arc<Self>, with_pull: bool) -> Router {
        let me = self.clone();
        let send = move |channel: Channel, request: RemotingCommand| {
            handlers::send::send_message(me.clone(), channel, request)
        };
        let send: Arc<dyn ferrocket_remoting::Processor> = Arc::new(send);
        let me = self.clone();
        let pull = move |channel: Channel, request: RemotingCommand| {
            handlers::pull::pull_message(me.clone(), channel, request)
        };
        type Handler =
            fn(&Arc<Broker>, &Channel, &RemotingCommand) -> ferrocket_remoting::HandlerResult;
        let sync_handlers: [(RequestCode, Handler); 38] = [
            (
                RequestCode::GET_ALL_TOPIC_CONFIG,
                handlers::admin::all_topic_config,
            ),
            (
                RequestCode::GET_ALL_SUBSCRIPTIONGROUP_CONFIG,
                handlers::admin::all_groups,
            ),
            (
                RequestCode::GET_TOPIC_STATS_INFO,
                handlers::admin::topic_stats,
            ),
            (
                RequestCode::GET_CONSUME_STATS,
                handlers::progress::consume_stats,
            ),
            (
                RequestCode::GET_BROKER_CONSUME_STATS,
                handlers::progress::broker_consume_stats,
            ),
            (
                RequestCode::QUERY_CONSUME_TIME_SPAN,
                handlers::progress::consume_time_span,
            ),
            (
                RequestCode::QUERY_CORRECTION_OFFSET,
                handlers::progress::correction_offset,
            ),
            (
                RequestCode::CLONE_GROUP_OFFSET,
                handlers::progress::clone_group_offset,
            ),
            (
                RequestCode::GET_ALL_CONSUMER_OFFSET,
                handlers::progress::all_consumer_offsets,
            ),
            (
                RequestCode::DELETE_EXPIRED_COMMITLOG,
                handlers::admin::delete_expired_commit_log,
            ),
            (
                RequestCode::UPDATE_AND_CREATE_ACL_CONFIG,
                handlers::acl::update_access_config,
            ),
            (
                RequestCode::DELETE_ACL_CONFIG,
                handlers::acl::delete_access_config,
            ),
            (
                RequestCode::UPDATE_GLOBAL_WHITE_ADDRS_CONFIG,
                handlers::acl::update_global_white_addrs,
            ),
            (
                RequestCode::GET_BROKER_CLUSTER_ACL_INFO,
                handlers::acl::acl_config_version,
            ),
            (
                RequestCode::GET_ALL_PRODUCER_INFO,
                handlers::admin::all_producers,
            ),
            (
                RequestCode::VIEW_BROKER_STATS_DATA,
                handlers::admin::view_stats,
            ),
            (RequestCode::QUERY_CONSUME_QUEUE, |b, _, r| {
                handlers::query::query_consume_queue(b, r)
            }),
            (
                RequestCode::GET_CONSUMER_CONNECTION_LIST,
                handlers::admin::consumer_connections,
            ),
            (
                RequestCode::GET_PRODUCER_CONNECTION_LIST,
                handlers::admin::producer_connections,
            ),
            (
                RequestCode::QUERY_TOPIC_CONSUME_BY_WHO,
                handlers::admin::consumed_by,
            ),
            (
                RequestCode::GET_SYSTEM_TOPIC_LIST_FROM_BROKER,
                handlers::admin::system_topics,
            ),
            (
                RequestCode::GET_BROKER_RUNTIME_INFO,
                handlers::admin::runtime_info,
            ),
            (
                RequestCode::GET_BROKER_CONFIG,
                handlers::admin::broker_config,
            ),
            (RequestCode::LOCK_BATCH_MQ, handlers::admin::lock_batch),
            (
                RequestCode::GET_ALL_DELAY_OFFSET,
                handlers::admin::all_delay_offsets,
            ),
            (RequestCode::UNLOCK_BATCH_MQ, handlers::admin::unlock_batch),
            (RequestCode::QUERY_CONSUMER_OFFSET, |b, _, r| {
                handlers::offsets::query_consumer_offset(b, r)
            }),
            (RequestCode::UPDATE_CONSUMER_OFFSET, |b, _, r| {
                handlers::offsets::update_consumer_offset(b, r)
            }),
            (RequestCode::INVOKE_BROKER_TO_RESET_OFFSET, |b, _, r| {
                handlers::offsets::reset_offset(b, r)
            }),
            (RequestCode::GET_MAX_OFFSET, |b, _, r| {
                handlers::offsets::max_offset(b, r)
            }),
            (RequestCode::GET_MIN_OFFSET, |b, _, r| {
                handlers::offsets::min_offset(b, r)
            }),
            (RequestCode::SEARCH_OFFSET_BY_TIMESTAMP, |b, _, r| {
                handlers::offsets::search_offset(b, r)
            }),
            (RequestCode::GET_EARLIEST_MSG_STORETIME, |b, _, r| {
                handlers::offsets::earliest_store_time(b, r)
            }),
            (RequestCode::VIEW_MESSAGE_BY_ID, |b, _, r| {
                handlers::query::view_message(b, r)
            }),
            (RequestCode::QUERY_MESSAGE, |b, _, r| {
                handlers::query::query_message(b, r)
            }),
            (RequestCode::UNREGISTER_CLIENT, |b, _, r| {
                handlers::clients::unregister_client(b, r)
            }),
            (RequestCode::CHECK_CLIENT_CONFIG, |b, _, r| {
                handlers::clients::check_client_config(b, r)
            }),
            (RequestCode::GET_CONSUMER_LIST_BY_GROUP, |b, _, r| {
                handlers::clients::consumer_list(b, r)
            }),
        ];
        let mut router = Router::new().route_shared(
            &[
                RequestCode::SEND_MESSAGE,
                RequestCode::SEND_MESSAGE_V2,
                RequestCode::SEND_BATCH_MESSAGE,
            ],
            send,
        );
        if with_pull {
            router = router.route(RequestCode::PULL_MESSAGE, pull);
        }
        // Handlers that wait for a disk write (the configs they change) without holding a
        // runtime worker.
        let async_routes = [
            (
                RequestCode::UPDATE_AND_CREATE_TOPIC,
                self.handler(handlers::admin::create_topic),
            ),
            (
                RequestCode::DELETE_TOPIC_IN_BROKER,
                self.handler(handlers::admin::delete_topic),
            ),
            (
                RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP,
                self.handler(handlers::admin::update_group),
            ),
            (
                RequestCode::CLEAN_UNUSED_TOPIC,
                self.handler(handlers::admin::clean_unused_topics),
            ),
            (
                RequestCode::CLEAN_EXPIRED_CONSUMEQUEUE,
                self.handler(handlers::admin::clean_expired_consume_queues),
            ),
            (
                RequestCode::DELETE_SUBSCRIPTIONGROUP,
                self.handler(handlers::admin::delete_group),
            ),
            (
                RequestCode::UPDATE_BROKER_CONFIG,
                self.handler(handlers::admin::update_broker_config),
            ),
            (
                RequestCode::HEART_BEAT,
                self.handler(handlers::clients::heartbeat),
            ),
            (
                RequestCode::CONSUMER_SEND_MSG_BACK,
                self.handler(handlers::send_back::send_back),
            ),
            (
                RequestCode::END_TRANSACTION,
                self.handler(handlers::transaction::end_transaction),
            ),
            (
                RequestCode::SEND_REPLY_MESSAGE,
                self.handler(handlers::reply::send_reply),
            ),
            (
                RequestCode::SEND_REPLY_MESSAGE_V2,
                self.handler(handlers::reply::send_reply),
            ),
            (
                RequestCode::RESUME_CHECK_HALF_MESSAGE,
                self.handler(handlers::transaction::resume_check_half_message),
            ),
            (
                RequestCode::GET_CONSUMER_RUNNING_INFO,
                self.handler(handlers::call_consumer::running_info),
            ),
            (
                RequestCode::CONSUME_MESSAGE_DIRECTLY,
                self.handler(handlers::call_consumer::consume_directly),
            ),
            (
                RequestCode::INVOKE_BROKER_TO_GET_CONSUMER_STATUS,
                self.handler(handlers::call_consumer::consumer_status),
            ),
        ];
        for (code, processor) in async_routes {
            router = router.route_shared(&[code], processor);
        }
        for (code, handler) in sync_handlers {
            let me = self.clone();
            router = router.route(code, move |channel: Channel, request: RemotingCommand| {
                let result = handler(&me, &channel, &request);
                async move { result }
            });
        }
        router
    }

    /// An async handler as a processor that owns a reference to the broker.
    fn handler<F, Fut>(self: &Arc<Self>, handler: F) -> Arc<dyn ferrocket_remoting::Processor>
    where
        F: Fn(Arc<Broker>, Channel, RemotingCommand) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = ferrocket_remoting::HandlerResult> + Send + 'static,
    {
        let me = self.clone();
        Arc::new(move |channel: Channel, request: RemotingCommand| {
            handler(me.clone(), channel, request)
        })
    }

    /// True once shutdown began: held pulls answer at once.
    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::Acquire)
    }

    /// Starts shutting down: wakes every held pull so it answers now.
    pub fn begin_stop(&self) {
        self.stopping.store(true, Ordering::Release);
        self.holds.wake_all();
    }

    /// Writes offsets, subscription groups and topics.
    pub fn persist(&self) {
        for (what, result) in [
            ("consumerOffset.json", self.offsets.persist()),
            ("delayOffset.json", self.delay_offsets.persist()),
            ("subscriptionGroup.json", self.groups.persist()),
            ("topics.json", self.topics.persist()),
            ("consumerFilter.json", self.persist_filters()),
        ] {
            if let Err(e) = result {
                tracing::warn!("could not write {what}: {e}");
            }
        }
    }

    fn persist_filters(&self) -> std::io::Result<()> {
        let clean_after = self.config().filter_data_clean_time_span.as_millis();
        self.filters.persist(
            ferrocket_common::time::now_ms(),
            i64::try_from(clean_after).unwrap_or(i64::MAX),
        )
    }

    /// Periodic housekeeping: offsets every 5 s (`flushConsumerOffsetInterval`), dead clients
    /// (closed connections, or silent for 120 s) every 10 s, abandoned holds.
    pub async fn housekeeping_loop(self: Arc<Self>) {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        tick.tick().await;
        let mut round = 0u64;
        loop {
            tick.tick().await;
            round += 1;
            // The write ends in an fsync: keep it off the runtime's worker threads.
            let me = self.clone();
            match tokio::task::spawn_blocking(move || me.offsets.persist()).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!("could not write consumerOffset.json: {e}"),
                Err(e) => tracing::warn!("offset persistence task failed: {e}"),
            }
            self.holds.prune();
            if round.is_multiple_of(2) {
                // Java writes consumerFilter.json every 10 s.
                let me = self.clone();
                match tokio::task::spawn_blocking(move || me.persist_filters()).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => tracing::warn!("could not write consumerFilter.json: {e}"),
                    Err(e) => tracing::warn!("filter persistence task failed: {e}"),
                }
                for group in self
                    .clients
                    .remove_dead(std::time::Instant::now(), Duration::from_secs(120))
                {
                    handlers::clients::notify_ids_changed(&self, &group);
                    handlers::clients::forget_if_gone(&self, &group);
                }
            }
        }
    }

    /// Samples the store's statistics once a second, as Java's `StoreStatsService` thread
    /// does: the TPS figures of GET_BROKER_RUNTIME_INFO are differences between samples.
    /// The broker's own counters are sampled every 10 s.
    pub async fn stats_sampling_loop(self: Arc<Self>) {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        let mut seconds = 0u64;
        loop {
            tick.tick().await;
            let now = ferrocket_common::time::now_ms();
            self.store.stats().sample(now);
            seconds += 1;
            if seconds.is_multiple_of(BROKER_STATS_EVERY) {
                self.broker_stats.sample(now);
            }
        }
    }

    /// A group's retry or dead-letter topic (`createTopicInSendMessageBackMethod`): `queues`
    /// read-write queues, announced to the name servers when created now.
    pub async fn create_send_back_topic(
        &self,
        topic: &str,
        queues: i32,
    ) -> std::io::Result<ferrocket_protocol::body::TopicConfig> {
        let (config, created) = self
            .topics
            .create_plain(
                topic,
                queues,
                ferrocket_protocol::body::perm::READ | ferrocket_protocol::body::perm::WRITE,
            )
            .await?;
        if created {
            self.registration_needed();
        }
        Ok(config)
    }

    /// A consumer group's config, created if missing when `autoCreateSubscriptionGroup` is on
    /// now (`findSubscriptionGroupConfig`).
    pub async fn find_group(
        &self,
        group: &str,
    ) -> std::io::Result<Option<ferrocket_protocol::body::SubscriptionGroupConfig>> {
        let auto_create = self.config().auto_create_subscription_group;
        self.groups.find(group, auto_create).await
    }

    /// Asks the registration loop to register again now (a topic changed).
    pub fn registration_needed(&self) {
        self.register_now.notify_one();
    }

    fn register_request(&self) -> RemotingCommand {
        let body = RegisterBrokerBody {
            filter_server_list: Vec::new(),
            topic_config_serialize_wrapper: self
                .topics
                .with_broker_permission(self.config().broker_permission),
        };
        let bytes = json::to_vec(&body);
        let header = RegisterBrokerRequestHeader {
            broker_name: self.boot_config.broker_name.clone(),
            broker_addr: self.boot_config.broker_addr(),
            cluster_name: self.boot_config.cluster_name.clone(),
            ha_server_addr: self.boot_config.ha_addr(),
            broker_id: self.boot_config.broker_id,
            compressed: Some(false),
            body_crc32: Some(crc::body_crc(&bytes)),
        };
        RemotingCommand::request_with_header(RequestCode::REGISTER_BROKER, &header).with_body(bytes)
    }

    /// Registers with every name server in parallel; failures are logged, not fatal.
    pub async fn register_all(self: &Arc<Self>) {
        let mut calls = tokio::task::JoinSet::new();
        for addr in self.boot_config.namesrv_addrs() {
            let request = self.register_request();
            let client = self.namesrv_client.clone();
            calls.spawn(async move {
                match client.invoke(&addr, request, REGISTER_TIMEOUT).await {
                    Ok(r) if r.response_code() == ResponseCode::SUCCESS => {
                        tracing::info!(namesrv = %addr, "registered with name server")
                    }
                    Ok(r) => tracing::warn!(namesrv = %addr, code = r.code, remark = ?r.remark, "registration refused"),
                    Err(e) => tracing::warn!(namesrv = %addr, "registration failed: {e}"),
                }
            });
        }
        while calls.join_next().await.is_some() {}
    }

    /// Registers now, every `registerNameServerPeriod`, and whenever a topic changes.
    pub async fn registration_loop(self: Arc<Self>) {
        let mut tick = tokio::time::interval(self.boot_config.register_period);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = self.register_now.notified() => {}
            }
            self.register_all().await;
        }
    }

    /// UNREGISTER_BROKER to every name server (clean shutdown).
    pub async fn unregister_all(&self) {
        for addr in self.boot_config.namesrv_addrs() {
            let header = UnRegisterBrokerRequestHeader {
                broker_name: self.boot_config.broker_name.clone(),
                broker_addr: self.boot_config.broker_addr(),
                cluster_name: self.boot_config.cluster_name.clone(),
                broker_id: self.boot_config.broker_id,
            };
            let request =
                RemotingCommand::request_with_header(RequestCode::UNREGISTER_BROKER, &header);
            if let Err(e) = self
                .namesrv_client
                .invoke(&addr, request, REGISTER_TIMEOUT)
                .await
            {
                tracing::warn!(namesrv = %addr, "unregistration failed: {e}");
            }
        }
        self.namesrv_client.shutdown().await;
    }
}
