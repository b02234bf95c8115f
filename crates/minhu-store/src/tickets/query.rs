//! The SQL of ticket lists: a filter and the reader's scope become bound conditions.

use super::{Awaiting, TicketFilter, WorkCursor, WorkOrder};
use crate::db::{Bind, Conditions, escape_like, millis};
use minhu_core::access::Scope;
use minhu_core::timer::Alerts;

/// Narrows to the tickets a reader with `scope` may see (the `tickets` columns): a
/// unit sees what it holds and the joint cases it was summoned to (联办).
pub(super) fn scope(query: &mut Conditions, scope: &Scope) {
    let (units, ids): (bool, Vec<&str>) = match scope {
        Scope::All => return,
        // A city sees its tickets and those it handed over (转办).
        Scope::City(city, _) => {
            let id = || Bind::Text(city.as_str().to_owned());
            query.and("(city = ? OR city_from = ?)", vec![id(), id()]);
            return;
        }
        Scope::Units(units) => (true, units.iter().map(|u| u.as_str()).collect()),
        Scope::Regions(regions) => (false, regions.iter().map(|r| r.as_str()).collect()),
    };
    if ids.is_empty() {
        query.and("1 = 0", Vec::new());
        return;
    }
    let marks = vec!["?"; ids.len()].join(", ");
    let binds = || ids.iter().map(|id| Bind::Text((*id).to_owned()));
    if units {
        query.and(
            &format!(
                "(unit IN ({marks}) OR number IN \
                 (SELECT ticket FROM ticket_parts WHERE unit IN ({marks})))"
            ),
            binds().chain(binds()).collect(),
        );
    } else {
        query.and(&format!("region IN ({marks})"), binds().collect());
    }
}

/// How many tickets one page of a list holds.
pub(super) fn list_limit(filter: &TicketFilter) -> u32 {
    filter.limit.clamp(1, 500)
}

/// The query of one page of [`TicketStore::list`](crate::TicketStore::list) (one more row than the page, to tell whether
/// another follows); `None` when the filter's numbers are an empty list, so nothing matches.
pub(super) fn list_query(filter: &TicketFilter) -> Option<Conditions> {
    filtered("state, created_at, number", filter, list_limit(filter) + 1)
}

/// `SELECT columns` of the tickets `filter` selects, newest first, at most `limit`
/// rows; `None` when the filter's numbers are an empty list, so nothing matches.
pub(super) fn filtered(columns: &str, filter: &TicketFilter, limit: u32) -> Option<Conditions> {
    let mut query = selected(columns, filter)?;
    if let Some(text) = &filter.text {
        for word in text.split_whitespace() {
            let pattern = format!("%{}%", escape_like(word));
            query.and(
                "(title LIKE ? ESCAPE '\\' OR description LIKE ? ESCAPE '\\' OR number = ?)",
                vec![
                    Bind::Text(pattern.clone()),
                    Bind::Text(pattern),
                    Bind::Text(word.to_owned()),
                ],
            );
        }
    }
    if let Some(cursor) = &filter.cursor {
        // A row value: the start of a range of `tickets_by_created` on both backends,
        // so a page deep in a long history costs what the first does.
        query.and(
            "(created_at, number) < (?, ?)",
            vec![
                Bind::Int(cursor.created_at),
                Bind::Text(cursor.number.clone()),
            ],
        );
    }
    query.sql.push_str(&format!(
        " ORDER BY created_at DESC, number DESC LIMIT {limit}"
    ));
    Some(query)
}

/// The query of one page of a work list ([`TicketStore::work_list`](crate::TicketStore::work_list)):
/// the state, the order's key, created_at and number of at most `limit` tickets after
/// `after`, most pressing first.
pub(super) fn work_query(
    filter: &TicketFilter,
    order: &WorkOrder,
    after: Option<&WorkCursor>,
    limit: u32,
) -> Option<Conditions> {
    let (key, key_binds) = order_key(order);
    let mut head = Conditions::new("SELECT state, ");
    head.push(&key, key_binds.clone());
    head.sql.push_str(" AS work_key, created_at, number");
    let mut query = selected_with(head, filter)?;
    if let Some(after) = after {
        let mut binds = key_binds.clone();
        binds.extend([
            Bind::Int(after.key),
            Bind::Int(after.created_at),
            Bind::Text(after.number.clone()),
        ]);
        query.and(&format!("({key}, created_at, number) > (?, ?, ?)"), binds);
    }
    query.sql.push_str(" ORDER BY ");
    query.push(&key, key_binds);
    query
        .sql
        .push_str(&format!(", created_at, number LIMIT {limit}"));
    Some(query)
}

/// The key a work list is sorted by first, as SQL with its bound values.
fn order_key(order: &WorkOrder) -> (String, Vec<Bind>) {
    match order {
        WorkOrder::Urgency(tiers) => {
            let mut sql = String::from("(CASE tier");
            for rank in 0..tiers.len() {
                sql.push_str(&format!(" WHEN ? THEN {rank}"));
            }
            sql.push_str(&format!(" ELSE {} END)", tiers.len()));
            (sql, tiers.iter().cloned().map(Bind::Text).collect())
        }
        WorkOrder::Deadline => ("COALESCE(resolve_by, 0)".to_owned(), Vec::new()),
        WorkOrder::Review => ("COALESCE(review_on, 0)".to_owned(), Vec::new()),
    }
}

/// The window of when the tickets last changed, if the filter has one.
fn updated(query: &mut Conditions, filter: &TicketFilter) {
    if let Some(from) = filter.updated_from {
        query.and("updated_at >= ?", vec![Bind::Int(millis(from))]);
    }
    if let Some(to) = filter.updated_to {
        query.and("updated_at < ?", vec![Bind::Int(millis(to))]);
    }
}

/// `SELECT COUNT(*)` of the tickets `filter` selects (words and cursor aside).
pub(super) fn count_query(filter: &TicketFilter) -> Option<Conditions> {
    selected("COUNT(*)", filter)
}

/// `SELECT columns` of the tickets `filter` selects by its scope and columns; its words
/// and cursor are the caller's to add.
fn selected(columns: &str, filter: &TicketFilter) -> Option<Conditions> {
    selected_with(Conditions::new(&format!("SELECT {columns}")), filter)
}

/// [`selected`] with columns that have bound values of their own (a work list's key).
fn selected_with(mut query: Conditions, filter: &TicketFilter) -> Option<Conditions> {
    match &filter.numbers {
        None if filter.updated_from.is_some() => {
            // What changed in a window is read by the index of when tickets changed.
            // Left to itself the planner walks the list order's index instead (no sort
            // needed) and tests every ticket ever taken in; a subquery with a LIMIT is
            // never flattened into its outer query, so it reads the window first.
            query
                .sql
                .push_str(" FROM (SELECT * FROM tickets WHERE 1 = 1");
            updated(&mut query, filter);
            query
                .sql
                .push_str(&format!(" LIMIT {}) AS tickets WHERE 1 = 1", i64::MAX));
        }
        None => {
            query.sql.push_str(" FROM tickets WHERE 1 = 1");
            updated(&mut query, filter);
        }
        Some(numbers) if numbers.is_empty() => return None,
        Some(numbers) => {
            // A search's few matches are read by key first, and the other filters test
            // only those rows. Written as one more `AND number IN (...)`, SQLite's planner
            // preferred the status index (it also gives the order) and tested every
            // ticket of that status against the numbers: seconds at a million tickets.
            // A subquery with a LIMIT is never flattened into its outer query (SQLite
            // and PostgreSQL alike), and the numbers are keys, so the LIMIT drops none.
            query
                .sql
                .push_str(" FROM (SELECT * FROM tickets WHERE 1 = 1");
            let marks = vec!["?"; numbers.len()].join(", ");
            query.and(
                &format!("number IN ({marks})"),
                numbers.iter().cloned().map(Bind::Text).collect(),
            );
            query
                .sql
                .push_str(&format!(" LIMIT {}) AS tickets WHERE 1 = 1", numbers.len()));
            updated(&mut query, filter);
        }
    };
    scope(&mut query, &filter.scope);
    if let Some(status) = filter.status {
        query.and("status = ?", vec![Bind::Text(status.code().into())]);
    }
    if let Some(unit) = &filter.unit {
        query.and("unit = ?", vec![Bind::Text(unit.clone())]);
    }
    if let Some(path) = &filter.region_path {
        match after_prefix(path) {
            _ if filter.region_alone => {
                query.and("region_path = ?", vec![Bind::Text(path.clone())])
            }
            // A range, not LIKE: PostgreSQL takes `LIKE 'p%'` as a range of an index
            // only in the C collation (C.UTF-8 is not), so a place's tickets of the
            // last days were read as every ticket of those days (a duplicate check
            // 250-600 ms at 10M tickets); SQLite's LIKE ignores case and is never one.
            Some(end) => query.and(
                "region_path >= ? AND region_path < ?",
                vec![Bind::Text(path.clone()), Bind::Text(end)],
            ),
            None => query.and(
                "region_path LIKE ? ESCAPE '\\'",
                vec![Bind::Text(format!("{}%", escape_like(path)))],
            ),
        }
    }
    if let Some(category) = &filter.category {
        query.and(
            "(category = ? OR category LIKE ? ESCAPE '\\')",
            vec![
                Bind::Text(category.clone()),
                Bind::Text(format!("{}/%", escape_like(category))),
            ],
        );
    }
    if let Some(from) = filter.created_from {
        query.and("created_at >= ?", vec![Bind::Int(millis(from))]);
    }
    if let Some(to) = filter.created_to {
        query.and("created_at < ?", vec![Bind::Int(millis(to))]);
    }
    if let Some(phone) = &filter.phone {
        query.and("citizen_phone = ?", vec![Bind::Text(phone.clone())]);
    }
    if let Some(flag) = filter.flag {
        let flags = Alerts::matching(flag);
        let marks = vec!["?"; flags.len()].join(", ");
        query.and(
            &format!("alert IN ({marks})"),
            flags.iter().map(|f| Bind::Text(f.code().into())).collect(),
        );
    }
    if let Some(channel) = filter.channel {
        query.and("channel = ?", vec![Bind::Text(channel.code().into())]);
    }
    if let Some(kind) = filter.kind {
        query.and("kind = ?", vec![Bind::Text(kind.code().into())]);
    }
    if let Some(tier) = &filter.tier {
        query.and("tier = ?", vec![Bind::Text(tier.clone())]);
    }
    if let Some(awaiting) = filter.awaiting {
        query.and(
            match awaiting {
                Awaiting::Dispatch => "status = 'pending' AND returned_from IS NULL",
                Awaiting::Arbitration => "status = 'pending' AND returned_from IS NOT NULL",
                Awaiting::Extension => "extension_pending = 1",
                Awaiting::Review => "review_on IS NOT NULL",
                Awaiting::Disputed => "dispute_count > 0 AND status IN ('dispatched', 'accepted')",
            },
            Vec::new(),
        );
    }
    Some(query)
}

/// The first string after every string that starts with `prefix`, in byte order (the
/// order of both backends for these ASCII paths): the prefix with its last character
/// one higher. `None` where that character is not plain ASCII below DEL.
fn after_prefix(prefix: &str) -> Option<String> {
    let last = *prefix.as_bytes().last()?;
    if !(b' '..b'~').contains(&last) {
        return None;
    }
    let mut end = prefix[..prefix.len() - 1].to_owned();
    end.push(char::from(last + 1));
    Some(end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SqlStore;
    use minhu_core::ids::UnitId;
    use minhu_core::ticket::Status;
    use sqlx::Row;

    /// SQLite's plan of a list page: a line per step.
    async fn plan(store: &SqlStore, filter: &TicketFilter) -> Vec<String> {
        let mut explain = list_query(filter).unwrap();
        explain.sql = format!("EXPLAIN QUERY PLAN {}", explain.sql);
        explain
            .query()
            .fetch_all(&store.reader)
            .await
            .unwrap()
            .iter()
            .map(|row| row.try_get::<String, _>(3).unwrap())
            .collect()
    }

    /// A place's range ends right after its last descendant: `/A/A6/` holds
    /// `/A/A6/A6-10/` but not `/A/A60/` nor `/A/A7/`.
    #[test]
    fn a_place_prefix_ends_before_its_next_sibling() {
        let end = super::after_prefix("/A/A6/").unwrap();
        assert_eq!(end, "/A/A60");
        for inside in ["/A/A6/", "/A/A6/A6-10/", "/A/A6/A6-10/A6-10-03/"] {
            assert!(inside >= "/A/A6/" && inside < end.as_str(), "{inside}");
        }
        for outside in ["/A/A60/", "/A/A7/", "/A/", "/B/A6/"] {
            assert!(
                !(outside >= "/A/A6/" && outside < end.as_str()),
                "{outside}"
            );
        }
        assert_eq!(super::after_prefix(""), None);
        assert_eq!(super::after_prefix("/A/区"), None);
    }

    /// What changed since a moment (Open311's updates) is read through the index of
    /// migration 0021, not by walking every ticket.
    #[tokio::test]
    async fn a_window_of_changes_reads_the_update_index() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("plan.db").display());
        let store = SqlStore::connect(&url).await.unwrap();
        let filter = TicketFilter {
            updated_from: Some("2026-11-20T00:00:00Z".parse().unwrap()),
            ..TicketFilter::default()
        };
        let plan = plan(&store, &filter).await;
        assert!(
            plan.iter()
                .any(|line| line.contains("USING INDEX tickets_by_updated")),
            "{plan:#?}"
        );
        store.close().await;
    }

    /// SQLite's plan for searched lists with the filters that have an index of their
    /// own: the tickets must be looked up by their numbers, not found by walking an
    /// index of the other filters (a status filter took seconds at a million tickets).
    #[tokio::test]
    async fn a_searched_list_reads_its_numbers_by_key() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("plan.db").display());
        let store = SqlStore::connect(&url).await.unwrap();
        // A page's worth of matches: without statistics SQLite guesses an equality on
        // an index matches about ten rows, which then looks cheaper than 50 lookups.
        let searched = TicketFilter {
            numbers: Some((1..=50).map(|n| format!("202611220{n:05}")).collect()),
            ..TicketFilter::default()
        };
        let filters = [
            TicketFilter {
                status: Some(Status::Dispatched),
                ..searched.clone()
            },
            TicketFilter {
                unit: Some("water".into()),
                ..searched.clone()
            },
            TicketFilter {
                scope: Scope::Units(vec![UnitId::new("water")]),
                status: Some(Status::Dispatched),
                unit: Some("water".into()),
                region_path: Some("/A/".into()),
                category: Some("water".into()),
                phone: Some("13800000000".into()),
                flag: Some(minhu_core::timer::Flag::Overdue),
                ..searched.clone()
            },
        ];
        for filter in filters {
            let plan = plan(&store, &filter).await;
            let by_key = "SEARCH tickets USING INDEX sqlite_autoindex_tickets_1 (number=?)";
            assert!(
                plan.iter().any(|line| line == by_key),
                "{filter:?}: {plan:#?}"
            );
            assert!(
                !plan.iter().any(|line| line.contains("tickets_by_")),
                "{filter:?}: {plan:#?}"
            );
        }
        store.close().await;
    }
}
