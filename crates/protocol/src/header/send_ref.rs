//! The send header read in place. Every send decodes one, and the owned
//! [`SendMessageRequestHeader`] copies five strings out of the command to do it; this view
//! borrows them. Same fields, same errors, in both the long (SEND_MESSAGE) and the one-letter
//! (SEND_MESSAGE_V2, SEND_BATCH_MESSAGE) form; a property test holds it to the owned header.

use super::{HeaderValue, SendMessageRequestHeader};
use crate::codes::RequestCode;
use crate::command::RemotingCommand;
use crate::ProtocolError;

/// Field names, long form and one-letter form, in the owned header's order.
const FIELDS: [(&str, &str); 14] = [
    ("producerGroup", "a"),
    ("topic", "b"),
    ("defaultTopic", "c"),
    ("defaultTopicQueueNums", "d"),
    ("queueId", "e"),
    ("sysFlag", "f"),
    ("bornTimestamp", "g"),
    ("flag", "h"),
    ("properties", "i"),
    ("reconsumeTimes", "j"),
    ("unitMode", "k"),
    ("maxReconsumeTimes", "l"),
    ("batch", "m"),
    ("bname", "n"),
];
const PRODUCER_GROUP: usize = 0;
const TOPIC: usize = 1;
const DEFAULT_TOPIC: usize = 2;
const DEFAULT_TOPIC_QUEUE_NUMS: usize = 3;
const QUEUE_ID: usize = 4;
const SYS_FLAG: usize = 5;
const BORN_TIMESTAMP: usize = 6;
const FLAG: usize = 7;
const PROPERTIES: usize = 8;
const RECONSUME_TIMES: usize = 9;
const UNIT_MODE: usize = 10;
const MAX_RECONSUME_TIMES: usize = 11;
const BATCH: usize = 12;
const BNAME: usize = 13;

/// [`SendMessageRequestHeader`] with its strings borrowed from the command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendMessageRequestHeaderRef<'a> {
    pub producer_group: &'a str,
    pub topic: &'a str,
    pub default_topic: &'a str,
    pub default_topic_queue_nums: i32,
    pub queue_id: i32,
    pub sys_flag: i32,
    pub born_timestamp: i64,
    pub flag: i32,
    pub properties: Option<&'a str>,
    pub reconsume_times: Option<i32>,
    pub unit_mode: Option<bool>,
    pub batch: Option<bool>,
    pub max_reconsume_times: Option<i32>,
    pub bname: Option<&'a str>,
}

fn parsed<T: HeaderValue>(value: Option<&str>) -> Option<T> {
    value.and_then(T::from_header)
}

impl<'a> SendMessageRequestHeaderRef<'a> {
    /// Reads the send header of any send code, as [`SendMessageRequestHeader::from_command`].
    pub fn from_command(cmd: &'a RemotingCommand) -> Result<Self, ProtocolError> {
        let code = RequestCode(cmd.code);
        let one_letter = code == RequestCode::SEND_MESSAGE_V2
            || code == RequestCode::SEND_BATCH_MESSAGE
            || code == RequestCode::SEND_REPLY_MESSAGE_V2;
        let name = |i: usize| if one_letter { FIELDS[i].1 } else { FIELDS[i].0 };
        // The raw value of each field, with the owned header's rules: the last occurrence
        // wins; a required number that does not parse is an error at once; an optional one
        // that does not parse is skipped, keeping an earlier value.
        let mut raw: [Option<&'a str>; 14] = [None; 14];
        for (key, value) in cmd.ext_fields.iter().flat_map(|e| e.iter()) {
            let Some(i) = (0..FIELDS.len()).find(|&i| name(i) == key) else {
                continue;
            };
            let invalid = || ProtocolError::InvalidField {
                field: name(i),
                value: value.to_owned(),
            };
            match i {
                DEFAULT_TOPIC_QUEUE_NUMS | QUEUE_ID | SYS_FLAG | FLAG => {
                    i32::from_header(value).ok_or_else(invalid)?;
                }
                BORN_TIMESTAMP => {
                    i64::from_header(value).ok_or_else(invalid)?;
                }
                RECONSUME_TIMES | MAX_RECONSUME_TIMES if i32::from_header(value).is_none() => {
                    continue
                }
                _ => {}
            }
            raw[i] = Some(value);
        }
        // Required fields are checked in the owned header's order, so the same one is named
        // when several are missing; their numbers were validated above.
        let required = |i: usize| raw[i].ok_or(ProtocolError::MissingField(name(i)));
        let int = |i: usize| required(i).map(|v| i32::from_header(v).unwrap_or_default());
        let long = |i: usize| required(i).map(|v| i64::from_header(v).unwrap_or_default());
        Ok(SendMessageRequestHeaderRef {
            producer_group: required(PRODUCER_GROUP)?,
            topic: required(TOPIC)?,
            default_topic: required(DEFAULT_TOPIC)?,
            default_topic_queue_nums: int(DEFAULT_TOPIC_QUEUE_NUMS)?,
            queue_id: int(QUEUE_ID)?,
            sys_flag: int(SYS_FLAG)?,
            born_timestamp: long(BORN_TIMESTAMP)?,
            flag: int(FLAG)?,
            properties: raw[PROPERTIES],
            reconsume_times: parsed(raw[RECONSUME_TIMES]),
            unit_mode: parsed(raw[UNIT_MODE]),
            batch: parsed(raw[BATCH]),
            max_reconsume_times: parsed(raw[MAX_RECONSUME_TIMES]),
            bname: raw[BNAME],
        })
    }

    /// The owned header (tests, and callers that keep it).
    pub fn to_owned_header(&self) -> SendMessageRequestHeader {
        SendMessageRequestHeader {
            producer_group: self.producer_group.to_owned(),
            topic: self.topic.to_owned(),
            default_topic: self.default_topic.to_owned(),
            default_topic_queue_nums: self.default_topic_queue_nums,
            queue_id: self.queue_id,
            sys_flag: self.sys_flag,
            born_timestamp: self.born_timestamp,
            flag: self.flag,
            properties: self.properties.map(str::to_owned),
            reconsume_times: self.reconsume_times,
            unit_mode: self.unit_mode,
            batch: self.batch,
            max_reconsume_times: self.max_reconsume_times,
            bname: self.bname.map(str::to_owned),
        }
    }
}
