//! The `aperture` binary: parse the command line, load config, run.

use std::process::ExitCode;

use aperture::cli::{self, Cli, Command};
use aperture::config::{CliOverrides, Validation};
use aperture::server::threads;
use aperture::{App, telemetry};
use clap::Parser;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve { config, listen } => {
            let overrides = CliOverrides { listen };
            let config = match cli::load_config(config.as_deref(), &overrides, Validation::Full) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::from(2);
                }
            };
            telemetry::init(&config.telemetry);
            // This thread only waits for signals; the serving threads run their own
            // runtimes (`aperture::server::threads`).
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("cannot start the async runtime: {e}");
                    return ExitCode::FAILURE;
                }
            };
            runtime.block_on(run(config))
        }
        Command::Sign {
            source,
            options,
            extension,
            base64,
            config,
        } => {
            // signing reads no source: the local root need not exist here
            let overrides = CliOverrides::default();
            let config =
                match cli::load_config(config.as_deref(), &overrides, Validation::SkipLocalRoot) {
                    Ok(c) => c,
                    Err(e) => {
                        eprintln!("{e}");
                        return ExitCode::from(2);
                    }
                };
            match cli::sign(&config, &source, &options, extension.as_deref(), base64) {
                Ok(path) => {
                    println!("{path}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("aperture sign: {e}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Convert {
            input,
            output,
            options,
        } => match cli::convert(&input, &output, &options) {
            Ok(v) => {
                println!(
                    "{}: {}x{} {}, {} bytes",
                    output.display(),
                    v.width,
                    v.height,
                    v.format.extension(),
                    v.bytes.len()
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("aperture convert: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Health { addr, config } => health(addr, config),
    }
}

/// `aperture health`: the address given, else the one `serve` would listen on.
fn health(addr: Option<String>, config: Option<std::path::PathBuf>) -> ExitCode {
    let overrides = CliOverrides { listen: addr };
    // only the listen address is used: the local root need not exist here
    let listen = match cli::load_config(config.as_deref(), &overrides, Validation::SkipLocalRoot) {
        Ok(c) => c.server.listen,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    match cli::health(listen, std::time::Duration::from_secs(3)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("aperture health: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(config: aperture::Config) -> ExitCode {
    let listen = config.server.listen;
    let app = match App::new(config) {
        Ok(app) => app,
        Err(e) => {
            eprintln!("configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    let listeners = match threads::bind(listen, app.config.server.io_threads) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("server.listen (APERTURE_LISTEN): cannot listen on {listen}: {e}");
            return ExitCode::from(2);
        }
    };
    let addr = listeners[0].local_addr().unwrap_or(listen);
    let example = cli::signed_path(&app.signer, "local:///sunset.jpg", "raw:1", None, false);
    tracing::info!("aperture listening on http://{addr}");
    println!("aperture listening on http://{addr}");
    println!("{}", cli::try_line(addr, &example));
    if let Err(e) = threads::serve_per_core(listeners, app, shutdown_signal()).await {
        eprintln!("aperture: serving failed: {e}");
        return ExitCode::FAILURE;
    }
    tracing::info!("aperture stopped");
    ExitCode::SUCCESS
}

/// Resolves on SIGTERM or SIGINT (Ctrl-C).
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown signal received");
}
