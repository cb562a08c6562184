//! Real `mqnamesrv` and `mqbroker` processes on ephemeral loopback ports for the command
//! tests, killed when dropped.

// Each test crate compiles this module and uses only part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn free_port() -> u16 {
    // Above 2000 so that the broker's VIP port (port - 2) is a user port too.
    loop {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        if port > 2000 {
            return port;
        }
    }
}

pub struct Killed(Child);

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
/// landed: the broker opens its port before it registers, as Java's does, and a client that
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

/// A name server and a broker registered with it, with their files under `dir`.
pub struct Servers {
    pub dir: PathBuf,
    pub namesrv: String,
    pub broker: String,
    /// Stopped broker first, then the name server, then `dir` is removed.
    processes: Vec<Killed>,
}

impl Servers {
    pub fn start(name: &str) -> Servers {
        let dir = std::env::temp_dir().join(format!("ferrocket-{name}-{}", std::process::id()));
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
                 brokerIP1=127.0.0.1\nmappedFileSizeCommitLog=4194304\nmaxHashSlotNum=1024\nmaxIndexNum=8192\n",
                dir.join("store").display()
            ),
        )
        .unwrap();
        let namesrv = spawn(env!("CARGO_BIN_EXE_mqnamesrv"), &ns_conf);
        wait_port(ns_port);
        let broker = spawn(env!("CARGO_BIN_EXE_mqbroker"), &broker_conf);
        wait_port(broker_port);
        let namesrv_addr = format!("127.0.0.1:{ns_port}");
        wait_registered(&namesrv_addr);
        Servers {
            dir,
            namesrv: namesrv_addr,
            broker: format!("127.0.0.1:{broker_port}"),
            processes: vec![broker, namesrv],
        }
    }
}

impl Drop for Servers {
    fn drop(&mut self) {
        self.processes.clear();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
