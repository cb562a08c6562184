//! Sends messages synchronously, asynchronously and one-way (RocketMQ quick start).
//! Run a broker first: `cargo run --release --bin mqbroker`, then
//! `cargo run -p ferrocket-client --example simple_producer`.

use ferrocket_client::{Message, Producer};

#[tokio::main]
async fn main() -> ferrocket_client::Result<()> {
    let producer = Producer::builder("please_rename_unique_group_name")
        .namesrv_addr(std::env::var("NAMESRV_ADDR").unwrap_or_else(|_| "127.0.0.1:9876".into()))
        .start()
        .await?;
    for i in 0..10 {
        let message = Message::new("TopicTest", format!("Hello RocketMQ {i}"))
            .with_tags("TagA")
            .with_keys([format!("OrderID{i:03}")]);
        let result = producer.send(message).await?;
        println!(
            "sync  {:?} {} {:?} offset {}",
            result.status, result.msg_id, result.queue, result.queue_offset
        );
    }
    let pending: Vec<_> = (0..10)
        .map(|i| {
            producer.send_async(Message::new("TopicTest", format!("async {i}")).with_tags("TagB"))
        })
        .collect();
    for p in pending {
        println!("async {:?}", p.await.map(|r| r.msg_id));
    }
    producer
        .send_oneway(Message::new("TopicTest", "fire and forget"))
        .await?;
    producer.shutdown().await;
    Ok(())
}
