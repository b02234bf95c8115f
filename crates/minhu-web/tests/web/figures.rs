//! Figures that tell the truth: random ticket lives through the engine, then every
//! published figure (the public page, the dashboard, the rates API by unit and by
//! region) read back and checked against a direct recount of the tickets' logs, on
//! SQLite and on PostgreSQL. The recount reads what happened from the ticket's state
//! before and after each event (its status, holder, counters), not from the rollup's
//! credits, so a credit that drifts from what the README defines fails here.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use jiff::SignedDuration;
use minhu_core::deadline::TierCode;
use minhu_core::event::{Actor, SystemPart};
use minhu_core::ids::{TicketNumber, UnitId};
use minhu_core::region::RegionLevel;
use minhu_core::taxonomy::CategoryPath;
use minhu_core::ticket::{Channel, Citizen, Intake, Kind, Rating, Satisfaction, Status, Ticket};
use minhu_core::workflow::Command;
use minhu_testkit::db::TestDb;
use minhu_testkit::web::TestApp;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::Value;
use std::collections::BTreeMap;

/// One demand's life: where it says it is, whether it names a category, then steps of
/// (which action, a choice inside it, hours since the step before).
#[derive(Clone, Debug)]
struct Life {
    place: u8,
    categorised: bool,
    steps: Vec<(u8, u8, u8)>,
}

fn lives() -> impl Strategy<Value = Vec<Life>> {
    let life = (
        0u8..4,
        any::<bool>(),
        prop::collection::vec((0u8..16, any::<u8>(), 0u8..30), 0..24),
    )
        .prop_map(|(place, categorised, steps)| Life {
            place,
            categorised,
            steps,
        });
    prop::collection::vec(life, 1..10)
}

const CATEGORY: &str = "城乡建设/住房保障与房地产/物业服务";

fn intake(life: &Life) -> Intake {
    let (address, title) = match life.place {
        0 => (Some("A3区天顶街道尖山社区"), "小区电梯坏了"),
        1 => (Some("A1区马坡岭街道"), "路灯不亮"),
        // City-wide: it names the city and nothing below it.
        2 => (Some("A市"), "社保不能补交"),
        _ => (None, "有事反映"),
    };
    Intake {
        channel: Channel::Phone,
        kind: Kind::Complaint,
        title: title.into(),
        description: format!("{title}，请尽快处理"),
        address: address.map(str::to_owned),
        location: None,
        citizen: Citizen::default(),
        category: life.categorised.then(|| CategoryPath::new(CATEGORY)),
        region: None,
        tier: TierCode("7d".into()),
        external_ref: None,
        city: None,
    }
}

/// The step that runs the timers instead of a command (deadlines missed, warnings).
const TIMERS: u8 = 15;

/// The command a step asks for; `None` when it names nothing to ask (a pass down with
/// no unit under the holder).
fn command(
    app: &TestApp,
    ticket: &Ticket,
    first: &TicketNumber,
    step: (u8, u8),
) -> Option<Command> {
    let (action, choice) = step;
    let city = app.state.engine.city();
    let units = ["street-A3-01", "street-A1-01", "dept-A3-housing"];
    let unit = || UnitId::new(units[usize::from(choice) % units.len()]);
    let words = || "经核实处理".to_owned();
    Some(match action {
        0 | 1 => Command::Dispatch {
            unit: unit(),
            reason: None,
        },
        2 | 3 => Command::Accept,
        4 => Command::Return { reason: words() },
        5 => Command::RejectReturn { reason: words() },
        6 => {
            let holder = ticket.unit.as_ref()?;
            let under: Vec<&UnitId> = city
                .units
                .all()
                .iter()
                .filter(|u| u.parent.as_ref() == Some(holder))
                .map(|u| &u.id)
                .collect();
            let unit = (*under.get(usize::from(choice) % under.len().max(1))?).clone();
            Command::Redispatch { unit, reason: None }
        }
        7 | 8 => Command::Resolve { reply: words() },
        9 => Command::AnswerAtIntake {
            answer: words(),
            article: None,
        },
        10 => Command::Rate(Rating {
            solved: choice % 2 == 0,
            satisfaction: Satisfaction::ALL[usize::from(choice / 2) % Satisfaction::ALL.len()],
        }),
        11 => Command::Reopen { reason: words() },
        12 => Command::Close {
            reason: Some(words()),
        },
        13 => Command::Reassign {
            unit: unit(),
            reason: words(),
        },
        _ => Command::Merge {
            into: first.clone(),
            reason: words(),
        },
    })
}

/// Lives the demands through the engine, each step at its own moment; refused steps
/// change nothing and are skipped. Returns the tickets' numbers.
async fn live(app: &TestApp, lives: &[Life]) -> Vec<TicketNumber> {
    let engine = &app.state.engine;
    let mut numbers = Vec::new();
    for life in lives {
        app.clock.advance(SignedDuration::from_hours(5));
        let created = engine
            .intake(intake(life), Actor::citizen(), None)
            .await
            .expect("a valid demand");
        let mut ticket = created.ticket;
        let first = numbers.first().cloned().unwrap_or(ticket.number.clone());
        numbers.push(ticket.number.clone());
        for &(action, choice, hours) in &life.steps {
            app.clock
                .advance(SignedDuration::from_hours(i64::from(hours)));
            if action == TIMERS {
                minhu_engine::timers::TimerWorker::new(engine.clone())
                    .tick()
                    .await;
                ticket = engine.ticket(&ticket.number).await.unwrap();
                continue;
            }
            let Some(command) = command(app, &ticket, &first, (action, choice)) else {
                continue;
            };
            let actor = Actor::system(SystemPart::Router);
            if let Ok(next) = engine.act(&ticket.number, command, actor).await {
                ticket = next;
            }
        }
    }
    numbers
}

/// What the README says each figure counts, read from the tickets' states.
#[derive(Default, Debug)]
struct Recount {
    /// Per unit: assignments, accepted in time, replies, replies in time, callbacks,
    /// solved, satisfied or basically, reopened, returned, passed down, answered,
    /// assignments settled (accepted, returned, passed down or their acceptance
    /// deadline missed).
    units: BTreeMap<String, [i64; 12]>,
    /// Per district id ("" for unplaced, the city's id for city-wide): received,
    /// answered.
    places: BTreeMap<String, (i64, i64)>,
}

const ASSIGNED: usize = 0;
const ON_TIME_ACCEPT: usize = 1;
const REPLIES: usize = 2;
const ON_TIME_REPLIES: usize = 3;
const CALLBACKS: usize = 4;
const SOLVED: usize = 5;
const SATISFIED: usize = 6;
const REOPENED: usize = 7;
const RETURNED: usize = 8;
const PASSED_DOWN: usize = 9;
const ANSWERED: usize = 10;
const SETTLED: usize = 11;

async fn recount(app: &TestApp, numbers: &[TicketNumber]) -> Recount {
    let engine = &app.state.engine;
    let city = engine.city();
    let mut out = Recount::default();
    for number in numbers {
        // Merging writes to the main case too: read every ticket's whole log anew.
        let events = engine.events(number).await.unwrap();
        let minhu_core::event::Change::Created(intake) = &events[0].change else {
            panic!("{number} does not start with its intake");
        };
        let mut ticket = Ticket::new(number.clone(), intake.clone(), events[0].at);
        // Whether the holder's assignment still awaits its acceptance.
        let mut awaiting = false;
        for event in &events[1..] {
            let before = ticket.clone();
            ticket.apply(event);
            let mut credit = |unit: &Option<UnitId>, what: usize| {
                let key = unit.as_ref().map_or_else(String::new, |u| u.to_string());
                out.units.entry(key).or_default()[what] += 1;
            };
            let starts_holding = ticket.status == Status::Dispatched
                && (before.status != Status::Dispatched || before.unit != ticket.unit);
            if starts_holding {
                credit(&ticket.unit, ASSIGNED);
            }
            let accepted = before.status == Status::Dispatched && ticket.status == Status::Accepted;
            let missed = matches!(
                event.change,
                minhu_core::event::Change::Overdue {
                    deadline: minhu_core::timer::DeadlineKind::Respond,
                    ..
                }
            );
            let settled = awaiting
                && (accepted
                    || missed
                    || ticket.return_count > before.return_count
                    || ticket.redispatch_count > before.redispatch_count);
            if settled {
                credit(&before.unit, SETTLED);
            }
            if accepted && awaiting {
                let due = before.deadlines.is_none_or(|d| event.at <= d.respond_by);
                if due {
                    credit(&before.unit, ON_TIME_ACCEPT);
                }
            }
            awaiting =
                ticket.status == Status::Dispatched && (starts_holding || (awaiting && !settled));
            if ticket.status == Status::Resolved && before.status != Status::Resolved {
                credit(&before.unit, REPLIES);
                if before.deadlines.is_none_or(|d| event.at <= d.resolve_by) {
                    credit(&before.unit, ON_TIME_REPLIES);
                }
            }
            if before.rating.is_none()
                && let Some(rating) = ticket.rating
            {
                credit(&before.unit, CALLBACKS);
                if rating.solved {
                    credit(&before.unit, SOLVED);
                }
                if rating.satisfaction != Satisfaction::Unsatisfied {
                    credit(&before.unit, SATISFIED);
                }
            }
            if ticket.reopen_count > before.reopen_count {
                credit(&before.unit, REOPENED);
            }
            if ticket.return_count > before.return_count {
                credit(&before.unit, RETURNED);
            }
            if ticket.redispatch_count > before.redispatch_count {
                credit(&before.unit, PASSED_DOWN);
            }
        }
        let answered = match ticket.status {
            Status::Resolved => true,
            Status::Closed => ticket.resolved_at.is_some(),
            _ => false,
        };
        if answered {
            let key = ticket
                .unit
                .as_ref()
                .map_or_else(String::new, |u| u.to_string());
            out.units.entry(key).or_default()[ANSWERED] += 1;
        }
        let district = ticket
            .intake
            .region
            .as_ref()
            .and_then(|r| {
                city.regions
                    .ancestry(r)
                    .find(|r| matches!(r.level, RegionLevel::District | RegionLevel::City))
            })
            .map_or_else(String::new, |d| d.id.to_string());
        let place = out.places.entry(district).or_default();
        place.0 += 1;
        place.1 += i64::from(answered);
    }
    out
}

fn percent(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| 100.0 * part as f64 / whole as f64)
}

fn same(published: &Value, expected: Option<f64>, what: &str) {
    match expected {
        None => assert_eq!(published, &Value::Null, "{what}"),
        Some(expected) => {
            let got = published
                .as_f64()
                .unwrap_or_else(|| panic!("{what}: {published}"));
            assert!(
                (got - expected).abs() < 1e-9,
                "{what}: published {got}, recounted {expected}"
            );
        }
    }
}

/// Every rate of a line of the rates API is a percentage, 0 to 100.
fn within_100(line: &Value) {
    for (name, rate) in line["rates"].as_object().unwrap() {
        if let Some(rate) = rate.as_f64() {
            assert!((0.0..=100.0).contains(&rate), "{name} = {rate} in {line}");
        }
    }
}

/// Every "12.3%" in a page's text, as numbers.
fn percentages(html: &str) -> Vec<f64> {
    html.split('%')
        .filter_map(|before| {
            let digits: String = before
                .chars()
                .rev()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            digits.parse().ok()
        })
        .collect()
}

/// The number in the `<strong>` after `label` on a page.
fn stat<'a>(html: &'a str, label: &str) -> &'a str {
    let at = html
        .find(label)
        .unwrap_or_else(|| panic!("no {label:?} on the page"));
    let rest = &html[at..];
    let open = rest.find("<strong>").unwrap() + "<strong>".len();
    let close = rest.find("</strong>").unwrap();
    &rest[open..close]
}

async fn page(app: &TestApp, path: &str, english: bool) -> String {
    let lang = if english { "en" } else { "zh" };
    let request = Request::get(path)
        .header(header::COOKIE, format!("minhu_lang={lang}"))
        .body(Body::empty())
        .unwrap();
    let (status, body, _) = app.send(request).await;
    assert_eq!(status, StatusCode::OK, "{path}");
    body.as_str().unwrap().to_owned()
}

async fn check(app: &TestApp, lives: &[Life]) {
    let numbers = live(app, lives).await;
    let counted = recount(app, &numbers).await;
    let city = app.state.engine.city();
    let period = "from=2026-01-01&to=2028-12-31";

    let (status, by_unit) = app.get(&format!("/api/v1/analytics/rates?{period}")).await;
    assert_eq!(status, StatusCode::OK, "{by_unit}");
    let lines: Vec<&Value> = by_unit["rows"]
        .as_array()
        .unwrap()
        .iter()
        .chain(by_unit["apart"].as_array().unwrap())
        .collect();
    for line in &lines {
        within_100(line);
    }
    within_100(&by_unit["total"]);
    assert!(
        by_unit["rows"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["id"] != "")
    );
    for (unit, n) in &counted.units {
        let line = lines
            .iter()
            .find(|l| l["id"] == unit.as_str())
            .unwrap_or_else(|| panic!("no line for {unit:?} in {by_unit}"));
        let counts = &line["counts"];
        let what = |name: &str| format!("{unit:?} {name}");
        for (name, i) in [
            ("assigned", ASSIGNED),
            ("responded_on_time", ON_TIME_ACCEPT),
            ("resolved", REPLIES),
            ("resolved_on_time", ON_TIME_REPLIES),
            ("rated", CALLBACKS),
            ("solved", SOLVED),
            ("reopened", REOPENED),
            ("returned", RETURNED),
            ("redispatched", PASSED_DOWN),
            ("answered", ANSWERED),
            ("response_settled", SETTLED),
        ] {
            assert_eq!(counts[name], n[i], "{}", what(name));
        }
        let rates = &line["rates"];
        same(
            &rates["response"],
            percent(n[ON_TIME_ACCEPT], n[SETTLED]),
            &what("response"),
        );
        same(
            &rates["resolution"],
            percent(n[SOLVED], n[CALLBACKS]),
            &what("resolution"),
        );
        same(
            &rates["satisfaction"],
            percent(n[SATISFIED], n[CALLBACKS]),
            &what("satisfaction"),
        );
        same(
            &rates["on_time"],
            percent(n[ON_TIME_REPLIES], n[REPLIES]),
            &what("on_time"),
        );
        same(
            &rates["reopen"],
            percent(n[REOPENED], n[REPLIES]),
            &what("reopen"),
        );
        same(
            &rates["returns"],
            percent(n[RETURNED], n[ASSIGNED]),
            &what("returns"),
        );
        same(
            &rates["buck_passing"],
            percent(n[RETURNED] + n[PASSED_DOWN], n[ASSIGNED]),
            &what("buck_passing"),
        );
    }

    let received: i64 = counted.places.values().map(|p| p.0).sum();
    let answered: i64 = counted.places.values().map(|p| p.1).sum();
    let (status, by_region) = app
        .get(&format!("/api/v1/analytics/rates?{period}&by=region"))
        .await;
    assert_eq!(status, StatusCode::OK, "{by_region}");
    same(
        &by_region["total"]["rates"]["answered"],
        percent(answered, received),
        "answered",
    );
    let unplaced = counted.places.get("").map_or(0, |p| p.0);
    same(
        &by_region["unplaced"],
        percent(unplaced, received),
        "unplaced share",
    );
    let city_wide = counted.places.get("A").map_or(0, |p| p.0);
    same(
        &by_region["city_wide"],
        percent(city_wide, received),
        "city-wide share",
    );
    for line in by_region["rows"]
        .as_array()
        .unwrap()
        .iter()
        .chain(by_region["apart"].as_array().unwrap())
    {
        within_100(line);
        let id = line["id"].as_str().unwrap();
        let (r, a) = counted.places.get(id).copied().unwrap_or_default();
        assert_eq!(line["counts"]["received"], r, "{id} received");
        assert_eq!(line["counts"]["answered"], a, "{id} answered");
        same(
            &line["rates"]["answered"],
            percent(a, r),
            &format!("{id} answered"),
        );
        // Lines apart (unplaced, city-wide) are in no region's population.
        let population = city
            .regions
            .get(&minhu_core::ids::RegionId::new(id))
            .and_then(|d| d.population)
            .filter(|_| line["apart"].is_null());
        same(
            &line["per_10k"],
            population.map(|p| r as f64 * 10_000.0 / p as f64),
            &format!("{id} per 10k"),
        );
    }

    let share = percent(answered, received).map_or_else(|| "—".to_owned(), |p| format!("{p:.1}%"));
    for english in [false, true] {
        let public = page(app, "/public", english).await;
        let dashboard = page(app, "/dashboard", english).await;
        for (name, html) in [("/public", &public), ("/dashboard", &dashboard)] {
            for p in percentages(html) {
                assert!(p <= 100.0, "{name} shows {p}%");
            }
        }
        let (received_label, answered_label, dash_received, dash_answered) = if english {
            (
                "Demands received",
                "Answered<",
                "Received, last 12 months",
                "Answered, last 12 months",
            )
        } else {
            ("收到诉求", "答复率<", "近12个月受理", "近12个月答复率")
        };
        assert_eq!(stat(&public, received_label), received.to_string());
        assert_eq!(stat(&public, answered_label), share);
        assert_eq!(stat(&dashboard, dash_received), received.to_string());
        assert_eq!(stat(&dashboard, dash_answered), share);
        // Each district's row: its name, received, answered; never the unplaced.
        for district in city
            .regions
            .all()
            .iter()
            .filter(|r| r.level == RegionLevel::District)
        {
            let (r, a) = counted
                .places
                .get(district.id.as_str())
                .copied()
                .unwrap_or_default();
            let row = format!(
                "<tr><th scope=\"row\">{}</th><td class=\"num\">{r}</td><td class=\"num\">{a}</td></tr>",
                district.name
            );
            assert!(public.contains(&row), "no {row} on /public");
        }
        assert_eq!(public.contains("id=\"unplaced\""), unplaced > 0);
        assert_eq!(public.contains("id=\"city-wide\""), city_wide > 0);
    }
}

fn run(db: fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = TestDb>>>, cases: u32) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&lives(), |lives| {
            rt.block_on(async {
                let db = db().await;
                let app = TestApp::on(db.store.clone()).await;
                check(&app, &lives).await;
                drop(app);
                db.close().await;
            });
            Ok(())
        })
        .unwrap();
}

#[test]
fn every_published_figure_is_its_recount_on_sqlite() {
    run(|| Box::pin(TestDb::sqlite()), 24);
}

#[test]
fn every_published_figure_is_its_recount_on_postgres() {
    run(|| Box::pin(TestDb::postgres()), 6);
}

/// The case the issue saw: a demand answered, reopened and answered again counts once;
/// one reopened and not yet answered again does not count; a spam call closed without
/// an answer does not count. The month can never show more answered than received.
#[tokio::test]
async fn a_demand_answered_twice_is_answered_once() {
    let app = TestApp::new().await;
    let twice = Life {
        place: 0,
        categorised: true,
        // accept, resolve, rate unsatisfied, reopen, accept, resolve
        steps: vec![
            (2, 0, 1),
            (7, 0, 2),
            (10, 5, 3),
            (11, 0, 1),
            (2, 0, 1),
            (7, 0, 4),
        ],
    };
    let open_again = Life {
        steps: twice.steps[..4].to_vec(),
        ..twice.clone()
    };
    let spam = Life {
        place: 2,
        categorised: false,
        steps: vec![(12, 0, 1)],
    };
    check(&app, &[twice, open_again, spam]).await;
    let (_, report) = app
        .get("/api/v1/analytics/rates?from=2026-01-01&to=2028-12-31&by=region")
        .await;
    assert_eq!(report["total"]["counts"]["received"], 3);
    assert_eq!(report["total"]["counts"]["answered"], 1);
    assert_eq!(report["total"]["counts"]["resolved"], 3);
}
