//! Property tests: encode→decode round trips, and decoders fed arbitrary bytes return errors
//! instead of panicking. Case counts are set so that CI runs well over 100k arbitrary inputs.

use bytes::{Bytes, BytesMut};
use ferrocket_common::record::{MessageRecord, MessageVersion, RecordHeader, RecordView};
use ferrocket_common::{batch, message_id::OffsetMessageId, Properties};
use ferrocket_protocol::body::{ConsumeStats, HeartbeatData, RegisterBrokerBody, TopicRouteData};
use ferrocket_protocol::header::{
    CommandHeader, PullMessageRequestHeader, SendMessageRequestHeader, SendMessageRequestHeaderRef,
    SendMessageRequestHeaderV2,
};
use ferrocket_protocol::json::{self, Value};
use ferrocket_protocol::{
    frame, ExtFields, LanguageCode, RemotingCommand, RequestCode, SerializeType,
};
use proptest::prelude::*;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

const FUZZ_CASES: u32 = 20_000;
const ROUND_TRIP_CASES: u32 = 2_000;

fn fuzz() -> ProptestConfig {
    ProptestConfig {
        cases: FUZZ_CASES,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn round_trip() -> ProptestConfig {
    ProptestConfig {
        cases: ROUND_TRIP_CASES,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Bytes that are often close to valid: a random prefix of a real frame with random edits,
/// so decoders get past their first checks.
fn mutated(base: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    let len = base.len();
    (
        0..=len,
        proptest::collection::vec((0..len.max(1), any::<u8>()), 0..4),
    )
        .prop_map(move |(cut, edits)| {
            let mut v = base[..cut].to_vec();
            for (i, b) in edits {
                if i < v.len() {
                    v[i] = b;
                }
            }
            v
        })
}

fn sample_frame(serialize: SerializeType) -> Vec<u8> {
    let mut cmd = RemotingCommand::request(ferrocket_protocol::RequestCode::SEND_MESSAGE_V2);
    cmd.serialize_type = serialize;
    cmd.remark = Some("remark".into());
    cmd.ext_mut().push("a", "PG");
    cmd.ext_mut().push("b", "Topic");
    cmd.body = Some(Bytes::from_static(b"body"));
    frame::encode(&cmd).unwrap()
}

fn sample_record() -> Vec<u8> {
    MessageRecord {
        body: Bytes::from_static(b"hello"),
        topic: "T".into(),
        properties: "TAGS\u{1}A".into(),
        ..MessageRecord::default()
    }
    .view()
    .encode_to_vec()
    .unwrap()
}

proptest! {
    #![proptest_config(fuzz())]

    #[test]
    fn frame_split_and_decode_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..128)) {
        let mut buf = BytesMut::from(&bytes[..]);
        while let Ok(Some(f)) = frame::split(&mut buf) {
            let _ = frame::decode(f);
        }
        let _ = frame::decode(Bytes::from(bytes));
    }

    #[test]
    fn near_valid_frames_never_panic(
        json in mutated(sample_frame(SerializeType::Json)),
        binary in mutated(sample_frame(SerializeType::RocketMq)),
    ) {
        for bytes in [json, binary] {
            if bytes.len() >= 4 {
                let _ = frame::decode(Bytes::copy_from_slice(&bytes[4..]));
            }
        }
    }

    #[test]
    fn headers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..96)) {
        let _ = ferrocket_protocol::header::json::decode(&bytes);
        let _ = ferrocket_protocol::header::binary::decode(&bytes);
    }

    #[test]
    fn records_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..160), near in mutated(sample_record())) {
        let _ = RecordView::decode(&bytes, true);
        let _ = RecordView::decode(&near, false);
        let _ = MessageRecord::decode_all(&Bytes::from(near), true);
        let _ = batch::decode(&bytes);
    }

    #[test]
    fn json_bodies_never_panic(text in "[{}\\[\\]:,\"0-9a-zA-Z\\\\ .-]{0,64}") {
        let _ = json::parse(text.as_bytes());
        let _ = json::from_slice::<TopicRouteData>(text.as_bytes());
        let _ = json::from_slice::<ConsumeStats>(text.as_bytes());
        let _ = json::from_slice::<HeartbeatData>(text.as_bytes());
        let _ = RegisterBrokerBody::decode(text.as_bytes(), true);
    }

    #[test]
    fn small_decoders_never_panic(text in ".{0,64}") {
        let _ = OffsetMessageId::decode(&text);
        let _ = Properties::parse(&text);
        let _ = ferrocket_common::compression::inflate_zlib(text.as_bytes(), 1 << 16);
    }
}

fn socket_addr() -> impl Strategy<Value = SocketAddr> {
    prop_oneof![
        (any::<[u8; 4]>(), any::<u16>())
            .prop_map(|(ip, port)| SocketAddr::new(IpAddr::V4(Ipv4Addr::from(ip)), port)),
        (any::<[u8; 16]>(), any::<u16>())
            .prop_map(|(ip, port)| SocketAddr::new(IpAddr::V6(Ipv6Addr::from(ip)), port)),
    ]
}

fn ext_fields() -> impl Strategy<Value = ExtFields> {
    // Non-empty keys and values: Java's binary header reads a zero-length string as null.
    proptest::collection::vec(("[a-zA-Z_]{1,12}", "\\PC{1,24}"), 0..8).prop_map(|pairs| {
        let mut ext = ExtFields::new();
        for (k, v) in pairs {
            ext.insert(k, v);
        }
        ext
    })
}

proptest! {
    #![proptest_config(round_trip())]

    #[test]
    fn commands_round_trip(
        code in -32768i32..32768,
        opaque in any::<i32>(),
        flag in 0i32..4,
        version in 0i32..1000,
        lang in 0u8..14,
        remark in proptest::option::of("\\PC{1,40}"),
        ext in proptest::option::of(ext_fields()),
        body in proptest::option::of(proptest::collection::vec(any::<u8>(), 1..64)),
        binary in any::<bool>(),
    ) {
        let serialize_type = if binary { SerializeType::RocketMq } else { SerializeType::Json };
        // The binary format cannot tell an empty map from none.
        let ext_fields = match ext {
            Some(e) if binary && e.is_empty() => None,
            other => other,
        };
        let cmd = RemotingCommand {
            code,
            language: LanguageCode::from_code(lang).unwrap(),
            version,
            opaque,
            flag,
            remark,
            ext_fields,
            body: body.map(Bytes::from),
            body_parts: Vec::new(),
            serialize_type,
        };
        let bytes = frame::encode(&cmd).unwrap();
        let mut buf = BytesMut::from(&bytes[..]);
        let f = frame::split(&mut buf).unwrap().unwrap();
        prop_assert!(buf.is_empty());
        prop_assert_eq!(frame::decode(f).unwrap(), cmd);
    }

    #[test]
    fn records_round_trip(
        born in socket_addr(),
        store in socket_addr(),
        scalars in any::<(i32, i32, i64, i64, i64, i64, i32, i64)>(),
        sys_flag in any::<i32>(),
        body in proptest::collection::vec(any::<u8>(), 0..256),
        topic in "[a-zA-Z0-9_%|-]{1,127}",
        properties in "\\PC{0,64}",
        v2 in any::<bool>(),
    ) {
        let (queue_id, flag, queue_offset, physical_offset, born_ts, store_ts, reconsume, prepared) = scalars;
        let record = MessageRecord {
            header: RecordHeader {
                version: if v2 { MessageVersion::V2 } else { MessageVersion::V1 },
                body_crc: ferrocket_common::crc::body_crc(&body),
                queue_id, flag, queue_offset, physical_offset,
                sys_flag,
                born_timestamp: born_ts, born_host: born,
                store_timestamp: store_ts, store_host: store,
                reconsume_times: reconsume, prepared_transaction_offset: prepared,
            },
            body: Bytes::from(body),
            topic,
            properties,
        };
        let bytes = Bytes::from(record.view().encode_to_vec().unwrap());
        let decoded = MessageRecord::decode(&bytes, true).unwrap();
        let mut expected = record.clone();
        expected.header.sys_flag = record.view().effective_sys_flag();
        prop_assert_eq!(&decoded, &expected);
        prop_assert_eq!(decoded.view().encode_to_vec().unwrap(), bytes.to_vec());
    }

    #[test]
    fn typed_headers_round_trip(
        a in "\\PC{1,20}", b in "[a-zA-Z0-9_-]{1,20}", d in any::<i32>(), e in any::<i32>(), g in any::<i64>(),
        i in proptest::option::of("\\PC{1,30}"), m in proptest::option::of(any::<bool>()),
        q in any::<(i32, i64, i32, i32, i64, i64, i64)>(), sub in proptest::option::of("\\PC{1,20}"),
    ) {
        let send = SendMessageRequestHeaderV2 {
            a, b, c: "TBW102".into(), d, e, f: 0, g, h: 0, i, j: None, k: None, l: None, m, n: None,
        };
        let mut ext = ExtFields::new();
        send.write_to(&mut ext);
        prop_assert_eq!(SendMessageRequestHeaderV2::read_from(&ext).unwrap(), send);

        let (queue_id, queue_offset, max_msg_nums, sys_flag, commit_offset, suspend, sub_version) = q;
        let pull = PullMessageRequestHeader {
            consumer_group: "G".into(), topic: "T".into(), queue_id, queue_offset, max_msg_nums, sys_flag,
            commit_offset, suspend_timeout_millis: suspend, subscription: sub, sub_version,
            expression_type: Some("TAG".into()), bname: None,
        };
        let mut ext = ExtFields::new();
        pull.write_to(&mut ext);
        prop_assert_eq!(PullMessageRequestHeader::read_from(&ext).unwrap(), pull);
    }

    #[test]
    fn batches_and_ids_round_trip(
        items in proptest::collection::vec((any::<i32>(), proptest::collection::vec(any::<u8>(), 0..64), "\\PC{0,32}"), 0..8),
        addr in socket_addr(), offset in any::<i64>(),
    ) {
        let views: Vec<batch::BatchItem<'_>> = items.iter().map(|(flag, body, props)| batch::BatchItem {
            flag: *flag, body, properties: props,
        }).collect();
        let encoded = batch::encode(&views).unwrap();
        prop_assert_eq!(batch::decode(&encoded).unwrap(), views);
        let id = OffsetMessageId::new(addr, offset);
        prop_assert_eq!(OffsetMessageId::decode(&id.encode()).unwrap(), id);
    }

    #[test]
    fn json_values_round_trip(v in json_value()) {
        let text = json::to_string(&v);
        prop_assert_eq!(json::parse(text.as_bytes()).unwrap(), v);
    }
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        (-1e9f64..1e9).prop_map(Value::Float),
        "\\PC{0,16}".prop_map(Value::Str),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec(
                (
                    prop_oneof![
                        "\\PC{0,8}".prop_map(Value::Str),
                        any::<i64>().prop_map(Value::Int)
                    ],
                    inner
                ),
                0..6
            )
            .prop_map(Value::Object),
        ]
    })
}

/// Ext fields over the send header's keys (both forms, repeated, missing or malformed) plus an
/// unknown one.
fn send_header_fields() -> impl Strategy<Value = Vec<(String, String)>> {
    let key = prop::sample::select(vec![
        "a",
        "b",
        "c",
        "d",
        "e",
        "f",
        "g",
        "h",
        "i",
        "j",
        "k",
        "l",
        "m",
        "n",
        "producerGroup",
        "topic",
        "defaultTopic",
        "defaultTopicQueueNums",
        "queueId",
        "sysFlag",
        "bornTimestamp",
        "flag",
        "properties",
        "reconsumeTimes",
        "unitMode",
        "maxReconsumeTimes",
        "batch",
        "bname",
        "other",
    ]);
    let value = prop_oneof![
        "-?[0-9]{1,3}",
        Just("true".to_owned()),
        Just("x".to_owned()),
        Just("99999999999".to_owned()),
    ];
    prop::collection::vec((key.prop_map(str::to_owned), value), 0..40)
}

proptest! {
    #![proptest_config(round_trip())]

    /// The borrowed send header reads exactly what the owned one reads, errors included.
    #[test]
    fn the_borrowed_send_header_reads_as_the_owned_one(
        fields in send_header_fields(),
        code in prop::sample::select(vec![
            RequestCode::SEND_MESSAGE,
            RequestCode::SEND_MESSAGE_V2,
            RequestCode::SEND_BATCH_MESSAGE,
        ]),
    ) {
        let mut cmd = RemotingCommand::request(code);
        for (k, v) in &fields {
            cmd.ext_mut().push(k, v);
        }
        let borrowed = SendMessageRequestHeaderRef::from_command(&cmd).map(|h| h.to_owned_header());
        prop_assert_eq!(borrowed, SendMessageRequestHeader::from_command(&cmd));
    }
}

#[test]
fn a_complete_send_header_reads_the_same_both_ways() {
    // The generator above rarely fills all eight required fields; one case that does.
    let mut cmd = RemotingCommand::request(RequestCode::SEND_MESSAGE_V2);
    for (k, v) in [
        ("a", "PG"),
        ("b", "T"),
        ("c", "TBW102"),
        ("d", "4"),
        ("e", "1"),
        ("f", "0"),
        ("g", "1795243747973"),
        ("h", "0"),
        ("i", "TAGS\u{1}A"),
        ("j", "x"),
        ("j", "2"),
        ("j", "y"),
        ("m", "TRUE"),
        ("n", "broker-a"),
    ] {
        cmd.ext_mut().push(k, v);
    }
    let borrowed = SendMessageRequestHeaderRef::from_command(&cmd).unwrap();
    assert_eq!(
        borrowed.reconsume_times,
        Some(2),
        "an unparseable later value is skipped"
    );
    assert_eq!(borrowed.batch, Some(true));
    assert_eq!(
        borrowed.to_owned_header(),
        SendMessageRequestHeader::from_command(&cmd).unwrap()
    );
}
