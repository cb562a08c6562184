//! Codec speed: frame decode + typed header parse of a 1 KiB SEND_MESSAGE_V2 in both header
//! formats, response encode, and message record encode/decode.
//!
//! `cargo bench -p ferrocket-protocol --bench codec`

use bytes::{Bytes, BytesMut};
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use ferrocket_common::record::{MessageRecord, RecordHeader, RecordView};
use ferrocket_protocol::header::{
    SendMessageRequestHeader, SendMessageRequestHeaderV2, SendMessageResponseHeader,
};
use ferrocket_protocol::{frame, RemotingCommand, RequestCode, ResponseCode, SerializeType};

fn send_v2_frame(serialize: SerializeType) -> Vec<u8> {
    // The header a 4.9.8 Java producer sends (golden capture), with a 1 KiB body.
    let header = SendMessageRequestHeaderV2 {
        a: "please_rename_unique_group_name".into(),
        b: "TopicTest".into(),
        c: "TBW102".into(),
        d: 4,
        e: 1,
        f: 0,
        g: 1_795_243_747_973,
        h: 0,
        i: Some("KEYS\u{1}OrderID188\u{2}UNIQ_KEY\u{1}7F0000015AEB1DBD16A668765D9800F9\u{2}WAIT\u{1}true\u{2}TAGS\u{1}TagA".into()),
        j: Some(0),
        k: Some(false),
        l: None,
        m: Some(false),
        n: Some("broker-a".into()),
    };
    let mut cmd = RemotingCommand::request_with_header(RequestCode::SEND_MESSAGE_V2, &header);
    cmd.serialize_type = serialize;
    cmd.opaque = 12345;
    cmd.body = Some(Bytes::from(vec![b'x'; 1024]));
    frame::encode(&cmd).unwrap()
}

fn decode_send(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode_send_v2_1KiB");
    group.throughput(Throughput::Elements(1));
    for (name, serialize) in [
        ("rocketmq_header", SerializeType::RocketMq),
        ("json_header", SerializeType::Json),
    ] {
        let wire = send_v2_frame(serialize);
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut buf = BytesMut::from(black_box(&wire[..]));
                let f = frame::split(&mut buf).unwrap().unwrap();
                let cmd = frame::decode(f).unwrap();
                let header = SendMessageRequestHeader::from_command(&cmd).unwrap();
                black_box((header.queue_id, cmd.body.as_ref().map(Bytes::len)))
            })
        });
    }
    group.finish();
}

fn encode_response(c: &mut Criterion) {
    let mut group = c.benchmark_group("encode_send_response");
    group.throughput(Throughput::Elements(1));
    for (name, serialize) in [
        ("rocketmq_header", SerializeType::RocketMq),
        ("json_header", SerializeType::Json),
    ] {
        let mut out = Vec::with_capacity(512);
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut resp = RemotingCommand::response_with_header(
                    ResponseCode::SUCCESS,
                    &SendMessageResponseHeader {
                        msg_id: "7F00000100002A9F00000000000004B8".into(),
                        queue_id: 1,
                        queue_offset: 42,
                        transaction_id: None,
                    },
                );
                resp.ext_mut().push("MSG_REGION", "DefaultRegion");
                resp.ext_mut().push("TRACE_ON", "true");
                resp.serialize_type = serialize;
                out.clear();
                frame::encode_prefix(&resp, &mut out).unwrap();
                black_box(out.len())
            })
        });
    }
    group.finish();
}

fn records(c: &mut Criterion) {
    let body = Bytes::from(vec![b'y'; 1024]);
    let record = MessageRecord {
        header: RecordHeader {
            body_crc: ferrocket_common::crc::body_crc(&body),
            queue_id: 1,
            queue_offset: 100,
            physical_offset: 1 << 30,
            born_timestamp: 1_795_243_747_973,
            born_host: "10.0.0.5:51234".parse().unwrap(),
            store_timestamp: 1_795_243_747_980,
            store_host: "10.0.0.1:10911".parse().unwrap(),
            ..RecordHeader::default()
        },
        body,
        topic: "TopicTest".into(),
        properties: "KEYS\u{1}OrderID188\u{2}UNIQ_KEY\u{1}7F0000015AEB1DBD16A668765D9800F9\u{2}CLUSTER\u{1}DefaultCluster\u{2}TAGS\u{1}TagA".into(),
    };
    let encoded = record.view().encode_to_vec().unwrap();
    let mut group = c.benchmark_group("record_1KiB");
    group.throughput(Throughput::Bytes(encoded.len() as u64));
    let mut out = Vec::with_capacity(2048);
    group.bench_function("encode", |b| {
        b.iter(|| {
            out.clear();
            black_box(&record).view().encode_into(&mut out).unwrap();
            black_box(out.len())
        })
    });
    group.bench_function("decode_verify_crc", |b| {
        b.iter(|| {
            black_box(
                RecordView::decode(black_box(&encoded), true)
                    .unwrap()
                    .header
                    .queue_offset,
            )
        })
    });
    group.bench_function("decode_no_crc", |b| {
        b.iter(|| {
            black_box(
                RecordView::decode(black_box(&encoded), false)
                    .unwrap()
                    .header
                    .queue_offset,
            )
        })
    });
    group.finish();
}

criterion_group!(benches, decode_send, encode_response, records);
criterion_main!(benches);
