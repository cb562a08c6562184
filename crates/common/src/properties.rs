//! The message properties string (`MessageDecoder.messageProperties2String` /
//! `string2messageProperties`): `name 0x01 value 0x02 name 0x01 value …`.
//!
//! 4.9.x writers omit the trailing `0x02`; clients up to 4.9.0 append one after every pair,
//! so the reader accepts an optional trailing separator. Order is kept as read (Java's is
//! HashMap order, which nothing may depend on).

/// Separates a name from its value.
pub const NAME_VALUE_SEPARATOR: char = '\u{1}';
/// Separates one pair from the next.
pub const PROPERTY_SEPARATOR: char = '\u{2}';
/// Separates keys inside the `KEYS` property.
pub const KEY_SEPARATOR: char = ' ';
/// Longest properties string a record can hold (its length field is an i16).
pub const MAX_PROPERTIES_LEN: usize = i16::MAX as usize;

/// Reserved property keys (`MessageConst`).
pub mod keys {
    pub const KEYS: &str = "KEYS";
    pub const TAGS: &str = "TAGS";
    pub const WAIT_STORE_MSG_OK: &str = "WAIT";
    pub const DELAY_TIME_LEVEL: &str = "DELAY";
    pub const RETRY_TOPIC: &str = "RETRY_TOPIC";
    pub const REAL_TOPIC: &str = "REAL_TOPIC";
    pub const REAL_QUEUE_ID: &str = "REAL_QID";
    pub const TRANSACTION_PREPARED: &str = "TRAN_MSG";
    pub const PRODUCER_GROUP: &str = "PGROUP";
    pub const MIN_OFFSET: &str = "MIN_OFFSET";
    pub const MAX_OFFSET: &str = "MAX_OFFSET";
    pub const BUYER_ID: &str = "BUYER_ID";
    pub const ORIGIN_MESSAGE_ID: &str = "ORIGIN_MESSAGE_ID";
    pub const TRANSFER_FLAG: &str = "TRANSFER_FLAG";
    pub const CORRECTION_FLAG: &str = "CORRECTION_FLAG";
    pub const MQ2_FLAG: &str = "MQ2_FLAG";
    pub const RECONSUME_TIME: &str = "RECONSUME_TIME";
    pub const MSG_REGION: &str = "MSG_REGION";
    pub const TRACE_SWITCH: &str = "TRACE_ON";
    pub const UNIQ_CLIENT_MESSAGE_ID_KEYIDX: &str = "UNIQ_KEY";
    pub const MAX_RECONSUME_TIMES: &str = "MAX_RECONSUME_TIMES";
    pub const CONSUME_START_TIMESTAMP: &str = "CONSUME_START_TIME";
    pub const TRANSACTION_PREPARED_QUEUE_OFFSET: &str = "TRAN_PREPARED_QUEUE_OFFSET";
    pub const TRANSACTION_CHECK_TIMES: &str = "TRANSACTION_CHECK_TIMES";
    pub const CHECK_IMMUNITY_TIME_IN_SECONDS: &str = "CHECK_IMMUNITY_TIME_IN_SECONDS";
    pub const INSTANCE_ID: &str = "INSTANCE_ID";
    pub const CORRELATION_ID: &str = "CORRELATION_ID";
    pub const MESSAGE_REPLY_TO_CLIENT: &str = "REPLY_TO_CLIENT";
    pub const MESSAGE_TTL: &str = "TTL";
    pub const REPLY_MESSAGE_ARRIVE_TIME: &str = "ARRIVE_TIME";
    pub const PUSH_REPLY_TIME: &str = "PUSH_REPLY_TIME";
    pub const CLUSTER: &str = "CLUSTER";
    pub const MESSAGE_TYPE: &str = "MSG_TYPE";
    pub const INNER_MULTI_DISPATCH: &str = "INNER_MULTI_DISPATCH";
    pub const INNER_MULTI_QUEUE_OFFSET: &str = "INNER_MULTI_QUEUE_OFFSET";
    pub const START_DELIVER_TIME: &str = "__STARTDELIVERTIME";

    /// Every key a user may not set as a property of their own (`MessageConst.STRING_HASH_SET`).
    pub const RESERVED: [&str; 36] = [
        KEYS,
        TAGS,
        WAIT_STORE_MSG_OK,
        DELAY_TIME_LEVEL,
        RETRY_TOPIC,
        REAL_TOPIC,
        REAL_QUEUE_ID,
        TRANSACTION_PREPARED,
        PRODUCER_GROUP,
        MIN_OFFSET,
        MAX_OFFSET,
        BUYER_ID,
        ORIGIN_MESSAGE_ID,
        TRANSFER_FLAG,
        CORRECTION_FLAG,
        MQ2_FLAG,
        RECONSUME_TIME,
        MSG_REGION,
        TRACE_SWITCH,
        UNIQ_CLIENT_MESSAGE_ID_KEYIDX,
        MAX_RECONSUME_TIMES,
        CONSUME_START_TIMESTAMP,
        TRANSACTION_PREPARED_QUEUE_OFFSET,
        TRANSACTION_CHECK_TIMES,
        CHECK_IMMUNITY_TIME_IN_SECONDS,
        INSTANCE_ID,
        CORRELATION_ID,
        MESSAGE_REPLY_TO_CLIENT,
        MESSAGE_TTL,
        REPLY_MESSAGE_ARRIVE_TIME,
        PUSH_REPLY_TIME,
        CLUSTER,
        MESSAGE_TYPE,
        INNER_MULTI_DISPATCH,
        INNER_MULTI_QUEUE_OFFSET,
        START_DELIVER_TIME,
    ];

    pub fn is_reserved(key: &str) -> bool {
        RESERVED.contains(&key)
    }
}

/// An ordered list of message properties.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Properties {
    pairs: Vec<(String, String)>,
}

impl Properties {
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses a properties string. Pairs with an empty name or value are dropped, as the
    /// 4.9.8 reader does; a value runs to the next `0x02` and may itself contain `0x01`.
    pub fn parse(s: &str) -> Properties {
        Properties {
            pairs: iter(s).map(|(k, v)| (k.to_owned(), v.to_owned())).collect(),
        }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Sets `key`, replacing an existing value in place.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) {
        let key = key.into();
        let value = value.into();
        match self.pairs.iter_mut().find(|(k, _)| *k == key) {
            Some(pair) => pair.1 = value,
            None => self.pairs.push((key, value)),
        }
    }

    pub fn remove(&mut self, key: &str) -> Option<String> {
        let idx = self.pairs.iter().position(|(k, _)| k == key)?;
        Some(self.pairs.remove(idx).1)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// The 4.9.x encoding: pairs joined by `0x02`, no trailing separator.
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(self.encoded_len());
        self.encode_into(&mut out);
        out
    }

    pub fn encode_into(&self, out: &mut String) {
        for (i, (k, v)) in self.pairs.iter().enumerate() {
            if i > 0 {
                out.push(PROPERTY_SEPARATOR);
            }
            out.push_str(k);
            out.push(NAME_VALUE_SEPARATOR);
            out.push_str(v);
        }
    }

    /// `messageProperties2String` of a Java `HashMap` that got these pairs in this order (see
    /// [`JavaMap`]).
    pub fn encode_java_order(&self) -> String {
        let mut map = JavaMap::with_capacity(self.pairs.len());
        for (k, v) in self.iter() {
            map.put(k, v);
        }
        let mut out = String::with_capacity(self.encoded_len());
        map.write(&mut out);
        out
    }

    pub fn encoded_len(&self) -> usize {
        let pairs: usize = self.pairs.iter().map(|(k, v)| k.len() + v.len() + 1).sum();
        pairs + self.pairs.len().saturating_sub(1)
    }

    /// The `TAGS` property.
    pub fn tags(&self) -> Option<&str> {
        self.get(keys::TAGS)
    }

    /// The `KEYS` property split on spaces.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        split_keys(self.get(keys::KEYS).unwrap_or(""))
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Properties {
    fn from_iter<T: IntoIterator<Item = (K, V)>>(iter: T) -> Self {
        let mut p = Properties::new();
        for (k, v) in iter {
            p.insert(k, v);
        }
        p
    }
}

/// A message's properties as the Java broker holds them, a `HashMap<String, String>`, borrowed
/// from the strings they come from: what the broker stores whenever it re-serialises a
/// message's map (every single send, the delay redirect, send-back, delivery from the
/// schedule) is in this map's iteration order.
///
/// A `HashMap` iterates its buckets in index order and each bucket in insertion order; a
/// key's bucket is its spread `String.hashCode` masked by the table size, which starts at 16
/// and doubles once more than three quarters full, and never shrinks. A replaced value keeps
/// its place; a removed and re-added key goes to the end of its bucket. (A bucket turns into a
/// tree only past 8 entries in a table of 64, far beyond a message's properties.)
#[derive(Debug, Clone, Default)]
pub struct JavaMap<'a> {
    pairs: Vec<(&'a str, &'a str)>,
    /// The most pairs held at once, which sets the table size.
    peak: usize,
}

impl<'a> JavaMap<'a> {
    pub fn with_capacity(n: usize) -> JavaMap<'a> {
        JavaMap {
            pairs: Vec::with_capacity(n),
            peak: 0,
        }
    }

    /// `string2messageProperties`: pairs with an empty name or value are dropped; a name
    /// seen again replaces the value.
    pub fn parse(s: &'a str, extra_capacity: usize) -> JavaMap<'a> {
        let mut map = JavaMap::with_capacity(8 + extra_capacity);
        for (k, v) in iter(s) {
            map.put(k, v);
        }
        map
    }

    pub fn get(&self, key: &str) -> Option<&'a str> {
        self.pairs.iter().find(|(k, _)| *k == key).map(|&(_, v)| v)
    }

    pub fn put(&mut self, key: &'a str, value: &'a str) {
        match self.pairs.iter_mut().find(|(k, _)| *k == key) {
            Some(pair) => pair.1 = value,
            None => {
                self.pairs.push((key, value));
                self.peak = self.peak.max(self.pairs.len());
            }
        }
    }

    pub fn remove(&mut self, key: &str) -> Option<&'a str> {
        let at = self.pairs.iter().position(|(k, _)| *k == key)?;
        Some(self.pairs.remove(at).1)
    }

    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// The length of [`write`](Self::write)'s output.
    pub fn encoded_len(&self) -> usize {
        let pairs: usize = self.pairs.iter().map(|(k, v)| k.len() + v.len() + 1).sum();
        pairs + self.pairs.len().saturating_sub(1)
    }

    /// Appends `messageProperties2String` of the map: pairs in iteration order, joined by
    /// `0x02`.
    pub fn write(&self, out: &mut String) {
        let mut table = 16;
        while self.peak > table / 4 * 3 {
            table *= 2;
        }
        // (bucket, insertion index) of each pair, on the stack for the usual handful: every
        // single send writes one of these maps.
        const ON_STACK: usize = 32;
        let mut stack = [(0usize, 0usize); ON_STACK];
        let mut heap = Vec::new();
        let order = if self.pairs.len() <= ON_STACK {
            &mut stack[..self.pairs.len()]
        } else {
            heap.resize(self.pairs.len(), (0, 0));
            &mut heap[..]
        };
        for (slot, (i, (k, _))) in order.iter_mut().zip(self.pairs.iter().enumerate()) {
            *slot = (java_hash_map_bucket(k, table), i);
        }
        order.sort_unstable();
        for (n, &(_, i)) in order.iter().enumerate() {
            if n > 0 {
                out.push(PROPERTY_SEPARATOR);
            }
            let (k, v) = self.pairs[i];
            out.push_str(k);
            out.push(NAME_VALUE_SEPARATOR);
            out.push_str(v);
        }
    }
}

/// The bucket of `key` in a Java `HashMap` of `table` buckets: `String.hashCode` with its high
/// half folded into the low (`HashMap.hash`), masked.
fn java_hash_map_bucket(key: &str, table: usize) -> usize {
    let h = crate::tag::java_string_hash(key) as u32;
    ((h ^ (h >> 16)) as usize) & (table - 1)
}

/// Iterates the pairs of a properties string without allocating.
pub fn iter(s: &str) -> impl Iterator<Item = (&str, &str)> {
    s.split(PROPERTY_SEPARATOR).filter_map(|segment| {
        let (k, v) = segment.split_once(NAME_VALUE_SEPARATOR)?;
        (!k.is_empty() && !v.is_empty()).then_some((k, v))
    })
}

/// Looks one property up in a properties string without allocating: the first pair of
/// [`iter`] named `key`. Every put looks its `TAGS` up, so this compares bytes where a pair
/// begins instead of splitting the string into pairs.
pub fn find<'a>(s: &'a str, key: &str) -> Option<&'a str> {
    let (bytes, name) = (s.as_bytes(), key.as_bytes());
    let separators = [PROPERTY_SEPARATOR as u8, NAME_VALUE_SEPARATOR as u8];
    if name.is_empty() || name.iter().any(|b| separators.contains(b)) {
        return None; // no pair has such a name
    }
    let mut start = 0;
    while start < bytes.len() {
        let end = bytes[start..]
            .iter()
            .position(|&b| b == separators[0])
            .map_or(bytes.len(), |i| start + i);
        let value_at = start + name.len() + 1;
        if value_at < end
            && bytes[start..].starts_with(name)
            && bytes[value_at - 1] == separators[1]
        {
            // Both separators are ASCII, so these are char boundaries.
            return Some(&s[value_at..end]);
        }
        start = end + 1;
    }
    None
}

/// Splits a `KEYS` value into its non-empty keys.
pub fn split_keys(keys: &str) -> impl Iterator<Item = &str> {
    keys.split(KEY_SEPARATOR).filter(|k| !k.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(map: &JavaMap<'_>) -> String {
        let mut out = String::new();
        map.write(&mut out);
        assert_eq!(out.len(), map.encoded_len());
        out
    }

    #[test]
    fn java_map_keeps_insertion_order_within_a_bucket() {
        // "Aa" and "BB" share a String.hashCode (2112), so they share a bucket.
        let mut map = JavaMap::default();
        map.put("BB", "1");
        map.put("Aa", "2");
        assert_eq!(written(&map), "BB\u{1}1\u{2}Aa\u{1}2");
        map.put("BB", "3"); // a replaced value keeps its place
        assert_eq!(written(&map), "BB\u{1}3\u{2}Aa\u{1}2");
        map.remove("BB");
        map.put("BB", "4"); // a re-added key goes to the end of its bucket
        assert_eq!(written(&map), "Aa\u{1}2\u{2}BB\u{1}4");
        // Empty names or values are dropped when parsing, as Java does.
        let parsed = JavaMap::parse("A\u{1}\u{2}\u{1}x\u{2}BB\u{1}y", 0);
        assert_eq!(parsed.len(), 1);
        assert_eq!(parsed.get("BB"), Some("y"));
    }

    #[test]
    fn java_map_table_grows_past_three_quarters_and_never_shrinks() {
        let keys: Vec<String> = [
            "KEYS",
            "TAGS",
            "WAIT",
            "DELAY",
            "RETRY_TOPIC",
            "REAL_TOPIC",
            "REAL_QID",
            "UNIQ_KEY",
            "CLUSTER",
            "RECONSUME_TIME",
            "MAX_OFFSET",
            "MIN_OFFSET",
            "TRAN_MSG",
        ]
        .map(str::to_owned)
        .to_vec();
        let by_bucket = |table: usize, n: usize| {
            let mut k: Vec<&str> = keys[..n].iter().map(String::as_str).collect();
            k.sort_by_key(|k| java_hash_map_bucket(k, table));
            k
        };
        let names = |map: &JavaMap<'_>| -> Vec<String> {
            Properties::parse(&written(map))
                .iter()
                .map(|(k, _)| k.to_owned())
                .collect()
        };
        let mut twelve = JavaMap::default();
        for k in &keys[..12] {
            twelve.put(k, "v");
        }
        assert_eq!(names(&twelve), by_bucket(16, 12));
        // A thirteenth pair doubles the table; removing it leaves the table at 32.
        let mut grown = twelve.clone();
        grown.put(&keys[12], "v");
        grown.remove(&keys[12]);
        assert_eq!(names(&grown), by_bucket(32, 12));
        assert_ne!(
            by_bucket(16, 12),
            by_bucket(32, 12),
            "the keys tell 16 from 32"
        );
    }

    #[test]
    fn round_trip_without_trailing_separator() {
        let p: Properties = [("KEYS", "k1 k2"), ("TAGS", "TagA"), ("WAIT", "true")]
            .into_iter()
            .collect();
        let s = p.encode();
        assert_eq!(s, "KEYS\u{1}k1 k2\u{2}TAGS\u{1}TagA\u{2}WAIT\u{1}true");
        assert_eq!(s.len(), p.encoded_len());
        assert_eq!(Properties::parse(&s), p);
        assert_eq!(p.keys().collect::<Vec<_>>(), vec!["k1", "k2"]);
        assert_eq!(p.tags(), Some("TagA"));
    }

    #[test]
    fn tolerates_old_client_trailing_separator() {
        let s = "TAGS\u{1}TagA\u{2}KEYS\u{1}k\u{2}";
        let p = Properties::parse(s);
        assert_eq!(p.len(), 2);
        assert_eq!(p.get("KEYS"), Some("k"));
        assert_eq!(find(s, "TAGS"), Some("TagA"));
    }

    #[test]
    fn drops_malformed_pairs() {
        let p = Properties::parse("\u{2}\u{2}a\u{2}\u{1}v\u{2}k\u{1}\u{2}x\u{1}y\u{1}z");
        assert_eq!(p.iter().collect::<Vec<_>>(), vec![("x", "y\u{1}z")]);
        assert!(Properties::parse("").is_empty());
        assert_eq!(Properties::new().encode(), "");
    }

    #[test]
    fn insert_replaces_and_remove_removes() {
        let mut p = Properties::new();
        p.insert("A", "1");
        p.insert("B", "2");
        p.insert("A", "3");
        assert_eq!(p.encode(), "A\u{1}3\u{2}B\u{1}2");
        assert_eq!(p.remove("A"), Some("3".into()));
        assert_eq!(p.remove("A"), None);
        assert!(keys::is_reserved("UNIQ_KEY"));
        assert!(!keys::is_reserved("myProp"));
    }

    proptest::proptest! {
        /// `find` answers as the first matching pair of `iter` does, for any string built
        /// from separators and a few letters (malformed pairs, empty names and values…).
        #[test]
        fn find_agrees_with_iter(
            s in "[\u{1}\u{2}abK]{0,24}",
            key in "[\u{1}\u{2}abK]{0,3}",
        ) {
            let expected = iter(&s).find(|(k, _)| *k == key).map(|(_, v)| v);
            proptest::prop_assert_eq!(find(&s, &key), expected);
        }
    }
}
