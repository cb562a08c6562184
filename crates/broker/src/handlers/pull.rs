//! PULL_MESSAGE (11) with long polling (`PullMessageProcessor`).

use super::FAQ;
use crate::consumer_filter::is_tag_type;
use crate::message_filter::MessageFilter;
use crate::Broker;
use ferrocket_common::names;
use ferrocket_common::properties::{keys, Properties};
use ferrocket_common::sql92::Selector;
use ferrocket_protocol::body::SubscriptionGroupConfig;
use ferrocket_protocol::body::{perm, MessageQueue, OffsetMovedEvent, SubscriptionData};
use ferrocket_protocol::header::{
    pull_sys_flag, PullMessageRequestHeader, PullMessageResponseHeader,
};
use ferrocket_protocol::json;
use ferrocket_protocol::{RemotingCommand, ResponseCode};
use ferrocket_remoting::{Channel, HandlerResult};
use ferrocket_store::{GetMessageResult, GetMessageStatus, PutMessage, SegmentSlice};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn error(code: ResponseCode, remark: String) -> HandlerResult {
    Ok(Some(RemotingCommand::response(code, Some(remark))))
}

/// The response code for a store outcome (codes.md §5).
fn response_code(status: GetMessageStatus, request_offset: i64) -> ResponseCode {
    match status {
        GetMessageStatus::Found => ResponseCode::SUCCESS,
        GetMessageStatus::NoMatchedMessage | GetMessageStatus::MessageWasRemoving => {
            ResponseCode::PULL_RETRY_IMMEDIATELY
        }
        GetMessageStatus::NoMatchedLogicQueue | GetMessageStatus::NoMessageInQueue => {
            if request_offset != 0 {
                ResponseCode::PULL_OFFSET_MOVED
            } else {
                ResponseCode::PULL_NOT_FOUND
            }
        }
        GetMessageStatus::OffsetFoundNull | GetMessageStatus::OffsetOverflowOne => {
            ResponseCode::PULL_NOT_FOUND
        }
        GetMessageStatus::OffsetOverflowBadly | GetMessageStatus::OffsetTooSmall => {
            ResponseCode::PULL_OFFSET_MOVED
        }
    }
}

/// How a pull is answered: the code, and which broker (master 0, or a slave) the client
/// should pull from next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Answer {
    code: ResponseCode,
    suggest_which_broker_id: i64,
}

/// The code and suggested broker for a store outcome, after Java's role rules: the broker id
/// is the group's (`brokerId`) only with `slaveReadEnable` (this store never finds a consumer
/// so far behind that it suggests a slave), else the master's. A slave does not correct a
/// client's offset unless `offsetCheckInSlave`: it answers PULL_RETRY_IMMEDIATELY instead of
/// OFFSET_MOVED.
fn answer(
    live: &crate::BrokerConfig,
    group: &SubscriptionGroupConfig,
    result: &GetMessageResult,
    request_offset: i64,
) -> Answer {
    let group_broker_id = group.broker_id;
    let mut answer = Answer {
        code: response_code(result.status, request_offset),
        // A consumer reading data that is no longer in memory is sent to the group's broker
        // for slow consumers.
        suggest_which_broker_id: match (live.slave_read_enable, result.suggest_pulling_from_slave) {
            (false, _) => MASTER_ID,
            (true, false) => group_broker_id,
            (true, true) => group.which_broker_when_consume_slowly,
        },
    };
    if answer.code == ResponseCode::PULL_OFFSET_MOVED
        && !live.store.broker_role.is_master()
        && !live.store.offset_check_in_slave
    {
        answer = Answer {
            code: ResponseCode::PULL_RETRY_IMMEDIATELY,
            suggest_which_broker_id: group_broker_id,
        };
    }
    answer
}

const MASTER_ID: i64 = 0;

/// The response to a pull; messages found count in the group's statistics.
fn respond(
    broker: &Broker,
    h: &PullMessageRequestHeader,
    result: GetMessageResult,
    answer: Answer,
) -> RemotingCommand {
    if answer.code == ResponseCode::SUCCESS {
        let bytes = result.messages.iter().map(|m| m.len() as i64).sum();
        broker.broker_stats.record_get(
            &h.consumer_group,
            &h.topic,
            result.messages.len() as i64,
            bytes,
        );
    }
    build_response(result, answer)
}

fn build_response(result: GetMessageResult, answer: Answer) -> RemotingCommand {
    let code = answer.code;
    let mut resp = RemotingCommand::response_with_header(
        code,
        &PullMessageResponseHeader {
            suggest_which_broker_id: answer.suggest_which_broker_id,
            next_begin_offset: result.next_begin_offset,
            min_offset: result.min_offset,
            max_offset: result.max_offset,
        },
    )
    .with_remark(result.status.name());
    if code == ResponseCode::SUCCESS {
        // The records go out as they lie in the mapped CommitLog, uncopied.
        resp = resp.with_body_parts(SegmentSlice::share_all(result.messages));
    }
    resp
}

/// Java's `generateOffsetMovedEvent`: a pull for an offset the queue does not hold is recorded
/// as a message in `OFFSET_MOVED_EVENT` (queue 0, tag `OFFSET_MOVED_EVENT`, JSON body), so that
/// tools can see which groups lost their place.
async fn record_offset_moved(
    broker: &Broker,
    channel: &Channel,
    h: &PullMessageRequestHeader,
    offset_new: i64,
) {
    let event = OffsetMovedEvent {
        consumer_group: h.consumer_group.clone(),
        message_queue: MessageQueue::new(&h.topic, &broker.boot_config.broker_name, h.queue_id),
        offset_new,
        offset_request: h.queue_offset,
    };
    let body = json::to_vec(&event);
    let store_host = broker.store_host(channel);
    // Java's HashMap puts DELAY (from setDelayTimeLevel(0)) before TAGS.
    let mut properties = Properties::new();
    properties.insert(keys::DELAY_TIME_LEVEL, "0");
    properties.insert(keys::TAGS, names::OFFSET_MOVED_EVENT);
    let properties = properties.encode();
    let msg = PutMessage {
        topic: names::OFFSET_MOVED_EVENT,
        queue_id: 0,
        flag: 0,
        sys_flag: 0,
        born_timestamp: ferrocket_common::time::now_ms(),
        born_host: store_host,
        store_host,
        reconsume_times: 0,
        prepared_transaction_offset: 0,
        body: &body,
        properties: &properties,
    };
    if let Err(e) = broker.store.put(&msg).await {
        tracing::warn!(group = %h.consumer_group, topic = %h.topic, "could not record an offset-moved event: {e}");
    }
}

/// A pull refused before reading: the code and the remark.
type Refusal = (ResponseCode, String);

/// The pull's subscription and, for an SQL92 one, its compiled selector, in the order
/// `PullMessageProcessor` settles them: the pull's own expression (FLAG_SUBSCRIPTION) or
/// the one its group registered; then the filter data an SQL92 subscription needs; then
/// whether this broker serves SQL92 at all. `Err` is the refusal to answer with.
fn resolve_subscription(
    broker: &Broker,
    h: &PullMessageRequestHeader,
    enable_property_filter: bool,
) -> Result<(SubscriptionData, Option<Arc<Selector>>), Refusal> {
    let (subscription, selector) = if h.sys_flag & pull_sys_flag::SUBSCRIPTION != 0 {
        let expression = h.subscription.as_deref().unwrap_or("");
        match h.expression_type.as_deref() {
            None | Some("TAG") => (
                SubscriptionData::tag(&h.topic, expression, h.sub_version),
                None,
            ),
            Some(expression_type) => {
                if expression.is_empty() {
                    return Err((
                        ResponseCode::SUBSCRIPTION_PARSE_FAILED,
                        "parse the consumer's subscription failed".to_owned(),
                    ));
                }
                let subscription = SubscriptionData {
                    topic: h.topic.clone(),
                    sub_string: expression.to_owned(),
                    expression_type: expression_type.to_owned(),
                    ..Default::default()
                };
                // Java goes on without filter data when the expression does not compile (or
                // names a type it has no filter for): such a pull is not filtered.
                let selector = (expression_type == "SQL92")
                    .then(|| broker.filters.compile(expression).ok())
                    .flatten();
                (subscription, selector)
            }
        }
    } else {
        let subscription = match broker.clients.subscription(&h.consumer_group, &h.topic) {
            None => {
                return Err((
                    ResponseCode::SUBSCRIPTION_NOT_EXIST,
                    format!("the consumer's subscription not exist{FAQ}"),
                ))
            }
            Some(sub) if sub.sub_version < h.sub_version => {
                return Err((
                    ResponseCode::SUBSCRIPTION_NOT_LATEST,
                    "the consumer's subscription not latest".to_owned(),
                ))
            }
            Some(sub) => sub,
        };
        let mut selector = None;
        if !is_tag_type(&subscription.expression_type) {
            let Some((client_version, registered)) =
                broker.filters.selector_of(&h.topic, &h.consumer_group)
            else {
                return Err((
                    ResponseCode::FILTER_DATA_NOT_EXIST,
                    "The broker's consumer filter data is not exist!Your expression may be wrong!"
                        .to_owned(),
                ));
            };
            if client_version < h.sub_version {
                return Err((
                    ResponseCode::FILTER_DATA_NOT_LATEST,
                    "the consumer's consumer filter data not latest".to_owned(),
                ));
            }
            selector = registered;
        }
        (subscription, selector)
    };
    if !is_tag_type(&subscription.expression_type) && !enable_property_filter {
        return Err((
            ResponseCode::SYSTEM_ERROR,
            crate::consumer_filter::unsupported_remark(&subscription.expression_type),
        ));
    }
    Ok((subscription, selector))
}

pub async fn pull_message(
    broker: Arc<Broker>,
    channel: Channel,
    request: RemotingCommand,
) -> HandlerResult {
    let h: PullMessageRequestHeader = request.decode_header()?;
    if !perm::is_readable(broker.config().broker_permission) {
        return error(
            ResponseCode::NO_PERMISSION,
            format!(
                "the broker[{}] pulling message is forbidden",
                broker.boot_config.broker_ip
            ),
        );
    }
    let group = match broker.find_group(&h.consumer_group).await {
        Ok(Some(g)) => g,
        Ok(None) => {
            return error(
                ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST,
                format!(
                    "subscription group [{}] does not exist, {FAQ}",
                    h.consumer_group
                ),
            )
        }
        Err(e) => return error(ResponseCode::SYSTEM_ERROR, e.to_string()),
    };
    if !group.consume_enable {
        return error(
            ResponseCode::NO_PERMISSION,
            format!("subscription group no permission, {}", h.consumer_group),
        );
    }
    let Some(topic) = broker.topics.get(&h.topic) else {
        return error(
            ResponseCode::TOPIC_NOT_EXIST,
            format!("topic[{}] not exist, apply first please!{FAQ}", h.topic),
        );
    };
    if !perm::is_readable(topic.perm) {
        return error(
            ResponseCode::NO_PERMISSION,
            format!("the topic[{}] pulling message is forbidden", h.topic),
        );
    }
    if h.queue_id < 0 || h.queue_id >= topic.read_queue_nums {
        return error(
            ResponseCode::SYSTEM_ERROR,
            format!(
                "queueId[{}] is illegal, topic:[{}] topicConfig.readQueueNums:[{}] consumer:[{}]",
                h.queue_id,
                h.topic,
                topic.read_queue_nums,
                channel.peer_addr()
            ),
        );
    }
    let live = broker.config();
    let (subscription, selector) =
        match resolve_subscription(&broker, &h, live.enable_property_filter) {
            Ok(resolved) => resolved,
            Err((code, remark)) => return error(code, remark),
        };
    let filter = MessageFilter::new(
        &subscription,
        selector,
        &broker.filters,
        live.filter_support_retry,
    );
    let accept = |code: i64| filter.by_tags_code(code);
    let accept_record = |record: &[u8]| filter.by_record(record);
    let max = usize::try_from(h.max_msg_nums).unwrap_or(0);

    if h.sys_flag & pull_sys_flag::COMMIT_OFFSET != 0 && live.store.broker_role.is_master() {
        broker
            .offsets
            .commit(&h.consumer_group, &h.topic, h.queue_id, h.commit_offset);
    }

    // Each read is answered under the config of its moment: a held pull outlives changes.
    let read = || {
        let result = broker.store.get_messages_matching(
            &h.topic,
            h.queue_id,
            h.queue_offset,
            max,
            &accept,
            &accept_record,
        );
        let reply = answer(&broker.config(), &group, &result, h.queue_offset);
        (result, reply)
    };
    let (result, reply) = read();
    if reply.code == ResponseCode::PULL_OFFSET_MOVED {
        record_offset_moved(&broker, &channel, &h, result.next_begin_offset).await;
    }
    let suspend = h.sys_flag & pull_sys_flag::SUSPEND != 0 && h.suspend_timeout_millis > 0;
    if reply.code != ResponseCode::PULL_NOT_FOUND || !suspend {
        return Ok(Some(respond(&broker, &h, result, reply)));
    }

    // Long polling: hold until a message the filter accepts reaches the queue, or the hold
    // time ends. Java wakes a held pull only for a message that matches; here a wake-up
    // re-reads, and a read whose every new message was filtered out keeps holding, waiting
    // now for messages past the ones it rejected. Short polling (`longPollingEnable=false`):
    // Java's hold service looks once more after `shortPollingTimeMills`; arrivals do not wake.
    let long_polling = live.long_polling_enable;
    let deadline = Instant::now() + Duration::from_millis(h.suspend_timeout_millis as u64);
    let mut watermark = h.queue_offset;
    loop {
        if long_polling {
            let woken = broker.holds.hold(&h.topic, h.queue_id, watermark);
            // A message may have arrived between the read and the registration.
            if broker.store.max_offset(&h.topic, h.queue_id) <= watermark {
                let remaining = deadline.saturating_duration_since(Instant::now());
                let _ = tokio::time::timeout(remaining, woken).await;
            }
        } else {
            tokio::time::sleep(live.short_polling_time).await;
        }
        let (result, reply) = read();
        if reply.code == ResponseCode::PULL_OFFSET_MOVED {
            record_offset_moved(&broker, &channel, &h, result.next_begin_offset).await;
        }
        let all_filtered = result.status == GetMessageStatus::NoMatchedMessage
            && result.next_begin_offset >= result.max_offset;
        let found_nothing = reply.code == ResponseCode::PULL_NOT_FOUND || all_filtered;
        if !found_nothing || !long_polling || Instant::now() >= deadline || broker.is_stopping() {
            return Ok(Some(respond(&broker, &h, result, reply)));
        }
        if all_filtered {
            watermark = result.max_offset;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrocket_store::BrokerRole;

    fn config(role: BrokerRole, slave_read: bool, offset_check: bool) -> crate::BrokerConfig {
        let mut c = crate::BrokerConfig::default();
        c.store.broker_role = role;
        c.store.offset_check_in_slave = offset_check;
        c.slave_read_enable = slave_read;
        c
    }

    /// Group read from broker 1 normally and from broker 2 when slow.
    fn group() -> SubscriptionGroupConfig {
        SubscriptionGroupConfig {
            broker_id: 1,
            which_broker_when_consume_slowly: 2,
            ..SubscriptionGroupConfig::default()
        }
    }

    fn read(status: GetMessageStatus, slow: bool) -> GetMessageResult {
        GetMessageResult {
            status,
            next_begin_offset: 0,
            min_offset: 0,
            max_offset: 0,
            messages: Vec::new(),
            suggest_pulling_from_slave: slow,
        }
    }

    #[test]
    fn answers_follow_java_role_rules() {
        let badly = read(GetMessageStatus::OffsetOverflowBadly, false);
        let found = read(GetMessageStatus::Found, false);
        let found_slow = read(GetMessageStatus::Found, true);
        let g = group();
        let master = config(BrokerRole::AsyncMaster, false, false);
        assert_eq!(
            answer(&master, &g, &badly, 9),
            Answer {
                code: ResponseCode::PULL_OFFSET_MOVED,
                suggest_which_broker_id: 0
            }
        );
        assert_eq!(
            answer(&master, &g, &found_slow, 0).suggest_which_broker_id,
            0
        );
        // slaveReadEnable points clients at the group's broker, or at its broker for slow
        // consumers when the data read is no longer in memory.
        let reading = config(BrokerRole::SyncMaster, true, false);
        assert_eq!(answer(&reading, &g, &found, 0).suggest_which_broker_id, 1);
        assert_eq!(
            answer(&reading, &g, &found_slow, 0).suggest_which_broker_id,
            2
        );
        // A slave: retry instead of a correction, at the group's broker.
        let slave = config(BrokerRole::Slave, false, false);
        assert_eq!(
            answer(&slave, &g, &badly, 9),
            Answer {
                code: ResponseCode::PULL_RETRY_IMMEDIATELY,
                suggest_which_broker_id: 1
            }
        );
        assert_eq!(answer(&slave, &g, &found, 0).code, ResponseCode::SUCCESS);
        let checking = config(BrokerRole::Slave, false, true);
        assert_eq!(
            answer(&checking, &g, &badly, 9).code,
            ResponseCode::PULL_OFFSET_MOVED
        );
    }
}
