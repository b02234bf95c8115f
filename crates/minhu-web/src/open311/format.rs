//! One answer, two formats: every Open311 answer is built once as a [`Node`] tree and
//! written as JSON or XML, and every error in the spec's shape (`[{"code":400,...}]`
//! or `<errors>`), in the format the client asked for.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use minhu_engine::EngineError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Format {
    Json,
    Xml,
}

/// An answer in neutral form: written as JSON or XML by [`Format::render`].
pub(super) enum Node {
    Text(String),
    Null,
    /// A number, already written in decimal.
    Number(String),
    Bool(bool),
    Object(Vec<(&'static str, Node)>),
    /// A list; in XML each item is an element with this name.
    List(&'static str, Vec<Node>),
}

impl Node {
    pub(super) fn text(value: impl Into<String>) -> Node {
        Node::Text(value.into())
    }

    pub(super) fn optional(value: Option<impl Into<String>>) -> Node {
        value.map_or(Node::Null, |v| Node::Text(v.into()))
    }

    pub(super) fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            Node::Text(text) => Value::String(text.clone()),
            Node::Null => Value::Null,
            Node::Number(number) => number
                .parse::<serde_json::Number>()
                .map_or(Value::Null, Value::Number),
            Node::Bool(value) => Value::Bool(*value),
            Node::Object(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(key, node)| ((*key).to_owned(), node.to_json()))
                    .collect(),
            ),
            Node::List(_, items) => Value::Array(items.iter().map(Node::to_json).collect()),
        }
    }

    pub(super) fn write_xml(&self, name: &str, out: &mut String) {
        out.push('<');
        out.push_str(name);
        out.push('>');
        match self {
            Node::Text(text) | Node::Number(text) => out.push_str(&escape_xml(text)),
            Node::Null => {}
            Node::Bool(value) => out.push_str(if *value { "true" } else { "false" }),
            Node::Object(fields) => {
                for (key, node) in fields {
                    node.write_xml(key, out);
                }
            }
            Node::List(item, items) => {
                for node in items {
                    node.write_xml(item, out);
                }
            }
        }
        out.push_str("</");
        out.push_str(name);
        out.push('>');
    }
}

pub(crate) fn escape_xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot carry at all are dropped, not escaped.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

impl Format {
    /// Splits `name.json` / `name.xml` (the last path segment).
    pub(super) fn split(file: &str) -> Result<(&str, Format), Open311Error> {
        if let Some(name) = file.strip_suffix(".json") {
            Ok((name, Format::Json))
        } else if let Some(name) = file.strip_suffix(".xml") {
            Ok((name, Format::Xml))
        } else {
            Err(Open311Error {
                status: StatusCode::NOT_FOUND,
                format: Format::Json,
                description: format!("{file:?}: add .json or .xml to choose the format"),
            })
        }
    }

    /// `root` names the XML document element (the JSON answer is the node itself).
    pub(super) fn render(self, status: StatusCode, root: &str, node: &Node) -> Response {
        match self {
            Format::Json => (
                status,
                [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
                node.to_json().to_string(),
            )
                .into_response(),
            Format::Xml => {
                let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>");
                node.write_xml(root, &mut out);
                (
                    status,
                    [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
                    out,
                )
                    .into_response()
            }
        }
    }
}

/// A failure in the spec's shape, in the format the client asked for.
#[derive(Debug)]
pub(super) struct Open311Error {
    pub(super) status: StatusCode,
    pub(super) format: Format,
    pub(super) description: String,
}

impl Open311Error {
    pub(super) fn new(format: Format, status: StatusCode, description: impl Into<String>) -> Self {
        Self {
            status,
            format,
            description: description.into(),
        }
    }

    pub(super) fn bad(format: Format, description: impl Into<String>) -> Self {
        Self::new(format, StatusCode::BAD_REQUEST, description)
    }

    pub(super) fn internal(format: Format, error: impl std::fmt::Display) -> Self {
        tracing::error!(%error, "Open311 request failed");
        Self::new(
            format,
            StatusCode::INTERNAL_SERVER_ERROR,
            "the server could not complete the request; it has been logged",
        )
    }

    pub(super) fn engine(format: Format, error: EngineError) -> Self {
        match error {
            EngineError::Invalid(field) => {
                Self::bad(format, format!("{}: {}", field.field, field.problem))
            }
            EngineError::NotFound(what) => Self::new(format, StatusCode::NOT_FOUND, what),
            other => Self::internal(format, other),
        }
    }
}

/// An error in Open311's shape for a request to `path` (XML when the path ends in
/// `.xml`): what the framework or the access guard refused, in the form Open311
/// clients read.
pub(crate) fn error_response(path: &str, status: StatusCode, description: &str) -> Response {
    let format = if path.ends_with(".xml") {
        Format::Xml
    } else {
        Format::Json
    };
    Open311Error::new(format, status, description).into_response()
}

impl IntoResponse for Open311Error {
    fn into_response(self) -> Response {
        let node = Node::List(
            "error",
            vec![Node::Object(vec![
                ("code", Node::Number(self.status.as_u16().to_string())),
                ("description", Node::text(self.description)),
            ])],
        );
        self.format.render(self.status, "errors", &node)
    }
}

pub(super) type Answer = Result<Response, Open311Error>;

pub(super) fn ok(format: Format, root: &str, node: &Node) -> Answer {
    Ok(format.render(StatusCode::OK, root, node))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_tree_two_formats() {
        let node = Node::List(
            "request",
            vec![Node::Object(vec![
                ("service_request_id", Node::text("2026112300001")),
                ("description", Node::text("<a> & \"b\"")),
                ("lat", Node::Number("28.2".into())),
                ("address", Node::Null),
            ])],
        );
        assert_eq!(
            node.to_json(),
            serde_json::json!([{"service_request_id": "2026112300001",
                "description": "<a> & \"b\"", "lat": 28.2, "address": null}])
        );
        let mut xml = String::new();
        node.write_xml("service_requests", &mut xml);
        assert_eq!(
            xml,
            "<service_requests><request><service_request_id>2026112300001</service_request_id>\
             <description>&lt;a&gt; &amp; &quot;b&quot;</description><lat>28.2</lat>\
             <address></address></request></service_requests>"
        );
    }

    #[test]
    fn the_format_comes_from_the_suffix() {
        assert_eq!(Format::split("abc.json").unwrap(), ("abc", Format::Json));
        assert_eq!(Format::split("abc.xml").unwrap(), ("abc", Format::Xml));
        assert_eq!(
            Format::split("abc").unwrap_err().status,
            StatusCode::NOT_FOUND
        );
    }
}
