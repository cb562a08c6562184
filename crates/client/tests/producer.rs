//! The producer against a real name server and brokers on loopback.

mod support;

use ferrocket_client::producer::selector;
use ferrocket_client::{ClientError, Message, Producer, SendStatus};
use std::time::Duration;
use support::*;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_send_mode_delivers_byte_exact_messages() {
    let cluster = start(1, |_| {}).await;
    cluster.create_topic("Modes", 4).await;
    let producer = Producer::builder("PG-modes")
        .client_options(cluster.options("modes"))
        .start()
        .await
        .unwrap();
    let admin = cluster.admin().await;

    let message = |i: usize, body: Vec<u8>| {
        Message::new("Modes", body)
            .with_tags(format!("Tag{}", i % 3))
            .with_keys([format!("key-{i}"), format!("alt-{i}")])
            .with_flag(i as i32)
            .with_property("color", "blue")
            .unwrap()
    };
    let large: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
    let mut expected = Vec::new();

    // sync (one large body that goes compressed over the wire)
    let r = producer.send(message(0, large.clone())).await.unwrap();
    assert_eq!(r.status, SendStatus::SendOk);
    expected.push((r.offset_msg_id.clone(), r.msg_id.clone(), large.clone(), 0));
    // async
    let fut = producer.send_async(message(1, b"async".to_vec()));
    let r = fut.await.unwrap();
    expected.push((
        r.offset_msg_id.clone(),
        r.msg_id.clone(),
        b"async".to_vec(),
        1,
    ));
    // callback
    let (tx, rx) = tokio::sync::oneshot::channel();
    producer.send_with_callback(message(2, b"callback".to_vec()), move |r| {
        let _ = tx.send(r);
    });
    let r = rx.await.unwrap().unwrap();
    expected.push((
        r.offset_msg_id.clone(),
        r.msg_id.clone(),
        b"callback".to_vec(),
        2,
    ));
    // to a chosen queue
    let queues = producer.publish_queues("Modes").await.unwrap();
    assert_eq!(queues.len(), 4);
    let r = producer
        .send_to_queue(message(3, b"queue".to_vec()), &queues[2])
        .await
        .unwrap();
    assert_eq!(r.queue, queues[2]);
    expected.push((
        r.offset_msg_id.clone(),
        r.msg_id.clone(),
        b"queue".to_vec(),
        3,
    ));
    // through a selector
    let r = producer
        .send_with_selector(
            message(4, b"selected".to_vec()),
            selector::by_hash("order-1"),
        )
        .await
        .unwrap();
    assert_eq!(
        r.queue.queue_id, 2,
        "Java's hash selector puts order-1 on queue 2 of 4"
    );
    expected.push((
        r.offset_msg_id.clone(),
        r.msg_id.clone(),
        b"selected".to_vec(),
        4,
    ));

    for (offset_id, uniq, body, i) in &expected {
        let m = admin.view_message(offset_id).await.unwrap();
        assert_eq!(&m.body[..], &body[..], "message {i}");
        assert_eq!(&m.msg_id, uniq);
        assert_eq!(m.flag, *i);
        assert_eq!(m.tags(), Some(format!("Tag{}", i % 3).as_str()));
        assert_eq!(
            m.keys().collect::<Vec<_>>(),
            [format!("key-{i}"), format!("alt-{i}")]
        );
        assert_eq!(m.property("color"), Some("blue"));
        assert_eq!(m.broker_name, "broker-a");
    }

    // batch: one request, consecutive offsets, every message intact
    let batch: Vec<Message> = (10..15)
        .map(|i| message(i, format!("batch-{i}").into_bytes()))
        .collect();
    let r = producer.send_batch(batch).await.unwrap();
    let ids: Vec<&str> = r.msg_id.split(',').collect();
    let offset_ids: Vec<&str> = r.offset_msg_id.split(',').collect();
    assert_eq!(ids.len(), 5);
    assert_eq!(offset_ids.len(), 5);
    for (k, (id, offset_id)) in ids.iter().zip(&offset_ids).enumerate() {
        let m = admin.view_message(offset_id).await.unwrap();
        assert_eq!(m.body, format!("batch-{}", 10 + k).into_bytes());
        assert_eq!(&m.msg_id, id);
        assert_eq!(m.queue_offset, r.queue_offset + k as i64);
    }

    // oneway: no answer, so find it by key once indexed
    producer
        .send_oneway(message(20, b"oneway".to_vec()))
        .await
        .unwrap();
    let mut found = Vec::new();
    for _ in 0..100 {
        found = admin
            .query_message_by_key("Modes", "key-20", 32, 0, now_ms() + 60_000)
            .await
            .unwrap();
        if !found.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(found.len(), 1);
    assert_eq!(&found[0].body[..], b"oneway");
    let by_id = admin
        .query_message_by_unique_key("Modes", &found[0].msg_id)
        .await
        .unwrap()
        .expect("found by UNIQ_KEY");
    assert_eq!(by_id.offset_msg_id, found[0].offset_msg_id);

    producer.shutdown().await;
    admin.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_messages_are_refused_before_sending() {
    let cluster = start(1, |_| {}).await;
    let producer = Producer::builder("PG-bad")
        .client_options(cluster.options("bad"))
        .max_message_size(1024)
        .start()
        .await
        .unwrap();
    let too_big = producer.send(Message::new("Any", vec![0u8; 1025])).await;
    assert!(
        matches!(too_big, Err(ClientError::Invalid(ref m)) if m.contains("over max")),
        "{too_big:?}"
    );
    let empty = producer.send(Message::new("Any", Vec::new())).await;
    assert!(matches!(empty, Err(ClientError::Invalid(_))), "{empty:?}");
    let bad_topic = producer.send(Message::new("bad topic!", "x")).await;
    assert!(
        matches!(bad_topic, Err(ClientError::Invalid(_))),
        "{bad_topic:?}"
    );
    let system = producer
        .send(Message::new("SCHEDULE_TOPIC_XXXX", "x"))
        .await;
    assert!(matches!(system, Err(ClientError::Invalid(_))), "{system:?}");
    assert!(Message::new("T", "x").with_property("TAGS", "x").is_err());
    let dup = Producer::builder("PG-bad")
        .client_options(cluster.options("bad"))
        .start()
        .await;
    assert!(
        matches!(dup, Err(ClientError::State(_))),
        "a group runs once per instance"
    );
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_topic_with_auto_create_off_fails_clearly() {
    let cluster = start(1, |c| c.auto_create_topic_enable = false).await;
    let producer = Producer::builder("PG-noauto")
        .client_options(cluster.options("noauto"))
        .start()
        .await
        .unwrap();
    let err = producer
        .send(Message::new("NoSuchTopic", "x"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ClientError::NoRoute { ref topic, .. } if topic == "NoSuchTopic"),
        "{err:?}"
    );
    assert!(err.to_string().contains("NoSuchTopic"), "{err}");
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_created_topic_is_sent_to_and_routed() {
    let cluster = start(1, |_| {}).await;
    let producer = Producer::builder("PG-auto")
        .client_options(cluster.options("auto"))
        .start()
        .await
        .unwrap();
    let r = producer.send(Message::new("AutoTopic", "x")).await.unwrap();
    assert_eq!(r.status, SendStatus::SendOk);
    assert!(r.queue.queue_id < 4);
    let admin = cluster.admin().await;
    let mut routed = false;
    for _ in 0..100 {
        if admin.topic_route("AutoTopic").await.is_ok() {
            routed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(routed, "the broker registers the auto-created topic");
    producer.shutdown().await;
    admin.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn producer_fails_over_to_the_other_broker() {
    let mut cluster = start(2, |_| {}).await;
    cluster.create_topic("Failover", 2).await;
    let mut options = cluster.options("failover");
    // Keep the stale route: the producer must get past the dead broker by retrying.
    options.poll_name_server_interval = Duration::from_secs(3600);
    let producer = Producer::builder("PG-failover")
        .client_options(options)
        .start()
        .await
        .unwrap();
    let mut brokers_used = std::collections::HashSet::new();
    for i in 0..8 {
        let r = producer
            .send(Message::new("Failover", format!("m{i}")))
            .await
            .unwrap();
        brokers_used.insert(r.queue.broker_name);
    }
    assert_eq!(brokers_used.len(), 2, "round robin spans both brokers");

    cluster.stop_broker(0);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = std::time::Instant::now();
    for i in 0..8 {
        let r = producer
            .send(Message::new("Failover", format!("after{i}")))
            .await
            .expect("a retry reaches the live broker");
        assert_eq!(r.queue.broker_name, "broker-b");
    }
    assert!(started.elapsed() < Duration::from_secs(3 * 8));
    producer.shutdown().await;
}
