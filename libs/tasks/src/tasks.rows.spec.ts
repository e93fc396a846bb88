import { TaskHistoryEntity } from './task-history.entity';
import { mapHistory, mapTaskRow, TaskRow } from './tasks.rows';

const row: TaskRow = {
  id: 'task_0123456789abcdef',
  key: 'ECOM-12',
  project_id: 'prj_1',
  type: 'story',
  title: 'Checkout',
  description: null,
  status: 'todo',
  assignee_id: 'usr_2',
  reporter_id: 'usr_1',
  priority: 'high',
  story_points: '2.5',
  parent_task_id: null,
  labels: ['pay'],
  created_at: new Date('2026-01-02T03:04:05.678Z'),
  updated_at: new Date('2026-01-03T00:00:00.000Z'),
};

describe('task row mappers', () => {
  it('mapTaskRow: camelCase fields, numeric story points, ISO timestamps', () => {
    expect(mapTaskRow(row)).toEqual({
      id: 'task_0123456789abcdef',
      key: 'ECOM-12',
      projectId: 'prj_1',
      type: 'story',
      title: 'Checkout',
      description: null,
      status: 'todo',
      assigneeId: 'usr_2',
      reporterId: 'usr_1',
      priority: 'high',
      storyPoints: 2.5,
      parentTaskId: null,
      labels: ['pay'],
      createdAt: '2026-01-02T03:04:05Z',
      updatedAt: '2026-01-03T00:00:00Z',
    });
  });

  it('mapTaskRow: no story points stays null (not 0)', () => {
    expect(mapTaskRow({ ...row, story_points: null }).storyPoints).toBeNull();
  });

  it('mapHistory: from/to default to null', () => {
    const h = {
      id: '7',
      taskId: row.id,
      field: 'created',
      fromValue: undefined,
      toValue: 'todo',
      comment: null,
      changedBy: 'usr_1',
      changedAt: new Date('2026-01-02T03:04:05Z'),
    } as TaskHistoryEntity;
    expect(mapHistory(h)).toEqual({
      id: '7',
      field: 'created',
      from: null,
      to: 'todo',
      comment: null,
      changedBy: 'usr_1',
      changedAt: '2026-01-02T03:04:05Z',
    });
  });
});
