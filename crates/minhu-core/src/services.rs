//! The services a city offers to Open311 clients (GeoReport v2 "services"), each a
//! name for citizens mapped onto a category of the city's taxonomy. Kept as data
//! (`open311.toml`) so a city renames, adds or drops services without code.

use crate::region::ConfigProblem;
use crate::taxonomy::{CategoryPath, Taxonomy};
use crate::ticket::Kind;
use jiff::Timestamp;
use serde::Deserialize;
use std::collections::HashSet;

/// The kinds of value an attribute takes, as GeoReport v2 names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Datatype {
    String,
    Number,
    Datetime,
    Text,
    Singlevaluelist,
    Multivaluelist,
}

impl Datatype {
    pub fn code(self) -> &'static str {
        match self {
            Datatype::String => "string",
            Datatype::Number => "number",
            Datatype::Datetime => "datetime",
            Datatype::Text => "text",
            Datatype::Singlevaluelist => "singlevaluelist",
            Datatype::Multivaluelist => "multivaluelist",
        }
    }

    pub fn is_list(self) -> bool {
        matches!(self, Datatype::Singlevaluelist | Datatype::Multivaluelist)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttributeValue {
    pub key: String,
    pub name: String,
}

/// An extra question a service asks (GeoReport v2 "attribute").
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attribute {
    pub code: String,
    pub datatype: Datatype,
    #[serde(default)]
    pub required: bool,
    /// The question shown to the citizen.
    pub description: String,
    /// False for an informational line that takes no answer.
    #[serde(default = "yes")]
    pub variable: bool,
    #[serde(default)]
    pub datatype_description: Option<String>,
    #[serde(default)]
    pub values: Vec<AttributeValue>,
}

fn yes() -> bool {
    true
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// The code clients send; letters, digits, '-' and '_' (it appears in URLs).
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Where a request of this service lands in the taxonomy.
    pub category: CategoryPath,
    /// What a request of this service is; a complaint (投诉) by default. A report (举报)
    /// hides its reporter from the units and the request from the public, so it is
    /// never assumed: a service says so.
    #[serde(default = "complaint")]
    pub kind: Kind,
    #[serde(default)]
    pub keywords: Vec<String>,
    #[serde(default)]
    pub attributes: Vec<Attribute>,
}

fn complaint() -> Kind {
    Kind::Complaint
}

impl Service {
    /// The service's group: the first level of its category.
    pub fn group(&self) -> &str {
        self.category.first_level()
    }

    pub fn attribute(&self, code: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.code == code)
    }
}

/// What the discovery document tells 311 apps about the city's endpoint
/// (`[discovery]` in `open311.toml`; the loader fills in what the file leaves out).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Discovery {
    /// Who answers for the endpoint (a name, an e-mail, a phone).
    pub contact: String,
    /// When the services last changed in a way clients must notice.
    pub changeset: Timestamp,
    /// How a 311 app gets the `api_key` it posts with.
    pub key_service: String,
    /// The endpoint's address as clients reach it (`https://12345.city.gov.cn/open311/v2`);
    /// `None`: the address the request came to.
    pub url: Option<String>,
    /// `production`, or `test` for a city's trial endpoint.
    pub endpoint_type: EndpointType,
}

/// The spec's two kinds of endpoint.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EndpointType {
    #[default]
    Production,
    Test,
}

impl EndpointType {
    pub fn code(self) -> &'static str {
        match self {
            EndpointType::Production => "production",
            EndpointType::Test => "test",
        }
    }
}

impl Default for Discovery {
    fn default() -> Self {
        Self {
            contact: String::new(),
            changeset: Timestamp::UNIX_EPOCH,
            key_service: String::new(),
            url: None,
            endpoint_type: EndpointType::Production,
        }
    }
}

/// A city's Open311 services, checked against its taxonomy, and its discovery document.
#[derive(Clone, Debug, Default)]
pub struct ServiceCatalog {
    services: Vec<Service>,
    discovery: Discovery,
}

impl ServiceCatalog {
    /// Checks every service; a problem names the service's index in `services`.
    pub fn new(services: Vec<Service>, taxonomy: &Taxonomy) -> Result<Self, ConfigProblem> {
        let mut codes = HashSet::new();
        for (index, service) in services.iter().enumerate() {
            let problem = |field, message: String| ConfigProblem::new(index, field, message);
            let code_ok = !service.code.is_empty()
                && service.code.len() <= 64
                && service
                    .code
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !code_ok {
                return Err(problem(
                    "code",
                    format!("{:?}: use 1-64 letters, digits, '-' or '_'", service.code),
                ));
            }
            if !codes.insert(service.code.as_str()) {
                return Err(problem(
                    "code",
                    format!("{:?} is used by an earlier service", service.code),
                ));
            }
            if service.name.trim().is_empty() {
                return Err(problem("name", "must not be blank".into()));
            }
            if !taxonomy.contains(&service.category) {
                return Err(problem(
                    "category",
                    format!("{} is not in taxonomy.csv", service.category.as_str()),
                ));
            }
            let mut attribute_codes = HashSet::new();
            for attribute in &service.attributes {
                if !attribute_codes.insert(attribute.code.as_str()) {
                    return Err(problem(
                        "attributes",
                        format!("the code {:?} is given twice", attribute.code),
                    ));
                }
                if attribute.datatype.is_list() == attribute.values.is_empty() {
                    return Err(problem(
                        "attributes",
                        format!(
                            "{}: values are needed for a list and only for a list",
                            attribute.code
                        ),
                    ));
                }
            }
        }
        Ok(Self {
            services,
            discovery: Discovery::default(),
        })
    }

    /// The catalog with this discovery document.
    pub fn with_discovery(self, discovery: Discovery) -> Self {
        Self { discovery, ..self }
    }

    pub fn discovery(&self) -> &Discovery {
        &self.discovery
    }

    pub fn all(&self) -> &[Service] {
        &self.services
    }

    pub fn get(&self, code: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.code == code)
    }

    /// The service a ticket of `category` is shown as: the one with the most specific
    /// category that contains it (a ticket lies at or below its service's category).
    pub fn for_category(&self, category: &CategoryPath) -> Option<&Service> {
        self.services
            .iter()
            .filter(|s| category.starts_with(&s.category))
            .max_by_key(|s| s.category.levels().count())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn taxonomy() -> Taxonomy {
        Taxonomy::from_rows(&[vec![
            "城乡建设".into(),
            "城市建设和市政管理".into(),
            "环境卫生".into(),
        ]])
        .unwrap()
    }

    fn service(code: &str, category: &str) -> Service {
        Service {
            code: code.into(),
            name: "垃圾".into(),
            description: String::new(),
            category: CategoryPath::new(category),
            kind: Kind::Report,
            keywords: vec![],
            attributes: vec![],
        }
    }

    #[test]
    fn a_service_files_complaints_unless_it_says_otherwise() {
        let plain: Service = serde_json::from_value(serde_json::json!({
            "code": "noise", "name": "噪音", "category": "城乡建设/环境卫生"
        }))
        .unwrap();
        assert_eq!(plain.kind, Kind::Complaint);
        let report: Service = serde_json::from_value(serde_json::json!({
            "code": "bribe", "name": "举报", "category": "城乡建设", "kind": "report"
        }))
        .unwrap();
        assert_eq!(report.kind, Kind::Report);
    }

    #[test]
    fn maps_categories_to_the_most_specific_service() {
        let catalog = ServiceCatalog::new(
            vec![
                service("city", "城乡建设"),
                service("trash", "城乡建设/城市建设和市政管理/环境卫生"),
            ],
            &taxonomy(),
        )
        .unwrap();
        let found = catalog
            .for_category(&CategoryPath::new("城乡建设/城市建设和市政管理/环境卫生"))
            .unwrap();
        assert_eq!(found.code, "trash");
        let found = catalog
            .for_category(&CategoryPath::new("城乡建设/城市建设和市政管理"))
            .unwrap();
        assert_eq!(found.code, "city");
        assert!(catalog.get("trash").is_some());
    }

    #[test]
    fn refuses_bad_services_naming_the_field() {
        let taxonomy = taxonomy();
        let err = ServiceCatalog::new(vec![service("a b", "城乡建设")], &taxonomy).unwrap_err();
        assert_eq!(err.field, "code");
        let err = ServiceCatalog::new(
            vec![service("a", "城乡建设"), service("a", "城乡建设")],
            &taxonomy,
        )
        .unwrap_err();
        assert_eq!((err.item, err.field), (1, "code"));
        let err = ServiceCatalog::new(vec![service("a", "交通运输")], &taxonomy).unwrap_err();
        assert_eq!(err.field, "category");
        let mut listless = service("a", "城乡建设");
        listless.attributes.push(Attribute {
            code: "where".into(),
            datatype: Datatype::Singlevaluelist,
            required: true,
            description: "哪里".into(),
            variable: true,
            datatype_description: None,
            values: vec![],
        });
        let err = ServiceCatalog::new(vec![listless], &taxonomy).unwrap_err();
        assert_eq!(err.field, "attributes");
    }
}
