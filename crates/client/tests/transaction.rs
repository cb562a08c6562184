//! The transactional producer against a real broker on loopback: committed transactions
//! reach consumers, rolled-back ones never do, and an unknown one is settled by the broker's
//! check, answered by the listener.

mod support;

use ferrocket_client::{
    ConsumeFromWhere, LitePullConsumer, LocalTransactionState, Message, MessageExt,
    TransactionListener,
};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::*;

/// Decides by the message's key; records the transaction ids it was asked to check.
#[derive(Default)]
struct ByKey {
    checked: Arc<Mutex<Vec<String>>>,
}

impl TransactionListener for ByKey {
    fn execute_local_transaction(&self, message: &Message) -> LocalTransactionState {
        match message.keys().next() {
            Some("commit") => LocalTransactionState::CommitMessage,
            Some("rollback") => LocalTransactionState::RollbackMessage,
            Some("panic") => panic!("local transaction failed"),
            _ => LocalTransactionState::Unknow,
        }
    }

    fn check_local_transaction(&self, message: &MessageExt) -> LocalTransactionState {
        self.checked.lock().unwrap().push(message.msg_id.clone());
        LocalTransactionState::CommitMessage
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_and_checked_transactions_are_delivered_rolled_back_ones_are_not() {
    let cluster = start(1, |c| {
        c.transaction_check_interval = Duration::from_millis(500);
        c.transaction_timeout = Duration::from_millis(500);
    })
    .await;
    cluster.create_topic("TxT", 2).await;
    let checked = Arc::new(Mutex::new(Vec::new()));
    let producer = ferrocket_client::Producer::builder("PG-tx")
        .client_options(cluster.options("tx-p"))
        .start_transactional(ByKey {
            checked: checked.clone(),
        })
        .await
        .unwrap();

    let mut unknown_ids = Vec::new();
    for key in ["commit", "rollback", "unknown", "panic"] {
        let sent = producer
            .send_in_transaction(Message::new("TxT", key).with_keys([key]))
            .await
            .unwrap();
        let expected = match key {
            "commit" => LocalTransactionState::CommitMessage,
            "rollback" => LocalTransactionState::RollbackMessage,
            _ => LocalTransactionState::Unknow,
        };
        assert_eq!(sent.local_state, expected, "{key}");
        if expected == LocalTransactionState::Unknow {
            unknown_ids.push(sent.send.msg_id.clone());
        }
    }

    let consumer = LitePullConsumer::builder("CG-tx")
        .client_options(cluster.options("tx-c"))
        .consume_from(ConsumeFromWhere::ConsumeFromFirstOffset)
        .subscribe("TxT", "*")
        .start()
        .await
        .unwrap();
    let mut received = BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while received.len() < 3 {
        assert!(
            Instant::now() < deadline,
            "only {received:?} arrived; checked {:?}",
            checked.lock().unwrap()
        );
        for m in consumer.poll(Duration::from_millis(500)).await {
            assert_eq!(m.property("TRAN_MSG"), Some("true"));
            assert_eq!(m.sys_flag & 0xC, 0x8, "stored as committed");
            received.insert(String::from_utf8(m.body.to_vec()).unwrap());
        }
    }
    assert_eq!(
        received,
        BTreeSet::from(["commit".into(), "unknown".into(), "panic".into()])
    );
    // The two unknown outcomes were settled by checks naming their transaction ids.
    let mut asked = checked.lock().unwrap().clone();
    asked.sort();
    asked.dedup();
    unknown_ids.sort();
    assert_eq!(asked, unknown_ids);
    // Nothing else arrives: the rolled-back message stays out.
    assert!(consumer.poll(Duration::from_millis(1500)).await.is_empty());
    consumer.shutdown().await;
    producer.shutdown().await;
}
