//! `mqbroker` under SYNC_FLUSH is killed with SIGKILL while producers send; restarted, it
//! serves every message it acknowledged. Bounded: 3 rounds of a few hundred milliseconds.

mod support;

use ferrocket_common::record::MessageRecord;
use ferrocket_protocol::header::*;
use ferrocket_protocol::{RemotingCommand, RequestCode, ResponseCode};
use ferrocket_remoting::{ClientConfig, RemotingClient, Router};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(5);
const QUEUES: i32 = 4;

fn start_broker(conf: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_mqbroker"))
        .args(["-c", conf.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

async fn wait_until_serving(client: &RemotingClient, addr: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let probe = RemotingCommand::request(RequestCode::GET_BROKER_RUNTIME_INFO);
        if let Ok(r) = client.invoke(addr, probe, Duration::from_millis(500)).await {
            if r.response_code() == ResponseCode::SUCCESS {
                return;
            }
        }
        assert!(Instant::now() < deadline, "broker never came up");
        client.close_channel(addr).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn send_request(queue_id: i32, body: String) -> RemotingCommand {
    let header = SendMessageRequestHeaderV2 {
        a: "PG".into(),
        b: "KillTopic".into(),
        c: "TBW102".into(),
        d: QUEUES,
        e: queue_id,
        f: 0,
        g: 1,
        h: 0,
        i: Some("TAGS\u{1}T".into()),
        j: None,
        k: None,
        l: None,
        m: None,
        n: None,
    };
    RemotingCommand::request_with_header(RequestCode::SEND_MESSAGE_V2, &header)
        .with_body(body.into_bytes())
}

async fn pull_all(client: &RemotingClient, addr: &str, queue_id: i32) -> BTreeMap<i64, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut offset = 0;
    loop {
        let req = RemotingCommand::request_with_header(
            RequestCode::PULL_MESSAGE,
            &PullMessageRequestHeader::with_subscription(
                "Verifier",
                "KillTopic",
                queue_id,
                offset,
                32,
                "*",
            ),
        );
        let resp = client.invoke(addr, req, T).await.unwrap();
        if resp.response_code() != ResponseCode::SUCCESS {
            return out;
        }
        for r in MessageRecord::decode_all(resp.body.as_ref().unwrap(), true).unwrap() {
            out.insert(r.header.queue_offset, r.body.to_vec());
        }
        offset = resp
            .decode_header::<PullMessageResponseHeader>()
            .unwrap()
            .next_begin_offset;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_flush_acknowledged_messages_survive_kill_9() {
    let dir = std::env::temp_dir().join(format!("ferrocket-kill9-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let port = support::free_port();
    let addr = format!("127.0.0.1:{port}");
    let conf = dir.join("broker.conf");
    std::fs::write(
        &conf,
        format!(
            "listenPort={port}\nstorePathRootDir={}\nflushDiskType=SYNC_FLUSH\nmappedFileSizeCommitLog=1048576\n\
             namesrvAddr=127.0.0.1:1\nmaxHashSlotNum=1024\nmaxIndexNum=8192\n",
            dir.join("store").display()
        ),
    )
    .unwrap();

    let mut acked: Vec<(i32, i64, String)> = Vec::new();
    let mut seq = 0u64;
    for round in 0..3 {
        let mut broker = start_broker(&conf);
        let client = RemotingClient::new(ClientConfig::default(), Router::new());
        wait_until_serving(&client, &addr).await;

        // Everything acknowledged before is still there, byte for byte.
        for q in 0..QUEUES {
            let stored = pull_all(&client, &addr, q).await;
            for (queue, offset, body) in acked.iter().filter(|(queue, _, _)| *queue == q) {
                assert_eq!(
                    stored.get(offset).map(Vec::as_slice),
                    Some(body.as_bytes()),
                    "round {round}: queue {queue} offset {offset} lost"
                );
            }
        }

        // Send from 8 tasks for a while, then SIGKILL mid-stream.
        let deadline = Instant::now() + Duration::from_millis(300 + 100 * round);
        let mut tasks = Vec::new();
        for t in 0..8 {
            let client = client.clone();
            let addr = addr.clone();
            let start_seq = seq + t * 1_000_000;
            tasks.push(tokio::spawn(async move {
                let mut acked = Vec::new();
                let mut n = start_seq;
                while Instant::now() < deadline {
                    let q = (n % QUEUES as u64) as i32;
                    let body = format!("round {round} message {n}");
                    match client.invoke(&addr, send_request(q, body.clone()), T).await {
                        Ok(r) if r.response_code() == ResponseCode::SUCCESS => {
                            let h: SendMessageResponseHeader = r.decode_header().unwrap();
                            acked.push((h.queue_id, h.queue_offset, body));
                        }
                        _ => break,
                    }
                    n += 1;
                }
                acked
            }));
        }
        tokio::time::sleep(Duration::from_millis(150 + 100 * round)).await;
        broker.kill().unwrap(); // SIGKILL
        broker.wait().unwrap();
        for t in tasks {
            acked.extend(t.await.unwrap());
        }
        seq += 10_000_000;
        client.shutdown().await;
    }
    assert!(
        acked.len() > 10,
        "only {} messages acknowledged",
        acked.len()
    );

    // A final start checks the last round too, then a clean stop.
    let mut broker = start_broker(&conf);
    let client = RemotingClient::new(ClientConfig::default(), Router::new());
    wait_until_serving(&client, &addr).await;
    for q in 0..QUEUES {
        let stored = pull_all(&client, &addr, q).await;
        for (_, offset, body) in acked.iter().filter(|(queue, _, _)| *queue == q) {
            assert_eq!(
                stored.get(offset).map(Vec::as_slice),
                Some(body.as_bytes()),
                "final: queue {q} offset {offset} lost"
            );
        }
    }
    println!("{} acknowledged messages survived 3 SIGKILLs", acked.len());
    client.shutdown().await;
    broker.kill().unwrap();
    broker.wait().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
