-- durable: removes everything schema.sql and logic.sql made: the schema with all its tables,
-- views, functions and stored instances, and the three group roles.
--
--     psql -v ON_ERROR_STOP=1 -f sql/scripts/drop.sql
--
-- Destroys every stored instance. Safe to run again: what is gone already is skipped. The roles
-- are cluster-wide: one that still holds privileges in another database (another durable store in
-- the same cluster) is kept with a warning saying so; one this role may not drop (no CREATEROLE)
-- is kept with a warning naming what to run. Login roles that are members of them are not
-- touched; they merely lose the membership when a group role goes.
-- No psql meta-commands: the library may send this text through libpq.

SET client_min_messages = warning;  -- the cascade's list of every object is noise

BEGIN;

DROP SCHEMA IF EXISTS durable_instancing CASCADE;

DO $roles$
DECLARE
    group_role text;
BEGIN
    FOREACH group_role IN ARRAY ARRAY['durable_store_users', 'durable_activation_users', 'durable_observers'] LOOP
        CONTINUE WHEN NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = group_role);
        BEGIN
            EXECUTE format('DROP ROLE %I', group_role);
        EXCEPTION
            WHEN dependent_objects_still_exist THEN
                RAISE WARNING 'kept role %: it still has privileges in another database (%)', group_role, SQLERRM;
            WHEN insufficient_privilege THEN
                RAISE WARNING 'kept role %: role % may not drop roles; a superuser can run DROP ROLE %',
                    group_role, current_user, group_role;
        END;
    END LOOP;
END
$roles$;

COMMIT;
