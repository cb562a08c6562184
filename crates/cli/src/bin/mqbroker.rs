//! `mqbroker [-c broker.conf] [-n "host:9876;host2:9876"] [-p]`: runs a Ferrocket broker.
//!
//! With no name server configured (no `-n`, no `namesrvAddr`, no `NAMESRV_ADDR`), it also
//! runs a name server on 9876 in the same process: one command gives a working system.

use ferrocket_broker::BrokerConfig;
use ferrocket_cli::{init_logging, load_properties_file, shutdown_signal, Flags};
use ferrocket_namesrv::NamesrvConfig;
use std::process::ExitCode;

const USAGE: &str = "usage: mqbroker [-c broker.conf] [-n \"host:9876;host2:9876\"] [-p]
  -c FILE  read Java broker.conf keys (brokerClusterName, brokerName, brokerId, brokerIP1,
           listenPort, namesrvAddr, storePathRootDir, flushDiskType, brokerRole,
           autoCreateTopicEnable, ...)
  -n ADDRS name servers; without one (nor NAMESRV_ADDR) an embedded name server runs on 9876
  -p       print the effective configuration and exit";

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("{message}");
    ExitCode::FAILURE
}

fn main() -> ExitCode {
    let flags = Flags::from_args_or_exit("mqbroker", USAGE);
    let mut config = BrokerConfig::default();
    config.store.root_dir = "store".into();
    if let Some(path) = &flags.config_file {
        if let Err(e) = load_properties_file("mqbroker", path, |k, v| config.set(k, v)) {
            return fail(e);
        }
        config.config_file = Some(path.into());
    }
    if let Err(e) = config.settle_broker_id() {
        return fail(format!("mqbroker: {e}"));
    }
    if config.namesrv_addr.is_none() {
        config.namesrv_addr = flags
            .namesrv_addr
            .clone()
            .or_else(|| std::env::var("NAMESRV_ADDR").ok())
            .filter(|a| !a.trim().is_empty());
    } else if let Some(addr) = &flags.namesrv_addr {
        config.namesrv_addr = Some(addr.clone());
    }
    if flags.print_config {
        for (k, v) in &config.properties {
            println!("{k}={v}");
        }
        println!("brokerAddr={}", config.broker_addr());
        println!(
            "namesrvAddr={}",
            config
                .namesrv_addr
                .as_deref()
                .unwrap_or("(embedded 127.0.0.1:9876)")
        );
        println!("storePathRootDir={}", config.store.root_dir.display());
        return ExitCode::SUCCESS;
    }
    init_logging();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => return fail(format!("mqbroker: cannot start the runtime: {e}")),
    };
    runtime.block_on(async move {
        // The broker stops first so that it can still unregister from the embedded name server.
        let (stop_broker, broker_stopping) = tokio::sync::watch::channel(false);
        let (stop_namesrv, namesrv_stopping) = tokio::sync::watch::channel(false);
        let wait = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|s| *s).await;
        };
        let mut embedded = None;
        if config.namesrv_addr.is_none() {
            let ns_config = NamesrvConfig::default();
            let addr = format!("0.0.0.0:{}", ns_config.listen_port);
            let listener = match tokio::net::TcpListener::bind(&addr).await {
                Ok(l) => l,
                Err(e) => {
                    return fail(format!(
                        "mqbroker: cannot start the embedded name server on {addr}: {e}"
                    ))
                }
            };
            tracing::info!("standalone: embedded name server listening on {addr}");
            config.namesrv_addr = Some(format!("127.0.0.1:{}", ns_config.listen_port));
            embedded = Some(tokio::spawn(ferrocket_namesrv::run(
                listener,
                ns_config,
                wait(namesrv_stopping),
            )));
        }
        let addr = format!("0.0.0.0:{}", config.listen_port);
        let listener = match tokio::net::TcpListener::bind(&addr).await {
            Ok(l) => l,
            Err(e) => return fail(format!("mqbroker: cannot listen on {addr}: {e}")),
        };
        let vip_addr = format!("0.0.0.0:{}", config.listen_port.saturating_sub(2));
        let vip = match tokio::net::TcpListener::bind(&vip_addr).await {
            Ok(l) => Some(l),
            Err(e) => {
                tracing::warn!("VIP channel not started, cannot listen on {vip_addr}: {e}");
                None
            }
        };
        let mut broker = tokio::spawn(ferrocket_broker::run(
            listener,
            vip,
            config,
            wait(broker_stopping),
        ));
        // The broker also ends by itself when it cannot start (a store locked by another
        // broker): the process then exits with its error instead of waiting for a signal.
        let result = tokio::select! {
            result = &mut broker => result,
            _ = shutdown_signal() => {
                tracing::info!("shutting down");
                let _ = stop_broker.send(true);
                broker.await
            }
        };
        let _ = stop_namesrv.send(true);
        if let Some(ns) = embedded {
            let _ = ns.await;
        }
        match result {
            Ok(Ok(())) => {
                tracing::info!("broker stopped cleanly");
                ExitCode::SUCCESS
            }
            Ok(Err(e)) => fail(format!("mqbroker: {e}")),
            Err(e) => fail(format!("mqbroker: {e}")),
        }
    })
}
