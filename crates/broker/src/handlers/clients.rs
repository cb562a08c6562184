//! Client registration: HEART_BEAT (34), UNREGISTER_CLIENT (35), CHECK_CLIENT_CONFIG (46),
//! GET_CONSUMER_LIST_BY_GROUP (38) (`ClientManageProcessor`, `ConsumerManageProcessor`).

use crate::consumers::ClientChannel;
use crate::handlers::offsets::empty_ext_response;
use crate::Broker;
use ferrocket_common::TopicName;
use ferrocket_protocol::body::{CheckClientRequestBody, ConsumerIdList, HeartbeatData};
use ferrocket_protocol::header::{ConsumerGroupRequestHeader, UnregisterClientRequestHeader};
use ferrocket_protocol::{json, RemotingCommand, RequestCode, ResponseCode};
use ferrocket_remoting::{Channel, HandlerResult};
use std::sync::Arc;
use std::time::Instant;

pub async fn heartbeat(
    broker: Arc<Broker>,
    channel: Channel,
    request: RemotingCommand,
) -> HandlerResult {
    let data: HeartbeatData = json::from_slice(request.body_bytes())?;
    let client = |id: &str| ClientChannel {
        client_id: id.to_owned(),
        channel: channel.clone(),
        language: request.language.name().to_owned(),
        version: request.version,
        last_update: Instant::now(),
    };
    for consumer in &data.consumer_data_set {
        let group = broker.find_group(&consumer.group_name).await?;
        // Each consumer group that exists gets its retry topic.
        let group_name = ferrocket_common::GroupName::new(consumer.group_name.as_str());
        if let (Some(group), Ok(group_name)) = (&group, group_name) {
            let retry = TopicName::retry_of(&group_name);
            broker
                .create_send_back_topic(retry.as_str(), group.retry_queue_nums.max(1))
                .await?;
        }
        let effect = broker
            .clients
            .register_consumer(consumer, client(&data.client_id));
        if (effect.members_changed || effect.subscriptions_changed)
            && group
                .as_ref()
                .is_none_or(|g| g.notify_consumer_ids_changed_enable)
        {
            notify_ids_changed(&broker, &consumer.group_name);
        }
        // Java's REGISTER event, on every heartbeat.
        broker.filters.register_group(
            &consumer.group_name,
            &consumer.subscription_data_set,
            ferrocket_common::time::now_ms(),
        );
    }
    for producer in &data.producer_data_set {
        broker
            .clients
            .register_producer(&producer.group_name, client(&data.client_id));
    }
    Ok(Some(RemotingCommand::response(ResponseCode::SUCCESS, None)))
}

/// NOTIFY_CONSUMER_IDS_CHANGED, oneway, to every member of the group.
pub fn notify_ids_changed(broker: &Broker, group: &str) {
    let Some(g) = broker.clients.consumer_group(group) else {
        return;
    };
    for member in g.channels.values() {
        let mut notify = RemotingCommand::request_with_header(
            RequestCode::NOTIFY_CONSUMER_IDS_CHANGED,
            &ConsumerGroupRequestHeader {
                consumer_group: group.to_owned(),
            },
        );
        notify.mark_oneway();
        let channel = member.channel.clone();
        tokio::spawn(async move {
            if let Err(e) = channel.invoke_oneway(notify).await {
                tracing::debug!("notify consumer ids changed failed: {e}");
            }
        });
    }
}

pub fn unregister_client(broker: &Broker, request: &RemotingCommand) -> HandlerResult {
    let h: UnregisterClientRequestHeader = request.decode_header()?;
    if let Some(group) = h.consumer_group.as_deref().filter(|g| !g.is_empty()) {
        let notify = broker
            .groups
            .get(group)
            .is_none_or(|g| g.notify_consumer_ids_changed_enable);
        if broker.clients.unregister_consumer(group, &h.client_id) && notify {
            notify_ids_changed(broker, group);
        }
        forget_if_gone(broker, group);
    }
    if let Some(group) = h.producer_group.as_deref().filter(|g| !g.is_empty()) {
        broker.clients.unregister_producer(group, &h.client_id);
    }
    Ok(Some(empty_ext_response()))
}

/// A consumer group whose last member left: its SQL92 filters die (Java's UNREGISTER event).
pub fn forget_if_gone(broker: &Broker, group: &str) {
    if broker.clients.consumer_group(group).is_none() {
        broker
            .filters
            .unregister_group(group, ferrocket_common::time::now_ms());
    }
}

/// CHECK_CLIENT_CONFIG: a consumer about to subscribe with a non-TAG expression asks whether
/// this broker can filter with it (`ClientManageProcessor.checkClientConfig`).
pub fn check_client_config(broker: &Broker, request: &RemotingCommand) -> HandlerResult {
    let ok = || Ok(Some(RemotingCommand::response(ResponseCode::SUCCESS, None)));
    let Some(body) = request.body.as_deref().filter(|b| !b.is_empty()) else {
        return ok();
    };
    let body: CheckClientRequestBody = json::from_slice(body)?;
    let sub = &body.subscription_data;
    if crate::consumer_filter::is_tag_type(&sub.expression_type) {
        return ok();
    }
    if !broker.config().enable_property_filter {
        return Ok(Some(RemotingCommand::response(
            ResponseCode::SYSTEM_ERROR,
            Some(crate::consumer_filter::unsupported_remark(
                &sub.expression_type,
            )),
        )));
    }
    // Java looks the type up among its filters; only SQL92 has one. Another type makes
    // Java's lookup throw a NullPointerException, whose message (the remark) is null.
    let compiled = match sub.expression_type.as_str() {
        "SQL92" => broker
            .filters
            .compile(&sub.sub_string)
            .map(drop)
            .map_err(|e| Some(e.to_string())),
        _ => Err(None),
    };
    match compiled {
        Ok(()) => ok(),
        Err(message) => {
            tracing::warn!(
                client = %body.client_id,
                group = %body.group,
                "a consumer's filter expression does not compile: {}",
                message.as_deref().unwrap_or("no filter for its type")
            );
            Ok(Some(RemotingCommand::response(
                ResponseCode::SUBSCRIPTION_PARSE_FAILED,
                message,
            )))
        }
    }
}

pub fn consumer_list(broker: &Broker, request: &RemotingCommand) -> HandlerResult {
    let h: ConsumerGroupRequestHeader = request.decode_header()?;
    match broker.clients.consumer_group(&h.consumer_group) {
        Some(g) if !g.channels.is_empty() => {
            let ids = ConsumerIdList {
                consumer_id_list: g.channels.keys().cloned().collect(),
            };
            let mut r = empty_ext_response();
            r.body = Some(json::to_vec(&ids).into());
            Ok(Some(r))
        }
        _ => Ok(Some(RemotingCommand::response(
            ResponseCode::SYSTEM_ERROR,
            Some(format!("no consumer for this group, {}", h.consumer_group)),
        ))),
    }
}
