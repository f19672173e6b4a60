//! Accounts (SPEC 2): users with roles, API tokens for scripts, and admin sessions. Who may
//! do what is `domain::account::Role`'s rule; this module authenticates and records.

use crate::domain::ValidationError;
use crate::domain::account::{
    Role, check_password_strength, decoy_hash, hash_password, parse_username, verify_password,
};
use crate::domain::statement::sha256;
use crate::domain::token;
use crate::service::audit::{self, now};
use crate::service::error::{ServiceError, ServiceResult, blocking};
use crate::store::{Store, StoreError};

/// An admin session lasts this long.
pub const SESSION_HOURS: i64 = 12;

/// Someone signed in, by token or session.
#[derive(Clone, Debug)]
pub struct Account {
    pub user_id: i64,
    pub username: String,
    pub role: Role,
    pub instansi_id: Option<i64>,
    /// Present for cookie sessions: the token every form must echo.
    pub csrf: Option<String>,
}

/// Per-instansi roles need an instansi; deployment-wide roles must have none.
pub fn check_scope(role: Role, instansi_id: Option<i64>) -> Result<(), ValidationError> {
    match (role.per_instansi(), instansi_id) {
        (true, None) => Err(ValidationError::new(
            "instansi_required",
            "instansi",
            format!("Peran {} perlu --instansi.", role.as_str()),
        )),
        (false, Some(_)) => Err(ValidationError::new(
            "instansi_forbidden",
            "instansi",
            format!(
                "Peran {} berlaku untuk seluruh deployment: tanpa --instansi.",
                role.as_str()
            ),
        )),
        _ => Ok(()),
    }
}

/// Adds a user with a password, in the instansi its role needs.
pub async fn add_user(
    store: &dyn Store,
    instansi_id: Option<i64>,
    username: &str,
    role: Role,
    password: String,
    actor: &str,
) -> ServiceResult<i64> {
    let username = parse_username(username)?;
    check_scope(role, instansi_id)?;
    check_password_strength(&password)?;
    let hash = blocking("hashing a password", move || hash_password(&password)).await?;
    let id = store
        .add_user(instansi_id, &username, role, &hash, now())
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => ServiceError::conflict(
                "username_taken",
                format!("Nama pengguna '{username}' sudah dipakai."),
            ),
            other => other.into(),
        })?;
    audit::record(
        store,
        instansi_id,
        actor,
        "user.add",
        &format!("akun {username} ({}) dibuat", role.as_str()),
    )
    .await?;
    Ok(id)
}

/// Creates an API token for a user; returns it (shown once, stored hashed). With
/// `instansi_id`, the user must belong to that instansi.
pub async fn create_token(
    store: &dyn Store,
    username: &str,
    instansi_id: Option<i64>,
    actor: &str,
) -> ServiceResult<String> {
    let user = store.user_by_username(username).await?.ok_or_else(|| {
        ServiceError::not_found("user_unknown", format!("Akun '{username}' tidak ada."))
    })?;
    if instansi_id.is_some() && user.instansi_id != instansi_id {
        return Err(ServiceError::not_found(
            "user_unknown",
            format!("Akun '{username}' bukan milik instansi itu."),
        ));
    }
    let token = format!("ikr_{}", token::random(32));
    store
        .add_api_token(user.id, &sha256(token.as_bytes()), now())
        .await?;
    audit::record(
        store,
        user.instansi_id,
        actor,
        "token.create",
        &format!("token API untuk {username}"),
    )
    .await?;
    Ok(token)
}

/// The account behind an API token, if the token is ours.
pub async fn by_api_token(store: &dyn Store, token: &str) -> ServiceResult<Option<Account>> {
    let Some(user) = store.user_by_api_token(&sha256(token.as_bytes())).await? else {
        return Ok(None);
    };
    Ok(Some(Account {
        user_id: user.id,
        username: user.username,
        role: user.role,
        instansi_id: user.instansi_id,
        csrf: None,
    }))
}

/// The account behind a session id, if the session is live.
pub async fn by_session(store: &dyn Store, session: &str) -> ServiceResult<Option<Account>> {
    let Some(row) = store.session(&sha256(session.as_bytes()), now()).await? else {
        return Ok(None);
    };
    Ok(Some(Account {
        user_id: row.id,
        username: row.username,
        role: row.role,
        instansi_id: row.instansi_id,
        csrf: Some(row.csrf),
    }))
}

/// A new admin session: its id (for the cookie) and its CSRF token.
pub struct Session {
    pub id: String,
    pub csrf: String,
}

/// Checks a password (in constant work whether or not the user exists) and opens a session.
/// `None` for a wrong username or password, which are not told apart.
pub async fn login(
    store: &dyn Store,
    username: &str,
    password: String,
) -> ServiceResult<Option<Session>> {
    let username = username.trim().to_ascii_lowercase();
    let user = store.user_by_username(&username).await?;
    let hash = user
        .as_ref()
        .map(|u| u.password_hash.clone())
        .unwrap_or_else(|| decoy_hash().to_string());
    let ok = blocking("checking a password", move || {
        verify_password(&password, &hash)
    })
    .await?;
    let user = match user {
        Some(u) if ok => u,
        user => {
            // A failed login is recorded too; an unknown name is not written down (people type
            // passwords into the name field).
            let (instansi_id, actor, summary) = match &user {
                Some(u) => (
                    u.instansi_id,
                    format!("user:{}", u.username),
                    "gagal masuk: kata sandi salah",
                ),
                None => (
                    None,
                    "anonim".to_string(),
                    "gagal masuk: nama pengguna tidak dikenal",
                ),
            };
            audit::record(store, instansi_id, &actor, "login.failed", summary).await?;
            return Ok(None);
        }
    };
    let session = Session {
        id: token::random(32),
        csrf: token::random(16),
    };
    let at = now();
    store
        .create_session(
            &sha256(session.id.as_bytes()),
            user.id,
            &session.csrf,
            at,
            at + SESSION_HOURS * 3600,
        )
        .await?;
    audit::record(
        store,
        user.instansi_id,
        &format!("user:{}", user.username),
        "login",
        "masuk ke halaman admin",
    )
    .await?;
    Ok(Some(session))
}

pub async fn logout(store: &dyn Store, session: &str) -> ServiceResult<()> {
    Ok(store.delete_session(&sha256(session.as_bytes())).await?)
}

/// Links an account to the OIDC subject it signs in with through SSO (`ikrar user link-oidc`).
pub async fn link_oidc(
    store: &dyn Store,
    username: &str,
    subject: &str,
    actor: &str,
) -> ServiceResult<()> {
    let username = username.trim().to_ascii_lowercase();
    let subject = subject.trim();
    if subject.is_empty() || subject.len() > 255 || subject.chars().any(char::is_control) {
        return Err(ServiceError::Invalid(ValidationError::new(
            "subject_invalid",
            "subject",
            "Subjek OIDC harus 1 sampai 255 karakter tanpa karakter kendali.",
        )));
    }
    let user = store.user_by_username(&username).await?.ok_or_else(|| {
        ServiceError::not_found("user_unknown", format!("Akun '{username}' tidak ada."))
    })?;
    store
        .link_oidc_subject(&username, subject)
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => ServiceError::conflict(
                "subject_taken",
                "Subjek OIDC itu sudah ditautkan ke akun lain.",
            ),
            other => other.into(),
        })?;
    audit::record(
        store,
        user.instansi_id,
        actor,
        "user.link-oidc",
        &format!("akun {username} ditautkan ke SSO"),
    )
    .await?;
    Ok(())
}

/// Opens an admin session for the account linked to a subject the provider vouched for; the
/// session ends 8 hours after the ID token at the latest. An unlinked subject is refused and
/// the refusal audited. `None` for a refusal.
pub async fn login_oidc(
    store: &dyn Store,
    subject: &str,
    id_token_exp: i64,
) -> ServiceResult<Option<Session>> {
    let Some(user) = store.user_by_oidc_subject(subject).await? else {
        audit::record(
            store,
            None,
            &format!("oidc:{subject}"),
            "login.refused",
            "masuk dengan SSO ditolak: subjek belum ditautkan ke akun mana pun",
        )
        .await?;
        return Ok(None);
    };
    let session = Session {
        id: token::random(32),
        csrf: token::random(16),
    };
    let at = now();
    let expires = crate::domain::sso::session_expiry(at, SESSION_HOURS * 3600, id_token_exp);
    store
        .create_session(
            &sha256(session.id.as_bytes()),
            user.id,
            &session.csrf,
            at,
            expires,
        )
        .await?;
    audit::record(
        store,
        user.instansi_id,
        &format!("user:{}", user.username),
        "login",
        "masuk ke halaman admin dengan SSO",
    )
    .await?;
    Ok(Some(session))
}
