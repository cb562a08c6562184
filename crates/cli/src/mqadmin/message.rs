//! Message commands: queryMsgById, queryMsgByKey, queryMsgByUniqueKey, sendMessage.

use super::options::{Opt, Parsed};
use super::print::human_time;
use super::{Command, CommandError, CommandResult};
use ferrocket_client::{
    Admin, ClientError, ClientOptions, Message, MessageExt, MessageQueue, Producer,
};
use ferrocket_common::properties::keys;
use ferrocket_protocol::body::ConsumeType;
use ferrocket_protocol::ResponseCode;
use std::fmt::Write as _;
use std::path::PathBuf;

/// Where the Java tool writes a message's body for the user to open.
const BODY_DIR: &str = "/tmp/rocketmq/msgbodys";

pub const QUERY_MSG_BY_ID: Command = Command {
    name: "queryMsgById",
    desc: "Query Message by Id",
    options: &[Opt::required('i', "msgId", "Message Id")],
    one_of: &[],
};

pub async fn query_msg_by_id(admin: &Admin, p: &Parsed, out: &mut String) -> CommandResult {
    for id in p
        .req('i')
        .split(',')
        .map(str::trim)
        .filter(|i| !i.is_empty())
    {
        let msg = admin.view_message(id).await?;
        let _ = writeln!(out, "{:<20} {}", "OffsetID:", msg.offset_msg_id);
        print_message(admin, &msg, out).await?;
    }
    Ok(())
}

pub const QUERY_MSG_BY_UNIQUE_KEY: Command = Command {
    name: "queryMsgByUniqueKey",
    desc: "Query Message by Unique key",
    options: &[
        Opt::required('i', "msgId", "Message Id"),
        Opt::required('t', "topic", "The topic of msg"),
        Opt::flag('a', "showAll", "Print all message, the limit is 32"),
    ],
    one_of: &[],
};

pub async fn query_msg_by_unique_key(admin: &Admin, p: &Parsed, out: &mut String) -> CommandResult {
    let (id, topic) = (p.req('i'), p.req('t'));
    // Oldest first; only the first unless -a.
    let found = admin.query_messages_by_unique_key(topic, id).await?;
    let shown = if p.has('a') { found.len() } else { 1 };
    for msg in found.iter().take(shown) {
        print_message(admin, msg, out).await?;
    }
    Ok(())
}

/// The lines Java's `printMsg`/`showMessage` write after the id, the body file, and what
/// each consuming group did with the message.
async fn print_message(admin: &Admin, msg: &MessageExt, out: &mut String) -> CommandResult {
    let body_path = write_body(msg)?;
    let text = |out: &mut String, k: &str, v: &str| {
        let _ = writeln!(out, "{k:<20} {v}");
    };
    text(out, "Topic:", &msg.topic);
    text(out, "Tags:", &format!("[{}]", msg.tags().unwrap_or("null")));
    let keys = msg.property(keys::KEYS).unwrap_or("null");
    text(out, "Keys:", &format!("[{keys}]"));
    text(out, "Queue ID:", &msg.queue_id.to_string());
    text(out, "Queue Offset:", &msg.queue_offset.to_string());
    text(out, "CommitLog Offset:", &msg.commit_log_offset.to_string());
    text(out, "Reconsume Times:", &msg.reconsume_times.to_string());
    text(out, "Born Timestamp:", &human_time(msg.born_timestamp));
    text(out, "Store Timestamp:", &human_time(msg.store_timestamp));
    text(out, "Born Host:", &msg.born_host.to_string());
    text(out, "Store Host:", &msg.store_host.to_string());
    text(out, "System Flag:", &msg.sys_flag.to_string());
    let properties: Vec<String> = msg
        .properties()
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    text(
        out,
        "Properties:",
        &format!("{{{}}}", properties.join(", ")),
    );
    text(out, "Message Body Path:", &body_path.display().to_string());
    match track(admin, msg).await {
        Ok(tracks) if tracks.is_empty() => out.push_str("\n\nWARN: No Consumer"),
        Ok(tracks) => {
            out.push_str("\n\n");
            for t in tracks {
                out.push_str(&t);
            }
        }
        Err(e) => {
            let _ = write!(out, "\n\nmessage track failed: {e}");
        }
    }
    out.push('\n');
    Ok(())
}

/// Blocking file I/O, on purpose: the tool runs one command at a time on a runtime of its
/// own, with nothing else for it to hold up.
fn write_body(msg: &MessageExt) -> Result<PathBuf, CommandError> {
    let dir = PathBuf::from(BODY_DIR);
    let path = dir.join(&msg.msg_id);
    std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(&path, &msg.body))
        .map_err(|e| CommandError::Failed(format!("cannot write {}: {e}", path.display())))?;
    Ok(path)
}

/// `messageTrackDetail`: per group consuming the topic, `MessageTrack [consumerGroup=…,
/// trackType=…, exceptionDesc=…]`.
async fn track(admin: &Admin, msg: &MessageExt) -> Result<Vec<String>, CommandError> {
    let mut tracks = Vec::new();
    for group in admin.topic_consumers(&msg.topic).await? {
        let line = |kind: &str, desc: &str| {
            format!("MessageTrack [consumerGroup={group}, trackType={kind}, exceptionDesc={desc}]")
        };
        let refused = |e: &ClientError| match e {
            ClientError::Server { code, remark, .. } => {
                let kind = if *code == ResponseCode::CONSUMER_NOT_ONLINE {
                    "NOT_ONLINE"
                } else {
                    "UNKNOWN"
                };
                (kind, format!("CODE:{} DESC:{remark}", code.0))
            }
            other => ("UNKNOWN", other.to_string()),
        };
        let connection = match admin.consumer_connections(&group).await {
            Ok(c) => c,
            Err(e) => {
                let (kind, desc) = refused(&e);
                tracks.push(line(kind, &desc));
                continue;
            }
        };
        let kind = match connection.consume_type {
            Some(ConsumeType::ConsumeActively) => "PULL",
            Some(ConsumeType::ConsumePassively) => match consumed(admin, msg, &group).await {
                Err(e) => {
                    let (kind, desc) = refused(&e);
                    tracks.push(line(kind, &desc));
                    continue;
                }
                Ok(false) => "NOT_CONSUME_YET",
                Ok(true) => {
                    let tag = msg.tags().unwrap_or("null");
                    let filtered =
                        connection
                            .subscription_table
                            .get(&msg.topic)
                            .is_some_and(|sd| {
                                !(sd.tags_set.is_empty()
                                    || sd.tags_set.iter().any(|t| t == tag || t == "*"))
                            });
                    if filtered {
                        "CONSUMED_BUT_FILTERED"
                    } else {
                        "CONSUMED"
                    }
                }
            },
            None => "UNKNOWN",
        };
        tracks.push(line(kind, "null"));
    }
    Ok(tracks)
}

/// Whether the group's committed offset on the message's queue (at the master that stored
/// it) is past the message.
async fn consumed(admin: &Admin, msg: &MessageExt, group: &str) -> Result<bool, ClientError> {
    let stats = super::group::consume_stats(admin, group).await?;
    let info = admin.cluster_info().await?;
    let store_host = msg.store_host.to_string();
    Ok(stats.offset_table.iter().any(|(q, o)| {
        q.topic == msg.topic
            && q.queue_id == msg.queue_id
            && info
                .broker_addr_table
                .get(&q.broker_name)
                .and_then(|b| b.master_addr())
                == Some(store_host.as_str())
            && o.consumer_offset > msg.queue_offset
    }))
}

pub const QUERY_MSG_BY_KEY: Command = Command {
    name: "queryMsgByKey",
    desc: "Query Message by Key",
    options: &[
        Opt::required('t', "topic", "topic name"),
        Opt::required('k', "msgKey", "Message Key"),
    ],
    one_of: &[],
};

pub async fn query_msg_by_key(admin: &Admin, p: &Parsed, out: &mut String) -> CommandResult {
    let found = admin
        .query_message_by_key(p.req('t'), p.req('k'), 64, 0, i64::MAX)
        .await?;
    let _ = writeln!(out, "{:<50} {:>4} {:>40}", "#Message ID", "#QID", "#Offset");
    // The id is the producer's (UNIQ_KEY), or the offset id of a message without one.
    for msg in found {
        let _ = writeln!(
            out,
            "{:<50} {:>4} {:>40}",
            msg.msg_id, msg.queue_id, msg.queue_offset
        );
    }
    Ok(())
}

pub const SEND_MESSAGE: Command = Command {
    name: "sendMessage",
    desc: "Send a message",
    options: &[
        Opt::required('t', "topic", "Topic name"),
        Opt::required('p', "body", "UTF-8 string format of the message body"),
        Opt::arg('k', "key", "Message keys"),
        Opt::arg('c', "tags", "Message tags"),
        Opt::arg('b', "broker", "Send message to target broker"),
        Opt::arg('i', "qid", "Send message to target queue"),
        Opt::arg(
            'm',
            "msgTraceEnable",
            "Message Trace Enable, Default: false",
        ),
    ],
    one_of: &[],
};

pub async fn send_message(p: &Parsed, out: &mut String) -> CommandResult {
    if p.has('i') && !p.has('b') {
        out.push_str("Broker name must be set if the queue is chosen!");
        return Ok(());
    }
    let queue_id: Option<i32> = p.number('i')?;
    let mut msg = Message::new(p.req('t'), p.req('p').as_bytes().to_vec());
    if let Some(tags) = p.get('c') {
        msg = msg.with_tags(tags);
    }
    if let Some(keys) = p.get('k') {
        msg = msg.with_keys([keys]);
    }
    let producer = Producer::builder(ferrocket_common::time::now_ms().to_string())
        .client_options(ClientOptions {
            namesrv_addr: p.get('n').map(str::to_owned),
            instance_name: Some(format!("mqadmin-{}", std::process::id())),
            ..Default::default()
        })
        .start()
        .await?;
    let sent = match (p.get('b'), queue_id) {
        (Some(broker), Some(q)) if q > -1 => {
            let queue = MessageQueue::new(p.req('t'), broker, q);
            producer.send_to_queue(msg, &queue).await
        }
        _ => producer.send(msg).await,
    };
    producer.shutdown().await;
    let result = sent?;
    let row = |out: &mut String, c: [&str; 4]| {
        let _ = writeln!(out, "{:<32}  {:<4}  {:<20}    {}", c[0], c[1], c[2], c[3]);
    };
    row(out, ["#Broker Name", "#QID", "#Send Result", "#MsgId"]);
    row(
        out,
        [
            &result.queue.broker_name,
            &result.queue.queue_id.to_string(),
            result.status.as_str(),
            &result.msg_id,
        ],
    );
    Ok(())
}
