//! Sends several messages of one topic in one request.
//! `cargo run -p ferrocket-client --example batch`

use ferrocket_client::{Message, Producer};

#[tokio::main]
async fn main() -> ferrocket_client::Result<()> {
    let producer = Producer::builder("batch_producer")
        .namesrv_addr(std::env::var("NAMESRV_ADDR").unwrap_or_else(|_| "127.0.0.1:9876".into()))
        .start()
        .await?;
    let batch: Vec<Message> = (0..3)
        .map(|i| {
            Message::new("BatchTest", format!("Hello world {i}"))
                .with_tags("TagA")
                .with_keys([format!("OrderID00{i}")])
        })
        .collect();
    let result = producer.send_batch(batch).await?;
    println!(
        "batch stored at {:?} from offset {}; ids {}",
        result.queue, result.queue_offset, result.msg_id
    );
    producer.shutdown().await;
    Ok(())
}
