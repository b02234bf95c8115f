//! `minhu bench`: rerunnable measurements behind the figures in BENCHMARKS.md.

use clap::Subcommand;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Tickets created over HTTP by concurrent clients, with routing and a durable commit.
    Intake {
        /// Concurrent clients.
        #[arg(long, default_value_t = 32)]
        clients: usize,
        /// Tickets to create (after a warm-up of 500).
        #[arg(long, default_value_t = 20_000)]
        tickets: usize,
        /// Database to measure against (default: a fresh SQLite file in a temporary directory).
        /// A PostgreSQL database should be empty and disposable.
        #[arg(long)]
        database: Option<String>,
    },
    /// Dashboard queries over the analytics rollups of many synthetic tickets: load
    /// time and the median and worst of five runs of each query.
    Analytics {
        /// Tickets to count (spread evenly over the days).
        #[arg(long, default_value_t = 1_000_000)]
        tickets: u64,
        #[arg(long, default_value_t = 365)]
        days: u32,
        /// Tickets first written through the store event by event (as the engine
        /// does), whose kept rollups are then checked against a recount from the log.
        #[arg(long, default_value_t = 2_000)]
        real: u64,
        /// Database to measure against (default: a fresh SQLite file in a temporary
        /// directory). A PostgreSQL database should be empty and disposable.
        #[arg(long)]
        database: Option<String>,
    },
    /// Categories read by a trained model on one core, from labelled messages (the
    /// Teddy Cup columns): messages per second of CPU time, model size and peak memory.
    Classify {
        #[arg(long)]
        model: std::path::PathBuf,
        #[arg(long)]
        data: std::path::PathBuf,
        /// Passes over the messages (after one warm-up pass).
        #[arg(long, default_value_t = 5)]
        rounds: usize,
    },
    /// The hotspot list on real messages (e.g. the Teddy Cup 附件3 file, with likes):
    /// its top entries, to compare with the problems a person would name.
    Hotspots {
        #[arg(long)]
        data: std::path::PathBuf,
        #[arg(long, env = "MINHU_CONFIG", default_value = "demo/city")]
        config: std::path::PathBuf,
        /// The window: the last DAYS of the file (default: the whole file).
        #[arg(long)]
        days: Option<i64>,
        #[arg(long, default_value_t = 15)]
        top: usize,
    },
    /// Full-text search lists (`q`) at scale: index build rate and size, latency
    /// percentiles through the engine, and the store's LIKE scan on the same data.
    Search {
        /// Tickets to generate from the demo's real messages.
        #[arg(long, default_value_t = 1_000_000)]
        tickets: usize,
        /// Search lists to time.
        #[arg(long, default_value_t = 3_000)]
        queries: usize,
        /// How many of the same lists to time with the LIKE scan (slow: keep it small).
        #[arg(long, default_value_t = 20)]
        scans: usize,
    },
}

pub async fn run(command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Intake {
            clients,
            tickets,
            database,
        } => crate::bench_intake::run(clients, tickets, database).await,
        BenchCommand::Analytics {
            tickets,
            days,
            real,
            database,
        } => crate::bench_analytics::run(tickets, days, real, database).await,
        BenchCommand::Classify {
            model,
            data,
            rounds,
        } => crate::classifier::bench(&model, &data, rounds),
        BenchCommand::Hotspots {
            data,
            config,
            days,
            top,
        } => crate::bench_hotspots::run(&data, &config, days, top),
        BenchCommand::Search {
            tickets,
            queries,
            scans,
        } => crate::bench_search::run(tickets, queries, scans).await,
    }
}
