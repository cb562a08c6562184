//! SEND_REPLY_MESSAGE (324) and SEND_REPLY_MESSAGE_V2 (325): the answer of a request-reply
//! exchange (`ReplyMessageProcessor`).
//!
//! A consumer that got a request (`CORRELATION_ID`, `REPLY_TO_CLIENT`, `TTL`) sends its reply to
//! `<cluster>_REPLY_TOPIC`. The broker pushes it at once to the requester with
//! PUSH_REPLY_MESSAGE_TO_CLIENT (326) on the connection of the producer whose client id
//! `REPLY_TO_CLIENT` names, and the push decides the response code. With
//! `storeReplyMessageEnable` (the default) the reply is then also stored in its topic; a
//! stored reply gives the response its message id and queue offset, whatever the code.

use super::send::{self, add_region_and_trace};
use crate::{redirect, Broker};
use ferrocket_common::message_id::OffsetMessageId;
use ferrocket_common::properties::{keys, JavaMap};
use ferrocket_protocol::header::{
    ReplyMessageRequestHeader, SendMessageRequestHeaderRef, SendMessageResponseHeader,
};
use ferrocket_protocol::{RemotingCommand, RequestCode, ResponseCode};
use ferrocket_remoting::{Channel, HandlerResult};
use ferrocket_store::PutMessage;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// `Broker2Client.callClient`: how long the requester has to acknowledge a pushed reply.
const PUSH_TIMEOUT: Duration = Duration::from_secs(10);

pub async fn send_reply(
    broker: Arc<Broker>,
    channel: Channel,
    request: RemotingCommand,
) -> HandlerResult {
    let h = SendMessageRequestHeaderRef::from_command(&request)?;
    let live = broker.config();
    let target = match send::check(&broker, &live, &h).await {
        Ok(t) => t,
        Err(resp) => return Ok(Some(resp)),
    };
    let queue_id = send::choose_queue(&h, &target);
    let body = request.body_bytes();
    let store_host = broker.store_host(&channel);
    // Java parses the client's string into the message's map; the push adds its time there.
    let mut map = JavaMap::parse(h.properties.unwrap_or(""), 1);
    let push_time = ferrocket_common::time::now_ms().to_string();
    let pushed = push_to_requester(
        &broker,
        &channel,
        &h,
        &mut map,
        &push_time,
        request.body.clone().unwrap_or_default(),
        store_host,
    )
    .await;

    let mut header = match &pushed {
        // Zeros "to avoid client decoding exception", as Java puts it.
        Ok(()) => Some(SendMessageResponseHeader {
            msg_id: "0".into(),
            queue_id,
            queue_offset: 0,
            transaction_id: None,
        }),
        Err(_) => None,
    };
    if live.store_reply_message_enable {
        // Stored as Java's `MessageExtBrokerInner` is built here: the client's properties
        // string as it came (re-serialised from the map only by a delay redirect), and no
        // sysFlag (the processor never copies the request's).
        let form = redirect::for_store(&live.store.message_delay_level, 0, map, h.topic, queue_id);
        let redirected = form.topic != h.topic;
        let msg = PutMessage {
            topic: form.topic,
            queue_id: form.queue_id,
            flag: h.flag,
            sys_flag: 0,
            born_timestamp: h.born_timestamp,
            born_host: channel.peer_addr(),
            store_host,
            reconsume_times: h.reconsume_times.unwrap_or(0),
            prepared_transaction_offset: 0,
            body,
            properties: if redirected {
                &form.properties
            } else {
                h.properties.unwrap_or("")
            },
        };
        match broker
            .store
            .put_waiting(&msg, send::put_wait(h.properties))
            .await
        {
            Ok(r) => {
                broker
                    .broker_stats
                    .record_put(form.topic, 1, i64::from(r.append.size));
                header = Some(SendMessageResponseHeader {
                    msg_id: OffsetMessageId::new(store_host, r.append.physical_offset as i64)
                        .encode(),
                    queue_id,
                    queue_offset: r.append.queue_offset,
                    transaction_id: None,
                });
            }
            // Java only logs a failed store of a reply: the push already answered.
            Err(e) => tracing::warn!(topic = h.topic, "storing a reply message failed: {e}"),
        }
    }

    let (code, remark) = match pushed {
        Ok(()) => (ResponseCode::SUCCESS, None),
        Err(remark) => (ResponseCode::SYSTEM_ERROR, Some(remark)),
    };
    let mut resp = match header {
        Some(header) => RemotingCommand::response_with_header(code, &header),
        None => RemotingCommand::response(code, None),
    };
    resp.remark = remark;
    add_region_and_trace(&mut resp, &live);
    Ok(Some(resp))
}

/// `pushReplyMessage`: hands the reply to the requester's connection and waits for its
/// answer. `Err` carries Java's remark for the response.
async fn push_to_requester<'a>(
    broker: &Broker,
    channel: &Channel,
    h: &SendMessageRequestHeaderRef<'_>,
    map: &mut JavaMap<'a>,
    push_time: &'a str,
    body: bytes::Bytes,
    store_host: SocketAddr,
) -> Result<(), String> {
    let Some(requester) = map.get(keys::MESSAGE_REPLY_TO_CLIENT) else {
        tracing::warn!("REPLY_TO_CLIENT is null, can not reply message");
        return Err(format!(
            "reply message properties[{}] is null",
            keys::MESSAGE_REPLY_TO_CLIENT
        ));
    };
    let Some(target) = broker.clients.find_producer_channel(requester) else {
        let remark = format!("push reply message fail, channel of <{requester}> not found.");
        tracing::warn!("{remark}");
        return Err(remark);
    };
    map.put(keys::PUSH_REPLY_TIME, push_time);
    let mut properties = String::with_capacity(map.encoded_len());
    map.write(&mut properties);
    let header = ReplyMessageRequestHeader {
        producer_group: h.producer_group.to_owned(),
        topic: h.topic.to_owned(),
        default_topic: h.default_topic.to_owned(),
        default_topic_queue_nums: h.default_topic_queue_nums,
        // The request's own queue id, -1 included, not the one the broker picked.
        queue_id: h.queue_id,
        sys_flag: h.sys_flag,
        born_timestamp: h.born_timestamp,
        flag: h.flag,
        properties: Some(properties),
        reconsume_times: h.reconsume_times,
        unit_mode: Some(h.unit_mode.unwrap_or(false)),
        born_host: java_host_text(channel.peer_addr()),
        store_host: java_host_text(store_host),
        store_timestamp: ferrocket_common::time::now_ms(),
    };
    let push =
        RemotingCommand::request_with_header(RequestCode::PUSH_REPLY_MESSAGE_TO_CLIENT, &header)
            .with_body(body);
    let failed = || format!("push reply message to {requester}fail.");
    match target.invoke(push, PUSH_TIMEOUT).await {
        Ok(answer) if answer.code == ResponseCode::SUCCESS.0 => Ok(()),
        Ok(answer) => {
            tracing::warn!(
                requester,
                remark = answer.remark.as_deref().unwrap_or(""),
                "push reply message returned failure"
            );
            Err(failed())
        }
        Err(e) => {
            tracing::warn!(requester, "push reply message failed: {e}");
            Err(failed())
        }
    }
}

/// `InetAddress.getHostAddress() + ":" + port`: an IPv6 address without brackets.
fn java_host_text(addr: SocketAddr) -> String {
    format!("{}:{}", addr.ip(), addr.port())
}
