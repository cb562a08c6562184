//! Topic and group names with RocketMQ's validation rules (`TopicValidator`, `Validators`).

use std::fmt;
use thiserror::Error;

/// Longest topic name a 4.x broker accepts (the v1 record stores its length in one byte).
pub const TOPIC_MAX_LEN: usize = 127;
/// Longest consumer / producer group name.
pub const GROUP_MAX_LEN: usize = 255;

/// The template topic producers name for auto-creation.
pub const AUTO_CREATE_TOPIC_KEY: &str = "TBW102";
pub const SCHEDULE_TOPIC: &str = "SCHEDULE_TOPIC_XXXX";
pub const TRANS_HALF_TOPIC: &str = "RMQ_SYS_TRANS_HALF_TOPIC";
pub const TRANS_OP_HALF_TOPIC: &str = "RMQ_SYS_TRANS_OP_HALF_TOPIC";
pub const TRANS_CHECK_MAX_TIME_TOPIC: &str = "TRANS_CHECK_MAX_TIME_TOPIC";
pub const SELF_TEST_TOPIC: &str = "SELF_TEST_TOPIC";
pub const OFFSET_MOVED_EVENT: &str = "OFFSET_MOVED_EVENT";
pub const BENCHMARK_TOPIC: &str = "BenchmarkTest";
/// The default message-trace topic (`msgTraceTopicName`).
pub const TRACE_TOPIC: &str = "RMQ_SYS_TRACE_TOPIC";
pub const RETRY_GROUP_TOPIC_PREFIX: &str = "%RETRY%";
pub const DLQ_GROUP_TOPIC_PREFIX: &str = "%DLQ%";
pub const SYSTEM_TOPIC_PREFIX: &str = "rmq_sys_";

/// Topics a producer may never send to (`TopicValidator.NOT_ALLOWED_SEND_TOPIC_SET`).
pub const NOT_ALLOWED_SEND_TOPICS: [&str; 6] = [
    SCHEDULE_TOPIC,
    TRANS_HALF_TOPIC,
    TRANS_OP_HALF_TOPIC,
    TRANS_CHECK_MAX_TIME_TOPIC,
    SELF_TEST_TOPIC,
    OFFSET_MOVED_EVENT,
];

/// Topics the broker creates for itself (`TopicValidator.SYSTEM_TOPIC_SET`).
pub const SYSTEM_TOPICS: [&str; 9] = [
    AUTO_CREATE_TOPIC_KEY,
    SCHEDULE_TOPIC,
    BENCHMARK_TOPIC,
    TRANS_HALF_TOPIC,
    TRACE_TOPIC,
    TRANS_OP_HALF_TOPIC,
    TRANS_CHECK_MAX_TIME_TOPIC,
    SELF_TEST_TOPIC,
    OFFSET_MOVED_EVENT,
];

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NameError {
    #[error("the {kind} name is blank")]
    Blank { kind: &'static str },
    #[error("the {kind} name is longer than {max} characters")]
    TooLong { kind: &'static str, max: usize },
    #[error("the specified {kind} [{name}] contains illegal characters, allowing only ^[%|a-zA-Z0-9_-]+$")]
    IllegalCharacters { kind: &'static str, name: String },
}

fn is_legal_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'%' | b'|' | b'_' | b'-')
}

fn validate(kind: &'static str, name: &str, max: usize) -> Result<(), NameError> {
    if name.trim().is_empty() {
        return Err(NameError::Blank { kind });
    }
    if name.len() > max {
        return Err(NameError::TooLong { kind, max });
    }
    if !name.bytes().all(is_legal_char) {
        return Err(NameError::IllegalCharacters {
            kind,
            name: name.to_owned(),
        });
    }
    Ok(())
}

/// A topic name that passed RocketMQ's validation: 1..=127 characters of `[%|a-zA-Z0-9_-]`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TopicName(String);

/// A validated topic name borrowed from elsewhere (a request header): [`TopicName`]'s checks
/// without copying the string, for the send path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopicNameRef<'a>(&'a str);

impl<'a> TopicNameRef<'a> {
    pub fn new(name: &'a str) -> Result<Self, NameError> {
        validate("topic", name, TOPIC_MAX_LEN)?;
        Ok(TopicNameRef(name))
    }

    pub fn as_str(&self) -> &'a str {
        self.0
    }

    /// Whether the broker reserves this topic for itself.
    pub fn is_system(&self) -> bool {
        SYSTEM_TOPICS.contains(&self.0) || self.0.starts_with(SYSTEM_TOPIC_PREFIX)
    }

    /// Whether a producer is refused when sending to this topic.
    pub fn is_not_allowed_send(&self) -> bool {
        NOT_ALLOWED_SEND_TOPICS.contains(&self.0)
    }

    pub fn is_retry(&self) -> bool {
        self.0.starts_with(RETRY_GROUP_TOPIC_PREFIX)
    }

    pub fn is_dlq(&self) -> bool {
        self.0.starts_with(DLQ_GROUP_TOPIC_PREFIX)
    }
}

impl TopicName {
    pub fn new(name: impl Into<String>) -> Result<Self, NameError> {
        let name = name.into();
        validate("topic", &name, TOPIC_MAX_LEN)?;
        Ok(TopicName(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The same name, borrowed.
    pub fn as_ref_name(&self) -> TopicNameRef<'_> {
        TopicNameRef(&self.0)
    }

    /// Whether the broker reserves this topic for itself.
    pub fn is_system(&self) -> bool {
        self.as_ref_name().is_system()
    }

    /// Whether a producer is refused when sending to this topic.
    pub fn is_not_allowed_send(&self) -> bool {
        self.as_ref_name().is_not_allowed_send()
    }

    pub fn is_retry(&self) -> bool {
        self.as_ref_name().is_retry()
    }

    pub fn is_dlq(&self) -> bool {
        self.as_ref_name().is_dlq()
    }

    /// `%RETRY%<group>`, the topic a consumer group's failed messages come back on.
    pub fn retry_of(group: &GroupName) -> TopicName {
        TopicName(format!("{RETRY_GROUP_TOPIC_PREFIX}{}", group.as_str()))
    }

    /// `%DLQ%<group>`, where messages go after the last retry.
    pub fn dlq_of(group: &GroupName) -> TopicName {
        TopicName(format!("{DLQ_GROUP_TOPIC_PREFIX}{}", group.as_str()))
    }
}

impl fmt::Display for TopicName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for TopicName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A producer or consumer group name: 1..=255 characters of `[%|a-zA-Z0-9_-]`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GroupName(String);

impl GroupName {
    pub fn new(name: impl Into<String>) -> Result<Self, NameError> {
        let name = name.into();
        validate("group", &name, GROUP_MAX_LEN)?;
        Ok(GroupName(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for GroupName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_legal_topics() {
        for name in [
            "TopicTest",
            "%RETRY%group",
            "a|b",
            "x-y_z",
            &"a".repeat(127),
        ] {
            assert!(TopicName::new(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn rejects_illegal_topics() {
        assert_eq!(TopicName::new(""), Err(NameError::Blank { kind: "topic" }));
        assert_eq!(
            TopicName::new("   "),
            Err(NameError::Blank { kind: "topic" })
        );
        assert_eq!(
            TopicName::new("a".repeat(128)),
            Err(NameError::TooLong {
                kind: "topic",
                max: 127
            })
        );
        for bad in ["a b", "a.b", "a/b", "тема", "a\u{1}"] {
            assert!(
                matches!(
                    TopicName::new(bad),
                    Err(NameError::IllegalCharacters { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn classifies_system_topics() {
        let t = |s: &str| TopicName::new(s).unwrap();
        assert!(t("TBW102").is_system());
        assert!(t("rmq_sys_foo").is_system());
        assert!(!t("TopicTest").is_system());
        assert!(t("SCHEDULE_TOPIC_XXXX").is_not_allowed_send());
        assert!(!t("TBW102").is_not_allowed_send());
        let g = GroupName::new("G1").unwrap();
        assert_eq!(TopicName::retry_of(&g).as_str(), "%RETRY%G1");
        assert!(TopicName::retry_of(&g).is_retry());
        assert!(TopicName::dlq_of(&g).is_dlq());
    }

    #[test]
    fn group_length_limit() {
        assert!(GroupName::new("g".repeat(255)).is_ok());
        assert!(GroupName::new("g".repeat(256)).is_err());
    }
}
