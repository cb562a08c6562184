//! Requests the broker relays to consumers: GET_CONSUMER_RUNNING_INFO (307) and
//! CONSUME_MESSAGE_DIRECTLY (309) to one member of a group (`AdminBrokerProcessor.callConsumer`),
//! whose answer goes back as it is, and INVOKE_BROKER_TO_GET_CONSUMER_STATUS (223) to every
//! member (`Broker2Client.getConsumeStatus`). The tools ask the broker, which holds the
//! consumers' connections.

use super::admin::error;
use crate::Broker;
use ferrocket_protocol::body::GetConsumerStatusBody;
use ferrocket_protocol::header::{
    ConsumeMessageDirectlyResultRequestHeader, GetConsumerRunningInfoRequestHeader,
    GetConsumerStatusRequestHeader,
};
use ferrocket_protocol::json;
use ferrocket_protocol::{RemotingCommand, RequestCode, ResponseCode};
use ferrocket_remoting::{Channel, HandlerResult, RemotingError};
use std::sync::Arc;
use std::time::Duration;

/// `Broker2Client.callClient` waits this long for the consumer.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// `MQVersion.Version.V3_1_8_SNAPSHOT.ordinal()`: older clients cannot answer.
const OLDEST_ANSWERING_VERSION: i32 = 62;

/// How long each consumer has to report its status.
const STATUS_TIMEOUT: Duration = Duration::from_secs(5);

/// `MQVersion.Version.V3_0_7_SNAPSHOT.ordinal()`: older clients cannot report their status.
const OLDEST_STATUS_VERSION: i32 = 28;

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
    let record = super::record_by_offset_id(&broker, h.msg_id.as_deref());
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
        return error(
            ResponseCode::SYSTEM_ERROR,
            format!("The Consumer <{group}> <{client_id}> not online"),
        );
    };
    if consumer.version < OLDEST_ANSWERING_VERSION {
        return error(
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
        Err(e @ RemotingError::Timeout { .. }) => error(
            ResponseCode::CONSUME_MSG_TIMEOUT,
            format!("consumer <{group}> <{client_id}> Timeout: {e}"),
        ),
        Err(e) => error(
            ResponseCode::SYSTEM_ERROR,
            format!("invoke consumer <{group}> <{client_id}> Exception: {e}"),
        ),
    }
}

/// INVOKE_BROKER_TO_GET_CONSUMER_STATUS (223): asks every member of the group (or only
/// `clientAddr`, a client id) for its offsets of `topic` (GET_CONSUMER_STATUS_FROM_CLIENT,
/// 5 s each) and answers them by client id. A member that fails to answer is left out.
pub async fn consumer_status(
    broker: Arc<Broker>,
    _: Channel,
    request: RemotingCommand,
) -> HandlerResult {
    let h: GetConsumerStatusRequestHeader = request.decode_header()?;
    let members = broker
        .clients
        .consumer_group(&h.group)
        .map(|g| g.channels)
        .unwrap_or_default();
    if members.is_empty() {
        return error(
            ResponseCode::SYSTEM_ERROR,
            format!(
                "No Any Consumer online in the consumer group: [{}]",
                h.group
            ),
        );
    }
    let only = h.client_addr.as_deref().filter(|c| !c.trim().is_empty());
    let mut body = GetConsumerStatusBody::default();
    for (client_id, member) in members {
        if member.version < OLDEST_STATUS_VERSION {
            // Java names the version (`MQVersion.getVersionDesc`); this gives its ordinal.
            return error(
                ResponseCode::SYSTEM_ERROR,
                format!(
                    "the client does not support this feature. version={}",
                    member.version
                ),
            );
        }
        if only.is_some_and(|c| c != client_id) {
            continue;
        }
        let ask = RemotingCommand::request_with_header(
            RequestCode::GET_CONSUMER_STATUS_FROM_CLIENT,
            &GetConsumerStatusRequestHeader {
                topic: h.topic.clone(),
                group: h.group.clone(),
                client_addr: None,
            },
        );
        match member.channel.invoke(ask, STATUS_TIMEOUT).await {
            Ok(r) if r.response_code() == ResponseCode::SUCCESS && r.body.is_some() => {
                match json::from_slice::<GetConsumerStatusBody>(r.body_bytes()) {
                    Ok(status) => {
                        body.consumer_table
                            .insert(client_id, status.message_queue_table);
                    }
                    Err(e) => tracing::warn!(%client_id, "bad consumer status: {e}"),
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(%client_id, group = %h.group, "consumer status: {e}"),
        }
        if only.is_some() {
            break;
        }
    }
    Ok(Some(
        RemotingCommand::response(ResponseCode::SUCCESS, None).with_body(json::to_vec(&body)),
    ))
}
