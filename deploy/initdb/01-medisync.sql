-- Run once by the postgres image at first start (/docker-entrypoint-initdb.d).
-- The same roles `medisync pg-roles --app-password ...` prints, plus a password for
-- the schema owner (the `migrate` service connects over the network) and the
-- database. Change both passwords for anything but a local trial.
CREATE ROLE medisync_owner LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE PASSWORD 'change-me-owner-password';
CREATE ROLE medisync_app NOLOGIN NOSUPERUSER NOBYPASSRLS;
CREATE ROLE medisync_web LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB PASSWORD 'change-me-app-password' IN ROLE medisync_app;
CREATE DATABASE medisync OWNER medisync_owner;
