//! The knowledge base's index follows the store: a write by anyone (another handle on
//! the same database stands for another process) is seen at the next query.

use minhu_kb::KnowledgeBase;
use minhu_store::{Article, ArticleStatus, KbStore, SqlStore, Store};
use std::sync::Arc;

fn article(id: &str, title: &str, body: &str) -> Article {
    Article::new(id, title, body, jiff::Timestamp::UNIX_EPOCH)
}

#[tokio::test]
async fn edits_from_another_handle_are_seen_at_the_next_query() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("kb.db").display());
    let served: Arc<dyn Store> = Arc::new(SqlStore::connect(&url).await.unwrap());
    let other = SqlStore::connect(&url).await.unwrap();
    let kb = KnowledgeBase::new(served);
    let day = "2026-11-23".parse().unwrap();
    assert!(kb.suggest("公积金", None, day, 3).await.unwrap().is_empty());

    other
        .put_article(&article("gjj", "公积金提取", "带身份证办理。"))
        .await
        .unwrap();
    let found = kb.suggest("公积金", None, day, 3).await.unwrap();
    assert_eq!(found.len(), 1, "a new article is found");
    let first = kb.index().await.unwrap();
    assert!(
        Arc::ptr_eq(&first, &kb.index().await.unwrap()),
        "no change, no rebuild"
    );

    let mut retired = article("gjj", "公积金提取", "带身份证办理。");
    retired.status = ArticleStatus::Retired;
    other.put_article(&retired).await.unwrap();
    assert!(
        kb.suggest("公积金", None, day, 3).await.unwrap().is_empty(),
        "retired"
    );

    other
        .put_article(&article("sb", "社保卡补办", "到银行补办。"))
        .await
        .unwrap();
    assert_eq!(kb.suggest("社保卡", None, day, 3).await.unwrap().len(), 1);
    other.delete_article("sb").await.unwrap();
    assert!(
        kb.suggest("社保卡", None, day, 3).await.unwrap().is_empty(),
        "deleted"
    );
}
