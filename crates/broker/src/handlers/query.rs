//! Message lookup: VIEW_MESSAGE_BY_ID (33) and QUERY_MESSAGE (12).

use crate::Broker;
use ferrocket_protocol::header::{
    QueryMessageRequestHeader, QueryMessageResponseHeader, ViewMessageRequestHeader,
    UNIQUE_KEY_QUERY,
};
use ferrocket_protocol::{RemotingCommand, ResponseCode};
use ferrocket_remoting::HandlerResult;

/// `defaultQueryMaxNum`: the cap for lookups by UNIQ_KEY.
const DEFAULT_QUERY_MAX_NUM: usize = 32;

pub fn view_message(broker: &Broker, request: &RemotingCommand) -> HandlerResult {
    let h: ViewMessageRequestHeader = request.decode_header()?;
    let record = u64::try_from(h.offset)
        .ok()
        .and_then(|o| broker.store.commit_log().record_at(o));
    Ok(Some(match record {
        Some(bytes) => {
            RemotingCommand::response(ResponseCode::SUCCESS, None).with_body(bytes.into_bytes())
        }
        None => RemotingCommand::response(
            ResponseCode::SYSTEM_ERROR,
            Some(format!("can not find message by the offset, {}", h.offset)),
        ),
    }))
}

pub fn query_message(broker: &Broker, request: &RemotingCommand) -> HandlerResult {
    let h: QueryMessageRequestHeader = request.decode_header()?;
    let max = if request.ext(UNIQUE_KEY_QUERY) == Some("true") {
        DEFAULT_QUERY_MAX_NUM
    } else {
        usize::try_from(h.max_num).unwrap_or(0)
    };
    let found =
        broker
            .store
            .query_messages(&h.topic, &h.key, max, h.begin_timestamp, h.end_timestamp);
    if found.messages.is_empty() {
        return Ok(Some(RemotingCommand::response(
            ResponseCode::QUERY_NOT_FOUND,
            Some("can not find message, maybe time range not correct".to_owned()),
        )));
    }
    let mut body = Vec::new();
    for m in &found.messages {
        body.extend_from_slice(m);
    }
    Ok(Some(
        RemotingCommand::response_with_header(
            ResponseCode::SUCCESS,
            &QueryMessageResponseHeader {
                index_last_update_timestamp: found.index_last_update_timestamp,
                index_last_update_phyoffset: found.index_last_update_phy_offset,
            },
        )
        .with_body(body),
    ))
}
