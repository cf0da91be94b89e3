-- Foreign-key checks against `patients` are planned once per connection. Planned
-- while the table has never been analysed (autovacuum off, or not yet come
-- round), PostgreSQL can pick any index that starts with the tenant and then
-- reads the clinic's whole range for every row it checks: a 50,000-row import
-- into a new registry slowed sixfold as it went. The application role does not
-- own the tables and may not ANALYZE them; this function, the owner's, lets it
-- ask for fresh statistics of the registry's tables and nothing else. (The
-- statistics are not readable by the application: pg_stats hides tables under
-- row-level security.)
CREATE FUNCTION analyze_registry() RETURNS void LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    ANALYZE public.patients, public.patient_search_terms;
END $$;
REVOKE ALL ON FUNCTION analyze_registry() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION analyze_registry() TO medisync_app;
