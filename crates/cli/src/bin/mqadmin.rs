//! `mqadmin <command> [options]`: Apache RocketMQ's admin commands against Ferrocket (or
//! Apache RocketMQ) name servers and brokers. `mqadmin` alone lists the commands.

use ferrocket_cli::mqadmin::{self, CommandError};
use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("mqadmin: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut out = String::new();
    let result = runtime.block_on(mqadmin::run(&args, &mut out));
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(out.as_bytes());
    let _ = stdout.flush();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(CommandError::Usage(message)) => {
            eprintln!("mqadmin: {message}");
            if let Some(command) = args.first().and_then(|n| mqadmin::find(n)) {
                eprint!("{}", mqadmin::options::help(command.name, command.options));
            }
            ExitCode::from(2)
        }
        Err(CommandError::Failed(message)) => {
            let name = args.first().map_or("mqadmin", String::as_str);
            eprintln!("mqadmin {name} command failed: {message}");
            ExitCode::FAILURE
        }
    }
}
