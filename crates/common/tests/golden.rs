//! Golden tests of the message record against a CommitLog written by Apache RocketMQ 4.9.8,
//! and a byte-exact IPv6 vector built from the layout in message.md §1.

use bytes::Bytes;
use ferrocket_common::record::{peek, MessageRecord, Peek, RecordHeader, RecordView, MAGIC_V1};
use ferrocket_common::{crc, sysflag, tag};

const COMMITLOG: &[u8] =
    include_bytes!("../../../testdata/golden/store/commitlog/00000000000000000000");

#[test]
fn java_commitlog_decodes_and_reencodes_byte_exact() {
    let mut pos = 0;
    let mut count = 0;
    let mut committed = 0;
    let mut half = 0;
    while pos < COMMITLOG.len() {
        let Peek::Message { total_size } = peek(&COMMITLOG[pos..]) else {
            panic!("no record at {pos}");
        };
        let view = RecordView::decode(&COMMITLOG[pos..], true).unwrap();
        assert_eq!(
            view.header.physical_offset, pos as i64,
            "PHYSICALOFFSET is the file position"
        );
        assert_eq!(view.encoded_len(), total_size as usize);
        let again = view.encode_to_vec().unwrap();
        assert_eq!(&again[..], &COMMITLOG[pos..pos + total_size as usize]);
        // Properties written by 4.9.8 never end with a separator.
        assert!(!view.properties.ends_with('\u{2}'));
        // 4.x stores half messages as NOT type inside the half topic (message.md §9; the
        // golden README's "sysFlag 0x4" is wrong); committed ones carry COMMIT.
        match sysflag::transaction_type(view.header.sys_flag) {
            sysflag::TRANSACTION_COMMIT_TYPE => committed += 1,
            t => assert_eq!(t, sysflag::TRANSACTION_NOT_TYPE),
        }
        if view.topic == "RMQ_SYS_TRANS_HALF_TOPIC" {
            half += 1;
        }
        pos += total_size as usize;
        count += 1;
    }
    assert_eq!(pos, 76_048);
    assert_eq!(count, 370);
    assert_eq!((half, committed), (4, 2));
}

#[test]
fn java_consume_queue_tag_codes_match_our_hash() {
    const CQ: &[u8] = include_bytes!(
        "../../../testdata/golden/store/consumequeue/GoldenTopic/0/00000000000000000000"
    );
    assert_eq!(CQ.len() % 20, 0);
    for unit in CQ.chunks(20) {
        let offset = i64::from_be_bytes(unit[0..8].try_into().unwrap()) as usize;
        let size = i32::from_be_bytes(unit[8..12].try_into().unwrap()) as usize;
        let tags_code = i64::from_be_bytes(unit[12..20].try_into().unwrap());
        let record = RecordView::decode(&COMMITLOG[offset..offset + size], true).unwrap();
        assert_eq!(record.topic, "GoldenTopic");
        let tags = ferrocket_common::properties::find(record.properties, "TAGS");
        assert_eq!(tag::tags_code(tags), tags_code);
    }
}

#[test]
fn ipv6_pull_record_is_byte_exact() {
    let body = Bytes::from_static(b"v6");
    let record = MessageRecord {
        header: RecordHeader {
            body_crc: crc::body_crc(&body),
            queue_id: 1,
            flag: 0,
            queue_offset: 5,
            physical_offset: 0x1000,
            sys_flag: 0,
            born_timestamp: 0x0102_0304_0506_0708,
            born_host: "[fe80::1]:40000".parse().unwrap(),
            store_timestamp: 0x0A0B_0C0D_0E0F_1011,
            store_host: "[2001:db8::2]:10911".parse().unwrap(),
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            ..RecordHeader::default()
        },
        body: body.clone(),
        topic: "T6".into(),
        properties: "TAGS\u{1}A".into(),
    };
    #[rustfmt::skip]
    let expected: Vec<u8> = [
        &(91 + 24 + 2 + 2 + 6i32).to_be_bytes()[..],
        &MAGIC_V1.to_be_bytes(),
        &crc::body_crc(b"v6").to_be_bytes(),
        &1i32.to_be_bytes(), &0i32.to_be_bytes(),
        &5i64.to_be_bytes(), &0x1000i64.to_be_bytes(),
        &0x30i32.to_be_bytes(),
        &[1, 2, 3, 4, 5, 6, 7, 8],
        &[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], &40000i32.to_be_bytes(),
        &[0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F, 0x10, 0x11],
        &[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2], &10911i32.to_be_bytes(),
        &0i32.to_be_bytes(), &0i64.to_be_bytes(),
        &2i32.to_be_bytes(), b"v6",
        &[2], b"T6",
        &6i16.to_be_bytes(), b"TAGS\x01A",
    ].concat();
    let bytes = record.view().encode_to_vec().unwrap();
    assert_eq!(bytes, expected);
    let decoded = MessageRecord::decode(&Bytes::from(bytes), true).unwrap();
    assert_eq!(decoded.header.born_host, record.header.born_host);
    assert_eq!(decoded.header.sys_flag, 0x30);
    assert_eq!(decoded.offset_msg_id().encode().len(), 56);
}

/// Every properties string the Java broker stored is in Java `HashMap` order: parsing it and
/// writing it back in that order gives the same string, whatever order the pairs are added in
/// (only pairs sharing a bucket keep their relative order, and parsing keeps it).
#[test]
fn java_stored_properties_are_in_hash_map_order() {
    use ferrocket_common::properties::Properties;
    let mut pos = 0;
    let mut checked = 0;
    while pos < COMMITLOG.len() {
        let Peek::Message { total_size } = peek(&COMMITLOG[pos..]) else {
            panic!("no record at {pos}");
        };
        let view = RecordView::decode(&COMMITLOG[pos..], true).unwrap();
        let parsed = Properties::parse(view.properties);
        let names: std::collections::HashSet<_> = parsed.iter().map(|(k, _)| k).collect();
        // A batch's record is its message's own properties as the client wrote them, then
        // the batch's (`CLUSTER` and the header's), so a name may come twice; only the
        // batch's part is a map the broker wrote.
        let broker_written = if names.len() < parsed.len() {
            let at = view.properties.find("CLUSTER\u{1}").expect("batch part");
            &view.properties[at..]
        } else {
            view.properties
        };
        assert_eq!(
            Properties::parse(broker_written).encode_java_order(),
            broker_written,
            "record at {pos}"
        );
        if parsed.len() > 4 {
            checked += 1;
        }
        pos += total_size as usize;
    }
    assert!(
        checked > 20,
        "{checked} records with more than four properties"
    );
}
