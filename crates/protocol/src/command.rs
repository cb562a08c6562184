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
/// a decoded header be re-encoded byte for byte. All keys and values live in one string: a
/// decoded or built header costs two allocations, not two per field (this is on every
/// request's path).
#[derive(Clone, Default)]
pub struct ExtFields {
    text: String,
    /// Per entry: where its key starts, where its value starts (the key's end) and ends.
    entries: Vec<[u32; 3]>,
}

impl ExtFields {
    pub fn new() -> Self {
        Self::default()
    }

    /// Room for `n` entries of typical size.
    pub fn with_capacity(n: usize) -> Self {
        Self::with_sizes(n, n * 24)
    }

    /// Room for `entries` entries whose keys and values take `text_bytes` in all.
    pub(crate) fn with_sizes(entries: usize, text_bytes: usize) -> Self {
        ExtFields {
            text: String::with_capacity(text_bytes),
            entries: Vec::with_capacity(entries),
        }
    }

    fn entry(&self, e: &[u32; 3]) -> (&str, &str) {
        let [k, v, end] = e.map(|i| i as usize);
        (&self.text[k..v], &self.text[v..end])
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// Sets `key`, replacing an existing value in place (the entry's old text stays unused).
    pub fn insert(&mut self, key: impl AsRef<str>, value: impl AsRef<str>) {
        let key = key.as_ref();
        match self.entries.iter().position(|e| self.entry(e).0 == key) {
            Some(i) => {
                // Key and value are written again at the end: an entry's value follows its key.
                self.push(key, value);
                let moved = self.entries.pop().expect("just pushed");
                self.entries[i] = moved;
            }
            None => self.push(key, value),
        }
    }

    /// Appends without looking for an existing key (decoders and header writers, whose keys
    /// are distinct).
    pub fn push(&mut self, key: impl AsRef<str>, value: impl AsRef<str>) {
        self.push_with(key.as_ref(), |out| out.push_str(value.as_ref()));
    }

    /// Appends `key` with the value `write_value` writes, formatted in place.
    pub fn push_with(&mut self, key: &str, write_value: impl FnOnce(&mut String)) {
        let written: Result<(), std::convert::Infallible> = self.try_push_with(key, |out| {
            write_value(out);
            Ok(())
        });
        let Ok(()) = written;
    }

    /// As [`push_with`](Self::push_with) for a writer that can fail; on failure nothing is
    /// added.
    pub fn try_push_with<E>(
        &mut self,
        key: &str,
        write_value: impl FnOnce(&mut String) -> Result<(), E>,
    ) -> Result<(), E> {
        let key_start = self.mark();
        self.text.push_str(key);
        let value_start = self.mark();
        if let Err(e) = write_value(&mut self.text) {
            self.text.truncate(key_start as usize);
            return Err(e);
        }
        let end = self.mark();
        self.entries.push([key_start, value_start, end]);
        Ok(())
    }

    /// The end of the text as an entry offset. Headers are far below 4 GiB (frames are
    /// limited to 16 MiB and decoders check lengths against the frame).
    fn mark(&self) -> u32 {
        u32::try_from(self.text.len()).expect("extFields text under 4 GiB")
    }

    pub fn remove(&mut self, key: &str) -> Option<String> {
        let idx = self.iter().position(|(k, _)| k == key)?;
        let value = self.entry(&self.entries[idx]).1.to_owned();
        self.entries.remove(idx);
        Some(value)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|e| self.entry(e))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl PartialEq for ExtFields {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for ExtFields {}

impl std::fmt::Debug for ExtFields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K: AsRef<str>, V: AsRef<str>> FromIterator<(K, V)> for ExtFields {
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
    /// More body, sent after `body` piece by piece: a pull answer's records straight from the
    /// mapped CommitLog, which a transport writes without copying them. Only commands built
    /// to be sent have parts; a decoded command's body is all in `body`.
    pub body_parts: Vec<Bytes>,
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
            body_parts: Vec::new(),
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
        let mut ext = ExtFields::with_capacity(16);
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
        let mut ext = ExtFields::with_capacity(8);
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

    /// A body sent as these pieces, back to back (see [`body_parts`](Self::body_parts)).
    pub fn with_body_parts(mut self, parts: Vec<Bytes>) -> Self {
        self.body_parts = parts;
        self
    }

    /// The body's length on the wire: `body` and its parts.
    pub fn body_len(&self) -> usize {
        self.body.as_ref().map_or(0, Bytes::len)
            + self.body_parts.iter().map(Bytes::len).sum::<usize>()
    }

    /// The pieces of the body in wire order.
    pub fn body_pieces(&self) -> impl Iterator<Item = &Bytes> {
        self.body.iter().chain(&self.body_parts)
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
        static EMPTY: ExtFields = ExtFields {
            text: String::new(),
            entries: Vec::new(),
        };
        H::read_from(self.ext_fields.as_ref().unwrap_or(&EMPTY))
    }

    /// `body`, or nothing: what a decoded command carries (parts are only for sending).
    pub fn body_bytes(&self) -> &[u8] {
        self.body.as_deref().unwrap_or(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::ExtFields;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Op {
        Push(String, String),
        Insert(String, String),
        Remove(String),
    }

    fn op() -> impl Strategy<Value = Op> {
        let key = "[a-c]{0,2}";
        let value = "[a-zé]{0,3}";
        prop_oneof![
            (key, value).prop_map(|(k, v)| Op::Push(k, v)),
            (key, value).prop_map(|(k, v)| Op::Insert(k, v)),
            key.prop_map(Op::Remove),
        ]
    }

    proptest! {
        /// Any sequence of pushes, inserts and removes leaves the same pairs, in the same
        /// order, as a plain vector of owned pairs would hold.
        #[test]
        fn ext_fields_behave_like_a_vector_of_pairs(ops in proptest::collection::vec(op(), 0..24)) {
            let mut ext = ExtFields::new();
            let mut model: Vec<(String, String)> = Vec::new();
            for op in ops {
                match op {
                    Op::Push(k, v) => {
                        ext.push(&k, &v);
                        model.push((k, v));
                    }
                    Op::Insert(k, v) => {
                        ext.insert(&k, &v);
                        match model.iter_mut().find(|(mk, _)| *mk == k) {
                            Some(entry) => entry.1 = v,
                            None => model.push((k, v)),
                        }
                    }
                    Op::Remove(k) => {
                        let expected = model
                            .iter()
                            .position(|(mk, _)| *mk == k)
                            .map(|i| model.remove(i).1);
                        prop_assert_eq!(ext.remove(&k), expected);
                    }
                }
                let pairs: Vec<(&str, &str)> =
                    model.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                prop_assert_eq!(ext.iter().collect::<Vec<_>>(), pairs);
            }
        }
    }

    #[test]
    fn ext_fields_keep_order_replace_in_place_and_compare_by_content() {
        let mut ext = ExtFields::new();
        ext.push("topic", "T");
        ext.push_with("queueId", |out| out.push('3'));
        ext.insert("topic", "Renamed");
        ext.insert("bname", "broker-a");
        assert_eq!(
            ext.iter().collect::<Vec<_>>(),
            [
                ("topic", "Renamed"),
                ("queueId", "3"),
                ("bname", "broker-a")
            ]
        );
        // Built another way, with no replaced text left behind: still equal.
        let same: ExtFields = [
            ("topic", "Renamed"),
            ("queueId", "3"),
            ("bname", "broker-a"),
        ]
        .into_iter()
        .collect();
        assert_eq!(ext, same);
        assert_eq!(ext.remove("queueId").as_deref(), Some("3"));
        assert_eq!(ext.get("queueId"), None);
        assert_eq!(ext.get("bname"), Some("broker-a"));
        assert_eq!(ext.len(), 2);
        assert_ne!(ext, same);
        assert_eq!(
            format!("{ext:?}"),
            r#"{"topic": "Renamed", "bname": "broker-a"}"#
        );
        // A value whose writer fails leaves nothing behind, not even its key.
        let failed = ext.try_push_with("broken", |out| {
            out.push_str("half");
            Err("bad escape")
        });
        assert_eq!(failed, Err("bad escape"));
        assert_eq!(ext.get("broken"), None);
        ext.push("after", "ok");
        assert_eq!(
            ext.iter().collect::<Vec<_>>(),
            [("topic", "Renamed"), ("bname", "broker-a"), ("after", "ok")]
        );
    }
}
