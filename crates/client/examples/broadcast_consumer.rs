//! Broadcasting: every consumer of the group gets every message; offsets stay in a local file.
//! `cargo run -p ferrocket-client --example broadcast_consumer`

use ferrocket_client::{
    ConsumeConcurrentlyStatus, ConsumeFromWhere, MessageExt, MessageModel, PushConsumer,
};

#[tokio::main]
async fn main() -> ferrocket_client::Result<()> {
    let consumer = PushConsumer::builder("broadcast_consumer")
        .namesrv_addr(std::env::var("NAMESRV_ADDR").unwrap_or_else(|_| "127.0.0.1:9876".into()))
        .message_model(MessageModel::Broadcasting)
        .consume_from(ConsumeFromWhere::ConsumeFromFirstOffset)
        .subscribe("TopicTest", "TagA || TagC || TagD")
        .start_concurrently(|messages: Vec<MessageExt>| async move {
            for m in &messages {
                println!("broadcast {} {:?}", m.msg_id, m.tags());
            }
            ConsumeConcurrentlyStatus::ConsumeSuccess
        })
        .await?;
    let _ = tokio::signal::ctrl_c().await;
    consumer.shutdown().await;
    Ok(())
}
