use super::*;

#[tokio::test]
async fn a_write_that_panics_fails_alone_and_the_writer_goes_on() {
    each_backend(async |label, store| {
        let Store::Sqlite(sqlite) = &store else {
            return;
        };
        let lost: Result<(), StoreError> = sqlite
            .writer
            .write(|_tx| Box::pin(async { panic!("a bug in one write") }))
            .await;
        assert!(
            lost.is_err(),
            "{label}: the caller learns it was not written"
        );
        // The writer still takes every write after it.
        let case = open(&store, b"after").await;
        assert_eq!(store.events(case).await.unwrap().len(), 1, "{label}");
    })
    .await;
}
