//! Tag filtering: send TagA/TagB/TagC, consume only `TagA || TagC`.
//! `cargo run -p ferrocket-client --example tag_filter`

use ferrocket_client::{
    ConsumeConcurrentlyStatus, ConsumeFromWhere, Message, MessageExt, Producer, PushConsumer,
};
use std::time::Duration;

#[tokio::main]
async fn main() -> ferrocket_client::Result<()> {
    let namesrv = std::env::var("NAMESRV_ADDR").unwrap_or_else(|_| "127.0.0.1:9876".into());
    let producer = Producer::builder("tag_producer")
        .namesrv_addr(namesrv.clone())
        .start()
        .await?;
    for (i, tag) in ["TagA", "TagB", "TagC"].iter().cycle().take(9).enumerate() {
        producer
            .send(Message::new("TagFilterTest", format!("{tag} #{i}")).with_tags(*tag))
            .await?;
    }
    let consumer = PushConsumer::builder("tag_consumer")
        .namesrv_addr(namesrv)
        .instance_name("tag-consumer")
        .subscribe("TagFilterTest", "TagA || TagC")
        .consume_from(ConsumeFromWhere::ConsumeFromFirstOffset)
        .start_concurrently(|messages: Vec<MessageExt>| async move {
            for m in &messages {
                println!("{:?}: {}", m.tags(), String::from_utf8_lossy(&m.body));
            }
            ConsumeConcurrentlyStatus::ConsumeSuccess
        })
        .await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    consumer.shutdown().await;
    producer.shutdown().await;
    Ok(())
}
