//! The broker's shared state and its request router.

use crate::config::BrokerConfig;
use crate::handlers;
use crate::topic_config::TopicConfigManager;
use ferrocket_common::crc;
use ferrocket_protocol::body::RegisterBrokerBody;
use ferrocket_protocol::header::{RegisterBrokerRequestHeader, UnRegisterBrokerRequestHeader};
use ferrocket_protocol::json;
use ferrocket_protocol::{RemotingCommand, RequestCode, ResponseCode};
use ferrocket_remoting::{Channel, ClientConfig, RemotingClient, Router};
use ferrocket_store::MessageStore;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// Everything the handlers share.
#[derive(Debug)]
pub struct Broker {
    pub config: BrokerConfig,
    pub store: Arc<MessageStore>,
    pub topics: TopicConfigManager,
    /// Connections to the name servers.
    namesrv_client: RemotingClient,
    register_now: Notify,
}

/// How long a registration may take (`registerBrokerTimeoutMills`).
const REGISTER_TIMEOUT: Duration = Duration::from_secs(6);

impl Broker {
    pub fn new(config: BrokerConfig, store: Arc<MessageStore>) -> Arc<Broker> {
        let topics = TopicConfigManager::load(&config);
        if let Err(e) = topics.persist() {
            tracing::warn!("could not write topics.json: {e}");
        }
        Arc::new(Broker {
            config,
            store,
            topics,
            namesrv_client: RemotingClient::new(ClientConfig::default(), Router::new()),
            register_now: Notify::new(),
        })
    }

    /// Routes every request code the broker serves.
    pub fn router(self: &Arc<Self>) -> Router {
        let me = self.clone();
        let send = move |channel: Channel, request: RemotingCommand| {
            handlers::send::send_message(me.clone(), channel, request)
        };
        let send: Arc<dyn ferrocket_remoting::Processor> = Arc::new(send);
        Router::new().route_shared(
            &[
                RequestCode::SEND_MESSAGE,
                RequestCode::SEND_MESSAGE_V2,
                RequestCode::SEND_BATCH_MESSAGE,
            ],
            send,
        )
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
                .with_broker_permission(self.config.broker_permission),
        };
        let bytes = json::to_vec(&body);
        let header = RegisterBrokerRequestHeader {
            broker_name: self.config.broker_name.clone(),
            broker_addr: self.config.broker_addr(),
            cluster_name: self.config.cluster_name.clone(),
            ha_server_addr: self.config.ha_addr(),
            broker_id: self.config.broker_id,
            compressed: Some(false),
            body_crc32: Some(crc::body_crc(&bytes)),
        };
        RemotingCommand::request_with_header(RequestCode::REGISTER_BROKER, &header).with_body(bytes)
    }

    /// Registers with every name server in parallel; failures are logged, not fatal.
    pub async fn register_all(self: &Arc<Self>) {
        let mut calls = tokio::task::JoinSet::new();
        for addr in self.config.namesrv_addrs() {
            let request = self.register_request();
            let client = self.namesrv_client.clone();
            calls.spawn(async move {
                match client.invoke(&addr, request, REGISTER_TIMEOUT).await {
                    Ok(r) if r.response_code() == ResponseCode::SUCCESS => {}
                    Ok(r) => tracing::warn!(namesrv = %addr, code = r.code, remark = ?r.remark, "registration refused"),
                    Err(e) => tracing::warn!(namesrv = %addr, "registration failed: {e}"),
                }
            });
        }
        while calls.join_next().await.is_some() {}
    }

    /// Registers now, every `registerNameServerPeriod`, and whenever a topic changes.
    pub async fn registration_loop(self: Arc<Self>) {
        let mut tick = tokio::time::interval(self.config.register_period);
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
        for addr in self.config.namesrv_addrs() {
            let header = UnRegisterBrokerRequestHeader {
                broker_name: self.config.broker_name.clone(),
                broker_addr: self.config.broker_addr(),
                cluster_name: self.config.cluster_name.clone(),
                broker_id: self.config.broker_id,
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
