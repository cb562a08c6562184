//! The broker requests consumers make about offsets, members and locks.

use super::{ConsumeFromWhere, StartPosition};
use crate::error::{ClientError, Result};
use crate::instance::ClientInstance;
use ferrocket_common::names::RETRY_GROUP_TOPIC_PREFIX;
use ferrocket_protocol::body::{
    ConsumerIdList, LockBatchRequestBody, LockBatchResponseBody, MessageQueue,
};
use ferrocket_protocol::header::{
    ConsumerGroupRequestHeader, GetMaxOffsetRequestHeader, OffsetResponseHeader,
    QueryConsumerOffsetRequestHeader, SearchOffsetRequestHeader, UpdateConsumerOffsetRequestHeader,
};
use ferrocket_protocol::{json, RemotingCommand, RequestCode, ResponseCode};

/// GET_MAX_OFFSET of a queue at its master.
pub(crate) async fn max_offset(instance: &ClientInstance, q: &MessageQueue) -> Result<i64> {
    let addr = instance.master_addr(&q.broker_name, &q.topic).await?;
    let req = RemotingCommand::request_with_header(
        RequestCode::GET_MAX_OFFSET,
        &GetMaxOffsetRequestHeader {
            topic: q.topic.clone(),
            queue_id: q.queue_id,
            bname: None,
        },
    );
    offset_of(&addr, instance.invoke_ok(&addr, req).await?)
}

/// SEARCH_OFFSET_BY_TIMESTAMP of a queue at its master.
pub(crate) async fn search_offset(
    instance: &ClientInstance,
    q: &MessageQueue,
    timestamp_ms: i64,
) -> Result<i64> {
    let addr = instance.master_addr(&q.broker_name, &q.topic).await?;
    let req = RemotingCommand::request_with_header(
        RequestCode::SEARCH_OFFSET_BY_TIMESTAMP,
        &SearchOffsetRequestHeader {
            topic: q.topic.clone(),
            queue_id: q.queue_id,
            timestamp: timestamp_ms,
            bname: None,
        },
    );
    offset_of(&addr, instance.invoke_ok(&addr, req).await?)
}

fn offset_of(addr: &str, response: RemotingCommand) -> Result<i64> {
    let h: OffsetResponseHeader = response
        .decode_header()
        .map_err(|e| ClientError::malformed(addr, e))?;
    Ok(h.offset)
}

/// QUERY_CONSUMER_OFFSET: the group's committed offset, `None` when it has none.
pub(crate) async fn query_consumer_offset(
    instance: &ClientInstance,
    group: &str,
    q: &MessageQueue,
) -> Result<Option<i64>> {
    let addr = instance.master_addr(&q.broker_name, &q.topic).await?;
    let req = RemotingCommand::request_with_header(
        RequestCode::QUERY_CONSUMER_OFFSET,
        &QueryConsumerOffsetRequestHeader {
            consumer_group: group.to_owned(),
            topic: q.topic.clone(),
            queue_id: q.queue_id,
            bname: Some(q.broker_name.clone()),
        },
    );
    let response = instance
        .invoke(&addr, req, instance.options().request_timeout)
        .await?;
    match response.response_code() {
        ResponseCode::SUCCESS => offset_of(&addr, response).map(Some),
        ResponseCode::QUERY_NOT_FOUND => Ok(None),
        _ => Err(ClientError::server(&addr, &response)),
    }
}

/// UPDATE_CONSUMER_OFFSET, oneway (periodic) or waiting for the answer (shutdown, reset).
pub(crate) async fn update_consumer_offset(
    instance: &ClientInstance,
    group: &str,
    q: &MessageQueue,
    offset: i64,
    oneway: bool,
) -> Result<()> {
    let addr = instance.master_addr(&q.broker_name, &q.topic).await?;
    let req = RemotingCommand::request_with_header(
        RequestCode::UPDATE_CONSUMER_OFFSET,
        &UpdateConsumerOffsetRequestHeader {
            consumer_group: group.to_owned(),
            topic: q.topic.clone(),
            queue_id: q.queue_id,
            commit_offset: offset,
            bname: Some(q.broker_name.clone()),
        },
    );
    if oneway {
        instance.invoke_oneway(&addr, req).await
    } else {
        instance.invoke_ok(&addr, req).await.map(|_| ())
    }
}

/// GET_CONSUMER_LIST_BY_GROUP from one broker of `topic`: the group's client ids, sorted.
pub(crate) async fn consumer_ids(
    instance: &ClientInstance,
    group: &str,
    topic: &str,
) -> Result<Vec<String>> {
    let addr = instance
        .any_broker_of(topic)
        .ok_or_else(|| ClientError::NoRoute {
            topic: topic.to_owned(),
            reason: "no broker to ask for the consumer list".into(),
        })?;
    let req = RemotingCommand::request_with_header(
        RequestCode::GET_CONSUMER_LIST_BY_GROUP,
        &ConsumerGroupRequestHeader {
            consumer_group: group.to_owned(),
        },
    );
    let response = instance.invoke_ok(&addr, req).await?;
    let body: ConsumerIdList =
        json::from_slice(response.body_bytes()).map_err(|e| ClientError::malformed(&addr, e))?;
    let mut ids = body.consumer_id_list;
    ids.sort();
    Ok(ids)
}

/// LOCK_BATCH_MQ at `broker_name`'s master: the queues now held by this client.
pub(crate) async fn lock_batch(
    instance: &ClientInstance,
    group: &str,
    broker_name: &str,
    queues: Vec<MessageQueue>,
) -> Result<Vec<MessageQueue>> {
    let Some(topic) = queues.first().map(|q| q.topic.clone()) else {
        return Ok(Vec::new());
    };
    let addr = instance.master_addr(broker_name, &topic).await?;
    let body = json::to_vec(&LockBatchRequestBody {
        client_id: instance.client_id().to_owned(),
        consumer_group: group.to_owned(),
        mq_set: queues,
    });
    let req = RemotingCommand::request(RequestCode::LOCK_BATCH_MQ).with_body(body);
    let response = instance.invoke_ok(&addr, req).await?;
    let locked: LockBatchResponseBody =
        json::from_slice(response.body_bytes()).map_err(|e| ClientError::malformed(&addr, e))?;
    Ok(locked.lock_ok_mq_set)
}

/// UNLOCK_BATCH_MQ at `broker_name`'s master (oneway, as Java's `unlock`).
pub(crate) async fn unlock_batch(
    instance: &ClientInstance,
    group: &str,
    broker_name: &str,
    queues: Vec<MessageQueue>,
) -> Result<()> {
    let Some(topic) = queues.first().map(|q| q.topic.clone()) else {
        return Ok(());
    };
    let addr = instance.master_addr(broker_name, &topic).await?;
    let body = json::to_vec(&LockBatchRequestBody {
        client_id: instance.client_id().to_owned(),
        consumer_group: group.to_owned(),
        mq_set: queues,
    });
    let req = RemotingCommand::request(RequestCode::UNLOCK_BATCH_MQ).with_body(body);
    instance.invoke_oneway(&addr, req).await
}

/// Where a queue without a committed offset starts (`computePullFromWhere`, `behaviour.md`
/// §10); `committed` is what the offset store holds.
pub(crate) async fn start_offset(
    instance: &ClientInstance,
    q: &MessageQueue,
    committed: Option<i64>,
    start: &StartPosition,
) -> Result<i64> {
    if let Some(offset) = committed.filter(|o| *o >= 0) {
        return Ok(offset);
    }
    let retry = q.topic.starts_with(RETRY_GROUP_TOPIC_PREFIX);
    match start.from {
        ConsumeFromWhere::ConsumeFromFirstOffset => Ok(0),
        ConsumeFromWhere::ConsumeFromTimestamp => {
            if retry {
                max_offset(instance, q).await
            } else {
                search_offset(instance, q, start.timestamp_ms).await
            }
        }
        // CONSUME_FROM_LAST_OFFSET and the three deprecated values.
        _ => {
            if retry {
                Ok(0)
            } else {
                max_offset(instance, q).await
            }
        }
    }
}

/// The queues of `topic` this client should own now (`RebalanceImpl.rebalanceByTopic`):
/// every readable queue when broadcasting, its allocated share when clustering. `None` when
/// the route or the member list is not available this round.
pub(crate) async fn assigned_queues(
    instance: &ClientInstance,
    group: &str,
    topic: &str,
    model: super::MessageModel,
    strategy: super::allocate::AllocateStrategy,
) -> Option<Vec<MessageQueue>> {
    let route = match instance.route(topic).await {
        Ok(Some(r)) => r,
        Ok(None) => {
            tracing::debug!("rebalance of {topic}: no route yet");
            return None;
        }
        Err(e) => {
            tracing::warn!("rebalance of {topic}: {e}");
            return None;
        }
    };
    if model == super::MessageModel::Broadcasting {
        return Some(route.subscribe.clone());
    }
    match consumer_ids(instance, group, topic).await {
        Ok(ids) => Some(strategy.allocate(instance.client_id(), &route.subscribe, &ids)),
        Err(e) => {
            tracing::warn!("rebalance of {topic}: consumer list unavailable: {e}");
            None
        }
    }
}
