//! The application's page addresses, read from its router once at start-up, so
//! the access guard can tell an address that is no page at all (the 404 page)
//! from a page this viewer may not open (403).

/// One segment of a route pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    /// `:id` / `{id}`: any one non-empty segment.
    Param,
    /// `*rest` / `{*rest}`: everything that follows.
    Rest,
}

#[derive(Debug, Default)]
pub struct PageRoutes(Vec<Vec<Segment>>);

impl PageRoutes {
    /// From route patterns such as `/admin/tenants/:id` or `/admin/tenants/{id}`.
    pub fn new<'a>(patterns: impl IntoIterator<Item = &'a str>) -> Self {
        Self(patterns.into_iter().map(parse).collect())
    }

    /// The routes of MediSync's app, listed once per process.
    ///
    /// Listing runs the app with resource loading suppressed by a flag that is
    /// global to the process (`leptos_server`'s `SuppressResourceLoad`): a page
    /// being rendered at that moment, by any server in the process, would wait
    /// for its data forever (leptos-rs/leptos#4773). Listing once, before any
    /// server answers, keeps renders out of that window; tests that start many
    /// servers in one process were stalling on it.
    pub fn of_app() -> Self {
        static PATTERNS: std::sync::LazyLock<Vec<String>> = std::sync::LazyLock::new(|| {
            leptos_axum::generate_route_list(app::app::App)
                .iter()
                .map(|r| r.path().to_owned())
                .collect()
        });
        Self::new(PATTERNS.iter().map(String::as_str))
    }

    /// `prefix` when it is a page, else the first page under it without parameters
    /// (`/account` → `/account/security`).
    pub fn page_under(&self, prefix: &str) -> Option<String> {
        if self.contains(prefix) {
            return Some(prefix.to_owned());
        }
        self.0
            .iter()
            .filter(|route| route.iter().all(|s| matches!(s, Segment::Literal(_))))
            .map(|route| {
                route
                    .iter()
                    .map(|s| match s {
                        Segment::Literal(l) => format!("/{l}"),
                        _ => String::new(),
                    })
                    .collect::<String>()
            })
            .find(|path| path.starts_with(&format!("{prefix}/")))
    }

    /// Whether `path` (after tenant resolution) is one of the app's pages.
    pub fn contains(&self, path: &str) -> bool {
        let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        self.0.iter().any(|route| matches(route, &parts))
    }
}

fn parse(pattern: &str) -> Vec<Segment> {
    pattern
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            let s = s.trim_start_matches('{').trim_end_matches('}');
            if s.starts_with('*') {
                Segment::Rest
            } else if s.starts_with(':') || pattern.contains(&format!("{{{s}}}")) {
                Segment::Param
            } else {
                Segment::Literal(s.to_owned())
            }
        })
        .collect()
}

fn matches(route: &[Segment], parts: &[&str]) -> bool {
    match (route.first(), parts.first()) {
        (None, None) => true,
        (Some(Segment::Rest), _) => true,
        (Some(Segment::Literal(l)), Some(p)) => l == p && matches(&route[1..], &parts[1..]),
        (Some(Segment::Param), Some(_)) => matches(&route[1..], &parts[1..]),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_match_literal_and_parameter_segments() {
        let routes = PageRoutes::new([
            "/",
            "/portal",
            "/admin/tenants/:id",
            "/files/{*rest}",
            "/x/{id}",
        ]);
        for known in [
            "/",
            "/portal",
            "/portal/",
            "/admin/tenants/42",
            "/files/a/b",
            "/x/1",
        ] {
            assert!(routes.contains(known), "{known}");
        }
        for unknown in [
            "/portal/nothing",
            "/admin/tenants",
            "/admin/tenants/1/2",
            "/portals",
            "/x",
        ] {
            assert!(!routes.contains(unknown), "{unknown}");
        }
    }

    #[test]
    fn the_app_lists_its_pages() {
        let routes = PageRoutes::of_app();
        for page in [
            "/",
            "/signin",
            "/portal",
            "/staff/users",
            "/admin/tenants/abc",
        ] {
            assert!(routes.contains(page), "{page}");
        }
        assert!(!routes.contains("/portal/unknown"));
        assert_eq!(
            routes.page_under("/account").as_deref(),
            Some("/account/security")
        );
        assert_eq!(routes.page_under("/staff").as_deref(), Some("/staff"));
    }
}
