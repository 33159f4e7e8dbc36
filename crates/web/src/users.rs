//! Credentials: Argon2id password hashes, TOTP secrets and codes, and creating or resetting
//! users (shared by `familiar user ...`, the demo and the tests).

use anyhow::{bail, Context, Result};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use familiar_store::{AccessStore, NewAudit, NewUser, UserRole};
use rand::RngCore;
use totp_rs::{Secret, TOTP};

/// TOTP: 6 digits, 30-second steps, HMAC-SHA1 (what every authenticator app reads).
pub const TOTP_STEP: u64 = 30;
pub const TOTP_DIGITS: usize = 6;
/// Codes one step either side of now are accepted (clock drift).
pub const TOTP_SKEW: i64 = 1;
/// Passwords shorter than this are refused.
pub const MIN_PASSWORD_LEN: usize = 12;

/// Argon2id cost. The default is OWASP's recommendation (19 MiB, 2 passes, 1 lane); tests use
/// [`PasswordParams::fast_for_tests`]. The cost is stored in each hash, so verification always
/// uses the cost the hash was made with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordParams {
    pub m_cost_kib: u32,
    pub t_cost: u32,
    pub p_cost: u32,
}

impl Default for PasswordParams {
    fn default() -> Self {
        PasswordParams {
            m_cost_kib: 19 * 1024,
            t_cost: 2,
            p_cost: 1,
        }
    }
}

impl PasswordParams {
    /// The cheapest Argon2id allows; for tests only.
    pub fn fast_for_tests() -> Self {
        PasswordParams {
            m_cost_kib: 64,
            t_cost: 1,
            p_cost: 1,
        }
    }

    fn argon2(self) -> Result<Argon2<'static>> {
        let params = Params::new(self.m_cost_kib, self.t_cost, self.p_cost, None)
            .map_err(|e| anyhow::anyhow!("argon2 parameters: {e}"))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }
}

/// Hash a password with Argon2id and a random salt (PHC string).
pub fn hash_password(password: &str, params: PasswordParams) -> Result<String> {
    let mut salt = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    Ok(params
        .argon2()?
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))?
        .to_string())
}

/// Check a password against a PHC string. Malformed hashes never verify.
pub fn verify_password(password: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

/// Random bytes, URL-safe base64 (tokens, CSRF values, generated passwords).
pub fn random_token(bytes: usize) -> String {
    use base64::Engine;
    let mut b = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// A new 160-bit TOTP secret, base32.
pub fn new_totp_secret() -> String {
    let mut b = vec![0u8; 20];
    rand::rngs::OsRng.fill_bytes(&mut b);
    match Secret::Raw(b).to_encoded() {
        Secret::Encoded(s) => s,
        Secret::Raw(_) => unreachable!("to_encoded gives Encoded"),
    }
}

fn totp(secret_b32: &str) -> Option<TOTP> {
    let bytes = Secret::Encoded(secret_b32.to_string()).to_bytes().ok()?;
    TOTP::new(totp_rs::Algorithm::SHA1, TOTP_DIGITS, 0, TOTP_STEP, bytes).ok()
}

/// The code for the time step containing `unix` (for tests, the demo and the E2E run).
pub fn totp_code(secret_b32: &str, unix: i64) -> Option<String> {
    Some(totp(secret_b32)?.generate(unix.max(0) as u64))
}

/// The time step a code matches (now ± [`TOTP_SKEW`] steps), compared in constant time.
pub fn totp_match(secret_b32: &str, code: &str, unix: i64) -> Option<i64> {
    let t = totp(secret_b32)?;
    let code = code.trim();
    if code.len() != TOTP_DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let step = unix.div_euclid(TOTP_STEP as i64);
    let mut found = None;
    for s in step - TOTP_SKEW..=step + TOTP_SKEW {
        if s < 0 {
            continue;
        }
        let expect = t.generate((s as u64) * TOTP_STEP);
        if constant_time_eq(expect.as_bytes(), code.as_bytes()) && found.is_none() {
            found = Some(s);
        }
    }
    found
}

/// Equal-length byte comparison that does not stop at the first difference.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The URI an authenticator app reads (shown once, at creation or reset).
pub fn otpauth_uri(username: &str, secret_b32: &str) -> String {
    format!(
        "otpauth://totp/Familiar:{username}?secret={secret_b32}&issuer=Familiar&algorithm=SHA1&digits={TOTP_DIGITS}&period={TOTP_STEP}"
    )
}

/// User names: 2-32 of `a-z 0-9 . _ -`, starting with a letter or digit.
pub fn valid_username(name: &str) -> bool {
    let ok_len = (2..=32).contains(&name.len());
    let mut chars = name.chars();
    ok_len
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
}

/// What a new or reset user must be told once.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub username: String,
    pub password: String,
    pub totp_secret: String,
    pub otpauth_uri: String,
}

/// A user to create.
#[derive(Debug, Clone)]
pub struct UserSpec {
    pub username: String,
    pub role: UserRole,
    /// None = generate a random password.
    pub password: Option<String>,
    pub agency: Option<String>,
    pub assignments: Vec<String>,
}

/// Create a user, audit it, and return the credentials to hand over.
pub async fn add_user(
    store: &dyn AccessStore,
    spec: &UserSpec,
    params: PasswordParams,
    actor: &str,
) -> Result<Credentials> {
    if !valid_username(&spec.username) {
        bail!("user names are 2-32 characters of a-z, 0-9, '.', '_' and '-'");
    }
    if spec.role == UserRole::AgencyLiaison && spec.agency.is_none() {
        bail!("an agency_liaison needs --agency CODE");
    }
    if store.user_by_name(&spec.username).await?.is_some() {
        bail!("user {} already exists", spec.username);
    }
    let password = match &spec.password {
        Some(p) => {
            if p.chars().count() < MIN_PASSWORD_LEN {
                bail!("passwords must be at least {MIN_PASSWORD_LEN} characters");
            }
            p.clone()
        }
        None => random_token(15),
    };
    let totp_secret = new_totp_secret();
    let hash = {
        let p = password.clone();
        tokio::task::spawn_blocking(move || hash_password(&p, params))
            .await
            .context("hashing the password")??
    };
    store
        .create_user(&NewUser {
            username: spec.username.clone(),
            password_hash: hash,
            role: Some(spec.role),
            totp_secret: totp_secret.clone(),
            agency: spec.agency.clone(),
            assignments: spec.assignments.clone(),
        })
        .await?;
    store
        .append_audit(&NewAudit {
            actor: actor.to_string(),
            action: "user.add".into(),
            target: spec.username.clone(),
            source: "cli".into(),
            outcome: "ok".into(),
            detail: serde_json::json!({
                "role": spec.role.as_str(),
                "agency": spec.agency,
                "assignments": spec.assignments.len(),
            })
            .to_string(),
        })
        .await?;
    Ok(Credentials {
        otpauth_uri: otpauth_uri(&spec.username, &totp_secret),
        username: spec.username.clone(),
        password,
        totp_secret,
    })
}

/// New password (given or random) and TOTP secret; ends the user's sessions.
pub async fn reset_user(
    store: &dyn AccessStore,
    username: &str,
    password: Option<String>,
    params: PasswordParams,
    actor: &str,
) -> Result<Credentials> {
    let password = match password {
        Some(p) if p.chars().count() < MIN_PASSWORD_LEN => {
            bail!("passwords must be at least {MIN_PASSWORD_LEN} characters")
        }
        Some(p) => p,
        None => random_token(15),
    };
    let totp_secret = new_totp_secret();
    let hash = {
        let p = password.clone();
        tokio::task::spawn_blocking(move || hash_password(&p, params))
            .await
            .context("hashing the password")??
    };
    let found = store
        .reset_credentials(username, &hash, &totp_secret)
        .await?;
    store
        .append_audit(&NewAudit {
            actor: actor.to_string(),
            action: "user.reset".into(),
            target: username.to_string(),
            source: "cli".into(),
            outcome: if found { "ok" } else { "not_found" }.into(),
            detail: String::new(),
        })
        .await?;
    if !found {
        bail!("no user {username}");
    }
    Ok(Credentials {
        otpauth_uri: otpauth_uri(username, &totp_secret),
        username: username.to_string(),
        password,
        totp_secret,
    })
}

/// Disable (or re-enable) a user and end their sessions.
pub async fn set_disabled(
    store: &dyn AccessStore,
    username: &str,
    disabled: bool,
    actor: &str,
    source: &str,
) -> Result<()> {
    let found = store.set_user_disabled(username, disabled).await?;
    store
        .append_audit(&NewAudit {
            actor: actor.to_string(),
            action: if disabled {
                "user.disable"
            } else {
                "user.enable"
            }
            .into(),
            target: username.to_string(),
            source: source.to_string(),
            outcome: if found { "ok" } else { "not_found" }.into(),
            detail: String::new(),
        })
        .await?;
    if !found {
        bail!("no user {username}");
    }
    Ok(())
}

/// The demo's admin: created (or reset, so the password can be printed) as `demo-admin`.
/// Returns (user name, password, TOTP secret).
pub async fn ensure_demo_user(store: &dyn AccessStore) -> Result<(String, String, String)> {
    let name = "demo-admin";
    let creds = if store.user_by_name(name).await?.is_some() {
        reset_user(store, name, None, PasswordParams::default(), "demo").await?
    } else {
        add_user(
            store,
            &UserSpec {
                username: name.into(),
                role: UserRole::Admin,
                password: None,
                agency: None,
                assignments: vec![],
            },
            PasswordParams::default(),
            "demo",
        )
        .await?
    };
    Ok((creds.username, creds.password, creds.totp_secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let h = hash_password("correct horse battery", PasswordParams::fast_for_tests()).unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("wrong horse battery", &h));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn totp_codes_match_their_step_and_neighbors_only() {
        let s = new_totp_secret();
        let t = 1_700_000_000;
        let code = totp_code(&s, t).unwrap();
        assert_eq!(code.len(), 6);
        assert_eq!(totp_match(&s, &code, t), Some(t / 30));
        assert_eq!(totp_match(&s, &code, t + 30), Some(t / 30));
        assert_eq!(totp_match(&s, &code, t + 95), None);
        assert_eq!(totp_match(&s, "abcdef", t), None);
        assert_eq!(totp_match(&s, "12345", t), None);
        // RFC 6238 appendix B, SHA-1: secret "12345678901234567890", T = 59 → 94287082 (8
        // digits), so the 6-digit code is 287082.
        let rfc = match Secret::Raw(b"12345678901234567890".to_vec()).to_encoded() {
            Secret::Encoded(s) => s,
            _ => unreachable!(),
        };
        assert_eq!(totp_code(&rfc, 59).unwrap(), "287082");
    }

    #[test]
    fn usernames() {
        assert!(valid_username("ana"));
        assert!(valid_username("ana.b-c_1"));
        assert!(!valid_username("A"));
        assert!(!valid_username("Ana"));
        assert!(!valid_username("-ana"));
        assert!(!valid_username("ana smith"));
        assert!(!valid_username("<script>"));
    }
}
