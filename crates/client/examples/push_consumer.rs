//! Consumes `TopicTest` with a concurrent listener until Ctrl-C (RocketMQ quick start).
//! `cargo run -p ferrocket-client --example push_consumer`

use ferrocket_client::{ConsumeConcurrentlyStatus, ConsumeFromWhere, MessageExt, PushConsumer};

#[tokio::main]
async fn main() -> ferrocket_client::Result<()> {
    let consumer = PushConsumer::builder("please_rename_unique_group_name_4")
        .namesrv_addr(std::env::var("NAMESRV_ADDR").unwrap_or_else(|_| "127.0.0.1:9876".into()))
        .subscribe("TopicTest", "*")
        .consume_from(ConsumeFromWhere::ConsumeFromFirstOffset)
        .start_concurrently(|messages: Vec<MessageExt>| async move {
            for m in &messages {
                println!(
                    "received {} {:?}: {}",
                    m.msg_id,
                    m.tags(),
                    String::from_utf8_lossy(&m.body)
                );
            }
            ConsumeConcurrentlyStatus::ConsumeSuccess
        })
        .await?;
    println!("consumer started; Ctrl-C to stop");
    let _ = tokio::signal::ctrl_c().await;
    consumer.shutdown().await;
    Ok(())
}
