//! SQL92 filtering against a real broker on loopback: CHECK_CLIENT_CONFIG, pulls that carry
//! their expression, pulls that use the one their group registered by heartbeat, and the
//! refusals of a broker without `enablePropertyFilter`.

mod support;
use support::*;

use ferrocket_common::record::MessageRecord;
use ferrocket_protocol::body::{
    CheckClientRequestBody, ConsumerData, HeartbeatData, MessageModel, SubscriptionData,
};
use ferrocket_protocol::header::*;
use ferrocket_protocol::{json, RemotingCommand, RequestCode, ResponseCode};
use ferrocket_remoting::RemotingClient;
use std::time::{Duration, Instant};

const EXAMPLE: &str =
    "(TAGS is not null and TAGS in ('TagA', 'TagB')) and (a is not null and a between 0 and 3)";

fn sql92(topic: &str, expression: &str, version: i64) -> SubscriptionData {
    SubscriptionData {
        expression_type: "SQL92".into(),
        sub_string: expression.into(),
        sub_version: version,
        topic: topic.into(),
        ..Default::default()
    }
}

fn check_client_config(expression: &str) -> RemotingCommand {
    let body = CheckClientRequestBody {
        client_id: "127.0.0.1@1".into(),
        group: "G".into(),
        subscription_data: sql92("T", expression, 1),
    };
    RemotingCommand::request(RequestCode::CHECK_CLIENT_CONFIG).with_body(json::to_vec(&body))
}

/// A pull of queue 0 from offset 0; `expression`: the pull's own SQL92 expression
/// (FLAG_SUBSCRIPTION), or `None` to use the group's registered one.
fn pull(
    group: &str,
    topic: &str,
    expression: Option<&str>,
    sub_version: i64,
    hold_ms: i64,
    offset: i64,
) -> RemotingCommand {
    let mut header = PullMessageRequestHeader::with_subscription(group, topic, 0, offset, 32, "");
    header.sys_flag = if expression.is_some() {
        pull_sys_flag::SUBSCRIPTION
    } else {
        0
    } | if hold_ms > 0 {
        pull_sys_flag::SUSPEND
    } else {
        0
    };
    header.suspend_timeout_millis = hold_ms;
    header.subscription = expression.map(str::to_owned);
    header.expression_type = expression.map(|_| "SQL92".to_owned());
    header.sub_version = sub_version;
    RemotingCommand::request_with_header(RequestCode::PULL_MESSAGE, &header)
}

fn bodies(resp: &RemotingCommand) -> Vec<String> {
    assert_eq!(
        resp.response_code(),
        ResponseCode::SUCCESS,
        "{:?}",
        resp.remark
    );
    MessageRecord::decode_all(resp.body.as_ref().unwrap(), true)
        .unwrap()
        .iter()
        .map(|r| String::from_utf8(r.body.to_vec()).unwrap())
        .collect()
}

/// Sends `m0..m5` to `topic` queue 0, message i with `a=i` and tag TagA (even) or TagC (odd);
/// `m5` has no `a`.
async fn send_six(c: &RemotingClient, cluster: &Cluster, topic: &str) {
    for i in 0..6 {
        let tag = if i % 2 == 0 { "TagA" } else { "TagC" };
        let mut props = format!("TAGS\u{1}{tag}");
        if i < 5 {
            props.push_str(&format!("\u{2}a\u{1}{i}"));
        }
        send_ok(c, cluster, v2(topic, 0, &props), format!("m{i}").as_bytes()).await;
    }
}

fn sql_heartbeat(group: &str, subscription: SubscriptionData) -> RemotingCommand {
    let data = HeartbeatData {
        client_id: format!("127.0.0.1@{group}"),
        consumer_data_set: vec![ConsumerData {
            group_name: group.into(),
            message_model: MessageModel::Clustering,
            subscription_data_set: vec![subscription],
            ..ConsumerData::default()
        }],
        producer_data_set: vec![],
    };
    RemotingCommand::request(RequestCode::HEART_BEAT).with_body(json::to_vec(&data))
}

#[tokio::test]
async fn without_enable_property_filter_sql92_is_refused() {
    let cluster = start(|_| {}).await;
    let c = client();
    let refused = cluster.call(&c, check_client_config("a > 1")).await;
    assert_eq!(refused.response_code(), ResponseCode::SYSTEM_ERROR);
    assert_eq!(
        refused.remark.as_deref(),
        Some("The broker does not support consumer to filter message by SQL92")
    );
    // A TAG subscription needs nothing of the broker.
    let mut tag = check_client_config("*");
    let body = CheckClientRequestBody {
        subscription_data: SubscriptionData::tag("T", "*", 1),
        ..Default::default()
    };
    tag.body = Some(json::to_vec(&body).into());
    cluster.call_ok(&c, tag).await;

    send_six(&c, &cluster, "Sql").await;
    let pulled = cluster
        .call(&c, pull("G", "Sql", Some("a > 1"), 1, 0, 0))
        .await;
    assert_eq!(pulled.response_code(), ResponseCode::SYSTEM_ERROR);
}

#[tokio::test]
async fn check_client_config_compiles_the_expression() {
    let cluster = start(|config| config.enable_property_filter = true).await;
    let c = client();
    cluster.call_ok(&c, check_client_config(EXAMPLE)).await;
    let bad = cluster.call(&c, check_client_config("a >")).await;
    assert_eq!(bad.response_code(), ResponseCode::SUBSCRIPTION_PARSE_FAILED);
    let remark = bad.remark.unwrap();
    assert!(
        remark.starts_with("org.apache.rocketmq.filter.parser.ParseException"),
        "{remark}"
    );
    let semantic = cluster.call(&c, check_client_config("a > 'x'")).await;
    assert_eq!(
        semantic.remark.as_deref(),
        Some("java.lang.RuntimeException: Value ''x'' cannot be compared.")
    );
    // A type with no filter: Java's lookup gives null, and the NullPointerException has no
    // message, so the refusal carries no remark.
    let mut unknown = check_client_config("a > 1");
    let mut body: CheckClientRequestBody = json::from_slice(unknown.body_bytes()).unwrap();
    body.subscription_data.expression_type = "BLOOM".into();
    unknown = unknown.with_body(json::to_vec(&body));
    let refused = cluster.call(&c, unknown).await;
    assert_eq!(
        refused.response_code(),
        ResponseCode::SUBSCRIPTION_PARSE_FAILED
    );
    assert_eq!(refused.remark, None);
}

#[tokio::test]
async fn pulls_with_an_expression_return_only_matching_messages() {
    let cluster = start(|config| config.enable_property_filter = true).await;
    let c = client();
    send_six(&c, &cluster, "Sql").await;

    let resp = cluster
        .call(&c, pull("G", "Sql", Some(EXAMPLE), 1, 0, 0))
        .await;
    assert_eq!(bodies(&resp), ["m0", "m2"]);
    let header: PullMessageResponseHeader = resp.decode_header().unwrap();
    assert_eq!(header.next_begin_offset, 6);

    let resp = cluster
        .call(
            &c,
            pull("G", "Sql", Some("a > 2 OR TAGS = 'TagC'"), 1, 0, 0),
        )
        .await;
    assert_eq!(bodies(&resp), ["m1", "m3", "m4", "m5"]);

    // Nothing matches: retry at once from past the scanned messages.
    let none = cluster
        .call(&c, pull("G", "Sql", Some("a > 100"), 1, 0, 0))
        .await;
    assert_eq!(none.response_code(), ResponseCode::PULL_RETRY_IMMEDIATELY);
    let header: PullMessageResponseHeader = none.decode_header().unwrap();
    assert_eq!(header.next_begin_offset, 6);

    // An expression that does not compile leaves Java without filter data: not filtered.
    let unfiltered = cluster
        .call(&c, pull("G", "Sql", Some("a >"), 1, 0, 0))
        .await;
    assert_eq!(bodies(&unfiltered).len(), 6);
}

#[tokio::test]
async fn pulls_without_an_expression_use_the_registered_filter() {
    let cluster = start(|config| config.enable_property_filter = true).await;
    let c = client();
    send_six(&c, &cluster, "Sql").await;
    cluster
        .call_ok(&c, sql_heartbeat("G", sql92("Sql", "a >= 3", 7)))
        .await;

    let resp = cluster.call(&c, pull("G", "Sql", None, 7, 0, 0)).await;
    assert_eq!(bodies(&resp), ["m3", "m4"]);

    // A client ahead of its group's heartbeat: the subscription check comes first.
    let stale = cluster.call(&c, pull("G", "Sql", None, 8, 0, 0)).await;
    assert_eq!(stale.response_code(), ResponseCode::SUBSCRIPTION_NOT_LATEST);
    // A newer heartbeat with the same expression moves the filter's version along.
    cluster
        .call_ok(&c, sql_heartbeat("G", sql92("Sql", "a >= 3", 8)))
        .await;
    let resp = cluster.call(&c, pull("G", "Sql", None, 8, 0, 0)).await;
    assert_eq!(bodies(&resp), ["m3", "m4"]);

    // A registered expression that does not compile leaves no filter data.
    cluster
        .call_ok(&c, sql_heartbeat("H", sql92("Sql", "a >", 1)))
        .await;
    let missing = cluster.call(&c, pull("H", "Sql", None, 1, 0, 0)).await;
    assert_eq!(missing.response_code(), ResponseCode::FILTER_DATA_NOT_EXIST);
}

#[tokio::test]
async fn a_held_sql92_pull_waits_for_a_matching_message() {
    let cluster = start(|config| config.enable_property_filter = true).await;
    let c = client();
    send_six(&c, &cluster, "Sql").await;
    let started = Instant::now();
    let held = {
        let c = c.clone();
        let broker = cluster.broker.clone();
        tokio::spawn(async move {
            c.invoke(
                &broker,
                pull("G", "Sql", Some("a = 42"), 1, 5_000, 6),
                Duration::from_secs(10),
            )
            .await
            .unwrap()
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    send_ok(&c, &cluster, v2("Sql", 0, "a\u{1}41"), b"no").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !held.is_finished(),
        "answered for a message that does not match"
    );
    send_ok(&c, &cluster, v2("Sql", 0, "a\u{1}42"), b"yes").await;
    let resp = held.await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(4));
    assert_eq!(bodies(&resp), ["yes"]);
}
