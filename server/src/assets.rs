//! The built site's static files: content-hashed names, precompressed variants and
//! the caching that hashed names allow.
//!
//! `cargo leptos build --release` (with `hash-files = true`) writes
//! `pkg/medisync.<hash>.{js,wasm,css}` and a `hash.txt` beside the server binary;
//! `--precompress` adds `.br` and `.gz` beside each file. A hashed file never
//! changes, so the browser may keep it for a year without asking again; an
//! unhashed one (a development build) must be revalidated on every visit.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use axum::response::IntoResponse;
use axum::Router;
use http::{header, HeaderValue, StatusCode};
use tower::Layer;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

/// `Cache-Control` of a file whose name changes whenever its content does.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// `Cache-Control` of a file that may change under the same name.
pub const REVALIDATE: &str = "no-cache";

/// What the build produced: where its hash file is, and the stylesheet's name.
#[derive(Clone, Debug)]
pub struct BuiltSite {
    /// The hash file of a hashed build whose files are all present.
    pub hash_file: Option<PathBuf>,
    /// The stylesheet's address as pages must link it.
    pub stylesheet: String,
}

impl Default for BuiltSite {
    fn default() -> Self {
        Self {
            hash_file: None,
            stylesheet: format!("/pkg/{OUTPUT_NAME}.css"),
        }
    }
}

static STYLESHEET: OnceLock<String> = OnceLock::new();

/// The stylesheet's address, for pages the server writes itself (status pages,
/// the development mailbox). Set once, by the first [`BuiltSite::locate`].
pub fn stylesheet() -> &'static str {
    STYLESHEET.get_or_init(|| BuiltSite::default().stylesheet)
}

impl BuiltSite {
    /// Finds the hash file of the build in `site_root`: beside the running binary
    /// (where cargo-leptos writes it) or in the site root itself (a deployment may
    /// copy it there). A hash file is used only when the files it names exist, so
    /// a stale one from an earlier build never points pages at missing files.
    pub fn locate(site_root: &Path) -> Self {
        let beside_binary = std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(|dir| dir.join("hash.txt")));
        let candidates = beside_binary
            .into_iter()
            .chain(std::iter::once(site_root.join("hash.txt")));
        for candidate in candidates {
            let Ok(text) = std::fs::read_to_string(&candidate) else {
                continue;
            };
            let hashes = Hashes::parse(&text);
            if hashes.is_complete() && hashes.files_exist(&site_root.join("pkg")) {
                // Leptos joins this to the binary's folder; an absolute path wins.
                let absolute = std::fs::canonicalize(&candidate).unwrap_or(candidate);
                let css = hashes.css.unwrap_or_default();
                return Self::remember(Self {
                    hash_file: Some(absolute),
                    stylesheet: format!("/pkg/{OUTPUT_NAME}.{css}.css"),
                });
            }
        }
        Self::remember(Self::default())
    }

    fn remember(self) -> Self {
        let _ = STYLESHEET.set(self.stylesheet.clone());
        self
    }

    pub fn hashed(&self) -> bool {
        self.hash_file.is_some()
    }
}

/// The bundle's name (`output-name` of the cargo-leptos project).
pub const OUTPUT_NAME: &str = "medisync";

/// The lines of cargo-leptos' hash file: `js: …`, `wasm: …`, `css: …`.
#[derive(Debug, Default, PartialEq)]
struct Hashes {
    js: Option<String>,
    wasm: Option<String>,
    css: Option<String>,
}

impl Hashes {
    fn parse(text: &str) -> Self {
        let mut hashes = Self::default();
        for line in text.lines() {
            let Some((kind, hash)) = line.split_once(':') else {
                continue;
            };
            let hash = hash.trim();
            // cargo-leptos writes URL-safe base64: letters, digits, `-` and `_`.
            let valid = !hash.is_empty()
                && hash
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !valid {
                continue;
            }
            let slot = match kind.trim() {
                "js" => &mut hashes.js,
                "wasm" => &mut hashes.wasm,
                "css" => &mut hashes.css,
                _ => continue,
            };
            *slot = Some(hash.to_owned());
        }
        hashes
    }

    fn is_complete(&self) -> bool {
        self.js.is_some() && self.wasm.is_some() && self.css.is_some()
    }

    fn files_exist(&self, pkg: &Path) -> bool {
        [(&self.js, "js"), (&self.wasm, "wasm"), (&self.css, "css")]
            .into_iter()
            .all(|(hash, ext)| {
                hash.as_ref()
                    .is_some_and(|h| pkg.join(format!("{OUTPUT_NAME}.{h}.{ext}")).is_file())
            })
    }
}

/// `/pkg`: the precompressed variant the browser accepts (brotli, then gzip, then
/// the plain file), cached for a year when the build hashed its file names.
pub fn pkg_service<S: Clone + Send + Sync + 'static>(pkg_dir: PathBuf, hashed: bool) -> Router<S> {
    let files = ServeDir::new(pkg_dir)
        .precompressed_br()
        .precompressed_gzip();
    let cache = SetResponseHeaderLayer::overriding(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if hashed { IMMUTABLE } else { REVALIDATE }),
    );
    // The same address answers differently by Accept-Encoding; caches must know.
    let vary = SetResponseHeaderLayer::overriding(
        header::VARY,
        HeaderValue::from_static("accept-encoding"),
    );
    let files = vary.layer(cache.layer(files));
    // Only what a browser runs: the build also leaves type declarations (.d.ts)
    // and may leave other files beside them, which are nobody's business.
    Router::new().fallback(move |req: axum::extract::Request| {
        let files = files.clone();
        async move {
            if !is_served_asset(req.uri().path()) {
                return StatusCode::NOT_FOUND.into_response();
            }
            match tower::ServiceExt::oneshot(files, req).await {
                Ok(res) => {
                    let mut res = res.into_response();
                    if hashed {
                        // A hashed file never changes and is never revalidated:
                        // its validator and range advertisement are bytes every
                        // one of a page's dozens of chunks would carry for nothing.
                        res.headers_mut().remove(header::LAST_MODIFIED);
                        res.headers_mut().remove(header::ACCEPT_RANGES);
                    }
                    res
                }
                Err(never) => match never {},
            }
        }
    })
}

/// A file of the built site a browser may load: scripts, wasm, styles and the
/// wasm split manifest (by file name: `/x.js`, never `/x.d.ts`).
pub fn is_served_asset(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or("");
    !name.ends_with(".d.ts")
        && [".js", ".wasm", ".css", ".json"]
            .iter()
            .any(|ext| name.ends_with(ext))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_a_browser_runs_is_served() {
        for ok in [
            "/medisync.abc.js",
            "/medisync.abc.wasm",
            "/chunk_1.x.wasm",
            "/medisync.css",
            "/__wasm_split_manifest.x.json",
        ] {
            assert!(is_served_asset(ok), "{ok}");
        }
        for no in [
            "/medisync.d.ts",
            "/medisync_bg.wasm.d.ts",
            "/x.map",
            "/",
            "/README",
        ] {
            assert!(!is_served_asset(no), "{no}");
        }
    }

    #[test]
    fn a_hash_file_is_read_line_by_line() {
        let hashes = Hashes::parse("js: abc123\nwasm: d-f_56\ncss: 0a1b\nsplit: zz\n");
        assert_eq!(hashes.js.as_deref(), Some("abc123"));
        assert_eq!(hashes.wasm.as_deref(), Some("d-f_56"));
        assert_eq!(hashes.css.as_deref(), Some("0a1b"));
        assert!(hashes.is_complete());
    }

    #[test]
    fn a_hash_that_could_escape_the_folder_is_ignored() {
        let hashes = Hashes::parse("js: ../../etc\nwasm: ok1\ncss: a b\n");
        assert_eq!(hashes.js, None);
        assert_eq!(hashes.css, None);
        assert!(!hashes.is_complete());
    }

    #[test]
    fn a_build_without_its_files_is_not_hashed() {
        let dir = std::env::temp_dir().join(format!("medisync-assets-{}", uuid::Uuid::now_v7()));
        let pkg = dir.join("pkg");
        std::fs::create_dir_all(&pkg).expect("pkg dir");
        std::fs::write(dir.join("hash.txt"), "js: a1\nwasm: b2\ncss: c3\n").expect("hash file");
        assert!(!BuiltSite::locate(&dir).hashed(), "files missing");
        for name in ["medisync.a1.js", "medisync.b2.wasm", "medisync.c3.css"] {
            std::fs::write(pkg.join(name), "x").expect("file");
        }
        let site = BuiltSite::locate(&dir);
        assert!(site.hashed());
        assert_eq!(site.stylesheet, "/pkg/medisync.c3.css");
        std::fs::remove_dir_all(&dir).expect("clean up");
    }
}
