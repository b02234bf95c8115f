//! `minhu import`: historical demands from CSV/XLSX files become tickets, each at its
//! original time, with its reply where the file has one. Re-running an import never
//! duplicates: every row carries an idempotency key made from its source id.

use crate::Place;
use jiff::Timestamp;
use minhu_core::deadline::TierCode;
use minhu_core::event::{Actor, SystemPart};
use minhu_core::taxonomy::CategoryPath;
use minhu_core::ticket::{Channel, Citizen, GeoPoint, Intake, Kind, Status, Ticket};
use minhu_core::workflow::Command;
use minhu_core::{City, ManualClock};
use minhu_engine::{Engine, EngineError};
use minhu_import::{ImportRow, Layout, Reader};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// An engine whose clock is set to each historical moment before acting.
pub struct Replayer {
    pub engine: Engine,
    pub clock: Arc<ManualClock>,
}

impl Replayer {
    pub async fn open(place: &Place) -> anyhow::Result<Self> {
        let clock = Arc::new(ManualClock::new(Timestamp::now()));
        let engine = crate::server::open_engine(place, clock.clone()).await?;
        Ok(Self { engine, clock })
    }

    pub async fn act_at(
        &self,
        at: Timestamp,
        ticket: &Ticket,
        command: Command,
        actor: Actor,
    ) -> Result<Ticket, EngineError> {
        self.clock.set(at);
        self.engine.act(&ticket.number, command, actor).await
    }
}

/// A first tier from what the citizen wanted; routing raises it when the text holds one
/// of a more urgent tier's words (city.toml).
pub fn tier_for(kind: Kind, city: &City) -> TierCode {
    let wanted = match kind {
        Kind::Help => "24h",
        Kind::Complaint | Kind::Report => "7d",
        _ => "15d",
    };
    let code = TierCode(wanted.into());
    if city.tier(&code).is_some() {
        code
    } else {
        city.default_tier.clone()
    }
}

/// Reads what the citizen wanted from the wording when the source does not say.
pub fn guess_kind(title: &str, description: &str) -> Kind {
    let text = format!("{title} {description}");
    let has = |words: &[&str]| words.iter().any(|w| text.contains(w));
    if has(&["举报", "偷税", "违法经营"]) {
        Kind::Report
    } else if has(&["表扬", "感谢", "点赞"]) && !has(&["投诉"]) {
        Kind::Praise
    } else if has(&["建议", "希望政府", "能否考虑"]) {
        Kind::Suggestion
    } else if title.contains("咨询")
        || title.contains("请问")
        || title.ends_with('？')
        || title.ends_with('?')
    {
        Kind::Consultation
    } else if has(&["求助", "救助", "帮帮"]) {
        Kind::Help
    } else {
        Kind::Complaint
    }
}

/// The channel an export's source column names (电话, 微信, e福州app, 网站 ...); a row
/// without one came by import.
pub fn channel_of(text: Option<&str>) -> Channel {
    let Some(text) = text else {
        return Channel::Import;
    };
    let lower = text.to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| lower.contains(w));
    if has(&["电话", "phone", "热线"]) {
        Channel::Phone
    } else if has(&["微信", "wechat"]) {
        Channel::Wechat
    } else if has(&["app", "mobile"]) {
        Channel::App
    } else if has(&["邮", "email", "e-mail"]) {
        Channel::Email
    } else if has(&["网", "online", "web", "portal"]) {
        Channel::Web
    } else {
        Channel::from_name(text).unwrap_or(Channel::Import)
    }
}

/// A title for rows that have only a body: its first clause, at most 30 characters.
fn title_from(description: &str) -> String {
    let first = description
        .split(['。', '，', '！', '？', '\n', ',', '.'])
        .next()
        .unwrap_or(description);
    first.chars().take(30).collect()
}

pub fn local(at: jiff::civil::DateTime, city: &City) -> Option<Timestamp> {
    at.to_zoned(city.timezone.clone())
        .ok()
        .map(|z| z.timestamp())
}

/// The intake of one row, or why the row cannot become a ticket.
pub fn intake_from_row(row: &ImportRow, layout: Layout, city: &City) -> Result<Intake, String> {
    let title = if row.title.trim().is_empty() {
        title_from(&row.description)
    } else {
        row.title.clone()
    };
    let description = if row.description.trim().is_empty() {
        title.clone()
    } else {
        row.description.clone()
    };
    let category = match &row.category {
        None => None,
        Some(name) => {
            let path = CategoryPath::new(name);
            if !city.taxonomy.contains(&path) {
                return Err(format!(
                    "category {name:?} (一级分类/二级分类/三级分类) is not in the taxonomy"
                ));
            }
            Some(path)
        }
    };
    let kind = match &row.kind {
        Some(name) => Kind::from_name(name)
            .ok_or_else(|| format!("性质 {name:?} is not a kind ({})", Kind::codes()))?,
        None => guess_kind(&title, &description),
    };
    let location = match (row.latitude, row.longitude) {
        (Some(lat), Some(lon)) => Some(GeoPoint { lat, lon }),
        _ => None,
    };
    Ok(Intake {
        channel: channel_of(row.channel.as_deref()),
        kind,
        tier: tier_for(kind, city),
        title: title.chars().take(200).collect(),
        description,
        address: row.address.clone(),
        location,
        citizen: Citizen::default(),
        category,
        region: None,
        external_ref: row
            .external_id
            .as_ref()
            .map(|id| format!("{}:{id}", layout.name())),
        city: None,
    })
}

/// What became of one row.
pub enum Outcome {
    Imported { routed: bool },
    AlreadyThere,
}

/// Brings one row in at its original time, and applies its reply when it has one.
pub async fn import_row(
    replayer: &Replayer,
    row: &ImportRow,
    layout: Layout,
) -> Result<Outcome, String> {
    let city = replayer.engine.city().clone();
    let intake = intake_from_row(row, layout, &city)?;
    let created_at = row
        .created_at
        .and_then(|at| local(at, &city))
        .unwrap_or_else(Timestamp::now);
    let key = match &row.external_id {
        Some(id) => format!("import:{}:{id}", layout.name()),
        // No id: the row's content is its identity, so an identical row is the same demand.
        None => format!(
            "import:{}:{}:{}",
            layout.name(),
            created_at.as_millisecond(),
            minhu_engine::fingerprint(&intake)
        ),
    };
    replayer.clock.set(created_at);
    let created = replayer
        .engine
        .intake(intake, Actor::system(SystemPart::Import), Some(key))
        .await
        .map_err(|e| match e {
            EngineError::IdempotencyMismatch => {
                "the same id was already imported with different content".to_owned()
            }
            other => other.to_string(),
        })?;
    if !created.fresh {
        return Ok(Outcome::AlreadyThere);
    }
    let mut ticket = created.ticket;
    if let (Some(reply), Some(replied)) =
        (&row.reply, row.replied_at.and_then(|at| local(at, &city)))
    {
        ticket = apply_reply(replayer, ticket, reply, replied.max(created_at))
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(Outcome::Imported {
        routed: ticket.unit.is_some(),
    })
}

async fn apply_reply(
    replayer: &Replayer,
    ticket: Ticket,
    reply: &str,
    at: Timestamp,
) -> Result<Ticket, EngineError> {
    let actor = Actor::system(SystemPart::Import);
    match ticket.status {
        Status::Dispatched => {
            let accepted = replayer
                .act_at(at, &ticket, Command::Accept, actor.clone())
                .await?;
            replayer
                .act_at(
                    at,
                    &accepted,
                    Command::Resolve {
                        reply: reply.to_owned(),
                    },
                    actor,
                )
                .await
        }
        Status::Pending if ticket.intake.kind == Kind::Consultation => {
            replayer
                .act_at(
                    at,
                    &ticket,
                    Command::AnswerAtIntake {
                        answer: reply.to_owned(),
                        article: None,
                    },
                    actor,
                )
                .await
        }
        _ => Ok(ticket),
    }
}

pub fn progress_bar(total: Option<u64>, what: &str) -> indicatif::ProgressBar {
    let bar = match total {
        Some(n) => indicatif::ProgressBar::new(n),
        None => indicatif::ProgressBar::no_length(),
    };
    let style = indicatif::ProgressStyle::with_template(&format!(
        "{what} {{bar:40}} {{pos}}/{{len}} rows, {{per_sec}}, eta {{eta}}"
    ))
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    bar.set_style(style);
    bar
}

pub async fn run(place: &Place, files: &[PathBuf]) -> anyhow::Result<()> {
    let replayer = Replayer::open(place).await?;
    for file in files {
        import_file(&replayer, file).await?;
    }
    Ok(())
}

async fn import_file(replayer: &Replayer, file: &Path) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    // The import error names the file already.
    let reader = Reader::open(file)?;
    let layout = reader.layout();
    let bar = progress_bar(
        reader.total_rows_hint(),
        &format!("{} ({})", file.display(), layout.name()),
    );
    let (mut imported, mut already, mut routed) = (0u64, 0u64, 0u64);
    let mut refused: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for row in reader {
        bar.inc(1);
        match row {
            Err(error) => {
                let problem = match &error.column {
                    Some(column) => format!("column {column}: {}", error.problem),
                    None => error.problem.clone(),
                };
                refused.entry(problem).or_default().push(error.line);
            }
            Ok(row) => match import_row(replayer, &row, layout).await {
                Ok(Outcome::Imported { routed: to_unit }) => {
                    imported += 1;
                    routed += u64::from(to_unit);
                }
                Ok(Outcome::AlreadyThere) => already += 1,
                Err(problem) => refused.entry(problem).or_default().push(row.line),
            },
        }
    }
    bar.finish_and_clear();
    let refused_total: usize = refused.values().map(Vec::len).sum();
    println!(
        "{}: {imported} imported ({routed} routed to a unit), {already} already imported, {refused_total} refused, in {:.1}s",
        file.display(),
        started.elapsed().as_secs_f64()
    );
    for (problem, lines) in &refused {
        let shown: Vec<String> = lines.iter().take(10).map(u64::to_string).collect();
        let more = if lines.len() > 10 {
            format!(" and {} more", lines.len() - 10)
        } else {
            String::new()
        };
        println!(
            "  refused {}x: {problem} (lines {}{more})",
            lines.len(),
            shown.join(", ")
        );
    }
    Ok(())
}
