//! `mqbroker` processes that cannot start: each exits at once, non-zero, saying why.

mod support;

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use support::{free_port, Servers};

/// Runs `mqbroker -c conf` to its end, which must come within ten seconds.
fn run_broker(conf: &std::path::Path) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mqbroker"))
        .args(["-c", conf.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("mqbroker was still running after 10 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn a_second_broker_on_a_store_in_use_exits_with_the_reason() {
    let servers = Servers::start("mqbroker-lock");
    let conf = servers.dir.join("second.conf");
    std::fs::write(
        &conf,
        format!(
            "listenPort={}\nstorePathRootDir={}\nnamesrvAddr={}\n",
            free_port(),
            servers.dir.join("store").display(),
            servers.namesrv
        ),
    )
    .unwrap();
    let out = run_broker(&conf);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("store is in use"), "{stderr}");
    // It never claimed to have started (the log goes to stderr too).
    assert!(!stderr.contains("boot success"), "{stderr}");
}

#[test]
fn an_invalid_config_value_stops_the_start_with_the_key_named() {
    let dir = std::env::temp_dir().join(format!("ferrocket-badconf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("broker.conf");
    std::fs::write(&conf, "listenPort=eleven\n").unwrap();
    let out = run_broker(&conf);
    let _ = std::fs::remove_dir_all(&dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("listenPort"), "{stderr}");
}
