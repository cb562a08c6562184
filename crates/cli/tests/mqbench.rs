//! `mqbench produce` and `mqbench consume` against real `mqnamesrv` and `mqbroker` processes:
//! both finish on their own, and their JSON reports account for every message.

mod support;

use std::process::Command;

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
    let servers = support::Servers::start("mqbench");
    let (dir, namesrv) = (&servers.dir, &servers.namesrv);
    let produce_report = dir.join("produce.json");
    let out = bench(&[
        "produce",
        "--namesrv",
        namesrv,
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
        namesrv,
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
        namesrv,
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
}
