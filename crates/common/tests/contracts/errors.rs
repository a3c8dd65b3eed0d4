//! The one error vocabulary against a real Postgres: what a constraint violation the code did
//! not handle itself becomes (temporary tables, so the run leaves nothing behind).

use axum::http::StatusCode;
use axum::response::IntoResponse;
use common::error::ApiError;

async fn connection() -> sqlx::PgConnection {
    use sqlx::Connection;
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    sqlx::PgConnection::connect(&url).await.unwrap()
}

async fn rendered(error: ApiError) -> (StatusCode, serde_json::Value) {
    let response = error.into_response();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
        .await
        .unwrap();
    (status, serde_json::from_slice(&bytes).unwrap())
}

#[tokio::test]
async fn unique_and_foreign_key_violations_are_409_with_a_code_not_500() {
    let mut db = connection().await;
    for statement in [
        "CREATE TEMP TABLE parent (id int PRIMARY KEY)",
        "CREATE TEMP TABLE child (id int PRIMARY KEY, parent int NOT NULL REFERENCES parent (id))",
        "INSERT INTO parent VALUES (1)",
    ] {
        sqlx::query(statement).execute(&mut db).await.unwrap();
    }
    let duplicate = sqlx::query("INSERT INTO parent VALUES (1)")
        .execute(&mut db)
        .await
        .unwrap_err();
    let (status, body) = rendered(duplicate.into()).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"]["code"], "already_exists");
    assert!(
        !body.to_string().contains("parent_pkey"),
        "the constraint's name leaked: {body}"
    );

    let orphan = sqlx::query("INSERT INTO child VALUES (1, 2)")
        .execute(&mut db)
        .await
        .unwrap_err();
    let (status, body) = rendered(orphan.into()).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"]["code"], "conflict");

    let fault = sqlx::query("SELECT * FROM no_such_table")
        .execute(&mut db)
        .await
        .unwrap_err();
    assert_eq!(
        ApiError::from(fault).status(),
        StatusCode::INTERNAL_SERVER_ERROR
    );
}
