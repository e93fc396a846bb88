/** The environments an application is deployed to. */
export const ENVIRONMENTS = ['dev', 'test', 'staging', 'prod'] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

export const STRATEGIES = ['rolling', 'blue-green', 'canary'] as const;
export type Strategy = (typeof STRATEGIES)[number];

export const DEPLOYMENT_STATUSES = [
  'pending_approval',
  'queued',
  'in_progress',
  'succeeded',
  'failed',
  'rejected',
  'rolled_back',
] as const;
export type DeploymentStatus = (typeof DEPLOYMENT_STATUSES)[number];

export type Colour = 'blue' | 'green';
/** What a step asks of the target. */
export const STEP_ACTIONS = ['deploy', 'health-check', 'switch', 'restore'] as const;
export type StepAction = (typeof STEP_ACTIONS)[number];
export const STEP_STATUSES = ['pending', 'running', 'succeeded', 'failed', 'skipped'] as const;
export type StepStatus = (typeof STEP_STATUSES)[number];

/** Traffic shares of a canary, with a health check between each two. */
export const CANARY_STAGES = [10, 50, 100] as const;

export interface PlannedStep {
  /** Unique within the deployment; reaches scripts as DEPLOY_STEP. */
  name: string;
  action: StepAction;
  /** Share of instances (rolling) or traffic (canary, blue-green) that `version` has once the step is done. */
  percent: number;
  /** Blue-green: the colour the step acts on. */
  colour: Colour | null;
  version: string;
  /** `rollout` steps are the plan; a `restore` step is added when a failure must be undone. */
  phase: 'rollout' | 'restore';
}

export interface StepState extends PlannedStep {
  status: StepStatus;
}

export function idleColour(live: Colour | null): Colour {
  return live === 'blue' ? 'green' : 'blue';
}

/**
 * The steps of a strategy. Rolling: batches, each moving a further share of the instances to the
 * new version. Blue-green: the new version goes to the idle colour, is health-checked there, and
 * traffic switches to it. Canary: 10% -> 50% -> 100% of the traffic, a health check between.
 */
export function planFor(
  strategy: Strategy,
  input: { version: string; rollingBatches: number; liveColour: Colour | null },
): PlannedStep[] {
  const step = (name: string, action: StepAction, percent: number, colour: Colour | null = null) => ({
    name,
    action,
    percent,
    colour,
    version: input.version,
    phase: 'rollout' as const,
  });
  switch (strategy) {
    case 'rolling': {
      const n = input.rollingBatches;
      return Array.from({ length: n }, (_, i) =>
        step(`batch-${i + 1}`, 'deploy', Math.round(((i + 1) * 100) / n)),
      );
    }
    case 'blue-green': {
      const idle = idleColour(input.liveColour);
      return [
        step(`deploy-${idle}`, 'deploy', 0, idle),
        step(`health-check-${idle}`, 'health-check', 0, idle),
        step(`switch-to-${idle}`, 'switch', 100, idle),
      ];
    }
    case 'canary':
      return CANARY_STAGES.flatMap((percent, i) => [
        ...(i > 0
          ? [step(`health-check-${CANARY_STAGES[i - 1]}`, 'health-check', CANARY_STAGES[i - 1])]
          : []),
        step(`canary-${percent}`, 'deploy', percent),
      ]);
  }
}

/**
 * The step that undoes a failed rollout, or null when there is nothing to undo (the new version
 * never received traffic: a blue-green that failed before its switch) or nothing to return to
 * (the first deployment of the application in the environment).
 */
export function restoreStepFor(
  strategy: Strategy,
  steps: StepState[],
  live: { version: string | null; colour: Colour | null },
): PlannedStep | null {
  const exposed = steps.some(
    (s) =>
      s.phase === 'rollout' &&
      s.status !== 'pending' &&
      s.status !== 'skipped' &&
      (s.action === 'switch' || (s.action === 'deploy' && s.percent > 0)),
  );
  if (!exposed || !live.version) return null;
  if (strategy === 'blue-green') {
    if (!live.colour) return null;
    // The live colour still runs the previous version: switching back is the whole restore.
    return {
      name: `restore-${live.colour}`,
      action: 'restore',
      percent: 100,
      colour: live.colour,
      version: live.version,
      phase: 'restore',
    };
  }
  return {
    name: 'restore',
    action: 'restore',
    percent: 100,
    colour: null,
    version: live.version,
    phase: 'restore',
  };
}

export type NextMove =
  | { kind: 'run'; step: StepState }
  /** The rollout failed: skip what it had left and, when there is something to undo, add this restore step. */
  | { kind: 'abort'; skip: string[]; restore: PlannedStep | null }
  | { kind: 'finish'; outcome: 'succeeded' | 'failed' };

/**
 * What a runner does next, from the recorded steps alone, so a deployment resumes exactly where
 * a lost worker left it: a step still `running` is run again.
 */
export function nextMove(
  strategy: Strategy,
  steps: StepState[],
  live: { version: string | null; colour: Colour | null },
): NextMove {
  const rollout = steps.filter((s) => s.phase === 'rollout');
  const open = (s: StepState) => s.status === 'pending' || s.status === 'running';
  if (!rollout.some((s) => s.status === 'failed')) {
    const next = rollout.find(open);
    return next ? { kind: 'run', step: next } : { kind: 'finish', outcome: 'succeeded' };
  }
  const restore = steps.find((s) => s.phase === 'restore');
  if (restore) return open(restore) ? { kind: 'run', step: restore } : { kind: 'finish', outcome: 'failed' };
  const skip = rollout.filter(open).map((s) => s.name);
  const planned = restoreStepFor(strategy, steps, live);
  return skip.length || planned
    ? { kind: 'abort', skip, restore: planned }
    : { kind: 'finish', outcome: 'failed' };
}

/** Share of the rollout done, 0-100. */
export function progressOf(steps: Array<Pick<StepState, 'phase' | 'status'>>): number {
  const rollout = steps.filter((s) => s.phase === 'rollout');
  if (!rollout.length) return 0;
  return Math.round((rollout.filter((s) => s.status === 'succeeded').length * 100) / rollout.length);
}
