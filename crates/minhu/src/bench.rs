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
}

pub async fn run(command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Intake {
            clients,
            tickets,
            database,
        } => crate::bench_intake::run(clients, tickets, database).await,
    }
}
