//! The knowledge base (知识库): policy answers, procedures and contacts that agents and
//! citizens are answered from before a ticket is needed.
//!
//! Articles live in the store (`kb_articles`); this crate checks them
//! ([`ArticleDraft::check`]), finds them for a text ([`KbIndex::suggest`]: tantivy BM25
//! with minhu-search's jieba tokenizer and hotline dictionary, validity dates, category
//! boost), answers citizens from them ([`assistant`]), reads and writes them as CSV or
//! Markdown ([`files`]), measures retrieval on real questions ([`eval`]) and fits the
//! assistant's thresholds on them ([`fit`]).
//!
//! Why the index is rebuilt rather than followed: a city's knowledge base is hundreds
//! to a few thousand articles, edited a few times a day, and building an index of 3,000
//! articles in memory takes well under a second (the evaluation in BENCHMARKS.md does it
//! for 2,816). Following a change feed as the ticket index does would need a mark, a
//! tombstone for deletes and an on-disk index to keep; instead the store keeps one
//! revision number that every write of an article moves (migration 0013), and
//! [`KnowledgeBase`] rebuilds its in-memory index when the number it built from is no
//! longer the store's. One small read per query keeps every process, including a
//! `minhu kb import` run beside a server, in step.

pub mod article;
pub mod assistant;
pub mod eval;
pub mod files;
pub mod fit;
mod index;

pub use article::ArticleDraft;
pub use index::{CATEGORY_BOOST, Fields, KbError, KbIndex, Suggestion, TAGS_BOOST, TITLE_BOOST};

use jieba_rs::Jieba;
use jiff::civil::Date;
use minhu_store::{Article, KbStore};
use std::sync::{Arc, OnceLock};
use tokio::sync::Mutex;

/// The knowledge base of one store: its articles' index, rebuilt when they change.
pub struct KnowledgeBase {
    store: Arc<dyn KbStore>,
    /// Made on first use: loading the dictionary costs a moment that servers which
    /// never query the knowledge base (and tests) should not pay.
    jieba: OnceLock<Arc<Jieba>>,
    built: Mutex<Option<(i64, Arc<KbIndex>)>>,
}

impl KnowledgeBase {
    pub fn new(store: Arc<dyn KbStore>) -> KnowledgeBase {
        KnowledgeBase {
            store,
            jieba: OnceLock::new(),
            built: Mutex::new(None),
        }
    }

    /// The index of the store's articles as they are now.
    pub async fn index(&self) -> Result<Arc<KbIndex>, KbError> {
        let mut built = self.built.lock().await;
        let revision = self.store.kb_revision().await?;
        if let Some((at, index)) = built.as_ref()
            && *at == revision
        {
            return Ok(index.clone());
        }
        let articles = self.store.articles().await?;
        let jieba = self.jieba.get_or_init(minhu_search::hotline_jieba).clone();
        let index = tokio::task::spawn_blocking(move || {
            KbIndex::build(&articles, jieba, Fields::TitleBodyTags)
        })
        .await
        .map_err(|e| KbError::Task(e.to_string()))??;
        let index = Arc::new(index);
        tracing::debug!(revision, articles = index.len(), "knowledge base indexed");
        *built = Some((revision, index.clone()));
        Ok(index)
    }

    /// Stores the article; false when an identical one was already there.
    pub async fn put(&self, article: &Article) -> Result<bool, KbError> {
        Ok(self.store.put_article(article).await?)
    }

    pub async fn article(&self, id: &str) -> Result<Option<Article>, KbError> {
        Ok(self.store.article(id).await?)
    }

    /// Every article, by id, whatever its status.
    pub async fn articles(&self) -> Result<Vec<Article>, KbError> {
        Ok(self.store.articles().await?)
    }

    /// Deletes the article; false when there was none. Retiring keeps it for the
    /// tickets that cite it; deleting is for mistakes.
    pub async fn delete(&self, id: &str) -> Result<bool, KbError> {
        Ok(self.store.delete_article(id).await?)
    }

    /// The best `limit` articles for `text` valid on `day` (see [`KbIndex::suggest`]).
    pub async fn suggest(
        &self,
        text: &str,
        category: Option<&str>,
        day: Date,
        limit: usize,
    ) -> Result<Vec<Suggestion>, KbError> {
        self.index().await?.suggest(text, category, day, limit)
    }
}
