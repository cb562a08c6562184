//! Requests the broker relays to one consumer (`AdminBrokerProcessor.callConsumer`):
//! GET_CONSUMER_RUNNING_INFO (307) and CONSUME_MESSAGE_DIRECTLY (309). The tools ask the
//! broker, which holds the consumer's connection; the consumer's answer goes back as it is.

use crate::Broker;
use ferrocket_common::message_id::OffsetMessageId;
use ferrocket_protocol::header::{
    ConsumeMessageDirectlyResultRequestHeader, GetConsumerRunningInfoRequestHeader,
};
use ferrocket_protocol::{RemotingCommand, RequestCode, ResponseCode};
use ferrocket_remoting::{Channel, HandlerResult, RemotingError};
use std::sync::Arc;
use std::time::Duration;

/// `Broker2Client.callClient` waits this long for the consumer.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// `MQVersion.Version.V3_1_8_SNAPSHOT.ordinal()`: older clients cannot answer.
const OLDEST_ANSWERING_VERSION: i32 = 62;

fn answer(code: ResponseCode, remark: String) -> HandlerResult {
    Ok(Some(RemotingCommand::response(code, Some(remark))))
}

pub async fn running_info(
    broker: Arc<Broker>,
    _: Channel,
    request: RemotingCommand,
) -> HandlerResult {
    let h: GetConsumerRunningInfoRequestHeader = request.decode_header()?;
    call_consumer(
        &broker,
        RequestCode::GET_CONSUMER_RUNNING_INFO,
        request,
        &h.consumer_group,
        &h.client_id,
    )
    .await
}

/// The consumer gets the record named by the offset message id as the body, and the
/// broker's name as an extra header field.
pub async fn consume_directly(
    broker: Arc<Broker>,
    _: Channel,
    mut request: RemotingCommand,
) -> HandlerResult {
    let h: ConsumeMessageDirectlyResultRequestHeader = request.decode_header()?;
    request
        .ext_mut()
        .insert("brokerName", &broker.boot_config.broker_name);
    let record = h
        .msg_id
        .as_deref()
        .and_then(|id| OffsetMessageId::decode(id).ok())
        .and_then(|id| u64::try_from(id.commit_log_offset).ok())
        .and_then(|offset| broker.store.commit_log().record_at(offset));
    if let Some(record) = record {
        request.body = Some(record.into_bytes());
    }
    let client_id = h.client_id.unwrap_or_else(|| "null".to_owned());
    call_consumer(
        &broker,
        RequestCode::CONSUME_MESSAGE_DIRECTLY,
        request,
        &h.consumer_group,
        &client_id,
    )
    .await
}

async fn call_consumer(
    broker: &Broker,
    code: RequestCode,
    request: RemotingCommand,
    group: &str,
    client_id: &str,
) -> HandlerResult {
    let Some(consumer) = broker.clients.find_consumer(group, client_id) else {
        return answer(
            ResponseCode::SYSTEM_ERROR,
            format!("The Consumer <{group}> <{client_id}> not online"),
        );
    };
    if consumer.version < OLDEST_ANSWERING_VERSION {
        return answer(
            ResponseCode::SYSTEM_ERROR,
            // Java names the version (`MQVersion.getVersionDesc`); this gives its ordinal.
            format!(
                "The Consumer <{client_id}> Version <{}> too low to finish, please upgrade it to V3_1_8_SNAPSHOT",
                consumer.version
            ),
        );
    }
    // A new request with the caller's header fields and body.
    let mut relayed = RemotingCommand::request(code);
    relayed.ext_fields = request.ext_fields;
    relayed.body = request.body;
    match consumer.channel.invoke(relayed, CALL_TIMEOUT).await {
        Ok(response) => Ok(Some(response)),
        Err(e @ RemotingError::Timeout { .. }) => answer(
            ResponseCode::CONSUME_MSG_TIMEOUT,
            format!("consumer <{group}> <{client_id}> Timeout: {e}"),
        ),
        Err(e) => answer(
            ResponseCode::SYSTEM_ERROR,
            format!("invoke consumer <{group}> <{client_id}> Exception: {e}"),
        ),
    }
}
