//! The `minhu` binary's subcommands as a library: the binary parses the command line
//! and calls in here, and `minhu-bench` opens, fills and serves a city through the same
//! functions (`server::open_engine`, `server::app_state`, `demo::write_city`), so a
//! benchmark measures exactly what `minhu serve` runs.

pub mod admin;
mod backup;
pub mod calendar;
mod citizen;
pub mod classifier;
pub mod demo;
mod demo_province;
pub mod import;
pub mod kb;
pub mod server;
pub mod ticket;

use std::path::PathBuf;

/// Runs a binary's job as both `minhu` and `minhu-bench` do: logs on standard error
/// ([`init_logs`]), reqwest's TLS on ring, a multi-threaded runtime; an error is
/// printed with its causes and the exit status is 1.
pub fn run(job: impl Future<Output = anyhow::Result<()>>) -> std::process::ExitCode {
    // Held until the job ends: dropping it writes out the log lines still queued.
    let _logs = match init_logs() {
        Ok(guard) => guard,
        Err(error) => {
            eprintln!("error: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    // Before any HTTP client is built (the notifiers', the benches'): reqwest's rustls
    // needs a crypto provider and this build carries only ring.
    minhu_notify::tls::install_default_provider();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    match runtime.block_on(job) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Where the city's configuration and data live; shared by most subcommands.
#[derive(clap::Args, Clone, Debug)]
pub struct Place {
    /// The city configuration directory (city.toml, regions.toml, units.toml, taxonomy.csv, duties.toml).
    #[arg(long, env = "MINHU_CONFIG", default_value = "demo/city")]
    pub config: PathBuf,
    /// sqlite://PATH (default: DATA_DIR/minhu.db) or postgres://USER@HOST/DB.
    #[arg(long, env = "MINHU_DATABASE_URL")]
    pub database: Option<String>,
    /// Where the SQLite file and attachments are kept.
    #[arg(long, env = "MINHU_DATA_DIR", default_value = "minhu-data")]
    pub data_dir: PathBuf,
    /// A classifier trained by `minhu train`: routing then reads categories from the text.
    #[arg(long, env = "MINHU_MODEL")]
    pub model: Option<PathBuf>,
}

impl Place {
    pub fn database_url(&self) -> String {
        self.database
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("minhu.db").display()))
    }
}

/// The log on standard error: filtered by `MINHU_LOG` (default `warn,minhu=info`; the
/// access log is the target `minhu::access`), as text or, with `MINHU_LOG_FORMAT=json`,
/// one JSON object a line for a log collector. Colours only on a terminal, so a file
/// or a journal gets no escape codes.
///
/// Lines are written by a thread of their own: with an access line per request, a
/// write to standard error on every request's thread (a system call under the stream's
/// lock) cost SQLite intake 5-15% of its throughput. The queue never drops a line; a
/// full queue makes the logging thread wait. The returned guard writes out what is
/// still queued when dropped, so the caller holds it until the program ends.
pub fn init_logs() -> anyhow::Result<tracing_appender::non_blocking::WorkerGuard> {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_env("MINHU_LOG")
        .unwrap_or_else(|_| "warn,minhu=info".into());
    let format = std::env::var("MINHU_LOG_FORMAT").unwrap_or_default();
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("minhu-log")
        .finish(std::io::stderr());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(std::io::stderr().is_terminal());
    match format.as_str() {
        "" | "text" => logs.init(),
        "json" => logs.json().flatten_event(true).init(),
        other => {
            anyhow::bail!("MINHU_LOG_FORMAT: {other:?} is not a log format; write text or json")
        }
    }
    Ok(guard)
}
