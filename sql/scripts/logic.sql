-- durable: the PostgreSQL instance store's logic, one PL/pgSQL function per stored procedure of
-- the original SQL store (reference section 3.6), deciding as the C++ command_engine decides.
--
-- Apply after schema.sql:  psql -v ON_ERROR_STOP=1 -f sql/scripts/schema.sql -f sql/scripts/logic.sql
-- One transaction; every object is CREATE OR REPLACE (or created when missing), so applying it
-- again changes nothing. No psql meta-commands: the library embeds and sends this very text.
--
-- The contract the C++ client codes against (signatures, returned columns, result codes,
-- SQLSTATEs, the NOTIFY channel) is docs/sql.md. In short:
--   * The client sends each command as ONE call, SELECT * FROM durable_instancing.<function>(...),
--     in autocommit: the call is the transaction. The command functions are the granted ones:
--     create_lock_owner, delete_lock_owner, extend_lock, recover_instance_locks, unlock_instance,
--     load_instance, save_instance, try_load_runnable_instance, detect_runnable_instances,
--     get_activatable_workflows, get_store_version. The others are their parts, for them only.
--   * A command function returns one command_result row. result_code 0 is success; 1-15 are the
--     original's codes, 100 and up this port's. A command that fails writes nothing.
--   * Raised SQL errors mean a broken call (22023 invalid_parameter_value and the like) or a
--     server condition (40001, 40P01, 08xxx: retry); they are never a decision.
--   * Every time is the store clock: the database clock (clock_timestamp()) plus the offset in
--     store_clock_table, zero in production. Timers and leases travel as microseconds.
--   * Read committed isolation is assumed: each statement sees the latest committed rows. A
--     decision is made on those rows, and the statement that writes it repeats in its WHERE
--     clause what the decision rested on (version, holder, this owner's live lease): when another
--     command got there first, the write matches nothing and the decision is made again. So the
--     fence is in the statement that writes, and no lock is held longer than one call.

SET client_min_messages = warning;

BEGIN;

-- Names below are unqualified: they resolve in durable_instancing. The granted functions fix
-- their search_path themselves (they run with the owner's rights, so they must); the internal
-- ones are called only from those and run in that path.
SET LOCAL search_path = durable_instancing, pg_catalog;

-- ---- refuse a schema this logic was not written for -----------------------------------------
DO $guard$
DECLARE
    installed integer;
BEGIN
    IF to_regclass('durable_instancing.store_version_table') IS NULL THEN
        RAISE EXCEPTION 'schema durable_instancing is not installed (or not visible to role %)', current_user
            USING ERRCODE = 'undefined_table', HINT = 'apply sql/scripts/schema.sql first';
    END IF;
    SELECT max(schema_version) INTO installed FROM durable_instancing.store_version_table;
    IF installed IS DISTINCT FROM 1 THEN
        RAISE EXCEPTION 'durable_instancing has schema version %, but this logic.sql is for version 1', installed
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'apply the matching release''s logic.sql, or upgrade the schema (sql/scripts/upgrade/README.md)';
    END IF;
END
$guard$;

-- ---- command_result: what every command function returns -----------------------------------
-- One row type for all commands, so the client has one decoder. Columns a command does not use
-- are NULL. Created only when missing: its shape belongs to the schema version.
DO $type$
BEGIN
    IF to_regtype('durable_instancing.command_result') IS NULL THEN
        CREATE TYPE durable_instancing.command_result AS (
            result_code                      integer,     -- 0 success, else the code (docs/sql.md)
            message                          text,        -- why, for people; NULL on success
            store_time                       timestamptz, -- the store clock when the command decided
            owner_id                         uuid,        -- the requesting (or created) owner
            instance_id                      uuid,        -- the instance bound, or the one the error is about
            lock_version                     bigint,      -- the lock the handle now holds; -1 none
            instance_state                   smallint,    -- 0 unknown, 1 uninitialized, 2 initialized, 3 completed
            primitive_data_properties        bytea,       -- loads: the read-write data (never write-only)
            complex_data_properties          bytea,
            metadata_properties              bytea,       -- the base metadata bag ...
            metadata_changes                 bytea[],     -- ... and the changes to apply on top, in order
            key_ids                          uuid[],      -- the instance's keys, ascending
            key_is_associated                boolean[],   -- false: completed
            key_properties                   bytea[],     -- each key's metadata; NULL: none written
            diagnostic_key_id                uuid,        -- 3, 4, 8: the key
            conflicting_instance_id          uuid,        -- 3: the instance that has the key
            lock_holder_id                   uuid,        -- 2: the owner that holds the lock
            lock_holder_machine_name         text,
            lock_holder_metadata             bytea,       -- 2: its readable metadata bag
            diagnostic_version               bigint,      -- 6, 10, 103: the version involved
            next_runnable_time               timestamptz, -- detect: earliest runnable time ('infinity': never)
            activatable_host_type_namespaces text[],      -- activation query: host types with due work
            activatable_host_type_names      text[],
            activatable_runnable_counts      bigint[]
        );
    END IF;
END
$type$;

-- =============================================================================================
-- Helpers
-- =============================================================================================

-- The store clock: the database clock plus the offset in store_clock_table (zero in production;
-- tests move it). Every time the store reads or writes comes from here, never from a client.
-- A command reads the offset once (store_clock_offset) and adds it to clock_timestamp() where it
-- needs a time, so a lease is always judged at the moment of the statement that relies on it.
-- PL/pgSQL rather than SQL: its plan is cached for the session, where a SQL function with a
-- subquery would be planned anew in every transaction.
CREATE OR REPLACE FUNCTION durable_instancing.store_clock_offset()
RETURNS interval
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    clock_offset_ interval;
BEGIN
    SELECT c.clock_offset INTO clock_offset_ FROM durable_instancing.store_clock_table c;
    RETURN COALESCE(clock_offset_, interval '0');
END
$$;

CREATE OR REPLACE FUNCTION durable_instancing.store_now()
RETURNS timestamptz
LANGUAGE plpgsql VOLATILE
AS $$
BEGIN
    RETURN clock_timestamp() + durable_instancing.store_clock_offset();
END
$$;

-- p_from + a duration in microseconds, saturating: durations from about 200,000 years on (the
-- C++ duration::max() among them) are 'infinity', a time that never comes, rather than an
-- overflow. Whole hours and the remainder are added separately so the sum is exact.
CREATE OR REPLACE FUNCTION time_after(p_from timestamptz, p_duration_microseconds bigint)
RETURNS timestamptz
LANGUAGE sql STABLE STRICT PARALLEL SAFE
AS $$
    SELECT CASE
        WHEN p_duration_microseconds >= 6311390400000000000 THEN 'infinity'::timestamptz
        WHEN p_duration_microseconds <= -6311390400000000000 THEN '-infinity'::timestamptz
        ELSE p_from + make_interval(hours => (p_duration_microseconds / 3600000000)::integer)
                    + (p_duration_microseconds % 3600000000) * interval '1 microsecond'
    END
$$;

CREATE OR REPLACE FUNCTION new_result(p_now timestamptz)
RETURNS command_result
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    r command_result;
BEGIN
    r.result_code := 0;
    r.store_time := p_now;
    r.lock_version := -1;
    r.instance_state := 0;
    RETURN r;
END
$$;

CREATE OR REPLACE FUNCTION failed(p_result command_result, p_code integer, p_message text)
RETURNS command_result
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    p_result.result_code := p_code;
    p_result.message := p_message;
    RETURN p_result;
END
$$;

-- Raises 22023 for a call the client should never make.
CREATE OR REPLACE FUNCTION invalid_argument(p_message text)
RETURNS void
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    RAISE EXCEPTION '%', p_message USING ERRCODE = 'invalid_parameter_value';
END
$$;

-- The reader side of the original's InstanceStoreLock: commands that must not run during
-- destructive maintenance take it shared; the service_deployments delete trigger takes it
-- exclusively. Never waits: a command that cannot have it at once reports 13.
CREATE OR REPLACE FUNCTION try_enter_store()
RETURNS boolean
LANGUAGE sql VOLATILE
AS $$
    SELECT pg_try_advisory_xact_lock_shared(hashtext('durable_instancing maintenance')::bigint)
$$;

-- Wakes listeners: an instance of this host type became runnable (now or at a later time). The
-- payload is JSON, {"namespace" : ..., "name" : ...}; an oversized one (NOTIFY takes < 8000
-- bytes) becomes {}, meaning "some host type". Delivered at commit; PostgreSQL folds identical
-- notifications of one transaction into one. Returns 1 when it notified.
CREATE OR REPLACE FUNCTION notify_runnable(p_namespace text, p_name text)
RETURNS integer
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    payload text;
BEGIN
    IF p_name IS NULL THEN
        RETURN 0;  -- an instance without a host type is never picked: nobody to wake
    END IF;
    payload := json_build_object('namespace', p_namespace, 'name', p_name)::text;
    IF octet_length(payload) >= 8000 THEN
        payload := '{}';
    END IF;
    PERFORM pg_notify('durable_instancing_runnable', payload);
    RETURN 1;
END
$$;

-- The surrogate id of a definition identity, added when new. The null identity (id 0) is for
-- "no identity"; this is for real ones, so the name is required ('' is a name).
CREATE OR REPLACE FUNCTION definition_identity_id(p_name text, p_package text, p_major bigint, p_minor bigint,
                                                  p_build bigint, p_revision bigint)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    found_id bigint;
    package_text constant text := COALESCE(p_package, '');
BEGIN
    IF p_name IS NULL THEN
        PERFORM invalid_argument('a definition identity needs a name');
    END IF;
    FOR attempt IN 1..2 LOOP
        SELECT d.surrogate_identity_id INTO found_id
          FROM definition_identity_table d
         WHERE d.name = p_name AND d.package = package_text
           AND (d.major, d.minor, d.build, d.revision) IS NOT DISTINCT FROM (p_major, p_minor, p_build, p_revision);
        IF FOUND THEN
            RETURN found_id;
        END IF;
        INSERT INTO definition_identity_table (name, package, major, minor, build, revision)
             VALUES (p_name, package_text, p_major, p_minor, p_build, p_revision)
        ON CONFLICT DO NOTHING
        RETURNING surrogate_identity_id INTO found_id;
        IF found_id IS NOT NULL THEN
            RETURN found_id;
        END IF;
        -- another session added it meanwhile: read it again
    END LOOP;
    RAISE EXCEPTION 'definition identity % could not be resolved', p_name USING ERRCODE = 'serialization_failure';
END
$$;

-- The identities whose instances an owner may pick as runnable; NULL means all (filter "any").
-- Exact: its own identities. Any revision: every identity equal to one of them once the
-- revision is dropped. An owner created without identities has the null identity, so it picks
-- exactly the instances that have none, as the engine's runnable_filter does.
CREATE OR REPLACE FUNCTION runnable_identities(p_surrogate_lock_owner_id bigint, p_filter smallint)
RETURNS bigint[]
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    IF p_filter = 1 THEN
        RETURN NULL;
    ELSIF p_filter = 0 THEN
        RETURN ARRAY(SELECT io.surrogate_identity_id FROM identity_owner_table io
                      WHERE io.surrogate_lock_owner_id = p_surrogate_lock_owner_id);
    END IF;
    RETURN ARRAY(
        SELECT DISTINCT d.surrogate_identity_id
          FROM identity_owner_table io
          JOIN definition_identity_table mine ON mine.surrogate_identity_id = io.surrogate_identity_id
          JOIN definition_identity_table d
            ON (d.name, d.package, d.major, d.minor, d.build)
               IS NOT DISTINCT FROM (mine.name, mine.package, mine.major, mine.minor, mine.build)
         WHERE io.surrogate_lock_owner_id = p_surrogate_lock_owner_id);
END
$$;

-- Fills in the keys of an instance (associated and completed), ascending by id. Reported keys
-- are never NULL arrays: NULL in a result means "not reported", '{}' means "no keys".
CREATE OR REPLACE FUNCTION fill_keys(p_result command_result, p_surrogate_instance_id bigint)
RETURNS command_result
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    SELECT COALESCE(array_agg(k.id ORDER BY k.id), '{}'), COALESCE(array_agg(k.is_associated ORDER BY k.id), '{}'),
           COALESCE(array_agg(k.properties ORDER BY k.id), '{}')
      INTO p_result.key_ids, p_result.key_is_associated, p_result.key_properties
      FROM keys_table k
     WHERE k.surrogate_instance_id = p_surrogate_instance_id;
    RETURN p_result;
END
$$;

-- Fills in the metadata as stored: the base bag (NULL: empty) and the changes on top, in order.
-- metadata_changes is never NULL once reported ('{}': none), so NULL means "not reported".
CREATE OR REPLACE FUNCTION fill_metadata(p_result command_result, p_surrogate_instance_id bigint)
RETURNS command_result
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    SELECT i.metadata_properties INTO p_result.metadata_properties
      FROM instances_table i WHERE i.surrogate_instance_id = p_surrogate_instance_id;
    SELECT COALESCE(array_agg(c.change ORDER BY c.change_time), '{}') INTO p_result.metadata_changes
      FROM instance_metadata_changes_table c
     WHERE c.surrogate_instance_id = p_surrogate_instance_id;
    RETURN p_result;
END
$$;

-- Fills in what a load reports: state, read-write data (never the write-only parts), metadata
-- and keys.
CREATE OR REPLACE FUNCTION fill_loaded(p_result command_result, p_surrogate_instance_id bigint)
RETURNS command_result
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    SELECT i.id,
           CASE WHEN i.is_completed THEN 3 WHEN i.is_initialized THEN 2 ELSE 1 END,
           i.primitive_data_properties, i.complex_data_properties
      INTO p_result.instance_id, p_result.instance_state,
           p_result.primitive_data_properties, p_result.complex_data_properties
      FROM instances_table i WHERE i.surrogate_instance_id = p_surrogate_instance_id;
    p_result := fill_metadata(p_result, p_surrogate_instance_id);
    RETURN fill_keys(p_result, p_surrogate_instance_id);
END
$$;

-- Queues as runnable now the initialized, unsuspended instances that the given (expired or
-- deleted) owners still hold and that are not queued yet, at most p_limit of them. Instances
-- another command has locked right now are passed over (the original's readpast): the next pass
-- gets them, and the row lock re-checks the holder, so an instance just taken over by a live
-- owner is never queued. Returns how many it queued.
CREATE OR REPLACE FUNCTION queue_instances_of(p_owner_ids bigint[], p_limit integer, p_now timestamptz)
RETURNS integer
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    queued_count integer;
BEGIN
    WITH picked AS (
        SELECT i.surrogate_instance_id, i.workflow_host_type_namespace, i.workflow_host_type_name,
               i.service_deployment_id, i.surrogate_identity_id
          FROM instances_table i
         WHERE i.surrogate_lock_owner_id = ANY (p_owner_ids)
           AND NOT i.is_completed
           AND i.is_initialized
           AND NOT i.is_suspended
           AND NOT EXISTS (SELECT 1 FROM runnable_instances_table r
                            WHERE r.surrogate_instance_id = i.surrogate_instance_id)
         LIMIT p_limit
           FOR NO KEY UPDATE OF i SKIP LOCKED
    ), queued AS (
        INSERT INTO runnable_instances_table (surrogate_instance_id, workflow_host_type_namespace,
                                              workflow_host_type_name, service_deployment_id,
                                              runnable_time, surrogate_identity_id)
        SELECT p.surrogate_instance_id, p.workflow_host_type_namespace, p.workflow_host_type_name,
               p.service_deployment_id, p_now, p.surrogate_identity_id
          FROM picked p
        ON CONFLICT (surrogate_instance_id) DO NOTHING
        RETURNING workflow_host_type_namespace, workflow_host_type_name
    ), host_types AS (
        SELECT q.workflow_host_type_namespace, q.workflow_host_type_name, count(*) AS instances
          FROM queued q
         GROUP BY 1, 2
    )
    SELECT COALESCE(sum(h.instances), 0)::integer INTO queued_count
      FROM host_types h
     WHERE notify_runnable(h.workflow_host_type_namespace, h.workflow_host_type_name) >= 0;
    RETURN queued_count;
END
$$;

-- =============================================================================================
-- The original's procedures: the parts the commands are made of (not granted to anyone)
-- =============================================================================================

-- InsertRunnableInstanceEntry: queue an instance that was just unlocked, if it has work: ready
-- to run (due now) or a pending timer (due then; 'infinity' = never). Suspended instances and
-- instances without a host type are never queued. An instance already queued keeps the earlier
-- of the two times.
CREATE OR REPLACE FUNCTION insert_runnable_instance_entry(
    p_surrogate_instance_id bigint, p_workflow_host_type_namespace text, p_workflow_host_type_name text,
    p_service_deployment_id bigint, p_is_suspended boolean, p_is_ready_to_run boolean,
    p_pending_timer timestamptz, p_surrogate_identity_id bigint, p_now timestamptz)
RETURNS void
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    due timestamptz;
BEGIN
    IF p_is_suspended OR p_workflow_host_type_name IS NULL THEN
        RETURN;
    END IF;
    due := CASE WHEN p_is_ready_to_run THEN p_now ELSE p_pending_timer END;
    IF due IS NULL THEN
        RETURN;
    END IF;
    INSERT INTO runnable_instances_table AS r (surrogate_instance_id, workflow_host_type_namespace,
                                               workflow_host_type_name, service_deployment_id,
                                               runnable_time, surrogate_identity_id)
         VALUES (p_surrogate_instance_id, p_workflow_host_type_namespace, p_workflow_host_type_name,
                 p_service_deployment_id, due, p_surrogate_identity_id)
    ON CONFLICT (surrogate_instance_id)
        DO UPDATE SET runnable_time = LEAST(r.runnable_time, EXCLUDED.runnable_time);
    PERFORM notify_runnable(p_workflow_host_type_namespace, p_workflow_host_type_name);
END
$$;

-- CreateInstance: inserts the row `p_row` describes (surrogate id aside) at version 1, provided
-- the lease of the creating owner p_fencing_owner is live as the row is written (fencing); the
-- row names that owner as its holder unless the command releases the lock at once. Returns the
-- new surrogate id, or NULL when nothing was inserted: another session created the instance
-- first (the caller decides again) or the lease ended (the caller checks which).
CREATE OR REPLACE FUNCTION create_instance(p_row instances_table, p_fencing_owner bigint, p_clock_offset interval)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    new_id bigint;
BEGIN
    INSERT INTO instances_table (
        id, surrogate_lock_owner_id, version,
        primitive_data_properties, complex_data_properties,
        write_only_primitive_data_properties, write_only_complex_data_properties, metadata_properties,
        pending_timer, creation_time, last_updated, workflow_host_type_namespace, workflow_host_type_name,
        service_deployment_id, suspension_exception_name, suspension_reason, blocking_bookmarks,
        last_machine_run_on, execution_status, is_initialized, is_suspended, is_ready_to_run, is_completed,
        surrogate_identity_id, last_save_command_id)
    SELECT p_row.id, p_row.surrogate_lock_owner_id, 1,
           p_row.primitive_data_properties, p_row.complex_data_properties,
           p_row.write_only_primitive_data_properties, p_row.write_only_complex_data_properties,
           p_row.metadata_properties,
           p_row.pending_timer, p_row.creation_time, p_row.last_updated, p_row.workflow_host_type_namespace,
           p_row.workflow_host_type_name, p_row.service_deployment_id, p_row.suspension_exception_name,
           p_row.suspension_reason, p_row.blocking_bookmarks, p_row.last_machine_run_on,
           p_row.execution_status, COALESCE(p_row.is_initialized, false), COALESCE(p_row.is_suspended, false),
           COALESCE(p_row.is_ready_to_run, false), COALESCE(p_row.is_completed, false),
           COALESCE(p_row.surrogate_identity_id, 0), p_row.last_save_command_id
     WHERE EXISTS (SELECT 1 FROM lock_owners_table o
                    WHERE o.surrogate_lock_owner_id = p_fencing_owner
                      AND o.lock_expiration > clock_timestamp() + p_clock_offset)
    ON CONFLICT (id) DO NOTHING
    RETURNING surrogate_instance_id INTO new_id;
    RETURN new_id;
END
$$;

-- Whether the owner's lease is live right now (store clock).
CREATE OR REPLACE FUNCTION lease_is_live(p_surrogate_lock_owner_id bigint, p_clock_offset interval)
RETURNS boolean
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN EXISTS (SELECT 1 FROM lock_owners_table o
                    WHERE o.surrogate_lock_owner_id = p_surrogate_lock_owner_id
                      AND o.lock_expiration > clock_timestamp() + p_clock_offset);
END
$$;

-- The requesting owner, checked the way every command that acts for an owner begins: o_owner is
-- its row when it is registered and its lease is live at p_now; otherwise io_result comes back
-- failed with 12 (not registered) or 11 (lease over) and o_owner is all NULL. The caller keeps
-- the row (its host type, identity filter, completion action) for the rest of the command:
--     checked := live_owner(p_owner_id, now_, result);
--     IF (checked.io_result).result_code <> 0 THEN RETURN checked.io_result; END IF;
--     me := checked.o_owner;
-- (PL/pgSQL refuses two row variables in one INTO list, hence the record in between.)
-- Not used by extend_lock, which decides in the UPDATE that renews the lease and only then asks
-- why it matched nothing, nor by delete_lock_owner, which ends an expired owner too (12 only).
CREATE OR REPLACE FUNCTION live_owner(p_owner_id uuid, p_now timestamptz,
                                      INOUT io_result command_result, OUT o_owner lock_owners_table)
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    SELECT * INTO o_owner FROM lock_owners_table o WHERE o.id = p_owner_id;
    IF NOT FOUND THEN
        io_result := failed(io_result, 12, format('owner %s is not registered in the store', p_owner_id));
    ELSIF o_owner.lock_expiration <= p_now THEN
        io_result := failed(io_result, 11, format('the lease of owner %s has expired', p_owner_id));
        o_owner := NULL;
    END IF;
END
$$;

-- LockInstance: the decision table of reference 4.2, as the engine decides it.
--
-- Decides on the instance's latest committed row, judging leases by the store clock; then, when
-- it takes the lock, writes it with one UPDATE whose WHERE clause repeats what the decision rested
-- on (same version, same holder, not completed) and checks this owner's lease at that moment
-- (fencing). Should another command have changed the row in between, that UPDATE matches nothing
-- and the decision is made again on the new row. Confirming a lock the handle holds writes
-- nothing: the caller's own write carries the same checks. p_handle_version >= 0 means the
-- handle believes it holds the lock at that version ("bound"); -1 means it holds none.
--   missing:   bound -> 6; unbound -> o_surrogate_instance_id NULL, code 0: the caller may create it
--   completed: 7
--   unbound:   held by another live owner -> 2 (with the holder and its readable metadata);
--              held by this owner, live, and (id, version) not among the released locks -> 103,
--              decided before anything is written; otherwise the lock is taken and the version
--              moves on (the owner changes, or a released lock is taken anew); 11 if this owner's
--              lease ran out before the write
--   bound:     not held by this owner -> 6; held at another version -> 10; else confirmed
-- A lock taken here leaves the runnable queue.
CREATE OR REPLACE FUNCTION lock_instance(
    p_surrogate_lock_owner_id bigint,
    p_instance_id uuid,
    p_handle_version bigint,
    p_released_instance_ids uuid[],
    p_released_versions bigint[],
    p_clock_offset interval,
    INOUT io_result command_result,
    OUT o_surrogate_instance_id bigint,
    OUT o_is_initialized boolean,
    OUT o_now timestamptz)
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    bound constant boolean := p_handle_version >= 0;
    inst record;
    holder record;
    holder_live boolean;
BEGIN
    io_result.instance_id := p_instance_id;
    FOR attempt IN 1..10 LOOP
        SELECT i.surrogate_instance_id, i.version, i.surrogate_lock_owner_id, i.is_completed, i.is_initialized
          INTO inst
          FROM instances_table i
         WHERE i.id = p_instance_id;
        o_now := clock_timestamp() + p_clock_offset;
        io_result.store_time := o_now;

        IF inst.surrogate_instance_id IS NULL THEN
            IF bound THEN
                io_result.diagnostic_version := p_handle_version;
                io_result := failed(io_result, 6, 'the instance no longer exists');
            END IF;
            RETURN;
        END IF;
        IF inst.is_completed THEN
            io_result := failed(io_result, 7, 'the instance is completed');
            RETURN;
        END IF;

        IF bound THEN
            IF inst.surrogate_lock_owner_id IS DISTINCT FROM p_surrogate_lock_owner_id THEN
                io_result.diagnostic_version := p_handle_version;
                io_result := failed(io_result, 6, 'the instance is no longer locked by this owner');
            ELSIF inst.version <> p_handle_version THEN
                io_result.diagnostic_version := inst.version;
                io_result := failed(io_result, 10, format(
                    'the instance was re-locked at version %s but this handle holds version %s',
                    inst.version, p_handle_version));
            ELSE
                io_result.lock_version := inst.version;
                o_surrogate_instance_id := inst.surrogate_instance_id;
                o_is_initialized := inst.is_initialized;
            END IF;
            RETURN;
        END IF;

        SELECT o.id, o.lock_expiration, o.machine_name, o.metadata INTO holder
          FROM lock_owners_table o
         WHERE o.surrogate_lock_owner_id = inst.surrogate_lock_owner_id;
        holder_live := holder.lock_expiration > o_now;  -- NULL (not live) when there is no such owner
        IF holder_live AND inst.surrogate_lock_owner_id <> p_surrogate_lock_owner_id THEN
            io_result.lock_holder_id := holder.id;
            io_result.lock_holder_machine_name := holder.machine_name;
            io_result.lock_holder_metadata := holder.metadata;
            io_result := failed(io_result, 2, format('the instance is locked by owner %s (machine %s)',
                                                     holder.id, holder.machine_name));
            RETURN;
        END IF;
        IF holder_live AND NOT EXISTS (
                SELECT 1 FROM unnest(p_released_instance_ids, p_released_versions) AS released(id, version)
                 WHERE released.id = p_instance_id AND released.version = inst.version) THEN
            -- Our own live lock, and no handle of ours let go of it: another handle holds it
            -- (the original's code 14, decided here instead of by a reclaim protocol).
            io_result.diagnostic_version := inst.version;
            io_result := failed(io_result, 103, format(
                'another handle of this owner holds the lock on this instance at version %s', inst.version));
            RETURN;
        END IF;

        UPDATE instances_table i
           SET surrogate_lock_owner_id = p_surrogate_lock_owner_id,
               version = i.version + 1
         WHERE i.surrogate_instance_id = inst.surrogate_instance_id
           AND i.version = inst.version
           AND i.surrogate_lock_owner_id IS NOT DISTINCT FROM inst.surrogate_lock_owner_id
           AND NOT i.is_completed
           AND EXISTS (SELECT 1 FROM lock_owners_table o
                        WHERE o.surrogate_lock_owner_id = p_surrogate_lock_owner_id
                          AND o.lock_expiration > clock_timestamp() + p_clock_offset)
        RETURNING i.version INTO io_result.lock_version;
        IF FOUND THEN
            DELETE FROM runnable_instances_table r WHERE r.surrogate_instance_id = inst.surrogate_instance_id;
            o_surrogate_instance_id := inst.surrogate_instance_id;
            o_is_initialized := inst.is_initialized;
            RETURN;
        END IF;
        IF NOT lease_is_live(p_surrogate_lock_owner_id, p_clock_offset) THEN
            io_result := failed(io_result, 11, 'the lease of this owner ran out while it took the lock');
            RETURN;
        END IF;
        -- The row changed between the decision and the write: decide again.
    END LOOP;
    RAISE EXCEPTION 'the lock on instance % kept changing hands; retry', p_instance_id
        USING ERRCODE = 'serialization_failure';
END
$$;

-- AssociateKeys: associates keys with the instance; first writer wins, for the key and for its
-- metadata. A key of another instance is a collision (3). Re-associating a key the instance
-- already has (associated or completed) changes nothing but writes its metadata if it has none.
-- New keys are inserted in id order, so two commands inserting overlapping keys wait for each
-- other rather than deadlock.
CREATE OR REPLACE FUNCTION associate_keys(p_result command_result, p_surrogate_instance_id bigint,
                                          p_keys uuid[], p_key_properties bytea[])
RETURNS command_result
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    clash record;
BEGIN
    INSERT INTO keys_table (id, surrogate_instance_id, properties)
    SELECT k.id, p_surrogate_instance_id, k.properties
      FROM unnest(p_keys, p_key_properties) AS k(id, properties)
     ORDER BY k.id
    ON CONFLICT (id) DO NOTHING;

    SELECT k.id AS key_id, i.id AS instance_id INTO clash
      FROM keys_table k
      JOIN instances_table i ON i.surrogate_instance_id = k.surrogate_instance_id
     WHERE k.id = ANY (p_keys) AND k.surrogate_instance_id <> p_surrogate_instance_id
     ORDER BY k.id
     LIMIT 1;
    IF FOUND THEN
        p_result.diagnostic_key_id := clash.key_id;
        p_result.conflicting_instance_id := clash.instance_id;
        RETURN failed(p_result, 3, format('key %s is associated with instance %s', clash.key_id, clash.instance_id));
    END IF;

    UPDATE keys_table k
       SET properties = given.properties
      FROM unnest(p_keys, p_key_properties) AS given(id, properties)
     WHERE k.id = given.id
       AND k.surrogate_instance_id = p_surrogate_instance_id
       AND k.properties IS NULL
       AND given.properties IS NOT NULL;
    RETURN p_result;
END
$$;

-- The first of p_keys (in the caller's order) that the instance does not have, or NULL.
CREATE OR REPLACE FUNCTION first_key_not_owned(p_surrogate_instance_id bigint, p_keys uuid[])
RETURNS uuid
LANGUAGE sql STABLE
AS $$
    SELECT listed.id
      FROM unnest(p_keys) WITH ORDINALITY AS listed(id, place)
     WHERE NOT EXISTS (SELECT 1 FROM durable_instancing.keys_table k
                        WHERE k.id = listed.id AND k.surrogate_instance_id = p_surrogate_instance_id)
     ORDER BY listed.place
     LIMIT 1
$$;

-- CompleteKeys: marks keys of the instance completed; a key it does not have is 4.
CREATE OR REPLACE FUNCTION complete_keys(p_result command_result, p_surrogate_instance_id bigint, p_keys uuid[])
RETURNS command_result
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    missing uuid := first_key_not_owned(p_surrogate_instance_id, p_keys);
BEGIN
    IF missing IS NOT NULL THEN
        p_result.diagnostic_key_id := missing;
        RETURN failed(p_result, 4, format('key %s is not associated with this instance', missing));
    END IF;
    UPDATE keys_table k SET is_associated = false
     WHERE k.id = ANY (p_keys) AND k.surrogate_instance_id = p_surrogate_instance_id AND k.is_associated;
    RETURN p_result;
END
$$;

-- FreeKeys: deletes keys of the instance; a key it does not have is 4.
CREATE OR REPLACE FUNCTION free_keys(p_result command_result, p_surrogate_instance_id bigint, p_keys uuid[])
RETURNS command_result
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    missing uuid := first_key_not_owned(p_surrogate_instance_id, p_keys);
BEGIN
    IF missing IS NOT NULL THEN
        p_result.diagnostic_key_id := missing;
        RETURN failed(p_result, 4, format('key %s is not associated with this instance', missing));
    END IF;
    DELETE FROM keys_table k WHERE k.id = ANY (p_keys) AND k.surrogate_instance_id = p_surrogate_instance_id;
    RETURN p_result;
END
$$;

-- DeleteInstance: the instance and everything that hangs off it (keys, queue entry, metadata
-- changes and promoted values go by their ON DELETE CASCADE).
CREATE OR REPLACE FUNCTION delete_instance(p_surrogate_instance_id bigint)
RETURNS void
LANGUAGE sql VOLATILE
AS $$
    DELETE FROM durable_instancing.instances_table WHERE surrogate_instance_id = p_surrogate_instance_id
$$;

-- InsertPromotedProperties: stores the promoted values a save carries, typed. p_values is a JSON
-- array with one object per value:
--   {"promotion_name": text, "value_position": 1-64, "property_namespace": text,
--    "property_name": text, "value_kind": 0-10, "value": ...}
-- where value is, per kind: 0 null (absent or null); 1 true/false; 2 an integer; 3 a number, or
-- a string of float8 text ("NaN", "Infinity", "-Infinity", "-0": the client sends every real
-- so, since a JSON number cannot be -0 or NaN); 4 a string; 5 base64 text; 6 uuid text; 7 microseconds since
-- 1970-01-01 UTC (an integer, exact); 8 microseconds (an integer); 9 {"namespace": text,
-- "name": text}; 10 {"content_type": text, "data": base64 text}. A malformed entry raises
-- (22P02, 22023, 23514): the client built it wrong.
CREATE OR REPLACE FUNCTION insert_promoted_properties(p_surrogate_instance_id bigint, p_values jsonb)
RETURNS void
LANGUAGE plpgsql VOLATILE
AS $$
BEGIN
    IF jsonb_typeof(p_values) IS DISTINCT FROM 'array' THEN
        PERFORM invalid_argument('promoted properties must be a JSON array');
    END IF;
    INSERT INTO instance_promoted_properties_table (
        surrogate_instance_id, promotion_name, value_position, property_namespace, property_name, value_kind,
        boolean_value, int64_value, real_value, string_value, binary_value, uuid_value, timestamp_value,
        duration_microseconds, name_namespace, content_type)
    SELECT p_surrogate_instance_id, v.promotion_name, v.value_position, COALESCE(v.property_namespace, ''),
           v.property_name, v.value_kind,
           CASE WHEN v.value_kind = 1 THEN v.value::boolean END,
           CASE WHEN v.value_kind = 2 THEN v.value::bigint END,
           CASE WHEN v.value_kind = 3 THEN (v.value #>> '{}')::double precision END,
           CASE WHEN v.value_kind = 4 THEN v.value #>> '{}'
                WHEN v.value_kind = 9 THEN v.value ->> 'name' END,
           CASE WHEN v.value_kind = 5 THEN decode(v.value #>> '{}', 'base64')
                WHEN v.value_kind = 10 THEN decode(v.value ->> 'data', 'base64') END,
           CASE WHEN v.value_kind = 6 THEN (v.value #>> '{}')::uuid END,
           CASE WHEN v.value_kind = 7 THEN time_after('1970-01-01 00:00:00+00', v.value::bigint) END,
           CASE WHEN v.value_kind = 8 THEN v.value::bigint END,
           CASE WHEN v.value_kind = 9 THEN v.value ->> 'namespace' END,
           CASE WHEN v.value_kind = 10 THEN v.value ->> 'content_type' END
      FROM jsonb_to_recordset(p_values) AS v(promotion_name text, value_position smallint, property_namespace text,
                                             property_name text, value_kind smallint, value jsonb);
END
$$;

-- =============================================================================================
-- The commands: one call each, granted to the roles (SECURITY DEFINER: they alone write tables)
-- =============================================================================================

-- GetStoreVersion: the schema version; the store refuses one it does not know.
CREATE OR REPLACE FUNCTION get_store_version()
RETURNS integer
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = durable_instancing, pg_temp
AS $$
    SELECT max(schema_version) FROM store_version_table
$$;

-- CreateLockOwner (create_workflow_owner): registers an owner with a lease of
-- p_lease_microseconds from now (saturating: a huge lease never ends). Without identities the
-- owner runs the instances that have none (the null identity). Returns owner_id. 13 during
-- maintenance.
CREATE OR REPLACE FUNCTION create_lock_owner(
    p_lease_microseconds bigint,
    p_machine_name text,
    p_workflow_host_type_namespace text DEFAULT NULL,
    p_workflow_host_type_name text DEFAULT NULL,
    p_metadata bytea DEFAULT NULL,
    p_write_only_metadata bytea DEFAULT NULL,
    p_deletes_instances_on_completion boolean DEFAULT true,
    p_is_activation_service boolean DEFAULT false,
    p_identity_filter integer DEFAULT 0,
    p_identity_names text[] DEFAULT NULL,
    p_identity_packages text[] DEFAULT NULL,
    p_identity_majors bigint[] DEFAULT NULL,
    p_identity_minors bigint[] DEFAULT NULL,
    p_identity_builds bigint[] DEFAULT NULL,
    p_identity_revisions bigint[] DEFAULT NULL,
    p_owner_id uuid DEFAULT NULL)
RETURNS command_result
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = durable_instancing, pg_temp
AS $$
DECLARE
    now_ timestamptz := store_now();
    result command_result := new_result(now_);
    identity_count constant integer := COALESCE(cardinality(p_identity_names), 0);
    new_sid bigint;
BEGIN
    IF p_lease_microseconds IS NULL OR p_lease_microseconds <= 0 THEN
        PERFORM invalid_argument('the lease must be a positive number of microseconds');
    END IF;
    IF p_machine_name IS NULL THEN
        PERFORM invalid_argument('the machine name is required');
    END IF;
    IF (p_workflow_host_type_namespace IS NULL) <> (p_workflow_host_type_name IS NULL) THEN
        PERFORM invalid_argument('a host type has both a namespace (may be empty) and a name, or neither');
    END IF;
    IF p_identity_filter IS NULL OR p_identity_filter NOT IN (0, 1, 2) THEN
        PERFORM invalid_argument('the identity filter is 0 (exact), 1 (any) or 2 (any revision)');
    END IF;
    IF identity_count > 0 AND (
           COALESCE(cardinality(p_identity_packages), identity_count) <> identity_count
        OR COALESCE(cardinality(p_identity_majors), identity_count) <> identity_count
        OR COALESCE(cardinality(p_identity_minors), identity_count) <> identity_count
        OR COALESCE(cardinality(p_identity_builds), identity_count) <> identity_count
        OR COALESCE(cardinality(p_identity_revisions), identity_count) <> identity_count) THEN
        PERFORM invalid_argument('the identity arrays must all have one element per identity name');
    END IF;
    IF NOT try_enter_store() THEN
        RETURN failed(result, 13, 'the store is under maintenance');
    END IF;

    INSERT INTO lock_owners_table (id, lock_expiration, creation_time, workflow_host_type_namespace,
                                   workflow_host_type_name, machine_name, is_activation_service,
                                   deletes_instances_on_completion, workflow_identity_filter,
                                   metadata, write_only_metadata)
         VALUES (COALESCE(p_owner_id, gen_random_uuid()), time_after(now_, p_lease_microseconds), now_,
                 p_workflow_host_type_namespace, p_workflow_host_type_name, p_machine_name,
                 COALESCE(p_is_activation_service, false), COALESCE(p_deletes_instances_on_completion, true),
                 p_identity_filter, p_metadata, p_write_only_metadata)
    RETURNING surrogate_lock_owner_id, id INTO new_sid, result.owner_id;

    IF identity_count = 0 THEN
        INSERT INTO identity_owner_table (surrogate_lock_owner_id, surrogate_identity_id) VALUES (new_sid, 0);
    ELSE
        INSERT INTO identity_owner_table (surrogate_lock_owner_id, surrogate_identity_id)
        SELECT new_sid, definition_identity_id(i.name, i.package, i.major, i.minor, i.build, i.revision)
          FROM unnest(p_identity_names, p_identity_packages, p_identity_majors, p_identity_minors,
                      p_identity_builds, p_identity_revisions) AS i(name, package, major, minor, build, revision)
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN result;
END
$$;

-- DeleteLockOwner (delete_workflow_owner): expires the owner at once and, rather than wait for
-- the next recovery pass, queues its instances as runnable now, so a graceful shutdown hands
-- its work over immediately. The row stays until lock recovery removes it. 12 if unknown, 13
-- during maintenance.
CREATE OR REPLACE FUNCTION delete_lock_owner(p_owner_id uuid)
RETURNS command_result
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = durable_instancing, pg_temp
AS $$
DECLARE
    now_ timestamptz := store_now();
    result command_result := new_result(now_);
    owner_sid bigint;
BEGIN
    result.owner_id := p_owner_id;
    IF NOT try_enter_store() THEN
        RETURN failed(result, 13, 'the store is under maintenance');
    END IF;
    UPDATE lock_owners_table o
       SET lock_expiration = LEAST(o.lock_expiration, now_)
     WHERE o.id = p_owner_id
    RETURNING o.surrogate_lock_owner_id INTO owner_sid;
    IF NOT FOUND THEN
        RETURN failed(result, 12, format('owner %s is not registered in the store', p_owner_id));
    END IF;
    PERFORM queue_instances_of(ARRAY[owner_sid], 2147483647, now_);
    RETURN result;
END
$$;

-- ExtendLock: renews a live owner's lease to p_lease_microseconds from now. An expired owner is
-- never revived: 11 (its row is kept; recovery removes it), 12 when unknown.
CREATE OR REPLACE FUNCTION extend_lock(p_owner_id uuid, p_lease_microseconds bigint)
RETURNS command_result
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = durable_instancing, pg_temp
AS $$
DECLARE
    now_ timestamptz := store_now();
    result command_result := new_result(now_);
BEGIN
    IF p_lease_microseconds IS NULL OR p_lease_microseconds <= 0 THEN
        PERFORM invalid_argument('the lease must be a positive number of microseconds');
    END IF;
    result.owner_id := p_owner_id;
    UPDATE lock_owners_table o
       SET lock_expiration = time_after(now_, p_lease_microseconds)
     WHERE o.id = p_owner_id AND o.lock_expiration > now_;
    IF FOUND THEN
        RETURN result;
    END IF;
    IF EXISTS (SELECT 1 FROM lock_owners_table o WHERE o.id = p_owner_id) THEN
        RETURN failed(result, 11, format('the lease of owner %s has expired', p_owner_id));
    END IF;
    RETURN failed(result, 12, format('owner %s is not registered in the store', p_owner_id));
END
$$;

-- RecoverInstanceLocks: queues as runnable (now) up to 1000 instances that expired owners still
-- hold, and deletes expired owners that hold none. Any live owner may run it; twice is harmless.
CREATE OR REPLACE FUNCTION recover_instance_locks(p_owner_id uuid)
RETURNS command_result
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = durable_instancing, pg_temp
AS $$
DECLARE
    now_ timestamptz := store_now();
    result command_result := new_result(now_);
    me lock_owners_table;
    checked record;
    expired_owners bigint[];
BEGIN
    result.owner_id := p_owner_id;
    checked := live_owner(p_owner_id, now_, result);
    IF (checked.io_result).result_code <> 0 THEN
        RETURN checked.io_result;
    END IF;
    me := checked.o_owner;

    expired_owners := ARRAY(SELECT o.surrogate_lock_owner_id FROM lock_owners_table o WHERE o.lock_expiration <= now_);
    IF cardinality(expired_owners) = 0 THEN
        RETURN result;
    END IF;
    PERFORM queue_instances_of(expired_owners, 1000, now_);
    DELETE FROM lock_owners_table o
     WHERE o.surrogate_lock_owner_id = ANY (expired_owners)
       AND o.lock_expiration <= now_
       AND NOT EXISTS (SELECT 1 FROM instances_table i
                        WHERE i.surrogate_lock_owner_id = o.surrogate_lock_owner_id AND NOT i.is_completed);
    RETURN result;
END
$$;

-- UnlockInstance: releases the lock this owner holds on the instance at p_handle_version, and
-- queues the instance when it is due. Does nothing (and succeeds) when the lock is not held that
-- way any more (another version, another owner, this owner's lease over): a late unlock can
-- never release a newer holder.
CREATE OR REPLACE FUNCTION unlock_instance(p_owner_id uuid, p_instance_id uuid, p_handle_version bigint)
RETURNS command_result
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = durable_instancing, pg_temp
AS $$
DECLARE
    clock_offset_ constant interval := store_clock_offset();
    now_ timestamptz := clock_timestamp() + clock_offset_;
    result command_result := new_result(now_);
    released record;
BEGIN
    result.owner_id := p_owner_id;
    result.instance_id := p_instance_id;
    UPDATE instances_table i
       SET surrogate_lock_owner_id = NULL
      FROM lock_owners_table o
     WHERE i.id = p_instance_id
       AND o.id = p_owner_id
       AND i.surrogate_lock_owner_id = o.surrogate_lock_owner_id
       AND i.version = p_handle_version
       AND o.lock_expiration > clock_timestamp() + clock_offset_
    RETURNING i.surrogate_instance_id, i.workflow_host_type_namespace, i.workflow_host_type_name,
              i.service_deployment_id, i.is_suspended, i.is_ready_to_run, i.pending_timer,
              i.surrogate_identity_id, i.is_completed
         INTO released;
    IF FOUND AND NOT released.is_completed THEN
        PERFORM insert_runnable_instance_entry(
            released.surrogate_instance_id, released.workflow_host_type_namespace, released.workflow_host_type_name,
            released.service_deployment_id, released.is_suspended, released.is_ready_to_run,
            released.pending_timer, released.surrogate_identity_id, now_);
    END IF;
    RETURN result;
END
$$;

-- What a save that was applied already (same p_command_id) reports: the instance as it stands.
CREATE OR REPLACE FUNCTION save_applied_already(p_result command_result, p_instance_id uuid,
                                                p_surrogate_lock_owner_id bigint, p_releasing boolean,
                                                p_metadata_is_consistent boolean)
RETURNS command_result
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    applied record;
BEGIN
    SELECT i.surrogate_instance_id, i.surrogate_lock_owner_id, i.version, i.is_completed, i.is_initialized
      INTO applied
      FROM instances_table i WHERE i.id = p_instance_id;
    p_result.lock_version := CASE WHEN applied.surrogate_lock_owner_id = p_surrogate_lock_owner_id AND NOT p_releasing
                                  THEN applied.version ELSE -1 END;
    p_result.instance_state := CASE WHEN applied.is_completed THEN 3
                                    WHEN applied.is_initialized THEN 2 ELSE 1 END;
    p_result := fill_keys(p_result, applied.surrogate_instance_id);
    IF NOT p_metadata_is_consistent THEN
        p_result := fill_metadata(p_result, applied.surrogate_instance_id);
    END IF;
    RETURN p_result;
END
$$;

-- The body of a load by id (LoadInstance operation types 1 and 3), shared by load_instance and
-- try_load_runnable_instance. Returns code -1 when it lost a creation race: the caller undoes
-- and tries again. The caller undoes whatever this wrote when the code is not 0.
CREATE OR REPLACE FUNCTION load_by_id(p_result command_result, p_owner lock_owners_table, p_instance_id uuid,
                                      p_accept_uninitialized boolean, p_handle_version bigint,
                                      p_released_instance_ids uuid[], p_released_versions bigint[],
                                      p_clock_offset interval)
RETURNS command_result
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    locked record;
    sid bigint;
    fresh instances_table;
BEGIN
    SELECT * INTO locked FROM lock_instance(p_owner.surrogate_lock_owner_id, p_instance_id, p_handle_version,
                                            p_released_instance_ids, p_released_versions, p_clock_offset,
                                            p_result);
    p_result := locked.io_result;
    IF p_result.result_code <> 0 THEN
        RETURN p_result;
    END IF;
    sid := locked.o_surrogate_instance_id;
    IF sid IS NULL THEN
        IF NOT p_accept_uninitialized THEN
            RETURN failed(p_result, 1, 'no instance with this id exists');
        END IF;
        fresh.id := p_instance_id;
        fresh.surrogate_lock_owner_id := p_owner.surrogate_lock_owner_id;
        fresh.creation_time := locked.o_now;
        sid := create_instance(fresh, p_owner.surrogate_lock_owner_id, p_clock_offset);
        IF sid IS NULL THEN
            IF lease_is_live(p_owner.surrogate_lock_owner_id, p_clock_offset) THEN
                RETURN failed(p_result, -1, 'another session created the instance first');
            END IF;
            RETURN failed(p_result, 11, 'the lease of this owner ran out while it created the instance');
        END IF;
        p_result.lock_version := 1;
    ELSIF NOT locked.o_is_initialized AND NOT p_accept_uninitialized THEN
        RETURN failed(p_result, 1, 'the instance exists but has not been initialized by a save with data');
    END IF;
    RETURN fill_loaded(p_result, sid);
END
$$;

-- The body of a load by key (LoadInstance operation types 0 and 2). Every decision comes before
-- the first write; the caller undoes the writes anyway whenever the code is not 0, so a refused
-- load by key leaves nothing behind. Code -1: a race was lost, try again.
CREATE OR REPLACE FUNCTION load_by_key(p_result command_result, p_owner lock_owners_table, p_lookup_key uuid,
                                       p_associate_instance_id uuid, p_accept_uninitialized boolean,
                                       p_keys_to_associate uuid[], p_key_properties bytea[],
                                       p_released_instance_ids uuid[], p_released_versions bigint[],
                                       p_clock_offset interval)
RETURNS command_result
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    key_row record;
    key_found boolean;
    target uuid;
    locked record;
    sid bigint;
    initialized boolean;
    still_associated boolean;
    fresh instances_table;
    lookup_properties bytea;
BEGIN
    p_result.diagnostic_key_id := p_lookup_key;
    SELECT k.is_associated, i.id AS instance_id INTO key_row
      FROM keys_table k
      JOIN instances_table i ON i.surrogate_instance_id = k.surrogate_instance_id
     WHERE k.id = p_lookup_key;
    key_found := FOUND;
    IF NOT key_found THEN
        IF p_associate_instance_id IS NULL THEN
            RETURN failed(p_result, 4, format('no instance is associated with key %s', p_lookup_key));
        END IF;
        target := p_associate_instance_id;
    ELSIF NOT key_row.is_associated THEN
        p_result.instance_id := key_row.instance_id;
        RETURN failed(p_result, 8, format('key %s is completed', p_lookup_key));
    ELSE
        target := key_row.instance_id;
    END IF;

    SELECT * INTO locked FROM lock_instance(p_owner.surrogate_lock_owner_id, target, -1,
                                            p_released_instance_ids, p_released_versions, p_clock_offset,
                                            p_result);
    p_result := locked.io_result;
    IF p_result.result_code <> 0 THEN
        RETURN p_result;
    END IF;
    sid := locked.o_surrogate_instance_id;
    initialized := COALESCE(locked.o_is_initialized, false);

    IF key_found THEN
        IF sid IS NULL THEN
            RETURN failed(p_result, -1, 'the instance the key led to was deleted meanwhile');
        END IF;
        -- The key was read before the instance was locked: make sure it still leads here.
        SELECT k.is_associated INTO still_associated
          FROM keys_table k WHERE k.id = p_lookup_key AND k.surrogate_instance_id = sid;
        IF NOT FOUND THEN
            RETURN failed(p_result, -1, 'the key was freed or moved meanwhile');
        ELSIF NOT still_associated THEN
            RETURN failed(p_result, 8, format('key %s is completed', p_lookup_key));
        END IF;
    ELSIF sid IS NOT NULL AND initialized THEN
        RETURN failed(p_result, 5, format(
            'load-or-create by key: instance %s is already initialized and does not hold key %s', target, p_lookup_key));
    END IF;
    IF sid IS NOT NULL AND NOT initialized AND NOT p_accept_uninitialized THEN
        RETURN failed(p_result, 1, 'the instance the key leads to has not been initialized');
    END IF;
    IF sid IS NULL THEN
        IF NOT p_accept_uninitialized THEN
            RETURN failed(p_result, 1, 'the instance does not exist');
        END IF;
        fresh.id := target;
        fresh.surrogate_lock_owner_id := p_owner.surrogate_lock_owner_id;
        fresh.creation_time := locked.o_now;
        sid := create_instance(fresh, p_owner.surrogate_lock_owner_id, p_clock_offset);
        IF sid IS NULL THEN
            IF lease_is_live(p_owner.surrogate_lock_owner_id, p_clock_offset) THEN
                RETURN failed(p_result, -1, 'another session created the instance first');
            END IF;
            RETURN failed(p_result, 11, 'the lease of this owner ran out while it created the instance');
        END IF;
        p_result.lock_version := 1;
    END IF;

    IF NOT key_found THEN
        SELECT given.properties INTO lookup_properties
          FROM unnest(p_keys_to_associate, p_key_properties) AS given(id, properties)
         WHERE given.id = p_lookup_key
         LIMIT 1;
        INSERT INTO keys_table (id, surrogate_instance_id, properties)
             VALUES (p_lookup_key, sid, lookup_properties)
        ON CONFLICT (id) DO NOTHING;
        IF NOT FOUND THEN
            RETURN failed(p_result, -1, 'another session associated the key first');
        END IF;
    END IF;
    IF COALESCE(cardinality(p_keys_to_associate), 0) > 0 THEN
        SELECT array_agg(given.id), array_agg(given.properties)
          INTO p_keys_to_associate, p_key_properties
          FROM unnest(p_keys_to_associate, p_key_properties) AS given(id, properties)
         WHERE given.id <> p_lookup_key;
        IF p_keys_to_associate IS NOT NULL THEN
            p_result := associate_keys(p_result, sid, p_keys_to_associate, p_key_properties);
            IF p_result.result_code <> 0 THEN
                RETURN p_result;
            END IF;
        END IF;
    END IF;
    p_result.diagnostic_key_id := NULL;
    RETURN fill_loaded(p_result, sid);
END
$$;

-- LoadInstance (load_workflow, load_workflow_by_instance_key): locks and loads an instance.
--   By id (p_lookup_key NULL): p_instance_id; with p_accept_uninitialized a missing instance is
--     created (locked, uninitialized, version 1); without it, missing or uninitialized is 1.
--     p_handle_version >= 0 reloads through a handle that holds the lock (6 / 10 if it lost it).
--   By key (p_lookup_key set): the key's instance. An unknown key is 4, or, with p_instance_id
--     (which requires p_accept_uninitialized), that instance is loaded or created and the key
--     associated with it (5 if it is initialized already). A completed key is 8.
--     p_keys_to_associate (with p_key_properties, element for element) are associated too; the
--     lookup key may be among them to give its metadata.
-- p_released_instance_ids / p_released_versions: the owner's locks whose unlock may still be on
-- its way (see lock_instance). A failed load writes nothing. 13 during maintenance.
CREATE OR REPLACE FUNCTION load_instance(
    p_owner_id uuid,
    p_instance_id uuid DEFAULT NULL,
    p_lookup_key uuid DEFAULT NULL,
    p_accept_uninitialized boolean DEFAULT false,
    p_handle_version bigint DEFAULT -1,
    p_keys_to_associate uuid[] DEFAULT NULL,
    p_key_properties bytea[] DEFAULT NULL,
    p_released_instance_ids uuid[] DEFAULT NULL,
    p_released_versions bigint[] DEFAULT NULL)
RETURNS command_result
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = durable_instancing, pg_temp
AS $$
DECLARE
    clock_offset_ constant interval := store_clock_offset();
    now_ timestamptz := clock_timestamp() + clock_offset_;
    result command_result;
    me lock_owners_table;
    checked record;
BEGIN
    IF p_owner_id IS NULL THEN
        PERFORM invalid_argument('the owner id is required');
    END IF;
    IF p_lookup_key IS NULL THEN
        IF p_instance_id IS NULL THEN
            PERFORM invalid_argument('a load needs an instance id or a lookup key');
        END IF;
        IF COALESCE(cardinality(p_keys_to_associate), 0) > 0 THEN
            PERFORM invalid_argument('only a load by key associates keys');
        END IF;
    ELSE
        IF COALESCE(p_handle_version, -1) >= 0 THEN
            PERFORM invalid_argument('a load by key binds a handle that holds no lock (p_handle_version -1)');
        END IF;
        IF p_instance_id IS NOT NULL AND NOT p_accept_uninitialized THEN
            PERFORM invalid_argument('load-or-create by key (p_instance_id) requires p_accept_uninitialized');
        END IF;
    END IF;
    IF p_key_properties IS NOT NULL AND cardinality(p_key_properties) <> COALESCE(cardinality(p_keys_to_associate), 0) THEN
        PERFORM invalid_argument('p_key_properties must have one element per key to associate');
    END IF;
    IF COALESCE(cardinality(p_released_instance_ids), 0) <> COALESCE(cardinality(p_released_versions), 0) THEN
        PERFORM invalid_argument('p_released_instance_ids and p_released_versions must have the same length');
    END IF;

    result := new_result(now_);
    result.owner_id := p_owner_id;
    IF NOT try_enter_store() THEN
        RETURN failed(result, 13, 'the store is under maintenance');
    END IF;
    checked := live_owner(p_owner_id, now_, result);
    IF (checked.io_result).result_code <> 0 THEN
        RETURN checked.io_result;
    END IF;
    me := checked.o_owner;

    FOR attempt IN 1..3 LOOP
        result := new_result(now_);
        result.owner_id := p_owner_id;
        BEGIN
            IF p_lookup_key IS NULL THEN
                result := load_by_id(result, me, p_instance_id, COALESCE(p_accept_uninitialized, false),
                                     COALESCE(p_handle_version, -1), p_released_instance_ids, p_released_versions,
                                     clock_offset_);
            ELSE
                result := load_by_key(result, me, p_lookup_key, p_instance_id, COALESCE(p_accept_uninitialized, false),
                                      p_keys_to_associate, p_key_properties, p_released_instance_ids,
                                      p_released_versions, clock_offset_);
            END IF;
            IF result.result_code <> 0 THEN
                RAISE EXCEPTION USING ERRCODE = 'DUR00';  -- undo what this attempt wrote
            END IF;
            RETURN result;
        EXCEPTION WHEN SQLSTATE 'DUR00' THEN
            IF result.result_code <> -1 THEN
                RETURN result;
            END IF;
        END;
    END LOOP;
    RAISE EXCEPTION 'load of % lost a race three times; retry', COALESCE(p_lookup_key, p_instance_id)
        USING ERRCODE = 'serialization_failure';
END
$$;

-- One attempt at a save (the body of SaveInstance), run by save_instance. A refusal returns
-- the result when p_roll_back_refusals is false, which save_instance allows only where every
-- refusal comes before the first write; otherwise it raises DUR00 with the result as the text of
-- its DETAIL, so that the caller's exception block undoes what the attempt wrote.
CREATE OR REPLACE FUNCTION save_attempt(
    p_roll_back_refusals boolean,
    me lock_owners_table,
    p_now timestamptz,
    clock_offset_ interval,
    p_owner_id uuid,
    p_instance_id uuid,
    p_handle_version bigint,
    p_has_data boolean,
    p_primitive_data_properties bytea,
    p_complex_data_properties bytea,
    p_write_only_primitive_data_properties bytea,
    p_write_only_complex_data_properties bytea,
    p_metadata_is_consistent boolean,
    p_metadata_properties bytea,
    p_pending_timer_microseconds bigint,
    p_is_ready_to_run boolean,
    p_execution_status text,
    p_blocking_bookmarks text,
    p_suspension_state_change integer,
    p_suspension_reason text,
    p_suspension_exception_name text,
    p_workflow_host_type_namespace text,
    p_workflow_host_type_name text,
    p_identity_name text,
    p_identity_package text,
    p_identity_major bigint,
    p_identity_minor bigint,
    p_identity_build bigint,
    p_identity_revision bigint,
    p_keys_to_associate uuid[],
    p_key_properties bytea[],
    p_keys_to_complete uuid[],
    p_keys_to_free uuid[],
    p_unlock_instance boolean,
    p_complete_instance boolean,
    p_promoted_properties jsonb,
    p_released_instance_ids uuid[],
    p_released_versions bigint[],
    p_command_id uuid)
RETURNS command_result
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    now_ timestamptz := p_now;
    result command_result;
    has_data constant boolean := COALESCE(p_has_data, false);
    consistent constant boolean := COALESCE(p_metadata_is_consistent, false);
    completing constant boolean := COALESCE(p_complete_instance, false);
    unlocking constant boolean := COALESCE(p_unlock_instance, false);
    releasing constant boolean := unlocking OR completing;
    suspension constant integer := COALESCE(p_suspension_state_change, 0);
    handle_version constant bigint := COALESCE(p_handle_version, -1);
    changes_keys constant boolean := COALESCE(cardinality(p_keys_to_associate), 0) > 0
                                     OR COALESCE(cardinality(p_keys_to_complete), 0) > 0
                                     OR COALESCE(cardinality(p_keys_to_free), 0) > 0;
    deleting constant boolean := completing AND me.deletes_instances_on_completion;
    bound_fast_path constant boolean := handle_version >= 0 AND NOT deleting;
    identity_sid bigint;
    locked record;
    sid bigint;
    created boolean := false;
    fresh instances_table;
    saved record;
BEGIN
    result := new_result(now_);
    result.owner_id := p_owner_id;
    result.instance_id := p_instance_id;
    IF NOT bound_fast_path THEN
        -- A retry of a save that was applied already: report it as it stands.
        IF p_command_id IS NOT NULL THEN
            IF EXISTS (SELECT 1 FROM instances_table i
                        WHERE i.id = p_instance_id AND i.last_save_command_id = p_command_id) THEN
                RETURN save_applied_already(result, p_instance_id, me.surrogate_lock_owner_id, releasing,
                                            consistent);
            END IF;
        END IF;
        SELECT * INTO locked FROM lock_instance(me.surrogate_lock_owner_id, p_instance_id, handle_version,
                                                p_released_instance_ids, p_released_versions, clock_offset_,
                                                result);
        result := locked.io_result;
        IF result.result_code <> 0 THEN
            RETURN refuse(result, p_roll_back_refusals);
        END IF;
        now_ := locked.o_now;
        sid := locked.o_surrogate_instance_id;
        created := sid IS NULL;
        IF deleting THEN
            IF NOT created THEN
                PERFORM delete_instance(sid);
            END IF;
            result.lock_version := -1;
            result.instance_state := 3;
            result.key_ids := '{}';
            result.key_is_associated := '{}';
            result.key_properties := '{}';
            RETURN result;
        END IF;
    ELSE
        result.lock_version := handle_version;
    END IF;
    -- Inside the block: a new identity row is undone with the rest of a refused save.
    IF p_identity_name IS NOT NULL THEN
        identity_sid := definition_identity_id(p_identity_name, p_identity_package, p_identity_major,
                                               p_identity_minor, p_identity_build, p_identity_revision);
    END IF;

    IF created THEN
        -- A new instance is written whole by one INSERT.
        fresh.id := p_instance_id;
        fresh.surrogate_lock_owner_id := CASE WHEN releasing THEN NULL ELSE me.surrogate_lock_owner_id END;
        IF has_data THEN
            fresh.primitive_data_properties := p_primitive_data_properties;
            fresh.complex_data_properties := p_complex_data_properties;
            fresh.write_only_primitive_data_properties := p_write_only_primitive_data_properties;
            fresh.write_only_complex_data_properties := p_write_only_complex_data_properties;
            fresh.is_initialized := true;
            fresh.pending_timer := time_after(now_, p_pending_timer_microseconds);
            fresh.is_ready_to_run := COALESCE(p_is_ready_to_run, false);
            fresh.execution_status := p_execution_status;
            fresh.blocking_bookmarks := p_blocking_bookmarks;
            fresh.last_machine_run_on := me.machine_name;
        END IF;
        IF consistent THEN
            fresh.metadata_properties := p_metadata_properties;
        END IF;
        fresh.creation_time := now_;
        fresh.last_updated := now_;
        IF p_workflow_host_type_name IS NOT NULL THEN
            fresh.workflow_host_type_namespace := p_workflow_host_type_namespace;
            fresh.workflow_host_type_name := p_workflow_host_type_name;
        ELSE
            fresh.workflow_host_type_namespace := me.workflow_host_type_namespace;
            fresh.workflow_host_type_name := me.workflow_host_type_name;
        END IF;
        fresh.is_suspended := suspension = 1;
        IF suspension = 1 THEN
            fresh.suspension_reason := p_suspension_reason;
            fresh.suspension_exception_name := p_suspension_exception_name;
        END IF;
        fresh.is_completed := completing;
        fresh.surrogate_identity_id := COALESCE(identity_sid, 0);
        fresh.last_save_command_id := p_command_id;
        sid := create_instance(fresh, me.surrogate_lock_owner_id, clock_offset_);
        IF sid IS NULL THEN
            IF lease_is_live(me.surrogate_lock_owner_id, clock_offset_) THEN
                result := failed(result, -1, 'another session created the instance first');
            ELSE
                result := failed(result, 11, 'the lease of this owner ran out before the save was written');
            END IF;
            RETURN refuse(result, p_roll_back_refusals);
        END IF;
        result.lock_version := 1;
        SELECT fresh.is_suspended, fresh.is_ready_to_run, fresh.pending_timer,
               fresh.workflow_host_type_namespace, fresh.workflow_host_type_name,
               fresh.service_deployment_id, COALESCE(identity_sid, 0) AS surrogate_identity_id,
               COALESCE(fresh.is_initialized, false) AS is_initialized
          INTO saved;
    ELSE
        UPDATE instances_table i SET
            primitive_data_properties = CASE WHEN has_data THEN p_primitive_data_properties
                                             ELSE i.primitive_data_properties END,
            complex_data_properties = CASE WHEN has_data THEN p_complex_data_properties
                                           ELSE i.complex_data_properties END,
            write_only_primitive_data_properties = CASE WHEN has_data THEN p_write_only_primitive_data_properties
                                                        ELSE i.write_only_primitive_data_properties END,
            write_only_complex_data_properties = CASE WHEN has_data THEN p_write_only_complex_data_properties
                                                      ELSE i.write_only_complex_data_properties END,
            is_initialized = i.is_initialized OR has_data,
            pending_timer = CASE WHEN has_data THEN time_after(now_, p_pending_timer_microseconds)
                                 ELSE i.pending_timer END,
            is_ready_to_run = CASE WHEN has_data THEN COALESCE(p_is_ready_to_run, false) ELSE i.is_ready_to_run END,
            execution_status = CASE WHEN has_data THEN p_execution_status ELSE i.execution_status END,
            blocking_bookmarks = CASE WHEN has_data THEN p_blocking_bookmarks ELSE i.blocking_bookmarks END,
            last_machine_run_on = CASE WHEN has_data THEN me.machine_name ELSE i.last_machine_run_on END,
            is_suspended = CASE suspension WHEN 1 THEN true WHEN 2 THEN false ELSE i.is_suspended END,
            suspension_reason = CASE suspension WHEN 1 THEN p_suspension_reason WHEN 2 THEN NULL
                                     ELSE i.suspension_reason END,
            suspension_exception_name = CASE suspension WHEN 1 THEN p_suspension_exception_name WHEN 2 THEN NULL
                                             ELSE i.suspension_exception_name END,
            workflow_host_type_namespace = CASE
                WHEN p_workflow_host_type_name IS NOT NULL THEN p_workflow_host_type_namespace
                WHEN i.workflow_host_type_name IS NOT NULL THEN i.workflow_host_type_namespace
                ELSE me.workflow_host_type_namespace END,
            workflow_host_type_name = COALESCE(p_workflow_host_type_name, i.workflow_host_type_name,
                                               me.workflow_host_type_name),
            surrogate_identity_id = COALESCE(identity_sid, i.surrogate_identity_id),
            metadata_properties = CASE WHEN consistent THEN p_metadata_properties ELSE i.metadata_properties END,
            is_completed = completing,
            surrogate_lock_owner_id = CASE WHEN releasing THEN NULL ELSE me.surrogate_lock_owner_id END,
            last_updated = now_,
            last_save_command_id = p_command_id
         WHERE i.id = p_instance_id
           -- the fence: the lock this save holds, at this version, under a lease live now
           AND i.version = result.lock_version
           AND i.surrogate_lock_owner_id = me.surrogate_lock_owner_id
           AND NOT i.is_completed
           AND (p_command_id IS NULL OR i.last_save_command_id IS DISTINCT FROM p_command_id)
           AND EXISTS (SELECT 1 FROM lock_owners_table o
                        WHERE o.surrogate_lock_owner_id = me.surrogate_lock_owner_id
                          AND o.lock_expiration > clock_timestamp() + clock_offset_)
        RETURNING i.surrogate_instance_id, i.is_suspended, i.is_ready_to_run, i.pending_timer,
                  i.workflow_host_type_namespace, i.workflow_host_type_name, i.service_deployment_id,
                  i.surrogate_identity_id, i.is_initialized
             INTO saved;
        IF NOT FOUND THEN
            -- Say why the fence held.
            IF bound_fast_path THEN
                IF p_command_id IS NOT NULL THEN
                    IF EXISTS (SELECT 1 FROM instances_table i
                                WHERE i.id = p_instance_id AND i.last_save_command_id = p_command_id) THEN
                        RETURN save_applied_already(result, p_instance_id, me.surrogate_lock_owner_id,
                                                    releasing, consistent);
                    END IF;
                END IF;
                SELECT * INTO locked FROM lock_instance(me.surrogate_lock_owner_id, p_instance_id, handle_version,
                                                        NULL, NULL, clock_offset_, result);
                result := locked.io_result;
            END IF;
            IF result.result_code = 0 THEN
                result := failed(result, 11, 'the lease of this owner ran out before the save was written');
            END IF;
            RETURN refuse(result, p_roll_back_refusals);
        END IF;
        sid := saved.surrogate_instance_id;
    END IF;

    IF COALESCE(cardinality(p_keys_to_associate), 0) > 0 THEN
        result := associate_keys(result, sid, p_keys_to_associate, p_key_properties);
        IF result.result_code <> 0 THEN
            RETURN refuse(result, p_roll_back_refusals);
        END IF;
    END IF;
    IF COALESCE(cardinality(p_keys_to_complete), 0) > 0 THEN
        result := complete_keys(result, sid, p_keys_to_complete);
        IF result.result_code <> 0 THEN
            RETURN refuse(result, p_roll_back_refusals);
        END IF;
    END IF;
    IF COALESCE(cardinality(p_keys_to_free), 0) > 0 THEN
        result := free_keys(result, sid, p_keys_to_free);
        IF result.result_code <> 0 THEN
            RETURN refuse(result, p_roll_back_refusals);
        END IF;
    END IF;

    IF has_data AND p_promoted_properties IS NOT NULL THEN
        IF NOT created THEN
            DELETE FROM instance_promoted_properties_table p WHERE p.surrogate_instance_id = sid;
        END IF;
        -- A store without promotions sends [] on every save: no call for nothing to insert.
        IF p_promoted_properties IS DISTINCT FROM '[]'::jsonb THEN
            PERFORM insert_promoted_properties(sid, p_promoted_properties);
        END IF;
    END IF;

    IF consistent THEN
        IF NOT created THEN
            DELETE FROM instance_metadata_changes_table c WHERE c.surrogate_instance_id = sid;
        END IF;
    ELSIF p_metadata_properties IS NOT NULL THEN
        INSERT INTO instance_metadata_changes_table (surrogate_instance_id, change)
             VALUES (sid, p_metadata_properties);
    END IF;

    IF unlocking AND NOT completing THEN
        PERFORM insert_runnable_instance_entry(
            sid, saved.workflow_host_type_namespace, saved.workflow_host_type_name, saved.service_deployment_id,
            saved.is_suspended, saved.is_ready_to_run, saved.pending_timer, saved.surrogate_identity_id, now_);
    END IF;

    IF releasing THEN
        result.lock_version := -1;
    END IF;
    result.instance_state := CASE WHEN completing THEN 3 WHEN saved.is_initialized THEN 2 ELSE 1 END;
    IF handle_version < 0 OR changes_keys THEN
        result := fill_keys(result, sid);
    END IF;
    IF NOT consistent AND (handle_version < 0 OR p_metadata_properties IS NOT NULL) THEN
        result := fill_metadata(result, sid);
    END IF;
    RETURN result;
END
$$;

-- Hands a refused attempt's result back (see save_attempt).
CREATE OR REPLACE FUNCTION refuse(p_result command_result, p_roll_back boolean)
RETURNS command_result
LANGUAGE plpgsql
AS $$
BEGIN
    IF p_roll_back THEN
        RAISE EXCEPTION 'save refused' USING ERRCODE = 'DUR00', DETAIL = p_result::text;
    END IF;
    RETURN p_result;
END
$$;

-- SaveInstance (save_workflow): locks (creating if need be) and writes the instance.
--
-- Lock: p_handle_version >= 0 is the lock the handle holds: the save is then one UPDATE whose
--   WHERE clause is the fence (this version, this holder, not completed, this owner's lease live
--   at that moment); only when it matches nothing is the cause looked up (6, 7, 10, 11).
--   -1 takes the lock as a load would (2, 103 with p_released_*), or creates the instance.
-- Completion: with p_complete_instance and an owner whose completion action deletes, the
--   instance and its keys are deleted and nothing else is written.
-- Data (p_has_data): the four blobs replace the old ones (NULL = that part is empty), the
--   instance becomes initialized, and the timer (microseconds from now, saturating; NULL none),
--   ready-to-run flag, status, bookmarks and machine are set. Without data they stay as they are.
-- Metadata: p_metadata_is_consistent true: p_metadata_properties is the whole new metadata bag
--   (NULL = none); it replaces the stored bag and its pending changes. False: it is a change
--   bag (NULL = no change) appended to the instance's changes.
-- Host type: given, else the instance's, else the saving owner's. Identity: given (name not
--   NULL), else kept. Keys: associated (3), completed (4), freed (4), in that order.
-- Promoted values (p_promoted_properties, see insert_promoted_properties): on a save with data
--   they replace the instance's; NULL leaves them alone (a store that promotes nothing).
-- Unlock / complete release the lock (lock_version -1); an unlock queues a due instance.
-- p_command_id: a save retried after its commit was in doubt is recognised by this id and
--   reported as applied, never applied twice (a completing save that deleted the instance
--   cannot be recognised: the retry reports 6).
-- Reported back: the lock version and state always; the keys (key_* arrays) only when the handle
-- was unbound or the save changed keys; the stored metadata (metadata_properties and
-- metadata_changes) only when the handle was unbound or a change bag was appended. A NULL
-- key_ids / metadata_changes means "not reported: what the handle had still holds".
CREATE OR REPLACE FUNCTION save_instance(
    p_owner_id uuid,
    p_instance_id uuid,
    p_handle_version bigint DEFAULT -1,
    p_has_data boolean DEFAULT false,
    p_primitive_data_properties bytea DEFAULT NULL,
    p_complex_data_properties bytea DEFAULT NULL,
    p_write_only_primitive_data_properties bytea DEFAULT NULL,
    p_write_only_complex_data_properties bytea DEFAULT NULL,
    p_metadata_is_consistent boolean DEFAULT false,
    p_metadata_properties bytea DEFAULT NULL,
    p_pending_timer_microseconds bigint DEFAULT NULL,
    p_is_ready_to_run boolean DEFAULT false,
    p_execution_status text DEFAULT NULL,
    p_blocking_bookmarks text DEFAULT NULL,
    p_suspension_state_change integer DEFAULT 0,
    p_suspension_reason text DEFAULT NULL,
    p_suspension_exception_name text DEFAULT NULL,
    p_workflow_host_type_namespace text DEFAULT NULL,
    p_workflow_host_type_name text DEFAULT NULL,
    p_identity_name text DEFAULT NULL,
    p_identity_package text DEFAULT NULL,
    p_identity_major bigint DEFAULT NULL,
    p_identity_minor bigint DEFAULT NULL,
    p_identity_build bigint DEFAULT NULL,
    p_identity_revision bigint DEFAULT NULL,
    p_keys_to_associate uuid[] DEFAULT NULL,
    p_key_properties bytea[] DEFAULT NULL,
    p_keys_to_complete uuid[] DEFAULT NULL,
    p_keys_to_free uuid[] DEFAULT NULL,
    p_unlock_instance boolean DEFAULT false,
    p_complete_instance boolean DEFAULT false,
    p_promoted_properties jsonb DEFAULT NULL,
    p_released_instance_ids uuid[] DEFAULT NULL,
    p_released_versions bigint[] DEFAULT NULL,
    p_command_id uuid DEFAULT NULL)
RETURNS command_result
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = durable_instancing, pg_temp
AS $$
DECLARE
    clock_offset_ constant interval := store_clock_offset();
    now_ timestamptz := clock_timestamp() + clock_offset_;
    result command_result;
    me lock_owners_table;
    checked record;
    suspension constant integer := COALESCE(p_suspension_state_change, 0);
    handle_version constant bigint := COALESCE(p_handle_version, -1);
    changes_keys constant boolean := COALESCE(cardinality(p_keys_to_associate), 0) > 0
                                     OR COALESCE(cardinality(p_keys_to_complete), 0) > 0
                                     OR COALESCE(cardinality(p_keys_to_free), 0) > 0;
    refusal text;
BEGIN
    IF p_owner_id IS NULL OR p_instance_id IS NULL THEN
        PERFORM invalid_argument('a save needs the owner id and the instance id');
    END IF;
    IF suspension NOT IN (0, 1, 2) THEN
        PERFORM invalid_argument('the suspension state change is 0 (none), 1 (suspend) or 2 (unsuspend)');
    END IF;
    IF (p_workflow_host_type_namespace IS NULL) <> (p_workflow_host_type_name IS NULL) THEN
        PERFORM invalid_argument('a host type has both a namespace (may be empty) and a name, or neither');
    END IF;
    IF p_key_properties IS NOT NULL AND cardinality(p_key_properties) <> COALESCE(cardinality(p_keys_to_associate), 0) THEN
        PERFORM invalid_argument('p_key_properties must have one element per key to associate');
    END IF;
    IF COALESCE(cardinality(p_released_instance_ids), 0) <> COALESCE(cardinality(p_released_versions), 0) THEN
        PERFORM invalid_argument('p_released_instance_ids and p_released_versions must have the same length');
    END IF;

    result := new_result(now_);
    result.owner_id := p_owner_id;
    result.instance_id := p_instance_id;
    IF NOT try_enter_store() THEN
        RETURN failed(result, 13, 'the store is under maintenance');
    END IF;
    checked := live_owner(p_owner_id, now_, result);
    IF (checked.io_result).result_code <> 0 THEN
        RETURN checked.io_result;
    END IF;
    me := checked.o_owner;

    -- A save through a lock the handle holds, touching no keys and no identity, is refused only
    -- before it writes anything (by the fenced UPDATE, which then writes nothing, or, when it
    -- deletes the instance at completion, by lock_instance confirming the lock): it needs no
    -- subtransaction. That is most saves; a subtransaction costs a second transaction id each.
    IF handle_version >= 0 AND NOT changes_keys AND p_identity_name IS NULL THEN
        RETURN save_attempt(false, me, now_, clock_offset_,
            p_owner_id, p_instance_id, p_handle_version, p_has_data, p_primitive_data_properties,
            p_complex_data_properties, p_write_only_primitive_data_properties,
            p_write_only_complex_data_properties, p_metadata_is_consistent, p_metadata_properties,
            p_pending_timer_microseconds, p_is_ready_to_run, p_execution_status, p_blocking_bookmarks,
            p_suspension_state_change, p_suspension_reason, p_suspension_exception_name,
            p_workflow_host_type_namespace, p_workflow_host_type_name, p_identity_name,
            p_identity_package, p_identity_major, p_identity_minor, p_identity_build,
            p_identity_revision, p_keys_to_associate, p_key_properties, p_keys_to_complete,
            p_keys_to_free, p_unlock_instance, p_complete_instance, p_promoted_properties,
            p_released_instance_ids, p_released_versions, p_command_id);
    END IF;

    FOR attempt IN 1..3 LOOP
        BEGIN
            RETURN save_attempt(true, me, now_, clock_offset_,
                p_owner_id, p_instance_id, p_handle_version, p_has_data, p_primitive_data_properties,
                p_complex_data_properties, p_write_only_primitive_data_properties,
                p_write_only_complex_data_properties, p_metadata_is_consistent, p_metadata_properties,
                p_pending_timer_microseconds, p_is_ready_to_run, p_execution_status,
                p_blocking_bookmarks, p_suspension_state_change, p_suspension_reason,
                p_suspension_exception_name, p_workflow_host_type_namespace, p_workflow_host_type_name,
                p_identity_name, p_identity_package, p_identity_major, p_identity_minor,
                p_identity_build, p_identity_revision, p_keys_to_associate, p_key_properties,
                p_keys_to_complete, p_keys_to_free, p_unlock_instance, p_complete_instance,
                p_promoted_properties, p_released_instance_ids, p_released_versions, p_command_id);
        EXCEPTION WHEN SQLSTATE 'DUR00' THEN
            GET STACKED DIAGNOSTICS refusal = PG_EXCEPTION_DETAIL;
            result := refusal::command_result;
            IF result.result_code <> -1 THEN  -- -1: lost a race to create it; try again
                RETURN result;
            END IF;
        END;
    END LOOP;
    RAISE EXCEPTION 'save of instance % lost a race three times; retry', p_instance_id
        USING ERRCODE = 'serialization_failure';
END
$$;

-- TryLoadRunnableInstance (try_load_runnable_workflow): locks and loads the earliest due
-- runnable instance of the owner's host type that its identity filter allows. Candidates
-- another host is locking right now are skipped (FOR UPDATE SKIP LOCKED), so hosts drain the
-- queue in parallel without waiting on each other. Finding none is success with instance_id
-- NULL. 100 (invalid_command) when the owner has no host type.
CREATE OR REPLACE FUNCTION try_load_runnable_instance(
    p_owner_id uuid,
    p_released_instance_ids uuid[] DEFAULT NULL,
    p_released_versions bigint[] DEFAULT NULL)
RETURNS command_result
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = durable_instancing, pg_temp
AS $$
DECLARE
    clock_offset_ constant interval := store_clock_offset();
    now_ timestamptz := clock_timestamp() + clock_offset_;
    result command_result := new_result(now_);
    me lock_owners_table;
    checked record;
    allowed bigint[];
    candidate record;
BEGIN
    IF COALESCE(cardinality(p_released_instance_ids), 0) <> COALESCE(cardinality(p_released_versions), 0) THEN
        PERFORM invalid_argument('p_released_instance_ids and p_released_versions must have the same length');
    END IF;
    result.owner_id := p_owner_id;
    checked := live_owner(p_owner_id, now_, result);
    IF (checked.io_result).result_code <> 0 THEN
        RETURN checked.io_result;
    END IF;
    me := checked.o_owner;
    IF me.workflow_host_type_name IS NULL THEN
        RETURN failed(result, 100, 'try_load_runnable_workflow requires an owner created with a workflow host type');
    END IF;
    allowed := runnable_identities(me.surrogate_lock_owner_id, me.workflow_identity_filter);

    FOR attempt IN 1..100 LOOP
        now_ := clock_timestamp() + clock_offset_;
        SELECT i.id, i.surrogate_instance_id INTO candidate
          FROM runnable_instances_table r
          JOIN instances_table i ON i.surrogate_instance_id = r.surrogate_instance_id
         WHERE r.workflow_host_type_name = me.workflow_host_type_name
           AND r.workflow_host_type_namespace = me.workflow_host_type_namespace
           AND r.runnable_time <= now_
           AND (allowed IS NULL OR r.surrogate_identity_id = ANY (allowed))
         ORDER BY r.runnable_time
         LIMIT 1
           -- The queue row too: one another host is taking is skipped at once, and one it took
           -- (deleted) since this statement's snapshot drops out here, instead of being picked,
           -- found gone and retried by every caller racing for the head of the queue.
           FOR UPDATE OF r SKIP LOCKED
           FOR NO KEY UPDATE OF i SKIP LOCKED;
        IF NOT FOUND THEN
            result := new_result(now_);
            result.owner_id := p_owner_id;
            RETURN result;
        END IF;
        -- Another host may have taken it between this statement's snapshot and the row lock.
        CONTINUE WHEN NOT EXISTS (SELECT 1 FROM runnable_instances_table r
                                   WHERE r.surrogate_instance_id = candidate.surrogate_instance_id);
        result := new_result(now_);
        result.owner_id := p_owner_id;
        BEGIN
            result := load_by_id(result, me, candidate.id, false, -1, p_released_instance_ids, p_released_versions,
                                 clock_offset_);
            IF result.result_code <> 0 THEN
                RAISE EXCEPTION USING ERRCODE = 'DUR00';
            END IF;
            RETURN result;
        EXCEPTION WHEN SQLSTATE 'DUR00' THEN
            IF result.result_code <> -1 THEN
                RETURN result;
            END IF;
        END;
    END LOOP;
    result := new_result(clock_timestamp() + clock_offset_);
    result.owner_id := p_owner_id;
    RETURN result;
END
$$;

-- DetectRunnableInstances: the earliest runnable time among the instances this owner could
-- pick (next_runnable_time, maybe in the future, 'infinity' for a timer that never fires, NULL
-- when there are none or the owner has no host type) and the store clock (store_time) to
-- compare it with.
CREATE OR REPLACE FUNCTION detect_runnable_instances(p_owner_id uuid)
RETURNS command_result
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = durable_instancing, pg_temp
AS $$
DECLARE
    now_ timestamptz := store_now();
    result command_result := new_result(now_);
    me lock_owners_table;
    checked record;
    allowed bigint[];
BEGIN
    result.owner_id := p_owner_id;
    checked := live_owner(p_owner_id, now_, result);
    IF (checked.io_result).result_code <> 0 THEN
        RETURN checked.io_result;
    END IF;
    me := checked.o_owner;
    IF me.workflow_host_type_name IS NULL THEN
        RETURN result;
    END IF;
    allowed := runnable_identities(me.surrogate_lock_owner_id, me.workflow_identity_filter);
    SELECT min(r.runnable_time) INTO result.next_runnable_time
      FROM runnable_instances_table r
     WHERE r.workflow_host_type_name = me.workflow_host_type_name
       AND r.workflow_host_type_namespace = me.workflow_host_type_namespace
       AND (allowed IS NULL OR r.surrogate_identity_id = ANY (allowed));
    RETURN result;
END
$$;

-- GetActivatableWorkflowsActivationParameters (query_activatable_workflows): host types that
-- have due runnable instances but no live owner of that type on the requesting owner's machine,
-- with how many are due; for an activation service to start hosts.
CREATE OR REPLACE FUNCTION get_activatable_workflows(p_owner_id uuid)
RETURNS command_result
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = durable_instancing, pg_temp
AS $$
DECLARE
    now_ timestamptz := store_now();
    result command_result := new_result(now_);
    me lock_owners_table;
    checked record;
BEGIN
    result.owner_id := p_owner_id;
    checked := live_owner(p_owner_id, now_, result);
    IF (checked.io_result).result_code <> 0 THEN
        RETURN checked.io_result;
    END IF;
    me := checked.o_owner;
    SELECT array_agg(d.namespace ORDER BY d.namespace COLLATE "C", d.name COLLATE "C"),
           array_agg(d.name ORDER BY d.namespace COLLATE "C", d.name COLLATE "C"),
           array_agg(d.instances ORDER BY d.namespace COLLATE "C", d.name COLLATE "C")
      INTO result.activatable_host_type_namespaces, result.activatable_host_type_names,
           result.activatable_runnable_counts
      FROM (SELECT r.workflow_host_type_namespace AS namespace, r.workflow_host_type_name AS name,
                   count(*) AS instances
              FROM runnable_instances_table r
             WHERE r.workflow_host_type_name IS NOT NULL
               AND r.runnable_time <= now_
               AND NOT EXISTS (SELECT 1 FROM lock_owners_table o
                                WHERE o.lock_expiration > now_
                                  AND o.machine_name = me.machine_name
                                  AND o.workflow_host_type_name = r.workflow_host_type_name
                                  AND o.workflow_host_type_namespace = r.workflow_host_type_namespace)
             GROUP BY 1, 2) d;
    RETURN result;
END
$$;

-- read_promoted_properties (query_promoted_properties): the promoted values that the instance's
-- last save with data stored, one row per value, ordered by promotion (bytewise) and position.
-- Unlike the other command functions it returns rows of its own shape, not a command_result:
-- every row carries result_code 0; an owner check that fails (12, 11) comes back as one row
-- with that code and its message and every value column NULL. No rows: the instance has no
-- promoted values (or does not exist). The value columns are the table's, typed.
CREATE OR REPLACE FUNCTION read_promoted_properties(p_owner_id uuid, p_instance_id uuid)
RETURNS TABLE (result_code integer, message text, promotion_name text, value_position smallint,
               property_namespace text, property_name text, value_kind smallint, boolean_value boolean,
               int64_value bigint, real_value double precision, string_value text, binary_value bytea,
               uuid_value uuid, timestamp_value timestamptz, duration_microseconds bigint,
               name_namespace text, content_type text)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = durable_instancing, pg_temp
AS $$
DECLARE
    now_ timestamptz := store_now();
    checked record;
BEGIN
    IF p_owner_id IS NULL OR p_instance_id IS NULL THEN
        PERFORM invalid_argument('reading promoted values needs the owner id and the instance id');
    END IF;
    checked := live_owner(p_owner_id, now_, new_result(now_));
    IF (checked.io_result).result_code <> 0 THEN
        result_code := (checked.io_result).result_code;
        message := (checked.io_result).message;
        RETURN NEXT;
        RETURN;
    END IF;
    RETURN QUERY
        SELECT 0, NULL::text, p.promotion_name, p.value_position, p.property_namespace, p.property_name,
               p.value_kind, p.boolean_value, p.int64_value, p.real_value, p.string_value, p.binary_value,
               p.uuid_value, p.timestamp_value, p.duration_microseconds, p.name_namespace, p.content_type
          FROM instance_promoted_properties_table p
          JOIN instances_table i ON i.surrogate_instance_id = p.surrogate_instance_id
         WHERE i.id = p_instance_id
         ORDER BY p.promotion_name COLLATE "C", p.value_position;
END
$$;

-- =============================================================================================
-- The public views' INSTEAD OF DELETE triggers (reference 3.4)
-- =============================================================================================

-- Deleting from instances removes the instances and all that hangs off them. The original's
-- last-resort admin tool: a host holding such an instance finds it gone (6) at its next save.
CREATE OR REPLACE FUNCTION delete_instance_trigger()
RETURNS trigger
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = durable_instancing, pg_temp
AS $$
BEGIN
    DELETE FROM instances_table i WHERE i.id = OLD.instance_id;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    RETURN OLD;
END
$$;
CREATE OR REPLACE TRIGGER delete_instance_trigger
    INSTEAD OF DELETE ON instances
    FOR EACH ROW EXECUTE FUNCTION delete_instance_trigger();

-- Deleting from service_deployments removes deployments no instance uses. As in the original it
-- takes the maintenance lock exclusively (waiting up to 25 s for running commands to finish),
-- so commands that need the store report 13 meanwhile rather than see a half-deleted deployment.
CREATE OR REPLACE FUNCTION delete_service_deployment_trigger()
RETURNS trigger
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = durable_instancing, pg_temp
AS $$
DECLARE
    previous_timeout constant text := current_setting('lock_timeout');
BEGIN
    PERFORM set_config('lock_timeout', '25s', true);
    PERFORM pg_advisory_xact_lock(hashtext('durable_instancing maintenance')::bigint);
    PERFORM set_config('lock_timeout', previous_timeout, true);
    DELETE FROM service_deployments_table s
     WHERE s.id = OLD.service_deployment_id
       AND NOT EXISTS (SELECT 1 FROM instances_table i WHERE i.service_deployment_id = s.id);
    IF NOT FOUND THEN
        RETURN NULL;  -- still in use (or gone): not deleted
    END IF;
    RETURN OLD;
END
$$;
CREATE OR REPLACE TRIGGER delete_service_deployment_trigger
    INSTEAD OF DELETE ON service_deployments
    FOR EACH ROW EXECUTE FUNCTION delete_service_deployment_trigger();

-- Deleting from instance_promoted_properties removes that promoted value (the next save with
-- data writes the instance's promoted values anew).
CREATE OR REPLACE FUNCTION delete_promoted_property_trigger()
RETURNS trigger
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = durable_instancing, pg_temp
AS $$
BEGIN
    DELETE FROM instance_promoted_properties_table p
     USING instances_table i
     WHERE i.id = OLD.instance_id
       AND p.surrogate_instance_id = i.surrogate_instance_id
       AND p.promotion_name = OLD.promotion_name
       AND p.value_position = OLD.value_position;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    RETURN OLD;
END
$$;
CREATE OR REPLACE TRIGGER delete_promoted_property_trigger
    INSTEAD OF DELETE ON instance_promoted_properties
    FOR EACH ROW EXECUTE FUNCTION delete_promoted_property_trigger();

-- =============================================================================================
-- Grants: the command functions only, per role (reference 3.1); nothing to PUBLIC
-- =============================================================================================
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA durable_instancing FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA durable_instancing
    FROM durable_store_users, durable_activation_users, durable_observers;

GRANT EXECUTE ON FUNCTION
    create_lock_owner, delete_lock_owner, extend_lock, recover_instance_locks, unlock_instance,
    load_instance, save_instance, try_load_runnable_instance, detect_runnable_instances,
    get_activatable_workflows, read_promoted_properties, get_store_version
    TO durable_store_users;

-- An activation service registers an owner, keeps its lease and asks what to activate; it never
-- loads or saves instances.
GRANT EXECUTE ON FUNCTION
    create_lock_owner, delete_lock_owner, extend_lock, recover_instance_locks, detect_runnable_instances,
    get_activatable_workflows, get_store_version
    TO durable_activation_users;

COMMIT;
