//! What Java's `mqadmin` prints, written the same way: `toString` forms of configs,
//! `UtilAll` time formats (in UTC here, as every Ferrocket time string), truncated columns and
//! fastjson's pretty JSON.

use ferrocket_common::time::{days_from_civil, CivilTime, DAY_MS};
use ferrocket_protocol::body::{SubscriptionGroupConfig, TopicConfig};
use ferrocket_protocol::json::{self, Value};

/// `UtilAll.frontStringAtLeast`: at most the first `size` characters.
pub fn front(s: &str, size: usize) -> &str {
    match s.char_indices().nth(size) {
        Some((end, _)) => &s[..end],
        None => s,
    }
}

/// `UtilAll.timeMillisToHumanString2`: `yyyy-MM-dd HH:mm:ss,SSS`.
pub fn human_time(ms: i64) -> String {
    format!("{},{:03}", date_time(ms), CivilTime::of_ms(ms).milli)
}

/// `UtilAll.formatDate(…, "yyyy-MM-dd HH:mm:ss")`.
pub fn date_time(ms: i64) -> String {
    let t = CivilTime::of_ms(ms);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    )
}

/// `UtilAll.parseDate(…, "yyyy-MM-dd#HH:mm:ss:SSS")`, the time form `resetOffsetByTime`
/// takes.
pub fn parse_date(text: &str) -> Option<i64> {
    let (date, time) = text.split_once('#')?;
    let mut date = date.split('-');
    let y: i64 = date.next()?.parse().ok()?;
    let mo: u32 = date.next()?.parse().ok()?;
    let d: u32 = date.next()?.parse().ok()?;
    let mut time = time.split(':');
    let mut field = |max: i64| -> Option<i64> {
        let v: i64 = time.next()?.parse().ok()?;
        (0..max).contains(&v).then_some(v)
    };
    let (h, mi, s, milli) = (field(24)?, field(60)?, field(60)?, field(1000)?);
    if date.next().is_some() || !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    Some(days_from_civil(y, mo, d) * DAY_MS + ((h * 60 + mi) * 60 + s) * 1000 + milli)
}

/// `PermName.perm2String`: `RW-`, `R--`, `-W-`, with `X` for inherited.
pub fn perm(perm: i32) -> String {
    let mut out = String::with_capacity(3);
    out.push(if perm & 4 != 0 { 'R' } else { '-' });
    out.push(if perm & 2 != 0 { 'W' } else { '-' });
    out.push(if perm & 1 != 0 { 'X' } else { '-' });
    out
}

/// `TopicConfig.toString()`.
pub fn topic_config(c: &TopicConfig) -> String {
    format!(
        "TopicConfig [topicName={}, readQueueNums={}, writeQueueNums={}, perm={}, topicFilterType={}, topicSysFlag={}, order={}]",
        c.topic_name,
        c.read_queue_nums,
        c.write_queue_nums,
        perm(c.perm),
        c.topic_filter_type.as_str(),
        c.topic_sys_flag,
        c.order
    )
}

/// `SubscriptionGroupConfig.toString()`.
pub fn subscription_group(c: &SubscriptionGroupConfig) -> String {
    format!(
        "SubscriptionGroupConfig [groupName={}, consumeEnable={}, consumeFromMinEnable={}, consumeBroadcastEnable={}, retryQueueNums={}, retryMaxTimes={}, brokerId={}, whichBrokerWhenConsumeSlowly={}, notifyConsumerIdsChangedEnable={}]",
        c.group_name,
        c.consume_enable,
        c.consume_from_min_enable,
        c.consume_broadcast_enable,
        c.retry_queue_nums,
        c.retry_max_times,
        c.broker_id,
        c.which_broker_when_consume_slowly,
        c.notify_consumer_ids_changed_enable
    )
}

/// fastjson's `PrettyFormat`: one member or element per line, indented by tabs; empty
/// objects and arrays stay `{}` and `[]`; integer map keys unquoted and on one line.
pub fn pretty_json(value: &Value) -> String {
    let mut out = String::new();
    write_pretty(&mut out, value, 0);
    out
}

fn write_pretty(out: &mut String, value: &Value, depth: usize) {
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.extend(std::iter::repeat_n('\t', depth));
    };
    match value {
        Value::Array(items) if !items.is_empty() => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, depth + 1);
                write_pretty(out, item, depth + 1);
            }
            newline(out, depth);
            out.push(']');
        }
        Value::Object(members) if !members.is_empty() => {
            // fastjson starts a line for string keys only: a map keyed by numbers (broker
            // ids) stays on the line of its `{`.
            out.push('{');
            for (i, (key, item)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if matches!(key, Value::Str(_)) {
                    newline(out, depth + 1);
                }
                out.push_str(&json::to_string(key));
                out.push(':');
                write_pretty(out, item, depth + 1);
            }
            newline(out, depth);
            out.push('}');
        }
        scalar => out.push_str(&json::to_string(scalar)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_as_utilall_writes_and_reads_them() {
        // 2024-02-29 13:05:09.042 UTC
        let ms = 1_709_211_909_042;
        assert_eq!(human_time(ms), "2024-02-29 13:05:09,042");
        assert_eq!(date_time(ms), "2024-02-29 13:05:09");
        assert_eq!(parse_date("2024-02-29#13:05:09:042"), Some(ms));
        assert_eq!(parse_date("2024-02-29 13:05:09"), None);
        assert_eq!(parse_date("2024-13-01#00:00:00:000"), None);
        assert_eq!(parse_date("2024-01-01#24:00:00:000"), None);
    }

    #[test]
    fn java_to_string_forms() {
        assert_eq!(perm(6), "RW-");
        assert_eq!(perm(4), "R--");
        assert_eq!(perm(2), "-W-");
        assert_eq!(perm(7), "RWX");
        let c = TopicConfig {
            topic_name: "T".into(),
            read_queue_nums: 8,
            write_queue_nums: 8,
            ..TopicConfig::default()
        };
        assert_eq!(
            topic_config(&c),
            "TopicConfig [topicName=T, readQueueNums=8, writeQueueNums=8, perm=RW-, topicFilterType=SINGLE_TAG, topicSysFlag=0, order=false]"
        );
        let g = SubscriptionGroupConfig {
            group_name: "G".into(),
            ..SubscriptionGroupConfig::default()
        };
        assert_eq!(
            subscription_group(&g),
            "SubscriptionGroupConfig [groupName=G, consumeEnable=true, consumeFromMinEnable=true, consumeBroadcastEnable=true, retryQueueNums=1, retryMaxTimes=16, brokerId=0, whichBrokerWhenConsumeSlowly=1, notifyConsumerIdsChangedEnable=true]"
        );
        assert_eq!(front("abcdef", 3), "abc");
        assert_eq!(front("ab", 3), "ab");
    }

    #[test]
    fn pretty_json_indents_by_tabs() {
        // What fastjson 1.2.69 printed for the same value with `toJSONString(v, true)`.
        let v = json::parse(br#"{"addrs":{0:"a:1",1:"b:2"},"empty":{},"emptyList":[],"list":[1,2],"strmap":{"k":"v"}}"#).unwrap();
        assert_eq!(
            pretty_json(&v),
            "{\n\t\"addrs\":{0:\"a:1\",1:\"b:2\"\n\t},\n\t\"empty\":{},\n\t\"emptyList\":[],\n\t\"list\":[\n\t\t1,\n\t\t2\n\t],\n\t\"strmap\":{\n\t\t\"k\":\"v\"\n\t}\n}"
        );
    }
}
