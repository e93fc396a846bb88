import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import { CurrentUser, RequirePermissions } from '@app/auth';
import { Idempotent, Page, Permission, Principal } from '@app/core';
import {
  ChangeTaskStatusDto,
  CreateTaskDto,
  HistoryQueryDto,
  ListTasksQueryDto,
  TaskDto,
  TaskHistoryEntryDto,
  TasksService,
  UpdateTaskDto,
} from '@app/tasks';
import { ApiPage } from '../http/api-page.decorator';

const TASK_ID_PARAM = { name: 'taskId', description: 'The task id (task_...) or its key (ECOM-12)' };

@ApiTags('tasks')
@Controller()
export class TasksController {
  constructor(private readonly tasks: TasksService) {}

  @Post('projects/:projectId/tasks')
  @RequirePermissions(Permission.TasksWrite)
  @Idempotent()
  @ApiOperation({ summary: 'Create a task (its key KEY-N is allocated without gaps)' })
  @ApiCreatedResponse({ type: TaskDto })
  create(
    @CurrentUser() principal: Principal,
    @Param('projectId') projectId: string,
    @Body() dto: CreateTaskDto,
  ): Promise<TaskDto> {
    return this.tasks.create(principal, projectId, dto);
  }

  @Get('projects/:projectId/tasks')
  @RequirePermissions(Permission.TasksRead)
  @ApiOperation({ summary: 'Tasks of a project with filters, search, sorting and exact totals' })
  @ApiPage(TaskDto)
  list(
    @CurrentUser() principal: Principal,
    @Param('projectId') projectId: string,
    @Query() query: ListTasksQueryDto,
  ): Promise<Page<TaskDto>> {
    return this.tasks.list(principal, projectId, query);
  }

  @Get('tasks/:taskId')
  @RequirePermissions(Permission.TasksRead)
  @ApiParam(TASK_ID_PARAM)
  @ApiOperation({ summary: 'One task, by id or key' })
  @ApiOkResponse({ type: TaskDto })
  get(@CurrentUser() principal: Principal, @Param('taskId') taskId: string): Promise<TaskDto> {
    return this.tasks.get(principal, taskId);
  }

  @Put('tasks/:taskId')
  @RequirePermissions(Permission.TasksWrite)
  @ApiParam(TASK_ID_PARAM)
  @ApiOperation({ summary: 'Update a task (status moves with PUT /tasks/{taskId}/status)' })
  @ApiOkResponse({ type: TaskDto })
  update(
    @CurrentUser() principal: Principal,
    @Param('taskId') taskId: string,
    @Body() dto: UpdateTaskDto,
  ): Promise<TaskDto> {
    return this.tasks.update(principal, taskId, dto);
  }

  @Delete('tasks/:taskId')
  @RequirePermissions(Permission.TasksWrite)
  @ApiParam(TASK_ID_PARAM)
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a task (its sub-tasks lose their parent)' })
  @ApiNoContentResponse()
  async remove(@CurrentUser() principal: Principal, @Param('taskId') taskId: string): Promise<void> {
    await this.tasks.remove(principal, taskId);
  }

  @Put('tasks/:taskId/status')
  @RequirePermissions(Permission.TasksWrite)
  @ApiParam(TASK_ID_PARAM)
  @ApiOperation({
    summary:
      'Move a task through the workflow: todo -> in_progress -> review -> testing -> done (one step back, or to todo)',
  })
  @ApiOkResponse({ type: TaskDto })
  changeStatus(
    @CurrentUser() principal: Principal,
    @Param('taskId') taskId: string,
    @Body() dto: ChangeTaskStatusDto,
  ): Promise<TaskDto> {
    return this.tasks.changeStatus(principal, taskId, dto);
  }

  @Get('tasks/:taskId/history')
  @RequirePermissions(Permission.TasksRead)
  @ApiParam(TASK_ID_PARAM)
  @ApiOperation({ summary: 'Every change of the task: who, when, from, to, comment' })
  @ApiPage(TaskHistoryEntryDto)
  history(
    @CurrentUser() principal: Principal,
    @Param('taskId') taskId: string,
    @Query() query: HistoryQueryDto,
  ): Promise<Page<TaskHistoryEntryDto>> {
    return this.tasks.history(principal, taskId, query);
  }
}
