'use strict';
// Bulk-seeds the tasks of one project with INSERT ... SELECT FROM generate_series, keeping what
// TasksService keeps (libs/tasks/src/tasks.service.ts, task-counters.entity.ts, the migrations):
//   - ids `task_` + 16 characters [0-9a-z] (newId('task')), unique (primary key);
//   - `number` gap-free and consecutive after the tasks the API created, key = <project key>-<number>;
//   - task_counters.last_number = the highest number (the next API create continues from it);
//   - task_status_counts: one row per status with the exact count (the list's totals);
//   - project_stats.total_tasks / completed_tasks exact;
//   - task_history as the service writes it: a 'created' entry (null -> "todo") and one 'status'
//     entry per workflow step up to the current status, the last one at updated_at;
//   - assignees are project members (here: the owner, or nobody), reporter = the admin, no parents;
//   - created_at strictly increasing with the number, one distinct microsecond each, spread over
//     the year before the seed; updated_at >= created_at.
// Then VACUUM (ANALYZE) of tasks, task_history and task_status_counts.
// It does not write outbox events: those are notifications for the worker (webhooks, mails),
// not state, and 200,000 of them would keep the worker busy during the measurements.
const { TASK_STATUSES } = require('./tasks-sql');

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';
// 16 independent random characters of the base-36 alphabet (newId() in libs/core/src/ids.ts).
// random() is volatile, so PostgreSQL evaluates it for every row.
const RANDOM_ID_SQL = `'task_' || ${Array.from(
  { length: 16 },
  () => `substr('${ALPHABET}', 1 + floor(random() * 36)::int, 1)`,
).join(' || ')}`;

/** A deterministic pseudo-random 0..mod-1 per row and stream k (hashint4extended: PostgreSQL >= 11). */
const h = (k, mod) => `((hashint4extended(g.i, ${k}) & 1073741823) % ${mod})`;

const STATUS_ARRAY = `ARRAY[${TASK_STATUSES.map((s) => `'${s}'`).join(', ')}]::text[]`;

// $1 project id, $2 first number - 1 (the counter before the seed), $3 project key, $4 admin id,
// $5 how many. created_at: row i at (i-1) * step + jitter (jitter < step) after now() - 365 days,
// so strictly increasing and distinct; status = i % 5 (exactly 20 % each when $5 is a multiple of 5).
const INSERT_TASKS = `
INSERT INTO tasks (id, project_id, number, key, type, title, description, status, assignee_id, reporter_id,
                   priority, story_points, parent_task_id, labels, created_at, updated_at)
SELECT ${RANDOM_ID_SQL},
       $1,
       $2 + g.i,
       $3 || '-' || ($2 + g.i),
       CASE WHEN ${h(1, 100)} < 10 THEN 'epic' WHEN ${h(1, 100)} < 40 THEN 'story'
            WHEN ${h(1, 100)} < 80 THEN 'task' ELSE 'bug' END,
       'Bench task ' || ($2 + g.i) || ': ' ||
         (ARRAY['implement', 'fix', 'refactor', 'document', 'test', 'review', 'migrate', 'optimise'])[1 + ${h(2, 8)}]
         || ' ' ||
         (ARRAY['login flow', 'order export', 'search index', 'payment webhook', 'user profile', 'audit log',
                'report page', 'cache layer', 'deployment script', 'notification mails'])[1 + ${h(3, 10)}],
       CASE WHEN ${h(4, 2)} = 0 THEN NULL
            ELSE 'Seeded by bench/tasks.js (row ' || g.i || '). Acceptance: the change is reviewed, tested and deployed.' END,
       (${STATUS_ARRAY})[1 + g.i % 5],
       CASE WHEN ${h(5, 2)} = 0 THEN $4 END,
       $4,
       CASE WHEN ${h(6, 100)} < 5 THEN 'critical' WHEN ${h(6, 100)} < 25 THEN 'high'
            WHEN ${h(6, 100)} < 75 THEN 'medium' ELSE 'low' END,
       CASE WHEN ${h(7, 10)} < 4 THEN NULL
            ELSE ((ARRAY[0.5, 1, 2, 3, 5, 8, 13])[1 + ${h(8, 7)}])::numeric(8, 2) END,
       NULL,
       CASE ${h(9, 10)}
         WHEN 0 THEN '{backend}'::text[] WHEN 1 THEN '{frontend}'::text[] WHEN 2 THEN '{backend,api}'::text[]
         WHEN 3 THEN '{frontend,ui}'::text[] WHEN 4 THEN '{infra}'::text[] WHEN 5 THEN '{backend,database}'::text[]
         WHEN 6 THEN '{security,backend}'::text[] ELSE '{}'::text[] END,
       g.created_at,
       CASE WHEN g.i % 5 = 0 THEN g.created_at
            ELSE LEAST(g.created_at + (g.i % 5) * (1 + ${h(10, 72)}) * interval '1 hour', g.seed_at) END
  FROM (SELECT i, now() AS seed_at,
               now() - interval '365 days'
                 + ((i - 1) * s.step + (hashint4extended(i, 11) & 1073741823) % (s.step / 2)) * interval '1 microsecond'
                 AS created_at
          FROM generate_series(1, $5::int) AS i,
               (SELECT (365 * 86400 * 1000000::bigint) / $5::int AS step) s) g`;

// The history the service would have written: 'created' at created_at, then todo -> ... -> status,
// spread evenly up to updated_at (the last change is the one that set updated_at).
const INSERT_HISTORY = `
INSERT INTO task_history (task_id, field, from_value, to_value, comment, changed_by, changed_at)
SELECT t.id,
       CASE WHEN s.j = 0 THEN 'created' ELSE 'status' END,
       CASE WHEN s.j = 0 THEN 'null'::jsonb ELSE to_jsonb((${STATUS_ARRAY})[s.j]) END,
       to_jsonb((${STATUS_ARRAY})[s.j + 1]),
       NULL,
       $3,
       CASE WHEN s.j = 0 THEN t.created_at ELSE t.created_at + (t.updated_at - t.created_at) * s.j / k.k END
  FROM tasks t
  CROSS JOIN LATERAL (SELECT array_position(${STATUS_ARRAY}, t.status::text) - 1 AS k) k
  CROSS JOIN LATERAL generate_series(0, k.k) AS s(j)
 WHERE t.project_id = $1 AND t.number > $2
 ORDER BY t.number, s.j`;

const SET_STATUS_COUNTS = `
INSERT INTO task_status_counts (project_id, status, count)
SELECT $1, s.status, count(t.id)
  FROM unnest(${STATUS_ARRAY}) AS s(status)
  LEFT JOIN tasks t ON t.project_id = $1 AND t.status = s.status
 GROUP BY s.status
ON CONFLICT (project_id, status) DO UPDATE SET count = EXCLUDED.count`;

/**
 * Seeds `count` tasks after the ones the API created, in one transaction, then VACUUM (ANALYZE).
 * @param {import('pg').Client} client  connected to the benchmark's database
 * @returns timings and the numbers used
 */
async function seedTasks(client, { projectId, adminId, count }) {
  const t0 = Date.now();
  const timings = {};
  const step = async (name, fn) => {
    const s = Date.now();
    const out = await fn();
    timings[name] = Date.now() - s;
    return out;
  };
  await client.query('BEGIN');
  try {
    // The service's lock: creators serialise on the counter row, so nothing can take a number meanwhile.
    const { rows } = await client.query(
      `SELECT c.last_number, p.key FROM task_counters c JOIN projects p ON p.id = c.project_id
        WHERE c.project_id = $1 FOR UPDATE OF c`,
      [projectId],
    );
    if (!rows.length)
      throw new Error(`no task_counters row for ${projectId}: create a task through the API first`);
    const base = rows[0].last_number;
    const key = rows[0].key;
    const inserted = await step('insertTasksMs', () =>
      client.query(INSERT_TASKS, [projectId, base, key, adminId, count]),
    );
    if (inserted.rowCount !== count)
      throw new Error(`inserted ${inserted.rowCount} tasks, expected ${count}`);
    const history = await step('insertHistoryMs', () =>
      client.query(INSERT_HISTORY, [projectId, base, adminId]),
    );
    await step('countersMs', async () => {
      await client.query(
        `UPDATE task_counters SET last_number = (SELECT max(number) FROM tasks WHERE project_id = $1)
          WHERE project_id = $1`,
        [projectId],
      );
      await client.query(SET_STATUS_COUNTS, [projectId]);
      await client.query(
        `UPDATE project_stats
            SET total_tasks = (SELECT count(*) FROM tasks WHERE project_id = $1),
                completed_tasks = (SELECT count(*) FROM tasks WHERE project_id = $1 AND status = 'done')
          WHERE project_id = $1`,
        [projectId],
      );
    });
    await step('commitMs', () => client.query('COMMIT'));
    // VACUUM as well (it includes the ANALYZE). It sets the visibility map and hint bits as on a table
    // that has been around for a while. Nothing else would when autovacuum is off, and when it is on,
    // it does not start on 800,000 new rows in the middle of a measurement.
    await step('vacuumAnalyzeMs', () =>
      client.query('VACUUM (ANALYZE) tasks, task_history, task_status_counts'),
    );
    return {
      projectKey: key,
      apiCreated: base,
      seeded: count,
      firstSeededNumber: base + 1,
      lastNumber: base + count,
      historyRows: history.rowCount,
      timings,
      totalMs: Date.now() - t0,
    };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/**
 * Checks the invariants after the seed, in SQL; every check { name, ok, detail }.
 */
async function verifyInvariants(client, { projectId }) {
  const one = async (text) => (await client.query(text, [projectId])).rows[0];
  const checks = [];
  const add = (name, ok, detail) => checks.push({ name, ok, detail });

  const t = await one(`
    SELECT count(*)::int AS n, min(number) AS min_number, max(number) AS max_number,
           count(DISTINCT number)::int AS distinct_numbers,
           count(*) FILTER (WHERE id !~ '^task_[0-9a-z]{16}$')::int AS bad_ids,
           (count(*) - count(DISTINCT id))::int AS duplicate_ids,
           count(*) FILTER (WHERE key <> (SELECT key FROM projects WHERE id = $1) || '-' || number)::int AS bad_keys,
           count(DISTINCT created_at)::int AS distinct_created,
           count(*) FILTER (WHERE updated_at < created_at)::int AS updated_before_created,
           count(*) FILTER (WHERE status <> ALL (ARRAY['todo','in_progress','review','testing','done']))::int AS bad_status,
           count(*) FILTER (WHERE type <> ALL (ARRAY['story','task','bug','epic']))::int AS bad_type,
           count(*) FILTER (WHERE priority <> ALL (ARRAY['critical','high','medium','low']))::int AS bad_priority,
           count(*) FILTER (WHERE assignee_id IS NOT NULL AND NOT EXISTS (
             SELECT 1 FROM project_members m WHERE m.project_id = tasks.project_id AND m.user_id = tasks.assignee_id)
           )::int AS assignee_not_member
      FROM tasks WHERE project_id = $1`);
  add('ids are task_ + 16 [0-9a-z], unique', t.bad_ids === 0 && t.duplicate_ids === 0, {
    badIds: t.bad_ids,
    duplicateIds: t.duplicate_ids,
  });
  add('numbers 1..N without gaps', t.min_number === 1 && t.max_number === t.n && t.distinct_numbers === t.n, {
    tasks: t.n,
    min: t.min_number,
    max: t.max_number,
    distinct: t.distinct_numbers,
  });
  add('key = <project key>-<number>', t.bad_keys === 0, { badKeys: t.bad_keys });
  add('created_at distinct (microseconds)', t.distinct_created === t.n, { distinct: t.distinct_created });
  add('updated_at >= created_at', t.updated_before_created === 0, { violations: t.updated_before_created });
  add('status, type, priority in their sets', t.bad_status + t.bad_type + t.bad_priority === 0, {
    badStatus: t.bad_status,
    badType: t.bad_type,
    badPriority: t.bad_priority,
  });
  add('assignees are project members', t.assignee_not_member === 0, { violations: t.assignee_not_member });

  const c = await one(`SELECT last_number FROM task_counters WHERE project_id = $1`);
  add('task_counters.last_number = max(number)', c?.last_number === t.max_number, {
    lastNumber: c?.last_number ?? null,
  });

  const { rows: statusRows } = await client.query(
    `SELECT s.status, c.count AS kept, COALESCE(a.n, 0)::int AS actual
       FROM unnest(ARRAY['todo','in_progress','review','testing','done']) AS s(status)
       LEFT JOIN task_status_counts c ON c.project_id = $1 AND c.status = s.status
       LEFT JOIN (SELECT status, count(*) AS n FROM tasks WHERE project_id = $1 GROUP BY status) a ON a.status = s.status`,
    [projectId],
  );
  const extra = await one(
    `SELECT count(*)::int AS n FROM task_status_counts
      WHERE project_id = $1 AND status <> ALL (ARRAY['todo','in_progress','review','testing','done'])`,
  );
  add(
    'task_status_counts exact, one row per status',
    statusRows.every((r) => r.kept === r.actual) && extra.n === 0,
    Object.fromEntries(statusRows.map((r) => [r.status, { kept: r.kept, actual: r.actual }])),
  );

  const s = await one(`
    SELECT s.total_tasks, s.completed_tasks,
           (SELECT count(*) FROM tasks WHERE project_id = $1)::int AS total,
           (SELECT count(*) FROM tasks WHERE project_id = $1 AND status = 'done')::int AS done
      FROM project_stats s WHERE s.project_id = $1`);
  add('project_stats total/completed exact', s.total_tasks === s.total && s.completed_tasks === s.done, s);

  const hist = await one(`
    SELECT count(*) FILTER (WHERE COALESCE(h.created, 0) <> 1)::int AS without_one_created,
           count(*) FILTER (WHERE h.last_to IS DISTINCT FROM to_jsonb(t.status::text))::int AS last_not_status
      FROM tasks t
      LEFT JOIN (SELECT task_id, count(*) FILTER (WHERE field = 'created') AS created,
                        (array_agg(to_value ORDER BY id DESC))[1] AS last_to
                   FROM task_history GROUP BY task_id) h ON h.task_id = t.id
     WHERE t.project_id = $1`);
  add(
    "history: one 'created' entry per task, last entry = current status",
    hist.without_one_created === 0 && hist.last_not_status === 0,
    { withoutOneCreated: hist.without_one_created, lastEntryNotStatus: hist.last_not_status },
  );
  return { ok: checks.every((x) => x.ok), checks, statusCounts: statusRows };
}

module.exports = { seedTasks, verifyInvariants, INSERT_TASKS, INSERT_HISTORY };
