//! Messages as the user builds them ([`Message`]) and as consumers receive them
//! ([`MessageExt`]), and the outcome of a send ([`SendResult`]).

use crate::error::{ClientError, Result};
use bytes::Bytes;
use ferrocket_common::properties::{keys, Properties};
use ferrocket_common::record::MessageRecord;
use ferrocket_protocol::body::MessageQueue;
use std::net::SocketAddr;

/// A message to send: topic, body, flag and properties (tags, keys, user properties).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub topic: String,
    pub body: Bytes,
    /// The application's own int, stored untouched.
    pub flag: i32,
    properties: Properties,
}

impl Message {
    /// A message that waits for the store (`WAIT=true`), as Java's constructor sets.
    pub fn new(topic: impl Into<String>, body: impl Into<Bytes>) -> Message {
        let mut properties = Properties::new();
        properties.insert(keys::WAIT_STORE_MSG_OK, "true");
        Message {
            topic: topic.into(),
            body: body.into(),
            flag: 0,
            properties,
        }
    }

    /// Sets the tag consumers filter on (`TagA || TagB` subscriptions match it).
    pub fn with_tags(mut self, tags: impl Into<String>) -> Message {
        self.properties.insert(keys::TAGS, tags);
        self
    }

    /// Sets the keys the broker indexes, so the message can be looked up by any of them.
    pub fn with_keys<I, S>(mut self, keys_list: I) -> Message
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let joined = keys_list
            .into_iter()
            .map(|k| k.as_ref().to_owned())
            .collect::<Vec<_>>()
            .join(" ");
        self.properties.insert(keys::KEYS, joined);
        self
    }

    /// Delivers the message after delay level `level` (1 = 1 s, 2 = 5 s, 3 = 10 s …).
    pub fn with_delay_level(mut self, level: u32) -> Message {
        self.properties
            .insert(keys::DELAY_TIME_LEVEL, level.to_string());
        self
    }

    /// Whether the broker should answer only once the message is stored (default true).
    pub fn with_wait_store_msg_ok(mut self, wait: bool) -> Message {
        self.properties
            .insert(keys::WAIT_STORE_MSG_OK, if wait { "true" } else { "false" });
        self
    }

    pub fn with_flag(mut self, flag: i32) -> Message {
        self.flag = flag;
        self
    }

    /// Adds an application property; the names RocketMQ reserves are refused.
    pub fn with_property(mut self, name: &str, value: &str) -> Result<Message> {
        if keys::is_reserved(name) {
            return Err(ClientError::Invalid(format!(
                "the property name {name} is reserved by the system"
            )));
        }
        if name.is_empty() || value.is_empty() {
            return Err(ClientError::Invalid(
                "property names and values must not be empty".into(),
            ));
        }
        self.properties.insert(name, value);
        Ok(self)
    }

    pub fn tags(&self) -> Option<&str> {
        self.properties.tags()
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.properties.keys()
    }

    pub fn property(&self, name: &str) -> Option<&str> {
        self.properties.get(name)
    }

    pub fn properties(&self) -> &Properties {
        &self.properties
    }

    pub(crate) fn properties_mut(&mut self) -> &mut Properties {
        &mut self.properties
    }

    /// The `UNIQ_KEY` the producer gave this message, once sent.
    pub fn unique_id(&self) -> Option<&str> {
        self.properties.get(keys::UNIQ_CLIENT_MESSAGE_ID_KEYIDX)
    }
}

/// A message as a consumer or a lookup receives it: the stored record plus where it lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageExt {
    pub topic: String,
    pub body: Bytes,
    pub flag: i32,
    pub queue_id: i32,
    pub queue_offset: i64,
    pub commit_log_offset: i64,
    pub sys_flag: i32,
    pub born_timestamp: i64,
    pub born_host: SocketAddr,
    pub store_timestamp: i64,
    pub store_host: SocketAddr,
    pub reconsume_times: i32,
    /// The broker that served the message.
    pub broker_name: String,
    /// The producer's `UNIQ_KEY`, or the offset message id when there is none.
    pub msg_id: String,
    /// Store host and commit-log offset, as VIEW_MESSAGE_BY_ID takes them.
    pub offset_msg_id: String,
    properties: Properties,
}

impl MessageExt {
    /// Builds a received message from a stored record, inflating a compressed body.
    pub fn from_record(
        record: MessageRecord,
        broker_name: &str,
        max_body: usize,
    ) -> Result<MessageExt, ferrocket_common::CodecError> {
        let h = &record.header;
        let body =
            match ferrocket_common::compression::decompress(&record.body, h.sys_flag, max_body)? {
                Some(inflated) => Bytes::from(inflated),
                None => record.body.clone(),
            };
        let properties = Properties::parse(&record.properties);
        let offset_msg_id = record.offset_msg_id().encode();
        let msg_id = properties
            .get(keys::UNIQ_CLIENT_MESSAGE_ID_KEYIDX)
            .map(str::to_owned)
            .unwrap_or_else(|| offset_msg_id.clone());
        Ok(MessageExt {
            body,
            flag: h.flag,
            queue_id: h.queue_id,
            queue_offset: h.queue_offset,
            commit_log_offset: h.physical_offset,
            sys_flag: h.sys_flag,
            born_timestamp: h.born_timestamp,
            born_host: h.born_host,
            store_timestamp: h.store_timestamp,
            store_host: h.store_host,
            reconsume_times: h.reconsume_times,
            broker_name: broker_name.to_owned(),
            msg_id,
            offset_msg_id,
            properties,
            topic: record.topic,
        })
    }

    pub fn tags(&self) -> Option<&str> {
        self.properties.tags()
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.properties.keys()
    }

    pub fn property(&self, name: &str) -> Option<&str> {
        self.properties.get(name)
    }

    pub fn properties(&self) -> &Properties {
        &self.properties
    }

    /// The queue the message was read from.
    pub fn queue(&self) -> MessageQueue {
        MessageQueue::new(self.topic.clone(), self.broker_name.clone(), self.queue_id)
    }

    /// A message re-delivered from `%RETRY%<group>` shows its original topic again
    /// (`resetRetryAndNamespace`).
    pub(crate) fn restore_retry_topic(&mut self, group: &str) {
        let retry_topic = format!(
            "{}{group}",
            ferrocket_common::names::RETRY_GROUP_TOPIC_PREFIX
        );
        if self.topic == retry_topic {
            if let Some(original) = self.properties.get(keys::RETRY_TOPIC) {
                self.topic = original.to_owned();
            }
        }
    }

    pub(crate) fn set_property(&mut self, name: &str, value: String) {
        self.properties.insert(name, value);
    }

    /// A copy of this message ready to be sent again (to a retry topic).
    pub(crate) fn to_message(&self, topic: String) -> Message {
        Message {
            topic,
            body: self.body.clone(),
            flag: self.flag,
            properties: self.properties.clone(),
        }
    }
}

/// Whether a send reached the store as asked (`SendStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendStatus {
    SendOk,
    FlushDiskTimeout,
    FlushSlaveTimeout,
    SlaveNotAvailable,
}

impl SendStatus {
    /// The Java enum constant's name, as `SendResult.toString` and `mqadmin` print it.
    pub fn as_str(self) -> &'static str {
        match self {
            SendStatus::SendOk => "SEND_OK",
            SendStatus::FlushDiskTimeout => "FLUSH_DISK_TIMEOUT",
            SendStatus::FlushSlaveTimeout => "FLUSH_SLAVE_TIMEOUT",
            SendStatus::SlaveNotAvailable => "SLAVE_NOT_AVAILABLE",
        }
    }
}

/// What a successful send returns (`SendResult`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendResult {
    pub status: SendStatus,
    /// The `UNIQ_KEY` (comma-joined for a batch).
    pub msg_id: String,
    /// Store host + commit-log offset, from the broker (comma-joined for a batch).
    pub offset_msg_id: String,
    pub queue: MessageQueue,
    pub queue_offset: i64,
    pub transaction_id: Option<String>,
    pub region_id: Option<String>,
}
