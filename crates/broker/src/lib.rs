//! The Ferrocket broker: request handlers over the message store.
//!
//! [`Broker`] holds the shared state (configuration, store, topics, consumer offsets,
//! subscription groups, clients, held pulls) and routes each request code to a handler in
//! [`handlers`]; delayed messages and consumers' retries wait in the schedule until
//! [`schedule`] delivers them, stored in the form Java stores them ([`redirect`]);
//! consumers' SQL92 subscriptions are kept compiled in [`consumer_filter`] and applied to
//! pulls by [`message_filter`];
//! transactions' half messages wait in their own queue until END_TRANSACTION or a check-back
//! settles them ([`transaction`], [`transaction_check`]);
//! [`run`] opens the store, serves a listener, keeps the broker registered with
//! every name server and, on shutdown, answers held pulls, persists its tables, unregisters
//! and closes the store cleanly.

mod broker;
pub mod config;
mod config_file;
pub mod consumer_filter;
pub mod consumers;
pub mod handlers;
pub mod locks;
pub mod long_poll;
pub mod message_filter;
pub mod offsets;
pub mod redirect;
pub mod schedule;
pub mod stats;
pub mod topic_config;
pub mod transaction;
pub mod transaction_check;

pub use broker::Broker;
pub use config::BrokerConfig;

use ferrocket_remoting::{RemotingServer, ServerConfig};
use ferrocket_store::{MessageStore, StoreError};
use long_poll::PullHolds;
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

/// Opens the store of `config` (recovering it if needed), with its arrival hook feeding the
/// returned hold table for long polling.
pub fn open_store(
    config: &BrokerConfig,
) -> Result<(Arc<MessageStore>, Arc<PullHolds>), BrokerError> {
    let (mut store, report) =
        MessageStore::open(config.store.clone()).map_err(|source| BrokerError::Store {
            path: config.store.root_dir.display().to_string(),
            source,
        })?;
    let holds = Arc::new(PullHolds::default());
    let hook_holds = holds.clone();
    store.on_arrival(Arc::new(move |topic, queue_id, max| {
        hook_holds.arrived(topic, queue_id, max)
    }));
    tracing::info!(
        store = %config.store.root_dir.display(),
        records = report.records,
        crashed = report.previous_run_crashed,
        "store opened"
    );
    Ok((Arc::new(store), holds))
}

/// Serves the broker on `listener` (and the VIP channel on `vip`, if given) until `shutdown`
/// resolves, then stops cleanly.
pub async fn run(
    listener: TcpListener,
    vip: Option<TcpListener>,
    config: BrokerConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), BrokerError> {
    let (store, holds) = open_store(&config)?;
    // Java's start line, once the store is open: a store that fails to open is no boot.
    tracing::info!(
        "The broker[{}, {}] boot success. listening on {}, store at {}, name server {}",
        config.broker_name,
        config.broker_addr(),
        listener
            .local_addr()
            .map_or_else(|e| e.to_string(), |a| a.to_string()),
        config.store.root_dir.display(),
        config.namesrv_addr.as_deref().unwrap_or("")
    );
    let broker = Broker::new(config, store.clone(), holds);
    serve(broker, listener, vip, shutdown).await;
    store.shutdown().map_err(|source| BrokerError::Store {
        path: "store".into(),
        source,
    })
}

/// As [`run`] with a broker the caller built (tests, embedding); does not close the store.
pub async fn serve(
    broker: Arc<Broker>,
    listener: TcpListener,
    vip: Option<TcpListener>,
    shutdown: impl Future<Output = ()>,
) {
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, broker = %broker.boot_config.broker_addr(), "broker listening");
    }
    let registration = tokio::spawn(broker.clone().registration_loop());
    let housekeeping = tokio::spawn(broker.clone().housekeeping_loop());
    let sampling = tokio::spawn(broker.clone().stats_sampling_loop());
    let scheduling = tokio::spawn(schedule::delivery_loop(broker.clone()));
    let checking = tokio::spawn(transaction_check::check_loop(broker.clone()));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let vip_server = vip.map(|vip| {
        if let Ok(addr) = vip.local_addr() {
            tracing::info!(%addr, "VIP channel listening (no pulls)");
        }
        tokio::spawn(
            RemotingServer::new(broker.vip_router(), ServerConfig::default())
                .run(vip, stopped(stop_rx.clone())),
        )
    });
    let stopping = broker.clone();
    let main_shutdown = async move {
        shutdown.await;
        // Held pulls answer now, so the servers' grace period is not spent waiting on them.
        stopping.begin_stop();
        let _ = stop_tx.send(true);
    };
    RemotingServer::new(broker.router(), ServerConfig::default())
        .run(listener, main_shutdown)
        .await;
    if let Some(vip) = vip_server {
        let _ = vip.await;
    }
    registration.abort();
    housekeeping.abort();
    sampling.abort();
    scheduling.abort();
    checking.abort();
    // The last writes of offsets, groups and topics, fsync'd: off the runtime.
    let persisting = broker.clone();
    if let Err(e) = tokio::task::spawn_blocking(move || persisting.persist()).await {
        tracing::error!("persisting configs at shutdown failed: {e}");
    }
    broker.unregister_all().await;
}
