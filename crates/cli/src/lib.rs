//! Shared plumbing of the Ferrocket commands: argument reading, properties files, logging,
//! signals.
//! Each binary in `src/bin/` is a thin main over a server or client crate; `bench` holds
//! what `mqbench` measures with, `mqadmin` the admin tool's commands.

pub mod bench;
pub mod mqadmin;

/// Logs to stderr at INFO.
pub fn init_logging() {
    let _ = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// Reads a Java properties file into `apply(key, value)`; unknown keys warn, and the first
/// invalid value stops with the key named.
pub fn load_properties_file<E: std::fmt::Display>(
    command: &str,
    path: &str,
    mut apply: impl FnMut(&str, &str) -> Result<bool, E>,
) -> Result<(), String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("{command}: cannot read {path}: {e}"))?;
    for (key, value) in ferrocket_common::config_text::parse(&text) {
        match apply(&key, &value) {
            Ok(true) => {}
            Ok(false) => {
                eprintln!("{command}: warning: unknown configuration key `{key}` in {path}")
            }
            Err(e) => return Err(format!("{command}: {path}: {e}")),
        }
    }
    Ok(())
}

/// Command-line flags in the Java tools' style: `-c file`, `-p`, `-n addr`.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Flags {
    pub config_file: Option<String>,
    pub print_config: bool,
    pub namesrv_addr: Option<String>,
    pub help: bool,
}

impl Flags {
    /// Parses the process arguments; prints `usage` and exits for `-h` (status 0) or a bad
    /// argument (status 2).
    pub fn from_args_or_exit(command: &str, usage: &str) -> Flags {
        match Flags::parse(std::env::args().skip(1)) {
            Ok(f) if f.help => {
                println!("{usage}");
                std::process::exit(0);
            }
            Ok(f) => f,
            Err(e) => {
                eprintln!("{command}: {e}\n{usage}");
                std::process::exit(2);
            }
        }
    }

    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Flags, String> {
        let mut flags = Flags::default();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "-c" | "--configFile" => {
                    flags.config_file = Some(args.next().ok_or("-c needs a file")?)
                }
                "-n" | "--namesrvAddr" => {
                    flags.namesrv_addr = Some(args.next().ok_or("-n needs an address")?)
                }
                "-p" | "--printConfigItem" => flags.print_config = true,
                "-h" | "--help" => flags.help = true,
                other => return Err(format!("unknown argument `{other}`")),
            }
        }
        Ok(flags)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_java_style_flags() {
        let f = Flags::parse(["-c", "a.conf", "-p", "-n", "h:9876"].map(String::from)).unwrap();
        assert_eq!(f.config_file.as_deref(), Some("a.conf"));
        assert!(f.print_config);
        assert_eq!(f.namesrv_addr.as_deref(), Some("h:9876"));
        assert!(Flags::parse(["-x".to_string()]).is_err());
        assert!(Flags::parse(["-c".to_string()]).is_err());
    }
}
