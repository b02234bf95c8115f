//! Every route declared once: its method and path, its access rule and, for the JSON
//! API, its OpenAPI operation, written together where the route is added.
//!
//! A room lists its routes with [`Routes::api`] (a handler with `#[utoipa::path]`: the
//! method, the path and the document come from that attribute: the JSON API and Open311),
//! [`Routes::page`] (pages people read, which the OpenAPI document leaves out) or
//! [`Routes::foreign`] (a route answering programs in a protocol described elsewhere: a
//! platform's webhook, the document itself). Each takes the route's [`Rule`], so a route
//! cannot be added without one. The router, the guard's
//! [`AccessTable`] and the OpenAPI document are all read off the same declarations: none
//! of them can name a route the others lack.

use crate::AppState;
use crate::middleware::auth::Rule;
use axum::Router;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::MethodFilter;
use utoipa::openapi::OpenApi;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};

/// One route and what it asks of its caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteRule {
    pub method: Method,
    /// The path pattern as axum matches it (`/api/v1/tickets/{number}`).
    pub path: String,
    pub rule: Rule,
    pub described: Described,
}

/// Where a route's interface is described, as it was declared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Described {
    /// In the OpenAPI document ([`Routes::api`]).
    OpenApi,
    /// A page people read ([`Routes::page`]).
    Page,
    /// A protocol described elsewhere, said where ([`Routes::foreign`]).
    Elsewhere(&'static str),
}

/// The rule of every declared route, which the access guard looks requests up in.
#[derive(Clone, Debug, Default)]
pub struct AccessTable {
    routes: Vec<RouteRule>,
}

impl AccessTable {
    /// The rule of `method` on `path`. HEAD is GET without the body (axum answers it
    /// with the GET handler), so it has the GET route's rule.
    pub fn rule_of(&self, method: &Method, path: &str) -> Option<Rule> {
        let method = if method == Method::HEAD {
            &Method::GET
        } else {
            method
        };
        self.routes
            .iter()
            .find(|r| r.method == method && r.path == path)
            .map(|r| r.rule)
    }

    /// The methods `path` takes (HEAD wherever GET), for a 405's `Allow`.
    pub fn methods_of(&self, path: &str) -> Vec<String> {
        let mut methods: Vec<String> = self
            .routes
            .iter()
            .filter(|r| r.path == path)
            .map(|r| r.method.to_string())
            .collect();
        if methods.iter().any(|m| m == "GET") {
            methods.push("HEAD".into());
        }
        methods
    }

    /// Every declared route, in the order declared.
    pub fn routes(&self) -> &[RouteRule] {
        &self.routes
    }

    fn add(&mut self, method: Method, path: &str, rule: Rule, described: Described) {
        // axum refuses a second handler for the same method and path when the route
        // is added; this keeps the table from holding two rules for one route.
        assert!(
            self.rule_of(&method, path).is_none(),
            "{method} {path} is declared twice"
        );
        self.routes.push(RouteRule {
            method,
            path: path.to_owned(),
            rule,
            described,
        });
    }
}

/// Routes being declared: the router, the OpenAPI operations of the API routes and the
/// access table, built together.
pub struct Routes {
    router: OpenApiRouter<AppState>,
    table: AccessTable,
}

impl Default for Routes {
    fn default() -> Self {
        Self::new()
    }
}

impl Routes {
    pub fn new() -> Self {
        Routes {
            router: OpenApiRouter::default(),
            table: AccessTable::default(),
        }
    }

    /// A route of the JSON API, from `utoipa_axum::routes!(handler)`: its method, path
    /// and OpenAPI operation are the handler's `#[utoipa::path]`.
    pub fn api(mut self, rule: Rule, route: UtoipaMethodRouter<AppState>) -> Self {
        for (path, item) in &route.1.paths {
            for method in methods_of(item) {
                self.table.add(method, path, rule, Described::OpenApi);
            }
        }
        self.router = self.router.routes(route);
        self
    }

    /// A page people read (or what a page loads: a static file, its events), which the
    /// OpenAPI document leaves out.
    pub fn page<H, T>(self, method: Method, path: &str, rule: Rule, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.undocumented(method, path, rule, Described::Page, handler)
    }

    /// A route answering programs in a protocol described elsewhere (`described`: where,
    /// e.g. the WeChat platform's message protocol), which the OpenAPI document leaves out.
    pub fn foreign<H, T>(
        self,
        method: Method,
        path: &str,
        rule: Rule,
        described: &'static str,
        handler: H,
    ) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.undocumented(method, path, rule, Described::Elsewhere(described), handler)
    }

    fn undocumented<H, T>(
        mut self,
        method: Method,
        path: &str,
        rule: Rule,
        described: Described,
        handler: H,
    ) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let filter = MethodFilter::try_from(method.clone())
            .unwrap_or_else(|_| panic!("{method} {path}: axum does not route {method}"));
        self.table.add(method, path, rule, described);
        self.router = self.router.route(path, axum::routing::on(filter, handler));
        self
    }

    pub fn merge(mut self, other: Routes) -> Self {
        for route in other.table.routes {
            self.table
                .add(route.method, &route.path, route.rule, route.described);
        }
        self.router = self.router.merge(other.router);
        self
    }

    /// The rule of every route declared so far.
    pub fn table(&self) -> &AccessTable {
        &self.table
    }

    /// The router, the OpenAPI paths (and the schemas they name) of the API routes, and
    /// the access table.
    pub fn into_parts(self) -> (Router<AppState>, OpenApi, AccessTable) {
        let (router, openapi) = self.router.split_for_parts();
        (router, openapi, self.table)
    }
}

/// The methods a path item has operations for.
fn methods_of(item: &utoipa::openapi::PathItem) -> Vec<Method> {
    assert!(item.query.is_none(), "axum does not route QUERY");
    [
        (Method::GET, &item.get),
        (Method::PUT, &item.put),
        (Method::POST, &item.post),
        (Method::DELETE, &item.delete),
        (Method::OPTIONS, &item.options),
        (Method::HEAD, &item.head),
        (Method::PATCH, &item.patch),
        (Method::TRACE, &item.trace),
    ]
    .into_iter()
    .filter(|(_, operation)| operation.is_some())
    .map(|(method, _)| method)
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::middleware::auth::Rule::{Permission as Needs, Public};
    use minhu_core::access::Permission;
    use std::collections::BTreeSet;

    #[test]
    fn the_table_holds_each_route_with_the_rule_it_was_declared_with() {
        let routes = crate::routes();
        let table = routes.table();
        let tickets = Some(Needs(Permission::ViewTickets));
        assert_eq!(table.rule_of(&Method::GET, "/tickets"), tickets);
        assert_eq!(
            table.rule_of(&Method::HEAD, "/tickets"),
            tickets,
            "HEAD is GET"
        );
        assert_eq!(table.rule_of(&Method::GET, "/api/v1/tickets"), tickets);
        assert_eq!(
            table.rule_of(&Method::POST, "/api/v1/tickets"),
            Some(Rule::Open)
        );
        assert_eq!(table.rule_of(&Method::DELETE, "/tickets"), None);
        assert_eq!(table.rule_of(&Method::GET, "/nowhere"), None);
        assert_eq!(table.methods_of("/admin/users"), ["GET", "POST", "HEAD"]);
        assert!(table.routes().len() >= 70, "{}", table.routes().len());
    }

    #[test]
    #[should_panic(expected = "GET /twice is declared twice")]
    fn a_route_declared_twice_is_refused_when_the_routes_are_built() {
        let _ = Routes::new()
            .page(Method::GET, "/twice", Public, || async { "a" })
            .merge(Routes::new().page(Method::GET, "/twice", Rule::Open, || async { "b" }));
    }

    /// Every JSON route is in the OpenAPI document: the document holds exactly the
    /// routes declared with `Routes::api`, and every route on a surface that answers
    /// programs (the API, the channel adapters, Open311: the paths whose every answer,
    /// errors too, is JSON or Open311's, by the rule of `middleware::error`) is declared
    /// so, or says where its protocol is described instead. Read off the declarations,
    /// so a route added tomorrow is held to it.
    #[test]
    fn every_json_route_is_in_the_openapi_document() {
        use crate::middleware::error::Surface;
        let (_, paths, table) = crate::routes().into_parts();
        let document = crate::api::OpenApiDocument::of(paths);
        let documented: BTreeSet<(String, String)> = document
            .paths()
            .iter()
            .flat_map(|(path, item)| {
                methods_of(item)
                    .into_iter()
                    .map(move |method| (method.to_string(), path.clone()))
            })
            .collect();
        let declared = |described: fn(&Described) -> bool| -> BTreeSet<(String, String)> {
            table
                .routes()
                .iter()
                .filter(|r| described(&r.described))
                .map(|r| (r.method.to_string(), r.path.clone()))
                .collect()
        };
        assert_eq!(documented, declared(|d| *d == Described::OpenApi));
        for route in table.routes() {
            let for_programs = Surface::of(&route.path) != Surface::Page;
            match route.described {
                Described::Page => assert!(
                    !for_programs,
                    "{} {} answers programs: declare it with Routes::api (in the OpenAPI \
                     document) or Routes::foreign (saying where its protocol is described)",
                    route.method, route.path
                ),
                Described::OpenApi | Described::Elsewhere(_) => assert!(
                    for_programs,
                    "{} {} is not under /api/, /open311/ or /channels/",
                    route.method, route.path
                ),
            }
        }
        // The routes the issue found missing, and Open311's.
        for (method, path) in [
            ("GET", "/api/v1/audit"),
            ("GET", "/api/v1/map"),
            ("GET", "/api/v1/suggest"),
            ("POST", "/api/v1/follow/code"),
            ("GET", "/api/v1/tickets/{number}/attachments/{sha256}"),
            ("POST", "/open311/v2/requests.json"),
            ("GET", "/open311/v2/servicerequestupdates.xml"),
        ] {
            assert!(
                documented.contains(&(method.to_owned(), path.to_owned())),
                "{method} {path}"
            );
        }
    }
}
