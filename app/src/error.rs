//! The error server functions return. Each variant maps to one HTTP status and one
//! message a clinic's user can act on; internal detail is logged, never sent.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// Input that failed validation; the message says what to fix.
    #[error("{0}")]
    Invalid(String),
    /// One form field is wrong: (field name, message).
    #[error("{1}")]
    Field(String, String),
    #[error("we could not find that")]
    NotFound,
    #[error("please sign in to continue")]
    Unauthenticated,
    #[error("you do not have permission to do that")]
    Forbidden,
    #[error("that conflicts with something that already exists: {0}")]
    Conflict(String),
    /// Someone else took it a moment ago (a slot, a seat); the message offers
    /// what is free instead.
    #[error("{0}")]
    Taken(String),
    /// The clinic's plan does not allow this; the message names the limit or
    /// feature and the upgrade.
    #[error("{0}")]
    Upgrade(String),
    #[error("something went wrong on our side; please try again")]
    Internal,
    /// The request never reached the function (network, decoding).
    #[error("could not reach MediSync: {0}")]
    Transport(String),
}

/// `text` with its first letter in capitals, for a message shown as a sentence.
/// ASCII only: the messages are MediSync's own English text, and Unicode case
/// tables would cost every page's download more than they are worth here.
pub fn sentence(text: &str) -> String {
    let mut out = text.to_owned();
    if let Some(first) = out.get_mut(..1) {
        first.make_ascii_uppercase();
    }
    out
}

impl AppError {
    /// The message as a person reads it: a sentence starting with a capital.
    pub fn message(&self) -> String {
        sentence(&self.to_string())
    }

    pub fn field(name: &str, message: impl Into<String>) -> Self {
        Self::Field(name.into(), message.into())
    }

    /// The message for one form field, when this error is about it.
    pub fn for_field(&self, name: &str) -> Option<String> {
        match self {
            Self::Field(f, m) if f == name => Some(sentence(m)),
            _ => None,
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            Self::Invalid(_) | Self::Field(..) => 422,
            Self::NotFound => 404,
            Self::Unauthenticated => 401,
            Self::Forbidden => 403,
            Self::Conflict(_) | Self::Taken(_) => 409,
            Self::Upgrade(_) => 402,
            Self::Internal => 500,
            Self::Transport(_) => 400,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        Self::Transport(value.to_string())
    }

    /// Every answer reaches the browser through here: "sign in first" opens the
    /// sign-in-in-place dialog or goes to sign-in (`shell::reauth`), wherever it
    /// came from.
    fn de(data: leptos::server_fn::Bytes) -> Self {
        use leptos::server_fn::Decodes;
        let error = <JsonEncoding as Decodes<Self>>::decode(data)
            .unwrap_or_else(|e| Self::Transport(e.to_string()));
        if error == Self::Unauthenticated {
            crate::shell::reauth::session_ended();
        }
        error
    }
}

#[cfg(feature = "ssr")]
mod ssr {
    use super::AppError;
    use crate::db::DbError;

    impl From<DbError> for AppError {
        fn from(e: DbError) -> Self {
            match e {
                DbError::NotFound => AppError::NotFound,
                DbError::Invalid(msg) => AppError::Invalid(msg),
                DbError::Conflict(what) => AppError::Conflict(what.to_owned()),
                other if other.is_final_record() => AppError::Invalid(
                    "this record is signed and cannot be changed; add an addendum instead".into(),
                ),
                other if other.is_bad_input() => {
                    // Its text may quote the value: not logged.
                    tracing::warn!("the database refused a value given as input");
                    AppError::Invalid(
                        "some of the text you entered cannot be used (it is too long or \
                         contains unusual characters); shorten or correct it and try again"
                            .into(),
                    )
                }
                other => {
                    tracing::error!(error = %other, "database error");
                    AppError::Internal
                }
            }
        }
    }

    impl AppError {
        /// Sets the response status for this error, so a refused request is a 4xx
        /// and never a generic 500.
        pub fn respond(self) -> Self {
            if let Some(res) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
                if let Ok(code) = http::StatusCode::from_u16(self.status()) {
                    res.set_status(code);
                }
            }
            self
        }
    }
}
