//! The index against a real SQLite store: it finds tickets by their words, applies
//! the list filters, orders and pages like the store, and a reopened index carries on
//! from the mark of its last commit.

use jiff::Timestamp;
use minhu_core::access::Scope;
use minhu_core::deadline::{Deadlines, TierCode};
use minhu_core::event::{Actor, Change, Event, SystemPart};
use minhu_core::ids::{CityId, RegionId, TicketNumber, UnitId};
use minhu_core::taxonomy::CategoryPath;
use minhu_core::ticket::{Channel, Citizen, Intake, Kind, Status};
use minhu_search::{SearchIndex, catch_up};
use minhu_store::{Appended, Cursor, NewTicket, SqlStore, TicketFilter, TicketStore};
use std::sync::Arc;

async fn store(dir: &std::path::Path) -> Arc<SqlStore> {
    std::fs::create_dir_all(dir).unwrap();
    let url = format!("sqlite://{}", dir.join("minhu.db").display());
    Arc::new(SqlStore::connect(&url).await.unwrap())
}

async fn add(
    store: &SqlStore,
    title: &str,
    category: &str,
    region_path: &str,
    minute: i64,
) -> String {
    create(
        store,
        intake(title, category, region_path),
        region_path,
        minute,
    )
    .await
}

/// A demand placed at the end of `region_path`, of no city (as before provinces).
fn intake(title: &str, category: &str, region_path: &str) -> Intake {
    Intake {
        channel: Channel::Web,
        kind: Kind::Complaint,
        title: title.into(),
        description: format!("{title}，请尽快处理"),
        address: Some("洋湖街道".into()),
        location: None,
        citizen: Citizen::default(),
        category: Some(CategoryPath::new(category)),
        region: Some(RegionId::new(region_path.rsplit('/').nth(1).unwrap())),
        tier: TierCode("15d".into()),
        external_ref: None,
        city: None,
    }
}

/// Stores a demand taken in `minute` minutes after 09:00 on 2026-11-22; its number.
async fn create(store: &SqlStore, intake: Intake, region_path: &str, minute: i64) -> String {
    let at: Timestamp = "2026-11-22T01:00:00Z".parse::<Timestamp>().unwrap()
        + jiff::SignedDuration::from_mins(minute);
    let created = store
        .create_ticket(NewTicket {
            day: at.to_zoned(jiff::tz::TimeZone::UTC).date(),
            events: vec![Event {
                seq: 1,
                at,
                actor: Actor::citizen(),
                change: Change::Created(intake),
            }],
            region_path: Some(region_path.into()),
            idempotency: None,
            timers: Vec::new(),
            notifications: Vec::new(),
            audit: None,
        })
        .await
        .unwrap();
    created.ticket.number.as_str().to_owned()
}

fn numbers(index: &SearchIndex, words: &str, filter: &TicketFilter, limit: usize) -> Vec<String> {
    index
        .search(words, filter, limit)
        .unwrap()
        .into_iter()
        .map(|hit| hit.number)
        .collect()
}

#[tokio::test]
async fn finds_by_words_with_filters_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path()).await;
    let lamp_old = add(
        &store,
        "小区路灯不亮",
        "城乡建设/市政设施",
        "/A/A3/A3-01/",
        1,
    )
    .await;
    let noise = add(
        &store,
        "夜间施工噪音扰民",
        "环境保护/噪音",
        "/A/A3/A3-01/",
        2,
    )
    .await;
    let lamp_new = add(
        &store,
        "路灯坏了很久",
        "城乡建设/市政设施",
        "/A/A5/A5-02/",
        3,
    )
    .await;
    let index = Arc::new(SearchIndex::open(&dir.path().join("search")).unwrap());
    assert_eq!(catch_up(&*store, &index, |_| {}).await.unwrap(), 3);

    let any = TicketFilter::default();
    assert_eq!(
        numbers(&index, "路灯", &any, 10),
        vec![lamp_new.clone(), lamp_old.clone()]
    );
    assert_eq!(numbers(&index, "噪音", &any, 10), vec![noise.clone()]);
    // Every word must match; the address is searchable too.
    assert_eq!(
        numbers(&index, "路灯 不亮", &any, 10),
        vec![lamp_old.clone()]
    );
    assert_eq!(
        numbers(&index, "洋湖街道 噪音", &any, 10),
        vec![noise.clone()]
    );
    assert!(numbers(&index, "电梯", &any, 10).is_empty());
    assert!(
        numbers(&index, "，。", &any, 10).is_empty(),
        "no words, no matches"
    );

    let in_a3 = TicketFilter {
        region_path: Some("/A/A3/".into()),
        ..TicketFilter::default()
    };
    assert_eq!(numbers(&index, "路灯", &in_a3, 10), vec![lamp_old.clone()]);
    let category = TicketFilter {
        category: Some("环境保护".into()),
        ..TicketFilter::default()
    };
    assert!(numbers(&index, "路灯", &category, 10).is_empty());
    let closed = TicketFilter {
        status: Some(Status::Closed),
        ..TicketFilter::default()
    };
    assert!(numbers(&index, "路灯", &closed, 10).is_empty());

    // Paging: the cursor of the first page leads to the rest.
    let first = index.search("路灯", &any, 1).unwrap();
    assert_eq!(first.len(), 1);
    let after = TicketFilter {
        cursor: Some(Cursor {
            created_at: first[0].created_at,
            number: first[0].number.clone(),
        }),
        ..TicketFilter::default()
    };
    assert_eq!(numbers(&index, "路灯", &after, 10), vec![lamp_old]);
}

#[tokio::test]
async fn a_reopened_index_catches_up_from_its_last_commit() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path()).await;
    let first = add(&store, "路灯不亮", "城乡建设", "/A/", 1).await;
    {
        let index = Arc::new(SearchIndex::open(&dir.path().join("search")).unwrap());
        assert_eq!(catch_up(&*store, &index, |_| {}).await.unwrap(), 1);
    }
    let second = add(&store, "路灯闪烁", "城乡建设", "/A/", 2).await;
    let index = Arc::new(SearchIndex::open(&dir.path().join("search")).unwrap());
    assert_eq!(index.len(), 1, "the first run's commit survived");
    assert_eq!(
        catch_up(&*store, &index, |_| {}).await.unwrap(),
        1,
        "only what was written meanwhile is indexed again"
    );
    let any = TicketFilter::default();
    assert_eq!(numbers(&index, "路灯", &any, 10), vec![second, first]);
    assert_eq!(catch_up(&*store, &index, |_| {}).await.unwrap(), 0);
}

#[tokio::test]
async fn a_second_process_is_told_the_index_is_busy() {
    let dir = tempfile::tempdir().unwrap();
    let _held = SearchIndex::open(dir.path()).unwrap();
    let Err(error) = SearchIndex::open(dir.path()) else {
        panic!("two writers on one index");
    };
    assert!(error.to_string().contains("in use"), "{error}");
}

/// Appends `change` to the ticket as the system would.
async fn act(store: &SqlStore, number: &str, change: Change) {
    let number = TicketNumber::parse(number).unwrap();
    let mut ticket = store.ticket(&number).await.unwrap().unwrap();
    let event = Event {
        seq: ticket.version + 1,
        at: ticket.updated_at,
        actor: Actor::system(SystemPart::Router),
        change,
    };
    ticket.apply(&event);
    store
        .append(Appended {
            ticket: &ticket,
            events: std::slice::from_ref(&event),
            region_path: None,
            timers: &[],
            fired: None,
            notifications: &[],
        })
        .await
        .unwrap();
}

fn dispatched(unit: &str) -> Change {
    let at: Timestamp = "2026-11-22T02:00:00Z".parse().unwrap();
    Change::Dispatched {
        unit: UnitId::new(unit),
        deadlines: Deadlines {
            respond_by: at,
            resolve_by: at,
        },
        reason: "test".into(),
        basis: None,
    }
}

#[tokio::test]
async fn a_data_scope_sees_only_its_tickets() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path()).await;
    let held = add(&store, "路灯不亮", "城乡建设", "/A/A3/A3-01/", 1).await;
    let joint = add(&store, "路灯倒了", "城乡建设", "/A/A5/A5-02/", 2).await;
    let other = add(&store, "路灯闪烁", "城乡建设", "/A/A5/A5-02/", 3).await;
    act(&store, &held, dispatched("dept-housing")).await;
    act(&store, &joint, dispatched("dept-roads")).await;
    act(
        &store,
        &joint,
        Change::Summoned {
            units: vec![UnitId::new("dept-housing")],
            note: "联办".into(),
        },
    )
    .await;
    act(&store, &other, dispatched("dept-roads")).await;
    let index = Arc::new(SearchIndex::open(&dir.path().join("search")).unwrap());
    catch_up(&*store, &index, |_| {}).await.unwrap();

    let scoped = |scope: Scope| TicketFilter {
        scope,
        ..TicketFilter::default()
    };
    let housing = scoped(Scope::Units(vec![UnitId::new("dept-housing")]));
    assert_eq!(
        numbers(&index, "路灯", &housing, 10),
        vec![joint.clone(), held.clone()],
        "its own ticket and the joint case it was summoned to"
    );
    let a3 = scoped(Scope::Regions(vec![RegionId::new("A3-01")]));
    assert_eq!(numbers(&index, "路灯", &a3, 10), vec![held.clone()]);
    assert!(numbers(&index, "路灯", &scoped(Scope::Units(Vec::new())), 10).is_empty());
    assert_eq!(
        numbers(&index, "路灯", &scoped(Scope::All), 10),
        vec![other, joint, held]
    );
}

/// A city of a province searches its own tickets and those it handed over (转办) in the
/// index itself: a page of the city's matches is full however many newer matches the
/// other cities have, and a ticket taken in before provinces counts as the city its
/// column was given (`TicketStore::adopt_city`).
#[tokio::test]
async fn a_city_searches_only_its_tickets_and_those_it_handed_over() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path()).await;
    let before_provinces = add(&store, "路灯不亮", "城乡建设", "/A/A3/A3-01/", 0).await;
    store.adopt_city(&CityId::new("A")).await.unwrap();
    let in_city = |city: &str, region_path: &str| Intake {
        city: Some(CityId::new(city)),
        ..intake("路灯不亮", "城乡建设", region_path)
    };
    let a = create(&store, in_city("A", "/A/A3/A3-01/"), "/A/A3/A3-01/", 1).await;
    let handed = create(&store, in_city("A", "/A/A3/A3-01/"), "/A/A3/A3-01/", 2).await;
    act(
        &store,
        &handed,
        Change::TransferredCity {
            from: Some(CityId::new("A")),
            to: CityId::new("B"),
            reason: "地址在B市".into(),
            respond_by: "2026-11-23T01:00:00Z".parse().unwrap(),
        },
    )
    .await;
    let mut b = Vec::new();
    for minute in 3..8 {
        b.push(create(&store, in_city("B", "/B/B1/"), "/B/B1/", minute).await);
    }
    let index = Arc::new(SearchIndex::open(&dir.path().join("search")).unwrap());
    catch_up(&*store, &index, |_| {}).await.unwrap();

    let city = |id: &str| TicketFilter {
        scope: Scope::City(CityId::new(id), Vec::new()),
        ..TicketFilter::default()
    };
    assert_eq!(
        numbers(&index, "路灯", &city("A"), 3),
        vec![handed.clone(), a, before_provinces]
    );
    let mut seen_by_b: Vec<String> = b.iter().rev().cloned().collect();
    seen_by_b.push(handed);
    assert_eq!(numbers(&index, "路灯", &city("B"), 10), seen_by_b);
    assert!(numbers(&index, "路灯", &city("C"), 10).is_empty());
}

#[tokio::test]
async fn pages_of_tickets_made_in_one_moment_follow_the_number_text() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path()).await;
    // Twelve tickets of one millisecond: only the number orders them.
    let mut made = Vec::new();
    for _ in 0..12 {
        made.push(add(&store, "井盖丢失", "城乡建设", "/A/A3/A3-01/", 0).await);
    }
    let index = Arc::new(SearchIndex::open(&dir.path().join("search")).unwrap());
    catch_up(&*store, &index, |_| {}).await.unwrap();
    let mut seen = Vec::new();
    let mut filter = TicketFilter::default();
    loop {
        let page = index.search("井盖", &filter, 5).unwrap();
        let Some(last) = page.last() else { break };
        filter.cursor = Some(Cursor {
            created_at: last.created_at,
            number: last.number.clone(),
        });
        seen.extend(page.into_iter().map(|hit| hit.number));
    }
    made.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, made, "each once, newest number first");
    // The store's order, and so the index's, is the text's.
    let bad = TicketFilter {
        cursor: Some(Cursor {
            created_at: 0,
            number: "not a number".into(),
        }),
        ..TicketFilter::default()
    };
    let error = index.search("井盖", &bad, 5).unwrap_err();
    assert!(error.to_string().starts_with("cursor:"), "{error}");
}

#[tokio::test]
async fn an_index_of_another_store_is_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let index_dir = dir.path().join("search");
    {
        let old = store(&dir.path().join("old")).await;
        for minute in 0..3 {
            add(&old, "旧的路灯", "城乡建设", "/A/", minute).await;
        }
        let index = Arc::new(SearchIndex::open(&index_dir).unwrap());
        assert_eq!(catch_up(&*old, &index, |_| {}).await.unwrap(), 3);
    }
    // A fresh database in the old one's place (demo --fresh): same numbers, new words.
    let new = store(&dir.path().join("new")).await;
    let fresh = add(&new, "新的噪音", "环境保护", "/A/", 0).await;
    let index = Arc::new(SearchIndex::open(&index_dir).unwrap());
    assert_eq!(catch_up(&*new, &index, |_| {}).await.unwrap(), 1);
    let any = TicketFilter::default();
    assert!(
        numbers(&index, "路灯", &any, 10).is_empty(),
        "the old words are gone"
    );
    assert_eq!(numbers(&index, "噪音", &any, 10), vec![fresh]);
    assert_eq!(index.len(), 1);
}

#[tokio::test]
async fn personal_data_is_found_only_by_those_who_see_identities() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path()).await;
    let demand = |description: &str, citizen: Citizen| Intake {
        channel: Channel::Phone,
        kind: Kind::Complaint,
        title: "楼上漏水".into(),
        description: description.into(),
        address: Some("3栋2单元501室".into()),
        location: None,
        citizen,
        category: None,
        region: Some(RegionId::new("A3-01")),
        tier: TierCode("15d".into()),
        external_ref: None,
        city: None,
    };
    let written = create(
        &store,
        demand(
            "我叫王建国，电话 +86 137-5555-6666，座机(0731)8888 9999，身份证430102199003074515，\
             邮箱 Wang.JG@example.cn，可拨0731-88665110问物业办",
            Citizen {
                phone: Some("13912345678".into()),
                name: Some("王建国".into()),
                ..Citizen::default()
            },
        ),
        "/A/A3/A3-01/",
        1,
    )
    .await;
    let index = Arc::new(
        SearchIndex::open(&dir.path().join("search"))
            .unwrap()
            .with_privacy(minhu_core::city::PrivacySettings {
                public_numbers: vec!["073188665110".into(), "88665110".into()],
                mask_plates: false,
            }),
    );
    catch_up(&*store, &index, |_| {}).await.unwrap();
    let unit = TicketFilter::default();
    let centre = TicketFilter {
        identity: true,
        ..TicketFilter::default()
    };
    let found = vec![written.clone()];
    for query in [
        "13755556666",
        "137-5555-6666",
        "+86 137 5555 6666",
        "13912345678",
        "073188889999",
        "0731-8888-9999",
        "88889999",
        "430102199003074515",
        "wang.jg@example.cn",
        "王建国",
        "漏水 13755556666",
    ] {
        assert_eq!(
            numbers(&index, query, &centre, 10),
            found,
            "the centre: {query}"
        );
        assert!(
            numbers(&index, query, &unit, 10).is_empty(),
            "a unit: {query}"
        );
    }
    // Not even part of a number, nor the name's characters, find it for a unit.
    for query in ["5555", "6666", "1375555", "19900307", "建国", "example"] {
        assert!(
            numbers(&index, query, &unit, 10).is_empty(),
            "a unit: {query}"
        );
    }
    // The rest of the words, the ticket's number and a public office's number stay
    // searchable by everyone.
    for query in [
        "漏水",
        "3栋2单元501室",
        written.as_str(),
        "0731-88665110",
        "88665110 物业",
    ] {
        assert_eq!(numbers(&index, query, &unit, 10), found, "a unit: {query}");
        assert_eq!(
            numbers(&index, query, &centre, 10),
            found,
            "the centre: {query}"
        );
    }
}

#[tokio::test]
async fn an_index_of_another_layout_is_refused_with_advice() {
    use tantivy::schema::{Schema, TEXT};
    let dir = tempfile::tempdir().unwrap();
    let mut old = Schema::builder();
    old.add_text_field("text", TEXT);
    tantivy::Index::create_in_dir(dir.path(), old.build()).unwrap();
    let Err(error) = SearchIndex::open(dir.path()) else {
        panic!("an index of another layout opened")
    };
    assert!(error.to_string().contains("minhu admin reindex"), "{error}");
    assert!(SearchIndex::open_for_rebuild(dir.path()).is_ok());
}
