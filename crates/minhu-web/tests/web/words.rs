//! Plain words on every page: each page the app declares, for every role, a citizen
//! following a ticket and a visitor, in Chinese and in English, on an app holding
//! tickets in every state, must show labels and never an internal string.
//!
//! What is internal comes from the code, not from a hand-kept list: every code of every
//! labelled enum and its name in Rust (`minhu_core::label::vocabularies`), actor ids
//! (`system:<part>`, `user:<login>`, `token:<name>`), the city's tier codes and unit and
//! region ids, `true`/`false`, and UTC times as RFC 3339 writes them. English pages may
//! show Chinese only inside the city's own names (units, places, categories, tiers
//! without an English name) and what people wrote (titles, texts, replies, reasons).

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use jiff::SignedDuration;
use minhu_core::access::{Permission, Role};
use minhu_core::event::SystemPart;
use minhu_core::label::vocabularies;
use minhu_engine::timers::TimerWorker;
use minhu_testkit::web::TestApp;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use tower::ServiceExt;

const PHONE: &str = "13812345678";

/// What a reader is: an official of a role (with a token), a citizen following a
/// ticket (with a session), or a visitor.
#[derive(Clone, Debug)]
enum Reader {
    Official(Role, String),
    Citizen(String),
    Visitor,
}

impl Reader {
    fn name(&self) -> String {
        match self {
            Reader::Official(role, _) => role.code().to_owned(),
            Reader::Citizen(_) => "citizen following a ticket".into(),
            Reader::Visitor => "visitor".into(),
        }
    }
}

/// The demo city's tickets in many states, and everything people wrote into them.
struct Fixture {
    app: TestApp,
    /// A token that may do everything, for building the states.
    all: String,
    numbers: Vec<String>,
    /// Texts people wrote: English pages may show them as they are.
    written: Vec<String>,
    /// The unit the routed tickets went to.
    unit: String,
}

/// Another unit, summoned to the joint case and reassigned to.
const OTHER_UNIT: &str = "street-A3-01";

impl Fixture {
    async fn new() -> Fixture {
        let app = TestApp::new().await;
        let all = app.token_with("fixture", Permission::ALL, None, None).await;
        let mut fixture = Fixture {
            app,
            all,
            numbers: Vec::new(),
            written: Vec::new(),
            unit: String::new(),
        };
        fixture.populate().await;
        fixture
    }

    fn wrote(&mut self, text: &str) -> String {
        self.written.push(text.to_owned());
        text.to_owned()
    }

    /// A demand routed to a property unit (dispatched).
    async fn routed(&mut self, title: &str) -> String {
        let body = json!({
            "channel": "phone", "kind": "complaint", "title": self.wrote(title),
            "description": self.wrote("小区电梯坏了一个月物业不修"),
            "address": self.wrote("A3区天顶街道尖山社区"),
            "category": "城乡建设/住房保障与房地产/物业服务",
            "citizen": {"phone": PHONE, "name": self.wrote("张三")}
        });
        self.create(body).await
    }

    /// A consultation routing cannot place or classify (pending).
    async fn unrouted(&mut self, title: &str) -> String {
        let body = json!({
            "channel": "web", "kind": "consultation", "title": self.wrote(title),
            "description": self.wrote("请问公积金怎么提取"),
            "citizen": {"phone": PHONE}
        });
        self.create(body).await
    }

    async fn create(&mut self, body: Value) -> String {
        let (status, created) = self
            .app
            .post_as(Some(&self.all), "/api/v1/tickets", &body.to_string(), None)
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let number = created["number"].as_str().unwrap().to_owned();
        self.numbers.push(number.clone());
        number
    }

    /// Takes `action` on the ticket; every step of the fixture must succeed.
    async fn act(&mut self, number: &str, action: Value) {
        for key in ["reason", "reply", "note", "report", "answer"] {
            if let Some(text) = action[key].as_str() {
                self.written.push(text.to_owned());
            }
        }
        let (status, body) = self
            .app
            .act_as(Some(&self.all), number, action.clone())
            .await;
        assert_eq!(status, StatusCode::OK, "{action} on {number}: {body}");
    }

    async fn populate(&mut self) {
        self.unrouted("咨询公积金提取").await;
        let dispatched = self.routed("电梯坏了").await;
        let (_, ticket) = self
            .app
            .get_as(Some(&self.all), &format!("/api/v1/tickets/{dispatched}"))
            .await;
        self.unit = ticket["unit"].as_str().unwrap().to_owned();

        let accepted = self.routed("电梯又坏了").await;
        self.act(&accepted, json!({"action": "accept"})).await;
        self.act(&accepted, json!({"action": "urge", "note": "请尽快处理"}))
            .await;

        let rated = self.routed("楼道灯不亮").await;
        self.act(&rated, json!({"action": "accept"})).await;
        self.act(&rated, json!({"action": "resolve", "reply": "已更换灯泡"}))
            .await;
        self.act(
            &rated,
            json!({"action": "rate", "solved": true, "satisfaction": "satisfied"}),
        )
        .await;
        self.act(&rated, json!({"action": "close"})).await;

        let reopened = self.routed("垃圾没人清").await;
        self.act(&reopened, json!({"action": "accept"})).await;
        self.act(&reopened, json!({"action": "resolve", "reply": "已清理"}))
            .await;
        self.act(
            &reopened,
            json!({"action": "rate", "solved": false, "satisfaction": "unsatisfied"}),
        )
        .await;
        self.act(&reopened, json!({"action": "reopen", "reason": "还是没清"}))
            .await;

        let returned = self.routed("路灯坏了").await;
        self.act(
            &returned,
            json!({"action": "return", "reason": "不属于本单位职责"}),
        )
        .await;

        let long_term = self.routed("小区停车难").await;
        self.act(&long_term, json!({"action": "accept"})).await;
        self.act(
            &long_term,
            json!({"action": "mark_long_term", "reason": "需要规划新车位",
                   "review_on": "2027-03-01"}),
        )
        .await;

        let extended = self.routed("水管漏水").await;
        self.act(&extended, json!({"action": "accept"})).await;
        self.act(
            &extended,
            json!({"action": "request_extension", "days": 5, "reason": "需要采购配件"}),
        )
        .await;
        self.act(
            &extended,
            json!({"action": "decide_extension", "approve": true, "reason": "同意"}),
        )
        .await;

        let joint = self.routed("占道经营").await;
        self.act(&joint, json!({"action": "accept"})).await;
        self.act(
            &joint,
            json!({"action": "summon", "units": [OTHER_UNIT], "note": "请街道配合"}),
        )
        .await;
        self.act(&joint, json!({"action": "accept_part", "unit": OTHER_UNIT}))
            .await;
        self.act(
            &joint,
            json!({"action": "report_part", "unit": OTHER_UNIT, "report": "已劝离"}),
        )
        .await;

        let main = self.routed("噪音扰民").await;
        let merged = self.routed("噪音扰民（重复）").await;
        self.act(
            &merged,
            json!({"action": "merge", "into": main, "reason": "同一事项"}),
        )
        .await;

        let answered = self.unrouted("咨询社保").await;
        self.act(
            &answered,
            json!({"action": "answer_at_intake", "answer": "请到社保中心办理"}),
        )
        .await;

        let reassigned = self.routed("井盖松动").await;
        self.act(
            &reassigned,
            json!({"action": "reassign", "unit": OTHER_UNIT, "reason": "属街道管理"}),
        )
        .await;

        // A day and a half later the routed tickets' clocks have run: warnings,
        // overdue marks and escalations fire as the timer worker fires them.
        self.app.clock.advance(SignedDuration::from_hours(36));
        TimerWorker::new(self.app.state.engine.clone())
            .run_due()
            .await
            .unwrap();
    }

    /// The readers: every role (the unit's roles at the routed tickets' unit), a
    /// citizen following the rated ticket, a visitor.
    async fn readers(&self) -> Vec<Reader> {
        let mut readers = Vec::new();
        // Tokens are named as an administrator would name them, not by a role's code.
        for (desk, &role) in Role::ALL.iter().enumerate() {
            let unit =
                matches!(role, Role::UnitHandler | Role::UnitLeader).then_some(self.unit.as_str());
            let token = self
                .app
                .token(&format!("desk{desk}"), role, unit, None)
                .await;
            readers.push(Reader::Official(role, token));
        }
        readers.push(Reader::Citizen(self.citizen_session().await));
        readers.push(Reader::Visitor);
        readers
    }

    /// A follow session (its cookie) on the rated ticket, by the one-time code.
    async fn citizen_session(&self) -> String {
        let number = &self.numbers[3];
        let (status, _) = self
            .app
            .post_as(
                None,
                "/api/v1/follow/code",
                &json!({"number": number, "phone": PHONE}).to_string(),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED);
        let code = self.app.sms.sent().last().unwrap().2.clone();
        let (status, _, cookie) = crate::follow::open(&self.app, number, &code).await;
        assert_eq!(status, StatusCode::OK);
        cookie
    }

    /// Every page the app declares (GET routes answering HTML), a ticket's page for
    /// each ticket, the list by each status.
    fn pages(&self) -> Vec<String> {
        let mut pages = Vec::new();
        for route in minhu_web::routes().table().routes() {
            let path = route.path.as_str();
            let not_a_page = ["/api/", "/open311/", "/static/", "/lang/"]
                .iter()
                .any(|p| path.starts_with(p))
                || ["/healthz", "/logout", "/inbox/events"].contains(&path);
            if route.method != Method::GET || not_a_page {
                continue;
            }
            if path.contains("{number}") {
                pages.extend(self.numbers.iter().map(|n| path.replace("{number}", n)));
            } else {
                assert!(
                    !path.contains('{'),
                    "{path}: a page with a parameter to fill"
                );
                pages.push(path.to_owned());
            }
        }
        pages.extend(
            minhu_core::ticket::Status::ALL
                .iter()
                .map(|s| format!("/tickets?status={}", s.code())),
        );
        pages
    }

    /// The page's HTML as `reader` gets it in `english` or Chinese; `None` when the
    /// page is not theirs (a redirect to sign in, a refusal).
    async fn render(&self, page: &str, reader: &Reader, english: bool) -> Option<String> {
        let lang = if english { "en" } else { "zh" };
        let mut cookies = vec![format!("minhu_lang={lang}")];
        let mut request = Request::get(page);
        match reader {
            Reader::Official(_, token) => {
                request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
            }
            Reader::Citizen(cookie) => cookies.push(cookie.clone()),
            Reader::Visitor => {}
        }
        let request = request
            .header(header::COOKIE, cookies.join("; "))
            .body(Body::empty())
            .unwrap();
        let response = self.app.router.clone().oneshot(request).await.unwrap();
        let html = response
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|t| t.as_bytes().starts_with(b"text/html"));
        if response.status() != StatusCode::OK || !html {
            return None;
        }
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        Some(String::from_utf8(bytes.to_vec()).unwrap())
    }
}

/// The words people read on a page: its text outside scripts and styles, entities
/// decoded, and the attributes read aloud or shown (`title`, `alt`, `placeholder`,
/// `aria-label`); never `value`, a text area's content, `data-*` or other attributes. Each piece says whether
/// an element marked it as Chinese (`lang="zh-CN"`: the language switch's "中文").
fn visible_text(html: &str) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let mut rest = html;
    let mut marked_chinese = false;
    while let Some(open) = rest.find('<') {
        push_text(&mut out, &rest[..open], marked_chinese);
        rest = &rest[open..];
        let Some(close) = rest.find('>') else { break };
        let tag = &rest[1..close];
        rest = &rest[close + 1..];
        if tag.starts_with("!--") {
            let end = rest.find("-->").map_or(rest.len(), |e| e + 3);
            rest = &rest[end..];
            continue;
        }
        let name: String = tag
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        marked_chinese = attribute_value(tag, "lang").is_some_and(|l| l.starts_with("zh"));
        for attribute in ["title", "alt", "placeholder", "aria-label"] {
            if let Some(value) = attribute_value(tag, attribute) {
                push_text(&mut out, value, marked_chinese);
            }
        }
        // A text area's content is its value, as typed or to be edited.
        if name == "script" || name == "style" || name == "textarea" {
            let end = rest.find(&format!("</{name}")).unwrap_or(rest.len());
            rest = &rest[end..];
        }
    }
    push_text(&mut out, rest, false);
    out
}

fn attribute_value<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let at = tag.find(&format!(" {name}=\""))?;
    let start = at + name.len() + 3;
    let end = tag[start..].find('"')?;
    Some(&tag[start..start + end])
}

fn push_text(out: &mut Vec<(String, bool)>, raw: &str, chinese: bool) {
    let text = raw
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&amp;", "&");
    let text = decode_numeric_entities(&text);
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if !text.is_empty() {
        out.push((text, chinese));
    }
}

/// `&#62;` and `&#x3E;` as the characters they stand for.
fn decode_numeric_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("&#") {
        out.push_str(&rest[..at]);
        let tail = &rest[at + 2..];
        let decoded = tail.find(';').and_then(|end| {
            let digits = &tail[..end];
            let code = match digits.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok(),
                None => digits.parse().ok(),
            };
            code.and_then(char::from_u32).map(|c| (c, end))
        });
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &tail[end + 1..];
            }
            None => {
                out.push_str("&#");
                rest = tail;
            }
        }
    }
    out.push_str(rest);
    out
}

/// An internal string and how it may be found.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Internal {
    text: String,
    /// A plain lowercase word (`pending`, `phone`): English prose may use it, so on
    /// English pages only a whole piece of text that is just this word gives it away.
    plain_word: bool,
    /// A one-word Rust name (`Pending`): English pages may show it as a label.
    chinese_only: bool,
}

/// Every internal string, from the code and the city's configuration.
fn internal_strings(fixture: &Fixture) -> Vec<Internal> {
    let city = fixture.app.state.engine.city();
    let mut texts: BTreeSet<(String, bool)> = BTreeSet::new();
    for vocabulary in vocabularies() {
        for word in vocabulary.words {
            texts.insert((word.code.to_owned(), false));
            texts.insert((word.rust_name.to_owned(), true));
        }
    }
    for part in SystemPart::ALL {
        texts.insert((format!("system:{}", part.code()), false));
    }
    for word in ["anonymous", "true", "false"] {
        texts.insert((word.to_owned(), false));
    }
    for role in Role::ALL {
        texts.insert((format!("user:{}", role.code()), false));
        texts.insert((format!("token:{}", role.code()), false));
    }
    texts.insert(("token:fixture".into(), false));
    for desk in 0..Role::ALL.len() {
        texts.insert((format!("token:desk{desk}"), false));
    }
    for tier in &city.tiers {
        texts.insert((tier.code.as_str().to_owned(), false));
    }
    for unit in city.units.all() {
        texts.insert((unit.id.as_str().to_owned(), false));
    }
    for region in city.regions.all() {
        // Region ids such as "A3" are written inside place names ("A3区"); only the
        // compound ones ("A3-01") are nobody's words.
        if region.id.as_str().contains('-') {
            texts.insert((region.id.as_str().to_owned(), false));
        }
    }
    texts
        .into_iter()
        .filter(|(text, _)| !text.is_empty())
        .map(|(text, rust_name)| Internal {
            plain_word: text.chars().all(|c| c.is_ascii_lowercase()),
            chinese_only: rust_name && text.chars().skip(1).all(|c| c.is_ascii_lowercase()),
            text,
        })
        .collect()
}

/// Where `needle` stands in `haystack` as a whole word (not inside a longer run of
/// letters, digits, `_`, `.`, `:` or `-`).
fn has_word(haystack: &str, needle: &str) -> bool {
    let part = |c: char| c.is_ascii_alphanumeric() || "_.:-".contains(c);
    haystack.match_indices(needle).any(|(at, _)| {
        let before = haystack[..at].chars().next_back();
        let after = haystack[at + needle.len()..].chars().next();
        !before.is_some_and(part) && !after.is_some_and(part)
    })
}

/// A UTC time as RFC 3339 writes it (`2026-11-22T02:00:00Z`, `...+00:00`).
fn utc_time(text: &str) -> Option<&str> {
    let bytes = text.as_bytes();
    let shape = b"dddd-dd-ddTdd:dd";
    (0..bytes.len().saturating_sub(shape.len() - 1)).find_map(|at| {
        let fits = shape.iter().zip(&bytes[at..]).all(|(s, b)| match s {
            b'd' => b.is_ascii_digit(),
            s => s == b,
        });
        fits.then(|| &text[at..(at + 25).min(text.len())])
    })
}

fn is_han(c: char) -> bool {
    ('\u{4e00}'..='\u{9fff}').contains(&c) || ('\u{3400}'..='\u{4dbf}').contains(&c)
}

/// The city's own names and what people wrote, longest first: English pages may
/// show them as they are.
fn proper_names(fixture: &Fixture) -> Vec<String> {
    let city = fixture.app.state.engine.city();
    let mut names: BTreeSet<String> = fixture.written.iter().cloned().collect();
    names.insert(city.name.clone());
    for unit in city.units.all() {
        if unit.name_en.is_none() {
            names.insert(unit.name.clone());
        }
    }
    for region in city.regions.all() {
        names.insert(region.name.clone());
        names.extend(region.aliases.iter().cloned());
    }
    for place in city.places.places() {
        names.extend(place.names().map(str::to_owned));
    }
    for path in city.taxonomy.paths() {
        names.extend(path.levels().map(str::to_owned));
    }
    for tier in &city.tiers {
        if tier.label_en.is_none() {
            names.insert(tier.label.clone());
        }
        // The urgency words routing quotes from a demand ("the text says 燃气泄漏").
        names.extend(tier.words.iter().cloned());
    }
    for rule in &city.urgency_rules.rules {
        names.extend(rule.words.iter().cloned());
    }
    let mut names: Vec<String> = names.into_iter().filter(|n| !n.is_empty()).collect();
    names.sort_by_key(|n| std::cmp::Reverse(n.chars().count()));
    names
}

/// What is wrong with one piece of a page's text, if anything.
fn offence(
    text: &str,
    english: bool,
    internals: &[Internal],
    labels: &BTreeSet<&str>,
    names: &[String],
) -> Option<String> {
    if let Some(time) = utc_time(text) {
        return Some(format!("a UTC time {time:?}"));
    }
    for internal in internals {
        if labels.contains(internal.text.as_str()) {
            continue;
        }
        let found = if english {
            if internal.chinese_only {
                false
            } else if internal.plain_word {
                text == internal.text
            } else {
                has_word(text, &internal.text)
            }
        } else {
            has_word(text, &internal.text)
        };
        if found {
            return Some(format!("the internal string {:?}", internal.text));
        }
    }
    if english {
        let mut rest = text.to_owned();
        for name in names {
            if rest.contains(name.as_str()) {
                rest = rest.replace(name.as_str(), " ");
            }
        }
        if let Some(han) = rest.split(|c: char| !is_han(c)).find(|s| !s.is_empty()) {
            return Some(format!("Chinese {han:?} on an English page"));
        }
    }
    None
}

/// Everything wrong on one page, named by page, reader and language.
fn offences(
    html: &str,
    page: &str,
    reader: &Reader,
    english: bool,
    internals: &[Internal],
    names: &[String],
) -> Vec<String> {
    let labels: BTreeSet<&str> = vocabularies()
        .iter()
        .flat_map(|v| v.words.iter().map(|w| w.label.pick(english)))
        .collect();
    visible_text(html)
        .iter()
        .filter_map(|(text, chinese)| {
            // Text marked Chinese is Chinese on purpose, on any page.
            let english = english && !chinese;
            offence(text, english, internals, &labels, names).map(|what| {
                format!(
                    "{page} as {} in {}: {what} in {text:?}",
                    reader.name(),
                    if english { "English" } else { "Chinese" }
                )
            })
        })
        .collect()
}

#[tokio::test]
async fn every_page_speaks_plain_words_to_every_reader_in_both_languages() {
    let fixture = Fixture::new().await;
    let internals = internal_strings(&fixture);
    let names = proper_names(&fixture);
    let readers = fixture.readers().await;
    let pages = fixture.pages();
    let mut rendered = 0;
    let mut problems = Vec::new();
    for page in &pages {
        for reader in &readers {
            for english in [false, true] {
                let Some(html) = fixture.render(page, reader, english).await else {
                    continue;
                };
                rendered += 1;
                problems.extend(offences(&html, page, reader, english, &internals, &names));
            }
        }
    }
    // Every reader saw pages: the administrator nearly all of them.
    assert!(rendered > pages.len(), "only {rendered} pages rendered");
    assert!(
        problems.is_empty(),
        "{} internal strings on {rendered} pages:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// The check itself: a code, an actor, a UTC time or Chinese words planted on a page
/// are each caught and named.
#[tokio::test]
async fn a_planted_internal_string_is_caught() {
    let fixture = Fixture::new().await;
    let internals = internal_strings(&fixture);
    let names = proper_names(&fixture);
    let reader = Reader::Official(Role::Dispatcher, String::new());
    let html = fixture
        .render(
            "/tickets",
            &Reader::Official(Role::Auditor, fixture.all.clone()),
            true,
        )
        .await
        .unwrap();
    let clean = offences(&html, "/tickets", &reader, true, &internals, &names);
    for (planted, english, expected) in [
        ("<td>dispatched</td>", true, "\"dispatched\""),
        ("<td>状态 dispatched</td>", false, "\"dispatched\""),
        ("<td>由 system:router 派单</td>", false, "\"system:router\""),
        (
            "<span title=\"DistrictDepartment\">x</span>",
            true,
            "DistrictDepartment",
        ),
        ("<td>2026-11-22T02:00:00Z</td>", true, "UTC time"),
        ("<td>Answered 已办结</td>", true, "Chinese \"已办结\""),
        ("<td>unit_handler</td>", true, "unit_handler"),
        ("<td>是否保密 true</td>", false, "\"true\""),
    ] {
        let planted_html = html.replace("</main>", &format!("{planted}</main>"));
        let found = offences(
            &planted_html,
            "/tickets",
            &reader,
            english,
            &internals,
            &names,
        );
        let new: Vec<&String> = found.iter().filter(|f| !clean.contains(f)).collect();
        assert!(
            new.iter()
                .any(|f| f.contains(expected) && f.starts_with("/tickets as dispatcher in ")),
            "{planted} was not caught: {new:?}"
        );
    }
    // Proper names and labels pass on English pages.
    let fine = html.replace(
        "</main>",
        &format!("<td>{}</td><td>Awaiting dispatch</td></main>", names[0]),
    );
    assert_eq!(
        offences(&fine, "/tickets", &reader, true, &internals, &names).len(),
        clean.len()
    );
}
