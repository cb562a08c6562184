//! The transactional producer (`TransactionMQProducer`): a message sent "in a transaction"
//! is stored by the broker as a half message no consumer sees; the producer then runs its
//! local transaction and tells the broker to commit or roll back (END_TRANSACTION). When the
//! outcome is unknown, the broker later asks the producer group (CHECK_TRANSACTION_STATE) and
//! the [`TransactionListener`] answers from its own records.

use crate::error::Result;
use crate::message::{Message, MessageExt, SendResult, SendStatus};
use crate::producer::{Producer, ProducerBuilder};
use ferrocket_common::message_id::OffsetMessageId;
use ferrocket_common::properties::keys;
use ferrocket_common::sysflag;
use ferrocket_protocol::header::{CheckTransactionStateRequestHeader, EndTransactionRequestHeader};
use ferrocket_protocol::{RemotingCommand, RequestCode};
use ferrocket_remoting::Channel;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

/// What the local transaction came to (`LocalTransactionState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalTransactionState {
    CommitMessage,
    RollbackMessage,
    /// Not known yet: the broker will ask again later.
    Unknow,
}

impl LocalTransactionState {
    /// END_TRANSACTION's `commitOrRollback` (`MessageSysFlag` transaction values).
    fn commit_or_rollback(self) -> i32 {
        match self {
            LocalTransactionState::CommitMessage => sysflag::TRANSACTION_COMMIT_TYPE,
            LocalTransactionState::RollbackMessage => sysflag::TRANSACTION_ROLLBACK_TYPE,
            LocalTransactionState::Unknow => sysflag::TRANSACTION_NOT_TYPE,
        }
    }
}

/// The application's side of a transaction (`TransactionListener`). Both methods run
/// synchronously: a check runs on a blocking thread, so it may wait on a database.
pub trait TransactionListener: Send + Sync + 'static {
    /// Runs the local transaction of a half message the broker has stored.
    fn execute_local_transaction(&self, message: &Message) -> LocalTransactionState;
    /// Says what became of the transaction of `message` (its `msg_id` is the transaction id),
    /// when the broker did not hear the outcome.
    fn check_local_transaction(&self, message: &MessageExt) -> LocalTransactionState;
}

/// What [`TransactionProducer::send_in_transaction`] returns (`TransactionSendResult`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionSendResult {
    pub send: SendResult,
    /// The local transaction's outcome, as sent to the broker.
    pub local_state: LocalTransactionState,
}

/// A producer whose group answers the broker's transaction checks.
#[derive(Clone)]
pub struct TransactionProducer {
    producer: Producer,
    listener: Arc<dyn TransactionListener>,
}

impl std::fmt::Debug for TransactionProducer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransactionProducer")
            .field("producer", &self.producer)
            .finish_non_exhaustive()
    }
}

impl ProducerBuilder {
    /// Starts a transactional producer whose transactions `listener` runs and checks.
    pub async fn start_transactional(
        self,
        listener: impl TransactionListener,
    ) -> Result<TransactionProducer> {
        let producer = self.start().await?;
        let listener: Arc<dyn TransactionListener> = Arc::new(listener);
        producer
            .instance()
            .register_transaction_listener(producer.group(), listener.clone());
        Ok(TransactionProducer { producer, listener })
    }
}

impl TransactionProducer {
    /// The plain producer of the same group, for sends outside transactions.
    pub fn producer(&self) -> &Producer {
        &self.producer
    }

    /// `sendMessageInTransaction`: sends `message` as a half message, runs the local
    /// transaction once the broker has stored it, and sends the outcome (oneway). A send
    /// that was stored but not flushed or replicated as asked is rolled back. A delay level
    /// is dropped: transactional messages cannot be delayed.
    pub async fn send_in_transaction(&self, mut message: Message) -> Result<TransactionSendResult> {
        let props = message.properties_mut();
        props.remove(keys::DELAY_TIME_LEVEL);
        props.insert(keys::TRANSACTION_PREPARED, "true");
        props.insert(keys::PRODUCER_GROUP, self.producer.group());
        self.producer.assign_unique_id(&mut message);
        let sent = self.producer.send(message.clone()).await?;
        let (local_state, remark) = match sent.status {
            SendStatus::SendOk => {
                let listener = &self.listener;
                run_listener(|| listener.execute_local_transaction(&message))
            }
            _ => (LocalTransactionState::RollbackMessage, None),
        };
        if let Err(e) = self.end_transaction(&sent, local_state, remark).await {
            // Java logs it too: the broker's check settles the transaction later.
            tracing::warn!(msg_id = %sent.msg_id, "END_TRANSACTION not sent: {e}");
        }
        Ok(TransactionSendResult {
            send: sent,
            local_state,
        })
    }

    async fn end_transaction(
        &self,
        sent: &SendResult,
        state: LocalTransactionState,
        remark: Option<String>,
    ) -> Result<()> {
        let instance = self.producer.instance();
        let addr = instance
            .master_addr(&sent.queue.broker_name, &sent.queue.topic)
            .await?;
        let offset = OffsetMessageId::decode(&sent.offset_msg_id)
            .map(|id| id.commit_log_offset)
            .unwrap_or_default();
        let header = EndTransactionRequestHeader {
            producer_group: self.producer.group().to_owned(),
            tran_state_table_offset: sent.queue_offset,
            commit_log_offset: offset,
            commit_or_rollback: state.commit_or_rollback(),
            from_transaction_check: Some(false),
            msg_id: sent.msg_id.clone(),
            transaction_id: sent.transaction_id.clone(),
            bname: Some(sent.queue.broker_name.clone()),
        };
        let mut request =
            RemotingCommand::request_with_header(RequestCode::END_TRANSACTION, &header);
        request.remark = remark;
        instance.invoke_oneway(&addr, request).await
    }

    /// Stops answering checks and shuts the producer down.
    pub async fn shutdown(&self) {
        self.producer
            .instance()
            .unregister_transaction_listener(self.producer.group());
        self.producer.shutdown().await;
    }
}

/// Runs a listener method; a panic counts as UNKNOW, with its message as the remark (Java
/// catches the listener's exceptions the same way).
fn run_listener(
    f: impl FnOnce() -> LocalTransactionState,
) -> (LocalTransactionState, Option<String>) {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(state) => (state, None),
        Err(panic) => {
            let text = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic".into());
            tracing::warn!("transaction listener panicked: {text}");
            (
                LocalTransactionState::Unknow,
                Some(format!("executeLocalTransactionBranch exception: {text}")),
            )
        }
    }
}

/// `ClientRemotingProcessor.checkTransactionState` + `checkTransactionState`: asks the
/// listener on a blocking thread and answers END_TRANSACTION (`fromTransactionCheck`)
/// oneway on the connection the check came on.
pub(crate) fn answer_check(
    channel: Channel,
    header: CheckTransactionStateRequestHeader,
    group: String,
    message: MessageExt,
    listener: Arc<dyn TransactionListener>,
) {
    tokio::spawn(async move {
        let asked = tokio::task::spawn_blocking(move || {
            let outcome = run_listener(|| listener.check_local_transaction(&message));
            (outcome, message)
        })
        .await;
        let Ok(((state, remark), message)) = asked else {
            return;
        };
        let msg_id = message
            .property(keys::UNIQ_CLIENT_MESSAGE_ID_KEYIDX)
            .unwrap_or(&message.msg_id)
            .to_owned();
        let answer = EndTransactionRequestHeader {
            producer_group: group,
            tran_state_table_offset: header.tran_state_table_offset,
            commit_log_offset: header.commit_log_offset,
            commit_or_rollback: state.commit_or_rollback(),
            from_transaction_check: Some(true),
            msg_id,
            transaction_id: header.transaction_id,
            bname: None,
        };
        let mut request =
            RemotingCommand::request_with_header(RequestCode::END_TRANSACTION, &answer);
        request.remark = remark;
        if let Err(e) = channel.invoke_oneway(request).await {
            tracing::warn!("transaction check answer not sent: {e}");
        }
    });
}
