//! `mqnamesrv [-c namesrv.conf] [-p]`: runs a Ferrocket name server.

use ferrocket_cli::{init_logging, load_properties_file, shutdown_signal, Flags};
use ferrocket_namesrv::NamesrvConfig;
use std::process::ExitCode;

const USAGE: &str = "usage: mqnamesrv [-c namesrv.conf] [-p]
  -c FILE  read Java-style properties (listenPort, kvConfigPath, orderMessageEnable, ...)
  -p       print the effective configuration and exit";

fn main() -> ExitCode {
    let flags = Flags::from_args_or_exit("mqnamesrv", USAGE);
    let mut config = NamesrvConfig::default();
    if let Some(path) = &flags.config_file {
        if let Err(e) = load_properties_file("mqnamesrv", path, |k, v| config.set(k, v)) {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    }
    if flags.print_config {
        print!("{}", config.to_properties());
        return ExitCode::SUCCESS;
    }
    init_logging();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("mqnamesrv: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let addr = format!("0.0.0.0:{}", config.listen_port);
        let listener = match tokio::net::TcpListener::bind(&addr).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("mqnamesrv: cannot listen on {addr}: {e}");
                return ExitCode::FAILURE;
            }
        };
        tracing::info!(
            "The Name Server boot success. listening on {addr}, kv config {}",
            config.kv_config_path.display()
        );
        match ferrocket_namesrv::run(listener, config, shutdown_signal()).await {
            Ok(()) => {
                tracing::info!("name server stopped");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("mqnamesrv: {e}");
                ExitCode::FAILURE
            }
        }
    })
}
