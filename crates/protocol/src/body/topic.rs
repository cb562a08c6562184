use crate::json::{self, JsonError};
use crate::{json_enum, json_object};
use std::collections::BTreeMap;

/// Topic permission bits (`PermName`).
pub mod perm {
    pub const PRIORITY: i32 = 0x8;
    pub const READ: i32 = 0x4;
    pub const WRITE: i32 = 0x2;
    pub const INHERIT: i32 = 0x1;

    pub const fn is_readable(perm: i32) -> bool {
        perm & READ != 0
    }
    pub const fn is_writeable(perm: i32) -> bool {
        perm & WRITE != 0
    }
}

json_enum! {
    /// `TopicFilterType`.
    pub enum TopicFilterType {
        SingleTag = "SINGLE_TAG",
        MultiTag = "MULTI_TAG",
    }
}

json_object! {
    /// One topic's configuration on a broker (`TopicConfig`).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct TopicConfig {
        "order" => pub order: bool,
        "perm" => pub perm: i32,
        "readQueueNums" => pub read_queue_nums: i32,
        "topicFilterType" => pub topic_filter_type: TopicFilterType,
        "topicName" => pub topic_name: String,
        "topicSysFlag" => pub topic_sys_flag: i32,
        "writeQueueNums" => pub write_queue_nums: i32,
    }
}

impl Default for TopicConfig {
    /// Java's defaults: 16 read and write queues, read-write.
    fn default() -> Self {
        TopicConfig {
            order: false,
            perm: perm::READ | perm::WRITE,
            read_queue_nums: 16,
            topic_filter_type: TopicFilterType::SingleTag,
            topic_name: String::new(),
            topic_sys_flag: 0,
            write_queue_nums: 16,
        }
    }
}

json_object! {
    /// A change counter for tables a broker publishes (`DataVersion`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
    pub struct DataVersion {
        "counter" => pub counter: i64,
        "timestamp" => pub timestamp: i64,
    }
}

impl DataVersion {
    /// Java's `new DataVersion()`: no changes yet, stamped now.
    pub fn now() -> DataVersion {
        DataVersion {
            counter: 0,
            timestamp: ferrocket_common::time::now_ms(),
        }
    }

    /// Java's `nextVersion`: one more change, made now.
    pub fn next_version(&mut self) {
        self.counter += 1;
        self.timestamp = ferrocket_common::time::now_ms();
    }
}

json_object! {
    /// GET_ALL_TOPIC_CONFIG body and `topics.json` (`TopicConfigSerializeWrapper`).
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct TopicConfigSerializeWrapper {
        "dataVersion" => pub data_version: DataVersion,
        "topicConfigTable" => pub topic_config_table: BTreeMap<String, TopicConfig>,
    }
}

json_object! {
    /// REGISTER_BROKER body (`RegisterBrokerBody`).
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct RegisterBrokerBody {
        "filterServerList" => pub filter_server_list: Vec<String>,
        "topicConfigSerializeWrapper" => pub topic_config_serialize_wrapper: TopicConfigSerializeWrapper,
    }
}

/// Upper bound on an inflated compressed REGISTER_BROKER body.
const MAX_INFLATED_REGISTER_BODY: usize = 64 * 1024 * 1024;

impl RegisterBrokerBody {
    /// Decodes a REGISTER_BROKER body, plain JSON or the compressed form of
    /// `RegisterBrokerBody.encode(true)`: a zlib stream of `len DataVersion-JSON`, `count`,
    /// `count × (len "name read write perm filterType")`, `len filter-server-JSON-array`.
    pub fn decode(body: &[u8], compressed: bool) -> Result<Self, crate::ProtocolError> {
        if !compressed {
            return Ok(json::from_slice(body)?);
        }
        let data = ferrocket_common::compression::inflate_zlib(body, MAX_INFLATED_REGISTER_BODY)?;
        let mut pos = 0usize;
        let data_version: DataVersion = json::from_slice(take_chunk(&data, &mut pos)?)?;
        let count = take_i32(&data, &mut pos)?;
        let mut table = BTreeMap::new();
        for _ in 0..count.max(0) {
            let text = std::str::from_utf8(take_chunk(&data, &mut pos)?)
                .map_err(|_| crate::ProtocolError::BadHeaderField("compressed topic config"))?;
            let config = TopicConfig::decode_compact(text)?;
            table.insert(config.topic_name.clone(), config);
        }
        let filter_server_list: Vec<String> = json::from_slice(take_chunk(&data, &mut pos)?)?;
        Ok(RegisterBrokerBody {
            filter_server_list,
            topic_config_serialize_wrapper: TopicConfigSerializeWrapper {
                data_version,
                topic_config_table: table,
            },
        })
    }
}

const BAD_COMPRESSED: crate::ProtocolError =
    crate::ProtocolError::BadHeaderField("compressed register body");

fn take_i32(data: &[u8], pos: &mut usize) -> Result<i32, crate::ProtocolError> {
    let bytes = data.get(*pos..*pos + 4).ok_or(BAD_COMPRESSED)?;
    *pos += 4;
    Ok(i32::from_be_bytes(bytes.try_into().expect("4 bytes")))
}

fn take_chunk<'a>(data: &'a [u8], pos: &mut usize) -> Result<&'a [u8], crate::ProtocolError> {
    let len = usize::try_from(take_i32(data, pos)?).map_err(|_| BAD_COMPRESSED)?;
    let chunk = data
        .get(*pos..(*pos).saturating_add(len))
        .ok_or(BAD_COMPRESSED)?;
    *pos += len;
    Ok(chunk)
}

impl TopicConfig {
    /// `TopicConfig.decode`: `"name read write perm filterType"` (order and sysFlag are lost).
    pub fn decode_compact(text: &str) -> Result<TopicConfig, JsonError> {
        let bad = || JsonError::type_error("a compact topic config");
        let parts: Vec<&str> = text.split(' ').collect();
        let [name, read, write, perm, filter] = parts[..] else {
            return Err(bad());
        };
        Ok(TopicConfig {
            topic_name: name.to_owned(),
            read_queue_nums: read.parse().map_err(|_| bad())?,
            write_queue_nums: write.parse().map_err(|_| bad())?,
            perm: perm.parse().map_err(|_| bad())?,
            topic_filter_type: TopicFilterType::from_name(filter).ok_or_else(bad)?,
            ..TopicConfig::default()
        })
    }

    /// `TopicConfig.encode`.
    pub fn encode_compact(&self) -> String {
        format!(
            "{} {} {} {} {}",
            self.topic_name,
            self.read_queue_nums,
            self.write_queue_nums,
            self.perm,
            self.topic_filter_type
        )
    }
}
