import { Injectable } from '@nestjs/common';
import { Conditions, newId, pageClause, PageQueryDto, Sql } from '@app/core';
import { EntityManager } from 'typeorm';

/** A project_documents row (content only when one document is read). */
export interface ProjectDocumentRow {
  id: string;
  project_id: string;
  task_id: string | null;
  activation_id: string;
  kind: string;
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
      'id, project_id, task_id, activation_id, kind, title, format, created_by, created_at',
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

  /** The newest document of each kind in the project, the task's own first. */
  latestOfKinds(projectId: string, taskId: string, kinds: readonly string[]): Promise<ProjectDocumentRow[]> {
    return this.sql.rows<ProjectDocumentRow>(
      `SELECT DISTINCT ON (kind) * FROM project_documents
        WHERE project_id = $1 AND kind = ANY($3)
        ORDER BY kind, (task_id IS NOT DISTINCT FROM $2) DESC, created_at DESC, id DESC`,
      [projectId, taskId, kinds],
    );
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
    const [row] = await this.sql.rows<{ id: string }>(
      `INSERT INTO project_documents (id, project_id, task_id, activation_id, kind, title, format, content, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (activation_id) DO NOTHING RETURNING id`,
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
