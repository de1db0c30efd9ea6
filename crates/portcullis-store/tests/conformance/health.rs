//! [`HealthRepo`](portcullis_store::repo::HealthRepo).

use portcullis_store::Store;

use crate::support::TestDb;

pub async fn ping_and_backend(store: Store, db: &TestDb) {
    store.health.ping().await.unwrap();
    assert_eq!(store.health.backend(), db.backend);
}
