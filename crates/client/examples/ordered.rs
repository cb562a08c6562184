//! Ordered messages: each order's steps go to one queue (hash selector) and an orderly
//! consumer handles each queue serially under a broker lock.
//! `cargo run -p ferrocket-client --example ordered`

use ferrocket_client::producer::selector;
use ferrocket_client::{
    ConsumeFromWhere, ConsumeOrderlyStatus, Message, MessageExt, Producer, PushConsumer,
};
use std::time::Duration;

#[tokio::main]
async fn main() -> ferrocket_client::Result<()> {
    let namesrv = std::env::var("NAMESRV_ADDR").unwrap_or_else(|_| "127.0.0.1:9876".into());
    let producer = Producer::builder("ordered_producer")
        .namesrv_addr(namesrv.clone())
        .start()
        .await?;
    for order in 0..5 {
        let key = format!("order-{order}");
        for step in ["created", "paid", "shipped", "done"] {
            let m = Message::new("TopicOrdered", format!("{key} {step}")).with_keys([key.as_str()]);
            producer
                .send_with_selector(m, selector::by_hash(&key))
                .await?;
        }
    }
    let consumer = PushConsumer::builder("ordered_consumer")
        .namesrv_addr(namesrv)
        .instance_name("ordered-consumer")
        .subscribe("TopicOrdered", "*")
        .consume_from(ConsumeFromWhere::ConsumeFromFirstOffset)
        .start_orderly(|messages: Vec<MessageExt>| async move {
            for m in &messages {
                println!(
                    "queue {} offset {}: {}",
                    m.queue_id,
                    m.queue_offset,
                    String::from_utf8_lossy(&m.body)
                );
            }
            ConsumeOrderlyStatus::Success
        })
        .await?;
    tokio::time::sleep(Duration::from_secs(5)).await;
    consumer.shutdown().await;
    producer.shutdown().await;
    Ok(())
}
