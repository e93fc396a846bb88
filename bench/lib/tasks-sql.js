'use strict';
// The SQL the gateway sends for GET /v2/projects/{projectId}/tasks and GET /v2/tasks/{taskId},
// copied from libs/projects/src/project-access.service.ts (load) and libs/tasks/src/tasks.service.ts
// (list, loadVisible), and the mapping of libs/tasks/src/task.dto.ts (mapTaskRow) and
// libs/core/src/http/pagination.ts (pageOf). Used by bench/bare-tasks-server.js (the baseline) and by
// bench/tasks.js (EXPLAIN). bench/tasks.js also samples pg_stat_activity during the warm-ups and
// reports any difference between these texts and what the gateway actually sent, so a change in
// the service shows up in the results instead of silently skewing the comparison.

// tasks.service.ts COLUMNS (same text, same line break).
const COLUMNS = `t.id, t.key, t.project_id, t.type, t.title, t.description, t.status, t.assignee_id, t.reporter_id,
  t.priority, t.story_points, t.parent_task_id, t.labels, t.created_at, t.updated_at`;

const TASK_STATUSES = ['todo', 'in_progress', 'review', 'testing', 'done'];

// ProjectAccessService.readable() -> load({ id }): $1 project id, $2 the caller's user id.
const PROJECT_BY_ID = `SELECT p.id, p.name, p.key, p.description, p.owner_id AS "ownerId", p.status, p.visibility,
                        p.created_at AS "createdAt", p.updated_at AS "updatedAt", p.archived_at AS "archivedAt",
                        m.role AS "memberRole"
                   FROM projects p
                   LEFT JOIN project_members m ON m.project_id = p.id AND m.user_id = $2
                  WHERE p.id = $1`;

/**
 * TasksService.list(): the page. Only the filters the benchmark uses (status) and the default sort
 * (createdAt); $1 project id, $2 status when given.
 */
function listPageSql({ status, pageSize, page, sortOrder = 'desc' }) {
  const where = ['t.project_id = $1'];
  if (status) where.push('t.status = $2');
  const order = sortOrder === 'asc' ? 'ASC' : 'DESC';
  const offset = (page - 1) * pageSize;
  return `SELECT ${COLUMNS} FROM tasks t WHERE ${where.join(' AND ')}
        ORDER BY t.created_at ${order}, t.id ${order} LIMIT ${pageSize} OFFSET ${offset}`;
}

/** TasksService.list(): the exact total from the maintained counters (only a status filter). */
function listCountSql({ status }) {
  return `SELECT COALESCE(SUM(count), 0) AS n FROM task_status_counts WHERE project_id = $1${status ? ' AND status = $2' : ''}`;
}

/** TasksService.loadVisible() without the lock: $1 task id or key, $2 the caller's user id. */
function taskSql(byKey) {
  return `SELECT ${COLUMNS}, p.key AS p_key, p.visibility AS p_visibility, p.status AS p_status, p.owner_id AS p_owner_id, m.role AS member_role
           FROM tasks t JOIN projects p ON p.id = t.project_id
           LEFT JOIN project_members m ON m.project_id = t.project_id AND m.user_id = $2
          WHERE ${byKey ? 't.key' : 't.id'} = $1`;
}
const TASK_BY_ID = taskSql(false);
const TASK_BY_KEY = taskSql(true);

// TasksService.parseRef()
const TASK_ID = /^task_[0-9a-z]{16}$/;
const TASK_KEY = /^[A-Z0-9]{2,10}-[1-9]\d{0,9}$/;

// libs/core/src/http/time.ts iso(): seconds precision, "Z".
const iso = (d) => (d ? d.toISOString().replace(/\.\d{3}Z$/, 'Z') : null);

// libs/tasks/src/task.dto.ts mapTaskRow()
const mapTaskRow = (r) => ({
  id: r.id,
  key: r.key,
  projectId: r.project_id,
  type: r.type,
  title: r.title,
  description: r.description,
  status: r.status,
  assigneeId: r.assignee_id,
  reporterId: r.reporter_id,
  priority: r.priority,
  storyPoints: r.story_points === null ? null : Number(r.story_points),
  parentTaskId: r.parent_task_id,
  labels: r.labels,
  createdAt: iso(r.created_at),
  updatedAt: iso(r.updated_at),
});

// libs/core/src/http/pagination.ts pageOf()
function pageOf(data, totalItems, query) {
  const totalPages = Math.ceil(totalItems / query.pageSize);
  return {
    data,
    pagination: {
      page: query.page,
      pageSize: query.pageSize,
      totalItems,
      totalPages,
      hasNextPage: query.page < totalPages,
      hasPrevPage: query.page > 1,
    },
  };
}

/** Whitespace-insensitive form of a statement, for comparing texts. */
const normalizeSql = (text) => text.replace(/\s+/g, ' ').trim();

module.exports = {
  COLUMNS,
  TASK_STATUSES,
  PROJECT_BY_ID,
  listPageSql,
  listCountSql,
  TASK_BY_ID,
  TASK_BY_KEY,
  TASK_ID,
  TASK_KEY,
  iso,
  mapTaskRow,
  pageOf,
  normalizeSql,
};
