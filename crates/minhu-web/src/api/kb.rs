//! The knowledge base over HTTP: articles (`/api/v1/kb/articles`, read with `kb.view`,
//! written with `kb.edit`) and the suggestions for a text being typed
//! (`/api/v1/kb/suggest`), which the agent console shows live.

use crate::AppState;
use crate::api::page_limit;
use crate::middleware::auth::Rule::Permission as Needs;
use crate::middleware::error::ApiError;
use crate::middleware::extract::{JsonBody, QueryParams};
use crate::routes::Routes;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use minhu_core::access::Permission as P;
use minhu_core::workflow::FieldError;
use minhu_engine::records::Article;
use minhu_kb::{ArticleDraft, KbError, Suggestion};
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;
use utoipa_axum::routes;

/// Officials read the knowledge base and its suggestions; editors write it.
pub(crate) fn routes() -> Routes {
    Routes::new()
        .api(Needs(P::ViewKnowledge), routes!(list_articles))
        .api(Needs(P::EditKnowledge), routes!(create_article))
        .api(Needs(P::ViewKnowledge), routes!(get_article))
        .api(Needs(P::EditKnowledge), routes!(replace_article))
        .api(Needs(P::EditKnowledge), routes!(delete_article))
        .api(Needs(P::ViewKnowledge), routes!(suggest))
}

impl From<KbError> for ApiError {
    fn from(error: KbError) -> Self {
        ApiError::internal(error)
    }
}

/// A stored article as the API shows it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ArticleView {
    pub id: String,
    pub title: String,
    pub body: String,
    pub category: Option<String>,
    /// First and last day the answer holds (inclusive), `YYYY-MM-DD`.
    pub valid_from: Option<String>,
    pub valid_until: Option<String>,
    pub owner_unit: Option<String>,
    pub tags: Vec<String>,
    /// `draft`, `published` or `retired`.
    pub status: String,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&Article> for ArticleView {
    fn from(a: &Article) -> Self {
        ArticleView {
            id: a.id.clone(),
            title: a.title.clone(),
            body: a.body.clone(),
            category: a.category.clone(),
            valid_from: a.valid_from.map(|d| d.to_string()),
            valid_until: a.valid_to.map(|d| d.to_string()),
            owner_unit: a.owner_unit.clone(),
            tags: a.tags.clone(),
            status: a.status.code().to_owned(),
            created_at: a.created_at.to_string(),
            updated_at: a.updated_at.to_string(),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ArticleList {
    articles: Vec<ArticleView>,
}

/// Every article, by id; `?status=` and `?category=` (a path and everything below it)
/// narrow the list.
#[utoipa::path(
    get, path = "/api/v1/kb/articles",
    params(ArticleQuery),
    responses((status = 200, body = ArticleList), (status = 422, body = crate::middleware::error::ErrorBody))
)]
async fn list_articles(
    State(state): State<AppState>,
    QueryParams(query): QueryParams<ArticleQuery>,
) -> Result<Json<ArticleList>, ApiError> {
    let status = query
        .status
        .as_deref()
        .map(|s| {
            minhu_engine::records::ArticleStatus::parse(s).ok_or_else(|| {
                FieldError::new(
                    "status",
                    format!("{s:?} is not draft, published or retired"),
                )
            })
        })
        .transpose()?;
    let category = query.category.as_deref().map(|c| c.trim_end_matches('/'));
    let articles = state.engine.kb().articles().await?;
    Ok(Json(ArticleList {
        articles: articles
            .iter()
            .filter(|a| status.is_none_or(|s| a.status == s))
            .filter(|a| {
                category.is_none_or(|wanted| {
                    a.category
                        .as_deref()
                        .is_some_and(|own| minhu_core::taxonomy::within(own, wanted))
                })
            })
            .map(ArticleView::from)
            .collect(),
    }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ArticleQuery {
    /// draft, published or retired.
    status: Option<String>,
    /// A taxonomy path; sub-categories included.
    category: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct SuggestQuery {
    /// The ticket's or caller's words.
    text: String,
    /// Raise articles of this category.
    category: Option<String>,
    /// 1 to 20, default 5.
    limit: Option<u32>,
}

/// Add an article. Sending the same article again (a retry) answers 200 with it; an
/// id already used for a different article is refused (409): edit it with PUT.
#[utoipa::path(
    post, path = "/api/v1/kb/articles", request_body = ArticleDraft,
    responses(
        (status = 201, description = "created", body = ArticleView),
        (status = 200, description = "this very article was already stored", body = ArticleView),
        (status = 409, description = "the id is taken by another article", body = crate::middleware::error::ErrorBody),
        (status = 422, description = "a field is invalid", body = crate::middleware::error::ErrorBody),
    )
)]
async fn create_article(
    State(state): State<AppState>,
    JsonBody(draft): JsonBody<ArticleDraft>,
) -> Result<Response, ApiError> {
    let engine = &state.engine;
    let article = draft.check(engine.city(), engine.now())?;
    if let Some(old) = engine.kb().article(&article.id).await? {
        if old.same_content(&article) {
            return Ok((StatusCode::OK, Json(ArticleView::from(&old))).into_response());
        }
        return Err(ApiError::conflict(
            "id",
            format!(
                "article {} already exists; change it with PUT /api/v1/kb/articles/{}",
                article.id, article.id
            ),
        ));
    }
    engine.kb().put(&article).await?;
    let stored = engine.kb().article(&article.id).await?.unwrap_or(article);
    Ok((StatusCode::CREATED, Json(ArticleView::from(&stored))).into_response())
}

#[utoipa::path(
    get, path = "/api/v1/kb/articles/{id}",
    responses((status = 200, body = ArticleView), (status = 404, body = crate::middleware::error::ErrorBody))
)]
async fn get_article(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ArticleView>, ApiError> {
    let article = state
        .engine
        .kb()
        .article(&id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no article has the id {id:?}")))?;
    Ok(Json(ArticleView::from(&article)))
}

/// Create or replace the article with this id (the body's `id` must be the path's).
/// Retire an article with `"status": "retired"` to keep it for the tickets citing it.
#[utoipa::path(
    put, path = "/api/v1/kb/articles/{id}", request_body = ArticleDraft,
    responses(
        (status = 200, body = ArticleView),
        (status = 422, description = "a field is invalid", body = crate::middleware::error::ErrorBody),
    )
)]
async fn replace_article(
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(draft): JsonBody<ArticleDraft>,
) -> Result<Json<ArticleView>, ApiError> {
    if draft.id != id {
        return Err(FieldError::new("id", format!("must be the path's id {id:?}")).into());
    }
    let engine = &state.engine;
    let article = draft.check(engine.city(), engine.now())?;
    engine.kb().put(&article).await?;
    let stored = engine.kb().article(&id).await?.unwrap_or(article);
    Ok(Json(ArticleView::from(&stored)))
}

/// Delete an article (for mistakes; retire one that was in use instead).
#[utoipa::path(
    delete, path = "/api/v1/kb/articles/{id}",
    responses((status = 204, description = "deleted"), (status = 404, body = crate::middleware::error::ErrorBody))
)]
async fn delete_article(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if state.engine.kb().delete(&id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("no article has the id {id:?}")))
    }
}

/// One suggested article.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SuggestedArticle {
    pub article: ArticleView,
    /// The ranking score (BM25 with field weights and the category boost).
    pub score: f32,
    /// 0 to 1: the share of the text's word weight the article holds.
    pub confidence: f32,
    /// The text's words found in the article.
    pub matched: Vec<String>,
}

impl From<&Suggestion> for SuggestedArticle {
    fn from(s: &Suggestion) -> Self {
        SuggestedArticle {
            article: ArticleView::from(&s.article),
            score: (s.score * 100.0).round() / 100.0,
            confidence: (s.confidence * 100.0).round() / 100.0,
            matched: s.matched.clone(),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Suggestions {
    suggestions: Vec<SuggestedArticle>,
}

/// The longest text suggestions are made for.
pub(crate) const MAX_QUESTION: usize = 2_000;

/// Articles for a ticket's text: published, valid today, best first.
#[utoipa::path(
    get, path = "/api/v1/kb/suggest",
    params(SuggestQuery),
    responses((status = 200, body = Suggestions), (status = 422, body = crate::middleware::error::ErrorBody))
)]
async fn suggest(
    State(state): State<AppState>,
    QueryParams(query): QueryParams<SuggestQuery>,
) -> Result<Json<Suggestions>, ApiError> {
    let text = question(&query.text, "text")?;
    let limit = page_limit(query.limit, 5, 20)?;
    let category = query.category.as_deref();
    let engine = &state.engine;
    let found = engine
        .kb()
        .suggest(text, category, engine.today(), limit as usize)
        .await?;
    Ok(Json(Suggestions {
        suggestions: found.iter().map(SuggestedArticle::from).collect(),
    }))
}

/// A question's text: present and not too long, or an error naming `field`.
pub(crate) fn question<'a>(text: &'a str, field: &str) -> Result<&'a str, FieldError> {
    if text.is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    if text.chars().count() > MAX_QUESTION {
        return Err(FieldError::new(
            field,
            format!("at most {MAX_QUESTION} characters"),
        ));
    }
    Ok(text)
}
