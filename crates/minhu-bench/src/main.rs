//! `minhu-bench`: the rerunnable measurements behind the figures in BENCHMARKS.md, apart
//! from the product so that `minhu` carries no load generators. Each subcommand is one
//! file; what they share (opening the demo city as `minhu serve` does, the loopback
//! server, timing and percentiles) is in `harness`.

mod analytics;
mod cities;
mod classify;
mod day;
mod harness;
mod hotspot_list;
mod hotspots;
mod intake;
mod neighbours;
mod pages;
mod places;
mod search;
mod timers;
mod units;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "minhu-bench",
    version,
    about = "Load generators and measurements of 民呼 minhu (BENCHMARKS.md)"
)]
struct Cli {
    #[command(subcommand)]
    command: BenchCommand,
}

#[derive(Subcommand)]
enum BenchCommand {
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
        /// Then again with the demo province's cities configured, in the same run.
        #[arg(long)]
        province: bool,
    },
    /// A megacity's day replayed at high speed: every demand's whole life over HTTP on
    /// two `minhu serve` nodes, seats refreshing their pages, timers and notifications,
    /// on a database holding a year of history (filled once, kept for later runs).
    Day {
        /// The database (PostgreSQL, as a province runs it); kept between runs.
        #[arg(long)]
        database: String,
        /// Where the city, the nodes' data (search indexes, logs) are kept between runs.
        #[arg(long)]
        dir: std::path::PathBuf,
        /// Tickets of history the store holds before the day (filled up to it once).
        #[arg(long, default_value_t = 10_000_000)]
        history: u64,
        /// Demands of the day (Beijing: about 66,000).
        #[arg(long, default_value_t = 66_000)]
        demands: usize,
        /// Wall-clock minutes the day's arrivals are spread over.
        #[arg(long, default_value_t = 6.0)]
        minutes: f64,
        /// Seats (agents, dispatchers, units, supervisors) refreshing their pages.
        #[arg(long, default_value_t = 300)]
        seats: usize,
        /// Seconds between two refreshes of one seat.
        #[arg(long, default_value_t = 15.0)]
        refresh: f64,
        /// `minhu serve` processes on the one database.
        #[arg(long, default_value_t = 2)]
        nodes: usize,
        /// Open tickets of the day before whose first timer falls due during the day.
        #[arg(long, default_value_t = 20_000)]
        due: usize,
        /// Requests in flight at once, all simulated people together.
        #[arg(long, default_value_t = 64)]
        hands: usize,
        /// The real messages (../shared/data): texts, hours of day, channels.
        #[arg(long, default_value = "../shared/data")]
        data: std::path::PathBuf,
        /// The `minhu` binary to run the nodes (default: beside this one).
        #[arg(long)]
        minhu: Option<std::path::PathBuf>,
    },
    /// Dashboard reads over the analytics rollups of many synthetic tickets: load time,
    /// then p50 and p99 of each analytics route over HTTP (the goal: under 300 ms), and
    /// the store's reads against the full daily table as a baseline.
    Analytics {
        /// Tickets to count (spread evenly over the days).
        #[arg(long, default_value_t = 1_000_000)]
        tickets: u64,
        /// Days of intake, ending on 2026-02-28 (1 to 3660).
        #[arg(long, default_value_t = 365, value_parser = clap::value_parser!(u32).range(1..=3660))]
        days: u32,
        /// Tickets first written through the store event by event (as the engine
        /// does), whose kept rollups are then checked against a recount from the log.
        #[arg(long, default_value_t = 2_000)]
        real: u64,
        /// Requests timed per route (after one warm-up; at least 1).
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..))]
        runs: u64,
        /// Database to measure against (default: a fresh SQLite file in a temporary
        /// directory). A PostgreSQL database should be empty and disposable.
        #[arg(long)]
        database: Option<String>,
        /// Keep the city and its SQLite store in this directory (default: a temporary
        /// one). A later run with the same directory (or database) finds the rollups
        /// loaded and measures them again.
        #[arg(long)]
        dir: Option<std::path::PathBuf>,
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
    /// Routing to a unit by its post read from the words, on the replying units mined
    /// from real replies (`bench/reply-units.py`): five folds, the share routed without
    /// a person and the share of those that reached the replying unit.
    Units {
        #[arg(long)]
        data: std::path::PathBuf,
        /// The unit confidences to report (routing takes a unit at or above one).
        #[arg(long, value_delimiter = ',', default_value = "0,0.5,0.7,0.8,0.9")]
        confidence: Vec<f32>,
    },
    /// The second and third level of the hand-labelled sample read by handled tickets
    /// (neighbours from the other folds' labels), beside the city's words.
    NeighbourLevels {
        /// The category model (trained on train.csv) that reads the first level.
        #[arg(long)]
        model: std::path::PathBuf,
        /// The sample with its texts (bench/sample-texts.py's output).
        #[arg(long)]
        sample: std::path::PathBuf,
        #[arg(long, env = "MINHU_CONFIG", default_value = "demo/city")]
        config: std::path::PathBuf,
        #[arg(long, default_value_t = 5)]
        folds: usize,
    },
    /// The first level of a holdout file: the model, the neighbours alone and the two
    /// together, both from the training file.
    NeighbourFirstLevel {
        #[arg(long)]
        train: std::path::PathBuf,
        #[arg(long)]
        holdout: std::path::PathBuf,
        /// Where the model trained for it is written.
        #[arg(long)]
        work: std::path::PathBuf,
    },
    /// A neighbour search and its votes per ticket on one core, with each number of
    /// handled tickets stored (the file's messages repeated), beside the first-level model.
    NeighbourSpeed {
        #[arg(long)]
        model: std::path::PathBuf,
        #[arg(long)]
        data: std::path::PathBuf,
        #[arg(long, env = "MINHU_CONFIG", default_value = "demo/city")]
        config: std::path::PathBuf,
        #[arg(long, value_delimiter = ',', default_value = "5000,100000")]
        stored: Vec<usize>,
        /// Tickets searched per size.
        #[arg(long, default_value_t = 2000)]
        queries: usize,
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
        /// Problems a person names (`topic = term term ...`, e.g.
        /// bench/hotspots-teddycup.txt): each matched with its best hotspot, with purity
        /// and coverage.
        #[arg(long)]
        reference: Option<std::path::PathBuf>,
    },
    /// The place reader on real messages placed by hand (bench/places-sample.csv):
    /// share placed, district precision, other cities recognised, reads per second.
    Places {
        /// The hand-checked sample (file, id, city, district, title).
        #[arg(long, default_value = "bench/places-sample.csv")]
        sample: std::path::PathBuf,
        /// The folder holding the sample's data files (teddycup2020/).
        #[arg(long)]
        data: std::path::PathBuf,
        #[arg(long, env = "MINHU_CONFIG", default_value = "demo/city")]
        config: std::path::PathBuf,
        /// Timed passes over the sample.
        #[arg(long, default_value_t = 50)]
        rounds: usize,
        /// Also read every message of this file (no labels): placed, another city, neither.
        #[arg(long)]
        messages: Option<std::path::PathBuf>,
        /// List the messages naming the city or a district that stay unplaced.
        #[arg(long)]
        unplaced: bool,
        /// List the messages naming the city or a district placed at the city itself
        /// (city-wide), to check by hand that they name nothing below it.
        #[arg(long)]
        city_wide: bool,
    },
    /// Which city of the province real messages are taken in for, against the city a
    /// person wrote for each (the places sample).
    Cities {
        /// The hand-checked samples (file, id, city, district, title), read one after
        /// the other: the places sample and its extension (bench/cities-sample.csv).
        #[arg(
            long,
            num_args = 1..,
            default_values = ["bench/places-sample.csv", "bench/cities-sample.csv"]
        )]
        sample: Vec<std::path::PathBuf>,
        /// The folder holding the sample's data files (teddycup2020/).
        #[arg(long)]
        data: std::path::PathBuf,
        /// The province's configuration directory.
        #[arg(long, default_value = "demo/province")]
        province: std::path::PathBuf,
    },
    /// The hotspot list kept by the engine's watch at a province's volume: a full
    /// pass, an incremental pass after new tickets, and the route's answer from the
    /// kept list against the list computed on request, in the same run.
    HotspotList {
        /// Tickets to store, over the default window and the one before (14 days).
        #[arg(long, default_value_t = 380_000)]
        tickets: usize,
        /// Tickets added before the incremental pass.
        #[arg(long, default_value_t = 300)]
        new: usize,
        /// Tickets added last, enough for the watch to group afresh (default: a tenth
        /// of `tickets`, and one; 0: no such pass).
        #[arg(long)]
        regroup_new: Option<usize>,
        /// Requests timed from the kept list (after one warm-up).
        #[arg(long, default_value_t = 100)]
        runs: usize,
        /// Requests timed on the path that computes the list (after one warm-up).
        #[arg(long, default_value_t = 5)]
        old_runs: usize,
        /// Keep the city and its SQLite store in this directory (default: a temporary
        /// one). A later run with the same directory and ticket count measures the
        /// stored tickets again without storing them anew (with the earlier runs' new
        /// tickets).
        #[arg(long)]
        dir: Option<std::path::PathBuf>,
    },
    /// The timer worker over many open tickets with deadlines: seeding rate, the cost
    /// of an idle tick and of a tick with a few timers due, and the time to fire `due`
    /// timers after a clock jump, checked to fire each exactly once.
    Timers {
        /// Open tickets to seed (each dispatched, with its timers).
        #[arg(long, default_value_t = 1_000_000)]
        tickets: usize,
        /// Timers made due at once by moving the clock.
        #[arg(long, default_value_t = 10_000)]
        due: usize,
        /// Idle ticks to time.
        #[arg(long, default_value_t = 200)]
        ticks: usize,
        /// Timer workers firing the due timers side by side.
        #[arg(long, default_value_t = 2)]
        workers: usize,
        /// Database to measure against (default: a fresh SQLite file in a temporary
        /// directory). A PostgreSQL database should be empty and disposable.
        #[arg(long)]
        database: Option<String>,
    },
    /// Page server time with many tickets stored: each role's page asked for over a
    /// loopback socket, p50 and p99 of `runs` (the goal: under 200 ms).
    Pages {
        /// Tickets to store (demo intakes, routed, over `days` of intake).
        #[arg(long, default_value_t = 1_000_000)]
        tickets: usize,
        #[arg(long, default_value_t = 30)]
        days: u32,
        /// Dispatched tickets then accepted (every other one also resolved).
        #[arg(long, default_value_t = 2_000)]
        handled: usize,
        /// Requests timed per page (after one warm-up).
        #[arg(long, default_value_t = 100)]
        runs: usize,
        /// Database to measure against (default: a fresh SQLite file in a temporary
        /// directory). A PostgreSQL database should be empty and disposable.
        #[arg(long)]
        database: Option<String>,
        /// Keep the city and its SQLite store in this directory (default: a temporary
        /// one). A later run with the same directory (or database) and ticket count
        /// measures the stored tickets again without storing them anew.
        #[arg(long)]
        dir: Option<std::path::PathBuf>,
        /// Serve the demo province (its thirteen cities) instead of the demo city; with
        /// the same --dir, the same tickets as a run without it.
        #[arg(long)]
        province: bool,
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
        /// Keep the store and the index in this directory (default: a temporary one).
        /// A later run with the same directory and ticket count reuses them, so a
        /// million tickets are generated and indexed once and searched many times.
        #[arg(long)]
        dir: Option<std::path::PathBuf>,
    },
}

async fn run(command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Intake {
            clients,
            tickets,
            database,
            province,
        } => crate::intake::run(clients, tickets, database, province).await,
        BenchCommand::Day {
            database,
            dir,
            history,
            demands,
            minutes,
            seats,
            refresh,
            nodes,
            due,
            hands,
            data,
            minhu,
        } => {
            let settings = crate::day::Settings {
                history,
                demands,
                minutes,
                seats,
                nodes,
                due,
                hands,
                refresh,
                data,
                minhu,
            };
            crate::day::run(settings, database, dir).await
        }
        BenchCommand::Analytics {
            tickets,
            days,
            real,
            runs,
            database,
            dir,
        } => {
            let load = crate::analytics::Load {
                tickets,
                days,
                real,
                runs: runs as usize,
            };
            crate::analytics::run(load, database, dir).await
        }
        BenchCommand::Classify {
            model,
            data,
            rounds,
        } => crate::classify::run(&model, &data, rounds),
        BenchCommand::Units { data, confidence } => crate::units::run(&data, &confidence),
        BenchCommand::NeighbourLevels {
            model,
            sample,
            config,
            folds,
        } => crate::neighbours::levels(&model, &sample, &config, folds),
        BenchCommand::NeighbourFirstLevel {
            train,
            holdout,
            work,
        } => crate::neighbours::first_level(&train, &holdout, &work),
        BenchCommand::NeighbourSpeed {
            model,
            data,
            config,
            stored,
            queries,
        } => crate::neighbours::speed(&model, &data, &config, &stored, queries),
        BenchCommand::Hotspots {
            data,
            config,
            days,
            top,
            reference,
        } => crate::hotspots::run(&data, &config, days, top, reference.as_deref()),
        BenchCommand::Places {
            sample,
            data,
            config,
            rounds,
            messages,
            unplaced,
            city_wide,
        } => crate::places::run(
            &sample,
            &data,
            &config,
            rounds,
            messages.as_deref(),
            crate::places::Listing {
                unplaced,
                city_wide,
            },
        ),
        BenchCommand::Cities {
            sample,
            data,
            province,
        } => crate::cities::run(&sample, &data, &province),
        BenchCommand::HotspotList {
            tickets,
            new,
            regroup_new,
            runs,
            old_runs,
            dir,
        } => {
            let settings = crate::hotspot_list::Settings {
                tickets,
                new,
                regroup_new: regroup_new.unwrap_or(tickets / 10 + 1),
                runs,
                old_runs,
            };
            crate::hotspot_list::run(settings, dir).await
        }
        BenchCommand::Timers {
            tickets,
            due,
            ticks,
            workers,
            database,
        } => crate::timers::run(tickets, due, ticks, workers, database).await,
        BenchCommand::Pages {
            tickets,
            days,
            handled,
            runs,
            database,
            dir,
            province,
        } => {
            let fill = crate::pages::Fill {
                tickets,
                days,
                handled,
            };
            crate::pages::run(fill, runs, database, dir, province).await
        }
        BenchCommand::Search {
            tickets,
            queries,
            scans,
            dir,
        } => crate::search::run(tickets, queries, scans, dir).await,
    }
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    minhu::run(run(cli.command))
}
