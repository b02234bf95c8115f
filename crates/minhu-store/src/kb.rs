//! The knowledge base's articles (知识库, migration 0013) and the revision that moves
//! with every change to them, so that `minhu-kb` rebuilds its index only when they
//! changed.

use crate::db::{SqlStore, StoreError, from_millis, json, millis};
use async_trait::async_trait;
use jiff::Timestamp;
use sqlx::Row;
use sqlx::any::AnyRow;

/// A knowledge-base article (知识库条目): a policy answer, a procedure, a contact.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Article {
    /// The article's key: stable across edits and imports.
    pub id: String,
    pub title: String,
    pub body: String,
    /// A taxonomy path, if the article belongs to a category.
    pub category: Option<String>,
    /// The first and last day the article is valid (inclusive), if it is limited.
    pub valid_from: Option<jiff::civil::Date>,
    pub valid_to: Option<jiff::civil::Date>,
    /// The unit that keeps the article true.
    pub owner_unit: Option<String>,
    pub tags: Vec<String>,
    pub status: ArticleStatus,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Article {
    /// A published article with only its words: no category, validity dates, owner or
    /// tags, created and updated `at`. The other fields are public, to be set after.
    pub fn new(
        id: impl Into<String>,
        title: impl Into<String>,
        body: impl Into<String>,
        at: Timestamp,
    ) -> Article {
        Article {
            id: id.into(),
            title: title.into(),
            body: body.into(),
            category: None,
            valid_from: None,
            valid_to: None,
            owner_unit: None,
            tags: Vec::new(),
            status: ArticleStatus::Published,
            created_at: at,
            updated_at: at,
        }
    }

    /// Whether the two say the same (every field but when they were created and last
    /// updated): a put of the same content is not a change.
    pub fn same_content(&self, other: &Article) -> bool {
        Article {
            created_at: self.created_at,
            updated_at: self.updated_at,
            ..other.clone()
        } == *self
    }

    /// Whether the article may be given as an answer on `day`.
    pub fn valid_on(&self, day: jiff::civil::Date) -> bool {
        self.valid_from.is_none_or(|from| from <= day) && self.valid_to.is_none_or(|to| day <= to)
    }

    /// Whether the article may be suggested or answered from on `day`: published and
    /// within its validity dates.
    pub fn live_on(&self, day: jiff::civil::Date) -> bool {
        self.status == ArticleStatus::Published && self.valid_on(day)
    }
}

/// Where an article is in its life: only published articles are ever suggested.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArticleStatus {
    /// Being written; visible to editors only.
    Draft,
    #[default]
    Published,
    /// Kept for the record (tickets that cite it still link to it), never suggested.
    Retired,
}

impl ArticleStatus {
    pub const ALL: [ArticleStatus; 3] = [Self::Draft, Self::Published, Self::Retired];

    pub fn code(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Published => "published",
            Self::Retired => "retired",
        }
    }

    pub fn parse(code: &str) -> Option<ArticleStatus> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }
}

/// The articles of the knowledge base.
#[async_trait]
pub trait KbStore: Send + Sync {
    /// Inserts or replaces the article with this id. Returns false when an identical
    /// article (same content; times aside) was already stored, so nothing changed.
    async fn put_article(&self, article: &Article) -> Result<bool, StoreError>;

    async fn article(&self, id: &str) -> Result<Option<Article>, StoreError>;

    /// Every article, by id.
    async fn articles(&self) -> Result<Vec<Article>, StoreError>;

    /// Removes the article; false if there was none.
    async fn delete_article(&self, id: &str) -> Result<bool, StoreError>;

    /// A number that moves with every change to the articles (never on a put that
    /// changed nothing): a follower rebuilds what it derived from them when it moves.
    async fn kb_revision(&self) -> Result<i64, StoreError>;
}

#[async_trait]
impl KbStore for SqlStore {
    async fn put_article(&self, article: &Article) -> Result<bool, StoreError> {
        let mut tx = self.writer.begin().await?;
        let existing = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{ARTICLE_COLUMNS} WHERE id = $1"
        )))
        .bind(&article.id)
        .fetch_optional(&mut *tx)
        .await?;
        let existing = existing.as_ref().map(article_from_row).transpose()?;
        if existing
            .as_ref()
            .is_some_and(|old| old.same_content(article))
        {
            return Ok(false);
        }
        let created_at = existing.map_or(article.created_at, |old| old.created_at);
        sqlx::query(
            "INSERT INTO kb_articles (id, title, body, category, valid_from, valid_to, \
             owner_unit, tags, created_at, updated_at, status) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
             ON CONFLICT (id) DO UPDATE SET title = excluded.title, body = excluded.body, \
             category = excluded.category, valid_from = excluded.valid_from, \
             valid_to = excluded.valid_to, owner_unit = excluded.owner_unit, \
             tags = excluded.tags, updated_at = excluded.updated_at, status = excluded.status",
        )
        .bind(&article.id)
        .bind(&article.title)
        .bind(&article.body)
        .bind(article.category.clone())
        .bind(article.valid_from.map(|d| d.to_string()))
        .bind(article.valid_to.map(|d| d.to_string()))
        .bind(article.owner_unit.clone())
        .bind(json(&article.tags))
        .bind(millis(created_at))
        .bind(millis(article.updated_at))
        .bind(article.status.code())
        .execute(&mut *tx)
        .await?;
        bump_kb_revision(&mut tx).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn article(&self, id: &str) -> Result<Option<Article>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{ARTICLE_COLUMNS} WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.reader)
        .await?;
        row.as_ref().map(article_from_row).transpose()
    }

    async fn articles(&self) -> Result<Vec<Article>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{ARTICLE_COLUMNS} ORDER BY id"
        )))
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(article_from_row).collect()
    }

    async fn delete_article(&self, id: &str) -> Result<bool, StoreError> {
        let mut tx = self.writer.begin().await?;
        let done = sqlx::query("DELETE FROM kb_articles WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let deleted = done.rows_affected() > 0;
        if deleted {
            bump_kb_revision(&mut tx).await?;
        }
        tx.commit().await?;
        Ok(deleted)
    }

    async fn kb_revision(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT revision FROM kb_revision WHERE id = 1")
            .fetch_one(&self.reader)
            .await?;
        Ok(row.try_get(0)?)
    }
}

const ARTICLE_COLUMNS: &str = "SELECT id, title, body, category, valid_from, valid_to, \
     owner_unit, tags, created_at, updated_at, status FROM kb_articles";

/// Moves the knowledge base's revision in the writing transaction (migration 0013).
async fn bump_kb_revision(tx: &mut sqlx::Transaction<'_, sqlx::Any>) -> Result<(), StoreError> {
    sqlx::query("UPDATE kb_revision SET revision = revision + 1 WHERE id = 1")
        .execute(&mut **tx)
        .await?;
    Ok(())
}

fn article_from_row(row: &AnyRow) -> Result<Article, StoreError> {
    let date = |text: Option<String>| {
        text.map(|t| {
            t.parse::<jiff::civil::Date>()
                .map_err(|e| StoreError::Corrupt(format!("article date {t:?}: {e}")))
        })
        .transpose()
    };
    let tags: String = row.try_get(7)?;
    let status: String = row.try_get(10)?;
    Ok(Article {
        id: row.try_get(0)?,
        title: row.try_get(1)?,
        body: row.try_get(2)?,
        category: row.try_get(3)?,
        valid_from: date(row.try_get(4)?)?,
        valid_to: date(row.try_get(5)?)?,
        owner_unit: row.try_get(6)?,
        tags: serde_json::from_str(&tags)
            .map_err(|e| StoreError::Corrupt(format!("article tags: {e}")))?,
        status: ArticleStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("article status {status:?}")))?,
        created_at: from_millis(row.try_get(8)?)?,
        updated_at: from_millis(row.try_get(9)?)?,
    })
}
