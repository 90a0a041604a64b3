#!/usr/bin/env bash
# The DBA's install check, with psql alone: applies the bundled SQL to a fresh database as a role
# that is not a superuser but owns the database, applies it again (must change nothing), drives
# the store through its functions as hosts would (owners, save, load by id and by key with the
# bytes compared, lock rules, released locks, fencing after a lease runs out, timers on the store
# clock, NOTIFY, completion, maintenance), checks the three roles' privileges, and drops it all.
#
#     eval "$(tests/pg/start_cluster.sh)"; tests/pg/psql_install_test.sh; tests/pg/stop_cluster.sh
#
# Connection: the PG* variables (PGHOST, PGPORT, PGUSER, PGDATABASE) of a SUPERUSER connection to
# a running PostgreSQL 15 or later. The test creates its own roles (with passwords, so password
# authentication works too) and database, with unique names, and removes them on exit, also on
# failure. If the store's three group roles exist before the test, they are used and kept.
# Exits 0 when everything matches; otherwise non-zero, naming the first mismatch.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
scripts=$(cd "$here/../../sql/scripts" && pwd)

die() { echo "psql_install_test: FAILED: $*" >&2; exit 1; }
step() { echo "psql_install_test: $*" >&2; }

for var in PGHOST PGPORT PGUSER PGDATABASE; do
    [[ -n ${!var:-} ]] || die "$var is not set: give the PG* settings of a superuser connection (tests/pg/start_cluster.sh prints them)"
done
command -v psql >/dev/null || die "psql is missing: apt-get install -y postgresql-client-15"
command -v pg_dump >/dev/null || die "pg_dump is missing: apt-get install -y postgresql-client-15"

suffix="$$_${RANDOM}"
db=durable_install_$suffix
installer=durable_installer_$suffix
host_login=durable_host_$suffix
observer_login=durable_observer_$suffix
activation_login=durable_activation_$suffix
password=$(head -c 16 /dev/urandom | od -An -v -tx1 | tr -d ' \n')
work=$(mktemp -d)
group_roles=(durable_store_users durable_activation_users durable_observers)

# ---- connections -------------------------------------------------------------------------
# super: the superuser, on the maintenance database or (-d) another.
super() { psql -X -q -v ON_ERROR_STOP=1 -At "$@"; }
# as ROLE: that role on the test database; SQL on stdin or in -c/-f; unaligned, '|' between fields.
as() {
    local role=$1
    shift
    PGPASSWORD=$password psql -X -q -v ON_ERROR_STOP=1 -At -F '|' -U "$role" -d "$db" "$@"
}
# run ROLE SQL [psql args]: SQL through stdin, where psql interpolates the :'variables' of
# the vars array (it does not in -c).
run() {
    local role=$1 sql=$2
    shift 2
    printf '%s\n' "$sql" | as "$role" "${vars[@]}" "$@"
}
# expect WHAT ACTUAL EXPECTED
expect() {
    [[ $2 == "$3" ]] || die "$1: expected [$3], got [$2]"
}
# expect_failure WHAT PATTERN ROLE ARGS...: the psql run must fail with PATTERN in its messages.
expect_failure() {
    local what=$1 pattern=$2 role=$3
    shift 3
    local out
    if out=$(as "$role" "$@" 2>&1); then
        die "$what: succeeded, but should have failed with \"$pattern\" (output: $out)"
    fi
    grep -q -- "$pattern" <<<"$out" || die "$what: failed, but not with \"$pattern\": $out"
}

group_roles_existed=$(super -c "SELECT count(*) FROM pg_roles WHERE rolname IN ('durable_store_users', 'durable_activation_users', 'durable_observers')")

cleanup() {
    local status=$?
    set +e
    super -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1
    for role in "$host_login" "$observer_login" "$activation_login" "$installer"; do
        super -c "DROP ROLE IF EXISTS $role" >/dev/null 2>&1
    done
    if [[ $group_roles_existed == 0 ]]; then
        for role in "${group_roles[@]}"; do super -c "DROP ROLE IF EXISTS $role" >/dev/null 2>&1; done
    fi
    rm -rf "$work"
    [[ $status == 0 ]] && step "passed" || step "cleaned up after the failure"
}
trap cleanup EXIT
# Killed or interrupted: clean up and report a failure (the EXIT trap alone would see status 0).
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

server_version=$(super -c "SHOW server_version_num")
((server_version >= 150000)) || die "the server is version $server_version; the bundled SQL needs PostgreSQL 15 or later"
[[ $(super -c "SELECT rolsuper FROM pg_roles WHERE rolname = current_user") == t ]] ||
    die "PGUSER=$PGUSER is not a superuser: the test creates roles and a database"

# ---- install as the database owner ----------------------------------------------------------
step "creating role $installer (not a superuser) and database $db owned by it"
super -c "CREATE ROLE $installer LOGIN PASSWORD '$password' NOSUPERUSER NOCREATEDB NOCREATEROLE"
super -c "CREATE DATABASE $db OWNER $installer"

if [[ $group_roles_existed == 0 ]]; then
    step "without CREATEROLE the install must stop with a clear error and leave nothing behind"
    expect_failure "schema.sql without CREATEROLE" "may not create roles" "$installer" -f "$scripts/schema.sql"
    expect "schema after the refused install" \
        "$(as "$installer" -c "SELECT to_regnamespace('durable_instancing') IS NULL")" t
    super -c "ALTER ROLE $installer CREATEROLE"
fi

step "applying schema.sql and logic.sql as $installer"
as "$installer" -f "$scripts/schema.sql" -f "$scripts/logic.sql" >"$work/apply1.log" 2>&1 ||
    die "the first apply failed: $(cat "$work/apply1.log")"

snapshot() {
    # Recent pg_dump brackets its output with a random \restrict key: not part of the database.
    pg_dump -d "$db" --schema=durable_instancing | grep -v -E '^\\(un)?restrict ' >"$1"
    super -c "SELECT rolname, rolcanlogin, rolsuper FROM pg_roles WHERE rolname IN ('durable_store_users', 'durable_activation_users', 'durable_observers') ORDER BY 1" >>"$1"
}
snapshot "$work/after_first_apply.sql"

step "applying both scripts again: must succeed and change nothing"
as "$installer" -f "$scripts/schema.sql" -f "$scripts/logic.sql" >"$work/apply2.log" 2>&1 ||
    die "the second apply failed: $(cat "$work/apply2.log")"
snapshot "$work/after_second_apply.sql"
diff -u "$work/after_first_apply.sql" "$work/after_second_apply.sql" >"$work/reapply.diff" ||
    die "applying the scripts again changed the database: $(head -50 "$work/reapply.diff")"

step "a database of another schema version is refused with a message naming both versions"
as "$installer" -c "INSERT INTO durable_instancing.store_version_table (schema_version, description) VALUES (2, 'test: pretend upgrade')"
expect_failure "schema.sql over version 2" "schema version 2, but this schema.sql installs version 1" "$installer" -f "$scripts/schema.sql"
expect_failure "logic.sql over version 2" "schema version 2, but this logic.sql is for version 1" "$installer" -f "$scripts/logic.sql"
as "$installer" -c "DELETE FROM durable_instancing.store_version_table WHERE schema_version = 2"
snapshot "$work/after_refusals.sql"
diff -u "$work/after_first_apply.sql" "$work/after_refusals.sql" >"$work/refusal.diff" ||
    die "a refused apply changed the database: $(head -50 "$work/refusal.diff")"

# ---- logins in the three roles ----------------------------------------------------------------
super -c "CREATE ROLE $host_login LOGIN PASSWORD '$password' IN ROLE durable_store_users"
super -c "CREATE ROLE $observer_login LOGIN PASSWORD '$password' IN ROLE durable_observers"
super -c "CREATE ROLE $activation_login LOGIN PASSWORD '$password' IN ROLE durable_activation_users"

expect "get_store_version" "$(as "$host_login" -c "SELECT durable_instancing.get_store_version()")" 1

# ---- owners, save, load by id and by key ---------------------------------------------------------
step "owners, a save with a key and 4 KB of bytes, loads by id and by key"
lease_10_minutes=600000000
owner_a=$(as "$host_login" -c "SELECT owner_id FROM durable_instancing.create_lock_owner($lease_10_minutes, 'machine-a', 'urn:durable:test', 'Host', '\\xa1a2'::bytea)")
owner_b=$(as "$host_login" -c "SELECT owner_id FROM durable_instancing.create_lock_owner($lease_10_minutes, 'machine-b', 'urn:durable:test', 'Host', '\\xb1'::bytea)")
[[ $owner_a =~ ^[0-9a-f-]{36}$ && $owner_b =~ ^[0-9a-f-]{36}$ ]] || die "create_lock_owner returned [$owner_a] and [$owner_b]"

instance_x=11111111-0000-4000-8000-000000000001
key_k=22222222-0000-4000-8000-000000000001
data="\\x$(head -c 4096 /dev/urandom | od -An -v -tx1 | tr -d ' \n')"  # random bytes: incompressible, all byte values
complex="\\x00ff00ff"
metadata="\\x4d455441"
key_metadata="\\x6b6579"
vars=(-v a="$owner_a" -v b="$owner_b" -v x="$instance_x" -v k="$key_k" -v data="$data" -v complex="$complex"
      -v metadata="$metadata" -v key_metadata="$key_metadata")

expect "create + save with data and a key" "$(as "$host_login" "${vars[@]}" <<'SQL'
SELECT result_code, lock_version, instance_state, key_ids
  FROM durable_instancing.save_instance(:'a', :'x', -1, true, :'data'::bytea, :'complex'::bytea,
       p_metadata_is_consistent => true, p_metadata_properties => :'metadata'::bytea,
       p_keys_to_associate => ARRAY[:'k']::uuid[], p_key_properties => ARRAY[:'key_metadata']::bytea[])
SQL
)" "0|1|2|{$key_k}"
expect "bound save that unlocks" "$(as "$host_login" "${vars[@]}" <<'SQL'
SELECT result_code, lock_version FROM durable_instancing.save_instance(:'a', :'x', 1, p_unlock_instance => true)
SQL
)" "0|-1"
expect "load by id: version bumped, the very bytes back" "$(as "$host_login" "${vars[@]}" <<'SQL'
SELECT result_code, lock_version, instance_state, primitive_data_properties = :'data'::bytea,
       complex_data_properties = :'complex'::bytea, metadata_properties = :'metadata'::bytea,
       metadata_changes = '{}', key_ids, key_is_associated, key_properties[1] = :'key_metadata'::bytea
  FROM durable_instancing.load_instance(:'a', :'x')
SQL
)" "0|2|2|t|t|t|t|{$key_k}|{t}|t"
expect "bound save that unlocks again" "$(as "$host_login" "${vars[@]}" <<'SQL'
SELECT result_code, lock_version FROM durable_instancing.save_instance(:'a', :'x', 2, p_unlock_instance => true)
SQL
)" "0|-1"
expect "load by key: same instance, same bytes" "$(as "$host_login" "${vars[@]}" <<'SQL'
SELECT result_code, instance_id, lock_version, primitive_data_properties = :'data'::bytea, diagnostic_key_id IS NULL
  FROM durable_instancing.load_instance(:'a', p_lookup_key => :'k')
SQL
)" "0|$instance_x|3|t|t"

# ---- lock rules ----------------------------------------------------------------------------
step "lock rules: another owner gets 2 with the holder; the same owner 103 unless released"
expect "another owner loads by id" "$(as "$host_login" "${vars[@]}" <<'SQL'
SELECT result_code, lock_holder_id = :'a', lock_holder_metadata, lock_holder_machine_name
  FROM durable_instancing.load_instance(:'b', :'x')
SQL
)" '2|t|\xa1a2|machine-a'
expect "another owner loads by key" "$(run "$host_login" "SELECT result_code, diagnostic_key_id = :'k' FROM durable_instancing.load_instance(:'b', p_lookup_key => :'k')")" "2|t"
expect "the holder loads through a new handle" "$(run "$host_login" "SELECT result_code, diagnostic_version FROM durable_instancing.load_instance(:'a', :'x')")" "103|3"
expect "the holder loads after its handle let go of version 3" "$(as "$host_login" "${vars[@]}" <<'SQL'
SELECT result_code, lock_version
  FROM durable_instancing.load_instance(:'a', :'x', p_released_instance_ids => ARRAY[:'x']::uuid[],
                                        p_released_versions => ARRAY[3]::bigint[])
SQL
)" "0|4"
expect "the late unlock of version 3 is void" "$(run "$host_login" "SELECT result_code FROM durable_instancing.unlock_instance(:'a', :'x', 3)")" 0
expect "still held at version 4 by machine-a" "$(run "$observer_login" "SELECT version, current_machine FROM durable_instancing.instances WHERE instance_id = :'x'")" "4|machine-a"
expect "a reload through the holding handle" "$(run "$host_login" "SELECT result_code, lock_version FROM durable_instancing.load_instance(:'a', :'x', p_handle_version => 4)")" "0|4"
expect "a handle at a stale version" "$(run "$host_login" "SELECT result_code, diagnostic_version FROM durable_instancing.load_instance(:'a', :'x', p_handle_version => 3)")" "10|4"
expect "another owner's save with a version it never held" "$(run "$host_login" "SELECT result_code FROM durable_instancing.save_instance(:'b', :'x', 4, true)")" 6

step "a refused load by key writes nothing"
counts="SELECT (SELECT count(*) FROM durable_instancing.instances_table) || '/' || (SELECT count(*) FROM durable_instancing.keys_table)"
before=$(as "$installer" -c "$counts")
expect "load-or-create by key associating a key of another instance" "$(as "$host_login" "${vars[@]}" <<'SQL'
SELECT result_code, diagnostic_key_id = :'k', conflicting_instance_id = :'x'
  FROM durable_instancing.load_instance(:'b', '33333333-0000-4000-8000-000000000001', '44444444-0000-4000-8000-000000000001',
                                        true, p_keys_to_associate => ARRAY[:'k']::uuid[])
SQL
)" "3|t|t"
expect "rows after the refused load" "$(as "$installer" -c "$counts")" "$before"

# ---- leases and fencing ----------------------------------------------------------------------
step "fencing: an owner whose 1 s lease ran out cannot save, extend or unlock; the next owner takes over"
owner_c=$(as "$host_login" -c "SELECT owner_id FROM durable_instancing.create_lock_owner(1000000, 'machine-c', 'urn:durable:test', 'Host')")
instance_y=11111111-0000-4000-8000-000000000002
vars+=(-v c="$owner_c" -v y="$instance_y")
expect "owner c saves" "$(run "$host_login" "SELECT result_code, lock_version FROM durable_instancing.save_instance(:'c', :'y', -1, true, :'data'::bytea)")" "0|1"
expect "owner b meets c's lock" "$(run "$host_login" "SELECT result_code, lock_holder_machine_name FROM durable_instancing.load_instance(:'b', :'y')")" "2|machine-c"
sleep 1.5
expect "c's save after its lease" "$(run "$host_login" "SELECT result_code FROM durable_instancing.save_instance(:'c', :'y', 1, true, '\\x00'::bytea)")" 11
expect "c's renewal after its lease" "$(run "$host_login" "SELECT result_code FROM durable_instancing.extend_lock(:'c', $lease_10_minutes)")" 11
expect "b takes the instance over, version bumped, c's last save intact" "$(run "$host_login" "SELECT result_code, lock_version, primitive_data_properties = :'data'::bytea FROM durable_instancing.load_instance(:'b', :'y')")" "0|2|t"
expect "c's unlock is void" "$(run "$host_login" "SELECT result_code FROM durable_instancing.unlock_instance(:'c', :'y', 1)")" 0
expect "b holds it" "$(run "$observer_login" "SELECT version, current_machine FROM durable_instancing.instances WHERE instance_id = :'y'")" "2|machine-b"
expect "lock recovery" "$(run "$host_login" "SELECT result_code FROM durable_instancing.recover_instance_locks(:'b')")" 0
expect "the expired owner that holds nothing is gone" "$(run "$installer" "SELECT count(*) FROM durable_instancing.lock_owners_table WHERE id = :'c'")" 0
expect "b extends its lease" "$(run "$host_login" "SELECT result_code FROM durable_instancing.extend_lock(:'b', $lease_10_minutes)")" 0

# ---- completion ------------------------------------------------------------------------------
step "completion deletes the instance and its keys (completion action delete_all)"
expect "a completing save" "$(run "$host_login" "SELECT result_code, lock_version, instance_state FROM durable_instancing.save_instance(:'a', :'x', 4, true, p_unlock_instance => true, p_complete_instance => true)")" "0|-1|3"
expect "the instance and key rows" "$(run "$installer" "SELECT (SELECT count(*) FROM durable_instancing.instances_table WHERE id = :'x') + (SELECT count(*) FROM durable_instancing.keys_table WHERE id = :'k')")" 0
expect "a load by the deleted key" "$(run "$host_login" "SELECT result_code FROM durable_instancing.load_instance(:'a', p_lookup_key => :'k')")" 4

# ---- timers, the store clock, NOTIFY -----------------------------------------------------------
step "timers travel as durations and fire on the store clock; inserting a runnable row notifies"
owner_d=$(as "$host_login" -c "SELECT owner_id FROM durable_instancing.create_lock_owner(864000000000, 'machine-d', 'urn:durable:test', 'Timers')")
instance_z=11111111-0000-4000-8000-000000000003
instance_never=11111111-0000-4000-8000-000000000004
vars+=(-v d="$owner_d" -v z="$instance_z" -v never="$instance_never")
expect "a save with a one-hour timer that unlocks" "$(run "$host_login" "SELECT result_code FROM durable_instancing.save_instance(:'d', :'z', -1, true, p_pending_timer_microseconds => 3600000000, p_unlock_instance => true)")" 0
expect "nothing due yet" "$(run "$host_login" "SELECT result_code, instance_id IS NULL FROM durable_instancing.try_load_runnable_instance(:'d')")" "0|t"
expect "detection sees the timer an hour ahead" "$(run "$host_login" "SELECT result_code, round(extract(epoch FROM next_runnable_time - store_time) / 60) FROM durable_instancing.detect_runnable_instances(:'d')")" "0|60"
as "$installer" -c "UPDATE durable_instancing.store_clock_table SET clock_offset = interval '2 hours'"
expect "two hours on, the timer is due" "$(run "$host_login" "SELECT result_code, instance_id, lock_version FROM durable_instancing.try_load_runnable_instance(:'d')")" "0|$instance_z|2"
as "$installer" -c "UPDATE durable_instancing.store_clock_table SET clock_offset = interval '0'"
expect "a timer of duration::max() never fires" "$(run "$host_login" "SELECT result_code FROM durable_instancing.save_instance(:'d', :'never', -1, true, p_pending_timer_microseconds => 9223372036854775807, p_unlock_instance => true)")" 0
expect "its runnable time is infinity" "$(run "$host_login" "SELECT result_code, next_runnable_time = 'infinity' FROM durable_instancing.detect_runnable_instances(:'d')")" "0|t"
notified=$(as "$host_login" "${vars[@]}" <<'SQL'
LISTEN durable_instancing_runnable;
SELECT result_code FROM durable_instancing.save_instance(:'d', :'z', 2, true, p_is_ready_to_run => true, p_unlock_instance => true);
SQL
)
grep -q 'Asynchronous notification "durable_instancing_runnable" with payload "{"namespace" : "urn:durable:test", "name" : "Timers"}"' <<<"$notified" ||
    die "an unlock that queued a ready instance sent no notification naming its host type (psql said: $notified)"

# ---- promoted values ---------------------------------------------------------------------------
step "promoted values are stored typed, and text that looks like SQL is only text"
promotions='[{"promotion_name": "Order", "value_position": 1, "property_namespace": "", "property_name": "Customer", "value_kind": 4, "value": "ACME'"'"'); DROP TABLE durable_instancing.instances_table; --"},
 {"promotion_name": "Order", "value_position": 2, "property_namespace": "urn:x", "property_name": "Total", "value_kind": 2, "value": 9007199254740993},
 {"promotion_name": "Order", "value_position": 3, "property_namespace": "", "property_name": "Placed", "value_kind": 7, "value": 1767225600123456},
 {"promotion_name": "Order", "value_position": 33, "property_namespace": "", "property_name": "Blob", "value_kind": 5, "value": "AAEC/w=="}]'
expect "a save with promoted values" "$(run "$host_login" "SELECT result_code FROM durable_instancing.save_instance(:'d', '11111111-0000-4000-8000-000000000005', -1, true, p_promoted_properties => :'promotions'::jsonb)" -v promotions="$promotions")" 0
expect "the promoted values as observers see them" "$(as "$observer_login" <<'SQL'
SELECT string_agg(value_position || ':' || value_kind || ':' ||
                  COALESCE(string_value, int64_value::text, timestamp_value::text, encode(binary_value, 'hex')), ' ' ORDER BY value_position)
  FROM durable_instancing.instance_promoted_properties
 WHERE promotion_name = 'Order'
SQL
)" "1:string:ACME'); DROP TABLE durable_instancing.instances_table; -- 2:int64:9007199254740993 3:timestamp:2026-01-01 00:00:00.123456+00 33:binary:000102ff"

# ---- maintenance -----------------------------------------------------------------------------
step "while maintenance holds the store, commands report 13"
super -d "$db" -c "BEGIN; SELECT pg_advisory_xact_lock(hashtext('durable_instancing maintenance')::bigint); SELECT pg_sleep(4); COMMIT;" >/dev/null &
maintenance=$!
sleep 1
expect "owner creation under maintenance" "$(as "$host_login" -c "SELECT result_code FROM durable_instancing.create_lock_owner(1000000, 'machine-e')")" 13
wait "$maintenance"
expect "owner creation after maintenance" "$(as "$host_login" -c "SELECT result_code FROM durable_instancing.create_lock_owner(1000000, 'machine-e')")" 0

# ---- roles -----------------------------------------------------------------------------------
step "roles: observers read the views only; activation users run owner and activation functions only"
expect "an observer reads the views" "$(as "$observer_login" -c "SELECT (SELECT count(*) FROM durable_instancing.instances) > 0, (SELECT count(*) FROM durable_instancing.service_deployments)")" "t|0"
expect_failure "an observer reads a table" "permission denied" "$observer_login" -c "SELECT count(*) FROM durable_instancing.instances_table"
expect_failure "an observer calls a command" "permission denied" "$observer_login" -c "SELECT * FROM durable_instancing.load_instance('$owner_a', '$instance_y')"
expect_failure "an observer asks the version" "permission denied" "$observer_login" -c "SELECT durable_instancing.get_store_version()"
expect_failure "an observer deletes through a view" "permission denied" "$observer_login" -c "DELETE FROM durable_instancing.instances"
owner_f=$(as "$activation_login" -c "SELECT owner_id FROM durable_instancing.create_lock_owner($lease_10_minutes, 'machine-a', p_is_activation_service => true)")
expect "an activation user renews its lease" "$(as "$activation_login" -c "SELECT result_code FROM durable_instancing.extend_lock('$owner_f', $lease_10_minutes)")" 0
expect "an activation user asks what to activate" "$(as "$activation_login" -c "SELECT result_code, activatable_host_type_names FROM durable_instancing.get_activatable_workflows('$owner_f')")" "0|{Timers}"
expect_failure "an activation user loads an instance" "permission denied" "$activation_login" -c "SELECT * FROM durable_instancing.load_instance('$owner_f', '$instance_y')"
expect_failure "an activation user calls an internal function" "permission denied" "$activation_login" -c "SELECT durable_instancing.delete_instance(1)"
expect_failure "a store user writes a table" "permission denied" "$host_login" -c "UPDATE durable_instancing.instances_table SET version = 1"
expect_failure "a store user moves the store clock" "permission denied" "$host_login" -c "UPDATE durable_instancing.store_clock_table SET clock_offset = interval '1 day'"
expect_failure "a store user calls an internal function" "permission denied" "$host_login" -c "SELECT durable_instancing.delete_instance(1)"
expect "a store user deletes an instance through the view" "$(run "$host_login" "WITH gone AS (DELETE FROM durable_instancing.instances WHERE instance_id = :'y' RETURNING 1) SELECT count(*) FROM gone")" 1
expect "the deleted instance" "$(run "$installer" "SELECT count(*) FROM durable_instancing.instances_table WHERE id = :'y'")" 0

# ---- drop ------------------------------------------------------------------------------------
step "drop.sql removes everything, and running it again is harmless"
as "$installer" -f "$scripts/drop.sql" >"$work/drop1.log" 2>&1 || die "drop.sql failed: $(cat "$work/drop1.log")"
as "$installer" -f "$scripts/drop.sql" >"$work/drop2.log" 2>&1 || die "drop.sql failed the second time: $(cat "$work/drop2.log")"
expect "the schema after drop.sql" "$(as "$installer" -c "SELECT to_regnamespace('durable_instancing') IS NULL")" t
if [[ $group_roles_existed == 0 ]]; then
    expect "the group roles after drop.sql" \
        "$(super -c "SELECT count(*) FROM pg_roles WHERE rolname IN ('durable_store_users', 'durable_activation_users', 'durable_observers')")" 0
fi
