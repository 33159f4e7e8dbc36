//! Response headers every page gets, and the Origin / Sec-Fetch-Site half of CSRF defence.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

/// Everything comes from this origin; no inline script or style; never framed.
pub const CSP: &str =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// Add the security headers. Everything except the static assets is `no-store`: pages carry
/// person-level data or at least the signed-in user's name.
pub async fn headers(State(hsts): State<bool>, req: Request, next: Next) -> Response {
    let asset = req.uri().path().starts_with("/assets/");
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    let set = |h: &mut HeaderMap, k: HeaderName, v: &'static str| {
        h.insert(k, HeaderValue::from_static(v));
    };
    set(h, header::CONTENT_SECURITY_POLICY, CSP);
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::REFERRER_POLICY, "no-referrer");
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(
        h,
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    set(
        h,
        HeaderName::from_static("permissions-policy"),
        "camera=(), microphone=(), geolocation=()",
    );
    if hsts {
        set(
            h,
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        );
    }
    if asset {
        set(h, header::CACHE_CONTROL, "public, max-age=3600");
    } else {
        set(h, header::CACHE_CONTROL, "no-store");
        set(h, header::PRAGMA, "no-cache");
    }
    res
}

/// Refuse a state-changing request that a browser says came from another site.
///
/// `Sec-Fetch-Site` (sent by every current browser) must be `same-origin` or `none` (typed
/// URL / bookmark); when `Origin` is present (and not the opaque `null`) its host must be this
/// request's `Host`. Requests
/// without either (curl, scripts) pass here and still need the session's CSRF token.
pub fn check_origin(h: &HeaderMap) -> Result<(), &'static str> {
    if let Some(site) = h.get("sec-fetch-site") {
        match site.to_str().unwrap_or("") {
            "same-origin" | "none" => {}
            _ => return Err("cross-site request (Sec-Fetch-Site)"),
        }
    }
    if let Some(origin) = h.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        if origin == "null" {
            // Browsers send `Origin: null` on form posts from a page with
            // `Referrer-Policy: no-referrer` (ours). Sec-Fetch-Site, checked above, then decides.
            return Ok(());
        }
        let host = h
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let origin_host = origin
            .strip_prefix("https://")
            .or_else(|| origin.strip_prefix("http://"))
            .unwrap_or("");
        if host.is_empty() || !origin_host.eq_ignore_ascii_case(host) {
            return Err("Origin does not match Host");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hm(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn origin_rules() {
        assert!(check_origin(&hm(&[])).is_ok());
        assert!(check_origin(&hm(&[("sec-fetch-site", "same-origin")])).is_ok());
        assert!(check_origin(&hm(&[("sec-fetch-site", "cross-site")])).is_err());
        assert!(check_origin(&hm(&[("sec-fetch-site", "same-site")])).is_err());
        assert!(check_origin(&hm(&[("host", "a:8080"), ("origin", "http://a:8080")])).is_ok());
        assert!(check_origin(&hm(&[("host", "a:8080"), ("origin", "http://evil:8080")])).is_err());
        assert!(check_origin(&hm(&[("host", "a"), ("origin", "null")])).is_ok());
        assert!(check_origin(&hm(&[
            ("host", "a"),
            ("origin", "null"),
            ("sec-fetch-site", "cross-site")
        ]))
        .is_err());
        assert!(check_origin(&hm(&[("origin", "http://a")])).is_err());
    }
}
