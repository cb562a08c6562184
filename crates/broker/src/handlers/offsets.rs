//! Consumer offsets and queue offsets: QUERY_CONSUMER_OFFSET (14), UPDATE_CONSUMER_OFFSET (15),
//! GET_MAX_OFFSET (30), GET_MIN_OFFSET (31), SEARCH_OFFSET_BY_TIMESTAMP (29),
//! GET_EARLIEST_MSG_STORETIME (32).

use crate::Broker;
use ferrocket_protocol::header::*;
use ferrocket_protocol::{RemotingCommand, ResponseCode};
use ferrocket_remoting::HandlerResult;

/// A response built from a header class with no fields: Java sends `"extFields":{}`.
pub(crate) fn empty_header_response() -> RemotingCommand {
    let mut r = RemotingCommand::response(ResponseCode::SUCCESS, None);
    r.ext_fields = Some(Default::default());
    r
}

fn offset(offset: i64) -> HandlerResult {
    Ok(Some(RemotingCommand::response_with_header(
        ResponseCode::SUCCESS,
        &OffsetResponseHeader { offset },
    )))
}

pub fn query_consumer_offset(broker: &Broker, request: &RemotingCommand) -> HandlerResult {
    let h: QueryConsumerOffsetRequestHeader = request.decode_header()?;
    if let Some(o) = broker
        .offsets
        .query(&h.consumer_group, &h.topic, h.queue_id)
    {
        return offset(o);
    }
    // No committed offset: a young queue (first message still in memory) starts at 0.
    if broker.store.min_offset(&h.topic, h.queue_id) <= 0 {
        return offset(0);
    }
    Ok(Some(RemotingCommand::response(
        ResponseCode::QUERY_NOT_FOUND,
        Some("Not found, V3_0_6_SNAPSHOT maybe this group consumer boot first".to_owned()),
    )))
}

pub fn update_consumer_offset(broker: &Broker, request: &RemotingCommand) -> HandlerResult {
    let h: UpdateConsumerOffsetRequestHeader = request.decode_header()?;
    broker
        .offsets
        .commit(&h.consumer_group, &h.topic, h.queue_id, h.commit_offset);
    Ok(Some(empty_header_response()))
}

pub fn max_offset(broker: &Broker, request: &RemotingCommand) -> HandlerResult {
    let h: GetMaxOffsetRequestHeader = request.decode_header()?;
    offset(broker.store.max_offset(&h.topic, h.queue_id))
}

pub fn min_offset(broker: &Broker, request: &RemotingCommand) -> HandlerResult {
    let h: GetMinOffsetRequestHeader = request.decode_header()?;
    offset(broker.store.min_offset(&h.topic, h.queue_id))
}

pub fn search_offset(broker: &Broker, request: &RemotingCommand) -> HandlerResult {
    let h: SearchOffsetRequestHeader = request.decode_header()?;
    offset(
        broker
            .store
            .offset_by_time(&h.topic, h.queue_id, h.timestamp),
    )
}

pub fn earliest_store_time(broker: &Broker, request: &RemotingCommand) -> HandlerResult {
    let h: GetEarliestMsgStoretimeRequestHeader = request.decode_header()?;
    Ok(Some(RemotingCommand::response_with_header(
        ResponseCode::SUCCESS,
        &GetEarliestMsgStoretimeResponseHeader {
            timestamp: broker.store.earliest_store_time(&h.topic, h.queue_id),
        },
    )))
}

pub(crate) use empty_header_response as empty_ext_response;
