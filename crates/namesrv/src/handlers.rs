//! One handler per request code: each reads its header and body, asks the route table or the
//! KV config, and builds the response Java would send.

use crate::kv_config::{KvConfig, ORDER_TOPIC_CONFIG};
use crate::route_table::{Registration, RouteTable};
use crate::NamesrvConfig;
use ferrocket_protocol::body::{
    DataVersion, KVTable, RegisterBrokerBody, TopicConfigSerializeWrapper, TopicList,
};
use ferrocket_protocol::codes::version;
use ferrocket_protocol::header::*;
use ferrocket_protocol::json::{self, ToJson};
use ferrocket_protocol::{RemotingCommand, RequestCode, ResponseCode};
use ferrocket_remoting::{Channel, HandlerResult, Router};
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Topic sys flag bits (`TopicSysFlag`): a unit topic, and a topic with unit subscriptions.
const TOPIC_FLAG_UNIT: i32 = 0x1;
const TOPIC_FLAG_UNIT_SUB: i32 = 0x2;

/// The name server's shared state.
#[derive(Debug)]
pub struct Namesrv {
    pub(crate) routes: Mutex<RouteTable>,
    kv: Mutex<KvConfig>,
    config: Mutex<NamesrvConfig>,
    /// Broker addresses registered over each connection, dropped when it closes.
    connections: Mutex<HashMap<SocketAddr, HashSet<String>>>,
    /// Taken for each write of the KV or config file: one write at a time, off the runtime.
    file_writes: tokio::sync::Mutex<()>,
}

type Handler = fn(&Arc<Namesrv>, &Channel, &RemotingCommand) -> HandlerResult;

fn ok() -> RemotingCommand {
    RemotingCommand::response(ResponseCode::SUCCESS, None)
}

fn json_body(value: &impl ToJson) -> RemotingCommand {
    ok().with_body(json::to_vec(value))
}

impl Namesrv {
    pub fn new(config: NamesrvConfig) -> std::io::Result<Arc<Namesrv>> {
        let kv = KvConfig::load(config.kv_config_path.clone())?;
        Ok(Arc::new(Namesrv {
            routes: Mutex::new(RouteTable::new()),
            kv: Mutex::new(kv),
            config: Mutex::new(config),
            connections: Mutex::new(HashMap::new()),
            file_writes: tokio::sync::Mutex::new(()),
        }))
    }

    /// Routes every name-server request code to its handler.
    pub fn router(self: &Arc<Self>) -> Router {
        let table: [(RequestCode, Handler); 17] = [
            (RequestCode::REGISTER_BROKER, Namesrv::register_broker),
            (RequestCode::UNREGISTER_BROKER, Namesrv::unregister_broker),
            (RequestCode::QUERY_DATA_VERSION, Namesrv::query_data_version),
            (RequestCode::GET_ROUTEINFO_BY_TOPIC, Namesrv::route_by_topic),
            (RequestCode::GET_BROKER_CLUSTER_INFO, Namesrv::cluster_info),
            (
                RequestCode::GET_ALL_TOPIC_LIST_FROM_NAMESERVER,
                Namesrv::all_topics,
            ),
            (
                RequestCode::GET_TOPICS_BY_CLUSTER,
                Namesrv::topics_by_cluster,
            ),
            (
                RequestCode::GET_SYSTEM_TOPIC_LIST_FROM_NS,
                Namesrv::system_topics,
            ),
            (RequestCode::DELETE_TOPIC_IN_NAMESRV, Namesrv::delete_topic),
            (
                RequestCode::WIPE_WRITE_PERM_OF_BROKER,
                Namesrv::wipe_write_perm,
            ),
            (
                RequestCode::ADD_WRITE_PERM_OF_BROKER,
                Namesrv::add_write_perm,
            ),
            (RequestCode::GET_KV_CONFIG, Namesrv::get_kv),
            (RequestCode::GET_KVLIST_BY_NAMESPACE, Namesrv::kv_list),
            (RequestCode::GET_NAMESRV_CONFIG, Namesrv::get_config),
            (RequestCode::GET_UNIT_TOPIC_LIST, Namesrv::unit_topics),
            (
                RequestCode::GET_HAS_UNIT_SUB_TOPIC_LIST,
                Namesrv::unit_sub_topics,
            ),
            (
                RequestCode::GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST,
                Namesrv::unit_sub_non_unit_topics,
            ),
        ];
        let mut router = Router::new();
        for (code, handler) in table {
            let me = self.clone();
            router = router.route(code, move |channel: Channel, request: RemotingCommand| {
                let result = handler(&me, &channel, &request);
                async move { result }
            });
        }
        // The handlers that write a file wait for it without holding a runtime worker.
        let me = self.clone();
        router = router.route(RequestCode::PUT_KV_CONFIG, move |_: Channel, request| {
            me.clone().put_kv(request)
        });
        let me = self.clone();
        router = router.route(RequestCode::DELETE_KV_CONFIG, move |_: Channel, request| {
            me.clone().delete_kv(request)
        });
        let me = self.clone();
        router = router.route(
            RequestCode::UPDATE_NAMESRV_CONFIG,
            move |_: Channel, request| me.clone().update_config(request),
        );
        router
    }

    /// Writes `contents()` to `path` durably on a blocking thread, one write at a time. The
    /// contents are taken when this write's turn comes, so the last write holds the newest
    /// state whatever order the requests raced in.
    async fn write_file(
        &self,
        path: std::path::PathBuf,
        contents: impl FnOnce() -> Vec<u8>,
    ) -> std::io::Result<()> {
        let _turn = self.file_writes.lock().await;
        let bytes = contents();
        tokio::task::spawn_blocking(move || crate::config_file::write_durably(&path, &bytes))
            .await
            .map_err(std::io::Error::other)?
    }

    async fn write_kv_file(&self) -> std::io::Result<()> {
        let path = self.kv.lock().expect("kv lock").path().to_owned();
        self.write_file(path, || self.kv.lock().expect("kv lock").file_contents())
            .await
    }

    fn register_broker(
        self: &Arc<Self>,
        channel: &Channel,
        request: &RemotingCommand,
    ) -> HandlerResult {
        let h: RegisterBrokerRequestHeader = request.decode_header()?;
        let body = request.body_bytes();
        if let Some(crc) = h.body_crc32.filter(|&c| c != 0) {
            if ferrocket_common::crc::body_crc(body) != crc {
                return Ok(Some(RemotingCommand::response(
                    ResponseCode::SYSTEM_ERROR,
                    Some("crc32 not match".to_owned()),
                )));
            }
        }
        let body = if body.is_empty() {
            RegisterBrokerBody::default()
        } else if request.version >= version::V3_0_11 {
            RegisterBrokerBody::decode(body, h.compressed.unwrap_or(false))?
        } else {
            RegisterBrokerBody {
                filter_server_list: Vec::new(),
                topic_config_serialize_wrapper: json::from_slice::<TopicConfigSerializeWrapper>(
                    body,
                )?,
            }
        };
        let result = self.routes.lock().expect("routes lock").register(
            &Registration {
                cluster_name: &h.cluster_name,
                broker_addr: &h.broker_addr,
                broker_name: &h.broker_name,
                broker_id: h.broker_id,
                ha_server_addr: &h.ha_server_addr,
                topics: &body.topic_config_serialize_wrapper,
                filter_servers: &body.filter_server_list,
            },
            Instant::now(),
        );
        self.watch_connection(channel, &h.broker_addr);
        let mut response = RemotingCommand::response_with_header(
            ResponseCode::SUCCESS,
            &RegisterBrokerResponseHeader {
                ha_server_addr: result.ha_server_addr,
                master_addr: result.master_addr,
            },
        );
        if let Some(table) = self
            .kv
            .lock()
            .expect("kv lock")
            .namespace(ORDER_TOPIC_CONFIG)
        {
            response.body = Some(
                json::to_vec(&KVTable {
                    table: table.clone(),
                })
                .into(),
            );
        }
        Ok(Some(response))
    }

    /// Remembers that `broker_addr` registered over `channel`; the first time a connection is
    /// seen, a task waits for it to close and then forgets its brokers (`onChannelDestroy`).
    fn watch_connection(self: &Arc<Self>, channel: &Channel, broker_addr: &str) {
        let peer = channel.peer_addr();
        let first = {
            let mut connections = self.connections.lock().expect("connections lock");
            let first = !connections.contains_key(&peer);
            connections
                .entry(peer)
                .or_default()
                .insert(broker_addr.to_owned());
            first
        };
        if first {
            let me = self.clone();
            let channel = channel.clone();
            tokio::spawn(async move {
                channel.closed().await;
                let addrs = me
                    .connections
                    .lock()
                    .expect("connections lock")
                    .remove(&peer)
                    .unwrap_or_default();
                let mut routes = me.routes.lock().expect("routes lock");
                for addr in addrs {
                    if routes.remove_address(&addr) {
                        tracing::info!(broker = %addr, "broker connection closed; removed from routes");
                    }
                }
            });
        }
    }

    fn unregister_broker(
        self: &Arc<Self>,
        _: &Channel,
        request: &RemotingCommand,
    ) -> HandlerResult {
        let h: UnRegisterBrokerRequestHeader = request.decode_header()?;
        self.routes.lock().expect("routes lock").unregister(
            &h.cluster_name,
            &h.broker_addr,
            &h.broker_name,
            h.broker_id,
        );
        Ok(Some(ok()))
    }

    fn query_data_version(
        self: &Arc<Self>,
        _: &Channel,
        request: &RemotingCommand,
    ) -> HandlerResult {
        let h: QueryDataVersionRequestHeader = request.decode_header()?;
        let version: DataVersion = json::from_slice(request.body_bytes())?;
        let mut routes = self.routes.lock().expect("routes lock");
        let changed = routes.data_version_changed(&h.broker_addr, &version, Instant::now());
        let mut response = RemotingCommand::response_with_header(
            ResponseCode::SUCCESS,
            &QueryDataVersionResponseHeader { changed },
        );
        if let Some(ours) = routes.data_version(&h.broker_addr) {
            response.body = Some(json::to_vec(&ours).into());
        }
        Ok(Some(response))
    }

    fn route_by_topic(self: &Arc<Self>, _: &Channel, request: &RemotingCommand) -> HandlerResult {
        let h: GetRouteInfoRequestHeader = request.decode_header()?;
        let route = self.routes.lock().expect("routes lock").route(&h.topic);
        let Some(mut route) = route else {
            return Ok(Some(RemotingCommand::response(
                ResponseCode::TOPIC_NOT_EXIST,
                Some(format!(
                    "No topic route info in name server for the topic: {}\nSee http://rocketmq.apache.org/docs/faq/ for further details.",
                    h.topic
                )),
            )));
        };
        if self
            .config
            .lock()
            .expect("config lock")
            .order_message_enable
        {
            route.order_topic_conf = self
                .kv
                .lock()
                .expect("kv lock")
                .get(ORDER_TOPIC_CONFIG, &h.topic)
                .map(str::to_owned);
        }
        let body = route.encode_for_client(
            request.version,
            h.accept_standard_json_only.unwrap_or(false),
        );
        Ok(Some(ok().with_body(body)))
    }

    fn cluster_info(self: &Arc<Self>, _: &Channel, _: &RemotingCommand) -> HandlerResult {
        Ok(Some(json_body(
            &self.routes.lock().expect("routes lock").cluster_info(),
        )))
    }

    fn all_topics(self: &Arc<Self>, _: &Channel, _: &RemotingCommand) -> HandlerResult {
        let topics = self.routes.lock().expect("routes lock").all_topics();
        Ok(Some(json_body(&TopicList {
            broker_addr: None,
            topic_list: topics,
        })))
    }

    fn topics_with_sys_flag(&self, pick: impl Fn(i32) -> bool) -> HandlerResult {
        let topics = self
            .routes
            .lock()
            .expect("routes lock")
            .topics_with_sys_flag(pick);
        Ok(Some(json_body(&TopicList {
            broker_addr: None,
            topic_list: topics,
        })))
    }

    fn unit_topics(self: &Arc<Self>, _: &Channel, _: &RemotingCommand) -> HandlerResult {
        self.topics_with_sys_flag(|flag| flag & TOPIC_FLAG_UNIT != 0)
    }

    fn unit_sub_topics(self: &Arc<Self>, _: &Channel, _: &RemotingCommand) -> HandlerResult {
        self.topics_with_sys_flag(|flag| flag & TOPIC_FLAG_UNIT_SUB != 0)
    }

    fn unit_sub_non_unit_topics(
        self: &Arc<Self>,
        _: &Channel,
        _: &RemotingCommand,
    ) -> HandlerResult {
        self.topics_with_sys_flag(|flag| {
            flag & TOPIC_FLAG_UNIT == 0 && flag & TOPIC_FLAG_UNIT_SUB != 0
        })
    }

    fn topics_by_cluster(
        self: &Arc<Self>,
        _: &Channel,
        request: &RemotingCommand,
    ) -> HandlerResult {
        let h: GetTopicsByClusterRequestHeader = request.decode_header()?;
        let topics = self
            .routes
            .lock()
            .expect("routes lock")
            .topics_of_cluster(&h.cluster);
        Ok(Some(json_body(&TopicList {
            broker_addr: None,
            topic_list: topics,
        })))
    }

    fn system_topics(self: &Arc<Self>, _: &Channel, _: &RemotingCommand) -> HandlerResult {
        let (topics, addr) = self.routes.lock().expect("routes lock").system_topics();
        Ok(Some(json_body(&TopicList {
            broker_addr: addr,
            topic_list: topics,
        })))
    }

    fn delete_topic(self: &Arc<Self>, _: &Channel, request: &RemotingCommand) -> HandlerResult {
        let h: DeleteTopicFromNamesrvRequestHeader = request.decode_header()?;
        self.routes
            .lock()
            .expect("routes lock")
            .delete_topic(&h.topic, h.cluster_name.as_deref());
        Ok(Some(ok()))
    }

    fn wipe_write_perm(self: &Arc<Self>, _: &Channel, request: &RemotingCommand) -> HandlerResult {
        let h: WipeWritePermOfBrokerRequestHeader = request.decode_header()?;
        let wipe_topic_count = self
            .routes
            .lock()
            .expect("routes lock")
            .set_write_perm(&h.broker_name, false);
        Ok(Some(RemotingCommand::response_with_header(
            ResponseCode::SUCCESS,
            &WipeWritePermOfBrokerResponseHeader { wipe_topic_count },
        )))
    }

    fn add_write_perm(self: &Arc<Self>, _: &Channel, request: &RemotingCommand) -> HandlerResult {
        let h: AddWritePermOfBrokerRequestHeader = request.decode_header()?;
        let add_topic_count = self
            .routes
            .lock()
            .expect("routes lock")
            .set_write_perm(&h.broker_name, true);
        Ok(Some(RemotingCommand::response_with_header(
            ResponseCode::SUCCESS,
            &AddWritePermOfBrokerResponseHeader { add_topic_count },
        )))
    }

    async fn put_kv(self: Arc<Self>, request: RemotingCommand) -> HandlerResult {
        let h: PutKVConfigRequestHeader = request.decode_header()?;
        self.kv
            .lock()
            .expect("kv lock")
            .put(&h.namespace, &h.key, &h.value);
        self.write_kv_file().await?;
        Ok(Some(ok()))
    }

    fn get_kv(self: &Arc<Self>, _: &Channel, request: &RemotingCommand) -> HandlerResult {
        let h: GetKVConfigRequestHeader = request.decode_header()?;
        let value = self
            .kv
            .lock()
            .expect("kv lock")
            .get(&h.namespace, &h.key)
            .map(str::to_owned);
        Ok(Some(match value {
            Some(value) => RemotingCommand::response_with_header(
                ResponseCode::SUCCESS,
                &GetKVConfigResponseHeader { value: Some(value) },
            ),
            None => RemotingCommand::response(
                ResponseCode::QUERY_NOT_FOUND,
                Some(format!(
                    "No config item, Namespace: {} Key: {}",
                    h.namespace, h.key
                )),
            ),
        }))
    }

    async fn delete_kv(self: Arc<Self>, request: RemotingCommand) -> HandlerResult {
        let h: DeleteKVConfigRequestHeader = request.decode_header()?;
        self.kv
            .lock()
            .expect("kv lock")
            .delete(&h.namespace, &h.key);
        self.write_kv_file().await?;
        Ok(Some(ok()))
    }

    fn kv_list(self: &Arc<Self>, _: &Channel, request: &RemotingCommand) -> HandlerResult {
        let h: GetKVListByNamespaceRequestHeader = request.decode_header()?;
        let kv = self.kv.lock().expect("kv lock");
        Ok(Some(match kv.namespace(&h.namespace) {
            Some(table) => json_body(&KVTable {
                table: table.clone(),
            }),
            None => RemotingCommand::response(
                ResponseCode::QUERY_NOT_FOUND,
                Some(format!("No config item, Namespace: {}", h.namespace)),
            ),
        }))
    }

    /// UPDATE_NAMESRV_CONFIG: a black-listed key refuses the update with NO_PERMISSION; a bad
    /// value is answered SYSTEM_ERROR naming the key and changes nothing (Java skips it and
    /// answers SUCCESS); then the settings are written to `configStorePath`, as Java does.
    async fn update_config(self: Arc<Self>, request: RemotingCommand) -> HandlerResult {
        let Some(body) = &request.body else {
            return Ok(Some(ok()));
        };
        let settings = ferrocket_common::config_text::parse(&String::from_utf8_lossy(body));
        let path = {
            let mut config = self.config.lock().expect("config lock");
            if settings.iter().any(|(k, _)| config.is_black_listed(k)) {
                return Ok(Some(RemotingCommand::response(
                    ResponseCode::NO_PERMISSION,
                    Some("Can not update config in black list.".into()),
                )));
            }
            let (next, ignored) = match config.updated(&settings) {
                Ok(updated) => updated,
                Err(e) => {
                    return Ok(Some(RemotingCommand::response(
                        ResponseCode::SYSTEM_ERROR,
                        Some(e.to_string()),
                    )))
                }
            };
            if !ignored.is_empty() {
                tracing::warn!(?ignored, "UPDATE_NAMESRV_CONFIG: unknown keys ignored");
            }
            *config = next;
            config.config_store_path.clone()
        };
        let contents = || {
            let config = self.config.lock().expect("config lock");
            config.persisted_properties().into_bytes()
        };
        if let Err(e) = self.write_file(path.clone(), contents).await {
            tracing::warn!(path = %path.display(), "could not write the name server config: {e}");
        }
        Ok(Some(ok()))
    }

    fn get_config(self: &Arc<Self>, _: &Channel, _: &RemotingCommand) -> HandlerResult {
        let text = self.config.lock().expect("config lock").to_properties();
        Ok(Some(ok().with_body(text.into_bytes())))
    }

    /// Drops brokers that have not registered within `expiry`.
    pub fn expire_brokers(&self, expiry: std::time::Duration) -> Vec<String> {
        let dead = self
            .routes
            .lock()
            .expect("routes lock")
            .expire(Instant::now(), expiry);
        for addr in &dead {
            tracing::warn!(broker = %addr, "broker expired: no registration for {expiry:?}");
        }
        dead
    }
}
