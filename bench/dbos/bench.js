// DBOS Transact side of bench/run-dbos-comparison.sh (bench/README.md, "Host vs DBOS Transact").
//
//   node bench.js --url postgres://USER@HOST:PORT/DB [--instances N] [--concurrency C]
//                 [--state-kb K] [--pool P] [--warmup W]
//
// One workflow = the workflow's input (a K KB state), three steps each returning a fresh K KB
// state (checkpointed by DBOS in operation_outputs), and the last state as the workflow's output.
// What DBOS writes per workflow, each in its own transaction: the workflow_status row inserted at
// start (with the input), one operation_outputs row per step (with that step's output), and the
// workflow_status row updated at completion (with the output): 5 commits, 3 of them steps. That is
// the shape of durable-host-bench: a save at start, three persistence points, a save at completion.
//
// The state is random bytes in base64, K KB of text (3/4 K KB of entropy): the same order of
// bytes as durable's K KB of random bytes, and not compressible by PostgreSQL either.
// N workflows run C at a time in this one Node process (as the host runs on one io_context
// thread), each awaited where it was called. A warm-up of W workflows (not counted) lets V8
// compile the paths first. In the timed window only, this script also reads the server's
// next transaction id and WAL position, so the write transactions and WAL bytes per workflow are
// measured rather than assumed.
'use strict';
const crypto = require('node:crypto');
const { DBOS } = require('@dbos-inc/dbos-sdk');
const { Client } = require('pg');

function parse(argv) {
    const s = { url: '', instances: 2000, concurrency: 1, stateKb: 4, pool: 0, warmup: 100 };
    for (let i = 2; i < argv.length; ++i) {
        const arg = argv[i];
        const next = () => {
            if (i + 1 >= argv.length) throw new Error(`${arg} needs a value`);
            return argv[++i];
        };
        const count = (v, min) => {
            const n = Number(v);
            if (!Number.isInteger(n) || n < min) throw new Error(`${arg} needs a whole number >= ${min}, not '${v}'`);
            return n;
        };
        if (arg === '--url') s.url = next();
        else if (arg === '--instances') s.instances = count(next(), 1);
        else if (arg === '--concurrency') s.concurrency = count(next(), 1);
        else if (arg === '--state-kb') s.stateKb = count(next(), 1);
        else if (arg === '--pool') s.pool = count(next(), 1);
        else if (arg === '--warmup') s.warmup = count(next(), 0);
        else throw new Error(`unknown argument '${arg}'`);
    }
    if (!s.url) throw new Error('give --url postgres://...');
    // Without --pool: max(8, min(C, 64)), durable-host-bench's own default rule.
    if (!s.pool) s.pool = Math.max(8, Math.min(s.concurrency, 64));
    return s;
}

const s = parse(process.argv);
const stateBytes = s.stateKb * 1024;
// K KB of base64 text from 3/4 K KB of random bytes.
const newState = () => crypto.randomBytes((stateBytes / 4) * 3).toString('base64');

const step = (name) => DBOS.runStep(async () => newState(), { name });
const threeSteps = DBOS.registerWorkflow(
    async (input) => {
        if (input.length !== stateBytes) throw new Error('wrong input size');
        await step('one');
        await step('two');
        const last = await step('three');
        return last;
    },
    { name: 'threeSteps' },
);

async function runMany(total, concurrency) {
    let next = 0;
    const lane = async () => {
        while (next < total) {
            ++next;
            const out = await threeSteps(newState());
            if (out.length !== stateBytes) throw new Error('wrong output size');
        }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, total) }, lane));
}

function sdkVersion() {
    const file = require('node:path').join(__dirname, 'node_modules', '@dbos-inc', 'dbos-sdk', 'package.json');
    return JSON.parse(require('node:fs').readFileSync(file, 'utf8')).version;
}

async function serverMark(client) {
    const r = await client.query(
        "select pg_snapshot_xmax(pg_current_snapshot())::text::bigint as xid, " +
            "pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint as wal",
    );
    return { xid: Number(r.rows[0].xid), wal: Number(r.rows[0].wal) };
}

async function main() {
    DBOS.setConfig({
        name: 'durable-bench',
        systemDatabaseUrl: s.url,
        systemDatabasePoolSize: s.pool,
        logLevel: 'warn',
    });
    await DBOS.launch();
    const stats = new Client({ connectionString: s.url });
    await stats.connect();
    try {
        await runMany(s.warmup, s.concurrency);
        const before = await serverMark(stats);
        const start = process.hrtime.bigint();
        await runMany(s.instances, s.concurrency);
        const seconds = Number(process.hrtime.bigint() - start) / 1e9;
        const after = await serverMark(stats);
        const wfs = s.instances / seconds;
        const result = {
            side: 'dbos',
            sdk: sdkVersion(),
            instances: s.instances,
            concurrency: s.concurrency,
            stateKb: s.stateKb,
            pool: s.pool,
            seconds,
            workflowsPerSecond: wfs,
            checkpointsPerSecond: wfs * 5, // status insert + 3 steps + status update
            stepCheckpointsPerSecond: wfs * 3,
            // The stats connection's own two reads take no transaction id.
            writeTransactionsPerWorkflow: (after.xid - before.xid) / s.instances,
            walBytesPerWorkflow: (after.wal - before.wal) / s.instances,
        };
        console.log(JSON.stringify(result));
    } finally {
        await stats.end();
        await DBOS.shutdown();
    }
}

main().catch((e) => {
    console.error(`dbos bench: ${e && e.stack ? e.stack : e}`);
    process.exit(1);
});
