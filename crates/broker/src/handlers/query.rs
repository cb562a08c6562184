//! Message lookup: VIEW_MESSAGE_BY_ID (33) and QUERY_MESSAGE (12); a consume queue's units:
//! QUERY_CONSUME_QUEUE (321).

use crate::Broker;
use ferrocket_protocol::body::{ConsumeQueueData, QueryConsumeQueueResponseBody};
use ferrocket_protocol::header::{
    QueryConsumeQueueRequestHeader, QueryMessageRequestHeader, QueryMessageResponseHeader,
    ViewMessageRequestHeader, UNIQUE_KEY_QUERY,
};
use ferrocket_protocol::{json, RemotingCommand, ResponseCode};
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

/// QUERY_CONSUME_QUEUE (321, `mqadmin queryCq`): a queue's bounds and up to `count` units
/// from `index`, within the file holding it. With a consumer group, also the group's
/// subscription of the topic and its filter data (`null`: only SQL92 subscriptions have
/// some). An index the queue does not hold gets a remark and no body.
pub fn query_consume_queue(broker: &Broker, request: &RemotingCommand) -> HandlerResult {
    let h: QueryConsumeQueueRequestHeader = request.decode_header()?;
    let topic = h.topic.as_deref().unwrap_or("null");
    let queue_id = h.queue_id.unwrap_or(0);
    let index = h.index.unwrap_or(0);
    let Some(queue) =
        broker
            .store
            .queue_units(topic, queue_id, index, i64::from(h.count.unwrap_or(0)))
    else {
        return Ok(Some(RemotingCommand::response(
            ResponseCode::SYSTEM_ERROR,
            Some(format!("{queue_id}@{topic} is not exist!")),
        )));
    };
    let mut body = QueryConsumeQueueResponseBody {
        max_queue_index: queue.max_offset,
        min_queue_index: queue.min_offset,
        ..Default::default()
    };
    if let Some(group) = &h.consumer_group {
        body.subscription_data = broker.clients.subscription(group, topic);
        body.filter_data = Some(match body.subscription_data {
            None => format!("{group}@{topic} is not online!"),
            Some(_) => "null".to_owned(),
        });
    }
    let Some(units) = queue.units else {
        return Ok(Some(RemotingCommand::response(
            ResponseCode::SUCCESS,
            Some(format!("Index {index} of {queue_id}@{topic} is not exist!")),
        )));
    };
    body.queue_data = Some(
        units
            .into_iter()
            .map(|u| ConsumeQueueData {
                physic_offset: u.commit_log_offset,
                physic_size: u.size,
                tags_code: u.tags_code,
                ..Default::default()
            })
            .collect(),
    );
    Ok(Some(
        RemotingCommand::response(ResponseCode::SUCCESS, None).with_body(json::to_vec(&body)),
    ))
}
