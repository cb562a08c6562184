//! The Ferrocket broker: request handlers over the message store.
//!
//! [`Broker`] holds the shared state (configuration, store, topics) and routes each request
//! code to a handler in [`handlers`]; [`run`] opens the store, serves a listener, keeps the
//! broker registered with every name server and, on shutdown, unregisters, flushes and
//! closes the store cleanly.

mod broker;
pub mod config;
mod config_file;
pub mod handlers;
pub mod topic_config;

pub use broker::Broker;
pub use config::BrokerConfig;

use ferrocket_remoting::{RemotingServer, ServerConfig};
use ferrocket_store::{MessageStore, StoreError};
use std::future::Future;
use std::sync::Arc;
use tokio::net::TcpListener;

#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("cannot open the store at {path}: {source}")]
    Store {
        path: String,
        #[source]
        source: StoreError,
    },
}

/// Opens the store of `config` (recovering it if needed).
pub fn open_store(config: &BrokerConfig) -> Result<Arc<MessageStore>, BrokerError> {
    let (store, report) =
        MessageStore::open(config.store.clone()).map_err(|source| BrokerError::Store {
            path: config.store.root_dir.display().to_string(),
            source,
        })?;
    tracing::info!(
        store = %config.store.root_dir.display(),
        records = report.records,
        crashed = report.previous_run_crashed,
        "store opened"
    );
    Ok(Arc::new(store))
}

/// Serves the broker on `listener` until `shutdown` resolves, then unregisters from the name
/// servers, stops serving and shuts the store down cleanly.
pub async fn run(
    listener: TcpListener,
    config: BrokerConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), BrokerError> {
    let store = open_store(&config)?;
    let broker = Broker::new(config, store.clone());
    serve(broker, listener, shutdown).await;
    store.shutdown().map_err(|source| BrokerError::Store {
        path: "store".into(),
        source,
    })
}

/// As [`run`] with a broker the caller built (tests, embedding); does not close the store.
pub async fn serve(broker: Arc<Broker>, listener: TcpListener, shutdown: impl Future<Output = ()>) {
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, broker = %broker.config.broker_addr(), "broker listening");
    }
    let registration = tokio::spawn(broker.clone().registration_loop());
    RemotingServer::new(broker.router(), ServerConfig::default())
        .run(listener, shutdown)
        .await;
    registration.abort();
    broker.unregister_all().await;
}
