//! The name server over real sockets, driven by the project's own remoting client.

use ferrocket_namesrv::NamesrvConfig;
use ferrocket_protocol::body::{
    ClusterInfo, RegisterBrokerBody, TopicConfig, TopicList, TopicRouteData,
};
use ferrocket_protocol::header::*;
use ferrocket_protocol::json;
use ferrocket_protocol::{RemotingCommand, RequestCode, ResponseCode};
use ferrocket_remoting::{ClientConfig, RemotingClient, Router};
use ferrocket_testkit::{NameServer, TempDir};
use std::time::Duration;

const T: Duration = Duration::from_secs(5);

struct Server {
    addr: String,
    kv_dir: std::path::PathBuf,
    _namesrv: NameServer,
    _dir: TempDir,
}

async fn start(expiry: Duration) -> Server {
    let dir = TempDir::new("namesrv");
    let config = NamesrvConfig {
        scan_interval: Duration::from_millis(50),
        broker_expiry: expiry,
        ..ferrocket_testkit::namesrv_config(dir.path())
    };
    let namesrv = NameServer::start(config).await;
    Server {
        addr: namesrv.addr.clone(),
        kv_dir: dir.path().to_owned(),
        _namesrv: namesrv,
        _dir: dir,
    }
}

impl Server {
    /// `req` sent through `c`, answered within [`T`].
    async fn call(&self, c: &RemotingClient, req: RemotingCommand) -> RemotingCommand {
        c.invoke(&self.addr, req, T).await.unwrap()
    }
}

/// GET_ROUTEINFO_BY_TOPIC's route, asked as a 4.9 client asks.
async fn route_data(c: &RemotingClient, server: &Server, topic: &str) -> TopicRouteData {
    json::from_slice(route(c, server, topic, 409).await.body_bytes()).unwrap()
}

fn client() -> RemotingClient {
    RemotingClient::new(ClientConfig::default(), Router::new())
}

fn register_request(
    broker_name: &str,
    addr: &str,
    id: i64,
    topics: &[(&str, i32)],
) -> RemotingCommand {
    let configs = topics.iter().map(|(topic, queues)| TopicConfig {
        topic_name: (*topic).to_owned(),
        read_queue_nums: *queues,
        write_queue_nums: *queues,
        perm: 6,
        ..TopicConfig::default()
    });
    register_configs(broker_name, addr, id, configs)
}

fn register_configs(
    broker_name: &str,
    addr: &str,
    id: i64,
    configs: impl IntoIterator<Item = TopicConfig>,
) -> RemotingCommand {
    let mut body = RegisterBrokerBody::default();
    let wrapper = &mut body.topic_config_serialize_wrapper;
    wrapper.data_version.counter = 1;
    wrapper.data_version.timestamp = 1_795_243_742_522;
    for config in configs {
        wrapper
            .topic_config_table
            .insert(config.topic_name.clone(), config);
    }
    let bytes = json::to_vec(&body);
    let header = RegisterBrokerRequestHeader {
        broker_name: broker_name.into(),
        broker_addr: addr.into(),
        cluster_name: "DefaultCluster".into(),
        ha_server_addr: addr.replace("10911", "10912"),
        broker_id: id,
        compressed: Some(false),
        body_crc32: Some(ferrocket_common::crc::body_crc(&bytes)),
    };
    RemotingCommand::request_with_header(RequestCode::REGISTER_BROKER, &header).with_body(bytes)
}

async fn route(
    client: &RemotingClient,
    server: &Server,
    topic: &str,
    version: i32,
) -> RemotingCommand {
    let mut req = RemotingCommand::request_with_header(
        RequestCode::GET_ROUTEINFO_BY_TOPIC,
        &GetRouteInfoRequestHeader {
            topic: topic.into(),
            accept_standard_json_only: None,
        },
    );
    req.version = version;
    client.invoke(&server.addr, req, T).await.unwrap()
}

#[tokio::test]
async fn routes_and_cluster_info_match_the_java_name_server() {
    let server = start(Duration::from_secs(120)).await;
    let c = client();
    let resp = server
        .call(
            &c,
            register_request("broker-a", "127.0.0.1:10911", 0, &[("GoldenTopic", 4)]),
        )
        .await;
    assert_eq!(resp.response_code(), ResponseCode::SUCCESS);
    assert!(
        resp.ext_fields.as_ref().is_some_and(|e| e.is_empty()),
        "Java answers with extFields {{}}"
    );

    // Byte for byte what the Java 4.9.8 name server sent in the golden capture.
    let old = route(&c, &server, "GoldenTopic", 373).await;
    assert_eq!(
        String::from_utf8_lossy(old.body_bytes()),
        r#"{"brokerDatas":[{"brokerAddrs":{0:"127.0.0.1:10911"},"brokerName":"broker-a","cluster":"DefaultCluster"}],"filterServerTable":{},"queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}]}"#
    );
    let new = route(&c, &server, "GoldenTopic", 409).await;
    assert!(String::from_utf8_lossy(new.body_bytes())
        .contains(r#""brokerAddrs":{"0":"127.0.0.1:10911"}"#));
    assert!(new.ext_fields.is_none());

    let missing = route(&c, &server, "NoSuchTopicGolden", 409).await;
    assert_eq!(missing.response_code(), ResponseCode::TOPIC_NOT_EXIST);
    assert_eq!(
        missing.remark.as_deref(),
        Some("No topic route info in name server for the topic: NoSuchTopicGolden\nSee http://rocketmq.apache.org/docs/faq/ for further details.")
    );

    let info = server
        .call(
            &c,
            RemotingCommand::request(RequestCode::GET_BROKER_CLUSTER_INFO),
        )
        .await;
    assert_eq!(
        String::from_utf8_lossy(info.body_bytes()),
        r#"{"brokerAddrTable":{"broker-a":{"brokerAddrs":{0:"127.0.0.1:10911"},"brokerName":"broker-a","cluster":"DefaultCluster"}},"clusterAddrTable":{"DefaultCluster":["broker-a"]}}"#
    );
    let list = server
        .call(
            &c,
            RemotingCommand::request(RequestCode::GET_ALL_TOPIC_LIST_FROM_NAMESERVER),
        )
        .await;
    let list: TopicList = json::from_slice(list.body_bytes()).unwrap();
    assert_eq!(list.topic_list, vec!["GoldenTopic".to_string()]);
}

#[tokio::test]
async fn unit_topic_lists_pick_topics_by_their_sys_flag() {
    let server = start(Duration::from_secs(120)).await;
    let c = client();
    // Sys flag bit 0 marks a unit topic, bit 1 a topic with unit subscriptions.
    let configs =
        [("Plain", 0), ("Unit", 1), ("UnitSub", 2), ("Both", 3)].map(|(name, flag)| TopicConfig {
            topic_name: name.to_owned(),
            read_queue_nums: 4,
            write_queue_nums: 4,
            perm: 6,
            topic_sys_flag: flag,
            ..TopicConfig::default()
        });
    let resp = server
        .call(
            &c,
            register_configs("broker-a", "127.0.0.1:10911", 0, configs),
        )
        .await;
    assert_eq!(resp.response_code(), ResponseCode::SUCCESS);
    for (code, expected) in [
        (RequestCode::GET_UNIT_TOPIC_LIST, vec!["Both", "Unit"]),
        (
            RequestCode::GET_HAS_UNIT_SUB_TOPIC_LIST,
            vec!["Both", "UnitSub"],
        ),
        (
            RequestCode::GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST,
            vec!["UnitSub"],
        ),
    ] {
        let resp = server.call(&c, RemotingCommand::request(code)).await;
        assert_eq!(resp.response_code(), ResponseCode::SUCCESS, "{code:?}");
        let mut list: TopicList = json::from_slice(resp.body_bytes()).unwrap();
        list.topic_list.sort();
        assert_eq!(list.topic_list, expected, "{code:?}");
    }
}

#[tokio::test]
async fn slaves_learn_their_master_and_bad_bodies_are_refused() {
    let server = start(Duration::from_secs(120)).await;
    let c = client();
    server
        .call(
            &c,
            register_request("broker-a", "10.0.0.1:10911", 0, &[("T", 8)]),
        )
        .await;
    let resp = server
        .call(
            &c,
            register_request("broker-a", "10.0.0.2:10911", 1, &[("T", 8)]),
        )
        .await;
    let h: RegisterBrokerResponseHeader = resp.decode_header().unwrap();
    assert_eq!(h.master_addr.as_deref(), Some("10.0.0.1:10911"));
    assert_eq!(h.ha_server_addr.as_deref(), Some("10.0.0.1:10912"));
    let r = route_data(&c, &server, "T").await;
    assert_eq!(r.broker_datas[0].broker_addrs.len(), 2);

    let mut bad = register_request("broker-b", "10.0.0.3:10911", 0, &[("T", 8)]);
    bad.ext_mut().insert("bodyCrc32", "12345");
    let resp = server.call(&c, bad).await;
    assert_eq!(resp.response_code(), ResponseCode::SYSTEM_ERROR);
    assert_eq!(resp.remark.as_deref(), Some("crc32 not match"));

    let mut missing = RemotingCommand::request(RequestCode::REGISTER_BROKER);
    missing.ext_mut().push("brokerName", "x");
    let resp = server.call(&c, missing).await;
    assert_eq!(resp.response_code(), ResponseCode::SYSTEM_ERROR);
    assert!(resp.remark.unwrap().contains("is null"));

    // The write permission can be taken away and given back.
    let mut wipe = RemotingCommand::request_with_header(
        RequestCode::WIPE_WRITE_PERM_OF_BROKER,
        &WipeWritePermOfBrokerRequestHeader {
            broker_name: "broker-a".into(),
        },
    );
    wipe.version = 409;
    let resp = server.call(&c, wipe).await;
    assert_eq!(
        resp.decode_header::<WipeWritePermOfBrokerResponseHeader>()
            .unwrap()
            .wipe_topic_count,
        1
    );
    let r = route_data(&c, &server, "T").await;
    assert_eq!(r.queue_datas[0].perm, 4);
    let add = RemotingCommand::request_with_header(
        RequestCode::ADD_WRITE_PERM_OF_BROKER,
        &AddWritePermOfBrokerRequestHeader {
            broker_name: "broker-a".into(),
        },
    );
    server.call(&c, add).await;
    let r = route_data(&c, &server, "T").await;
    assert_eq!(r.queue_datas[0].perm, 6);
}

#[tokio::test]
async fn brokers_leave_on_unregister_close_and_expiry() {
    let server = start(Duration::from_millis(400)).await;
    let c = client();
    // Unregister.
    server
        .call(
            &c,
            register_request("b1", "10.0.0.1:10911", 0, &[("T1", 4)]),
        )
        .await;
    let unregister = RemotingCommand::request_with_header(
        RequestCode::UNREGISTER_BROKER,
        &UnRegisterBrokerRequestHeader {
            broker_name: "b1".into(),
            broker_addr: "10.0.0.1:10911".into(),
            cluster_name: "DefaultCluster".into(),
            broker_id: 0,
        },
    );
    server.call(&c, unregister).await;
    assert_eq!(
        route(&c, &server, "T1", 409).await.response_code(),
        ResponseCode::TOPIC_NOT_EXIST
    );

    // Connection closed: removed at once.
    let broker_conn = client();
    broker_conn
        .invoke(
            &server.addr,
            register_request("b2", "10.0.0.2:10911", 0, &[("T2", 4)]),
            T,
        )
        .await
        .unwrap();
    assert_eq!(
        route(&c, &server, "T2", 409).await.response_code(),
        ResponseCode::SUCCESS
    );
    broker_conn.shutdown().await;
    let deadline = std::time::Instant::now() + T;
    while route(&c, &server, "T2", 409).await.response_code() == ResponseCode::SUCCESS {
        assert!(
            std::time::Instant::now() < deadline,
            "closed broker still routed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Silent for longer than the expiry (400 ms here, 120 s by default): dropped by the scan.
    // A oneway registration counts as one.
    let mut oneway = register_request("b3", "10.0.0.3:10911", 0, &[("T3", 4)]);
    oneway.mark_oneway();
    c.invoke_oneway(&server.addr, oneway).await.unwrap();
    let deadline = std::time::Instant::now() + T;
    while route(&c, &server, "T3", 409).await.response_code() != ResponseCode::SUCCESS {
        assert!(
            std::time::Instant::now() < deadline,
            "oneway registration not applied"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let registered = std::time::Instant::now();
    while route(&c, &server, "T3", 409).await.response_code() == ResponseCode::SUCCESS {
        assert!(registered.elapsed() < T, "silent broker never expired");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        registered.elapsed() >= Duration::from_millis(400),
        "expired too early"
    );
}

#[tokio::test]
async fn kv_config_and_name_server_config() {
    let server = start(Duration::from_secs(120)).await;
    let c = client();
    let put = RemotingCommand::request_with_header(
        RequestCode::PUT_KV_CONFIG,
        &PutKVConfigRequestHeader {
            namespace: "ORDER_TOPIC_CONFIG".into(),
            key: "T".into(),
            value: "broker-a:4".into(),
        },
    );
    assert_eq!(
        server.call(&c, put).await.response_code(),
        ResponseCode::SUCCESS
    );
    let get = |key: &str| {
        RemotingCommand::request_with_header(
            RequestCode::GET_KV_CONFIG,
            &GetKVConfigRequestHeader {
                namespace: "ORDER_TOPIC_CONFIG".into(),
                key: key.into(),
            },
        )
    };
    let resp = server.call(&c, get("T")).await;
    assert_eq!(
        resp.decode_header::<GetKVConfigResponseHeader>()
            .unwrap()
            .value
            .as_deref(),
        Some("broker-a:4")
    );
    assert_eq!(
        server.call(&c, get("nope")).await.response_code(),
        ResponseCode::QUERY_NOT_FOUND
    );
    assert!(server.kv_dir.join("kvConfig.json").exists(), "persisted");
    // Registrations now carry the order-topic table back to the broker.
    let resp = server
        .call(
            &c,
            register_request("broker-a", "10.0.0.1:10911", 0, &[("T", 4)]),
        )
        .await;
    assert_eq!(
        String::from_utf8_lossy(resp.body_bytes()),
        r#"{"table":{"T":"broker-a:4"}}"#
    );
    let delete = RemotingCommand::request_with_header(
        RequestCode::DELETE_KV_CONFIG,
        &DeleteKVConfigRequestHeader {
            namespace: "ORDER_TOPIC_CONFIG".into(),
            key: "T".into(),
        },
    );
    server.call(&c, delete).await;
    assert_eq!(
        server.call(&c, get("T")).await.response_code(),
        ResponseCode::QUERY_NOT_FOUND
    );

    let config = server
        .call(
            &c,
            RemotingCommand::request(RequestCode::GET_NAMESRV_CONFIG),
        )
        .await;
    assert!(String::from_utf8_lossy(config.body_bytes()).contains("listenPort=9876"));
    let update = |text: &str| {
        RemotingCommand::request(RequestCode::UPDATE_NAMESRV_CONFIG)
            .with_body(bytes::Bytes::copy_from_slice(text.as_bytes()))
    };
    for black_listed in [
        "kvConfigPath=/tmp/x",
        "configStorePath=/tmp/y",
        "configBlackList=",
    ] {
        let resp = server.call(&c, update(black_listed)).await;
        assert_eq!(resp.response_code(), ResponseCode::NO_PERMISSION);
        assert_eq!(
            resp.remark.as_deref(),
            Some("Can not update config in black list.")
        );
    }
    let bad = server.call(&c, update("orderMessageEnable=maybe")).await;
    assert_eq!(bad.response_code(), ResponseCode::SYSTEM_ERROR);
    assert!(bad.remark.unwrap().contains("orderMessageEnable"));
    let cluster_test = server.call(&c, update("clusterTest=true")).await;
    assert_eq!(cluster_test.response_code(), ResponseCode::SYSTEM_ERROR);
    assert!(cluster_test.remark.unwrap().contains("clusterTest"));
    let good = server
        .call(
            &c,
            update("orderMessageEnable=true\nunknownKey=1\nproductEnvName=east"),
        )
        .await;
    assert_eq!(good.response_code(), ResponseCode::SUCCESS);
    let config = server
        .call(
            &c,
            RemotingCommand::request(RequestCode::GET_NAMESRV_CONFIG),
        )
        .await;
    let text = String::from_utf8_lossy(config.body_bytes()).into_owned();
    assert!(
        text.lines().any(|l| l == "orderMessageEnable=true"),
        "{text}"
    );
    // Every NamesrvConfig key Java shows, with its default where none was set.
    for line in ["productEnvName=east", "clusterTest=false", "listenPort="] {
        assert!(text.lines().any(|l| l.starts_with(line)), "{line}: {text}");
    }
    assert!(
        !text.contains("unknownKey"),
        "only existing keys are updated"
    );
    let saved = std::fs::read_to_string(server.kv_dir.join("namesrv.properties")).unwrap();
    assert_eq!(saved, "orderMessageEnable=true\nproductEnvName=east\n");
    let cluster: ClusterInfo = json::from_slice(
        server
            .call(
                &c,
                RemotingCommand::request(RequestCode::GET_BROKER_CLUSTER_INFO),
            )
            .await
            .body_bytes(),
    )
    .unwrap();
    assert!(cluster.cluster_addr_table.contains_key("DefaultCluster"));
    // Unknown codes are answered (the Java name server stays silent; clients then time out).
    let unknown = server
        .call(&c, RemotingCommand::request(RequestCode(9999)))
        .await;
    assert_eq!(
        unknown.response_code(),
        ResponseCode::REQUEST_CODE_NOT_SUPPORTED
    );
}

/// The Java broker's first REGISTER_BROKER of the golden capture, replayed byte for byte; the
/// route we then give for TBW102 equals the one the Java name server gave the Java client.
#[tokio::test]
async fn golden_register_broker_replay() {
    let frames = include_str!("../../../testdata/golden/frames.jsonl");
    let b64 = ferrocket_testkit::base64;
    let find = |pred: &dyn Fn(&json::Value) -> bool| -> json::Value {
        frames
            .lines()
            .map(|l| json::parse(l.as_bytes()).unwrap())
            .find(|v| pred(v))
            .expect("golden frame")
    };
    let register = find(&|v| {
        v.get("code") == Some(&json::Value::Int(103))
            && v.get("kind").and_then(json::Value::as_str) == Some("request")
    });
    let header = register
        .get("header_text")
        .unwrap()
        .as_str()
        .unwrap()
        .as_bytes()
        .to_vec();
    let body = b64(register.get("body_b64").unwrap().as_str().unwrap());
    let mut wire = Vec::new();
    wire.extend_from_slice(&((4 + header.len() + body.len()) as u32).to_be_bytes());
    wire.extend_from_slice(&(header.len() as u32).to_be_bytes());
    wire.extend_from_slice(&header);
    wire.extend_from_slice(&body);
    let request =
        ferrocket_protocol::frame::decode(bytes::Bytes::from(wire[4..].to_vec())).unwrap();

    let server = start(Duration::from_secs(120)).await;
    let c = client();
    let resp = server.call(&c, request).await;
    assert_eq!(resp.response_code(), ResponseCode::SUCCESS);

    let java_route = find(&|v| {
        v.get("request_code") == Some(&json::Value::Int(105))
            && v.get("client_impl").and_then(json::Value::as_str) == Some("java-client-4.9.8")
            && v.get("body_b64").is_some()
            && String::from_utf8_lossy(&b64(v.get("body_b64").unwrap().as_str().unwrap()))
                .contains(r#""perm":7,"readQueueNums":8"#)
    });
    let expected = b64(java_route.get("body_b64").unwrap().as_str().unwrap());
    let ours = route(&c, &server, "TBW102", 409).await;
    assert_eq!(
        String::from_utf8_lossy(ours.body_bytes()),
        String::from_utf8_lossy(&expected)
    );
}
