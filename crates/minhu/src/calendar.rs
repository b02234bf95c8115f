//! `minhu calendar`: the city's business calendar from the command line.
//!
//! `minhu calendar due --tier T --from ISO8601 [--city C]` answers "when is a ticket of
//! this tier due if handed to a unit at this moment?" with exactly the rule the
//! workflow uses ([`minhu_core::City::deadlines`]), so that people and scripts can check
//! deadlines across holidays. Scripts rely on its contract: the due moment, ISO 8601
//! with the city's offset, is the last line of the output.

use anyhow::{Context, anyhow};
use jiff::Timestamp;
use minhu_core::deadline::{Allowance, TierCode};
use std::path::{Path, PathBuf};

#[derive(clap::Subcommand)]
pub enum CalendarCommand {
    /// Print when a ticket of a tier is due if dispatched at a moment; the last line is
    /// the due moment (ISO 8601 with the city's offset).
    Due {
        /// The tier's code, as in city.toml (e.g. 7d).
        #[arg(long)]
        tier: String,
        /// The start, ISO 8601 with an offset or Z (e.g. 2025-09-30T10:00+08:00).
        #[arg(long)]
        from: String,
        /// The city configuration directory.
        #[arg(long, env = "MINHU_CONFIG", default_value = "demo/city")]
        city: PathBuf,
    },
}

pub fn run(command: CalendarCommand) -> anyhow::Result<()> {
    match command {
        CalendarCommand::Due { tier, from, city } => due(&tier, &from, &city),
    }
}

fn due(tier: &str, from: &str, dir: &Path) -> anyhow::Result<()> {
    let city = minhu_config::load_city(dir)?;
    let tier = city.tier(&TierCode(tier.to_owned())).ok_or_else(|| {
        anyhow!(
            "--tier {tier:?} is not a tier of {}; its tiers are {}",
            city.name,
            city.tier_codes()
        )
    })?;
    let start: Timestamp = from.parse().with_context(|| {
        format!(
            "--from {from:?} is not an ISO 8601 moment with an offset or Z \
             (e.g. 2025-09-30T10:00+08:00)"
        )
    })?;
    let due = city.deadlines(tier, start);
    let local = |at: Timestamp| {
        let zoned = at.to_zoned(city.timezone.clone());
        zoned
            .timestamp()
            .display_with_offset(zoned.offset())
            .to_string()
    };
    if let Allowance::WorkingDays(_) = tier.resolve_within {
        let missing = city
            .calendar
            .uncovered_years(city.local_date(start), city.local_date(due.resolve_by));
        if !missing.is_empty() {
            let years: Vec<String> = missing.iter().map(i16::to_string).collect();
            eprintln!(
                "warning: calendar.toml has no holidays for {}; working days there count Monday to Friday only",
                years.join(", ")
            );
        }
    }
    println!(
        "tier {} ({}): respond within {} by {}, resolve within {} from {}",
        tier.code.as_str(),
        tier.label,
        tier.respond_within,
        local(due.respond_by),
        tier.resolve_within,
        local(start)
    );
    println!("{}", local(due.resolve_by));
    Ok(())
}
