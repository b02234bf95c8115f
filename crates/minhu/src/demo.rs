//! `minhu demo`: a populated demo province in two commands.
//!
//! Serves the demo province (`demo/province`: A市 and the other cities the real
//! messages name) and builds A市 (the anonymised city of the 2020 Teddy Cup data) from the configuration
//! and the real citizen messages shipped in `demo/`, replays a life for each ticket
//! over the last 13 months through the real engine (intake, routing, dispatch, accept,
//! return, resolve, callback, reopen, close - each at its own simulated moment), then
//! serves it with every worker `minhu serve` runs (timers, the alert and hotspot
//! watches, search, notifications).
//!
//! Each message comes in on its own month and day of the year (the messages span
//! 2011-2020), in the last 13 months, so last year's same month is there to compare
//! with and the seasons are the citizens' own. Two things are staged for the watches
//! to find, from replayed tickets only: the largest group of messages that routing
//! places in one place and category for one unit comes in within one hour, two hours
//! before the replay ends (a surge, 突发预警), and that unit returns every other demand
//! it is first sent (a buck-passing warning, 推诿预警).

use crate::Place;
use crate::import::{Replayer, intake_from_row};
use anyhow::Context;
use jiff::{SignedDuration, Timestamp};
use minhu_core::event::{Actor, SystemPart};
use minhu_core::ids::UnitId;
use minhu_core::ticket::{Channel, Citizen, Kind, Rating, Satisfaction, Status, Ticket};
use minhu_core::unit::UnitLevel;
use minhu_core::workflow::Command;
use minhu_core::{City, SystemClock};
use minhu_engine::accounts::{AccountChange, Admin, TokenGrant};
use minhu_import::{ImportRow, Layout, Reader};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::path::Path;
use std::sync::Arc;

const CITY_FILES: &[(&str, &str)] = &[
    // The demo's own: the repository's demo/city connects no channel, so that
    // `minhu serve` on it needs no secrets.
    ("channels.toml", DEMO_CHANNELS),
    ("city.toml", include_str!("../../../demo/city/city.toml")),
    (
        "open311.toml",
        include_str!("../../../demo/city/open311.toml"),
    ),
    (
        "regions.toml",
        include_str!("../../../demo/city/regions.toml"),
    ),
    ("places.csv", include_str!("../../../demo/city/places.csv")),
    ("units.toml", include_str!("../../../demo/city/units.toml")),
    (
        "boundaries.geojson",
        include_str!("../../../demo/city/boundaries.geojson"),
    ),
    (
        "notify.toml",
        include_str!("../../../demo/city/notify.toml"),
    ),
    (
        "calendar.toml",
        include_str!("../../../demo/city/calendar.toml"),
    ),
    (
        "taxonomy.csv",
        include_str!("../../../demo/city/taxonomy.csv"),
    ),
    (
        "duties.toml",
        include_str!("../../../demo/city/duties.toml"),
    ),
    (
        "synonyms.csv",
        include_str!("../../../demo/city/synonyms.csv"),
    ),
    (
        "categories.toml",
        include_str!("../../../demo/city/categories.toml"),
    ),
];
const MESSAGES: &str = include_str!("../../../demo/messages.csv");
const DEMO_PASSWORD: &str = "minhu-demo-2026";
/// The demo's officials: login, name, role, and the unit or region they see (none:
/// the whole province; region B: all of B市).
const DEMO_USERS: &[(&str, &str, &str, Scope)] = &[
    (
        "admin",
        "管理员 Administrator",
        "administrator",
        Scope::City,
    ),
    (
        "agent",
        "话务员 Hotline agent",
        "hotline_agent",
        Scope::City,
    ),
    ("dispatcher", "派单员 Dispatcher", "dispatcher", Scope::City),
    ("supervisor", "督办员 Supervisor", "supervisor", Scope::City),
    (
        "a3-duban",
        "A3区督办员 District supervisor",
        "supervisor",
        Scope::Region("A3"),
    ),
    (
        "handler",
        "A3区住建局承办人 Housing bureau handler",
        "unit_handler",
        Scope::Unit("dept-A3-housing"),
    ),
    (
        "leader",
        "A3区住建局负责人 Housing bureau head",
        "unit_leader",
        Scope::Unit("dept-A3-housing"),
    ),
    ("auditor", "审计员 Auditor", "auditor", Scope::City),
    (
        "province",
        "省督办员 Province supervisor",
        "supervisor",
        Scope::City,
    ),
    (
        "b-dispatcher",
        "B市派单员 Dispatcher of B市",
        "dispatcher",
        Scope::Region("B"),
    ),
    (
        "grid",
        "尖山社区第1网格网格员 Grid worker",
        "grid_worker",
        Scope::Region(DEMO_GRID),
    ),
];

/// The demo grid worker's grid: 尖山社区第1网格.
const DEMO_GRID: &str = "A3-01-02-1";

/// Which part of the city a demo account sees.
enum Scope {
    City,
    Unit(&'static str),
    Region(&'static str),
}

/// The demo connects WeChat (plain mode), an SMS gateway and a CTI, with secrets made
/// at each start.
const DEMO_CHANNELS: &str = "# The demo's channel adapters (README, \"Channels\"). Their secrets are made at\n\
# each start and printed as MINHU_WECHAT_TOKEN=..., MINHU_SMS_SECRET=..., MINHU_CTI_SECRET=...\n\
[wechat]\n\
app_id = \"wx0000000000000000\"\n\
mode = \"plain\"\n\
\n\
[sms]\n\
\n\
[phone]\n";

/// How far back the replay reaches, in months.
const MONTHS: i8 = 13;
/// How many demands the staged surge gathers into one hour (the demo city's
/// `surge_min_count` is 8).
const BURST: usize = 12;

pub async fn run(
    port: u16,
    data_dir: &Path,
    fresh: bool,
    connections: minhu_web::serve::ServeOptions,
) -> anyhow::Result<()> {
    let model = data_dir.join("model.bin");
    let place = Place {
        config: data_dir.join("province"),
        database: None,
        data_dir: data_dir.to_owned(),
        model: Some(model.clone()),
    };
    if fresh {
        for name in ["minhu.db", "minhu.db-wal", "minhu.db-shm", "model.bin"] {
            let _ = std::fs::remove_file(data_dir.join(name));
        }
    }
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create {}", data_dir.display()))?;
    // The embedded messages are read at most once, and only when something is built.
    let mut messages: Option<Vec<ImportRow>> = None;
    if !model.exists() {
        train_demo_model(messages.insert(demo_messages()?), &model)?;
    }
    write_province(&place.config, fresh)?;
    {
        let replayer = Replayer::open(&place).await?;
        let existing = replayer
            .engine
            .analytics()
            .counts(&minhu_core::access::Scope::All)
            .await?;
        if existing.iter().map(|(_, n)| n).sum::<u64>() == 0 {
            let rows = match messages.take() {
                Some(rows) => rows,
                None => demo_messages()?,
            };
            build(&replayer, &rows).await?;
            add_users(&replayer).await?;
        } else {
            eprintln!(
                "using the demo already built in {} (--fresh rebuilds it)",
                data_dir.display()
            );
        }
    }
    let notify = crate::server::notify_config(&place)?;
    let opened = crate::server::open(&place, Arc::new(SystemClock)).await?;
    // Timers run on the real clock from here: the replayed past catches up at once.
    let mut serving = crate::server::Serving::start(opened, &notify, data_dir)?;
    let engine = serving.engine.clone();
    let kb = crate::kb::import_demo(&engine).await?;
    println!("knowledge base: {kb}");
    let accounts = engine.accounts();
    // A fresh administrator token each run; the last one stops working.
    let grant = TokenGrant {
        permissions: minhu_core::access::Role::Administrator.permissions(),
        ..TokenGrant::default()
    };
    let token = accounts.issue_token("demo", &grant).await?;
    let open311_key = accounts.issue_open311_key("demo").await?;
    // WeChat on a fresh token each run, printed below for the account's 服务器配置.
    let wechat_token = fresh_secret();
    let (sms_secret, cti_secret) = (fresh_secret(), fresh_secret());
    // City systems sign their sensor events with the environment's secret, else a
    // fresh one, printed below.
    let sensor_secret = crate::server::environment(minhu_web::api::sensors::SECRET_VAR)
        .unwrap_or_else(fresh_secret);
    let secret = |name: &str| match name {
        minhu_web::channels::wechat::TOKEN_VAR => Some(wechat_token.clone()),
        minhu_web::channels::sms::SECRET_VAR => Some(sms_secret.clone()),
        minhu_web::channels::phone::SECRET_VAR => Some(cti_secret.clone()),
        minhu_web::api::sensors::SECRET_VAR => Some(sensor_secret.clone()),
        other => crate::server::environment(other),
    };
    let state = crate::server::app_state(engine, &place, &notify, &secret)?;
    serving.read_mailbox(&state);
    let listen = format!("127.0.0.1:{port}");
    let served = crate::server::serve_state(state, &listen, connections, |url| {
        println!("MINHU_DEMO_TOKEN={token}");
        println!("MINHU_OPEN311_KEY={open311_key}");
        println!("MINHU_WECHAT_TOKEN={wechat_token}");
        println!("MINHU_SMS_SECRET={sms_secret}");
        println!("MINHU_CTI_SECRET={cti_secret}");
        println!("MINHU_SENSOR_SECRET={sensor_secret}");
        println!("minhu demo city A市 is ready: {url}/");
        println!("API: {url}/api/v1/tickets   OpenAPI: {url}/api/openapi.json");
        println!("Open311: {url}/open311/v2/discovery.json");
        println!("WeChat official account (server URL): {url}/channels/wechat");
        println!(
            "SMS uplink: POST {url}/channels/sms (signed with MINHU_SMS_SECRET); the CTI's calls: POST {url}/channels/phone (signed with MINHU_CTI_SECRET)"
        );
        println!(
            "city systems' sensor webhook: POST {url}/api/v1/sensors/events (signed with MINHU_SENSOR_SECRET)"
        );
        println!("grid workers' phone app: {url}/grid");
        println!("demo logins (password {DEMO_PASSWORD}):");
        for (login, name, role, scope) in DEMO_USERS {
            let sees = match scope {
                Scope::City => String::new(),
                Scope::Unit(unit) => format!(" [unit {unit}]"),
                Scope::Region(region) => format!(" [region {region}]"),
            };
            println!("  {login:<11} {role:<14} {name}{sees}");
        }
        println!(
            "citizens follow a ticket at POST {url}/api/v1/follow/code; the demo writes the SMS code to this log"
        );
        println!("stop with Ctrl-C");
    })
    .await;
    serving.stop().await;
    served
}

/// 32 random letters and digits: a secret the demo makes for itself each run.
fn fresh_secret() -> String {
    (0..32)
        .map(|_| {
            char::from(
                b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                    [rand::random_range(0..62usize)],
            )
        })
        .collect()
}

/// The demo's classifier, trained on its messages that carry a category, so that
/// routing reads categories from the text as a real deployment's would.
fn train_demo_model(messages: &[ImportRow], model: &Path) -> anyhow::Result<()> {
    let (texts, labels, _) = crate::classifier::training_pairs(messages);
    crate::classifier::train_model(&texts, &labels, 1)?
        .save(model)
        .with_context(|| format!("cannot write {}", model.display()))
}

/// The real messages shipped in `demo/messages.csv` (embedded in the binary).
pub fn demo_messages() -> anyhow::Result<Vec<ImportRow>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("messages.csv");
    std::fs::write(&path, MESSAGES)?;
    Ok(Reader::open(&path)?.filter_map(Result::ok).collect())
}

/// The demo province in `dir`: A市 (the demo city) in `cities/A`, the other cities of
/// `demo/province`, and A市's calendar and taxonomy, which they share.
pub fn write_province(dir: &Path, overwrite: bool) -> anyhow::Result<()> {
    write_city(&dir.join("cities/A"), overwrite)?;
    let shared = CITY_FILES
        .iter()
        .filter(|(name, _)| matches!(*name, "calendar.toml" | "taxonomy.csv"));
    for (name, text) in crate::demo_province::PROVINCE_FILES.iter().chain(shared) {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        if overwrite || !path.exists() {
            std::fs::write(&path, text)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
    }
    Ok(())
}

pub fn write_city(dir: &Path, overwrite: bool) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for (name, text) in CITY_FILES {
        let path = dir.join(name);
        if overwrite || !path.exists() {
            std::fs::write(&path, text)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
    }
    Ok(())
}

async fn add_users(replayer: &Replayer) -> anyhow::Result<()> {
    let hash = minhu_web::pages::login::hash_password(DEMO_PASSWORD.into()).await?;
    let admin = Admin {
        actor: "system:demo".into(),
        client: None,
    };
    for (login, name, role, scope) in DEMO_USERS {
        let change = AccountChange {
            login: (*login).into(),
            display_name: Some((*name).into()),
            role: (*role).into(),
            unit: match scope {
                Scope::Unit(unit) => Some((*unit).to_owned()),
                _ => None,
            },
            region: match scope {
                Scope::Region(region) => Some((*region).to_owned()),
                _ => None,
            },
            password_hash: Some(hash.clone()),
        };
        replayer.engine.accounts().save(change, &admin).await?;
    }
    Ok(())
}

async fn build(replayer: &Replayer, rows: &[ImportRow]) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let mut rng = StdRng::seed_from_u64(12345);
    let now = Timestamp::now();
    let zone = replayer.engine.city().timezone.clone();
    let start = now
        .to_zoned(zone.clone())
        .checked_sub(jiff::Span::new().months(MONTHS))?
        .timestamp();
    let staged = stage_surge(replayer, rows);
    // The staged hour: whole, ending an hour before the replay does.
    let hour = Timestamp::from_second(now.as_second().div_euclid(3600) * 3600 - 2 * 3600)?;
    let gap = SignedDuration::from_secs(3000 / BURST as i64);
    let mut plan: Vec<(Timestamp, usize)> = Vec::with_capacity(rows.len());
    for (index, row) in rows.iter().enumerate() {
        let created = match staged.messages.iter().position(|&i| i == index) {
            Some(k) => hour + gap * k as i32,
            None => arrival(row, start, hour, &zone, &mut rng),
        };
        plan.push((created, index));
    }
    plan.sort();
    let bar = crate::import::progress_bar(Some(rows.len() as u64), "building the demo city");
    let mut counts = std::collections::BTreeMap::<&str, u64>::new();
    let mut passer = Passer {
        unit: staged.unit.clone(),
        sent: 0,
    };
    for (created, index) in plan {
        let ticket = live(replayer, &rows[index], created, now, &mut passer, &mut rng).await?;
        *counts.entry(ticket.status.label_zh()).or_default() += 1;
        bar.inc(1);
    }
    bar.finish_and_clear();
    let alarms = sensor_alarms(replayer, now, &mut rng).await?;
    let summary: Vec<String> = counts.iter().map(|(s, n)| format!("{s} {n}")).collect();
    println!(
        "built {} tickets over {MONTHS} months in {:.1}s: {}",
        rows.len(),
        started.elapsed().as_secs_f64(),
        summary.join(", ")
    );
    println!(
        "city systems raised {} alarms in the last 30 days: {} tickets (repeats within a window are one)",
        alarms.0, alarms.1
    );
    if let Some(unit) = &staged.unit {
        println!(
            "staged for the alert watch: {} demands within the hour from {hour} (a surge), and {unit} returning every other demand it is first sent (buck-passing)",
            staged.messages.len()
        );
    }
    Ok(())
}

/// The city systems' alarms of the last 30 days (一网统管): manhole covers, water-level
/// gauges and cameras across the city, each alarm sent a few times within minutes as
/// devices do, through the same door as the webhook ([`Engine::sensor_event`]). Returns
/// (events, tickets).
///
/// [`Engine::sensor_event`]: minhu_engine::Engine::sensor_event
async fn sensor_alarms(
    replayer: &Replayer,
    now: Timestamp,
    rng: &mut StdRng,
) -> anyhow::Result<(usize, usize)> {
    use minhu_core::sensor::{Reading, SensorEvent, SensorKind};
    use minhu_core::ticket::GeoPoint;
    let devices = [
        (
            SensorKind::ManholeCover,
            "manhole-platform",
            "MC",
            14,
            "°",
            15.0,
        ),
        (SensorKind::WaterLevel, "flood-watch", "WL", 6, "cm", 30.0),
        (SensorKind::Camera, "city-cameras", "CAM", 8, "", 0.0),
    ];
    let (mut events, mut tickets) = (0, 0);
    let mut alarms = Vec::new();
    for (kind, system, prefix, count, unit, threshold) in devices {
        for n in 0..count {
            let location = GeoPoint {
                lat: rng.random_range(28.08..28.28),
                lon: rng.random_range(112.82..112.98),
            };
            for _ in 0..rng.random_range(1..=3) {
                let at = now - SignedDuration::from_secs(rng.random_range(3600..30 * 86_400));
                alarms.push((
                    at,
                    kind,
                    system,
                    format!("{prefix}-{n:04}"),
                    location,
                    unit,
                    threshold,
                ));
            }
        }
    }
    alarms.sort_by_key(|alarm| alarm.0);
    for (at, kind, system, device, location, unit, threshold) in alarms {
        let (reading, event) = match kind {
            SensorKind::Camera => (None, Some("占道经营 street stall on the road".to_owned())),
            _ => (
                Some(Reading {
                    value: (threshold * rng.random_range(1.2..3.0f64)).round(),
                    unit: unit.to_owned(),
                    threshold: Some(threshold),
                }),
                None,
            ),
        };
        for repeat in 0..rng.random_range(1..=3i64) {
            let observed_at = at + SignedDuration::from_mins(2 * repeat);
            replayer.clock.set(observed_at);
            let alarm = SensorEvent {
                system: system.to_owned(),
                device: device.clone(),
                kind,
                observed_at,
                location,
                reading: reading.clone(),
                event: event.clone(),
                address: None,
                category: None,
                tier: None,
            };
            let created = replayer.engine.sensor_event(&alarm).await?;
            events += 1;
            tickets += usize::from(created.fresh);
        }
    }
    Ok((events, tickets))
}

/// When a message comes in: its own month, day and time of day, in the year that puts
/// it between `from` and `before` (either, at random, when both do); anywhere in
/// between when it carries no date.
fn arrival(
    row: &ImportRow,
    from: Timestamp,
    before: Timestamp,
    zone: &jiff::tz::TimeZone,
    rng: &mut StdRng,
) -> Timestamp {
    let candidates: Vec<Timestamp> = row
        .created_at
        .map(|at| {
            let last = before.to_zoned(zone.clone()).year();
            (last - 1..=last)
                .filter_map(|year| {
                    // 29 February falls on the 28th in a common year.
                    let day = at
                        .day()
                        .min(jiff::civil::date(year, at.month(), 1).last_of_month().day());
                    jiff::civil::date(year, at.month(), day)
                        .to_datetime(at.time())
                        .to_zoned(zone.clone())
                        .ok()
                        .map(|z| z.timestamp())
                })
                .filter(|t| (from..before).contains(t))
                .collect()
        })
        .unwrap_or_default();
    match candidates.len() {
        0 => {
            let span = before.duration_since(from).as_secs().max(1);
            from + SignedDuration::from_secs(rng.random_range(0..span))
        }
        n => candidates[rng.random_range(0..n)],
    }
}

/// The messages staged as a surge and the unit they go to.
struct Staged {
    messages: Vec<usize>,
    unit: Option<UnitId>,
}

/// The largest group of messages that routing would place in one region and category
/// and send to one unit (consultations left out: an agent may answer those on the
/// call, and an answered demand keeps no category), the first [`BURST`] of them; none
/// when no group is that large.
fn stage_surge(replayer: &Replayer, rows: &[ImportRow]) -> Staged {
    let city = replayer.engine.city();
    let mut groups: std::collections::BTreeMap<(String, String, UnitId), Vec<usize>> =
        std::collections::BTreeMap::new();
    for (index, row) in rows.iter().enumerate() {
        let Ok(intake) = intake_from_row(row, Layout::TeddyCup, city) else {
            continue;
        };
        if intake.kind == Kind::Consultation {
            continue;
        }
        let Ok((ticket, decision)) = replayer.engine.preview(intake) else {
            continue;
        };
        let region = ticket
            .intake
            .region
            .or(decision.region.map(|placed| placed.region));
        let category = ticket
            .intake
            .category
            .or(decision.category.map(|suggested| suggested.category));
        if let (Some(region), Some(category), Some(assignment)) =
            (region, category, decision.assignment)
        {
            groups
                .entry((region.to_string(), category.to_string(), assignment.unit))
                .or_default()
                .push(index);
        }
    }
    groups
        .into_iter()
        .filter(|(_, messages)| messages.len() >= BURST)
        .max_by_key(|(_, messages)| messages.len())
        .map_or(
            Staged {
                messages: Vec::new(),
                unit: None,
            },
            |((_, _, unit), mut messages)| {
                messages.truncate(BURST);
                Staged {
                    messages,
                    unit: Some(unit),
                }
            },
        )
}

/// The unit that passes the buck: it returns every other demand it is sent for the
/// first time.
struct Passer {
    unit: Option<UnitId>,
    sent: u32,
}

impl Passer {
    fn returns(&mut self, ticket: &Ticket) -> bool {
        if ticket.unit.is_none() || ticket.unit != self.unit || ticket.return_count > 0 {
            return false;
        }
        self.sent += 1;
        self.sent % 2 == 1
    }
}

fn hours(rng: &mut StdRng, from: f64, to: f64) -> SignedDuration {
    SignedDuration::from_secs_f64(rng.random_range(from..to) * 3600.0)
}

fn pick_channel(rng: &mut StdRng) -> Channel {
    match rng.random_range(0..100) {
        0..55 => Channel::Phone,
        55..75 => Channel::Web,
        75..87 => Channel::Wechat,
        87..95 => Channel::App,
        _ => Channel::Grid,
    }
}

/// How the simulated dispatcher reads a demand that arrived without a category
/// (the real router's text model belongs to the routing issue).
const DISPATCHER_READING: &[(&str, &[&str])] = &[
    (
        "劳动和社会保障",
        &[
            "工资",
            "社保",
            "医保",
            "养老",
            "就业",
            "劳动",
            "公积金",
            "退休",
        ],
    ),
    (
        "教育文体",
        &[
            "学校",
            "教育",
            "学生",
            "老师",
            "幼儿园",
            "学位",
            "招生",
            "补课",
        ],
    ),
    (
        "卫生计生",
        &[
            "医院", "医疗", "医生", "疫苗", "计生", "生育", "诊所", "药店",
        ],
    ),
    (
        "环境保护",
        &[
            "污染", "噪音", "排放", "环保", "废气", "臭味", "污水", "扰民",
        ],
    ),
    (
        "交通运输",
        &[
            "公交",
            "交通",
            "出租车",
            "地铁",
            "车站",
            "道路拥堵",
            "客运",
            "驾校",
        ],
    ),
    (
        "商贸旅游",
        &[
            "价格", "旅游", "商家", "超市", "消费", "景区", "电商", "市场",
        ],
    ),
    (
        "城乡建设",
        &[
            "物业", "小区", "拆迁", "路灯", "房", "施工", "工程", "供水", "燃气", "电梯", "违建",
        ],
    ),
];

fn dispatcher_category(ticket: &Ticket, city: &City) -> Option<minhu_core::taxonomy::CategoryPath> {
    let text = format!("{} {}", ticket.intake.title, ticket.intake.description);
    DISPATCHER_READING
        .iter()
        .find(|(_, words)| words.iter().any(|w| text.contains(w)))
        .map(|(category, _)| minhu_core::taxonomy::CategoryPath::new(category))
        .filter(|category| city.taxonomy.contains(category))
}

/// The street office (or failing that, any unit routing finds) a dispatcher would pick.
fn dispatcher_choice(ticket: &Ticket, city: &City) -> Option<UnitId> {
    if let Some(category) = &ticket.intake.category
        && let Some(assignment) = city.duties.route(
            category,
            ticket.intake.region.as_ref(),
            &city.regions,
            &city.units,
        )
    {
        return Some(assignment.unit);
    }
    let region = ticket.intake.region.as_ref()?;
    city.units
        .serving(UnitLevel::Street, None, region, &city.regions)
        .map(|u| u.id.clone())
}

/// Takes one message in at `created` and lets its life run until `now`.
async fn live(
    replayer: &Replayer,
    row: &ImportRow,
    created: Timestamp,
    now: Timestamp,
    passer: &mut Passer,
    rng: &mut StdRng,
) -> anyhow::Result<Ticket> {
    let city = replayer.engine.city().clone();
    let mut intake = intake_from_row(row, Layout::TeddyCup, &city).map_err(anyhow::Error::msg)?;
    intake.channel = pick_channel(rng);
    intake.citizen = if rng.random_bool(0.08) {
        Citizen {
            anonymous: true,
            ..Citizen::default()
        }
    } else {
        Citizen {
            phone: Some(format!(
                "1{}{:09}",
                [3, 5, 8][rng.random_range(0..3)],
                rng.random_range(0..1_000_000_000u64)
            )),
            ..Citizen::default()
        }
    };
    replayer.clock.set(created);
    let key = format!("demo:{}", row.external_id.as_deref().unwrap_or_default());
    let reply = row
        .reply
        .clone()
        .unwrap_or_else(|| "已联系来电人并现场核实，相关问题已按规定处理。".into());
    let agent = match intake.channel {
        Channel::Phone => Actor::user("agent"),
        // A grid worker reports what the patrol found in their grid: no citizen called.
        // Half come from the demo's own grid worker's grid, so `/grid` has a history.
        Channel::Grid => {
            intake.citizen = Citizen::default();
            // The grid is one of A市's, whatever city the message's words are about.
            intake.city = Some(city.id());
            let grids: Vec<_> = city
                .regions
                .all()
                .iter()
                .filter(|r| r.level == minhu_core::region::RegionLevel::Grid)
                .collect();
            intake.region = if rng.random_bool(0.5) || grids.is_empty() {
                Some(minhu_core::ids::RegionId::new(DEMO_GRID))
            } else {
                Some(grids[rng.random_range(0..grids.len())].id.clone())
            };
            Actor::user("grid")
        }
        _ => Actor::citizen(),
    };
    // Some of what a patrol finds is handled there and then (即查即办).
    if intake.channel == Channel::Grid && rng.random_bool(0.4) {
        let note = "网格员现场处理完毕 handled on the spot by the grid worker".to_owned();
        return Ok(replayer
            .engine
            .intake_handled_on_spot(intake, Vec::new(), note, agent, Some(key), None)
            .await?
            .ticket);
    }
    let mut ticket = replayer
        .engine
        .intake(intake, agent, Some(key))
        .await?
        .ticket;
    // A demand about another city of the province lives under that city's rules.
    let city = replayer.engine.city_of(&ticket).clone();
    let mut at = created;
    let mut cycles = 0;
    // Each turn moves the ticket one step if that step's moment has come.
    loop {
        let (delay, command, actor) = match ticket.status {
            Status::Pending
                if ticket.intake.kind == Kind::Consultation
                    && ticket.return_count == 0
                    && rng.random_bool(0.35) =>
            {
                (
                    hours(rng, 0.05, 0.2),
                    Command::AnswerAtIntake {
                        answer: reply.clone(),
                        article: None,
                    },
                    Actor::user("agent"),
                )
            }
            Status::Pending if ticket.intake.category.is_none() => {
                let Some(category) = dispatcher_category(&ticket, &city) else {
                    break;
                };
                let reclassify = Command::Reclassify {
                    category: Some(category),
                    region: None,
                    tier: None,
                    reason: None,
                };
                (hours(rng, 0.1, 1.0), reclassify, Actor::user("dispatcher"))
            }
            Status::Pending if ticket.return_count == 0 || rng.random_bool(0.5) => {
                let Some(unit) = dispatcher_choice(&ticket, &city) else {
                    break;
                };
                // Sending a ticket back to the unit that returned it is a dispute.
                let command = if ticket.returned_from.as_ref() == Some(&unit) {
                    Command::RejectReturn {
                        reason: "经核实属于本单位职责 it is this unit's duty".into(),
                    }
                } else {
                    Command::Dispatch {
                        unit,
                        reason: Some("派单员人工派单 dispatched by hand".into()),
                    }
                };
                (hours(rng, 0.2, 3.0), command, Actor::user("dispatcher"))
            }
            Status::Dispatched if passer.returns(&ticket) => (
                hours(rng, 0.1, 0.5),
                Command::Return {
                    reason: "不属于本单位职责范围 not our duty".into(),
                },
                Actor::user("handler"),
            ),
            Status::Dispatched if rng.random_bool(0.05) => (
                hours(rng, 1.0, 8.0),
                Command::Return {
                    reason: "不属于本单位职责范围 not our duty".into(),
                },
                Actor::user("handler"),
            ),
            Status::Dispatched => (
                hours(rng, 0.3, 14.0),
                Command::Accept,
                Actor::user("handler"),
            ),
            Status::Accepted => {
                let tier = city
                    .tier(&ticket.intake.tier)
                    .map_or(168.0, |t| t.resolve_within.nominal().as_secs_f64() / 3600.0);
                (
                    hours(rng, tier * 0.05, tier * 1.15),
                    Command::Resolve {
                        reply: reply.clone(),
                    },
                    Actor::user("handler"),
                )
            }
            Status::Resolved if ticket.rating.is_none() => {
                let solved = rng.random_bool(0.86);
                let satisfaction = match rng.random_range(0..100) {
                    0..68 if solved => Satisfaction::Satisfied,
                    0..92 if solved => Satisfaction::Basically,
                    0..40 => Satisfaction::Basically,
                    _ => Satisfaction::Unsatisfied,
                };
                (
                    hours(rng, 2.0, 48.0),
                    Command::Rate(Rating {
                        solved,
                        satisfaction,
                    }),
                    Actor::user("agent"),
                )
            }
            Status::Resolved => {
                let unhappy = ticket
                    .rating
                    .is_some_and(|r| !r.solved || r.satisfaction == Satisfaction::Unsatisfied);
                if unhappy && cycles == 0 {
                    cycles += 1;
                    (
                        hours(rng, 0.1, 2.0),
                        Command::Reopen {
                            reason: "回访不满意，重新办理 unsatisfied at callback".into(),
                        },
                        Actor::user("agent"),
                    )
                } else {
                    (
                        hours(rng, 0.1, 1.0),
                        Command::Close { reason: None },
                        Actor::system(SystemPart::Callback),
                    )
                }
            }
            Status::Pending | Status::Closed | Status::Merged => break,
        };
        at += delay;
        if at > now {
            break;
        }
        ticket = replayer.act_at(at, &ticket, command, actor).await?;
    }
    Ok(ticket)
}
