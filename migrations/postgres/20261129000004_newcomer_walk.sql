-- "Find my clinic": an account may read the patient records that are its own
-- portal (the clinics where it signs in as a patient). Read-only, limited to rows
-- naming that account, like `own_account` on staff_members.
CREATE POLICY own_portal_record ON patients FOR SELECT
    USING (account_id = nullif(current_setting('app.account_id', true), '')::uuid);

-- The set-up checklist on the dashboard, hidden by the clinic's administrators.
ALTER TABLE tenants ADD COLUMN checklist_dismissed_at timestamptz;
