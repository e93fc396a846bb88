import { Inject, Injectable } from '@nestjs/common';
import { AppError, FieldError } from '@app/core';
import { DEPLOY_TARGETS, DeployTarget, ParsedTarget } from './deploy-target';

/** The registry of target kinds: picks the one a target's `type` names. */
@Injectable()
export class DeployTargets {
  private readonly byType: ReadonlyMap<string, DeployTarget>;

  constructor(@Inject(DEPLOY_TARGETS) targets: DeployTarget[]) {
    this.byType = new Map(targets.map((t) => [t.type, t]));
  }

  types(): string[] {
    return [...this.byType.keys()];
  }

  get(type: string): DeployTarget {
    const target = this.byType.get(type);
    if (!target) throw new Error(`No deploy target of type "${type}"`);
    return target;
  }

  /** Validates `target` of a request body: 422 naming the fields at fault. */
  async parse(raw: unknown): Promise<ParsedTarget & { type: string }> {
    const fail = (problems: FieldError[]) =>
      AppError.validation(problems.map((p) => ({ ...p, field: p.field ? `target.${p.field}` : 'target' })));
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
      throw fail([{ field: '', message: 'target must be an object with a type', code: 'invalid_type' }]);
    const { type, ...rest } = raw as Record<string, unknown>;
    const target = typeof type === 'string' ? this.byType.get(type) : undefined;
    if (!target)
      throw fail([
        {
          field: 'type',
          message: `target.type must be one of ${this.types().join(', ')}`,
          code: 'invalid_enum',
        },
      ]);
    const parsed = await target.parse(rest);
    if (Array.isArray(parsed)) throw fail(parsed);
    return { type: target.type, ...parsed };
  }
}

/** Field problems for keys a target does not know (requests are strict everywhere else too). */
export function unknownFields(raw: Record<string, unknown>, known: string[]): FieldError[] {
  return Object.keys(raw)
    .filter((k) => !known.includes(k))
    .map((k) => ({ field: k, message: `target.${k} is not an accepted field`, code: 'unknown_field' }));
}
