//! An article as people write it (the API's body, a CSV row, a Markdown block) and the
//! checks that turn it into a stored [`Article`]: every problem names its field, so a
//! bad import row or request says what to fix.

use jiff::Timestamp;
use jiff::civil::Date;
use minhu_core::city::City;
use minhu_core::ids::UnitId;
use minhu_core::taxonomy::CategoryPath;
use minhu_core::workflow::FieldError;
use minhu_store::{Article, ArticleStatus};

/// Longest title, body and tag list an article may have.
pub const MAX_TITLE: usize = 200;
pub const MAX_BODY: usize = 20_000;
pub const MAX_TAGS: usize = 20;

/// An article as written: what an editor, an import file or the API gives.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ArticleDraft {
    /// The key: letters, digits, `.`, `_` and `-`, at most 64.
    pub id: String,
    pub title: String,
    pub body: String,
    /// A path of the city's taxonomy (e.g. `城乡建设/住房保障与房地产`).
    #[serde(default)]
    pub category: Option<String>,
    /// First and last day the answer holds (inclusive); empty: no limit.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub valid_from: Option<Date>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub valid_until: Option<Date>,
    /// The unit that keeps the article true (a unit id of the city).
    #[serde(default)]
    pub owner_unit: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// `draft`, `published` (the default) or `retired`.
    #[serde(default)]
    pub status: Option<String>,
}

impl ArticleDraft {
    /// The draft of a stored article (what an export writes).
    pub fn of(article: &Article) -> ArticleDraft {
        ArticleDraft {
            id: article.id.clone(),
            title: article.title.clone(),
            body: article.body.clone(),
            category: article.category.clone(),
            valid_from: article.valid_from,
            valid_until: article.valid_to,
            owner_unit: article.owner_unit.clone(),
            tags: article.tags.clone(),
            status: Some(article.status.code().to_owned()),
        }
    }

    /// Checks the draft against the city (taxonomy, units) and makes the article,
    /// stamped `now` (the store keeps the first creation time of an id).
    pub fn check(self, city: &City, now: Timestamp) -> Result<Article, FieldError> {
        check_id(&self.id)?;
        let title = required("title", &self.title, MAX_TITLE)?;
        let body = required("body", &self.body, MAX_BODY)?;
        let category = blank_to_none(self.category);
        if let Some(path) = &category
            && !city.taxonomy.contains(&CategoryPath::new(path))
        {
            return Err(FieldError::new(
                "category",
                format!("{path:?} is not a category of the city's taxonomy"),
            ));
        }
        let owner_unit = blank_to_none(self.owner_unit);
        if let Some(unit) = &owner_unit
            && city.units.get(&UnitId::new(unit)).is_none()
        {
            return Err(FieldError::new(
                "owner_unit",
                format!("{unit:?} is not a unit of the city"),
            ));
        }
        if let (Some(from), Some(until)) = (self.valid_from, self.valid_until)
            && until < from
        {
            return Err(FieldError::new(
                "valid_until",
                format!("{until} is before valid_from {from}"),
            ));
        }
        let mut tags: Vec<String> = Vec::new();
        for tag in self.tags.iter().map(|t| t.trim()).filter(|t| !t.is_empty()) {
            if tag.chars().count() > 40 {
                return Err(FieldError::new(
                    "tags",
                    format!("{tag:?} is over 40 characters"),
                ));
            }
            if !tags.iter().any(|t| t == tag) {
                tags.push(tag.to_owned());
            }
        }
        if tags.len() > MAX_TAGS {
            return Err(FieldError::new("tags", format!("at most {MAX_TAGS} tags")));
        }
        let status = match self.status.as_deref().map(str::trim) {
            None | Some("") => ArticleStatus::Published,
            Some(code) => ArticleStatus::parse(code).ok_or_else(|| {
                FieldError::new(
                    "status",
                    format!("{code:?} is not one of draft, published, retired"),
                )
            })?,
        };
        Ok(Article {
            id: self.id,
            title,
            body,
            category,
            valid_from: self.valid_from,
            valid_to: self.valid_until,
            owner_unit,
            tags,
            status,
            created_at: now,
            updated_at: now,
        })
    }
}

/// An article key: 1 to 64 of `A-Z a-z 0-9 . _ -`, so it is safe in a path and a file.
pub fn check_id(id: &str) -> Result<(), FieldError> {
    let fine = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if fine {
        Ok(())
    } else {
        Err(FieldError::new(
            "id",
            format!("{id:?} must be 1 to 64 letters, digits, '.', '_' or '-'"),
        ))
    }
}

fn required(field: &str, text: &str, max: usize) -> Result<String, FieldError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    if text.chars().count() > max {
        return Err(FieldError::new(field, format!("at most {max} characters")));
    }
    Ok(text.to_owned())
}

fn blank_to_none(text: Option<String>) -> Option<String> {
    text.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn city() -> City {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../demo/city");
        minhu_config::load_city(&dir).unwrap()
    }

    fn draft() -> ArticleDraft {
        ArticleDraft {
            id: "kb-1".into(),
            title: "  公积金提取 ".into(),
            body: "带身份证。".into(),
            tags: vec!["公积金".into(), " ".into(), "公积金".into()],
            ..ArticleDraft::default()
        }
    }

    #[test]
    fn a_good_draft_is_trimmed_and_published() {
        let now = Timestamp::UNIX_EPOCH;
        let article = draft().check(&city(), now).unwrap();
        assert_eq!(article.title, "公积金提取");
        assert_eq!(article.tags, vec!["公积金"]);
        assert_eq!(article.status, ArticleStatus::Published);
        assert_eq!(
            ArticleDraft::of(&article).check(&city(), now).unwrap(),
            article
        );
    }

    #[test]
    fn each_problem_names_its_field() {
        let city = city();
        let field = |d: ArticleDraft| d.check(&city, Timestamp::UNIX_EPOCH).unwrap_err().field;
        assert_eq!(
            field(ArticleDraft {
                id: "a b".into(),
                ..draft()
            }),
            "id"
        );
        assert_eq!(
            field(ArticleDraft {
                title: " ".into(),
                ..draft()
            }),
            "title"
        );
        assert_eq!(
            field(ArticleDraft {
                body: String::new(),
                ..draft()
            }),
            "body"
        );
        let category = Some("没有/这类".into());
        assert_eq!(
            field(ArticleDraft {
                category,
                ..draft()
            }),
            "category"
        );
        let owner_unit = Some("nobody".into());
        assert_eq!(
            field(ArticleDraft {
                owner_unit,
                ..draft()
            }),
            "owner_unit"
        );
        let status = Some("gone".into());
        assert_eq!(field(ArticleDraft { status, ..draft() }), "status");
        let backwards = ArticleDraft {
            valid_from: Some("2026-02-01".parse().unwrap()),
            valid_until: Some("2026-01-01".parse().unwrap()),
            ..draft()
        };
        assert_eq!(field(backwards), "valid_until");
    }
}
