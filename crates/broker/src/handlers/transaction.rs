//! END_TRANSACTION (37) (`EndTransactionProcessor`): a producer commits or rolls back the half
//! message it sent, after running its local transaction or when the broker asked
//! (CHECK_TRANSACTION_STATE). Producers send it oneway, so the response below only reaches a
//! caller that asked for one.
//!
//! RESUME_CHECK_HALF_MESSAGE (323, `mqadmin resumeCheckHalfMessage`): a half message is
//! stored again with its check count reset, so checking starts over.

use crate::handlers::admin::error;
use crate::transaction;
use crate::Broker;
use ferrocket_common::properties::JavaMap;
use ferrocket_common::properties::{self, keys};
use ferrocket_common::record::RecordView;
use ferrocket_common::sysflag;
use ferrocket_protocol::header::{
    EndTransactionRequestHeader, ResumeCheckHalfMessageRequestHeader,
};
use ferrocket_protocol::{RemotingCommand, ResponseCode};
use ferrocket_remoting::{Channel, HandlerResult};
use ferrocket_store::{PutMessage, PutWait, StoreError};
use std::sync::Arc;

pub async fn end_transaction(
    broker: Arc<Broker>,
    channel: Channel,
    request: RemotingCommand,
) -> HandlerResult {
    let h: EndTransactionRequestHeader = request.decode_header()?;
    if !broker.boot_config.store.broker_role.is_master() {
        tracing::warn!("end transaction refused: this broker is a slave");
        return Ok(Some(RemotingCommand::response(
            ResponseCode::SLAVE_NOT_AVAILABLE,
            None,
        )));
    }
    let commit = match h.commit_or_rollback {
        sysflag::TRANSACTION_COMMIT_TYPE => true,
        sysflag::TRANSACTION_ROLLBACK_TYPE => false,
        // UNKNOW (still pending): left for the next check; no answer at all.
        state => {
            tracing::info!(
                producer = %channel.peer_addr(),
                group = %h.producer_group,
                state,
                from_check = h.from_transaction_check.unwrap_or(false),
                remark = ?request.remark,
                "transaction still pending"
            );
            return Ok(None);
        }
    };
    if h.from_transaction_check.unwrap_or(false) || !commit {
        tracing::info!(
            producer = %channel.peer_addr(),
            group = %h.producer_group,
            commit,
            msg_id = %h.msg_id,
            "transaction ended"
        );
    }
    let record = u64::try_from(h.commit_log_offset)
        .ok()
        .and_then(|offset| broker.store.commit_log().record_at(offset));
    let Some(half) = record
        .as_deref()
        .and_then(|bytes| RecordView::decode(bytes, false).ok())
    else {
        return error(
            ResponseCode::SYSTEM_ERROR,
            "Find prepared transaction message failed".into(),
        );
    };
    if let Some(wrong) = mismatch(&half, &h) {
        return error(ResponseCode::SYSTEM_ERROR, wrong.into());
    }
    if commit {
        if let Some(refused) = store_committed(&broker, &half, h.commit_log_offset).await {
            return Ok(Some(refused));
        }
    }
    if let Err(e) = transaction::write_op(
        &broker.store,
        broker.broker_host(),
        half.header.queue_id,
        half.header.queue_offset,
    )
    .await
    {
        // Java ignores the op write's outcome too: the half is checked back later.
        tracing::warn!("transaction op record not written: {e}");
    }
    Ok(Some(RemotingCommand::response(ResponseCode::SUCCESS, None)))
}

/// `checkPrepareMessage`: the record at the given offset must be the producer group's half
/// message at the given queue offset.
fn mismatch(half: &RecordView<'_>, h: &EndTransactionRequestHeader) -> Option<&'static str> {
    if properties::find(half.properties, keys::PRODUCER_GROUP) != Some(h.producer_group.as_str()) {
        return Some("The producer group wrong");
    }
    if half.header.queue_offset != h.tran_state_table_offset {
        return Some("The transaction state table offset wrong");
    }
    if half.header.physical_offset != h.commit_log_offset {
        return Some("The commit log offset wrong");
    }
    None
}

/// Stores the half message in its real queue (`endMessageTransaction` + `sendFinalMessage`);
/// `Some` is the refusal to answer with. Nobody waits for its flush: the half was durable.
async fn store_committed(
    broker: &Broker,
    half: &RecordView<'_>,
    half_offset: i64,
) -> Option<RemotingCommand> {
    let live = broker.config();
    let form = match transaction::committed_form(&live.store.message_delay_level, half) {
        Ok(form) => form,
        Err(e) => {
            return Some(RemotingCommand::response(
                ResponseCode::SYSTEM_ERROR,
                Some(e.to_string()),
            ))
        }
    };
    let msg = PutMessage {
        sys_flag: transaction::committed_sys_flag(half.header.sys_flag),
        prepared_transaction_offset: half_offset,
        ..PutMessage::restored(half, form.topic, form.queue_id, &form.properties)
    };
    // FLUSH_DISK_TIMEOUT and the slave outcomes count as success here, as in Java.
    let e = broker
        .store
        .put_waiting(&msg, PutWait::Appended)
        .await
        .err()?;
    let (code, remark) = match e {
        StoreError::MessageTooLarge { .. } | StoreError::Codec(_) => (
            ResponseCode::MESSAGE_ILLEGAL,
            format!(
                "The message is illegal, maybe msg body or properties length not matched. msg body length limit {}B, msg properties length limit 32KB.",
                live.store.max_message_bytes
            ),
        ),
        StoreError::Io(_) => (ResponseCode::SYSTEM_ERROR, "Create mapped file failed.".into()),
        StoreError::DiskFull { .. }
        | StoreError::Poisoned(_)
        | StoreError::ShutDown
        | StoreError::SlaveMode => (
            ResponseCode::SERVICE_NOT_AVAILABLE,
            "Service not available now.".into(),
        ),
    };
    Some(RemotingCommand::response(code, Some(remark)))
}

/// `AdminBrokerProcessor.resumeCheckHalfMessage`: the record the offset message id names goes
/// back to half queue 0 with `TRANSACTION_CHECK_TIMES=0`. (Java decodes the record with its
/// body decompressed but keeps the compressed flag; the stored bytes are kept here, so a
/// compressed half stays readable.)
pub async fn resume_check_half_message(
    broker: Arc<Broker>,
    _channel: Channel,
    request: RemotingCommand,
) -> HandlerResult {
    let h: ResumeCheckHalfMessageRequestHeader = request.decode_header()?;
    let record = super::record_by_offset_id(&broker, h.msg_id.as_deref());
    let Some(record) = record
        .as_deref()
        .and_then(|b| RecordView::decode(b, false).ok())
    else {
        return error(
            ResponseCode::SYSTEM_ERROR,
            "Exception was thrown when putting message back to RMQ_SYS_TRANS_HALF_TOPIC.".into(),
        );
    };
    let mut map = JavaMap::parse(record.properties, 1);
    map.put(keys::TRANSACTION_CHECK_TIMES, "0");
    let properties = transaction::put_back_properties(&map);
    let msg = PutMessage::restored(
        &record,
        ferrocket_common::names::TRANS_HALF_TOPIC,
        0,
        &properties,
    );
    match broker.store.put_waiting(&msg, PutWait::Appended).await {
        Ok(_) => {
            tracing::info!(
                real_topic = map.get(keys::REAL_TOPIC).unwrap_or(""),
                "half message put back for checking"
            );
            Ok(Some(RemotingCommand::response(ResponseCode::SUCCESS, None)))
        }
        Err(e) => {
            tracing::warn!("half message not put back: {e}");
            error(
                ResponseCode::SYSTEM_ERROR,
                "Put message back to RMQ_SYS_TRANS_HALF_TOPIC failed.".into(),
            )
        }
    }
}
