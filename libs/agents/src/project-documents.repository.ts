import { Injectable } from '@nestjs/common';
import { Conditions, newId, pageClause, PageQueryDto, Sql } from '@app/core';
import { EntityManager } from 'typeorm';
import { DocumentRef } from './agent-input';

/** A project_documents row (content only when one document is read). */
export interface ProjectDocumentRow {
  id: string;
  project_id: string;
  task_id: string | null;
  activation_id: string;
  kind: string;
  version: number;
  title: string;
  format: string;
  content?: string;
  created_by: string | null;
  created_at: Date;
}

/** The project_documents table: what the agents produce. */
@Injectable()
export class ProjectDocumentsRepository {
  constructor(private readonly sql: Sql) {}

  /** One page of a project's documents (without their content), and the total. */
  page(
    projectId: string,
    kind: string | undefined,
    query: Pick<PageQueryDto, 'page' | 'pageSize' | 'sortOrder'>,
  ): Promise<{ rows: ProjectDocumentRow[]; total: number }> {
    const where = new Conditions().and((v) => `project_id = ${v(projectId)}`);
    if (kind) where.and((v) => `kind = ${v(kind)}`);
    return this.sql.page<ProjectDocumentRow>(
      'id, project_id, task_id, activation_id, kind, version, title, format, created_by, created_at',
      'FROM project_documents',
      where,
      pageClause(query, 'created_at', 'id'),
    );
  }

  find(projectId: string, documentId: string): Promise<ProjectDocumentRow | undefined> {
    return this.sql.one<ProjectDocumentRow>(
      `SELECT * FROM project_documents WHERE id = $1 AND project_id = $2`,
      [documentId, projectId],
    );
  }

  /** The newest document of each kind in the project, the task's own first (without content). */
  latestOfKinds(
    projectId: string,
    taskId: string,
    kinds: readonly string[],
    manager?: EntityManager,
  ): Promise<DocumentRef[]> {
    if (!kinds.length) return Promise.resolve([]);
    return this.sql.rows<DocumentRef>(
      `SELECT DISTINCT ON (kind) id, kind, version, title FROM project_documents
        WHERE project_id = $1 AND kind = ANY($3)
        ORDER BY kind, (task_id IS NOT DISTINCT FROM $2) DESC, created_at DESC, id DESC`,
      [projectId, taskId, kinds],
      manager,
    );
  }

  /** These documents with their content, in the same order (one deleted since is left out). */
  async withContent(refs: readonly DocumentRef[]): Promise<Array<DocumentRef & { content: string }>> {
    if (!refs.length) return [];
    const rows = await this.sql.rows<{ id: string; content: string }>(
      `SELECT id, content FROM project_documents WHERE id = ANY($1)`,
      [refs.map((r) => r.id)],
    );
    const contents = new Map(rows.map((r) => [r.id, r.content]));
    return refs.filter((r) => contents.has(r.id)).map((r) => ({ ...r, content: contents.get(r.id)! }));
  }

  /** The activation's document, unless it has one already; its id when inserted. */
  async insertOnce(
    manager: EntityManager,
    d: {
      projectId: string;
      taskId: string;
      activationId: string;
      kind: string;
      title: string;
      format: string;
      content: string;
      createdBy: string | null;
    },
  ): Promise<string | undefined> {
    // One writer at a time per task and kind (the lock ends with the transaction): versions 1, 2, ...
    await this.sql.exec(
      `SELECT pg_advisory_xact_lock(hashtext($1))`,
      [`doc:${d.projectId}:${d.taskId}:${d.kind}`],
      manager,
    );
    const [row] = await this.sql.rows<{ id: string }>(
      `INSERT INTO project_documents (id, project_id, task_id, activation_id, kind, title, format, content, created_by, version)
         VALUES ($1, $2::varchar, $3::varchar, $4, $5::varchar, $6, $7, $8, $9,
                 (SELECT COALESCE(max(version), 0) + 1 FROM project_documents
                   WHERE project_id = $2::varchar AND task_id IS NOT DISTINCT FROM $3::varchar AND kind = $5::varchar))
         ON CONFLICT (activation_id) DO NOTHING RETURNING id`,
      [
        newId('document'),
        d.projectId,
        d.taskId,
        d.activationId,
        d.kind,
        d.title,
        d.format,
        d.content,
        d.createdBy,
      ],
      manager,
    );
    return row?.id;
  }
}
