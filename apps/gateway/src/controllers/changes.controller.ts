import { Body, Controller, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiAcceptedResponse, ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { CurrentUser, RequirePermissions } from '@app/auth';
import { ChangeDto, ChangesService, ListChangesQueryDto, MergeChangeDto } from '@app/changes';
import { Page, Permission, Principal } from '@app/core';
import { FastifyReply } from 'fastify';
import { ApiPage } from '../http/api-page.decorator';

@ApiTags('changes')
@Controller()
export class ChangesController {
  constructor(private readonly changes: ChangesService) {}

  @Get('projects/:projectId/changes')
  @RequirePermissions(Permission.ChangesRead)
  @ApiOperation({ summary: 'Changes (merge requests) of a project, newest first, by status' })
  @ApiPage(ChangeDto)
  list(
    @CurrentUser() principal: Principal,
    @Param('projectId') projectId: string,
    @Query() query: ListChangesQueryDto,
  ): Promise<Page<ChangeDto>> {
    return this.changes.list(principal, projectId, query);
  }

  @Get('changes/:changeId')
  @RequirePermissions(Permission.ChangesRead)
  @ApiOperation({
    summary:
      'A change: branch, base and head, commits, diff stat, status, the latest build and tests of its head',
  })
  @ApiOkResponse({ type: ChangeDto })
  get(@CurrentUser() principal: Principal, @Param('changeId') changeId: string): Promise<ChangeDto> {
    return this.changes.get(principal, changeId);
  }

  @Get('changes/:changeId/diff')
  @RequirePermissions(Permission.ChangesRead)
  @ApiOperation({ summary: 'The unified diff of a change (git diff base...head)' })
  @ApiProduces('text/x-diff')
  @ApiOkResponse({ description: 'The diff', schema: { type: 'string' } })
  async diff(
    @CurrentUser() principal: Principal,
    @Param('changeId') changeId: string,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const text = await this.changes.diff(principal, changeId);
    await reply.type('text/x-diff; charset=utf-8').send(text);
  }

  @Post('changes/:changeId/merge')
  @RequirePermissions(Permission.ChangesWrite)
  @HttpCode(202)
  @ApiOperation({
    summary:
      'Merge a change into its base branch (fast-forward, else a merge commit) and push it; refused (409) unless the latest build of the head succeeded, or an administrator forces it',
  })
  @ApiAcceptedResponse({
    type: ChangeDto,
    headers: { Location: { description: 'The change to poll', schema: { type: 'string' } } },
  })
  async merge(
    @CurrentUser() principal: Principal,
    @Param('changeId') changeId: string,
    @Body() dto: MergeChangeDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ChangeDto> {
    const change = await this.changes.merge(principal, changeId, dto);
    reply.header('Location', `/v2/changes/${change.id}`);
    return change;
  }

  @Post('changes/:changeId/close')
  @RequirePermissions(Permission.ChangesWrite)
  @HttpCode(200)
  @ApiOperation({ summary: 'Close a change without merging it' })
  @ApiOkResponse({ type: ChangeDto })
  close(@CurrentUser() principal: Principal, @Param('changeId') changeId: string): Promise<ChangeDto> {
    return this.changes.close(principal, changeId);
  }
}
