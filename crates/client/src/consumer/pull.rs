//! One PULL_MESSAGE round trip and the client's reading of its answer (`PullAPIWrapper`).

use super::MAX_BODY;
use crate::error::{ClientError, Result};
use crate::instance::ClientInstance;
use crate::message::MessageExt;
use bytes::Bytes;
use ferrocket_common::properties::keys;
use ferrocket_common::MessageRecord;
use ferrocket_protocol::body::{MessageQueue, SubscriptionData};
use ferrocket_protocol::header::{
    pull_sys_flag, PullMessageRequestHeader, PullMessageResponseHeader,
};
use ferrocket_protocol::{RemotingCommand, RequestCode, ResponseCode};
use std::time::Duration;

/// What one pull asks for.
#[derive(Debug)]
pub(crate) struct PullArgs<'a> {
    pub group: &'a str,
    pub queue: &'a MessageQueue,
    pub subscription: &'a SubscriptionData,
    pub offset: i64,
    pub max_nums: i32,
    /// Piggy-backs this committed offset (`FLAG_COMMIT_OFFSET`).
    pub commit_offset: Option<i64>,
    /// Lets the broker hold the pull this long (`FLAG_SUSPEND`).
    pub suspend: Option<Duration>,
    /// Sends the expression (`FLAG_SUBSCRIPTION`) instead of relying on the heartbeat.
    pub post_subscription: bool,
    pub lite: bool,
    pub timeout: Duration,
    pub broker_id: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PullStatus {
    Found,
    NoNewMsg,
    NoMatchedMsg,
    OffsetIllegal,
}

#[derive(Debug)]
pub(crate) struct PullResult {
    pub status: PullStatus,
    pub next_begin_offset: i64,
    pub suggest_broker_id: i64,
    /// Messages after the exact tag re-check (hash collisions removed).
    pub messages: Vec<MessageExt>,
}

pub(crate) async fn pull(instance: &ClientInstance, args: PullArgs<'_>) -> Result<PullResult> {
    let q = args.queue;
    let addr = match instance.subscribe_addr(&q.broker_name, args.broker_id) {
        Some(a) => a,
        None => {
            instance.update_route(&q.topic).await?;
            instance
                .subscribe_addr(&q.broker_name, args.broker_id)
                .ok_or_else(|| ClientError::NoRoute {
                    topic: q.topic.clone(),
                    reason: format!("broker {} is not in the route", q.broker_name),
                })?
        }
    };
    let mut sys_flag = 0;
    if args.commit_offset.is_some_and(|o| o > 0) {
        sys_flag |= pull_sys_flag::COMMIT_OFFSET;
    }
    if args.suspend.is_some() {
        sys_flag |= pull_sys_flag::SUSPEND;
    }
    if args.post_subscription {
        sys_flag |= pull_sys_flag::SUBSCRIPTION;
    }
    if args.lite {
        sys_flag |= pull_sys_flag::LITE_PULL_MESSAGE;
    }
    let sub = args.subscription;
    let header = PullMessageRequestHeader {
        consumer_group: args.group.to_owned(),
        topic: q.topic.clone(),
        queue_id: q.queue_id,
        queue_offset: args.offset,
        max_msg_nums: args.max_nums,
        sys_flag,
        commit_offset: args.commit_offset.unwrap_or(0),
        suspend_timeout_millis: args.suspend.map_or(0, |d| d.as_millis() as i64),
        subscription: args.post_subscription.then(|| sub.sub_string.clone()),
        sub_version: sub.sub_version,
        expression_type: Some(sub.expression_type.clone()),
        bname: Some(q.broker_name.clone()),
    };
    let request = RemotingCommand::request_with_header(RequestCode::PULL_MESSAGE, &header);
    let response = instance.invoke(&addr, request, args.timeout).await?;
    let status = match response.response_code() {
        ResponseCode::SUCCESS => PullStatus::Found,
        ResponseCode::PULL_NOT_FOUND => PullStatus::NoNewMsg,
        ResponseCode::PULL_RETRY_IMMEDIATELY => PullStatus::NoMatchedMsg,
        ResponseCode::PULL_OFFSET_MOVED => PullStatus::OffsetIllegal,
        _ => return Err(ClientError::server(&addr, &response)),
    };
    let h: PullMessageResponseHeader = response
        .decode_header()
        .map_err(|e| ClientError::malformed(&addr, e))?;
    let mut messages = Vec::new();
    if status == PullStatus::Found {
        let body = response.body.clone().unwrap_or_default();
        messages = decode_messages(&body, &q.broker_name, sub, &addr)?;
        let (min, max) = (h.min_offset.to_string(), h.max_offset.to_string());
        for m in &mut messages {
            m.set_property(keys::MIN_OFFSET, min.clone());
            m.set_property(keys::MAX_OFFSET, max.clone());
        }
    }
    Ok(PullResult {
        status,
        next_begin_offset: h.next_begin_offset,
        suggest_broker_id: h.suggest_which_broker_id,
        messages,
    })
}

/// Decodes the records of a pull body and keeps those whose tag the subscription names.
pub(crate) fn decode_messages(
    body: &Bytes,
    broker_name: &str,
    sub: &SubscriptionData,
    addr: &str,
) -> Result<Vec<MessageExt>> {
    let records =
        MessageRecord::decode_all(body, false).map_err(|e| ClientError::malformed(addr, e))?;
    let mut out = Vec::with_capacity(records.len());
    for record in records {
        let m = MessageExt::from_record(record, broker_name, MAX_BODY)
            .map_err(|e| ClientError::malformed(addr, e))?;
        let keep = sub.tags_set.is_empty()
            || sub.class_filter_mode
            || m.tags()
                .is_some_and(|t| sub.tags_set.iter().any(|s| s == t));
        if keep {
            out.push(m);
        }
    }
    Ok(out)
}
