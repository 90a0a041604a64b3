-- durable: the PostgreSQL instance store's schema (tables, indexes, public views, roles, grants).
--
-- Apply to an empty database, as a role that owns it (no superuser needed), with
--     psql -v ON_ERROR_STOP=1 -f sql/scripts/schema.sql -f sql/scripts/logic.sql
-- The script is one transaction: it installs everything or nothing. Applying it again to a
-- database that has schema version 1 changes nothing; a database of another schema version is
-- refused with a message naming both versions (the upgrade scripts are in upgrade/).
--
-- The tables mirror the original SQL store's (reference sections 3.2-3.4) in snake_case. What
-- differs, and why, is said next to each table and in docs/sql.md.
--
-- No psql meta-commands: the library embeds this very text and sends it through libpq.
--
-- The name durable_instancing appears in this file only as the schema's name (and in the NOTIFY
-- channel in logic.sql), so a test fixture may substitute another schema name textually; the
-- role names deliberately do not contain it.

SET client_min_messages = warning;  -- "already exists, skipping" notices of a re-apply are noise

BEGIN;

-- ---- refuse a database of another schema version ----------------------------------------------
-- Re-applying version 1 over version 1 is a no-op; over any other version it would half-revert
-- an upgrade, so it stops here before touching anything.
DO $guard$
DECLARE
    installed integer;
BEGIN
    IF to_regclass('durable_instancing.store_version_table') IS NOT NULL THEN
        EXECUTE 'SELECT max(schema_version) FROM durable_instancing.store_version_table' INTO installed;
        IF installed IS DISTINCT FROM 1 THEN
            RAISE EXCEPTION 'durable_instancing has schema version %, but this schema.sql installs version 1', installed
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      HINT = 'apply the scripts in sql/scripts/upgrade/ (see its README.md), or schema.sql of the matching release';
        END IF;
    END IF;
END
$guard$;

-- ---- roles ---------------------------------------------------------------------------------
-- Three NOLOGIN group roles, as the original's three database roles (reference 3.1). Roles are
-- cluster-wide, so several databases of one cluster share them. They are created only when
-- missing, which takes CREATEROLE; a DBA who may not create roles has a superuser create them
-- first (the message says how) and the script then only grants to them.
--   durable_store_users       hosts: every command function; read and delete through the views
--   durable_activation_users  activation services: owner, lease and activation functions only
--   durable_observers         monitoring: read the public views, nothing else
DO $roles$
DECLARE
    wanted text;
BEGIN
    FOREACH wanted IN ARRAY ARRAY['durable_store_users', 'durable_activation_users', 'durable_observers'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = wanted) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', wanted);
            EXCEPTION WHEN insufficient_privilege THEN
                RAISE EXCEPTION 'role % does not exist and role % may not create roles', wanted, current_user
                    USING ERRCODE = 'insufficient_privilege',
                          HINT = 'have a superuser run: CREATE ROLE durable_store_users NOLOGIN; '
                                 'CREATE ROLE durable_activation_users NOLOGIN; CREATE ROLE durable_observers NOLOGIN; '
                                 '(or ALTER ROLE ' || current_user || ' CREATEROLE), then apply this script again';
            END;
        END IF;
    END LOOP;
END
$roles$;

CREATE SCHEMA IF NOT EXISTS durable_instancing;
-- Nobody but the owner reaches anything unless granted below (new schemas grant nothing to
-- PUBLIC; saying so keeps it true on a re-apply after someone widened it).
REVOKE ALL ON SCHEMA durable_instancing FROM PUBLIC;
GRANT USAGE ON SCHEMA durable_instancing TO durable_store_users, durable_activation_users, durable_observers;

-- ---- store_version_table -------------------------------------------------------------------
-- One row per schema version applied (the original kept a single Major.Minor.Build.Revision
-- row); get_store_version() reports the highest. The store refuses a version it does not know.
CREATE TABLE IF NOT EXISTS durable_instancing.store_version_table (
    schema_version integer     NOT NULL PRIMARY KEY CHECK (schema_version > 0),
    applied_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    description    text        NOT NULL
);

-- ---- store_clock_table ---------------------------------------------------------------------
-- Every time the store uses is the database clock plus this offset (logic.sql, store_now()).
-- In production the offset is zero and stays so; only the schema owner can change it (no role is
-- granted anything on it). Tests move it forward to expire leases and fire timers without
-- sleeping, as the embedded stores' tests move their manual clock. Exactly one row.
CREATE TABLE IF NOT EXISTS durable_instancing.store_clock_table (
    only_row     boolean  NOT NULL DEFAULT true PRIMARY KEY CHECK (only_row),
    clock_offset interval NOT NULL DEFAULT interval '0'
);

-- ---- definition_identity_table -------------------------------------------------------------
-- Workflow definition identities (WF 4.5 versioning). The original keyed them by MD5 hashes of
-- their text form; here the columns themselves are the key (UNIQUE NULLS NOT DISTINCT), which
-- cannot collide and needs no hashing on the client. The row with id 0 and every column NULL
-- is the null identity: instances without an identity, and owners created without identities,
-- point at it.
CREATE TABLE IF NOT EXISTS durable_instancing.definition_identity_table (
    surrogate_identity_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name                  text,    -- NULL only in the null identity
    package               text,    -- '' when the identity has no package
    major                 bigint,  -- major and minor: both NULL when the identity has no version
    minor                 bigint,
    build                 bigint,
    revision              bigint,
    CONSTRAINT definition_identity_unique UNIQUE NULLS NOT DISTINCT (name, package, major, minor, build, revision),
    CONSTRAINT definition_identity_shape CHECK (
        (name IS NOT NULL OR num_nonnulls(package, major, minor, build, revision) = 0)
        AND (major IS NULL) = (minor IS NULL)
        AND (build IS NULL OR major IS NOT NULL)
        AND (revision IS NULL OR build IS NOT NULL))
);
-- Owners that filter by "any revision" compare everything but the revision.
CREATE INDEX IF NOT EXISTS definition_identity_any_revision_index
    ON durable_instancing.definition_identity_table (name, package, major, minor, build);
INSERT INTO durable_instancing.definition_identity_table (surrogate_identity_id, name)
    OVERRIDING SYSTEM VALUE VALUES (0, NULL)
    ON CONFLICT DO NOTHING;

-- ---- lock_owners_table ---------------------------------------------------------------------
-- One row per host registration. An instance is locked while the owner its
-- surrogate_lock_owner_id names has lock_expiration in the future (by the store clock).
-- Owners are few (one per host), so lock recovery finds the expired ones by a scan and the lease
-- column carries no index: its renewal, the one update this table sees, stays a HOT update.
-- Host types are kept as their two name parts (namespace, local name), never as one string: the
-- "{ns}local" text form is ambiguous.
CREATE TABLE IF NOT EXISTS durable_instancing.lock_owners_table (
    surrogate_lock_owner_id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id                             uuid        NOT NULL UNIQUE,
    lock_expiration                timestamptz NOT NULL,
    creation_time                  timestamptz NOT NULL,
    workflow_host_type_namespace   text,
    workflow_host_type_name        text,
    machine_name                   text        NOT NULL,
    is_activation_service          boolean     NOT NULL DEFAULT false,
    deletes_instances_on_completion boolean    NOT NULL DEFAULT true,
    workflow_identity_filter       smallint    NOT NULL DEFAULT 0 CHECK (workflow_identity_filter IN (0, 1, 2)),
    metadata                       bytea,      -- readable owner metadata (codec bag), shown to hosts it blocks
    write_only_metadata            bytea,      -- never shown to anyone
    CONSTRAINT lock_owner_host_type_pair CHECK ((workflow_host_type_namespace IS NULL) = (workflow_host_type_name IS NULL))
) WITH (fillfactor = 50);  -- room on the page for HOT renewals

-- ---- identity_owner_table ------------------------------------------------------------------
-- The identities each owner can run (the null identity when it was created without any).
CREATE TABLE IF NOT EXISTS durable_instancing.identity_owner_table (
    surrogate_lock_owner_id bigint NOT NULL
        REFERENCES durable_instancing.lock_owners_table ON DELETE CASCADE,
    surrogate_identity_id   bigint NOT NULL
        REFERENCES durable_instancing.definition_identity_table,
    PRIMARY KEY (surrogate_lock_owner_id, surrogate_identity_id)
);

-- ---- service_deployments_table -------------------------------------------------------------
-- WAS activation parameters. Kept for the mirror and the public view; this port's commands do
-- not create deployments (its activation query reports host types instead).
CREATE TABLE IF NOT EXISTS durable_instancing.service_deployments_table (
    id                        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    service_deployment_hash   uuid NOT NULL UNIQUE,
    site_name                 text NOT NULL,
    relative_service_path     text NOT NULL,
    relative_application_path text NOT NULL,
    service_name              text NOT NULL,
    service_namespace         text NOT NULL
);

-- ---- instances_table -----------------------------------------------------------------------
-- One row per instance, rewritten by every save. The data and metadata columns hold bags in the
-- port's codec (docs/codec.md): each blob names its own encoding in its header, so the
-- original's DataEncodingOption / MetadataEncodingOption columns are gone. NULL = no blob.
-- There is no foreign key to lock_owners_table on purpose: its check would take a share lock on
-- the owner's row at every lock change, and all of a host's commands share that one row.
CREATE TABLE IF NOT EXISTS durable_instancing.instances_table (
    surrogate_instance_id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id                                  uuid        NOT NULL UNIQUE,
    surrogate_lock_owner_id             bigint,     -- last lock owner; the lock is void once its lease ends
    version                             bigint      NOT NULL DEFAULT 1,  -- fencing token, +1 per change of lock owner
    primitive_data_properties           bytea,      -- read-write primitive values
    complex_data_properties             bytea,      -- read-write opaque values
    write_only_primitive_data_properties bytea,     -- never returned by a load
    write_only_complex_data_properties  bytea,      -- never returned by a load
    metadata_properties                 bytea,      -- last consistent metadata (deltas on top: instance_metadata_changes_table)
    pending_timer                       timestamptz,-- durable timer due time; 'infinity' = never
    creation_time                       timestamptz NOT NULL,
    last_updated                        timestamptz,
    workflow_host_type_namespace        text,
    workflow_host_type_name             text,
    service_deployment_id               bigint,
    suspension_exception_name           text,
    suspension_reason                   text,
    blocking_bookmarks                  text,
    last_machine_run_on                 text,
    execution_status                    text,
    is_initialized                      boolean     NOT NULL DEFAULT false,
    is_suspended                        boolean     NOT NULL DEFAULT false,
    is_ready_to_run                     boolean     NOT NULL DEFAULT false,
    is_completed                        boolean     NOT NULL DEFAULT false,
    surrogate_identity_id               bigint      NOT NULL DEFAULT 0
        REFERENCES durable_instancing.definition_identity_table,
    last_save_command_id                uuid,       -- the command id of the last save, so a retried save applies once
    CONSTRAINT instance_host_type_pair CHECK ((workflow_host_type_namespace IS NULL) = (workflow_host_type_name IS NULL))
) WITH (
    -- Why these settings: every save rewrites the row, so each save leaves a dead row version.
    -- fillfactor 70 keeps room on each page for the new version, so a save that changes no
    -- indexed column is a HOT update: no index entries, and the page prunes itself. That is
    -- also why no index covers a column a plain save changes (last_updated, pending_timer,
    -- status): the original's indexes on them would make every save a full update.
    fillfactor = 70,
    -- Vacuum early and unthrottled: at the default 20 % scale factor a busy store grows many
    -- times its live size before autovacuum starts (postgres-notes.md measured 75x).
    autovacuum_vacuum_scale_factor = 0.01,
    autovacuum_vacuum_threshold = 1000,
    autovacuum_vacuum_insert_scale_factor = 0.05,
    autovacuum_analyze_scale_factor = 0.05,
    autovacuum_vacuum_cost_delay = 0,
    -- States larger than about 2 KB live in the TOAST table, where a save writes new chunks and
    -- leaves the old ones dead even when the main row is updated in place: vacuum it as eagerly.
    toast.autovacuum_vacuum_scale_factor = 0.01,
    toast.autovacuum_vacuum_threshold = 1000,
    toast.autovacuum_vacuum_cost_delay = 0
);
-- The blobs come compressed by the codec (zstd by default): EXTERNAL stores them out of line
-- without a second, useless pglz attempt on every save.
ALTER TABLE durable_instancing.instances_table
    ALTER COLUMN primitive_data_properties SET STORAGE EXTERNAL,
    ALTER COLUMN complex_data_properties SET STORAGE EXTERNAL,
    ALTER COLUMN write_only_primitive_data_properties SET STORAGE EXTERNAL,
    ALTER COLUMN write_only_complex_data_properties SET STORAGE EXTERNAL,
    ALTER COLUMN metadata_properties SET STORAGE EXTERNAL;
-- Lock recovery and owner deletion look up the instances an owner holds. Completed instances
-- hold no lock, so the partial index covers only live, locked instances ("not completed").
CREATE INDEX IF NOT EXISTS instances_locked_by_owner_index
    ON durable_instancing.instances_table (surrogate_lock_owner_id)
    WHERE surrogate_lock_owner_id IS NOT NULL AND NOT is_completed;
-- Purging completed instances (completion action delete_nothing) oldest first, in batches.
CREATE INDEX IF NOT EXISTS instances_completed_index
    ON durable_instancing.instances_table (creation_time)
    WHERE is_completed;

-- ---- runnable_instances_table --------------------------------------------------------------
-- The queue of instances a host may pick up: one row per instance at most, deleted when the
-- instance is locked. Host type and identity are copied from the instance when it is queued;
-- they cannot change while it is queued, since changing them takes the lock.
CREATE TABLE IF NOT EXISTS durable_instancing.runnable_instances_table (
    surrogate_instance_id        bigint      NOT NULL PRIMARY KEY
        REFERENCES durable_instancing.instances_table ON DELETE CASCADE,
    workflow_host_type_namespace text,
    workflow_host_type_name      text,
    service_deployment_id        bigint,
    runnable_time                timestamptz NOT NULL,  -- 'infinity' = a timer that never fires
    surrogate_identity_id        bigint      NOT NULL DEFAULT 0
) WITH (autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_cost_delay = 0);
-- Try-load and detection: due rows of one host type, earliest first. Rows without a host type
-- (queued by lock recovery) are never picked, so the partial index leaves them out.
CREATE INDEX IF NOT EXISTS runnable_instances_due_index
    ON durable_instancing.runnable_instances_table (workflow_host_type_name, workflow_host_type_namespace, runnable_time)
    WHERE workflow_host_type_name IS NOT NULL;

-- ---- keys_table ----------------------------------------------------------------------------
-- Correlation keys. properties NULL = the key's metadata has not been written yet: the first
-- writer wins (the original used EncodingOption NULL for this). is_associated false = completed.
CREATE TABLE IF NOT EXISTS durable_instancing.keys_table (
    surrogate_key_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id                    uuid    NOT NULL UNIQUE,
    surrogate_instance_id bigint  NOT NULL
        REFERENCES durable_instancing.instances_table ON DELETE CASCADE,
    properties            bytea,
    is_associated         boolean NOT NULL DEFAULT true
) WITH (autovacuum_vacuum_scale_factor = 0.02);
-- The keys of an instance: loads list them, deletes cascade through them.
CREATE INDEX IF NOT EXISTS keys_by_instance_index
    ON durable_instancing.keys_table (surrogate_instance_id);

-- ---- instance_metadata_changes_table -------------------------------------------------------
-- Metadata changes saved by a handle that did not hold the instance's whole metadata (a save
-- without a load first): appended in order; a load returns the base blob and these, and the
-- client applies them in change_time order. A save with consistent metadata replaces the base
-- and deletes them. SQL never parses a bag.
CREATE TABLE IF NOT EXISTS durable_instancing.instance_metadata_changes_table (
    surrogate_instance_id bigint NOT NULL
        REFERENCES durable_instancing.instances_table ON DELETE CASCADE,
    change_time           bigint GENERATED ALWAYS AS IDENTITY,
    change                bytea  NOT NULL,
    PRIMARY KEY (surrogate_instance_id, change_time)
);

-- ---- instance_promoted_properties_table ----------------------------------------------------
-- Promoted values, typed. The original had 32 sql_variant + 32 varbinary columns per promotion.
-- Here each promoted value is a row with a column per value kind. Chosen over one jsonb value
-- per promotion because a value keeps its type exactly (an int64 stays exact, a timestamp
-- compares as a timestamp, bytes stay bytes rather than base64 text), an ordinary btree index
-- answers equality and range queries per kind, and a DBA's query reads like SQL. The cost is a
-- row per value instead of per promotion on each data save; promotions hold few values.
-- value_position is the value's place in its promotion (1-64, as Value1..Value64).
-- value_kind is the codec's tag: 0 null, 1 boolean, 2 int64, 3 real, 4 string, 5 binary,
-- 6 uuid, 7 timestamp, 8 duration, 9 qualified name, 10 opaque.
CREATE TABLE IF NOT EXISTS durable_instancing.instance_promoted_properties_table (
    surrogate_instance_id bigint   NOT NULL
        REFERENCES durable_instancing.instances_table ON DELETE CASCADE,
    promotion_name        text     NOT NULL,
    value_position        smallint NOT NULL CHECK (value_position BETWEEN 1 AND 64),
    property_namespace    text     NOT NULL,
    property_name         text     NOT NULL,
    value_kind            smallint NOT NULL CHECK (value_kind BETWEEN 0 AND 10),
    boolean_value         boolean,
    int64_value           bigint,
    real_value            double precision,
    string_value          text,        -- string; a qualified name's local part
    binary_value          bytea,       -- binary; an opaque value's data
    uuid_value            uuid,
    timestamp_value       timestamptz,
    duration_microseconds bigint,
    name_namespace        text,        -- a qualified name's namespace
    content_type          text,        -- an opaque value's content type
    PRIMARY KEY (surrogate_instance_id, promotion_name, value_position),
    -- exactly the columns of the value's kind are set
    CONSTRAINT promoted_value_shape CHECK (
        num_nonnulls(boolean_value, int64_value, real_value, string_value, binary_value, uuid_value,
                     timestamp_value, duration_microseconds, name_namespace, content_type)
        = CASE value_kind WHEN 0 THEN 0 WHEN 9 THEN 2 WHEN 10 THEN 2 ELSE 1 END
        AND CASE value_kind
                WHEN 1 THEN boolean_value IS NOT NULL
                WHEN 2 THEN int64_value IS NOT NULL
                WHEN 3 THEN real_value IS NOT NULL
                WHEN 4 THEN string_value IS NOT NULL
                WHEN 5 THEN binary_value IS NOT NULL
                WHEN 6 THEN uuid_value IS NOT NULL
                WHEN 7 THEN timestamp_value IS NOT NULL
                WHEN 8 THEN duration_microseconds IS NOT NULL
                WHEN 9 THEN string_value IS NOT NULL AND name_namespace IS NOT NULL
                WHEN 10 THEN binary_value IS NOT NULL AND content_type IS NOT NULL
                ELSE true
            END)
) WITH (autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_cost_delay = 0);
-- Queries by promoted value, per kind that is commonly searched.
CREATE INDEX IF NOT EXISTS promoted_string_index
    ON durable_instancing.instance_promoted_properties_table (promotion_name, value_position, string_value)
    WHERE string_value IS NOT NULL;
CREATE INDEX IF NOT EXISTS promoted_int64_index
    ON durable_instancing.instance_promoted_properties_table (promotion_name, value_position, int64_value)
    WHERE int64_value IS NOT NULL;
CREATE INDEX IF NOT EXISTS promoted_timestamp_index
    ON durable_instancing.instance_promoted_properties_table (promotion_name, value_position, timestamp_value)
    WHERE timestamp_value IS NOT NULL;
CREATE INDEX IF NOT EXISTS promoted_uuid_index
    ON durable_instancing.instance_promoted_properties_table (promotion_name, value_position, uuid_value)
    WHERE uuid_value IS NOT NULL;

-- ---- public views --------------------------------------------------------------------------
-- What observers may read (reference 3.4). Deleting through instances and service_deployments
-- is the original's last-resort admin tool; the INSTEAD OF DELETE triggers are in logic.sql.

-- current_machine: the holder's machine while its lease lasts, else NULL (store clock).
CREATE OR REPLACE VIEW durable_instancing.instances AS
SELECT i.id                                   AS instance_id,
       i.pending_timer,
       i.creation_time,
       i.last_updated                         AS last_updated_time,
       i.service_deployment_id,
       i.suspension_exception_name,
       i.suspension_reason,
       i.blocking_bookmarks                   AS active_bookmarks,
       CASE WHEN o.lock_expiration > clock_timestamp()
                 + COALESCE((SELECT c.clock_offset FROM durable_instancing.store_clock_table c), interval '0')
            THEN o.machine_name END           AS current_machine,
       i.last_machine_run_on                  AS last_machine,
       i.execution_status,
       i.is_initialized,
       i.is_suspended,
       i.is_completed,
       i.primitive_data_properties            AS read_write_primitive_data_properties,
       i.write_only_primitive_data_properties,
       i.complex_data_properties              AS read_write_complex_data_properties,
       i.write_only_complex_data_properties,
       d.name                                 AS identity_name,
       d.package                              AS identity_package,
       d.build,
       d.major,
       d.minor,
       d.revision,
       i.workflow_host_type_namespace,
       i.workflow_host_type_name,
       i.version
  FROM durable_instancing.instances_table i
  LEFT JOIN durable_instancing.lock_owners_table o ON o.surrogate_lock_owner_id = i.surrogate_lock_owner_id
  LEFT JOIN durable_instancing.definition_identity_table d ON d.surrogate_identity_id = i.surrogate_identity_id;

CREATE OR REPLACE VIEW durable_instancing.service_deployments AS
SELECT s.id AS service_deployment_id,
       s.site_name,
       s.relative_service_path,
       s.relative_application_path,
       s.service_name,
       s.service_namespace
  FROM durable_instancing.service_deployments_table s;

CREATE OR REPLACE VIEW durable_instancing.instance_promoted_properties AS
SELECT i.id AS instance_id,
       p.promotion_name,
       p.value_position,
       p.property_namespace,
       p.property_name,
       (ARRAY['null', 'boolean', 'int64', 'real', 'string', 'binary', 'uuid', 'timestamp', 'duration',
              'qualified_name', 'opaque'])[p.value_kind + 1] AS value_kind,
       p.boolean_value,
       p.int64_value,
       p.real_value,
       p.string_value,
       p.binary_value,
       p.uuid_value,
       p.timestamp_value,
       p.duration_microseconds,
       p.name_namespace,
       p.content_type
  FROM durable_instancing.instance_promoted_properties_table p
  JOIN durable_instancing.instances_table i ON i.surrogate_instance_id = p.surrogate_instance_id;

-- ---- grants on relations ---------------------------------------------------------------------
-- Tables: nobody but the owner. Every write goes through the functions of logic.sql, which run
-- with the owner's rights (SECURITY DEFINER), so a host cannot bypass the lock and version checks.
REVOKE ALL ON ALL TABLES IN SCHEMA durable_instancing FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA durable_instancing
    FROM durable_store_users, durable_activation_users, durable_observers;
GRANT SELECT ON durable_instancing.instances, durable_instancing.service_deployments,
                durable_instancing.instance_promoted_properties
    TO durable_observers, durable_store_users;
-- The original let store users delete through the views (the triggers do the work).
GRANT DELETE ON durable_instancing.instances, durable_instancing.service_deployments,
                durable_instancing.instance_promoted_properties
    TO durable_store_users;

-- ---- version ---------------------------------------------------------------------------------
-- Last, so a database that has this row has everything above.
INSERT INTO durable_instancing.store_version_table (schema_version, description)
    VALUES (1, 'initial schema')
    ON CONFLICT (schema_version) DO NOTHING;
INSERT INTO durable_instancing.store_clock_table DEFAULT VALUES ON CONFLICT DO NOTHING;

COMMIT;
