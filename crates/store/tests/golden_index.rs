//! Golden test: indexing the CommitLog that Apache RocketMQ 4.9.8 wrote must produce the
//! same index file bytes as the Java broker did (header, slot table head, every item).

use ferrocket_common::properties;
use ferrocket_common::record::{peek, Peek, RecordView};
use ferrocket_store::index::{IndexConfig, IndexService, HEADER_SIZE};
use ferrocket_store::{DelayLevels, DispatchRequest};

const COMMITLOG: &[u8] =
    include_bytes!("../../../testdata/golden/store/commitlog/00000000000000000000");
const HEADER: &[u8] =
    include_bytes!("../../../testdata/golden/store/index/20261121064907923.header40");
const HEAD_64K: &[u8] =
    include_bytes!("../../../testdata/golden/store/index/20261121064907923.head64k");
const ENTRIES: &[u8] =
    include_bytes!("../../../testdata/golden/store/index/20261121064907923.entries");

#[test]
fn java_commitlog_indexes_to_java_index_bytes() {
    let dir = std::env::temp_dir().join(format!("ferrocket-golden-index-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let service = IndexService::open(dir.clone(), IndexConfig::default()).unwrap();
    let mut pos = 0;
    while pos < COMMITLOG.len() {
        let Peek::Message { total_size } = peek(&COMMITLOG[pos..]) else {
            panic!("record expected at {pos}")
        };
        let v = RecordView::decode(&COMMITLOG[pos..], true).unwrap();
        service
            .build(&DispatchRequest::from_record(
                &v,
                pos as u64,
                DelayLevels::java_default(),
            ))
            .unwrap();
        pos += total_size as usize;
    }
    service.flush().unwrap();
    let file = std::fs::read_dir(&dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    assert_eq!(std::fs::metadata(&file).unwrap().len(), 420_000_040);
    let read_at = |at: usize, len: usize| {
        use std::io::{Read, Seek, SeekFrom};
        let mut f = std::fs::File::open(&file).unwrap();
        f.seek(SeekFrom::Start(at as u64)).unwrap();
        let mut buf = vec![0u8; len];
        f.read_exact(&mut buf).unwrap();
        buf
    };
    assert_eq!(&read_at(0, HEADER_SIZE)[..], HEADER, "header");
    assert_eq!(&read_at(0, HEAD_64K.len())[..], HEAD_64K, "slot table head");
    let items_at = HEADER_SIZE + 5_000_000 * 4;
    assert_eq!(&read_at(items_at, ENTRIES.len())[..], ENTRIES, "items");
    // And lookups find what Java indexed: the 8 GoldenTopic keys gk0..gk7.
    let (hits, last_ts, last_phy) = service.query("GoldenTopic", "gk3", 32, 0, i64::MAX);
    assert_eq!(hits.len(), 1);
    let found = RecordView::decode(&COMMITLOG[hits[0] as usize..], true).unwrap();
    assert_eq!(properties::find(found.properties, "KEYS"), Some("gk3"));
    assert_eq!((last_ts, last_phy), (1_795_243_809_671, 75_848));
    drop(service);
    let _ = std::fs::remove_dir_all(&dir);
}
