//! The browser bundle: hydrates the server-rendered page.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    app::hydrate();
}

/// Room for the code splitter (cargo-leptos' `--split`). It gives each lazily
/// loaded page the constant data (texts, markup) only that page uses, regrouping
/// the one data segment by page; the padding between pages makes the regrouped
/// segment longer than the original, and when it no longer fits, the splitter
/// puts every page's data back into the main bundle (about 75 KB that every
/// visitor downloads, the sign-in page included). These bytes, kept in the
/// segment but used by no code, are dropped by the splitter and give the
/// regrouping its room: nothing of them reaches the browser.
/// `scripts/weight.mjs` catches the day this is not enough.
#[used]
static SPLIT_ROOM: [u8; 16384] = [0xA5; 16384];
