//! The push consumer against real servers on loopback: ordering, clustering with members
//! joining and leaving, broadcasting, restart from the committed offset, tags, retries.

mod support;

use ferrocket_client::producer::selector;
use ferrocket_client::{
    ConsumeConcurrentlyStatus, ConsumeFromWhere, ConsumeOrderlyStatus, Message, MessageExt,
    MessageModel, Producer, PushConsumer,
};
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::*;

fn collector() -> Received {
    Arc::new(Mutex::new(Vec::new()))
}

async fn producer(cluster: &Cluster, group: &str) -> Producer {
    Producer::builder(group)
        .client_options(cluster.options(&format!("{group}-p")))
        .start()
        .await
        .unwrap()
}

/// Sends one message to `topic` per number in `numbers`, with body `<prefix><number>`.
async fn send_numbered(p: &Producer, topic: &str, prefix: &str, numbers: std::ops::Range<u32>) {
    for i in numbers {
        p.send(Message::new(topic, format!("{prefix}{i}")))
            .await
            .unwrap();
    }
}

async fn concurrent(
    cluster: &Cluster,
    group: &str,
    name: &str,
    topic: &str,
    expression: &str,
    model: MessageModel,
    received: &Received,
) -> PushConsumer {
    let sink = received.clone();
    PushConsumer::builder(group)
        .client_options(cluster.options(name))
        .subscribe(topic, expression)
        .message_model(model)
        .consume_from(ConsumeFromWhere::ConsumeFromFirstOffset)
        .start_concurrently(move |msgs: Vec<MessageExt>| {
            let sink = sink.clone();
            async move {
                sink.lock().unwrap().extend(msgs);
                ConsumeConcurrentlyStatus::ConsumeSuccess
            }
        })
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ordered_messages_are_consumed_in_order_per_queue() {
    let cluster = start(1, |_| {}).await;
    cluster.create_topic("Ordered", 4).await;
    let p = producer(&cluster, "PG-ordered").await;
    let orders = ["order-1", "order-2", "order-3", "order-4", "order-5"];
    for step in 0..20 {
        for order in orders {
            let m = Message::new("Ordered", format!("{order}:{step}")).with_keys([order]);
            p.send_with_selector(m, selector::by_hash(order))
                .await
                .unwrap();
        }
    }
    let seen: Arc<Mutex<HashMap<String, Vec<u32>>>> = Arc::default();
    let in_flight: Arc<Mutex<HashMap<i32, bool>>> = Arc::default();
    let sink = seen.clone();
    let flight = in_flight.clone();
    let first_failure = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let consumer = PushConsumer::builder("CG-ordered")
        .client_options(cluster.options("ordered"))
        .subscribe("Ordered", "*")
        .consume_from(ConsumeFromWhere::ConsumeFromFirstOffset)
        .start_orderly(move |msgs: Vec<MessageExt>| {
            let sink = sink.clone();
            let flight = flight.clone();
            let first_failure = first_failure.clone();
            async move {
                let q = msgs[0].queue_id;
                assert!(
                    !flight.lock().unwrap().insert(q, true).unwrap_or(false),
                    "two listener calls on one queue at once"
                );
                tokio::time::sleep(Duration::from_millis(1)).await;
                let text = String::from_utf8(msgs[0].body.to_vec()).unwrap();
                let (order, step) = text.split_once(':').unwrap();
                let step: u32 = step.parse().unwrap();
                flight.lock().unwrap().insert(q, false);
                // One suspension: the same message must come back before anything after it.
                if step == 7 && first_failure.swap(false, std::sync::atomic::Ordering::SeqCst) {
                    return ConsumeOrderlyStatus::SuspendCurrentQueueAMoment;
                }
                sink.lock()
                    .unwrap()
                    .entry(order.to_owned())
                    .or_default()
                    .push(step);
                ConsumeOrderlyStatus::Success
            }
        })
        .await
        .unwrap();
    eventually(30, "all ordered messages", || {
        seen.lock().unwrap().values().map(Vec::len).sum::<usize>() >= 100
    })
    .await;
    for (order, steps) in seen.lock().unwrap().iter() {
        assert_eq!(
            steps,
            &(0..20).collect::<Vec<u32>>(),
            "{order} out of order"
        );
    }
    consumer.shutdown().await;
    p.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clustering_group_shares_queues_as_members_join_and_leave() {
    let cluster = start(2, |_| {}).await;
    cluster.create_topic("Shared", 4).await; // 8 queues over two brokers
    let p = producer(&cluster, "PG-shared").await;
    let received = collector();
    let sent = Arc::new(Mutex::new(BTreeSet::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    // A steady stream while consumers join and leave.
    let pump = {
        let (p, sent, stop) = (p.clone(), sent.clone(), stop.clone());
        tokio::spawn(async move {
            let mut i = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let body = format!("m{i}");
                p.send(Message::new("Shared", body.clone())).await.unwrap();
                sent.lock().unwrap().insert(body);
                i += 1;
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    let c1 = concurrent(
        &cluster,
        "CG-shared",
        "c1",
        "Shared",
        "*",
        MessageModel::Clustering,
        &received,
    )
    .await;
    let c2 = concurrent(
        &cluster,
        "CG-shared",
        "c2",
        "Shared",
        "*",
        MessageModel::Clustering,
        &received,
    )
    .await;
    // The group's retry topic is shared out too; look at the subscribed topic only.
    let shared = |c: &PushConsumer| -> Vec<_> {
        c.assigned_queues()
            .into_iter()
            .filter(|q| q.topic == "Shared")
            .collect()
    };
    let settled = |cs: &[&PushConsumer]| {
        let mut all: Vec<_> = cs.iter().flat_map(|c| shared(c)).collect();
        let n = all.len();
        all.sort();
        all.dedup();
        n == 8 && all.len() == 8 && cs.iter().all(|c| !shared(c).is_empty())
    };
    eventually(20, "two consumers splitting 8 queues", || {
        settled(&[&c1, &c2])
    })
    .await;
    assert_eq!(shared(&c1).len(), 4);
    let c3 = concurrent(
        &cluster,
        "CG-shared",
        "c3",
        "Shared",
        "*",
        MessageModel::Clustering,
        &received,
    )
    .await;
    eventually(20, "three consumers splitting 8 queues", || {
        settled(&[&c1, &c2, &c3])
    })
    .await;
    let mut sizes: Vec<usize> = [&c1, &c2, &c3].iter().map(|c| shared(c).len()).collect();
    sizes.sort();
    assert_eq!(sizes, [2, 3, 3], "AVG allocation of 8 queues over 3");
    tokio::time::sleep(Duration::from_millis(500)).await;
    c2.shutdown().await;
    eventually(20, "two consumers after one left", || settled(&[&c1, &c3])).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    pump.await.unwrap();
    let expected = sent.lock().unwrap().clone();
    assert!(expected.len() > 50, "the pump sent {}", expected.len());
    eventually(30, "every message consumed", || {
        let got = bodies(&received);
        expected.iter().all(|b| got.contains_key(b))
    })
    .await;
    c1.shutdown().await;
    c3.shutdown().await;
    p.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcasting_delivers_every_message_to_every_consumer() {
    let cluster = start(1, |_| {}).await;
    cluster.create_topic("Broadcast", 4).await;
    let dir = std::env::temp_dir().join(format!("ferrocket-bcast-{}", std::process::id()));
    let (r1, r2) = (collector(), collector());
    let mut consumers = Vec::new();
    for (name, sink) in [("b1", &r1), ("b2", &r2)] {
        let sink = sink.clone();
        let mut options = ferrocket_client::consumer::push::PushOptions {
            local_offset_dir: dir.clone(),
            ..Default::default()
        };
        options.message_model = MessageModel::Broadcasting;
        options.start.from = ConsumeFromWhere::ConsumeFromFirstOffset;
        consumers.push(
            PushConsumer::builder("CG-broadcast")
                .client_options(cluster.options(name))
                .options(options)
                .subscribe("Broadcast", "*")
                .start_concurrently(move |msgs: Vec<MessageExt>| {
                    let sink = sink.clone();
                    async move {
                        sink.lock().unwrap().extend(msgs);
                        ConsumeConcurrentlyStatus::ConsumeSuccess
                    }
                })
                .await
                .unwrap(),
        );
    }
    let p = producer(&cluster, "PG-broadcast").await;
    send_numbered(&p, "Broadcast", "b", 0..40).await;
    for r in [&r1, &r2] {
        eventually(20, "broadcast copy", || bodies(r).len() == 40).await;
    }
    for c in &consumers {
        assert_eq!(
            c.assigned_queues().len(),
            4,
            "broadcasting takes every queue"
        );
        c.shutdown().await;
    }
    // Offsets stay on the client, in offsets.json.
    let files: Vec<_> = walk(&dir)
        .into_iter()
        .filter(|p| p.ends_with("offsets.json"))
        .collect();
    assert_eq!(files.len(), 2, "{files:?}");
    let text = std::fs::read_to_string(&files[0]).unwrap();
    assert!(
        text.contains(r#"{"brokerName":"broker-a","queueId":0,"topic":"Broadcast"}"#),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
    p.shutdown().await;
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarted_consumer_resumes_from_its_committed_offset() {
    let cluster = start(1, |_| {}).await;
    cluster.create_topic("Resume", 2).await;
    let p = producer(&cluster, "PG-resume").await;
    send_numbered(&p, "Resume", "r", 0..30).await;
    let first = collector();
    let c = concurrent(
        &cluster,
        "CG-resume",
        "r1",
        "Resume",
        "*",
        MessageModel::Clustering,
        &first,
    )
    .await;
    eventually(20, "first run", || bodies(&first).len() == 30).await;
    c.shutdown().await;
    let admin = cluster.admin().await;
    let stats = admin
        .consume_stats("CG-resume", Some("Resume"))
        .await
        .unwrap();
    assert_eq!(
        stats.total_diff(),
        0,
        "shutdown committed everything: {stats:?}"
    );
    send_numbered(&p, "Resume", "r", 30..50).await;
    let second = collector();
    let c = concurrent(
        &cluster,
        "CG-resume",
        "r2",
        "Resume",
        "*",
        MessageModel::Clustering,
        &second,
    )
    .await;
    eventually(20, "second run", || bodies(&second).len() >= 20).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got = bodies(&second);
    for i in 30..50 {
        assert!(got.contains_key(&format!("r{i}")), "r{i} lost");
    }
    assert!(
        !got.contains_key("r0"),
        "the restart started over instead of resuming"
    );
    c.shutdown().await;
    admin.shutdown().await;
    p.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tag_filter_delivers_only_matching_tags() {
    let cluster = start(1, |_| {}).await;
    cluster.create_topic("Tagged", 2).await;
    let p = producer(&cluster, "PG-tags").await;
    for i in 0..30 {
        let tag = ["TagA", "TagB", "TagC"][i % 3];
        p.send(Message::new("Tagged", format!("{tag}-{i}")).with_tags(tag))
            .await
            .unwrap();
    }
    let got = collector();
    let c = concurrent(
        &cluster,
        "CG-tags",
        "tags",
        "Tagged",
        "TagA || TagC",
        MessageModel::Clustering,
        &got,
    )
    .await;
    eventually(20, "tagged messages", || bodies(&got).len() == 20).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(bodies(&got).len(), 20);
    assert!(got.lock().unwrap().iter().all(|m| m.tags() != Some("TagB")));
    c.shutdown().await;
    p.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_messages_come_back_for_retry() {
    let cluster = start(1, |_| {}).await;
    cluster.create_topic("Retried", 1).await;
    let attempts: Arc<Mutex<Vec<(String, i32, String)>>> = Arc::default();
    let sink = attempts.clone();
    let c = PushConsumer::builder("CG-retry")
        .client_options(cluster.options("retry"))
        .subscribe("Retried", "*")
        .consume_from(ConsumeFromWhere::ConsumeFromFirstOffset)
        .start_concurrently(move |msgs: Vec<MessageExt>| {
            let sink = sink.clone();
            async move {
                let m = &msgs[0];
                sink.lock()
                    .unwrap()
                    .push((m.msg_id.clone(), m.reconsume_times, m.topic.clone()));
                if m.reconsume_times == 0 {
                    ConsumeConcurrentlyStatus::ReconsumeLater
                } else {
                    ConsumeConcurrentlyStatus::ConsumeSuccess
                }
            }
        })
        .await
        .unwrap();
    let p = producer(&cluster, "PG-retry").await;
    let sent = p.send(Message::new("Retried", "try me")).await.unwrap();
    eventually(40, "the retry", || attempts.lock().unwrap().len() >= 2).await;
    let a = attempts.lock().unwrap().clone();
    assert_eq!(a[0], (sent.msg_id.clone(), 0, "Retried".to_owned()));
    assert_eq!(a[1].0, sent.msg_id, "a retry keeps the message id");
    assert_eq!(a[1].1, 1, "a retry counts its deliveries");
    assert_eq!(a[1].2, "Retried", "a retry shows its original topic");
    c.shutdown().await;
    p.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_broker_relays_status_and_running_info_requests_to_the_consumer() {
    use ferrocket_protocol::body::{ConsumerRunningInfo, GetConsumerStatusBody};
    use ferrocket_protocol::header::{
        GetConsumerRunningInfoRequestHeader, GetConsumerStatusRequestHeader,
    };
    use ferrocket_protocol::{json, RemotingCommand, RequestCode, ResponseCode};
    use ferrocket_remoting::{ClientConfig, RemotingClient, Router};

    let cluster = start(1, |_| {}).await;
    cluster.create_topic("Status", 2).await;
    let p = producer(&cluster, "PG-status").await;
    send_numbered(&p, "Status", "s", 0..10).await;
    let received = collector();
    let c = concurrent(
        &cluster,
        "CG-status",
        "status",
        "Status",
        "*",
        MessageModel::Clustering,
        &received,
    )
    .await;
    eventually(20, "all consumed", || bodies(&received).len() == 10).await;

    // What `mqadmin` sends to the broker, which asks the consumer.
    let tool = RemotingClient::new(ClientConfig::default(), Router::new());
    let broker = &cluster.brokers[0];
    let ask_status = || {
        RemotingCommand::request_with_header(
            RequestCode::INVOKE_BROKER_TO_GET_CONSUMER_STATUS,
            &GetConsumerStatusRequestHeader {
                topic: "Status".into(),
                group: "CG-status".into(),
                client_addr: None,
            },
        )
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let resp = tool
            .invoke(broker, ask_status(), Duration::from_secs(10))
            .await
            .unwrap();
        assert_eq!(
            resp.response_code(),
            ResponseCode::SUCCESS,
            "{:?}",
            resp.remark
        );
        let body: GetConsumerStatusBody = json::from_slice(resp.body_bytes()).unwrap();
        let offsets = body
            .consumer_table
            .get(c.client_id())
            .cloned()
            .unwrap_or_default();
        // Offsets are "next to consume": over both queues they add up to the 10 consumed.
        if offsets.len() == 2 && offsets.values().sum::<i64>() == 10 {
            assert!(offsets.keys().all(|q| q.topic == "Status"));
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "offsets reported: {offsets:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let running = RemotingCommand::request_with_header(
        RequestCode::GET_CONSUMER_RUNNING_INFO,
        &GetConsumerRunningInfoRequestHeader {
            consumer_group: "CG-status".into(),
            client_id: c.client_id().to_owned(),
            jstack_enable: Some(false),
        },
    );
    let resp = tool
        .invoke(broker, running, Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(
        resp.response_code(),
        ResponseCode::SUCCESS,
        "{:?}",
        resp.remark
    );
    let info: ConsumerRunningInfo = json::from_slice(resp.body_bytes()).unwrap();
    assert_eq!(info.properties["PROP_CLIENT_VERSION"], "V4_9_8");
    assert_eq!(info.properties["PROP_CONSUME_TYPE"], "CONSUME_PASSIVELY");

    c.shutdown().await;
    p.shutdown().await;
}
