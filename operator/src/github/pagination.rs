//! Following GitHub's `Link: <url>; rel="next"` pagination.
//!
//! The next page's URL is absolute; only its path and query are kept, and octocrab joins them to
//! the configured base URI again. That keeps requests on the configured host (so the credentials
//! are sent, and never to another host), and works for GitHub Enterprise's `/api/v3` prefix too.

use hyper::http::{HeaderMap, Uri};

/// The most pages one listing follows (at `per_page=100`, 10,000 items); a guard against a
/// server that keeps sending `next`.
pub const MAX_PAGES: usize = 100;

/// The items per page requested from list endpoints (GitHub's maximum).
pub const PER_PAGE: u32 = 100;

/// The path and query of the `rel="next"` link in the `Link` headers, if any.
pub fn next_page(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all("link")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .find_map(next_in_part)
}

fn next_in_part(part: &str) -> Option<String> {
    let mut pieces = part.split(';');
    let target = pieces.next()?.trim();
    let is_next = pieces.any(|param| {
        let param = param.trim();
        param
            .strip_prefix("rel=")
            .map(|rel| rel.trim_matches('"').split_whitespace().any(|r| r == "next"))
            .unwrap_or(false)
    });
    if !is_next {
        return None;
    }
    let url = target.strip_prefix('<')?.strip_suffix('>')?;
    let uri: Uri = url.parse().ok()?;
    uri.path_and_query().map(|pq| pq.as_str().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::http::HeaderValue;

    fn link(value: &str) -> HeaderMap {
        let mut map = HeaderMap::new();
        map.insert("link", HeaderValue::from_str(value).unwrap());
        map
    }

    #[test]
    fn finds_the_next_link_among_others() {
        let h = link(
            r#"<https://api.github.com/repositories/1/pulls/2/files?per_page=100&page=2>; rel="next", <https://api.github.com/repositories/1/pulls/2/files?per_page=100&page=30>; rel="last""#,
        );
        assert_eq!(
            next_page(&h).as_deref(),
            Some("/repositories/1/pulls/2/files?per_page=100&page=2")
        );
    }

    #[test]
    fn keeps_an_enterprise_path_prefix() {
        let h = link(r#"<https://ghe.example.com/api/v3/repos/o/r/issues/1/comments?page=3>; rel="next""#);
        assert_eq!(
            next_page(&h).as_deref(),
            Some("/api/v3/repos/o/r/issues/1/comments?page=3")
        );
    }

    #[test]
    fn no_next_on_the_last_page() {
        let h =
            link(r#"<https://api.github.com/x?page=1>; rel="prev", <https://api.github.com/x?page=1>; rel="first""#);
        assert_eq!(next_page(&h), None);
        assert_eq!(next_page(&HeaderMap::new()), None);
        assert_eq!(next_page(&link("garbage")), None);
    }
}
