//! `mqbench produce` and `mqbench consume` against real `mqnamesrv` and `mqbroker` processes:
//! both finish on their own, and their JSON reports account for every message.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    // Above 2000 so that the broker's VIP port (port - 2) is a user port too.
    loop {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        if port > 2000 {
            return port;
        }
    }
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(bin: &str, conf: &Path) -> Killed {
    Killed(
        Command::new(bin)
            .args(["-c", conf.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

fn wait_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "port {port} never opened");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits until the name server routes TBW102, i.e. until the broker's first registration has
/// landed: the broker opens its port before it registers, as Java's does, and a producer that
/// asks for a route in between is told that no name server knows the topic.
fn wait_registered(namesrv: &str) {
    use ferrocket_protocol::header::GetRouteInfoRequestHeader;
    use ferrocket_protocol::{RemotingCommand, RequestCode, ResponseCode};
    use ferrocket_remoting::{ClientConfig, RemotingClient, Router};

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let client = RemotingClient::new(ClientConfig::default(), Router::new());
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let req = RemotingCommand::request_with_header(
                RequestCode::GET_ROUTEINFO_BY_TOPIC,
                &GetRouteInfoRequestHeader {
                    topic: "TBW102".into(),
                    accept_standard_json_only: None,
                },
            );
            let answer = client.invoke(namesrv, req, Duration::from_secs(2)).await;
            if matches!(&answer, Ok(r) if r.response_code() == ResponseCode::SUCCESS) {
                return;
            }
            assert!(Instant::now() < deadline, "the broker never registered");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
}

fn field(report: &str, key: &str) -> f64 {
    let at = report
        .find(&format!("\"{key}\":"))
        .unwrap_or_else(|| panic!("{key} in {report}"));
    let rest = &report[at + key.len() + 3..];
    let end = rest.find([',', '}']).unwrap();
    rest[..end].parse().unwrap()
}

fn bench(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_mqbench"))
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "mqbench {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn produce_then_consume_against_real_servers() {
    let dir = std::env::temp_dir().join(format!("ferrocket-mqbench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (ns_port, broker_port) = (free_port(), free_port());
    let ns_conf = dir.join("namesrv.conf");
    std::fs::write(
        &ns_conf,
        format!(
            "listenPort={ns_port}\nkvConfigPath={}\n",
            dir.join("kv.json").display()
        ),
    )
    .unwrap();
    let broker_conf = dir.join("broker.conf");
    std::fs::write(
        &broker_conf,
        format!(
            "listenPort={broker_port}\nstorePathRootDir={}\nnamesrvAddr=127.0.0.1:{ns_port}\n\
             mappedFileSizeCommitLog=4194304\nmaxHashSlotNum=1024\nmaxIndexNum=8192\n",
            dir.join("store").display()
        ),
    )
    .unwrap();
    let _namesrv = spawn(env!("CARGO_BIN_EXE_mqnamesrv"), &ns_conf);
    wait_port(ns_port);
    let _broker = spawn(env!("CARGO_BIN_EXE_mqbroker"), &broker_conf);
    wait_port(broker_port);
    let namesrv = format!("127.0.0.1:{ns_port}");
    wait_registered(&namesrv);
    let produce_report = dir.join("produce.json");
    let out = bench(&[
        "produce",
        "--namesrv",
        &namesrv,
        "--topic",
        "BenchT",
        "--size",
        "256",
        "--concurrency",
        "4",
        "--count",
        "400",
        "--duration",
        "30",
        "--report",
        produce_report.to_str().unwrap(),
    ]);
    assert!(out.contains("send latency"), "{out}");
    let report = std::fs::read_to_string(&produce_report).unwrap();
    let sent = field(&report, "ok");
    assert!(sent >= 400.0, "{report}");
    assert_eq!(field(&report, "failed"), 0.0, "{report}");
    assert!(field(&report, "p99_us") > 0.0, "{report}");

    let batch_report = dir.join("batch.json");
    bench(&[
        "produce",
        "--namesrv",
        &namesrv,
        "--topic",
        "BenchT",
        "--mode",
        "batch",
        "--batch-size",
        "10",
        "--count",
        "100",
        "--duration",
        "30",
        "--report",
        batch_report.to_str().unwrap(),
    ]);
    let batched = field(&std::fs::read_to_string(&batch_report).unwrap(), "ok");
    assert!(batched >= 100.0);

    // The warm-up send of each run is stored too.
    let total = sent + batched + 2.0;
    let consume_report = dir.join("consume.json");
    bench(&[
        "consume",
        "--namesrv",
        &namesrv,
        "--topic",
        "BenchT",
        "--group",
        "bench_group",
        "--from",
        "first",
        "--count",
        &total.to_string(),
        "--duration",
        "30",
        "--report",
        consume_report.to_str().unwrap(),
    ]);
    let report = std::fs::read_to_string(&consume_report).unwrap();
    assert!(field(&report, "consumed") >= total, "{report}");
    let _ = std::fs::remove_dir_all(&dir);
}
