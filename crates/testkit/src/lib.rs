//! Test-only helpers, shared by the integration tests of the name server, broker and client
//! crates: real name servers and brokers started in the test's process on ephemeral loopback
//! ports (stopped when dropped), temp directories removed when dropped, and plain messages
//! to put into a store.

use ferrocket_broker::{Broker, BrokerConfig};
use ferrocket_namesrv::{Namesrv, NamesrvConfig};
use ferrocket_store::MessageStore;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// A plain message for `topic`/`queue_id` as a producer would send it; the store fills in
/// offsets and timestamps.
pub fn put_message<'a>(
    topic: &'a str,
    queue_id: i32,
    body: &'a [u8],
    properties: &'a str,
) -> ferrocket_store::PutMessage<'a> {
    ferrocket_store::PutMessage {
        topic,
        queue_id,
        flag: 0,
        sys_flag: 0,
        born_timestamp: 1_700_000_000_000,
        born_host: "10.0.0.5:50000".parse().expect("an address"),
        store_host: "10.0.0.1:10911".parse().expect("an address"),
        reconsume_times: 0,
        prepared_transaction_offset: 0,
        body,
        properties,
    }
}

/// Decodes standard base64 (the golden corpus's `*_b64` fields); padding is optional.
pub fn base64(text: &str) -> Vec<u8> {
    let sextet = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a' + 26),
            b'0'..=b'9' => u32::from(c - b'0' + 52),
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {:?}", c as char),
        }
    };
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

/// A fresh directory under the system temp dir, unique in this process; removed on drop.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// `label` names the directory, to tell which test left it behind.
    pub fn new(label: &str) -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "ferrocket-{label}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("creating a temp dir");
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A server task that runs until the handle is stopped or dropped.
#[derive(Debug)]
struct StopOnDrop(Option<oneshot::Sender<()>>);

impl StopOnDrop {
    fn spawn<F: std::future::Future<Output = ()> + Send + 'static>(
        serve: impl FnOnce(oneshot::Receiver<()>) -> F,
    ) -> StopOnDrop {
        let (stop, stopped) = oneshot::channel();
        tokio::spawn(serve(stopped));
        StopOnDrop(Some(stop))
    }

    fn stop(&mut self) {
        if let Some(stop) = self.0.take() {
            let _ = stop.send(());
        }
    }
}

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A name server's settings with its files (KV config, config store) inside `dir`.
pub fn namesrv_config(dir: &Path) -> NamesrvConfig {
    NamesrvConfig {
        kv_config_path: dir.join("kvConfig.json"),
        config_store_path: dir.join("namesrv.properties"),
        ..NamesrvConfig::default()
    }
}

/// A name server serving on a loopback port until dropped.
#[derive(Debug)]
pub struct NameServer {
    pub addr: String,
    _server: StopOnDrop,
}

impl NameServer {
    pub async fn start(config: NamesrvConfig) -> NameServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("binding");
        let addr = listener.local_addr().expect("bound address").to_string();
        let namesrv = Namesrv::new(config.clone()).expect("starting the name server");
        let server = StopOnDrop::spawn(|stopped| {
            ferrocket_namesrv::serve(namesrv, listener, config, async {
                let _ = stopped.await;
            })
        });
        NameServer {
            addr,
            _server: server,
        }
    }
}

/// A broker serving on a loopback port until stopped or dropped.
#[derive(Debug)]
pub struct RunningBroker {
    pub addr: String,
    pub store: Arc<MessageStore>,
    server: StopOnDrop,
}

impl RunningBroker {
    /// Binds a loopback port, makes it the config's `listen_port`, lets `configure` set the
    /// rest (name server, store directory, sizes …) and starts the broker on that store.
    pub async fn start(configure: impl FnOnce(&mut BrokerConfig)) -> RunningBroker {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("binding");
        let port = listener.local_addr().expect("bound address").port();
        let mut config = BrokerConfig {
            listen_port: port,
            ..BrokerConfig::default()
        };
        configure(&mut config);
        let (store, holds) = ferrocket_broker::open_store(&config).expect("opening the store");
        let broker = Broker::new(config, store.clone(), holds);
        let server = StopOnDrop::spawn(|stopped| {
            ferrocket_broker::serve(broker, listener, None, async {
                let _ = stopped.await;
            })
        });
        RunningBroker {
            addr: format!("127.0.0.1:{port}"),
            store,
            server,
        }
    }

    /// Stops serving (the broker unregisters from its name servers).
    pub fn stop(&mut self) {
        self.server.stop();
    }
}
