//! `RemotingCommand`: the unit every request and response travels in.

use crate::codes::{version, LanguageCode, RequestCode, ResponseCode};
use crate::header::CommandHeader;
use crate::ProtocolError;
use bytes::Bytes;

/// Flag bit 0: the command is a response.
pub const FLAG_RESPONSE: i32 = 0b01;
/// Flag bit 1: the request expects no response.
pub const FLAG_ONEWAY: i32 = 0b10;

/// How the header is serialised: the high byte of the header-length word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SerializeType {
    #[default]
    Json,
    RocketMq,
}

impl SerializeType {
    pub fn code(self) -> u8 {
        match self {
            SerializeType::Json => 0,
            SerializeType::RocketMq => 1,
        }
    }

    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(SerializeType::Json),
            1 => Some(SerializeType::RocketMq),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            SerializeType::Json => "JSON",
            SerializeType::RocketMq => "ROCKETMQ",
        }
    }
}

/// The `extFields` map: string keys and values, in the order they were added or read.
///
/// Headers hold a dozen entries at most, so a vector beats a hash map, and keeping order lets
/// a decoded header be re-encoded byte for byte.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExtFields(Vec<(String, String)>);

impl ExtFields {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_capacity(n: usize) -> Self {
        ExtFields(Vec::with_capacity(n))
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Sets `key`, replacing an existing value in place.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) {
        let key = key.into();
        let value = value.into();
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some(entry) => entry.1 = value,
            None => self.0.push((key, value)),
        }
    }

    /// Appends without looking for an existing key (decoders and header writers, whose keys
    /// are distinct).
    pub fn push(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.0.push((key.into(), value.into()));
    }

    pub fn remove(&mut self, key: &str) -> Option<String> {
        let idx = self.0.iter().position(|(k, _)| k == key)?;
        Some(self.0.remove(idx).1)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for ExtFields {
    fn from_iter<T: IntoIterator<Item = (K, V)>>(iter: T) -> Self {
        let mut ext = ExtFields::new();
        for (k, v) in iter {
            ext.insert(k, v);
        }
        ext
    }
}

/// One request or response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemotingCommand {
    /// A [`RequestCode`] on requests, a [`ResponseCode`] on responses.
    pub code: i32,
    pub language: LanguageCode,
    pub version: i32,
    pub opaque: i32,
    pub flag: i32,
    pub remark: Option<String>,
    /// `None` and an empty map differ in JSON (`"extFields":{}` vs no key).
    pub ext_fields: Option<ExtFields>,
    pub body: Option<Bytes>,
    /// How this command's header is (or will be) serialised.
    pub serialize_type: SerializeType,
}

impl Default for RemotingCommand {
    fn default() -> Self {
        RemotingCommand {
            code: 0,
            language: LanguageCode::Java,
            version: version::CURRENT,
            opaque: 0,
            flag: 0,
            remark: None,
            ext_fields: None,
            body: None,
            serialize_type: SerializeType::Json,
        }
    }
}

impl RemotingCommand {
    /// A request with no header fields; the opaque is set by the transport.
    pub fn request(code: RequestCode) -> Self {
        RemotingCommand {
            code: code.0,
            ..Default::default()
        }
    }

    /// A request carrying a typed custom header.
    pub fn request_with_header(code: RequestCode, header: &impl CommandHeader) -> Self {
        let mut ext = ExtFields::new();
        header.write_to(&mut ext);
        RemotingCommand {
            code: code.0,
            ext_fields: Some(ext),
            ..Default::default()
        }
    }

    /// A response with a code and remark; it becomes the answer to a request with
    /// [`answering`](Self::answering).
    pub fn response(code: ResponseCode, remark: impl Into<Option<String>>) -> Self {
        RemotingCommand {
            code: code.0,
            flag: FLAG_RESPONSE,
            remark: remark.into(),
            ..Default::default()
        }
    }

    /// A response carrying a typed custom header (Java's `createResponseCommand(Class)`):
    /// always has an extFields map, empty when every field is unset.
    pub fn response_with_header(code: ResponseCode, header: &impl CommandHeader) -> Self {
        let mut ext = ExtFields::new();
        header.write_to(&mut ext);
        RemotingCommand {
            ext_fields: Some(ext),
            ..Self::response(code, None)
        }
    }

    /// Marks this command as the response to `request`: same opaque and serialize type.
    pub fn answering(mut self, request: &RemotingCommand) -> Self {
        self.opaque = request.opaque;
        self.flag |= FLAG_RESPONSE;
        self.serialize_type = request.serialize_type;
        self
    }

    pub fn with_body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = Some(body.into());
        self
    }

    pub fn with_remark(mut self, remark: impl Into<String>) -> Self {
        self.remark = Some(remark.into());
        self
    }

    pub fn is_response(&self) -> bool {
        self.flag & FLAG_RESPONSE != 0
    }

    pub fn is_oneway(&self) -> bool {
        self.flag & FLAG_ONEWAY != 0
    }

    pub fn mark_oneway(&mut self) {
        self.flag |= FLAG_ONEWAY;
    }

    pub fn request_code(&self) -> RequestCode {
        RequestCode(self.code)
    }

    pub fn response_code(&self) -> ResponseCode {
        ResponseCode(self.code)
    }

    /// One extFields value.
    pub fn ext(&self, key: &str) -> Option<&str> {
        self.ext_fields.as_ref().and_then(|e| e.get(key))
    }

    /// The extFields map, created if absent.
    pub fn ext_mut(&mut self) -> &mut ExtFields {
        self.ext_fields.get_or_insert_with(ExtFields::new)
    }

    /// Decodes the typed custom header; a missing required field is
    /// [`ProtocolError::MissingField`], which servers answer with SYSTEM_ERROR.
    pub fn decode_header<H: CommandHeader>(&self) -> Result<H, ProtocolError> {
        static EMPTY: ExtFields = ExtFields(Vec::new());
        H::read_from(self.ext_fields.as_ref().unwrap_or(&EMPTY))
    }

    pub fn body_bytes(&self) -> &[u8] {
        self.body.as_deref().unwrap_or(&[])
    }
}
