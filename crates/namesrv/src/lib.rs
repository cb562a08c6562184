//! The Ferrocket name server: the registry brokers report to and clients ask for routes.
//!
//! [`route_table`] holds the state (clusters, brokers, topic queues, liveness), [`kv_config`]
//! the persisted KV configuration, [`handlers`] answers each request code as the Java name
//! server does, and [`run`] serves it on a listener with the broker-expiry scan. Name servers
//! never talk to each other: brokers register with every one of them.

pub mod config;
mod config_file;
pub mod handlers;
pub mod kv_config;
pub mod route_table;

pub use config::NamesrvConfig;
pub use handlers::Namesrv;

use ferrocket_remoting::{RemotingServer, ServerConfig};
use std::future::Future;
use std::sync::Arc;
use tokio::net::TcpListener;

/// Serves the name server on `listener` until `shutdown` resolves.
pub async fn run(
    listener: TcpListener,
    config: NamesrvConfig,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let namesrv = Namesrv::new(config.clone())?;
    serve(namesrv, listener, config, shutdown).await;
    Ok(())
}

/// As [`run`], with a name server the caller keeps a handle to (tests, embedding).
pub async fn serve(
    namesrv: Arc<Namesrv>,
    listener: TcpListener,
    config: NamesrvConfig,
    shutdown: impl Future<Output = ()>,
) {
    let scanner = {
        let namesrv = namesrv.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(config.scan_interval);
            tick.tick().await;
            loop {
                tick.tick().await;
                namesrv.expire_brokers(config.broker_expiry);
            }
        })
    };
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "name server listening");
    }
    RemotingServer::new(namesrv.router(), ServerConfig::default())
        .run(listener, shutdown)
        .await;
    scanner.abort();
}
