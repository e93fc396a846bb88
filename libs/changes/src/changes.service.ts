import { Injectable, Logger } from '@nestjs/common';
import {
  AppConfig,
  AppError,
  FieldError,
  newId,
  OpenChangeInput,
  OutboxService,
  Page,
  pageOf,
  Permission,
  Principal,
  Role,
  Tx,
  UnitOfWork,
  isBranchName,
  isGitUrl,
  urlSecrets,
} from '@app/core';
import { accessOf, ProjectAccess, ProjectAccessService } from '@app/projects';
import { Sandbox, Workspace } from '@app/runner';
import { EntityManager } from 'typeorm';
import { ChangeInspection, inspectChange, mergeChange, PUSH_REFUSED } from './change-git';
import { ChangeDto, ListChangesQueryDto, MergeChangeDto } from './change.dto';
import { ChangeRow, ChangesRepository, mapChangeRow, NewChange } from './changes.repository';

const FULL_SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;
/** Merges tried when the push was refused (the base moved meanwhile). */
const MERGE_ATTEMPTS = 3;

/**
 * Changes: opened by the code agents' work (the `change.open` job, in the worker, reads commits,
 * stat and diff from a fresh clone in a sandbox), read through the API with the project's
 * visibility, merged (accepted here, run by the worker's `change.merge` job) and closed.
 */
@Injectable()
export class ChangesService {
  private readonly logger = new Logger(ChangesService.name);

  constructor(
    private readonly uow: UnitOfWork,
    private readonly changes: ChangesRepository,
    private readonly access: ProjectAccessService,
    private readonly outbox: OutboxService,
    private readonly sandbox: Sandbox,
    private readonly config: AppConfig,
  ) {}

  async get(actor: Principal, changeId: string): Promise<ChangeDto> {
    const { row } = await this.loadVisible(null, actor, changeId);
    return mapChangeRow(row);
  }

  async list(actor: Principal, projectId: string, query: ListChangesQueryDto): Promise<Page<ChangeDto>> {
    const access = await this.access.readable(actor, projectId);
    const { rows, total } = await this.changes.page(access.project.id, query.status, query);
    return pageOf(rows.map(mapChangeRow), total, query);
  }

  /** `git diff base...head` as kept at the head (see CHANGE_DIFF_MAX_BYTES). */
  async diff(actor: Principal, changeId: string): Promise<string> {
    const { row } = await this.loadVisible(null, actor, changeId);
    return this.changes.diff(row.id);
  }

  /**
   * Accepts a merge and queues it for a worker (the git work needs the sandbox): the change must
   * be open with no merge under way, and the latest build of its head `success`, unless an
   * administrator forces it. The answer is the change with `mergeRequestedAt` set; it becomes
   * `merged`, or shows `mergeError`, when the worker is done.
   */
  async merge(actor: Principal, changeId: string, dto: MergeChangeDto): Promise<ChangeDto> {
    return this.uow.run(async (tx) => {
      const { row, access } = await this.loadVisible(tx, actor, changeId);
      this.access.assertCanChange(actor, access, Permission.ChangesWrite);
      const force = dto.force === true;
      if (force && actor.role !== Role.Admin)
        throw AppError.forbidden('Only administrators may force a merge', { required: Role.Admin });
      this.assertOpen(row);
      if (row.head_build_status !== 'success' && !force)
        throw AppError.conflict(
          row.head_build_status
            ? `The latest build of the head is ${row.head_build_status}, not success`
            : 'No build of the head commit yet: build it first',
          { headSha: row.head_sha, buildId: row.head_build_id, buildStatus: row.head_build_status },
        );
      await this.changes.requestMerge(row.id, actor.userId, row.head_sha, force, tx.manager);
      await this.outbox.enqueue(tx, 'change.merge', { changeId: row.id });
      return this.view(row.id, tx);
    });
  }

  async close(actor: Principal, changeId: string): Promise<ChangeDto> {
    return this.uow.run(async (tx) => {
      const { row, access } = await this.loadVisible(tx, actor, changeId);
      this.access.assertCanChange(actor, access, Permission.ChangesWrite);
      this.assertOpen(row);
      await this.changes.close(row.id, actor.userId, tx.manager);
      const change = await this.view(row.id, tx);
      await this.outbox.publish(tx, 'change.closed', { change, closedBy: actor.userId }, row.project_id);
      return change;
    });
  }

  /** The task's newest open change, for the agents that add to it (no visibility check: the caller's task). */
  async latestOpenOfTask(taskId: string, manager?: EntityManager): Promise<ChangeDto | null> {
    const row = await this.changes.latestOpenOfTask(taskId, manager);
    return row ? mapChangeRow(row) : null;
  }

  /** The change if it is open, for the agents that add to it (no visibility check: the caller's flow). */
  async openOne(changeId: string, manager?: EntityManager): Promise<ChangeDto | null> {
    const row = await this.changes.find(changeId, manager);
    return row && row.status === 'open' ? mapChangeRow(row) : null;
  }

  /** The stored diff of a change, for the agents (no visibility check). */
  storedDiff(changeId: string): Promise<string> {
    return this.changes.diff(changeId);
  }

  // ---- the worker's side ------------------------------------------------------------------------

  /**
   * Opens the change of a branch, or moves the open one of that branch to a new head: commits,
   * diff stat and diff come from a fresh clone in a sandbox, unless the caller read them already
   * (the code agents, from the repository they pushed from). Publishes `change.opened` for a new
   * change. Throws (the job is retried) when git cannot read the repository.
   */
  async open(input: OpenChangeInput, inspected?: ChangeInspection): Promise<ChangeDto> {
    const problems = openProblems(input);
    if (problems.length) throw AppError.validation(problems);
    if (!(await this.changes.projectExists(input.projectId)))
      throw AppError.notFound('project', input.projectId);
    const baseSha = input.baseSha.toLowerCase();
    const headSha = input.headSha.toLowerCase();
    const id = newId('change');
    const content = inspected
      ? { ok: true as const, ...inspected }
      : await this.inSandbox(id, (workspace) =>
          inspectChange({
            sandbox: this.sandbox,
            workspace,
            url: input.repositoryUrl,
            fileRoots: this.config.gitFileRoots,
            timeoutMs: this.config.builds.cloneTimeoutSeconds * 1000,
            jobId: id,
            baseSha,
            headSha,
          }),
        );
    if (!content.ok) throw AppError.conflict(`The change cannot be read: ${content.reason}`);
    const change: NewChange = {
      id,
      projectId: input.projectId,
      taskId: input.taskId ?? null,
      activationId: input.activationId ?? null,
      repositoryUrl: input.repositoryUrl,
      branch: input.branch,
      baseBranch: input.baseBranch,
      baseSha,
      headSha,
      buildId: input.buildId ?? null,
      commits: content.commits,
      diffStat: content.diffStat,
      diff: content.diff,
      diffTruncated: content.diffTruncated,
    };
    return this.uow.run(async (tx) => {
      if (!(await this.changes.projectExists(input.projectId, tx.manager)))
        throw AppError.notFound('project', input.projectId);
      const open = await this.changes.openOfBranch(input.projectId, input.branch, tx.manager);
      if (open) {
        // The head a merge was accepted for stays until the merge is done (the job is retried).
        if (this.mergeUnderWay(open) && open.head_sha !== headSha)
          throw AppError.conflict(`A merge of ${open.id} is under way: open the new head once it is done`);
        await this.changes.updateHead(open.id, change, tx.manager);
        return this.view(open.id, tx);
      }
      await this.changes.insert(change, tx.manager);
      const dto = await this.view(id, tx);
      await this.outbox.publish(tx, 'change.opened', { change: dto }, input.projectId);
      return dto;
    });
  }

  /**
   * Runs an accepted merge: clone, fast-forward or merge commit, push the base branch. Success:
   * `merged` and `change.merged`; failure: still open, with the reason in `mergeError`. A job for
   * a change no longer waiting for its merge does nothing.
   */
  async runMerge(changeId: string): Promise<void> {
    const row = await this.changes.find(changeId);
    if (!row || row.status !== 'open' || !row.merge_requested_at) return;
    let result: { ok: true; sha: string } | { ok: false; reason: string };
    if (row.merge_head_sha !== row.head_sha) {
      result = {
        ok: false,
        reason: 'The change moved to a new head after the merge was accepted: merge it again',
      };
    } else {
      // One merge into a repository's branch at a time (across workers): merges that raced each
      // other's push failed (bench/flows.js). A push refused all the same (someone else pushed to
      // the branch) is merged again on the new base.
      result = await this.uow.run(async (tx) => {
        await this.changes.lockBranch(tx.manager, row.repository_url, row.base_branch);
        let r: { ok: true; sha: string } | { ok: false; reason: string };
        for (let attempt = 1; ; attempt++) {
          r = await this.mergeInSandbox(row).catch((err: Error) => ({
            ok: false as const,
            reason: `The merge could not run: ${err.message}`,
          }));
          if (r.ok || attempt >= MERGE_ATTEMPTS || !r.reason.startsWith(PUSH_REFUSED)) return r;
        }
      });
    }
    await this.uow.run(async (tx) => {
      const current = await this.changes.find(changeId, tx.manager, true);
      if (!current || current.status !== 'open' || !current.merge_requested_at) return;
      if (!result.ok) {
        await this.changes.markMergeFailed(changeId, result.reason, tx.manager);
        return;
      }
      await this.changes.markMerged(changeId, result.sha, tx.manager);
      const change = await this.view(changeId, tx);
      await this.outbox.publish(
        tx,
        'change.merged',
        { change, mergedBy: change.mergedBy, forced: current.merge_forced },
        current.project_id,
      );
    });
  }

  // ---- helpers --------------------------------------------------------------------------------

  /** Clone, merge and push in a workspace of its own. */
  private mergeInSandbox(row: ChangeRow): Promise<{ ok: true; sha: string } | { ok: false; reason: string }> {
    return this.inSandbox(newId('change'), (workspace) =>
      mergeChange({
        sandbox: this.sandbox,
        workspace,
        url: row.repository_url,
        fileRoots: this.config.gitFileRoots,
        timeoutMs: this.config.builds.cloneTimeoutSeconds * 1000,
        jobId: row.id,
        baseBranch: row.base_branch,
        headSha: row.head_sha,
        message: `Merge ${row.branch} into ${row.base_branch} (change ${row.id})`,
      }),
    );
  }

  /** Runs `fn` with a fresh workspace (its directory), removed after. */
  private async inSandbox<T>(id: string, fn: (workspace: string) => Promise<T>): Promise<T> {
    const workspace = await Workspace.create(this.config.builds.workspaceRoot, id, (...p) =>
      this.sandbox.own(...p),
    );
    try {
      return await fn(workspace.dir);
    } finally {
      await workspace
        .remove()
        .catch((err: Error) => this.logger.warn(`workspace not removed: ${err.message}`));
    }
  }

  /**
   * Open, and no merge under way. A merge accepted longer ago than a merge can take (the git
   * timeout and five minutes) lost its job (Redis lost it): it no longer holds the change, and a
   * new merge may be accepted. A job that still comes finds the change as it is then.
   */
  private assertOpen(row: ChangeRow): void {
    if (row.status !== 'open') throw AppError.conflict(`The change is ${row.status}`, { status: row.status });
    if (this.mergeUnderWay(row))
      throw AppError.conflict('A merge of this change is under way', {
        mergeRequestedAt: row.merge_requested_at?.toISOString(),
      });
  }

  private mergeUnderWay(row: ChangeRow): boolean {
    const staleAfterMs = this.config.builds.cloneTimeoutSeconds * 1000 + 5 * 60_000;
    return Boolean(row.merge_requested_at && Date.now() - row.merge_requested_at.getTime() < staleAfterMs);
  }

  private async view(changeId: string, tx: Tx): Promise<ChangeDto> {
    const row = await this.changes.find(changeId, tx.manager);
    return mapChangeRow(row!);
  }

  /** The change if the caller may see its project (in a transaction: locked); 404 otherwise. */
  private async loadVisible(
    tx: Tx | null,
    actor: Principal,
    changeId: string,
  ): Promise<{ row: ChangeRow; access: ProjectAccess }> {
    const r = await this.changes.withAccess(changeId, actor.userId, tx?.manager);
    const access = r ? accessOf(r.project_id, r) : null;
    if (!r || !access || !this.access.canSee(actor, access)) throw AppError.notFound('change', changeId);
    return { row: r, access };
  }
}

/** What is wrong with an open request (the code agents' input). */
export function openProblems(input: OpenChangeInput): FieldError[] {
  const out: FieldError[] = [];
  const bad = (field: string, message: string) => out.push({ field, message, code: 'invalid' });
  if (typeof input.projectId !== 'string' || !input.projectId) bad('projectId', 'projectId is required');
  if (typeof input.repositoryUrl !== 'string' || !isGitUrl(input.repositoryUrl))
    bad('repositoryUrl', 'repositoryUrl must be a git URL');
  else if (
    urlSecrets(input.repositoryUrl).length ||
    /^[a-z][a-z0-9+.-]*:\/\/[^/@\s]+@/i.test(input.repositoryUrl)
  )
    bad('repositoryUrl', 'repositoryUrl must not hold credentials');
  for (const field of ['branch', 'baseBranch'] as const)
    if (typeof input[field] !== 'string' || !isBranchName(input[field]))
      bad(field, `${field} must be a branch name`);
  for (const field of ['baseSha', 'headSha'] as const)
    if (typeof input[field] !== 'string' || !FULL_SHA.test(input[field].toLowerCase()))
      bad(field, `${field} must be a full commit id`);
  return out;
}
