//! Retrieval: a tantivy index of the published articles, held in memory, ranked by BM25
//! over title (weighted ×2), tags (×1.5) and body, cut by minhu-search's jieba tokenizer
//! with the hotline dictionary. Validity dates and the category boost are applied inside
//! tantivy's top-k collection (the score of each match is tweaked as it is collected), so
//! an expired or not-yet-valid article is never suggested and only the best `limit`
//! matches are copied out, whatever the number of articles that share a word with the
//! question.

use jieba_rs::Jieba;
use jiff::civil::Date;
use minhu_core::taxonomy::CategoryPath;
use minhu_search::HotlineTokenizer;
use minhu_store::{Article, ArticleStatus};
use std::cmp::Reverse;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use tantivy::collector::sort_key::NaturalComparator;
use tantivy::collector::{SegmentSortKeyComputer, SortKeyComputer, TopDocs};
use tantivy::columnar::ColumnValues;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::{FAST, Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions};
use tantivy::tokenizer::{TextAnalyzer, TokenStream};
use tantivy::{
    DocId, Index, IndexReader, ReloadPolicy, Score, SegmentReader, TantivyDocument, Term,
};

/// The fast field holding each document's place in [`KbIndex`]'s article list.
const ORD: &str = "ord";

/// The name the tokenizer is registered under in the in-memory index.
const TOKENIZER: &str = "minhu_kb_jieba";

/// How much more a word in the title counts than one in the body (titles are the
/// question an article answers), and a word in the tags.
pub const TITLE_BOOST: f32 = 2.0;
pub const TAGS_BOOST: f32 = 1.5;

/// How much an article of the ticket's category (or a sub-category of it) is raised.
pub const CATEGORY_BOOST: f32 = 1.5;

/// Words of how a question is asked rather than what it is about (怎么, 请问, 我想...):
/// they are left out of the question, so "路灯不亮怎么报修" is as sure of the article
/// "路灯不亮报修" as "路灯不亮报修" itself. Only function words: a single character that
/// names a thing (水, 电, 树) stays.
const QUESTION_WORDS: &[&str] = &[
    "我",
    "我们",
    "你",
    "你们",
    "您",
    "他",
    "她",
    "它",
    "的",
    "地",
    "得",
    "了",
    "着",
    "过",
    "吗",
    "呢",
    "吧",
    "啊",
    "呀",
    "嘛",
    "么",
    "哦",
    "是",
    "在",
    "有",
    "和",
    "与",
    "及",
    "或",
    "要",
    "想",
    "想要",
    "请",
    "请问",
    "问",
    "问问",
    "问一下",
    "一下",
    "咨询",
    "怎么",
    "怎么办",
    "怎样",
    "怎么样",
    "如何",
    "什么",
    "啥",
    "咋",
    "哪些",
    "哪里",
    "哪个",
    "多少",
    "几",
    "能",
    "能否",
    "能不能",
    "可以",
    "可不可以",
    "可否",
    "是否",
    "是不是",
    "有没有",
    "需要",
    "应该",
    "该",
    "这",
    "那",
    "这个",
    "那个",
    "这些",
    "那些",
    "还",
    "也",
    "都",
    "就",
    "会",
    "对",
    "给",
    "让",
    "把",
    "被",
    "从",
    "到",
    "为",
    "为什么",
    "谁",
    "一个",
    "已经",
    "现在",
    "谢谢",
    "你好",
    "您好",
];

/// Which fields an index reads: all of them, or the title only (the evaluation's
/// baseline).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fields {
    TitleBodyTags,
    TitleOnly,
}

#[derive(Debug, thiserror::Error)]
pub enum KbError {
    #[error("knowledge base index: {0}")]
    Index(#[from] tantivy::TantivyError),
    #[error("knowledge base: {0}")]
    Store(#[from] minhu_store::StoreError),
    #[error("the knowledge base's indexing task failed: {0}")]
    Task(String),
}

/// An article proposed for a text.
#[derive(Clone, Debug, PartialEq)]
pub struct Suggestion {
    pub article: Article,
    /// BM25 with the field weights and the category boost: orders suggestions.
    pub score: f32,
    /// Share (0 to 1) of the question's word weight (each word's idf in the knowledge
    /// base) that the article holds: how sure an answer from it is.
    pub confidence: f32,
    /// The question's words found in the article, in the question's order.
    pub matched: Vec<String>,
}

/// A built index of published articles. Rebuilt as a whole when the articles change
/// (see [`crate::KnowledgeBase`]).
pub struct KbIndex {
    reader: IndexReader,
    title: Field,
    body: Field,
    tags: Field,
    fields: Fields,
    jieba: Arc<Jieba>,
    /// The published articles by id; a document's [`ORD`] is its place here. Shared
    /// with the collector, which reads each match's dates and category.
    entries: Arc<[Entry]>,
    /// In how many articles each word occurs (for the confidence's idf).
    df: HashMap<String, u32>,
}

/// An indexed article with what ranking reads of it.
struct Entry {
    article: Article,
    /// The article's category, parsed once rather than at every match.
    category: Option<CategoryPath>,
    /// The article's words as the index cut them, for "matched words".
    words: HashSet<String>,
}

impl KbIndex {
    /// Indexes the published articles among `articles` (drafts and retired ones are
    /// left out) with `jieba`'s dictionary.
    pub fn build(
        articles: &[Article],
        jieba: Arc<Jieba>,
        fields: Fields,
    ) -> Result<KbIndex, KbError> {
        let mut schema = Schema::builder();
        let text = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(TOKENIZER)
                .set_index_option(IndexRecordOption::WithFreqs),
        );
        let title = schema.add_text_field("title", text.clone());
        let body = schema.add_text_field("body", text.clone());
        let tags = schema.add_text_field("tags", text);
        let ord = schema.add_u64_field(ORD, FAST);
        let index = Index::create_in_ram(schema.build());
        let tokenizer = HotlineTokenizer::for_documents(jieba.clone());
        index.tokenizers().register(TOKENIZER, tokenizer.clone());
        let mut analyzer = TextAnalyzer::from(tokenizer);
        let mut writer = index.writer_with_num_threads(1, 15_000_000)?;
        let mut live: Vec<Article> = articles
            .iter()
            .filter(|a| a.status == ArticleStatus::Published)
            .cloned()
            .collect();
        // By id, so that the ord breaks ties of score the same way whatever the order
        // the articles came in.
        live.sort_by(|a, b| a.id.cmp(&b.id));
        let mut entries = Vec::with_capacity(live.len());
        let mut df: HashMap<String, u32> = HashMap::new();
        for (i, article) in live.into_iter().enumerate() {
            let mut doc = TantivyDocument::default();
            doc.add_text(title, &article.title);
            let mut seen = cut(&mut analyzer, &article.title);
            if fields == Fields::TitleBodyTags {
                doc.add_text(body, &article.body);
                seen.extend(cut(&mut analyzer, &article.body));
                for tag in &article.tags {
                    doc.add_text(tags, tag);
                    seen.extend(cut(&mut analyzer, tag));
                }
            }
            doc.add_u64(ord, i as u64);
            writer.add_document(doc)?;
            for word in &seen {
                *df.entry(word.clone()).or_default() += 1;
            }
            entries.push(Entry {
                category: article.category.as_deref().map(CategoryPath::new),
                article,
                words: seen,
            });
        }
        writer.commit()?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(KbIndex {
            reader,
            title,
            body,
            tags,
            fields,
            jieba,
            entries: entries.into(),
            df,
        })
    }

    /// How many articles can be suggested (published ones, whatever their dates).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether the article `id` is indexed (published).
    pub fn contains(&self, id: &str) -> bool {
        self.entries
            .binary_search_by(|entry| entry.article.id.as_str().cmp(id))
            .is_ok()
    }

    /// The best `limit` articles for `text` that are valid on `day`, raised by
    /// [`CATEGORY_BOOST`] when they belong to `category` or below it. Articles that
    /// share no word with the text are not suggested.
    pub fn suggest(
        &self,
        text: &str,
        category: Option<&str>,
        day: Date,
        limit: usize,
    ) -> Result<Vec<Suggestion>, KbError> {
        let mut question: Vec<String> = Vec::new();
        for word in HotlineTokenizer::query_words(&self.jieba, text) {
            if !question.contains(&word) && !QUESTION_WORDS.contains(&word.as_str()) {
                question.push(word);
            }
        }
        if question.is_empty() || self.entries.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let mut should: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for word in &question {
            should.push((Occur::Should, boosted(self.title, word, TITLE_BOOST)));
            if self.fields == Fields::TitleBodyTags {
                should.push((Occur::Should, boosted(self.body, word, 1.0)));
                should.push((Occur::Should, boosted(self.tags, word, TAGS_BOOST)));
            }
        }
        let query = BooleanQuery::new(should);
        let ranking = Ranking {
            entries: self.entries.clone(),
            category: category.map(CategoryPath::new),
            day,
        };
        let found = self
            .reader
            .searcher()
            .search(&query, &TopDocs::with_limit(limit).order_by(ranking))?;
        let weight = |word: &String| self.idf(word);
        let total: f32 = question.iter().map(weight).sum();
        Ok(found
            .into_iter()
            .filter_map(|(key, _)| {
                let (score, Reverse(ord)) = key?;
                let entry = self.entries.get(usize::try_from(ord).ok()?)?;
                let matched: Vec<String> = question
                    .iter()
                    .filter(|w| entry.words.contains(*w))
                    .cloned()
                    .collect();
                let held: f32 = matched.iter().map(weight).sum();
                Some(Suggestion {
                    article: entry.article.clone(),
                    score,
                    confidence: if total > 0.0 { held / total } else { 0.0 },
                    matched,
                })
            })
            .collect())
    }

    /// The inverse document frequency of a word in the knowledge base, BM25's form; a
    /// word no article holds weighs most (the question is about something else).
    fn idf(&self, word: &String) -> f32 {
        let n = self.entries.len() as f32;
        let df = self.df.get(word).copied().unwrap_or(0) as f32;
        (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
    }
}

/// A match's rank: its score with the category boost, then the lower ord (id) first on
/// a tie; `None` (below every match) for an article not valid on the day, which is
/// dropped after collection. Invalid articles can therefore only take places in the
/// top k that no valid match wanted.
type RankKey = Option<(Score, Reverse<u64>)>;

/// How tantivy's top-k collector ranks the matches of a question (see [`RankKey`]).
#[derive(Clone)]
struct Ranking {
    entries: Arc<[Entry]>,
    category: Option<CategoryPath>,
    day: Date,
}

impl SortKeyComputer for Ranking {
    type SortKey = RankKey;
    type Child = SegmentRanking;
    type Comparator = NaturalComparator;

    fn requires_scoring(&self) -> bool {
        true
    }

    fn segment_sort_key_computer(
        &self,
        segment: &SegmentReader,
    ) -> tantivy::Result<SegmentRanking> {
        Ok(SegmentRanking {
            ords: segment
                .fast_fields()
                .u64(ORD)?
                .first_or_default_col(u64::MAX),
            ranking: self.clone(),
        })
    }
}

/// [`Ranking`] within one segment: reads each match's ord from the fast field.
struct SegmentRanking {
    ords: Arc<dyn ColumnValues<u64>>,
    ranking: Ranking,
}

impl SegmentSortKeyComputer for SegmentRanking {
    type SortKey = RankKey;
    type SegmentSortKey = RankKey;
    type SegmentComparator = NaturalComparator;

    fn segment_sort_key(&mut self, doc: DocId, score: Score) -> RankKey {
        let Ranking {
            entries,
            category,
            day,
        } = &self.ranking;
        let ord = self.ords.get_val(doc);
        let entry = entries.get(usize::try_from(ord).ok()?)?;
        if !entry.article.valid_on(*day) {
            return None;
        }
        let boost = match (category, &entry.category) {
            (Some(wanted), Some(own)) if own.starts_with(wanted) => CATEGORY_BOOST,
            _ => 1.0,
        };
        Some((score * boost, Reverse(ord)))
    }

    fn convert_segment_sort_key(&self, key: RankKey) -> RankKey {
        key
    }
}

fn boosted(field: Field, word: &str, boost: f32) -> Box<dyn Query> {
    let term = TermQuery::new(
        Term::from_field_text(field, word),
        IndexRecordOption::WithFreqs,
    );
    if boost == 1.0 {
        Box::new(term)
    } else {
        Box::new(BoostQuery::new(Box::new(term), boost))
    }
}

fn cut(analyzer: &mut TextAnalyzer, text: &str) -> HashSet<String> {
    let mut stream = analyzer.token_stream(text);
    let mut words = HashSet::new();
    while stream.advance() {
        words.insert(stream.token().text.clone());
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::Timestamp;

    fn article(id: &str, title: &str, body: &str) -> Article {
        Article::new(id, title, body, Timestamp::UNIX_EPOCH)
    }

    fn day(text: &str) -> Date {
        text.parse().unwrap()
    }

    fn ids(found: &[Suggestion]) -> Vec<&str> {
        found.iter().map(|s| s.article.id.as_str()).collect()
    }

    fn kb(articles: &[Article]) -> KbIndex {
        KbIndex::build(
            articles,
            minhu_search::hotline_jieba(),
            Fields::TitleBodyTags,
        )
        .unwrap()
    }

    #[test]
    fn the_article_about_the_question_comes_first_with_its_words() {
        let index = kb(&[
            article(
                "gjj",
                "住房公积金提取",
                "提取公积金需带身份证和购房合同到公积金中心办理。",
            ),
            article(
                "ld",
                "路灯不亮怎么报修",
                "路灯由城管局路灯所维护，可拨打12345报修。",
            ),
            article("sb", "社保卡补办", "社保卡丢失可到银行网点补办。"),
        ]);
        let found = index
            .suggest("我想提取公积金，要带什么？", None, day("2026-11-23"), 3)
            .unwrap();
        assert_eq!(ids(&found)[0], "gjj");
        assert!(
            found[0].matched.contains(&"公积金".to_owned()),
            "{:?}",
            found[0].matched
        );
        assert!(found[0].confidence > 0.3 && found[0].confidence <= 1.0);
        assert!(
            !ids(&found).contains(&"ld"),
            "no shared word, no suggestion"
        );
        let lamp = index
            .suggest("小区路灯坏了", None, day("2026-11-23"), 3)
            .unwrap();
        assert_eq!(ids(&lamp), ["ld"]);
    }

    #[test]
    fn articles_outside_their_dates_or_unpublished_are_never_suggested() {
        let mut old = article("old", "公积金提取旧规定", "公积金提取按2020年规定。");
        old.valid_to = Some(day("2025-12-31"));
        let mut soon = article("soon", "公积金提取新规定", "公积金提取按2027年规定。");
        soon.valid_from = Some(day("2027-01-01"));
        let mut draft = article("draft", "公积金提取草稿", "公积金提取草稿。");
        draft.status = ArticleStatus::Draft;
        let now = article("now", "公积金提取", "公积金提取按现行规定。");
        let index = kb(&[old, soon, draft, now]);
        assert_eq!(index.len(), 3, "the draft is not indexed");
        let found = index
            .suggest("公积金提取", None, day("2026-11-23"), 10)
            .unwrap();
        assert_eq!(ids(&found), ["now"]);
        let later = index
            .suggest("公积金提取", None, day("2027-06-01"), 10)
            .unwrap();
        let mut later = ids(&later);
        later.sort();
        assert_eq!(
            later,
            ["now", "soon"],
            "the old rule has ended, the new one begun"
        );
    }

    #[test]
    fn the_tickets_category_raises_its_articles() {
        let mut housing = article("a-housing", "物业费标准", "物业费按合同收取。");
        housing.category = Some("城乡建设/住房保障与房地产".into());
        let mut labour = article("b-labour", "物业费标准", "物业费按合同收取。");
        labour.category = Some("劳动和社会保障".into());
        let index = kb(&[housing, labour]);
        let plain = index.suggest("物业费", None, day("2026-11-23"), 2).unwrap();
        assert_eq!(plain[0].score, plain[1].score, "same words, same score");
        let raised = index
            .suggest("物业费", Some("劳动和社会保障"), day("2026-11-23"), 2)
            .unwrap();
        assert_eq!(ids(&raised), ["b-labour", "a-housing"]);
        assert!(raised[0].score > raised[1].score);
        let by_parent = index
            .suggest("物业费", Some("城乡建设"), day("2026-11-23"), 2)
            .unwrap();
        assert_eq!(ids(&by_parent)[0], "a-housing", "a sub-category counts");
    }

    #[test]
    fn a_question_about_something_else_is_not_sure() {
        let index = kb(&[
            article("gjj", "住房公积金提取", "提取公积金需带身份证。"),
            article("ld", "路灯报修", "路灯坏了拨打12345。"),
        ]);
        let found = index
            .suggest(
                "公积金能不能用来交孩子的学费和补课费",
                None,
                day("2026-11-23"),
                1,
            )
            .unwrap();
        assert_eq!(ids(&found), ["gjj"]);
        assert!(found[0].confidence < 0.5, "{}", found[0].confidence);
        assert!(
            index
                .suggest("，。！", None, day("2026-11-23"), 3)
                .unwrap()
                .is_empty()
        );
    }
}
