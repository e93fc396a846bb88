import { FlowStage } from './flow.entity';

/** The stages that run side by side when a flow lists both. */
const PARALLEL = ['backend', 'frontend'];

/**
 * The stages in the order they run: when both backend and frontend are listed, the later one
 * moves up to just after the earlier, so the two form one step that runs in parallel.
 */
export function orderStages<T extends string>(stages: readonly T[]): T[] {
  const at = PARALLEL.map((name) => stages.indexOf(name as T));
  if (at.some((i) => i < 0)) return [...stages];
  const [first, second] = at[0] < at[1] ? at : [at[1], at[0]];
  const rest = stages.filter((_, i) => i !== second);
  rest.splice(first + 1, 0, stages[second]);
  return rest;
}

/** The indexes of the step that starts at `current`: one stage, or backend and frontend together. */
export function stepAt(stages: readonly Pick<FlowStage, 'name'>[], current: number): number[] {
  const here = stages[current]?.name;
  const next = stages[current + 1]?.name;
  if (!here) return [];
  if (next && here !== next && PARALLEL.includes(here) && PARALLEL.includes(next))
    return [current, current + 1];
  return [current];
}

/** The changes the flow's stages opened or added to, first opened first, each once. */
export function flowChanges(stages: readonly Pick<FlowStage, 'changeId'>[]): string[] {
  return [...new Set(stages.map((s) => s.changeId).filter((id): id is string => !!id))];
}
