/** The steps of a code activation; `repair n` steps are added before `change` when a build fails. */
export const CODE_STEPS: ReadonlyArray<{ key: string; name: string; instruction: string }> = [
  {
    key: 'workspace',
    name: '准备工作区',
    instruction: 'Clone the repository into a fresh sandbox, on a new branch.',
  },
  {
    key: 'session',
    name: '编码会话',
    instruction: 'Change the code for the task; commit, push and open a change.',
  },
  { key: 'build', name: '构建验证', instruction: "Build the branch with the project's pipeline." },
  {
    key: 'change',
    name: '提交变更',
    instruction: 'Hand the change over for review (or merge it when green and autoMerge is set).',
  },
];

export const repairStep = (round: number) => ({
  key: `repair-${round}`,
  name: `修复 ${round}`,
  instruction: "Give the failed build's log to a new session on the same branch, then build again.",
});
