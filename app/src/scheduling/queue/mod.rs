//! The waiting-room queue (seed 002): a walk-in gets the next token of a
//! practitioner's day; a patient with an appointment joins the line when the
//! front desk marks them arrived, placed at their booked time. The desk calls,
//! starts and finishes; a call nobody answers is a skip (back of the line) and
//! the third skip is a no-show. The desk page and the waiting-room screen are
//! plain server pages (`queue_page`), so none of this grows the app's wasm.
//!
//! A "session" is the practitioner's day in the clinic's time zone: tokens
//! start at 1 each day for each practitioner.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::text::text_enum;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueState {
    Waiting,
    Called,
    InConsultation,
    Done,
    NoShow,
    Left,
}

text_enum!(QueueState {
    Waiting => "waiting",
    Called => "called",
    InConsultation => "in_consultation",
    Done => "done",
    NoShow => "no_show",
    Left => "left",
});

impl QueueState {
    pub fn label(self) -> &'static str {
        match self {
            Self::Waiting => "Waiting",
            Self::Called => "Called",
            Self::InConsultation => "In consultation",
            Self::Done => "Done",
            Self::NoShow => "No-show",
            Self::Left => "Left the line",
        }
    }

    /// Still in the line or with the practitioner.
    pub fn is_live(self) -> bool {
        matches!(self, Self::Waiting | Self::Called | Self::InConsultation)
    }

    /// Where an entry stands in the line: with the practitioner first, then
    /// called, then waiting.
    fn rank(self) -> u8 {
        match self {
            Self::InConsultation => 0,
            Self::Called => 1,
            Self::Waiting => 2,
            Self::Done | Self::NoShow | Self::Left => 3,
        }
    }
}

/// What the desk does to an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Call,
    Start,
    Finish,
    Skip,
    Requeue,
    Remove,
}

text_enum!(Action {
    Call => "call",
    Start => "start",
    Finish => "finish",
    Skip => "skip",
    Requeue => "requeue",
    Remove => "remove",
});

impl Action {
    pub fn label(self) -> &'static str {
        match self {
            Self::Call => "Call",
            Self::Start => "Start consultation",
            Self::Finish => "Finish",
            Self::Skip => "Skip (not here)",
            Self::Requeue => "Back in line",
            Self::Remove => "Remove from line",
        }
    }

    /// The actions the desk is offered for an entry in `state`.
    pub fn offered(state: QueueState) -> &'static [Action] {
        match state {
            QueueState::Waiting => &[Action::Call, Action::Start, Action::Remove],
            QueueState::Called => &[Action::Start, Action::Skip, Action::Remove],
            QueueState::InConsultation => &[Action::Finish],
            QueueState::NoShow | QueueState::Left => &[Action::Requeue],
            QueueState::Done => &[],
        }
    }
}

/// The most skips before an entry is a no-show.
pub const SKIPS_TO_NO_SHOW: i32 = 3;

/// An entry's state and skips after `action`, or why it cannot be done.
pub fn apply(state: QueueState, skips: i32, action: Action) -> Result<(QueueState, i32), String> {
    use QueueState as S;
    let next = match (state, action) {
        (S::Waiting, Action::Call) => (S::Called, skips),
        (S::Waiting | S::Called, Action::Start) => (S::InConsultation, skips),
        (S::InConsultation, Action::Finish) => (S::Done, skips),
        (S::Called, Action::Skip) if skips + 1 >= SKIPS_TO_NO_SHOW => (S::NoShow, SKIPS_TO_NO_SHOW),
        (S::Called, Action::Skip) => (S::Waiting, skips + 1),
        (S::NoShow | S::Left, Action::Requeue) => (S::Waiting, 0),
        (S::Waiting | S::Called, Action::Remove) => (S::Left, skips),
        _ => {
            return Err(format!(
                "an entry that is {} cannot be given “{}”",
                state.label().to_lowercase(),
                action.label().to_lowercase()
            ))
        }
    };
    Ok(next)
}

/// The order of one practitioner's line: (state, place in line, token).
pub fn line_order(
    state: QueueState,
    line_at: DateTime<Utc>,
    token: i32,
) -> (u8, DateTime<Utc>, i32) {
    (state.rank(), line_at, token)
}

/// The consultation length assumed before any visit of the day has finished.
pub const DEFAULT_CONSULTATION_MINUTES: i64 = 15;

/// Minutes until the person `ahead` places back in a line is seen, when each
/// consultation takes `average` minutes and one may be under way since
/// `under_way_for` minutes (it is counted as half done at worst).
pub fn estimated_wait(ahead: usize, average: i64, under_way_for: Option<i64>) -> i64 {
    let average = average.max(1);
    let ahead = i64::try_from(ahead).unwrap_or(i64::MAX / average);
    let current = under_way_for.map_or(0, |m| (average - m).max(average / 2));
    current.saturating_add(ahead.saturating_mul(average))
}

/// One entry as the desk and the board see it.
#[derive(Debug, Clone)]
pub struct Entry {
    pub id: Uuid,
    pub staff_id: Uuid,
    pub token: i32,
    pub patient_id: Uuid,
    pub patient_name: String,
    pub mrn: String,
    pub appointment_id: Option<Uuid>,
    pub booked_at: Option<DateTime<Utc>>,
    pub state: QueueState,
    pub skips: i32,
    pub line_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// One practitioner's line for the day, in order, with the estimated waits of
/// those still waiting (minutes, by entry id).
#[derive(Debug, Clone)]
pub struct Line {
    pub staff_id: Uuid,
    pub practitioner: String,
    pub entries: Vec<Entry>,
    pub average_minutes: i64,
}

impl Line {
    /// Live entries in order, then the finished ones by token.
    pub fn sort(&mut self) {
        self.entries
            .sort_by_key(|e| line_order(e.state, e.line_at, e.token));
    }

    pub fn in_consultation(&self) -> Option<&Entry> {
        self.entries
            .iter()
            .find(|e| e.state == QueueState::InConsultation)
    }

    pub fn called(&self) -> Vec<&Entry> {
        self.entries
            .iter()
            .filter(|e| e.state == QueueState::Called)
            .collect()
    }

    pub fn waiting(&self) -> Vec<&Entry> {
        self.entries
            .iter()
            .filter(|e| e.state == QueueState::Waiting)
            .collect()
    }

    /// The estimated wait of the entry `index` places into the waiting list.
    pub fn wait_of(&self, index: usize, now: DateTime<Utc>) -> i64 {
        let under_way = self
            .in_consultation()
            .and_then(|e| e.started_at)
            .map(|s| (now - s).num_minutes().max(0));
        // Those called are about to go in: they are ahead as well.
        estimated_wait(index + self.called().len(), self.average_minutes, under_way)
    }
}

pub mod db;
pub mod desk;
pub mod page;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_third_unanswered_call_is_a_no_show() {
        let mut state = (QueueState::Waiting, 0);
        for skip in 1..=2 {
            let called = apply(state.0, state.1, Action::Call).expect("call");
            state = apply(called.0, called.1, Action::Skip).expect("skip");
            assert_eq!(state, (QueueState::Waiting, skip));
        }
        let called = apply(state.0, state.1, Action::Call).expect("call");
        assert_eq!(
            apply(called.0, called.1, Action::Skip),
            Ok((QueueState::NoShow, 3))
        );
        assert_eq!(
            apply(QueueState::NoShow, 3, Action::Requeue),
            Ok((QueueState::Waiting, 0)),
            "a no-show who turns up goes back in line"
        );
    }

    #[test]
    fn only_the_offered_actions_apply() {
        let states = [
            QueueState::Waiting,
            QueueState::Called,
            QueueState::InConsultation,
            QueueState::Done,
            QueueState::NoShow,
            QueueState::Left,
        ];
        let actions = [
            Action::Call,
            Action::Start,
            Action::Finish,
            Action::Skip,
            Action::Requeue,
            Action::Remove,
        ];
        for s in states {
            for a in actions {
                assert_eq!(
                    apply(s, 0, a).is_ok(),
                    Action::offered(s).contains(&a),
                    "{s:?} {a:?}"
                );
            }
        }
    }

    #[test]
    fn the_one_with_the_practitioner_comes_first_then_the_called_then_the_line() {
        let t = |m: i64| DateTime::from_timestamp(1_800_000_000 + m * 60, 0).expect("time");
        let mut order = [
            line_order(QueueState::Waiting, t(1), 2),
            line_order(QueueState::Done, t(0), 1),
            line_order(QueueState::Called, t(5), 4),
            line_order(QueueState::InConsultation, t(9), 3),
            line_order(QueueState::Waiting, t(0), 5),
        ];
        order.sort();
        let tokens: Vec<i32> = order.iter().map(|o| o.2).collect();
        assert_eq!(tokens, [3, 4, 5, 2, 1]);
    }

    proptest! {
        #[test]
        fn a_wait_grows_with_the_line_and_is_never_negative(
            ahead in 0usize..200,
            average in -5i64..240,
            under_way in proptest::option::of(0i64..600),
        ) {
            let wait = estimated_wait(ahead, average, under_way);
            prop_assert!(wait >= 0);
            prop_assert!(estimated_wait(ahead + 1, average, under_way) > wait);
            if under_way.is_none() {
                prop_assert_eq!(wait, i64::try_from(ahead).expect("small") * average.max(1));
            }
        }
    }
}
