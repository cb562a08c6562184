//! The lite pull consumer and the admin API against real servers on loopback.

mod support;

use ferrocket_client::{ConsumeFromWhere, LitePullConsumer, Message, MessageQueue, Producer};
use ferrocket_protocol::body::SubscriptionGroupConfig;
use std::time::Duration;
use support::*;

async fn fill(cluster: &Cluster, topic: &str, n: usize) -> Producer {
    let p = Producer::builder(format!("PG-{topic}"))
        .client_options(cluster.options(&format!("{topic}-p")))
        .start()
        .await
        .unwrap();
    for i in 0..n {
        let q = MessageQueue::new(topic, "broker-a", (i % 2) as i32);
        p.send_to_queue(
            Message::new(topic, format!("{i}")).with_keys([format!("k{i}")]),
            &q,
        )
        .await
        .unwrap();
    }
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lite_pull_assign_seek_poll_and_commit() {
    let cluster = start(1, |_| {}).await;
    cluster.create_topic("Lite", 2).await;
    let p = fill(&cluster, "Lite", 40).await;
    let consumer = LitePullConsumer::builder("CG-lite")
        .client_options(cluster.options("lite"))
        .auto_commit(false)
        .consume_from(ConsumeFromWhere::ConsumeFromFirstOffset)
        .start()
        .await
        .unwrap();
    let queues = consumer.fetch_message_queues("Lite").await.unwrap();
    assert_eq!(queues.len(), 2);
    let q0 = queues[0].clone();
    consumer.assign(vec![q0.clone()]).await.unwrap();
    assert_eq!(consumer.assignment(), vec![q0.clone()]);

    let mut offsets = Vec::new();
    while offsets.len() < 20 {
        let batch = consumer.poll(Duration::from_secs(5)).await;
        assert!(
            !batch.is_empty(),
            "poll timed out after {} messages",
            offsets.len()
        );
        assert!(batch.iter().all(|m| m.queue_id == 0));
        offsets.extend(batch.iter().map(|m| m.queue_offset));
    }
    assert_eq!(offsets, (0..20).collect::<Vec<i64>>());
    assert!(consumer.poll(Duration::from_millis(200)).await.is_empty());

    consumer.commit_sync().await;
    assert_eq!(consumer.committed(&q0).await.unwrap(), Some(20));

    // Seek back: the next poll starts at the sought offset.
    consumer.seek(&q0, 5).await.unwrap();
    let batch = consumer.poll(Duration::from_secs(5)).await;
    assert_eq!(batch.first().map(|m| m.queue_offset), Some(5));
    assert!(
        consumer.seek(&q0, 1000).await.is_err(),
        "beyond the max offset"
    );
    let other = MessageQueue::new("Lite", "broker-a", 1);
    assert!(consumer.seek(&other, 0).await.is_err(), "not assigned");

    consumer.shutdown().await;
    p.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lite_pull_subscribe_with_auto_commit() {
    let cluster = start(1, |_| {}).await;
    cluster.create_topic("LiteSub", 2).await;
    let p = fill(&cluster, "LiteSub", 30).await;
    let mut options = ferrocket_client::consumer::lite_pull::LitePullOptions {
        auto_commit_interval: Duration::from_millis(100),
        ..Default::default()
    };
    options.start.from = ConsumeFromWhere::ConsumeFromFirstOffset;
    let consumer = LitePullConsumer::builder("CG-litesub")
        .client_options(cluster.options("litesub"))
        .options(options)
        .subscribe("LiteSub", "*")
        .start()
        .await
        .unwrap();
    let mut got = std::collections::BTreeSet::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while got.len() < 30 {
        assert!(
            std::time::Instant::now() < deadline,
            "only {} polled",
            got.len()
        );
        for m in consumer.poll(Duration::from_secs(1)).await {
            got.insert(String::from_utf8(m.body.to_vec()).unwrap());
        }
    }
    assert_eq!(consumer.assignment().len(), 2);
    tokio::time::sleep(Duration::from_millis(150)).await;
    consumer.poll(Duration::from_millis(10)).await; // an auto-commit is due
    consumer.shutdown().await;
    let admin = cluster.admin().await;
    let stats = admin
        .consume_stats("CG-litesub", Some("LiteSub"))
        .await
        .unwrap();
    assert_eq!(stats.total_diff(), 0, "{stats:?}");
    admin.shutdown().await;
    p.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_calls_return_what_the_servers_hold() {
    let cluster = start(1, |_| {}).await;
    let admin = cluster.admin().await;
    cluster.create_topic("AdminT", 2).await;

    let info = admin.cluster_info().await.unwrap();
    assert_eq!(
        info.cluster_addr_table[CLUSTER],
        vec!["broker-a".to_owned()]
    );
    assert_eq!(
        admin.cluster_masters(CLUSTER).await.unwrap(),
        cluster.brokers
    );
    assert!(admin
        .topic_list()
        .await
        .unwrap()
        .contains(&"AdminT".to_owned()));
    let route = admin.topic_route("AdminT").await.unwrap();
    assert_eq!(route.queue_datas[0].read_queue_nums, 2);

    let group = SubscriptionGroupConfig {
        group_name: "CG-admin".into(),
        retry_max_times: 5,
        ..Default::default()
    };
    admin
        .create_subscription_group(CLUSTER, &group)
        .await
        .unwrap();

    let p = fill(&cluster, "AdminT", 10).await;
    let stats = admin.topic_stats("AdminT").await.unwrap();
    assert_eq!(
        stats
            .offset_table
            .values()
            .map(|o| o.max_offset)
            .sum::<i64>(),
        10
    );

    // Lookup by key (exact), by unique key, by offset id.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let mut found = Vec::new();
    for _ in 0..100 {
        found = admin
            .query_message_by_key("AdminT", "k3", 16, 0, now + 60_000)
            .await
            .unwrap();
        if !found.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(found.len(), 1);
    assert_eq!(&found[0].body[..], b"3");
    let viewed = admin.view_message(&found[0].offset_msg_id).await.unwrap();
    assert_eq!(viewed.msg_id, found[0].msg_id);
    assert_eq!(viewed.broker_name, "broker-a");
    let by_uniq = admin
        .query_message_by_unique_key("AdminT", &found[0].msg_id)
        .await
        .unwrap();
    assert_eq!(by_uniq.map(|m| m.queue_offset), Some(found[0].queue_offset));

    // A consumer makes the group visible: connections, lag, reset.
    let consumer = LitePullConsumer::builder("CG-admin")
        .client_options(cluster.options("admin-c"))
        .subscribe("AdminT", "*")
        .auto_commit(false)
        .consume_from(ConsumeFromWhere::ConsumeFromFirstOffset)
        .start()
        .await
        .unwrap();
    let mut n = 0;
    while n < 10 {
        let batch = consumer.poll(Duration::from_secs(5)).await;
        assert!(!batch.is_empty());
        n += batch.len();
    }
    consumer.commit_sync().await;
    let connections = admin.consumer_connections("CG-admin").await.unwrap();
    assert_eq!(connections.connection_set.len(), 1);
    assert!(connections.subscription_table.contains_key("AdminT"));
    let lag = admin
        .consume_stats("CG-admin", Some("AdminT"))
        .await
        .unwrap();
    assert_eq!(lag.total_diff(), 0);

    let reset = admin
        .reset_offset_by_time("AdminT", "CG-admin", 0, true)
        .await
        .unwrap();
    assert_eq!(reset.len(), 2);
    assert!(reset.values().all(|o| *o == 0), "{reset:?}");
    // The broker only tells the consumer; the consumer commits the new offsets.
    let mut lag = 0;
    for _ in 0..100 {
        lag = admin
            .consume_stats("CG-admin", Some("AdminT"))
            .await
            .unwrap()
            .total_diff();
        if lag == 10 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(lag, 10, "reset to the start leaves everything unconsumed");
    // … and polls them again.
    let again = consumer.poll(Duration::from_secs(5)).await;
    assert_eq!(again.first().map(|m| m.queue_offset), Some(0));

    consumer.shutdown().await;
    admin
        .delete_subscription_group(CLUSTER, "CG-admin")
        .await
        .unwrap();
    admin.delete_topic(CLUSTER, "AdminT").await.unwrap();
    assert!(!admin
        .topic_list()
        .await
        .unwrap()
        .contains(&"AdminT".to_owned()));
    assert!(admin.topic_route("AdminT").await.is_err());
    p.shutdown().await;
    admin.shutdown().await;
}
