//! Dashboard accounts against a real database: password hashes, sessions
//! (idle and absolute expiry), disabling, the append-only audit log and
//! login rate limiting keyed by (address, client).

mod common;

use std::net::IpAddr;
use std::time::Duration;

use concierge_access::{Role, hash_password, login_key, verify_password};
use concierge_store::{Store, StoreError};
use sqlx::PgPool;
use uuid::Uuid;

const HOUR: Duration = Duration::from_secs(3600);

async fn store(pool: &PgPool) -> Store {
    let store = Store::from_pool(pool.clone());
    // The job queue's schema too (adding a volunteer re-routes waiting cases).
    store.migrate().await.unwrap();
    store
}

async fn caseworker(store: &Store, email: &str) -> (Uuid, Uuid) {
    let vid = store
        .add_volunteer(email, "Vee", &["DE".into(), "AT".into()], &["de".into()], 3)
        .await
        .unwrap();
    let hash = hash_password("correct horse battery").unwrap();
    let uid = store
        .create_user(email, "Vee", Role::Caseworker, Some(vid), Some(&hash))
        .await
        .unwrap();
    (uid, vid)
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn passwords_are_hashed_and_verified(pool: PgPool) {
    let store = store(&pool).await;
    let hash = hash_password("correct horse battery").unwrap();
    let id = store
        .create_user(
            "Admin@Example.org",
            "Ad Min",
            Role::Admin,
            None,
            Some(&hash),
        )
        .await
        .unwrap();

    let found = store
        .find_user_by_email(" ADMIN@example.ORG ")
        .await
        .unwrap()
        .expect("found case-insensitively");
    assert_eq!(found.user.id, id);
    assert_eq!(found.user.email, "admin@example.org");
    assert_eq!(found.user.role, Role::Admin);
    let stored = found.password_hash.as_deref().unwrap();
    assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
    assert!(
        !format!("{found:?}").contains("argon2"),
        "Debug hides the hash"
    );
    assert!(verify_password("correct horse battery", Some(stored)));
    assert!(!verify_password("correct horse batter", Some(stored)));

    // A new password replaces the old one and ends every session.
    let s = store.create_session(id, None, HOUR).await.unwrap();
    store
        .set_password_hash(id, &hash_password("another long passphrase").unwrap())
        .await
        .unwrap();
    assert!(
        store
            .session_by_token(&s.token, HOUR)
            .await
            .unwrap()
            .is_none()
    );
    let stored = store
        .find_user_by_email("admin@example.org")
        .await
        .unwrap()
        .unwrap()
        .password_hash
        .unwrap();
    assert!(verify_password("another long passphrase", Some(&stored)));
    assert!(!verify_password("correct horse battery", Some(&stored)));

    // No such user: nothing, and nothing to verify against.
    assert!(
        store
            .find_user_by_email("nobody@example.org")
            .await
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        store.set_password_hash(Uuid::new_v4(), &stored).await,
        Err(StoreError::NotFound)
    ));

    // The schema's rules: one account per address whatever its case, and a
    // caseworker must be a volunteer.
    assert!(
        store
            .create_user("admin@EXAMPLE.org", "Dup", Role::Coordinator, None, None)
            .await
            .is_err()
    );
    assert!(
        store
            .create_user("cw@example.org", "Cw", Role::Caseworker, None, None)
            .await
            .is_err()
    );
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn sessions_store_only_a_digest_and_carry_the_principal(pool: PgPool) {
    let store = store(&pool).await;
    let (uid, vid) = caseworker(&store, "vee@example.org").await;

    let a = store
        .create_session(uid, Some("Firefox"), HOUR)
        .await
        .unwrap();
    let b = store.create_session(uid, None, HOUR).await.unwrap();
    assert_eq!(a.token.len(), 64);
    assert_ne!(a.token, b.token, "a new id at every login");
    assert_ne!(a.csrf_token, b.csrf_token);

    // Only the SHA-256 of the token is stored.
    let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM sessions ORDER BY id")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(ids.len(), 2);
    assert!(!ids.contains(&a.token));
    let digest: String = sqlx::query_scalar("SELECT encode(sha256($1::bytea), 'hex')")
        .bind(a.token.as_bytes())
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(ids.contains(&digest));

    let s = store
        .session_by_token(&a.token, HOUR)
        .await
        .unwrap()
        .expect("live");
    assert_eq!(s.id, digest);
    assert_eq!(s.principal.user_id, uid);
    assert_eq!(s.principal.role, Role::Caseworker);
    assert_eq!(s.principal.volunteer_id, Some(vid));
    assert_eq!(
        s.principal.countries,
        vec!["DE".to_owned(), "AT".to_owned()]
    );
    assert_eq!(s.email, "vee@example.org");
    assert_eq!(s.csrf_token, a.csrf_token);

    // Unknown and malformed tokens find nothing.
    assert!(
        store
            .session_by_token(&"0".repeat(64), HOUR)
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.session_by_token("", HOUR).await.unwrap().is_none());
    // A stolen copy of the table is no use: its ids are not tokens.
    assert!(
        store
            .session_by_token(&digest, HOUR)
            .await
            .unwrap()
            .is_none()
    );

    // Logging out ends this session only.
    assert!(store.delete_session(&a.token).await.unwrap());
    assert!(!store.delete_session(&a.token).await.unwrap());
    assert!(
        store
            .session_by_token(&a.token, HOUR)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .session_by_token(&b.token, HOUR)
            .await
            .unwrap()
            .is_some()
    );

    // Unknown users get no session.
    assert!(matches!(
        store.create_session(Uuid::new_v4(), None, HOUR).await,
        Err(StoreError::NotFound)
    ));
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn last_seen_is_touched_at_most_once_a_minute(pool: PgPool) {
    let store = store(&pool).await;
    let (uid, _) = caseworker(&store, "vee@example.org").await;
    let s = store.create_session(uid, None, HOUR).await.unwrap();
    let seen = || async {
        sqlx::query_scalar::<_, chrono::DateTime<chrono::Utc>>("SELECT last_seen_at FROM sessions")
            .fetch_one(&pool)
            .await
            .unwrap()
    };
    let first = seen().await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    store
        .session_by_token(&s.token, HOUR)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(seen().await, first, "fresh: not written");

    sqlx::query("UPDATE sessions SET last_seen_at = now() - interval '2 minutes'")
        .execute(&pool)
        .await
        .unwrap();
    let old = seen().await;
    store
        .session_by_token(&s.token, HOUR)
        .await
        .unwrap()
        .unwrap();
    assert!(seen().await > old, "stale: touched");
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn sessions_expire_when_idle_and_absolutely(pool: PgPool) {
    let store = store(&pool).await;
    let (uid, _) = caseworker(&store, "vee@example.org").await;

    // Idle: unused for longer than the idle timeout.
    let idle = store.create_session(uid, None, HOUR).await.unwrap();
    let busy = store.create_session(uid, None, HOUR).await.unwrap();
    assert!(
        store
            .session_by_token(&idle.token, Duration::from_secs(1))
            .await
            .unwrap()
            .is_some()
    );
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert!(
        store
            .session_by_token(&idle.token, Duration::from_secs(1))
            .await
            .unwrap()
            .is_none(),
        "idle too long"
    );
    // A dead session is removed, so a longer timeout does not revive it.
    assert!(
        store
            .session_by_token(&idle.token, HOUR)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .session_by_token(&busy.token, HOUR)
            .await
            .unwrap()
            .is_some()
    );

    // Absolute: past its lifetime, however active.
    let short = store
        .create_session(uid, None, Duration::from_secs(1))
        .await
        .unwrap();
    assert!(
        store
            .session_by_token(&short.token, HOUR)
            .await
            .unwrap()
            .is_some()
    );
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert!(
        store
            .session_by_token(&short.token, HOUR)
            .await
            .unwrap()
            .is_none(),
        "past its absolute expiry"
    );

    // The sweep removes what nobody looked up.
    let forgotten = store
        .create_session(uid, None, Duration::from_millis(500))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(700)).await;
    let (sessions, _) = store.purge_expired_sessions(HOUR, HOUR).await.unwrap();
    assert_eq!(sessions, 1);
    assert!(
        store
            .session_by_token(&forgotten.token, HOUR)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .session_by_token(&busy.token, HOUR)
            .await
            .unwrap()
            .is_some()
    );
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn disabling_a_user_ends_their_sessions(pool: PgPool) {
    let store = store(&pool).await;
    let (uid, _) = caseworker(&store, "vee@example.org").await;
    let (other, _) = caseworker(&store, "wes@example.org").await;
    let a = store.create_session(uid, None, HOUR).await.unwrap();
    let b = store.create_session(uid, None, HOUR).await.unwrap();
    let c = store.create_session(other, None, HOUR).await.unwrap();

    assert_eq!(store.disable_user("VEE@example.org").await.unwrap(), uid);
    assert!(
        store
            .session_by_token(&a.token, HOUR)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .session_by_token(&b.token, HOUR)
            .await
            .unwrap()
            .is_none()
    );
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM sessions WHERE user_id = $1")
        .bind(uid)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(left, 0);
    assert!(
        store
            .session_by_token(&c.token, HOUR)
            .await
            .unwrap()
            .is_some()
    );

    // No new session either, and the account shows as disabled.
    assert!(matches!(
        store.create_session(uid, None, HOUR).await,
        Err(StoreError::NotFound)
    ));
    let u = store
        .find_user_by_email("vee@example.org")
        .await
        .unwrap()
        .unwrap();
    assert!(u.user.disabled_at.is_some());
    assert!(matches!(
        store.disable_user("nobody@example.org").await,
        Err(StoreError::NotFound)
    ));
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn the_audit_log_is_append_only(pool: PgPool) {
    let store = store(&pool).await;
    let (uid, _) = caseworker(&store, "vee@example.org").await;
    let ticket = Uuid::new_v4();
    let first = store
        .audit(
            Some(uid),
            "case.view",
            Some(ticket),
            &serde_json::json!({"why": "triage"}),
        )
        .await
        .unwrap();
    let second = store
        .audit(None, "user.add", None, &serde_json::json!({}))
        .await
        .unwrap();
    assert!(second > first);

    for sql in [
        "UPDATE audit_log SET action = 'nothing'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
    ] {
        let err = sqlx::query(sql).execute(&pool).await.expect_err(sql);
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }

    let all = store.list_audit(None, None, 50).await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].id, second, "newest first");
    assert_eq!(all[1].action, "case.view");
    assert_eq!(all[1].actor_email.as_deref(), Some("vee@example.org"));
    assert_eq!(all[1].detail["why"], "triage");
    let for_case = store.list_audit(Some(ticket), None, 50).await.unwrap();
    assert_eq!(for_case.len(), 1);
    let older = store.list_audit(None, Some(second), 50).await.unwrap();
    assert_eq!(older.len(), 1);
    assert_eq!(older[0].id, first);
}

#[sqlx::test(migrator = "concierge_store::MIGRATOR")]
async fn login_failures_count_per_address_and_client(pool: PgPool) {
    let store = store(&pool).await;
    let attacker: IpAddr = "203.0.113.9".parse().unwrap();
    let user_ip: IpAddr = "198.51.100.20".parse().unwrap();
    let window = Duration::from_secs(15 * 60);

    let attacked = login_key("vee@example.org", attacker);
    for _ in 0..10 {
        store.record_login_attempt(&attacked).await.unwrap();
    }
    assert_eq!(
        store
            .recent_failed_attempts(&attacked, window)
            .await
            .unwrap(),
        10
    );
    // The real user, from their own network, is not locked out.
    let own = login_key("Vee@Example.org", user_ip);
    assert_eq!(store.recent_failed_attempts(&own, window).await.unwrap(), 0);
    // Nor is anyone else at the attacker's network.
    let neighbour = login_key("wes@example.org", attacker);
    assert_eq!(
        store
            .recent_failed_attempts(&neighbour, window)
            .await
            .unwrap(),
        0
    );
    // The address is case-insensitive in the key.
    assert_eq!(
        store
            .recent_failed_attempts(&login_key("VEE@example.org", attacker), window)
            .await
            .unwrap(),
        10
    );

    // Only the window counts.
    sqlx::query("UPDATE login_attempts SET at = now() - interval '1 hour'")
        .execute(&pool)
        .await
        .unwrap();
    store.record_login_attempt(&attacked).await.unwrap();
    assert_eq!(
        store
            .recent_failed_attempts(&attacked, window)
            .await
            .unwrap(),
        1
    );
    let (_, purged) = store.purge_expired_sessions(HOUR, window).await.unwrap();
    assert_eq!(purged, 10);

    // A successful login clears the key.
    store.clear_login_attempts(&attacked).await.unwrap();
    assert_eq!(
        store
            .recent_failed_attempts(&attacked, window)
            .await
            .unwrap(),
        0
    );
}
