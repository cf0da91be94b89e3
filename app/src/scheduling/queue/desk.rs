//! What the front desk does with the queue, and how the queue follows the
//! appointments: every change is audited on the patient's record, and an
//! appointment holder's visit moves with their place in the line.

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use super::{apply, db, Action, Line, QueueState};
use crate::db::{Db, DbError, TenantTx};
use crate::error::AppError;
use crate::identity::audit::{self, RequestMeta};
use crate::identity::{Standing, Viewer};
use crate::scheduling::AppointmentStatus;
use crate::tenancy::TenantPublic;

/// The signed-in staff member working the desk.
pub struct Desk<'a> {
    pub tenant: &'a TenantPublic,
    pub viewer: &'a Viewer,
    pub meta: &'a RequestMeta,
}

impl Desk<'_> {
    fn staff(&self) -> Option<Uuid> {
        match self.viewer.standing {
            Standing::Staff { member_id, .. } => Some(member_id),
            _ => None,
        }
    }

    fn role(&self) -> Option<&'static str> {
        match self.viewer.standing {
            Standing::Staff { role, .. } => Some(role.as_str()),
            _ => None,
        }
    }

    /// Today, where the clinic is.
    pub fn today(&self, now: DateTime<Utc>) -> NaiveDate {
        now.with_timezone(&self.tenant.settings.tz()).date_naive()
    }

    async fn audit(
        &self,
        tx: &mut TenantTx,
        patient: Uuid,
        action: &str,
        target: &str,
    ) -> Result<(), DbError> {
        audit::record_by_staff(tx, self.viewer, patient, action, Some(target), self.meta).await
    }

    /// The lines this person sees today: a doctor only their own, unless the
    /// clinic shares calendars.
    pub async fn lines(&self, db: &Db, now: DateTime<Utc>) -> Result<Vec<Line>, AppError> {
        let mut tx = db.begin_for_read(self.tenant.id).await?;
        let rules = crate::scheduling::db::rules(&mut tx).await?;
        let only = (self.role() == Some("doctor") && !rules.see_all_calendars)
            .then(|| self.staff())
            .flatten();
        let lines = db::day(&mut tx, self.today(now), only).await?;
        tx.commit().await?;
        Ok(lines)
    }

    /// Gives `patient` the next token in `practitioner`'s line today.
    pub async fn walk_in(
        &self,
        database: &Db,
        practitioner: Uuid,
        patient: Uuid,
        now: DateTime<Utc>,
    ) -> Result<i32, AppError> {
        let mut tx = database.begin_for(self.tenant.id).await?;
        let record = crate::patients::db::get(&mut tx, patient)
            .await?
            .ok_or(AppError::NotFound)?;
        crate::patients::api::ssr::ensure_visible(&mut tx, self.viewer, patient).await?;
        if record.archived {
            return Err(AppError::Invalid(
                "this record is archived: restore it before giving a token".into(),
            ));
        }
        if record.status == crate::patients::PatientStatus::Deceased {
            return Err(AppError::Invalid(
                "this patient is recorded as deceased".into(),
            ));
        }
        let seeing = crate::scheduling::db::practitioners(&mut tx)
            .await?
            .into_iter()
            .find(|p| p.staff_id == practitioner && p.active)
            .ok_or_else(|| {
                AppError::field("practitioner", "choose a practitioner from the list")
            })?;
        let today = self.today(now);
        db::lock_line(&mut tx, practitioner).await?;
        if let Some(token) = db::live_token(&mut tx, practitioner, patient, today).await? {
            return Err(AppError::Invalid(format!(
                "already in {}'s line today, with token {token}",
                seeing.name
            )));
        }
        let token = db::insert(
            &mut tx,
            practitioner,
            today,
            patient,
            None,
            now,
            now,
            self.staff(),
        )
        .await?;
        self.audit(&mut tx, patient, "queue.joined", &format!("token {token}"))
            .await?;
        tx.commit().await?;
        Ok(token)
    }

    /// Does `action` to the entry; an appointment holder's visit follows.
    pub async fn act(
        &self,
        database: &Db,
        entry: Uuid,
        action: Action,
        now: DateTime<Utc>,
    ) -> Result<QueueState, AppError> {
        let mut tx = database.begin_for(self.tenant.id).await?;
        let e = db::entry(&mut tx, entry).await?.ok_or(AppError::NotFound)?;
        crate::patients::api::ssr::ensure_visible(&mut tx, self.viewer, e.patient_id).await?;
        let (state, skips) = apply(e.state, e.skips, action).map_err(AppError::Invalid)?;
        // A skipped or returning patient goes to the back of the line.
        let line_at = matches!(action, Action::Skip | Action::Requeue).then_some(now);
        db::set(&mut tx, e.id, state, skips, line_at, now).await?;
        if let Some(appointment) = e.appointment_id {
            follow_in_calendar(&mut tx, appointment, state, self.staff()).await?;
        }
        self.audit(
            &mut tx,
            e.patient_id,
            "queue.changed",
            &format!("token {}: {}", e.token, state.as_str()),
        )
        .await?;
        tx.commit().await?;
        Ok(state)
    }
}

/// The appointment's status after its holder's entry became `state`, when the
/// calendar should change with it.
fn calendar_status(from: AppointmentStatus, state: QueueState) -> Option<AppointmentStatus> {
    use AppointmentStatus as A;
    match (from, state) {
        (A::Arrived, QueueState::InConsultation) => Some(A::InConsultation),
        (A::InConsultation, QueueState::Done) => Some(A::Completed),
        // Three calls unanswered: the visit did not happen.
        (A::Arrived, QueueState::NoShow) => Some(A::NoShow),
        (A::NoShow, QueueState::Waiting) => Some(A::Arrived),
        _ => None,
    }
}

async fn follow_in_calendar(
    tx: &mut TenantTx,
    appointment: Uuid,
    state: QueueState,
    staff: Option<Uuid>,
) -> Result<(), DbError> {
    let Some(a) = crate::scheduling::db::appointment(tx, appointment).await? else {
        return Ok(());
    };
    let Ok(from) = a.status.parse::<AppointmentStatus>() else {
        return Ok(());
    };
    let Some(to) = calendar_status(from, state) else {
        return Ok(());
    };
    let reason =
        (to == AppointmentStatus::NoShow).then_some("did not answer three calls in the queue");
    crate::scheduling::db::set_status(tx, appointment, to, None).await?;
    crate::scheduling::db::event(
        tx,
        appointment,
        a.patient_id,
        to,
        a.starts_at,
        reason,
        staff,
    )
    .await
}

/// The queue after the calendar moved an appointment to `status` (the desk
/// marked it on the calendar): arriving joins today's line at the booked time,
/// and the entry follows every later step.
pub async fn follow_appointment(
    tx: &mut TenantTx,
    tenant: &TenantPublic,
    appointment: &crate::scheduling::db::AppointmentRow,
    status: AppointmentStatus,
    by: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<Option<i32>, DbError> {
    let entry = db::of_appointment(tx, appointment.id).await?;
    let state = match status {
        AppointmentStatus::Arrived => {
            if let Some(e) = entry {
                if !e.state.is_live() {
                    db::set(tx, e.id, QueueState::Waiting, 0, None, now).await?;
                }
                return Ok(Some(e.token));
            }
            let today = now.with_timezone(&tenant.settings.tz()).date_naive();
            db::lock_line(tx, appointment.staff_id).await?;
            let token = db::insert(
                tx,
                appointment.staff_id,
                today,
                appointment.patient_id,
                Some(appointment.id),
                appointment.starts_at,
                now,
                by,
            )
            .await?;
            return Ok(Some(token));
        }
        AppointmentStatus::InConsultation => QueueState::InConsultation,
        AppointmentStatus::Completed => QueueState::Done,
        AppointmentStatus::NoShow => QueueState::NoShow,
        AppointmentStatus::Booked | AppointmentStatus::Cancelled => QueueState::Left,
    };
    match entry {
        Some(e) if e.state.is_live() && e.state != state => {
            db::set(tx, e.id, state, e.skips, None, now).await?;
            Ok(Some(e.token))
        }
        Some(e) => Ok(Some(e.token)),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_calendar_moves_only_along_its_own_steps() {
        use AppointmentStatus as A;
        assert_eq!(
            calendar_status(A::Arrived, QueueState::InConsultation),
            Some(A::InConsultation)
        );
        assert_eq!(
            calendar_status(A::InConsultation, QueueState::Done),
            Some(A::Completed)
        );
        assert_eq!(
            calendar_status(A::Arrived, QueueState::NoShow),
            Some(A::NoShow)
        );
        assert_eq!(
            calendar_status(A::NoShow, QueueState::Waiting),
            Some(A::Arrived)
        );
        // A completed or cancelled visit is never reopened by the queue.
        for state in [QueueState::Waiting, QueueState::Called, QueueState::Left] {
            assert_eq!(calendar_status(A::Completed, state), None);
            assert_eq!(calendar_status(A::Cancelled, state), None);
        }
    }
}
