//! `minhu`: one binary for every job - serving the platform, building a demo city,
//! importing historical demands and administering accounts. The load generators are
//! apart, in `minhu-bench`.

use clap::{Parser, Subcommand};
use minhu::{Place, admin, calendar, classifier, demo, import, kb, server, ticket};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "minhu",
    version,
    about = "民呼 minhu: the citizen-demand platform behind a 12345 hotline"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API and the web pages.
    Serve {
        #[command(flatten)]
        place: Place,
        /// Address to listen on.
        #[arg(long, env = "MINHU_LISTEN", default_value = "127.0.0.1:8080")]
        listen: String,
        #[command(flatten)]
        connections: server::ConnectionArgs,
    },
    /// Build a demo city (A市) with a few thousand real demands at every stage, and serve it.
    Demo {
        #[arg(long, default_value_t = 8080)]
        port: u16,
        #[arg(long, default_value = "minhu-demo")]
        data_dir: PathBuf,
        /// Rebuild even if the data directory already holds a demo.
        #[arg(long)]
        fresh: bool,
        #[command(flatten)]
        connections: server::ConnectionArgs,
    },
    /// Import demands from CSV or XLSX files (Teddy Cup, Fuzhou 12345 or NYC 311 columns).
    Import {
        #[command(flatten)]
        place: Place,
        /// The files to import.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Administration: users and configuration checks.
    Admin {
        #[command(subcommand)]
        command: admin::AdminCommand,
    },
    /// Train the category classifier on labelled messages (Teddy Cup columns, CSV or XLSX),
    /// or with --from-store on the store's resolved and closed tickets.
    Train {
        #[arg(
            long,
            required_unless_present = "from_store",
            conflicts_with = "from_store"
        )]
        data: Option<PathBuf>,
        /// Where to write the model. With --from-store it defaults to a new versioned
        /// file DATA_DIR/models/category-<UTC time>.bin.
        #[arg(long, required_unless_present = "from_store")]
        out: Option<PathBuf>,
        /// Seed for the training order: the same data and seed give the same model.
        #[arg(long, default_value_t = 20_201_111)]
        seed: u64,
        /// Learn from the store (--database or --data-dir) instead of a file: each
        /// resolved or closed ticket, labelled with the category it ended with (after a
        /// dispatcher's corrections), if the city's taxonomy (--config) has it.
        #[arg(long)]
        from_store: bool,
        /// With --from-store: how many handled tickets, the newest, to keep beside the
        /// model as neighbours (they read the lower levels and the unit).
        #[arg(long, default_value_t = minhu::classifier::NEIGHBOURS_KEPT)]
        neighbours: usize,
        #[command(flatten)]
        place: Place,
    },
    /// Score a trained classifier on labelled messages; the last line is
    /// `macro_f1=... accuracy=... n=...` (of the first level).
    Eval {
        #[arg(long)]
        model: PathBuf,
        #[arg(long)]
        data: PathBuf,
        /// Also read the levels below the first as routing does, with this city's
        /// taxonomy and categories.toml, and score each level the file labels (二级分类,
        /// 三级分类) and the share taken automatically at the city's confidences.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// The knowledge base: import, export, evaluate retrieval.
    Kb {
        #[command(subcommand)]
        command: kb::KbCommand,
    },
    /// Read a ticket or act on it.
    Ticket {
        #[command(subcommand)]
        command: ticket::TicketCommand,
    },
    /// The business calendar: deadlines across weekends and public holidays.
    Calendar {
        #[command(subcommand)]
        command: calendar::CalendarCommand,
    },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    minhu::run(async move {
        match cli.command {
            Command::Serve {
                place,
                listen,
                connections,
            } => server::serve(&place, &listen, &connections).await,
            Command::Demo {
                port,
                data_dir,
                fresh,
                connections,
            } => demo::run(port, &data_dir, fresh, connections.options()).await,
            Command::Import { place, files } => import::run(&place, &files).await,
            Command::Admin { command } => admin::run(command).await,
            Command::Train {
                data,
                out,
                seed,
                from_store,
                neighbours,
                place,
            } => match (data, out) {
                (Some(data), Some(out)) if !from_store => classifier::train(&data, &out, seed),
                (_, out) => classifier::train_from_store(&place, out.as_deref(), seed, neighbours)
                    .await
                    .map(|_| ()),
            },
            Command::Eval {
                model,
                data,
                config,
            } => classifier::eval(&model, &data, config.as_deref()),
            Command::Calendar { command } => calendar::run(command),
            Command::Ticket { command } => ticket::run(command).await,
            Command::Kb { command } => kb::run(command).await,
        }
    })
}
