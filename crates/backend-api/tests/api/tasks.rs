use std::collections::HashMap;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use testkit::{SendJson, eventually};

use crate::helpers::{error_code, spawn_app};

#[tokio::test]
async fn a_created_task_is_returned_with_location_etag_and_defaults_and_writes_one_event() {
    let app = spawn_app().await;
    let response = app
        .create(
            "alice",
            json!({"title": "  Buy milk  ", "tags": ["Home", "home", " Errands "]}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(response.headers()["etag"], "\"1\"");
    let task: Value = response.json().await.unwrap();
    assert_eq!(
        location,
        format!("/api/tasks/{}", task["id"].as_str().unwrap())
    );
    assert_eq!(task["title"], "Buy milk");
    assert_eq!(task["priority"], "medium");
    assert_eq!(task["status"], "pending");
    assert_eq!(task["timezone"], "UTC");
    assert_eq!(task["tags"], json!(["home", "errands"]));
    assert_eq!(task["version"], 1);
    assert!(task.get("user_id").is_none());
    assert_eq!(app.outbox_topics().await, vec!["task-created"]);

    let (status, fetched) = app.get_json("alice", &location).await;
    assert_eq!(status, 200);
    assert_eq!(fetched, task);
}

/// The task is built by the service and stored in one statement: what the 201 answers must be
/// what was stored, also for times finer than the database keeps (nanoseconds).
#[tokio::test]
async fn a_created_task_is_answered_exactly_as_stored_even_with_nanosecond_times() {
    let app = spawn_app().await;
    let response = app
        .create(
            "alice",
            json!({"title": "fine", "due_date": "2030-01-02T03:04:05.123456789Z",
                   "reminder_at": "2030-01-02T02:04:05.999999999Z"}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let task: Value = response.json().await.unwrap();
    let (status, fetched) = app
        .get_json(
            "alice",
            &format!("/api/tasks/{}", task["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(fetched, task);
    assert_eq!(task["due_date"], "2030-01-02T03:04:05.123456Z");
}

#[tokio::test]
async fn a_patch_changes_only_given_fields_bumps_the_version_and_records_before_and_after() {
    let app = spawn_app().await;
    let task = app
        .create_ok(
            "alice",
            json!({"title": "a", "due_date": "2030-01-01T10:00:00+02:00"}),
        )
        .await;
    assert_eq!(task["due_date"], "2030-01-01T08:00:00Z");
    let id = task["id"].as_str().unwrap();
    let response = app
        .request(Method::PATCH, &format!("/api/tasks/{id}"), "alice")
        .json(&json!({"title": "b", "due_date": null, "priority": "high"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["etag"], "\"2\"");
    let updated: Value = response.json().await.unwrap();
    assert_eq!(
        (
            updated["title"].as_str(),
            updated["priority"].as_str(),
            updated["version"].as_i64()
        ),
        (Some("b"), Some("high"), Some(2))
    );
    assert!(updated["due_date"].is_null());

    let envelope: Value =
        sqlx::query_scalar("SELECT envelope FROM outbox WHERE topic = 'task-updated'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let changes = &envelope["data"]["data"]["changes"];
    assert_eq!(changes["title"], json!({"before": "a", "after": "b"}));
    assert_eq!(changes["due_date"]["after"], Value::Null);
    assert_eq!(changes.as_object().unwrap().len(), 3, "{changes}");
    assert_eq!(envelope["data"]["task_version"], 2);

    // An empty patch changes nothing and publishes nothing.
    let same: Value = app
        .request(Method::PATCH, &format!("/api/tasks/{id}"), "alice")
        .json(&json!({}))
        .send_json()
        .await;
    assert_eq!(same["version"], 2);
    assert_eq!(
        app.outbox_topics().await,
        vec!["task-created", "task-updated"]
    );
}

#[tokio::test]
async fn completing_twice_publishes_once_and_reopen_publishes_an_update() {
    let app = spawn_app().await;
    let task = app.create_ok("alice", json!({"title": "a"})).await;
    let id = task["id"].as_str().unwrap();
    for _ in 0..2 {
        let done: Value = app
            .request(Method::POST, &format!("/api/tasks/{id}/complete"), "alice")
            .send_json()
            .await;
        assert_eq!(done["status"], "completed");
        assert!(done["completed_at"].is_string());
        assert_eq!(done["version"], 2);
    }
    let reopened: Value = app
        .request(Method::POST, &format!("/api/tasks/{id}/reopen"), "alice")
        .send_json()
        .await;
    assert_eq!(reopened["status"], "pending");
    assert!(reopened["completed_at"].is_null());
    assert_eq!(
        app.outbox_topics().await,
        vec!["task-created", "task-completed", "task-updated"]
    );
}

#[tokio::test]
async fn a_deleted_task_is_gone_and_its_event_carries_the_last_state() {
    let app = spawn_app().await;
    let task = app.create_ok("alice", json!({"title": "a"})).await;
    let id = task["id"].as_str().unwrap();
    let response = app
        .request(Method::DELETE, &format!("/api/tasks/{id}"), "alice")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let (status, body) = app.get_json("alice", &format!("/api/tasks/{id}")).await;
    assert_eq!((status, error_code(&body).as_str()), (404, "not_found"));
    let response = app
        .request(Method::DELETE, &format!("/api/tasks/{id}"), "alice")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let envelope: Value =
        sqlx::query_scalar("SELECT envelope FROM outbox WHERE topic = 'task-deleted'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(envelope["data"]["data"]["title"], "a");
    assert_eq!(envelope["data"]["task_version"], 2);
}

#[tokio::test]
async fn search_is_case_insensitive_over_title_and_description_and_treats_wildcards_literally() {
    let app = spawn_app().await;
    app.create_ok("alice", json!({"title": "Write REPORT"}))
        .await;
    app.create_ok(
        "alice",
        json!({"title": "x", "description": "the quarterly report is due"}),
    )
    .await;
    app.create_ok("alice", json!({"title": "100% done"})).await;
    app.create_ok("alice", json!({"title": "unrelated"})).await;
    let (_, page) = app.get_json("alice", "/api/tasks?q=RePoRt").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let (_, page) = app.get_json("alice", "/api/tasks?q=%25").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1, "{page}");
}

#[tokio::test]
async fn filters_by_status_priority_every_tag_and_due_range() {
    let app = spawn_app().await;
    app.create_ok("alice", json!({"title": "a", "priority": "high", "tags": ["work", "urgent"], "due_date": "2030-01-05T00:00:00Z"})).await;
    app.create_ok("alice", json!({"title": "b", "priority": "high", "tags": ["work"], "due_date": "2030-02-05T00:00:00Z"})).await;
    let c = app
        .create_ok(
            "alice",
            json!({"title": "c", "priority": "low", "tags": ["work", "urgent"]}),
        )
        .await;
    app.request(
        Method::POST,
        &format!("/api/tasks/{}/complete", c["id"].as_str().unwrap()),
        "alice",
    )
    .send()
    .await
    .unwrap();
    let titles = |page: &Value| {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["title"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        titles(
            &app.get_json("alice", "/api/tasks?tag=work&tag=URGENT")
                .await
                .1
        ),
        ["a", "c"]
    );
    assert_eq!(
        titles(&app.get_json("alice", "/api/tasks?priority=high").await.1),
        ["a", "b"]
    );
    assert_eq!(
        titles(&app.get_json("alice", "/api/tasks?status=completed").await.1),
        ["c"]
    );
    assert_eq!(
        titles(
            &app.get_json("alice", "/api/tasks?due_after=2030-01-10T00:00:00Z")
                .await
                .1
        ),
        ["b"]
    );
    assert_eq!(
        titles(
            &app.get_json("alice", "/api/tasks?due_before=2030-01-10T00:00:00Z")
                .await
                .1
        ),
        ["a"]
    );
    let (_, tags) = app.get_json("alice", "/api/tags").await;
    assert_eq!(
        tags,
        json!([{"tag": "work", "count": 3}, {"tag": "urgent", "count": 2}])
    );
}

#[tokio::test]
async fn priority_sorts_by_meaning_and_due_dates_sort_with_missing_ones_last() {
    let app = spawn_app().await;
    for (title, priority, due) in [
        ("m", "medium", Some("2030-01-02T00:00:00Z")),
        ("h", "high", None),
        ("l", "low", Some("2030-01-01T00:00:00Z")),
    ] {
        app.create_ok(
            "alice",
            json!({"title": title, "priority": priority, "due_date": due}),
        )
        .await;
    }
    let titles = |page: Value| {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["title"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
            .join("")
    };
    assert_eq!(
        titles(app.get_json("alice", "/api/tasks?sort=-priority").await.1),
        "hml"
    );
    assert_eq!(
        titles(app.get_json("alice", "/api/tasks?sort=priority").await.1),
        "lmh"
    );
    assert_eq!(
        titles(app.get_json("alice", "/api/tasks?sort=due_date").await.1),
        "lmh"
    );
    assert_eq!(
        titles(app.get_json("alice", "/api/tasks?sort=-due_date").await.1),
        "mlh"
    );
    assert_eq!(
        titles(app.get_json("alice", "/api/tasks?sort=title").await.1),
        "hlm"
    );
}

#[tokio::test]
async fn cursor_pages_visit_every_task_exactly_once_in_every_sort() {
    let app = spawn_app().await;
    for i in 0..23 {
        let priority = ["low", "medium", "high"][i % 3];
        let due = (i % 4 != 0).then(|| format!("2030-01-{:02}T00:00:00Z", 1 + i % 5));
        app.create_ok(
            "alice",
            json!({"title": format!("task {i:02}"), "priority": priority, "due_date": due}),
        )
        .await;
    }
    for sort in [
        "created_at",
        "-created_at",
        "priority",
        "-priority",
        "due_date",
        "-due_date",
        "title",
        "-updated_at",
    ] {
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/api/tasks?limit=5&sort={sort}&cursor={c}"),
                None => format!("/api/tasks?limit=5&sort={sort}"),
            };
            let (status, page) = app.get_json("alice", &path).await;
            assert_eq!(status, 200, "{page}");
            seen.extend(
                page["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|t| t["id"].as_str().unwrap().to_owned()),
            );
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        let unique: std::collections::HashSet<_> = seen.iter().collect();
        assert_eq!((seen.len(), unique.len()), (23, 23), "sort {sort}");
    }
}

/// `per_user` tasks for each of `users`, straight into the table, then `ANALYZE`: a quarter
/// completed, a fifth without a due date, priorities in turn (as bench/run.sh seeds readers).
async fn seed_tasks(pool: &sqlx::PgPool, users: &[impl AsRef<str>], per_user: i32) {
    let users: Vec<&str> = users.iter().map(AsRef::as_ref).collect();
    sqlx::query(
        "INSERT INTO tasks (id, user_id, title, status, completed_at, priority, due_date) \
         SELECT gen_random_uuid(), u, 'Task ' || md5(u || '/' || n), \
                CASE WHEN n % 4 = 0 THEN 'completed' ELSE 'pending' END, \
                CASE WHEN n % 4 = 0 THEN now() END, \
                (ARRAY['low', 'medium', 'high'])[1 + n % 3], \
                CASE WHEN n % 5 <> 0 THEN now() + make_interval(hours => n) END \
         FROM unnest($1::text[]) AS u, generate_series(1, $2) AS n",
    )
    .bind(&users)
    .bind(per_user)
    .execute(pool)
    .await
    .unwrap();
    sqlx::query("ANALYZE tasks").execute(pool).await.unwrap();
}

/// Index entries read so far through `index` (the server's cumulative statistics).
async fn index_reads(pool: &sqlx::PgPool, index: &str) -> (i64, i64) {
    sqlx::query_as(
        "SELECT idx_scan, idx_tup_read FROM pg_stat_user_indexes WHERE indexrelname = $1",
    )
    .bind(index)
    .fetch_one(pool)
    .await
    .unwrap_or_else(|error| panic!("index {index}: {error}"))
}

#[tokio::test]
async fn a_page_in_every_sort_reads_its_own_index_not_all_of_the_users_tasks() {
    let app = spawn_app().await;
    seed_tasks(&app.pool, &["alice", "bob"], 2000).await;
    let sorts = [
        ("due_date", "tasks_user_due_first_idx"),
        ("-due_date", "tasks_user_due_last_idx"),
        ("title", "tasks_user_title_idx"),
        ("-title", "tasks_user_title_idx"),
        ("-created_at", "tasks_user_created_idx"),
        ("priority", "tasks_user_priority_idx"),
        ("-updated_at", "tasks_user_updated_idx"),
    ];
    // Per index: its scans and entries read before, and the pages that should scan it.
    let mut expected: HashMap<&str, ((i64, i64), i64)> = HashMap::new();
    for (_, index) in sorts {
        let before = index_reads(&app.pool, index).await;
        expected.entry(index).or_insert((before, 0)).1 += 1;
    }
    for (sort, _) in sorts {
        let (status, page) = app
            .get_json(
                "alice",
                &format!("/api/tasks?status=pending&sort={sort}&limit=20"),
            )
            .await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(page["items"].as_array().unwrap().len(), 20, "{sort}");
    }
    // The service's sessions report their statistics once idle (within ten seconds).
    for (index, ((scans, read), pages)) in expected {
        let read = eventually(Duration::from_secs(30), "the index scans", || async {
            let now = index_reads(&app.pool, index).await;
            (now.0 >= scans + pages).then_some(now.1 - read)
        })
        .await;
        // Each page (21 rows with the one that tells a next page follows) and the completed
        // tasks passed on the way, never alice's 2,000 entries: the index gives the order, no
        // sort of everything she has.
        assert!(
            read < 100 * pages,
            "{index} read {read} entries for {pages} pages"
        );
    }
}

#[tokio::test]
async fn openapi_and_docs_are_served_and_describe_the_task_routes() {
    let app = spawn_app().await;
    let spec: Value = app
        .client
        .get(format!("{}/openapi.json", app.address))
        .send_json()
        .await;
    for path in [
        "/api/tasks",
        "/api/tasks/{id}",
        "/api/tasks/{id}/complete",
        "/api/tasks/{id}/reopen",
        "/api/tags",
    ] {
        assert!(spec["paths"].get(path).is_some(), "missing {path}");
    }
    let docs = app
        .client
        .get(format!("{}/docs/", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(docs.status(), 200);
    assert!(docs.text().await.unwrap().contains("swagger"));
    assert_eq!(
        app.client
            .get(format!("{}/healthz", app.address))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // The sidecar is not running in this test: not ready.
    assert_eq!(
        app.client
            .get(format!("{}/readyz", app.address))
            .send()
            .await
            .unwrap()
            .status(),
        503
    );
    let metrics = app
        .client
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("http_requests_total"), "{metrics}");
}

/// The pools ping a connection only once it idled for `PING_AFTER_IDLE` (common::db), not on
/// every acquire. Connections the database closed (as a restart of Postgres does) are then
/// replaced before use; one taken while still counted busy fails its request with 503, never
/// 500.
#[tokio::test]
async fn connections_the_database_closed_are_replaced_once_they_idled() {
    let app = spawn_app().await;
    let list = || async {
        app.request(Method::GET, "/api/tasks", "alice")
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(list().await, 200);
    let closed: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert!(!closed.is_empty());
    let at_once = list().await;
    assert!([200, 503].contains(&at_once), "{at_once}");
    // The condition under test is the idle time itself, on sqlx's own clock: it cannot be
    // paused, so the test waits it out.
    tokio::time::sleep(common::db::PING_AFTER_IDLE + std::time::Duration::from_millis(200)).await;
    assert_eq!(
        list().await,
        200,
        "a stale connection was handed out after idling"
    );
}

#[tokio::test]
async fn a_filtered_list_settles_on_one_generic_plan_instead_of_planning_every_read() {
    let app = spawn_app().await;
    let readers: Vec<String> = (1..=12).map(|user| format!("reader-{user}")).collect();
    seed_tasks(&app.pool, &readers, 300).await;
    // One session, as a pooled connection of the service: sqlx prepares each statement once
    // and Postgres's plan cache decides, per execution, between its generic plan and planning
    // again for the values (always for the first five).
    let mut conn = app.pool.acquire().await.unwrap();
    let filters = [
        "status=pending&sort=due_date&limit=20",
        "status=completed&sort=-updated_at&limit=20",
        "priority=high&sort=title&limit=20",
    ];
    for filter in filters {
        let query = backend_api::tasks::ListQuery::parse(Some(filter)).unwrap();
        for user in &readers {
            let page = backend_api::tasks::list(&mut conn, user, &query)
                .await
                .unwrap();
            assert_eq!(page.items.len(), 20, "{filter}");
        }
    }
    let plans: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements \
         WHERE statement LIKE 'SELECT id, user_id, %'",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    assert_eq!(plans.len(), filters.len(), "{plans:?}");
    // A statement that plans every execution (a bound status did: 0 generic, 12 custom) costs
    // Postgres about three times what the read itself does.
    for (statement, generic, custom) in plans {
        assert!(
            generic >= 6 && custom <= 6,
            "{generic} generic and {custom} custom plans for {statement}"
        );
    }
}
