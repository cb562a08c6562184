//! Golden tests against frames captured from Apache RocketMQ 4.9.8 (testdata/golden): every
//! frame decodes, every Java-written frame re-encodes to the same bytes, and the bodies the
//! fact sheet describes parse to the exact values captured.

use bytes::Bytes;
use ferrocket_common::record::MessageRecord;
use ferrocket_protocol::body::*;
use ferrocket_protocol::header::*;
use ferrocket_protocol::json::{self, FromJson, ToJson, Value};
use ferrocket_protocol::{frame, RemotingCommand, RequestCode, SerializeType};

const FRAMES: &str = include_str!("../../../testdata/golden/frames.jsonl");

/// One captured frame.
struct Golden {
    meta: Value,
    header: Vec<u8>,
    body: Vec<u8>,
    serialize: SerializeType,
}

impl Golden {
    fn str(&self, key: &str) -> &str {
        self.meta.get(key).and_then(Value::as_str).unwrap_or("")
    }

    fn int(&self, key: &str) -> i64 {
        match self.meta.get(key) {
            Some(Value::Int(n)) => *n,
            _ => -1,
        }
    }

    fn is_java_written(&self) -> bool {
        // The python-extra helper wrote its own requests; every response is Java's.
        self.str("client_impl") != "python-extra" || self.str("kind") == "response"
    }

    fn wire_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&((4 + self.header.len() + self.body.len()) as u32).to_be_bytes());
        let word = (u32::from(self.serialize.code()) << 24) | self.header.len() as u32;
        out.extend_from_slice(&word.to_be_bytes());
        out.extend_from_slice(&self.header);
        out.extend_from_slice(&self.body);
        out
    }

    fn decode(&self) -> RemotingCommand {
        let mut buf = bytes::BytesMut::from(&self.wire_bytes()[..]);
        let frame = frame::split(&mut buf).unwrap().expect("whole frame");
        frame::decode(frame).unwrap_or_else(|e| panic!("{}: {e}", self.describe()))
    }

    fn describe(&self) -> String {
        format!(
            "conn {} frame {} ({} code {} {})",
            self.int("conn"),
            self.int("index"),
            self.str("dir"),
            self.int("code"),
            self.str("kind")
        )
    }
}

fn base64(text: &str) -> Vec<u8> {
    fn sextet(c: u8) -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a' + 26),
            b'0'..=b'9' => u32::from(c - b'0' + 52),
            b'+' => 62,
            b'/' => 63,
            _ => panic!("bad base64"),
        }
    }
    let clean: Vec<u8> = text.bytes().filter(|&c| c != b'=').collect();
    let mut out = Vec::with_capacity(clean.len() * 3 / 4);
    for chunk in clean.chunks(4) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &c)| acc | sextet(c) << (18 - 6 * i));
        out.extend_from_slice(&n.to_be_bytes()[1..chunk.len()]);
    }
    out
}

fn frames() -> Vec<Golden> {
    FRAMES
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let meta = json::parse(line.as_bytes()).expect("golden line is JSON");
            let serialize = match meta.get("serialize").and_then(Value::as_str) {
                Some("ROCKETMQ") => SerializeType::RocketMq,
                _ => SerializeType::Json,
            };
            let header = match serialize {
                SerializeType::Json => meta
                    .get("header_text")
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .as_bytes()
                    .to_vec(),
                SerializeType::RocketMq => {
                    base64(meta.get("header_b64").unwrap().as_str().unwrap())
                }
            };
            let body = meta
                .get("body_b64")
                .and_then(Value::as_str)
                .map(base64)
                .unwrap_or_default();
            Golden {
                meta,
                header,
                body,
                serialize,
            }
        })
        .collect()
}

fn find(pred: impl Fn(&Golden) -> bool) -> Golden {
    frames()
        .into_iter()
        .find(pred)
        .expect("golden frame present")
}

fn response_to(code: RequestCode, g: &Golden) -> bool {
    g.str("kind") == "response" && g.int("request_code") == i64::from(code.0)
}

#[test]
fn corpus_is_complete() {
    let all = frames();
    assert_eq!(all.len(), 207);
    assert_eq!(
        all.iter()
            .filter(|g| g.serialize == SerializeType::RocketMq)
            .count(),
        4
    );
}

#[test]
fn every_frame_decodes_and_matches_the_capture() {
    let mut byte_exact = 0;
    for g in frames() {
        let cmd = g.decode();
        let expected = g.meta.get("header").unwrap();
        assert_eq!(i64::from(cmd.code), g.int("code"), "{}", g.describe());
        assert_eq!(i64::from(cmd.opaque), g.int("opaque"), "{}", g.describe());
        assert_eq!(i64::from(cmd.flag), g.int("flag"), "{}", g.describe());
        assert_eq!(cmd.serialize_type, g.serialize);
        assert_eq!(
            cmd.remark.as_deref(),
            expected.get("remark").and_then(Value::as_str)
        );
        match expected.get("extFields") {
            Some(Value::Object(members)) => {
                let ext = cmd.ext_fields.as_ref().expect("extFields present");
                assert_eq!(ext.len(), members.len(), "{}", g.describe());
                for (k, v) in members {
                    assert_eq!(ext.get(k.as_str().unwrap()), v.as_str(), "{}", g.describe());
                }
            }
            _ => assert!(
                cmd.ext_fields.is_none() || g.serialize == SerializeType::RocketMq,
                "{}",
                g.describe()
            ),
        }
        assert_eq!(cmd.body_bytes(), &g.body[..]);
        if g.is_java_written() {
            let again = frame::encode(&cmd).unwrap();
            assert_eq!(
                String::from_utf8_lossy(&again[8..8 + g.header.len().min(again.len() - 8)]),
                String::from_utf8_lossy(&g.header),
                "{}",
                g.describe()
            );
            assert_eq!(again, g.wire_bytes(), "{}", g.describe());
            byte_exact += 1;
        }
    }
    assert!(byte_exact > 150, "only {byte_exact} frames re-encoded");
}

#[test]
fn send_message_v2_request_header() {
    let g = find(|g| {
        g.str("client_impl") == "java-client-4.9.8"
            && g.int("code") == 310
            && g.str("kind") == "request"
    });
    let cmd = g.decode();
    let header = SendMessageRequestHeader::from_command(&cmd).unwrap();
    assert_eq!(header.default_topic, "TBW102");
    assert_eq!(header.default_topic_queue_nums, 4);
    assert!(header.topic.starts_with("rmqc_"));
    assert_eq!(header.bname.as_deref(), Some("broker-a"));
    let props = ferrocket_common::Properties::parse(header.properties.as_deref().unwrap());
    assert_eq!(props.get("WAIT"), Some("true"));
    assert_eq!(props.get("UNIQ_KEY").map(str::len), Some(32));
    // The binary-header send: fields written in declaration order, byte for byte.
    let g = find(|g| g.serialize == SerializeType::RocketMq && g.int("code") == 310);
    let cmd = g.decode();
    let v2: SendMessageRequestHeaderV2 = cmd.decode_header().unwrap();
    assert_eq!(v2.a, "PG_CHECK");
    assert_eq!(v2.b, "GoldenTopic");
    assert_eq!(v2.e, 0);
    assert_eq!(v2.g, 1_795_243_747_973);
    assert_eq!(
        v2.i.as_deref(),
        Some("TAGS\u{1}TagBin\u{2}KEYS\u{1}gkbin\u{2}WAIT\u{1}true")
    );
    assert_eq!(cmd.body_bytes(), b"golden-binary-header");
    let mut rebuilt = RemotingCommand::request_with_header(RequestCode::SEND_MESSAGE_V2, &v2);
    rebuilt.serialize_type = SerializeType::RocketMq;
    rebuilt.opaque = cmd.opaque;
    rebuilt.body = cmd.body.clone();
    assert_eq!(frame::encode(&rebuilt).unwrap(), g.wire_bytes());
}

#[test]
fn send_and_pull_response_headers() {
    let g = find(|g| {
        response_to(RequestCode::SEND_MESSAGE_V2, g) && g.serialize == SerializeType::RocketMq
    });
    let cmd = g.decode();
    let h: SendMessageResponseHeader = cmd.decode_header().unwrap();
    assert_eq!(h.msg_id, "7F00000100002A9F00000000000004B8");
    assert_eq!((h.queue_id, h.queue_offset), (0, 2));
    assert_eq!(cmd.ext("MSG_REGION"), Some("DefaultRegion"));
    assert_eq!(cmd.ext("TRACE_ON"), Some("true"));

    let g = find(|g| {
        response_to(RequestCode::PULL_MESSAGE, g) && g.serialize == SerializeType::RocketMq
    });
    let cmd = g.decode();
    let h: PullMessageResponseHeader = cmd.decode_header().unwrap();
    assert_eq!(
        (
            h.suggest_which_broker_id,
            h.next_begin_offset,
            h.min_offset,
            h.max_offset
        ),
        (0, 3, 0, 3)
    );
    assert_eq!(cmd.remark.as_deref(), Some("FOUND"));
}

#[test]
fn pulled_records_decode_and_reencode_byte_exact() {
    let mut records = 0;
    for g in frames() {
        let carries_records = (g.str("kind") == "response"
            && g.int("code") == 0
            && [11, 12, 33].contains(&g.int("request_code")))
            || (g.int("code") == 39 && g.str("kind") != "response");
        if !carries_records {
            continue;
        }
        let body = Bytes::from(g.body.clone());
        let all = MessageRecord::decode_all(&body, true)
            .unwrap_or_else(|e| panic!("{}: {e}", g.describe()));
        assert!(!all.is_empty());
        let mut again = Vec::new();
        for r in &all {
            r.view().encode_into(&mut again).unwrap();
            assert!(r.header.born_host.is_ipv4() && r.header.store_host.is_ipv4());
            assert_eq!(r.header.store_host.to_string(), "127.0.0.1:10911");
        }
        assert_eq!(again, g.body, "{}", g.describe());
        records += all.len();
    }
    assert_eq!(records, 45);
}

#[test]
fn batch_body_decodes_and_reencodes() {
    let g = find(|g| g.int("code") == 320 && g.str("kind") == "request");
    let items = ferrocket_common::batch::decode(&g.body).unwrap();
    assert_eq!(items.len(), 10);
    assert_eq!(items[0].body, b"body of d-0");
    let props = ferrocket_common::Properties::parse(items[9].properties);
    assert_eq!(props.get("KEYS"), Some("d-9"));
    assert_eq!(props.get("TAGS"), Some("TagA"));
    assert_eq!(
        &ferrocket_common::batch::encode(&items).unwrap()[..],
        &g.body[..]
    );
    // The response lists ten offset ids, one per message.
    let resp = find(|g| response_to(RequestCode::SEND_BATCH_MESSAGE, g)).decode();
    let h: SendMessageResponseHeader = resp.decode_header().unwrap();
    let ids: Vec<_> = h.msg_id.split(',').collect();
    assert_eq!(ids.len(), 10);
    let first = ferrocket_common::message_id::OffsetMessageId::decode(ids[0]).unwrap();
    assert_eq!(first.commit_log_offset, 0xD1A4);
    assert_eq!(h.queue_offset, 52);
}

#[test]
fn topic_route_with_unquoted_and_quoted_keys() {
    let routes: Vec<Golden> = frames()
        .into_iter()
        .filter(|g| {
            response_to(RequestCode::GET_ROUTEINFO_BY_TOPIC, g)
                && g.int("code") == 0
                && g.str("client_impl") == "python-extra"
        })
        .collect();
    assert_eq!(routes.len(), 2);
    for (g, standard) in routes.iter().zip([false, true]) {
        let route: TopicRouteData = json::from_slice(&g.body).unwrap();
        assert_eq!(route.broker_datas.len(), 1);
        assert_eq!(route.broker_datas[0].master_addr(), Some("127.0.0.1:10911"));
        assert_eq!(route.broker_datas[0].cluster, "DefaultCluster");
        assert_eq!(
            route.queue_datas,
            vec![QueueData {
                broker_name: "broker-a".into(),
                perm: 6,
                read_queue_nums: 4,
                topic_sys_flag: 0,
                write_queue_nums: 4,
            }]
        );
        let text = String::from_utf8(g.body.clone()).unwrap();
        assert_eq!(text.contains(r#"{"0":"#), standard);
        // Version 373 gets unquoted keys, 409 quoted: byte for byte what Java sent.
        let version = if standard { 409 } else { 373 };
        assert_eq!(route.encode_for_client(version, false), g.body);
    }
}

#[test]
fn cluster_info_keeps_unquoted_keys() {
    let g = find(|g| response_to(RequestCode::GET_BROKER_CLUSTER_INFO, g));
    let info: ClusterInfo = json::from_slice(&g.body).unwrap();
    assert_eq!(
        info.cluster_addr_table["DefaultCluster"],
        vec!["broker-a".to_string()]
    );
    assert_eq!(
        info.broker_addr_table["broker-a"].broker_addrs[&0],
        "127.0.0.1:10911"
    );
    assert_eq!(json::to_vec(&info), g.body);
}

#[test]
fn consume_stats_and_topic_stats_with_object_keys() {
    let g = find(|g| response_to(RequestCode::GET_CONSUME_STATS, g));
    let stats: ConsumeStats = json::from_slice(&g.body).unwrap();
    assert_eq!(stats.consume_tps, 0.0);
    assert_eq!(stats.offset_table.len(), 4);
    let q0 = MessageQueue::new("GoldenTopic", "broker-a", 0);
    assert_eq!(
        stats.offset_table[&q0],
        OffsetWrapper {
            broker_offset: 3,
            consumer_offset: 1,
            last_timestamp: 1_795_243_747_907
        }
    );
    assert_eq!(stats.total_diff(), 1 + 1 + 1 + 2);
    // Java's HashMap order differs; our sorted output must parse back to the same values.
    let ours = json::to_vec(&stats);
    assert!(String::from_utf8_lossy(&ours).starts_with(
        r#"{"consumeTps":0.0,"offsetTable":{{"brokerName":"broker-a","queueId":0,"topic":"GoldenTopic"}:{"brokerOffset":3,"#
    ));
    assert_eq!(json::from_slice::<ConsumeStats>(&ours).unwrap(), stats);

    let g = find(|g| {
        response_to(RequestCode::GET_TOPIC_STATS_INFO, g) && g.str("client_impl") == "python-extra"
    });
    let table: TopicStatsTable = json::from_slice(&g.body).unwrap();
    let q3 = MessageQueue::new("GoldenTopic", "broker-a", 3);
    assert_eq!(
        table.offset_table[&q3],
        TopicOffset {
            last_update_timestamp: 1_795_243_747_972,
            max_offset: 2,
            min_offset: 0
        }
    );
}

#[test]
fn register_broker_body_and_header() {
    let g = find(|g| g.int("code") == 103 && g.str("kind") == "request");
    let cmd = g.decode();
    let h: RegisterBrokerRequestHeader = cmd.decode_header().unwrap();
    assert_eq!(h.broker_name, "broker-a");
    assert_eq!(h.broker_id, 0);
    assert_eq!(h.ha_server_addr, "127.0.0.1:10912");
    assert_eq!(h.compressed, Some(false));
    assert_eq!(h.body_crc32, Some(ferrocket_common::crc::body_crc(&g.body)));
    let body = RegisterBrokerBody::decode(&g.body, false).unwrap();
    let table = &body.topic_config_serialize_wrapper.topic_config_table;
    assert_eq!(table["TBW102"].perm, 7);
    assert_eq!(table["SCHEDULE_TOPIC_XXXX"].read_queue_nums, 18);
    // All maps here are alphabetical in Java's output only by chance of HashMap order, so
    // compare the parsed form.
    let again: RegisterBrokerBody = json::from_slice(&json::to_vec(&body)).unwrap();
    assert_eq!(again, body);
}

#[test]
fn heartbeat_and_lock_bodies() {
    let g = find(|g| g.int("code") == 34 && g.str("kind") == "request" && g.body.len() > 500);
    let hb: HeartbeatData = json::from_slice(&g.body).unwrap();
    assert!(hb.client_id.contains('@'));
    let consumer = &hb.consumer_data_set[0];
    assert_eq!(consumer.consume_type, ConsumeType::ConsumePassively);
    assert!(consumer
        .subscription_data_set
        .iter()
        .any(|s| s.topic.starts_with("%RETRY%") && s.sub_string == "*"));
    // Re-encoding a parsed bean gives Java's own alphabetical output back.
    assert_eq!(
        HeartbeatData::from_json(&json::parse(&json::to_vec(&hb)).unwrap()).unwrap(),
        hb
    );

    let g = find(|g| g.int("code") == 41 && g.str("kind") == "request");
    let lock: LockBatchRequestBody = json::from_slice(&g.body).unwrap();
    assert!(!lock.mq_set.is_empty());
    assert_eq!(json::to_vec(&lock), g.body);
    let g = find(|g| response_to(RequestCode::LOCK_BATCH_MQ, g));
    let locked: LockBatchResponseBody = json::from_slice(&g.body).unwrap();
    assert_eq!(json::to_vec(&locked), g.body);
}

#[test]
fn tag_subscription_matches_java() {
    // A heartbeat's TAG subscriptions carry Java's String.hashCode of each tag.
    for g in frames()
        .iter()
        .filter(|g| g.int("code") == 34 && g.str("kind") == "request")
    {
        let hb: HeartbeatData = json::from_slice(&g.body).unwrap();
        for sub in hb
            .consumer_data_set
            .iter()
            .flat_map(|c| &c.subscription_data_set)
        {
            let ours = SubscriptionData::tag(&sub.topic, &sub.sub_string, sub.sub_version);
            assert_eq!(ours.code_set, sub.code_set, "{}", sub.sub_string);
            assert_eq!(ours.tags_set, sub.tags_set);
        }
    }
}

#[test]
fn name_server_remarks_round_trip() {
    let g = find(|g| response_to(RequestCode::GET_ROUTEINFO_BY_TOPIC, g) && g.int("code") == 17);
    let cmd = g.decode();
    assert_eq!(
        cmd.remark.as_deref(),
        Some("No topic route info in name server for the topic: NoSuchTopicGolden\nSee http://rocketmq.apache.org/docs/faq/ for further details.")
    );
    let g = find(|g| response_to(RequestCode(9999), g));
    assert_eq!(
        g.decode().remark.as_deref(),
        Some(" request type 9999 not supported")
    );
}

#[test]
fn java_bodies_reencode_byte_exact() {
    // Bodies whose maps Java happened to write in sorted order (or that have none).
    for code in [
        RequestCode::GET_ALL_TOPIC_LIST_FROM_NAMESERVER,
        RequestCode::GET_CONSUMER_LIST_BY_GROUP,
    ] {
        let g = find(|g| response_to(code, g));
        let value = json::parse(&g.body).unwrap();
        assert_eq!(json::to_string(&value).into_bytes(), g.body, "{code}");
    }
    let g = find(|g| response_to(RequestCode::GET_CONSUMER_LIST_BY_GROUP, g));
    let ids: ConsumerIdList = json::from_slice(&g.body).unwrap();
    assert_eq!(json::to_vec(&ids), g.body);
    let g = find(|g| response_to(RequestCode::GET_ALL_TOPIC_LIST_FROM_NAMESERVER, g));
    let list: TopicList = json::from_slice(&g.body).unwrap();
    assert!(list.topic_list.iter().any(|t| t == "TBW102"));
    let _ = list.to_json();
}
